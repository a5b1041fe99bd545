"""The engine pool's threads: every queued call gets a thread of its own.

Found by ``test_holds.py`` on a loaded machine: two calls submitted while one idle
thread had been notified but had not woken yet both counted on that thread, and the
second stayed queued behind a 300 s hold. The test below submits two calls in one
turn of the event loop while one thread is idle, the first blocking until released:
the second must complete while the first still blocks.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.workers import EnginePool
from tests.concurrency import wait_until

pytestmark = pytest.mark.timeout(120)


def test_two_calls_submitted_at_once_with_one_idle_thread_both_run() -> None:
    async def main() -> None:
        pool = EnginePool(4, name="test-pool")  # a new pool: exactly one thread below
        release = threading.Event()
        await pool.run(lambda: None)  # one thread, then idle
        wait_until(lambda: pool.statistics().idle == 1, timeout=60, what="one idle thread")
        first = asyncio.ensure_future(pool.run(release.wait, 60))
        second = asyncio.ensure_future(pool.run(lambda: "second"))
        try:
            assert await asyncio.wait_for(second, 60) == "second"
            assert not first.done()
            stats = pool.statistics()
            assert stats.queued == 0 and stats.threads >= 2, stats
        finally:
            release.set()
        assert await asyncio.wait_for(first, 60) is True

    for _ in range(20):  # the window is narrow: a few rounds give it every chance
        asyncio.run(main())
