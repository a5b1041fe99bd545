"""State that survives restarts: restore on start, save periodically and on shutdown.

With ``VMASIM_STATE_FILE`` set, the lifespan (:func:`lifespan_state`) restores the
machine from the file if it exists — a file that cannot be loaded is a startup error
naming the problem (uvicorn exits; nothing is half-loaded, see :mod:`core.checkpoint`) —
then saves every ``VMASIM_STATE_INTERVAL`` seconds and once more after the last
request finished. Saves run in a worker thread (they take every mm's ``mmap_lock``
for read and the page lock, briefly) and are atomic on disk: a crash at any moment,
even SIGKILL mid-save, leaves the previous or the new checkpoint.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.to_thread

from core import StateError, load_state, save_state
from core.checkpoint import SaveStatistics

from .lifecycle import ShutdownSignal
from .service import Service

_log = logging.getLogger("vmasim.state")


@dataclass(frozen=True)
class StateKeeperStatistics:
    """``StateKeeper.statistics()``: the file, saves done/failed, the last save, whether
    the machine was restored from the file, and whether a save runs now."""

    path: str | None
    saves: int
    failures: int
    last: SaveStatistics | None
    last_saved_at: float | None
    restored_processes: int | None
    saving: bool


class StateKeeper:
    """Saves and restores one service's kernel. Thread-safe: saves serialise on one lock."""

    def __init__(self, service: Service, path: str | None, interval: int) -> None:
        self.service = service
        self.path = path
        self.interval = interval
        self._lock = threading.Lock()
        self.saves = 0
        self.failures = 0
        self.last: SaveStatistics | None = None
        self.last_saved_at: float | None = None
        self.restored: int | None = None

    def restore(self) -> bool:
        """Replace the service's (empty, not yet serving) kernel by the saved one, if
        the file exists. Blocking. Raises ``core.StateError`` for a bad file or a
        directory the periodic saves could not write to."""
        if self.path is None:
            return False
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK | os.X_OK):
            raise StateError(
                f"VMASIM_STATE_FILE={self.path!r}: directory {directory!r} is missing or "
                "not writable, so the state could not be saved"
            )
        if not os.path.exists(self.path):
            return False
        kernel = load_state(self.path)
        settings = self.service.settings
        kernel.max_map_count = settings.max_map_count  # the environment wins
        kernel.max_resident_pages = getattr(settings, "max_resident_pages", None)
        self.service.kernel = kernel
        self.restored = len(kernel.processes())
        _log.info("restored %d processes from %s", self.restored, self.path)
        return True

    def save(self) -> SaveStatistics | None:
        """One atomic checkpoint (none without a path). Blocking: call in a worker
        thread. Errors are counted and logged, then re-raised."""
        if self.path is None:
            return None
        with self._lock:
            try:
                stats = save_state(self.service.kernel, self.path)
            except Exception:
                self.failures += 1
                _log.exception("saving the state to %s failed", self.path)
                raise
            self.saves += 1
            self.last = stats
            self.last_saved_at = time.time()
            return stats

    def statistics(self) -> StateKeeperStatistics:
        held = self._lock.locked()
        return StateKeeperStatistics(
            path=self.path,
            saves=self.saves,
            failures=self.failures,
            last=self.last,
            last_saved_at=self.last_saved_at,
            restored_processes=self.restored,
            saving=held,
        )

    async def run_periodic(self, shutdown: ShutdownSignal) -> None:
        """Save every :attr:`interval` seconds until shutdown begins."""
        if self.path is None or self.interval <= 0:
            return
        while True:
            with anyio.move_on_after(self.interval):
                await shutdown.wait()
                return
            try:
                await anyio.to_thread.run_sync(self.save)
            except Exception:  # already logged; the next period retries
                pass


@asynccontextmanager
async def lifespan_state(keeper: StateKeeper, shutdown: ShutdownSignal) -> AsyncIterator[None]:
    """Restore, save periodically while the app serves, save at the end."""
    if keeper.path is not None:
        await anyio.to_thread.run_sync(keeper.restore)
    async with anyio.create_task_group() as tg:
        tg.start_soon(keeper.run_periodic, shutdown)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()
    if keeper.path is not None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(keeper.save)
