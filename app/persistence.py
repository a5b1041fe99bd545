"""State that survives restarts: checkpoint and journal, restored on start.

With ``VMASIM_STATE_FILE`` set, the machine is kept in two parts (``VMASIM_DURABILITY``):

``journal`` (the default)
    Every state-changing operation is recorded in a journal beside the state file
    (``<state file>.journal``, SQLite in WAL mode; :mod:`app.journal`,
    :mod:`app.journal_store`) and is durable before its answer is sent, so ``kill -9``
    loses nothing that was acknowledged (and with ``VMASIM_JOURNAL_SYNC=full``, the
    default, neither does a power loss). Every ``VMASIM_STATE_INTERVAL`` seconds a
    checkpoint (the JSON state file, :mod:`core.checkpoint`) is written and the
    journal records it covers are deleted.
``checkpoint``
    The checkpoint only, every ``VMASIM_STATE_INTERVAL`` seconds and at shutdown:
    faster (no journal write per operation, no machine-wide order of writers), but a
    crash loses what happened since the last checkpoint.

At start (:meth:`StateKeeper.restore`, in the lifespan, before serving): temporary
files an interrupted save left are deleted, the checkpoint is loaded if there is one
(a file that cannot be loaded is a startup error naming the problem; uvicorn exits,
nothing is half-loaded), and the journal records after the checkpoint's position are
replayed -- in either mode, so switching to ``checkpoint`` never drops a journal's
acknowledged operations (they are replayed, checkpointed, and the journal deleted).

Saves are atomic on disk (a crash at any moment leaves the previous or the new
checkpoint) and run in a worker thread. In journal mode a checkpoint is taken with no
operation in progress (:meth:`app.journal.Journal.quiescent`); while operations are
held at pause points it is skipped, which costs only journal length.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from core import Kernel, StateError
from core.checkpoint import (
    SaveStatistics,
    dump_kernel,
    load_kernel,
    paused_gc,
    read_state,
    remove_stale_temps,
    write_state,
)

from .deployment import Durability
from .heap import after_restore
from .journal import MACHINE, Journal, JournalStatistics, ReplayStatistics, replay
from .journal_store import JournalStoreError, SqliteJournalStore, StoreStatistics, SyncMode
from .lifecycle import ShutdownSignal
from .service import Service

_log = logging.getLogger("vmasim.state")

JOURNAL_SUFFIX = ".journal"
CHECKPOINT_PATIENCE = 5.0
"""Seconds a checkpoint waits for operations in progress (held at pause points)."""


def journal_path(state_file: str) -> str:
    """Where the journal of ``state_file`` lives: beside it, ``.journal`` appended."""
    return state_file + JOURNAL_SUFFIX


@dataclass(frozen=True)
class StateKeeperStatistics:
    """``StateKeeper.statistics()``: the file and mode; checkpoints written, failed and
    skipped (operations in progress); the last one and when its state was captured;
    what the start restored (processes, journal operations replayed and how many of them
    diverged, stale temporary files removed); whether a save runs now; the journal's
    and its store's own statistics in journal mode."""

    path: str | None
    durability: Durability
    saves: int
    failures: int
    skipped: int
    last: SaveStatistics | None
    last_saved_at: float | None
    restored_processes: int | None
    replayed: int
    diverged: int
    removed_temps: int
    saving: bool
    journal: JournalStatistics | None
    store: StoreStatistics | None


