"""Acknowledged means kept: the journal of one machine's state changes.

Design note
===========
A machine survives a crash as a checkpoint plus a journal. The checkpoint
(:mod:`core.checkpoint`, written atomically) holds the whole machine as of journal
position *N*; the journal holds every state-changing operation after *N*, in the order
the machine executed them, each made durable before its answer is sent. At start the
service loads the checkpoint and replays the records after *N* (:func:`replay`)
through the executors the routes use (:mod:`app.ops`). The engine is deterministic
given the order of operations, so the replay rebuilds the same machine: pids,
addresses, inode numbers, anon_vma and page identities, RSS and fault counters.

**The order.** Requests on different processes run in parallel worker threads and
meet in machine-wide state: pid and inode allocation, page caches, pages shared by
fork and their mapcounts (a write fault copies a page or reuses it depending on who
else maps it). A replay one operation at a time reproduces the machine only if the
operations *were* one at a time. So every state-changing operation runs holding the
machine's :class:`Sequencer` (:meth:`Journal.operation`) and takes its journal position
while it still holds it: the journal order is the execution order. (A page fault may
run on the event loop, :meth:`Journal.apply_nowait`: it takes the sequencer with a try
and, finding it taken, goes to a worker thread like any operation.) Reads never take it
(maps readers, smaps, ``PROCMAP_QUERY``, statistics), so a monitor races the writers
exactly as before.

**Waits.** An operation that waits -- parked at a pause point, or blocked on
``mmap_lock`` or on a VMA's readers -- leaves the sequencer for the wait and takes it
again afterwards (:mod:`app.workers`), so a hold never blocks other processes' writers
or the journal. The operations that run meanwhile commute with what the waiting one
did before its wait: a writer parks holding its ``mmap_lock`` (and, at the points
inside a syscall, write locks on the VMAs it changed), so only operations that need
none of these run; faults of other VMAs of that process change pages the parked writer
has not touched yet. The one machine-wide choice a waiting operation can have made
before its wait is a pid (``fork`` allocates the child before it takes the parent's
``mmap_lock``), so a record carries the pids it created and the replay hands out
exactly those (:func:`core.checkpoint.next_pid`).

**What is recorded.** Process creation, ``fork``, ``execve`` and exit (an ASLR exec
with the seed drawn for it, and the program is read again from the machine's files at
replay: a program replaced since gives another layout, counted as diverged); ``open``,
``close`` and ``unlink``; the memory syscalls; every page fault (faults change pages).
A long ``touch`` is one operation per :data:`TOUCH_CHUNK` pages (the sequencer is
released in between, as the engine releases its locks between two pages). Failures
are recorded too (a failing ``mprotect`` has changed the VMAs before the hole, as Linux
does); a record keeps the outcome the client was told, and the replay compares
(:attr:`ReplayStatistics.diverged` counts differences, which would be an engine bug).
Compared are the state-relevant results; which lock path a fault took (``path``,
``misses``, the ``vma_lock_*`` counters of ``/proc/vmstat``) is timing: a fault that
met a waiting writer fell back to ``mmap_lock``, its replay may not.

**Batches.** Every operation of a batch still runs on its own, holding the sequencer, and
takes its own position; but consecutive positions of one batch share one record, a
*segment* (``{"op": "batch", "pid", "first", "ops", "out"}``, stored at its last
position), so a build of a million operations is a thousand records, not a million
(one record per operation cost more than the ``mprotect`` it recorded). A segment is
open while its batch runs; it is closed -- queued for the committer, which encodes it --
when any other operation takes a position (so the store's order stays the execution
order, and the records of whatever ran in between follow it), when it holds
:data:`SEGMENT_OPS` operations (bounding a record and the replay's memory), when a
checkpoint is taken, and when the batch ends. Nothing of a batch is acknowledged before
its segment is committed, and the operations after it that could be acknowledged
earlier all have later positions, which the committer writes after it: the store is
always a prefix of the execution order. A segment's operations of one kind (a build's)
are written as rows of values under their field names (format 2,
:mod:`app.journal_rows`: half the bytes of pydantic's JSON of each op model, format 1,
which segments mixing kinds keep); both replay.

**Durability.** Records go to a :class:`~app.journal_store.JournalStore` (SQLite in
WAL mode). A committer thread writes every record queued since its last commit in one
transaction (group commit); a request waits for its position to be committed, on the
event loop, holding no thread, then answers. A failed commit makes the journal refuse
further operations (503) rather than acknowledge what it cannot keep.

**Checkpoints** (:meth:`Journal.quiescent`): a checkpoint is taken holding the
sequencer with no operation in progress, so its position is exact; after the file is
durable the records up to it are deleted. Operations held at pause points are in
progress: the checkpoint waits for them a bounded time, then is skipped (the journal
keeps everything; the next one retries).

Per machine: a journal is keyed by its machine's name (:data:`MACHINE`), so a store
can hold several, and a machine recovers from its own checkpoint and records only.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, TypeAdapter

from core import EngineError, Kernel, NoSuchProcess, Process, SyscallError
from core.checkpoint import next_pid

from .errors import JournalUnavailable, ServiceError
from .journal_rows import OPS as _OPS
from .journal_rows import VERSION as ROWS_VERSION
from .journal_rows import decode_rows, encode_rows
from .ops import DISPATCH, Ret, create_process
from .schemas.batch import BatchOp
from .schemas.processes import ExecIn

if TYPE_CHECKING:
    from .journal_store import JournalStore
    from .workers import EnginePool, _Call

T = TypeVar("T")
_log = logging.getLogger("vmasim.journal")

MACHINE = "main"
"""The name of the service's one machine in its journal store."""
TOUCH_CHUNK = 1024
"""Pages of a ``touch`` per operation: the sequencer is left between two chunks."""
SEGMENT_OPS = 1024
"""Operations of one batch per journal record at most (module note, "Batches")."""
_OP = TypeAdapter(BatchOp)


