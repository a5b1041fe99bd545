"""``core.sched.cond_resched``: long engine operations let other threads run.

Compiled code never gives the GIL away by itself, so each test runs one long operation
in a worker thread while the test's own thread, an interpreted loop, watches engine
state that the operation changes step by step. The watcher can only look while the
worker has handed the GIL over; seeing the operation part-way proves it did so before
it ended. Without ``cond_resched`` in the loop, the compiled engine fails these tests
(the watcher sees only "before" and "after"); the pure-Python engine passes them either
way (the interpreter switches threads every 5 ms).

Progress is read from what the operation itself writes: a maps or smaps read builds
and caches each VMA's line in address order (``Vma._line``, core/procfs.py), a munmap
drops each VMA's pages (RSS) one VMA after another, a PROCMAP_QUERY batch takes one
lookup per VMA (the query counters).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    Vma,
)
from core.maps_reader import (
    READERS,
    SMAPS_READERS,
    SmapsSnapshot,
    read_maps,
    read_smaps,
    read_smaps_rollup,
)
from core.procmap_query import procmap_query_batch
from core.sched import RESCHED_MASK, RESCHED_MASK_SLOW, cond_resched
from tests.concurrency import DEFAULT_TIMEOUT

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
BASE = 0x10_0000_0000
#: VMAs of the long operations: many times the steps between two yields, and long
#: enough compiled (tens of ms) for the watcher's request for the GIL (after its 5 ms
#: switch interval) to come while the operation still runs.
N_VMAS = 40 * (RESCHED_MASK + 1)
#: Watches of an operation that changes nothing (the smaps_rollup), until one sees it
#: part-way.
WATCH_ATTEMPTS = 5


def _many_vmas(n: int, fault: bool = False) -> tuple[Mm, list[Vma]]:
    """A process with ``n`` one-page anonymous VMAs, a page apart (no merges); with
    ``fault`` each has its page mapped. No maps line has been built yet."""
    mm = Kernel().spawn().mm
    for i in range(n):
        a = mm.mmap(BASE + 2 * i * PG, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
        if fault:
            mm.fault(a, "write")
    vmas = mm.vmas()
    assert len(vmas) == n
    return mm, vmas


def _has_line(vma: Vma) -> bool:
    return vma._line[0] == vma._gen


def _watch(op: Callable[[], object], part_way: Callable[[], bool]) -> int:
    """Run ``op`` in a worker thread; poll ``part_way`` from this thread until the
    worker ends. Returns how many polls saw the operation part-way."""
    started = threading.Event()
    failed: list[BaseException] = []

    def worker() -> None:
        started.set()
        try:
            op()
        except BaseException as exc:  # re-raised below, in the test's thread
            failed.append(exc)

    thread = threading.Thread(target=worker, name="long-op")
    thread.start()
    assert started.wait(DEFAULT_TIMEOUT)
    seen = 0
    while thread.is_alive():
        if part_way():
            seen += 1
    thread.join(DEFAULT_TIMEOUT)
    assert not thread.is_alive(), "the long operation did not end"
    if failed:
        raise failed[0]
    return seen


def test_cond_resched_returns_and_masks_are_powers_of_two_minus_one():
    cond_resched()
    for mask in (RESCHED_MASK, RESCHED_MASK_SLOW):
        assert mask > 0 and not (mask + 1) & mask


@pytest.mark.parametrize("reader", READERS)
def test_a_long_maps_read_lets_other_threads_run(reader):
    mm, vmas = _many_vmas(N_VMAS)
    first, last = vmas[0], vmas[-1]
    seen = _watch(lambda: read_maps(mm, reader), lambda: _has_line(first) and not _has_line(last))
    assert all(map(_has_line, vmas))  # the read built every line
    assert seen, f"no thread ran while the {reader} maps read walked {N_VMAS} VMAs"


@pytest.mark.parametrize("reader", SMAPS_READERS)
def test_a_long_smaps_read_lets_other_threads_run(reader):
    mm, vmas = _many_vmas(N_VMAS // 4)
    first, last = vmas[0], vmas[-1]
    seen = _watch(lambda: read_smaps(mm, reader), lambda: _has_line(first) and not _has_line(last))
    assert all(map(_has_line, vmas))
    assert seen, f"no thread ran while the {reader} smaps read walked {len(vmas)} VMAs"


@pytest.mark.parametrize("reader", SMAPS_READERS)
def test_a_long_smaps_rollup_lets_other_threads_run(reader):
    """The rollup builds no lines; its progress shows in what it holds: the per-VMA
    walk an RCU read section between two VMAs, 6.18's walk ``mmap_lock`` for read
    throughout. Neither is held before the walk starts or after it ends."""
    mm, vmas = _many_vmas(N_VMAS // 4, fault=True)

    def in_walk() -> bool:
        return (
            mm.rcu.statistics().readers_in_section > 0
            or mm.mmap_lock.statistics().rwsem.readers > 0
        )

    # The rollup changes nothing, so it can be watched again: on a loaded machine the
    # OS may not run the watcher while the worker holds a read section between two
    # yields (seen once at load 17). Without cond_resched no attempt ever sees it.
    out: list[SmapsSnapshot] = []
    for _ in range(WATCH_ATTEMPTS):
        out.clear()
        seen = _watch(lambda: out.append(read_smaps_rollup(mm, reader)), in_walk)
        assert (out[0].vmas_walked, out[0].pages_walked) == (len(vmas), len(vmas))
        if seen:
            break
    assert seen, f"no thread ran while the {reader} smaps_rollup walked {len(vmas)} VMAs"


def test_a_long_munmap_lets_other_threads_run():
    mm, vmas = _many_vmas(N_VMAS // 2, fault=True)
    rss = mm.get_rss()
    assert rss == len(vmas)
    seen = _watch(lambda: mm.munmap(BASE, 2 * len(vmas) * PG), lambda: 0 < mm.get_rss() < rss)
    assert mm.get_rss() == 0 and mm.map_count == 0
    assert seen, f"no thread ran while munmap zapped {len(vmas)} VMAs"


def test_a_long_procmap_query_batch_lets_other_threads_run():
    mm, vmas = _many_vmas(N_VMAS // 2)
    addrs = [v.vm_start for v in vmas]
    before = mm.query_counts.statistics().queries
    total = len(addrs)

    def answered() -> int:
        return mm.query_counts.statistics().queries - before

    out: list[object] = []
    seen = _watch(
        lambda: out.extend(procmap_query_batch(mm, addrs)), lambda: 0 < answered() < total
    )
    assert len(out) == total and all(r is not None for r in out)
    assert seen, f"no thread ran while a PROCMAP_QUERY batch resolved {total} addresses"
