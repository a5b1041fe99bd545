"""The engine as the service holds it: one :class:`core.Kernel`, the worker threads its
calls run in (:class:`app.workers.EnginePool`), the journal of its state changes when
durability is on (:mod:`app.journal`), and the service's own bookkeeping (the process
limit, the processes being deleted).

There is deliberately no global engine lock: every syscall serialises on its mm's
``mmap_lock`` inside the engine, exactly as in the kernel, so concurrent requests race
the way the studied code races. With the journal on, state-changing operations also
take the machine's sequencer (reads never do; see :mod:`app.journal` for why and how a
waiting operation lets others run). :attr:`Service._table_lock` protects the service's
check-then-spawn of the process limit; it is never held while the engine runs (a spawn
*reserves* a slot under the lock and builds the layout outside it).

Every state-changing call has an ``async`` method here (:meth:`Service.create`,
:meth:`Service.fork`, :meth:`Service.exit`, :meth:`Service.apply`,
:meth:`Service.execve`, :meth:`Service.batch`): it runs the engine in a worker thread,
records the operation, and returns once the record is durable, so the route answers
only what a crash keeps.

On the event loop
-----------------
Handing a call to a worker thread costs about 250 µs of CPU when requests come one at
a time (two threads trading the GIL; docs/performance.md, "The fault route over
HTTP"): more than a compiled page fault itself. So the operations of
:data:`app.ops.NOWAIT` -- the page fault, :func:`core.fault.do_user_addr_fault_nowait`
-- are first tried on the event loop, with an entry that never waits: it completes the
fault on the per-VMA-lock fast path (x86 ``do_user_addr_fault`` after
``lock_vma_under_rcu`` succeeded, with no ``VM_FAULT_RETRY`` from
``handle_mm_fault``), or *declines* having changed and counted nothing, and then the
fault runs in the pool as before (:meth:`_journaled`'s ``now``). The kernel's
precedent is KVM's asynchronous page fault: try without sleeping, hand to a worker only
what would sleep. It declines before any armed pause point, on a contended or needed
``mmap_lock``, a retry, a profile's hooks, a stack expansion, a contended page lock,
the resident limit, and, with the journal on, when the machine's sequencer is taken
(:meth:`app.journal.Journal.apply_nowait` takes it with a try, so the journal order is
the execution order as for every operation). What is unchanged: the answer (the same
executor result, serialised by the same route), the journal record, the wait for its
commit (awaited on the loop, as the pool path's answer awaits it), admission (a
middleware, before the route), a machine's deletion (:meth:`retire`): with the journal
the fault is in the ``_changing`` count it drains, as in the pool; without it the fault
completes with no await between the ``_retired`` check and the answer, so ``retire``,
which runs on the loop too, can never see it half done and has nothing to drain. A
fault on the loop takes no running slot of the pool: the loop is one thread, so at
most one runs there at a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from pydantic import BaseModel

from core import EngineError, Kernel, Process

from .errors import NoSuchMachine, ProcessLimitReached
from .ops import (
    DISPATCH,
    NOWAIT,
    Ret,
    create_process,
    merge_touches,
    run_batch,
    touch_pieces,
    with_seed,
)
from .schemas.batch import OpResult
from .schemas.faults import TouchOp
from .schemas.processes import ExecIn
from .schemas.vmstat import ServiceStatistics
from .settings import Settings
from .workers import EnginePool

if TYPE_CHECKING:
    from .journal import Journal

T = TypeVar("T")


async def in_worker(fn: Callable[..., T], *args: object) -> T:
    """Run blocking work that touches no process (encoding, the lab's plots) in one of
    anyio's worker threads, never on the event loop. Engine calls use
    :meth:`Service.run` instead (their waits give their thread's slot back)."""
    return await anyio.to_thread.run_sync(partial(fn, *args))


class Service:
    """One simulated machine as the service holds it (:mod:`app.machines` names it):
    the kernel, its worker pool and journal, the settings and the process-limit
    bookkeeping. Thread-safe.

    ``kernel_settings`` are the machine's own :data:`core.kernel.SETTINGS` (given to
    ``POST /machines``), applied over the environment's on every kernel this service
    serves or replays (:meth:`configure_kernel`)."""

    def __init__(
        self,
        settings: Settings,
        kernel: Kernel | None = None,
        kernel_settings: Mapping[str, Any] | None = None,
        machine: str = "default",
    ) -> None:
        self.settings = settings
        self.machine = machine
        self.kernel_settings: dict[str, Any] = dict(kernel_settings or {})
        self.kernel = kernel if kernel is not None else Kernel(settings.max_map_count)
        # VMASIM_MAX_RESIDENT_PAGES, an optional per-process cap (the machine's RAM
        # bounds resident memory in any case): a fault needing a page beyond it raises
        # ResidentLimitExceeded (409).
        self.kernel.max_resident_pages = settings.resident_cap
        self.kernel.configure(**self.kernel_settings)  # InvalidArgument: nothing built
        #: Engine calls run here: VMASIM_WORKER_THREADS running at once, waits free.
        self.pool = EnginePool(settings.worker_threads)
        #: The journal of state changes (None: durability off or checkpoints only).
        self.journal: Journal | None = None
        for proc in self.kernel.processes():
            self.pool.adopt(proc)
        self._table_lock = threading.Lock()
        self._reserved = 0  # spawns between the limit check and their return
        self._spawned = 0
        self._rejected = 0
        #: Pids whose DELETE has begun: their pause points take no new arms.
        self.exiting: set[int] = set()
        # State changes running now (event loop thread only), and whether the machine
        # is being deleted (then none may begin: see retire()).
        self._changing = 0
        self._retired = False
        self._drained: asyncio.Event | None = None

    def configure_kernel(self, kernel: Kernel) -> None:
        """Give ``kernel`` this machine's settings: the environment's
        (``VMASIM_MAX_MAP_COUNT``, ``VMASIM_MAX_RESIDENT_PAGES``: they win over a
        checkpoint's), then the machine's own (:attr:`kernel_settings`). O(1)."""
        kernel.max_map_count = self.settings.max_map_count
        kernel.max_resident_pages = self.settings.resident_cap
        kernel.configure(**self.kernel_settings)

    def replace_kernel(self, kernel: Kernel) -> None:
        """Serve ``kernel`` from now on (a restored machine). Before serving only."""
        self.configure_kernel(kernel)
        self.kernel = kernel
        for proc in kernel.processes():
            self.pool.adopt(proc)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, an engine call, in the service's worker pool."""
        return await self.pool.run(fn, *args)

    # -- state-changing operations (journaled) ----------------------------------------

    async def _journaled(
        self,
        fn: Callable[..., tuple[T, int]],
        *args: Any,
        now: Callable[[], tuple[T, int] | None] | None = None,
    ) -> T:
        # fn(*args) in the pool, unless now() (on the loop, never waiting) did it.
        if self._retired:  # deleted meanwhile: its journal is closing
            raise NoSuchMachine(self.machine)
        self._changing += 1
        try:
            done = None if now is None else now()
            value, position = done if done is not None else await self.pool.run(fn, *args)
            if position and self.journal is not None:
                await self.journal.durable(position)
        finally:
            self._changing -= 1
            if self._changing == 0 and self._drained is not None:
                self._drained.set()
        if isinstance(value, _Failed):
            raise value.error  # recorded (its partial effects may be kept) and durable
        return value

    async def create(
        self,
        name: str | None,
        layout: str | None,
        maps: str | None,
        program: ExecIn | None = None,
    ) -> Process:
        """A new process within ``VMASIM_MAX_PROCESSES`` (see :meth:`spawn`)."""
        if program is not None:
            program = with_seed(program)  # the journal records the layout's seed
        return await self._journaled(self._create, name, layout, maps, program)

    def _create(
        self, name: str | None, layout: str | None, maps: str | None, program: ExecIn | None
    ) -> tuple[Process, int]:
        journal = self.journal
        spawn = partial(self.spawn, name, layout, maps, program)
        if journal is None:
            return spawn(), 0
        record: dict[str, Any] = {"op": "spawn", "name": name, "layout": layout, "maps": maps}
        if program is not None:
            record["exec"] = program.model_dump(mode="json")
        with journal.operation(), _recorded(journal) as failed:
            return journal.create(spawn, record), journal.thread_position()
        return failed.result()

    async def fork(self, pid: int, name: str | None = None) -> Process:
        """``fork(2)`` of ``pid`` within ``VMASIM_MAX_PROCESSES`` (see :meth:`fork_now`)."""
        return await self._journaled(self._fork, pid, name)

    def _fork(self, pid: int, name: str | None) -> tuple[Process, int]:
        journal = self.journal
        if journal is None:
            return self.fork_now(pid, name), 0
        record = {"op": "fork", "pid": pid, "name": name}
        with journal.operation(), _recorded(journal) as failed:
            return journal.create(partial(self.fork_now, pid, name), record), (
                journal.thread_position()
            )
        return failed.result()

    async def exit(self, pid: int) -> None:
        """Process exit (``NoSuchProcess`` if there is none)."""
        await self._journaled(self._exit, pid)

    def _exit(self, pid: int) -> tuple[None, int]:
        journal = self.journal
        if journal is None:
            self.kernel.exit(pid)
            return None, 0
        with journal.operation():
            journal.exit(self.kernel, pid)
        return None, journal.thread_position()

    async def apply(self, proc: Process, kind: str, args: BaseModel) -> Ret:
        """One syscall operation ``kind`` (:data:`app.ops.DISPATCH`) on ``proc``; the
        engine's exception on failure. An operation of :data:`app.ops.NOWAIT` (a page
        fault) is first tried on the event loop, and runs in the pool only if that
        declined (module note, "On the event loop")."""
        execute = NOWAIT.get(kind)
        if execute is not None:
            journal = self.journal
            if journal is not None:
                now = partial(self._apply_now, journal, proc, kind, args, execute)
                return await self._journaled(self._apply, proc, kind, args, now=now)
            if not self._retired:
                # Without the journal nothing is awaited until the answer: the change is
                # never in flight across a yield of the loop, where retire() (on the
                # loop too) could see it, so it needs no _changing count.
                ret = execute(proc, args)
                if ret is not None:
                    return ret
        return await self._journaled(self._apply, proc, kind, args)

    def _apply_now(
        self,
        journal: Journal,
        proc: Process,
        kind: str,
        args: BaseModel,
        execute: Callable[[Process, Any], Ret],
    ) -> tuple[Ret, int] | None:
        # On the event loop, never waiting (module note, "On the event loop").
        # A failure it recorded is answered once durable, as the pool path's is.
        with _recorded(journal) as failed:
            return journal.apply_nowait(proc, kind, args, execute)
        return failed.result()

    def _apply(self, proc: Process, kind: str, args: BaseModel) -> tuple[Ret, int]:
        journal = self.journal
        if journal is None:
            return DISPATCH[kind](proc, args), 0
        with journal.operation(), _recorded(journal) as failed:
            return journal.apply(proc, kind, args), journal.thread_position()
        return failed.result()

    async def execve(self, proc: Process, program: ExecIn) -> None:
        """``execve(2)`` of ``program`` in ``proc`` (a drawn ASLR seed is recorded); the
        new address space gets the pool's observers like every new mm."""
        await self.apply(proc, "execve", with_seed(program))
        self.pool.adopt(proc)

    async def batch(
        self, proc: Process, ops: Sequence[Any], stop_on_error: bool, failed_only: bool = False
    ) -> tuple[int, list[OpResult]]:
        """:func:`app.ops.run_batch` of ``ops`` on ``proc``, each operation recorded."""
        return await self._journaled(self._batch, proc, ops, stop_on_error, failed_only)

    def _batch(
        self, proc: Process, ops: Sequence[Any], stop_on_error: bool, failed_only: bool
    ) -> tuple[tuple[int, list[OpResult]], int]:
        journal = self.journal
        if journal is None:
            return run_batch(proc, ops, stop_on_error, failed_only=failed_only), 0
        from .journal import TOUCH_CHUNK, Batch

        batch = Batch(proc.pid)  # its operations share journal records (app.journal)

        def execute(proc: Process, op: Any) -> Ret:
            if isinstance(op, TouchOp) and op.pages > TOUCH_CHUNK:
                outs = []
                for piece in touch_pieces(op, TOUCH_CHUNK):
                    ret = journal.batch_op(batch, proc, piece)
                    assert ret is not None
                    outs.append(ret[1])
                    if op.stop_on_signal and ret[1].signals:
                        break
                return "touch", merge_touches(outs)
            return journal.batch_op(batch, proc, op)

        before = journal.thread_position()
        try:
            out = run_batch(proc, ops, stop_on_error, execute, failed_only)
        finally:
            journal.finish(batch)
        after = journal.thread_position()
        return out, after if after != before else 0

    async def retire(self) -> None:
        """Refuse new state changes (``NoSuchMachine``) and return once those running
        are durable, so the journal can be closed with nothing in flight: the first
        step of deleting the machine. Operations held at pause points must have been
        released (:meth:`app.machines.Machine.release`). Event loop thread."""
        self._retired = True
        if self._changing:
            self._drained = asyncio.Event()
            await self._drained.wait()

    # -- the engine calls behind them -------------------------------------------------

    def spawn(
        self,
        name: str | None,
        layout: str | None,
        maps: str | None,
        program: ExecIn | None = None,
    ) -> Process:
        """Create a process (empty, typical, imported from maps text, or running
        ``program``: see :func:`app.ops.create_process`) within ``VMASIM_MAX_PROCESSES``.
        Blocking (the layout is built here): call it in a worker thread. O(n) in the VMAs
        of the layout; the table lock is held O(p) for p live processes, never while the
        layout is built.

        Raises :class:`ProcessLimitReached`, or the engine's ``LayoutError`` /
        ``InvalidArgument`` / ``SyscallError`` (then no process is left behind).
        """
        with self._process_slot():
            proc = create_process(self.kernel, name, layout, maps, program)
        self.pool.adopt(proc)
        return proc

    def fork_now(self, pid: int, name: str | None = None) -> Process:
        """``fork(2)`` of process ``pid`` within ``VMASIM_MAX_PROCESSES``: the child, with
        a copy of the address space (``dup_mmap`` takes both mms' ``mmap_lock`` for
        write) and of the fd table. Blocking: call it in a worker thread.
        O(n log n + resident pages) for the parent's n VMAs.

        Raises :class:`ProcessLimitReached`, or the engine's ``NoSuchProcess`` /
        ``InvalidArgument`` (then no child is left behind).
        """
        with self._process_slot():
            child = self.kernel.fork(pid, name)
        self.pool.adopt(child)
        return child

    @contextmanager
    def _process_slot(self) -> Iterator[None]:
        # Reserve one process under the table lock, build it outside the lock.
        limit = self.settings.max_processes
        with self._table_lock:
            live = len(self.kernel.processes())
            # Conservative: a finishing spawn is briefly counted twice (in the kernel's
            # table and in _reserved), so the limit can refuse early but never overshoot.
            if live + self._reserved >= limit:
                self._rejected += 1
                raise ProcessLimitReached(
                    "VMASIM_MAX_PROCESSES", limit, live + self._reserved + 1, "processes"
                )
            self._reserved += 1
        try:
            yield
        finally:
            with self._table_lock:
                self._reserved -= 1
        with self._table_lock:
            self._spawned += 1

    def statistics(self) -> ServiceStatistics:
        """O(p) for p live processes."""
        held = self._table_lock.locked()
        with self._table_lock:
            return ServiceStatistics(
                processes=len(self.kernel.processes()),
                reserved=self._reserved,
                limit=self.settings.max_processes,
                spawned=self._spawned,
                rejected=self._rejected,
                table_lock_held=held,
            )

    def _check(self) -> None:
        """O(p): the bookkeeping agrees with the kernel while no spawn is in flight."""
        with self._table_lock:
            assert self._reserved >= 0, self._reserved
            live = len(self.kernel.processes())
            assert self._reserved > 0 or live <= self.settings.max_processes, (
                live,
                self.settings.max_processes,
            )


class _Failed:
    """An operation that failed after its failure was recorded: the error to raise once
    the record is durable (a failing syscall may have changed the machine, as the
    kernel's does, and the client is told so only when that change is kept)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Failure:
    """What :func:`_recorded` caught, if anything."""

    __slots__ = ("error", "position")

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.position = 0

    def result(self) -> tuple[Any, int]:
        assert self.error is not None
        return _Failed(self.error), self.position


@contextmanager
def _recorded(journal: Journal) -> Iterator[_Failure]:
    """Catch an engine error raised after the journal recorded it (the position this
    thread appended last); errors it did not record (the process is gone, a limit) go
    on as they are."""
    failure = _Failure()
    before = journal.thread_position()
    try:
        yield failure
    except EngineError as exc:
        position = journal.thread_position()
        if position == before:
            raise
        failure.error, failure.position = exc, position