class Sequencer:
    """The order of the machine's state changes: held by the operation running now
    (a :class:`app.workers.Gate`). ``active`` counts operations begun and not ended,
    including those waiting outside it; it changes only under the sequencer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.entries = 0
        self.contended = 0
        #: Notified when ``active`` drops to 0 while a checkpoint waits for it.
        self.quiet = threading.Condition()
        #: Checkpoints waiting on :attr:`quiet` (changed under it). An operation ending
        #: stores ``active`` first and reads this after, a waiter the reverse, so one
        #: of the two sees the other: no wake-up is lost, and none is sent (a lock and
        #: a ``notify_all``, per operation of a bulk batch) when nobody waits.
        self.waiting = 0

    def enter(self, slots: threading.Semaphore) -> None:
        if not self._lock.acquire(blocking=False):
            self.contended += 1
            slots.release()  # no running slot while waiting for the sequencer
            self._lock.acquire()
            slots.acquire()
        self.entries += 1

    def try_enter(self) -> bool:
        """Take it if it is free, never waiting (:meth:`Journal.apply_nowait`, on the
        event loop, which holds no running slot)."""
        if not self._lock.acquire(blocking=False):
            return False
        self.entries += 1
        return True

    def leave(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


@dataclass(frozen=True, slots=True)
class JournalStatistics:
    """``Journal.statistics()``: the last position handed out and the last committed,
    records waiting for a commit, operations in progress, commits and records written,
    checkpoints skipped because operations were in progress, sequencer entries and
    how many found it taken, and the error that stopped the journal, if any."""

    position: int
    committed: int
    pending: int
    active: int
    commits: int
    records: int
    skipped_checkpoints: int
    entries: int
    contended: int
    error: str | None


class Batch:
    """The journal's handle on one running batch (:meth:`Journal.batch_op`): which
    open segment is its own. Used by one worker thread, in one call
    of the pool (whose call state it keeps: :meth:`Journal.batch_op`)."""

    __slots__ = ("call", "last", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.last = 0  # the last position given to one of its operations
        self.call: _Call | None = None  # the pool's current call, found at the first op


class _Segment:
    """Consecutive operations of one batch, positions ``first`` onwards: the operations
    (batch op models, never changed once executed) and what each returned (``Ret``) or
    how it failed (:func:`failure`). Encoded by the committer (:func:`encode_segment`)."""

    __slots__ = ("batch", "first", "ops", "outs")

    def __init__(self, batch: Batch, first: int) -> None:
        self.batch = batch
        self.first = first
        self.ops: list[Any] = []  # batch ops (BatchOp members)
        self.outs: list[Ret | dict[str, Any]] = []


def encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


def decode(body: bytes) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(body)
    return record


def encode_segment(segment: _Segment) -> bytes:
    """A segment's record: ``out[i]`` is null for an operation that returned nothing,
    ``{"ret": ...}`` for one that returned a value, ``{"errno": ...}`` or ``{"error":
    ...}`` for a failure. Operations of one kind as rows (version 2,
    :mod:`app.journal_rows`), others as ``"ops"`` in one pydantic call (version 1).
    O(operations)."""
    outs = [
        out if isinstance(out, dict) else None if out is None else {"ret": outcome(out)}
        for out in segment.outs
    ]
    record = {"op": "batch", "pid": segment.batch.pid, "first": segment.first, "out": outs}
    rows = encode_rows(segment.ops)
    if rows is not None:
        return encode({**record, "v": ROWS_VERSION, **rows})
    head = encode(record)
    return head[:-1] + b',"ops":' + _OPS.dump_json(segment.ops) + b"}"


class Journal:
    """One machine's journal: sequencer, positions, the committer thread, waiters.

    Thread-safe; :meth:`durable` runs on the event loop given to :meth:`start`."""

    def __init__(
        self, store: JournalStore, pool: EnginePool, position: int, machine: str = MACHINE
    ) -> None:
        self.store = store
        self.pool = pool
        self.machine = machine
        self.sequencer = Sequencer()
        self._position = position  # the last position handed out (under the sequencer)
        self.committed = position  # the last position durable in the store
        self._cond = threading.Condition()
        self._pending: list[tuple[int, bytes | _Segment]] = []
        self._open: _Segment | None = None  # the open batch segment (under _cond)
        self._stopping = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._tie = itertools.count()
        self._local = threading.local()
        self.commits = 0
        self.records = 0
        self.skipped_checkpoints = 0

    # -- lifetime -------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the committer; :meth:`durable` waiters run on ``loop``."""
        self._loop = loop
        self._thread = threading.Thread(target=self._commit_loop, name="vmasim-journal")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then end the committer. Blocking."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- in worker threads: operations ------------------------------------------------

    @contextmanager
    def operation(self) -> Iterator[None]:
        """Run the block as one state-changing operation: holding the sequencer (left
        and re-entered around waits), counted in ``active``. Worker threads of
        :attr:`pool` only."""
        self._begin()
        try:
            yield
        finally:
            self._end()

    def _begin(self, call: _Call | None = None) -> None:
        if self._error is not None:
            raise JournalUnavailable(f"the journal cannot be written: {self._error}")
        sequencer = self.sequencer
        self.pool.enter_gate(sequencer, call)
        sequencer.active += 1

    def _end(self, call: _Call | None = None) -> None:
        self._ended()
        self.pool.leave_gate(self.sequencer, call)

    def _ended(self) -> None:
        # One operation less in progress (caller holds the sequencer).
        sequencer = self.sequencer
        sequencer.active -= 1
        if sequencer.active == 0 and sequencer.waiting:
            with sequencer.quiet:
                sequencer.quiet.notify_all()

    def batch_op(self, batch: Batch, proc: Process, op: Any) -> Ret:
        """Batch operation ``op`` as one :meth:`operation`, recorded in ``batch``'s
        segment (:meth:`apply`); no generator per operation, and the pool's call state
        looked up once per batch (a bulk build runs a million of them). Worker threads
        of :attr:`pool` only."""
        call = batch.call
        if call is None:
            call = batch.call = self.pool.current()
            assert call is not None, "batch_op outside a worker call"
        self._begin(call)
        try:
            if not proc.alive:
                raise NoSuchProcess(proc.pid)  # not recorded: nothing happened
            try:
                ret = DISPATCH[op.op](proc, op)
            except NoSuchProcess:
                raise
            except EngineError as exc:
                self._add(batch, op, failure(exc))  # recorded, then re-raised
                raise
            self._add(batch, op, ret)
            return ret
        finally:
            self._end(call)

    def append(self, record: dict[str, Any]) -> int:
        """Queue ``record`` at the next position and return it. Caller is inside
        :meth:`operation` (so positions follow the execution order). O(record)."""
        self._position += 1
        position = self._position
        body = encode(record)
        with self._cond:
            self._close_segment()
            self._pending.append((position, body))
            self._cond.notify()
        self._local.last = position
        return position

    def _add(self, batch: Batch, op: BaseModel, out: Ret | dict[str, Any]) -> None:
        """Give operation ``op`` of ``batch`` the next position, in ``batch``'s open
        segment (a new one if another operation ran since its last, or it is full).
        Caller is inside :meth:`operation`. O(1).

        Extending its own open segment takes no lock: only holders of the sequencer
        (the caller) close a segment that is not theirs, and the batch's own thread is
        the one here; opening and closing take ``_cond``, which the queue needs."""
        self._position += 1
        segment = self._open
        if segment is None or segment.batch is not batch or len(segment.ops) >= SEGMENT_OPS:
            with self._cond:
                self._close_segment()
                segment = self._open = _Segment(batch, self._position)
        segment.ops.append(op)
        segment.outs.append(out)
        batch.last = self._position

    def _close_segment(self) -> None:
        """Queue the open segment for the committer. Caller holds ``_cond``."""
        segment = self._open
        if segment is not None:
            self._open = None
            self._pending.append((segment.first + len(segment.ops) - 1, segment))
            self._cond.notify()

    def finish(self, batch: Batch) -> None:
        """``batch`` ended: queue its open segment, if it has one. Its positions are all
        handed out, and any later position closed the segment first, so the queue stays
        in position order without the sequencer. O(1)."""
        with self._cond:
            if self._open is not None and self._open.batch is batch:
                self._close_segment()
        if batch.last:
            self._local.last = batch.last

    def thread_position(self) -> int:
        """The last position this thread appended (0 if none)."""
        last: int = getattr(self._local, "last", 0)
        return last

    def apply(self, proc: Process, kind: str, args: BaseModel) -> Ret:
        """Execute syscall operation ``kind`` (:data:`app.ops.DISPATCH`) on ``proc`` and
        record it as a record of its own, or its failure (re-raised after recording; a
        batch's operations go to its segment instead: :meth:`batch_op`). Caller is
        inside :meth:`operation`. ``NoSuchProcess`` (the process exited) is not
        recorded."""
        if not proc.alive:
            raise NoSuchProcess(proc.pid)
        return self._execute(proc, kind, args, DISPATCH[kind])

    def apply_nowait(
        self,
        proc: Process,
        kind: str,
        args: BaseModel,
        execute: Callable[[Process, Any], tuple[str, Any] | None],
    ) -> tuple[Ret, int] | None:
        """:meth:`apply` as one operation of an executor that never waits
        (:data:`app.ops.NOWAIT`), on the event loop: the sequencer is taken with a try,
        and no running slot of the pool (the loop holds none). Returns the result and
        its position, recorded as :meth:`apply` records it (a failure too: recorded,
        then re-raised); None, with nothing executed or recorded, if the sequencer is
        taken (another operation or a checkpoint runs), the journal failed, the process
        is gone, or ``execute`` declined. Never waits for another operation (the
        queue's lock, held for list operations only, aside). O(record)."""
        sequencer = self.sequencer
        if self._error is not None or not sequencer.try_enter():
            return None
        sequencer.active += 1  # the rest of _begin: the gate is the try above
        try:
            if not proc.alive:
                return None
            ret = self._execute(proc, kind, args, execute, declines=True)
            return None if ret is None else (ret, self._position)
        finally:
            self._ended()
            sequencer.leave()

    def _execute(
        self,
        proc: Process,
        kind: str,
        args: BaseModel,
        execute: Callable[[Process, Any], Ret],
        declines: bool = False,
    ) -> Ret:
        """``execute(proc, args)`` recorded at the next position: the operation and what
        it returned, or how it failed (re-raised after recording). With ``declines``,
        None is ``execute`` declining (:data:`app.ops.NOWAIT`) and is not recorded.
        ``NoSuchProcess`` is not recorded (nothing happened). Caller holds the
        sequencer, inside one operation (:meth:`apply`, :meth:`apply_nowait`).
        O(record)."""
        try:
            ret = execute(proc, args)
        except NoSuchProcess:
            raise
        except EngineError as exc:
            self.append({**_record(proc, kind, args), **failure(exc)})
            raise
        if ret is None and declines:
            return None
        self.append({**_record(proc, kind, args), "ret": outcome(ret)})
        return ret

    def create(self, spawn: Callable[[], Process], record: dict[str, Any]) -> Process:
        """Run ``spawn`` (a process creation or a fork) and record it with the pid it
        created (``record`` names the operation and its arguments), or its failure (a
        failed creation still used a pid, which its replay uses again). Caller is inside
        :meth:`operation`. Refusals before the engine ran (the process limit, a missing
        parent) are not recorded."""
        try:
            proc = spawn()
        except (NoSuchProcess, ServiceError):
            raise
        except EngineError as exc:
            self.append({**record, **failure(exc)})
            raise
        self.append({**record, "child": proc.pid})
        return proc

    def exit(self, kernel: Kernel, pid: int) -> None:
        """Process exit, recorded. Caller is inside :meth:`operation`."""
        kernel.exit(pid)  # NoSuchProcess: nothing happened, nothing recorded
        self.append({"op": "exit", "pid": pid})

    # -- durability -------------------------------------------------------------------

    async def durable(self, position: int) -> None:
        """Return once every record up to ``position`` is committed. Event loop of
        :meth:`start` only. Raises :class:`JournalUnavailable` if the journal failed."""
        if position <= self.committed:
            return
        if self._error is not None:
            raise JournalUnavailable(f"the journal cannot be written: {self._error}")
        assert self._loop is not None, "Journal.start() was not called"
        future: asyncio.Future[None] = self._loop.create_future()
        heapq.heappush(self._waiters, (position, next(self._tie), future))
        await future

    def wait_durable(self, position: int, timeout: float | None = None) -> bool:
        """:meth:`durable` for threads (tests, tools). Returns False after ``timeout``."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.committed >= position or self._error is not None, timeout
            )

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                queued, self._pending = self._pending, []
                if not queued:
                    return  # stopping, and nothing left to commit
            try:
                batch = [
                    (position, body if isinstance(body, bytes) else encode_segment(body))
                    for position, body in queued
                ]
                self.store.append(self.machine, batch)
            except BaseException as exc:
                _log.exception("the journal could not be written; refusing operations")
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                self._call_soon(self._fail_waiters)
                return
            with self._cond:
                self.committed = batch[-1][0]
                self.commits += 1
                self.records += len(batch)
                self._cond.notify_all()
            self._call_soon(self._wake, batch[-1][0])

    def _call_soon(self, fn: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop closed meanwhile: nobody waits any more
                pass

    def _wake(self, position: int) -> None:
        waiters = self._waiters
        while waiters and waiters[0][0] <= position:
            future = heapq.heappop(waiters)[2]
            if not future.done():
                future.set_result(None)

    def _fail_waiters(self) -> None:
        error = JournalUnavailable(f"the journal cannot be written: {self._error}")
        for _, _, future in self._waiters:
            if not future.done():
                future.set_exception(error)
        self._waiters.clear()

    # -- checkpoints ------------------------------------------------------------------

    def quiescent(self, fn: Callable[[], T], patience: float) -> tuple[T, int] | None:
        """``fn()`` holding the sequencer with no operation in progress, and the
        position it stands for; None (counted) if operations stayed in progress for
        ``patience`` seconds (held at pause points). Worker threads of :attr:`pool`.
        """
        sequencer = self.sequencer
        call = self.pool.current()
        assert call is not None, "quiescent() outside a worker call"
        deadline = time.monotonic() + patience

        def wait_quiet(remaining: float) -> None:
            with sequencer.quiet:
                sequencer.waiting += 1  # before reading active (Sequencer.waiting)
                try:
                    sequencer.quiet.wait_for(lambda: sequencer.active == 0, remaining)
                finally:
                    sequencer.waiting -= 1

        while True:
            self.pool.enter_gate(sequencer)
            try:
                if sequencer.active == 0:
                    steps = call.steps
                    result = fn()
                    # fn must not have waited (others ran meanwhile): then retry.
                    if call.steps == steps:
                        with self._cond:
                            # No segment across the checkpoint's position: its records
                            # are replayed from the next position on.
                            self._close_segment()
                        return result, self._position
            finally:
                self.pool.leave_gate(sequencer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.skipped_checkpoints += 1
                return None
            self.pool.wait(wait_quiet, remaining)

    def statistics(self) -> JournalStatistics:
        with self._cond:
            pending = len(self._pending)
            error = None if self._error is None else str(self._error)
        return JournalStatistics(
            position=self._position,
            committed=self.committed,
            pending=pending,
            active=self.sequencer.active,
            commits=self.commits,
            records=self.records,
            skipped_checkpoints=self.skipped_checkpoints,
            entries=self.sequencer.entries,
            contended=self.sequencer.contended,
            error=error,
        )


# -- outcomes -----------------------------------------------------------------------------


def _record(proc: Process, kind: str, args: BaseModel) -> dict[str, Any]:
    """The record of operation ``kind`` on ``proc``, before its outcome. O(args)."""
    return {"op": kind, "pid": proc.pid, "args": args.model_dump(mode="json", exclude={"op"})}


def outcome(ret: Ret) -> dict[str, Any] | None:
    """An executor's return value as JSON (``{"addr": ...}``, ``{"fault": {...}}``...)."""
    if ret is None:
        return None
    key, value = ret
    return {key: value.model_dump(mode="json") if isinstance(value, BaseModel) else value}