class StateKeeper:
    """Checkpoints and journal of one service's machine (see the module note).
    Thread-safe: saves serialise on one lock."""

    def __init__(
        self,
        service: Service,
        path: str | None,
        interval: int,
        durability: Durability = "journal",
        sync: SyncMode = "full",
    ) -> None:
        self.service = service
        self.path = path
        self.interval = interval
        self.durability: Durability = durability
        self.sync: SyncMode = sync
        self._lock = threading.Lock()
        self.saves = 0
        self.failures = 0
        self.skipped = 0
        self.last: SaveStatistics | None = None
        self.last_saved_at: float | None = None
        self.restored: int | None = None
        self.replayed = ReplayStatistics()
        self.removed_temps: list[str] = []
        self.journal: Journal | None = None
        self.store: SqliteJournalStore | None = None

    # -- start ------------------------------------------------------------------------

    def restore(self) -> bool:
        """Load the checkpoint and replay the journal into the service (not serving
        yet). Blocking. Raises ``core.StateError`` for a bad file or journal, or a
        directory the saves could not write to. Returns whether anything was restored."""
        if self.path is None:
            return False
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK | os.X_OK):
            raise StateError(
                f"VMASIM_STATE_FILE={self.path!r}: directory {directory!r} is missing or "
                "not writable, so the state could not be saved"
            )
        self.removed_temps = remove_stale_temps(self.path)
        if self.removed_temps:
            _log.info("removed stale temporary files %s", self.removed_temps)
        kernel: Kernel | None = None
        position = 0
        if os.path.exists(self.path):
            with paused_gc():  # millions of objects, all kept: see paused_gc
                doc = read_state(self.path)
                try:
                    kernel = load_kernel(doc)
                    position = _position(doc)
                except StateError as exc:
                    raise StateError(f"state file {self.path!r}: {exc}") from None
                del doc
        store_path = journal_path(self.path)
        if self.durability == "journal" or os.path.exists(store_path):
            try:
                self.store = SqliteJournalStore(store_path, self.sync)
            except JournalStoreError as exc:
                raise StateError(str(exc)) from None
            if kernel is None and self.store.last(MACHINE) > position:
                kernel = Kernel(self.service.settings.max_map_count)
            if kernel is not None:
                self._replay(kernel, position)
        if kernel is not None:
            self.service.replace_kernel(kernel)
            self.restored = len(kernel.processes())
            # What was loaded lives long: out of the cyclic collector's way (app.heap).
            vmas = sum(proc.mm.map_count for proc in kernel.processes())
            after_restore(vmas + self.replayed.records, self.service.settings.gc_freeze_batch)
            _log.info(
                "restored %d processes from %s (%d journal operations replayed)",
                self.restored,
                self.path,
                self.replayed.records,
            )
        if self.durability == "journal":
            assert self.store is not None
            self.journal = Journal(self.store, self.service.pool, self.replayed.position)
            self.service.journal = self.journal
        elif self.store is not None:
            # Checkpoint mode over a journal: keep what it acknowledged in a checkpoint,
            # then drop the journal.
            self._save_checkpoint_only()
            self.store.close()
            self.store = None
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(store_path + suffix)
                except FileNotFoundError:
                    pass
        return kernel is not None

    def _replay(self, kernel: Kernel, position: int) -> None:
        assert self.store is not None
        self.service.configure_kernel(kernel)  # the settings the operations ran with
        self.replayed = ReplayStatistics(position=position)
        replay(kernel, self.store.records(MACHINE, position), self.replayed)
        if self.replayed.diverged:
            _log.error(
                "journal replay: %d of %d records came out differently: %s",
                self.replayed.diverged,
                self.replayed.records,
                "; ".join(self.replayed.examples),
            )

    # -- checkpoints ------------------------------------------------------------------

    def save(self) -> SaveStatistics | None:
        """One checkpoint (none without a path; None if skipped because operations
        stayed in progress). Blocking: call it in a worker thread of the service's pool
        (:meth:`app.service.Service.run`). Errors are counted and logged, then re-raised."""
        if self.path is None:
            return None
        with self._lock:
            try:
                if self.journal is None:
                    return self._save_checkpoint_only()
                return self._save_with_journal(self.journal)
            except Exception:
                self.failures += 1
                _log.exception("saving the state to %s failed", self.path)
                raise

    def _save_checkpoint_only(self) -> SaveStatistics:
        assert self.path is not None
        doc = dump_kernel(self.service.kernel)
        doc["journal"] = {"machine": MACHINE, "position": self.replayed.position}
        return self._written(write_state(doc, self.path))

    def _save_with_journal(self, journal: Journal) -> SaveStatistics | None:
        assert self.path is not None
        kernel = self.service.kernel
        got = journal.quiescent(lambda: dump_kernel(kernel), CHECKPOINT_PATIENCE)
        if got is None:
            self.skipped += 1
            _log.info("checkpoint skipped: operations are held at pause points")
            return None
        doc, position = got
        doc["journal"] = {"machine": MACHINE, "position": position}
        stats = write_state(doc, self.path)
        # Only now that the checkpoint is durable may the records it covers go.
        journal.store.truncate(MACHINE, position)
        return self._written(stats)

    def _written(self, stats: SaveStatistics) -> SaveStatistics:
        self.saves += 1
        self.last = stats
        self.last_saved_at = stats.saved_at
        return stats

    def close(self) -> None:
        """Commit what the journal has queued and close its store. Blocking."""
        if self.journal is not None:
            self.journal.stop()
        if self.store is not None:
            self.store.close()

    def statistics(self) -> StateKeeperStatistics:
        held = self._lock.locked()
        return StateKeeperStatistics(
            path=self.path,
            durability=self.durability,
            saves=self.saves,
            failures=self.failures,
            skipped=self.skipped,
            last=self.last,
            last_saved_at=self.last_saved_at,
            restored_processes=self.restored,
            replayed=self.replayed.records,
            diverged=self.replayed.diverged,
            removed_temps=len(self.removed_temps),
            saving=held,
            journal=None if self.journal is None else self.journal.statistics(),
            store=None if self.store is None else self.store.statistics(),
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
                await self.service.run(self.save)
            except Exception:  # already logged; the next period retries
                pass


def _position(doc: dict[str, Any]) -> int:
    """The journal position a checkpoint stands for (0: none, an older file)."""
    meta = doc.get("journal", {"position": 0})
    position = meta.get("position") if isinstance(meta, dict) else None
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise StateError(f"state.journal={meta!r} must be {{'position': n >= 0}}")
    return position


@asynccontextmanager
async def lifespan_state(
    keeper: StateKeeper, shutdown: ShutdownSignal, restore: bool = True
) -> AsyncIterator[None]:
    """Restore (unless ``restore`` is False: the caller did), start the journal, save
    periodically while the app serves, save at the end, stop the journal."""
    if restore and keeper.path is not None:
        await anyio.to_thread.run_sync(keeper.restore)
    if keeper.journal is not None:
        keeper.journal.start(asyncio.get_running_loop())
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(keeper.run_periodic, shutdown)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
        if keeper.path is not None:
            with anyio.CancelScope(shield=True):
                await keeper.service.run(keeper.save)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(keeper.close)