def failure(exc: BaseException) -> dict[str, Any]:
    """How an operation failed, as recorded: the errno, or the engine error's class."""
    if isinstance(exc, SyscallError):
        return {"errno": exc.errno}
    return {"error": type(exc).__name__}


# Which lock path a fault took depends on timing (module note): not compared.
_TIMING = frozenset({"path", "misses", "vma_lock"})


def comparable(value: Any) -> Any:
    """``value`` (a recorded outcome) without its timing fields, for comparison."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in _TIMING}
    return value


# -- replay -------------------------------------------------------------------------------


@dataclass
class ReplayStatistics:
    """What :func:`replay` did: operations replayed (a batch segment counts each of its
    operations), the last position, and operations whose outcome differed from the one
    acknowledged (with the first few, for the log)."""

    records: int = 0
    position: int = 0
    diverged: int = 0
    examples: list[str] = field(default_factory=list)

    def compare(self, position: int, op: str, got: Any, want: Any) -> None:
        self.records += 1
        self.position = position
        if comparable(got) != comparable(want):
            self.diverged += 1
            if len(self.examples) < 5:
                self.examples.append(f"record {position} {op}: {want} != {got}")


def replay(kernel: Kernel, records: Iterable[tuple[int, bytes]], stats: ReplayStatistics) -> None:
    """Apply ``records`` (position, body), ascending, to ``kernel``: the service's
    executors, in order, with the pids the records name. Blocking; nothing else may use
    ``kernel`` meanwhile. Raises ``core.StateError`` for a record that cannot be read
    or applied (a damaged journal)."""
    from core import StateError

    for position, body in records:
        try:
            record = decode(body)
            if record["op"] == "batch":
                _replay_segment(kernel, position, record, stats)
                continue
            got, want = _replay_one(kernel, record)
        except (ValueError, KeyError, TypeError, EngineError) as exc:
            raise StateError(f"journal record {position} cannot be replayed: {exc!r}") from exc
        stats.compare(position, record["op"], got, want)


def _replay_segment(
    kernel: Kernel, position: int, record: dict[str, Any], stats: ReplayStatistics
) -> None:
    """Apply a batch segment (positions ``first`` to ``position``): its operations in
    order on one process, each compared with its recorded outcome."""
    version = record.get("v", 1)
    if version == ROWS_VERSION:
        ops = decode_rows(record)
    elif version == 1:
        ops = _OPS.validate_python(record["ops"])
    else:
        raise ValueError(f"segment format {version!r} is not one this build reads")
    outs = record["out"]
    first = record["first"]
    if not isinstance(outs, list) or len(outs) != len(ops) or first + len(ops) - 1 != position:
        raise ValueError(f"segment {first}..{position} holds {len(ops)} operations")
    if first <= stats.position:  # a checkpoint never falls inside a segment (quiescent)
        raise ValueError(f"segment {first}..{position} overlaps position {stats.position}")
    proc = kernel.get(record["pid"])
    for offset, (op, want) in enumerate(zip(ops, outs, strict=True)):
        try:
            ret = DISPATCH[op.op](proc, op)
        except EngineError as exc:
            got: dict[str, Any] | None = failure(exc)
        else:
            got = None if ret is None else {"ret": outcome(ret)}
        stats.compare(first + offset, op.op, got, want)


def _replay_one(kernel: Kernel, record: dict[str, Any]) -> tuple[Any, Any]:
    """Apply one record; returns (outcome now, outcome recorded)."""
    op = record["op"]
    if op in ("spawn", "fork"):
        want = record.get("child", record.get("error"))

        def make() -> Process:
            if op == "spawn":
                exec_ = record.get("exec")
                program = None if exec_ is None else ExecIn.model_validate(exec_)
                return create_process(
                    kernel, record["name"], record["layout"], record["maps"], program
                )
            return kernel.fork(record["pid"], record["name"])

        if "child" in record:
            with next_pid(kernel, record["child"]):
                return make().pid, want
        try:
            return make().pid, want
        except EngineError as exc:
            return type(exc).__name__, want
    if op == "exit":
        kernel.exit(record["pid"])
        return None, None
    proc = kernel.get(record["pid"])
    args = (
        ExecIn.model_validate(record["args"])
        if op == "execve"
        else _OP.validate_python({**record["args"], "op": op})
    )
    recorded = {k: record[k] for k in ("ret", "errno", "error") if k in record}
    try:
        ret = DISPATCH[op](proc, args)
    except EngineError as exc:
        return failure(exc), recorded
    return {"ret": outcome(ret)}, recorded
