"""Worker threads for engine calls: the running ones are bounded, the waiting ones free.

Design note
===========
Every engine call a request makes runs in a thread of the service's
:class:`EnginePool`, never on the event loop. The pool bounds the calls that *run*
(``VMASIM_WORKER_THREADS`` running slots), not the ones that *wait*: a call parked at a
pause point (holds last up to 300 s) or blocked on an engine lock gives its running
slot back for the wait and takes one again after it (:meth:`EnginePool.step_out`,
:meth:`EnginePool.step_in`). So held operations, and the requests queued behind them
on the held process's ``mmap_lock``, cannot exhaust the threads every other request
needs (issue 18 item 6): an unrelated process's request finds a running slot at once,
however many operations are held.

The waits are seen through the engine's seams, which :meth:`EnginePool.adopt`
installs on every process of the service:

* ``MmapLock.observer`` (:mod:`core.hooks`): a contended ``mmap_lock`` acquisition, in
  either mode, and ``vma_start_write``'s wait for a VMA's readers;
* ``PauseRegistry.park_observer`` (:mod:`core.pause`): an operation parked at a point.

A waiting call also leaves the machine's journal sequencer (:mod:`app.journal`) for
the wait, and tells admission control (:mod:`app.limits`) it is not running, so it
counts against neither ``VMASIM_MAX_INFLIGHT`` nor the writers of other processes.
What bounds the waiting calls is admission's per-process limit
(``VMASIM_MAX_PROCESS_INFLIGHT``): one process's waiters cannot take more, and every
request is one thread at most.

Order of re-entry after a wait: the running slot, then the sequencer; a call that
finds the sequencer taken gives its slot back while it waits for it, so a slot is only
ever held by a thread running engine code. No deadlock: a thread never waits for a slot
or the sequencer while holding an engine lock that the holder of what it waits for
could need without stepping out itself (every engine lock wait steps out), except
``vma_atomic``, which :meth:`LockObserver.vma_writer_wait` releases before re-entry.

Threads are created on demand and leave after :data:`IDLE_SECONDS` without work.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from core import Process
    from core.hooks import LockMode
    from core.mmap_lock import MmapLock

T = TypeVar("T")

IDLE_SECONDS = 10.0
"""A worker thread without work for this long ends (a new one starts on demand)."""


class Gate(Protocol):
    """Something a running call holds and gives up while it waits (the sequencer)."""

    def leave(self) -> None: ...

    def enter(self, slots: threading.Semaphore) -> None:
        """Take it again; holding one of ``slots``, which may be given back and taken
        anew while waiting (see the module note)."""
        ...


class WaitListener(Protocol):
    """Told when a call starts and stops waiting (admission control's count)."""

    def waiting(self, delta: int) -> None: ...


class Runner(Protocol):
    """``await run(fn, *args)``: ``fn(*args)`` in a worker thread."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any) -> T: ...


class _Call:
    """The state of the call a worker thread runs now (thread-local)."""

    __slots__ = ("gates", "running", "steps")

    def __init__(self) -> None:
        self.running = False
        self.gates: list[Gate] = []
        self.steps = 0


@dataclass(frozen=True, slots=True)
class PoolStatistics:
    """``EnginePool.statistics()``: threads alive and idle, running slots and calls
    running now, calls waiting (stepped out) now, calls queued for a thread, and totals
    of calls run and of waits."""

    threads: int
    idle: int
    slots: int
    running: int
    waiting: int
    queued: int
    calls: int
    waits: int


class EnginePool:
    """Threads for engine calls with ``slots`` running slots (see the module note).
    Thread-safe."""

    def __init__(self, slots: int, name: str = "vmasim-engine") -> None:
        self.slots = slots
        self.name = name
        self._slots = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self._work: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._has_work = threading.Condition(self._lock)
        self._threads = 0
        self._idle = 0
        self._ids = 0
        self._running = 0
        self._waiting = 0
        self._calls = 0
        self._waits = 0
        self._local = threading.local()
        self.listener: WaitListener | None = None

    # -- submitting -----------------------------------------------------------------

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """``fn(*args)`` in a worker thread holding a running slot; the caller's task
        awaits it (asyncio only: uvicorn's loop). Cancelling the await does not stop
        the call, which completes in its thread."""
        future: Future[T] = Future()
        with self._lock:
            self._work.append((future, partial(fn, *args)))
            # One idle thread per queued call: an idle thread that was notified but has
            # not woken yet is still counted idle, so "any idle thread" would let two
            # calls share one wake-up and leave the second queued behind a long call.
            if len(self._work) <= self._idle:
                self._has_work.notify()
            else:
                self._start_thread()
        return await asyncio.wrap_future(future)

    def _start_thread(self) -> None:
        # Caller holds self._lock.
        self._ids += 1
        self._threads += 1
        thread = threading.Thread(target=self._worker, name=f"{self.name}-{self._ids}")
        thread.daemon = True
        thread.start()

    def _worker(self) -> None:
        self._local.call = call = _Call()
        while True:
            with self._lock:
                while not self._work:
                    self._idle += 1
                    woke = self._has_work.wait(IDLE_SECONDS)
                    self._idle -= 1
                    if not woke and not self._work:
                        self._threads -= 1
                        return
                future, fn = self._work.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            self._slots.acquire()
            self._count_running(+1)
            call.running = True
            try:
                result = fn()
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                assert not call.gates, call.gates  # every gate left by its owner
                call.running = False
                self._count_running(-1)
                self._slots.release()
                call.steps = 0

    def _count_running(self, delta: int) -> None:
        with self._lock:
            self._running += delta
            if delta > 0:
                self._calls += 1

    # -- gates (the journal's sequencer) --------------------------------------------

    def current(self) -> _Call | None:
        """The call the current thread runs for this pool, or None."""
        call: _Call | None = getattr(self._local, "call", None)
        return call if call is not None and call.running else None

    def enter_gate(self, gate: Gate, call: _Call | None = None) -> None:
        """Take ``gate`` for the rest of the current call (or until :meth:`leave_gate`);
        it is left and re-entered around every wait. Worker threads only. ``call``: the
        current call (:meth:`current`) if the caller kept it (a batch enters the
        journal's sequencer once per operation; the lookup is a thread-local's)."""
        if call is None:
            call = self.current()
            assert call is not None, "enter_gate outside a worker call"
        gate.enter(self._slots)
        call.gates.append(gate)

    def leave_gate(self, gate: Gate, call: _Call | None = None) -> None:
        """Leave ``gate``, the last one entered (``call`` as for :meth:`enter_gate`)."""
        if call is None:
            call = self.current()
            assert call is not None, "leave_gate outside a worker call"
        assert call.gates and call.gates[-1] is gate, "gates nest"
        call.gates.pop()
        gate.leave()

    # -- waiting --------------------------------------------------------------------

    def step_out(self) -> _Call | None:
        """The current call is about to wait: leave its gates, give its running slot
        back. Returns what :meth:`step_in` needs (None outside a worker call: nothing
        to give back)."""
        call = self.current()
        if call is None:
            return None
        for gate in reversed(call.gates):
            gate.leave()
        call.running = False
        self._slots.release()
        with self._lock:
            self._running -= 1
            self._waiting += 1
            self._waits += 1
        call.steps += 1
        listener = self.listener
        if listener is not None:
            listener.waiting(+1)
        return call

    def step_in(self, call: _Call | None) -> None:
        """The wait is over: a running slot, then the gates again (module note)."""
        if call is None:
            return
        self._slots.acquire()
        for gate in call.gates:
            gate.enter(self._slots)
        call.running = True
        with self._lock:
            self._running += 1
            self._waiting -= 1
        listener = self.listener
        if listener is not None:
            listener.waiting(-1)

    def wait(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, a blocking wait, stepped out."""
        call = self.step_out()
        try:
            return fn(*args)
        finally:
            self.step_in(call)

    # -- the engine's seams ---------------------------------------------------------

    def adopt(self, proc: Process) -> None:
        """Install this pool's observers on ``proc``'s ``mmap_lock`` and pause points
        (see the module note). Idempotent. O(1)."""
        observer = _LockObserver(self)
        proc.mm.mmap_lock.observer = observer
        proc.mm.pauses.park_observer = self._park

    def _park(self, wait: Callable[[float], bool], timeout: float) -> bool:
        return self.wait(wait, timeout)

    def statistics(self) -> PoolStatistics:
        with self._lock:
            return PoolStatistics(
                threads=self._threads,
                idle=self._idle,
                slots=self.slots,
                running=self._running,
                waiting=self._waiting,
                queued=len(self._work),
                calls=self._calls,
                waits=self._waits,
            )

    def _check(self) -> None:
        """O(1): counters within bounds."""
        with self._lock:
            assert 0 <= self._running <= self.slots, (self._running, self.slots)
            assert self._waiting >= 0 and 0 <= self._idle <= self._threads, self._threads


class _LockObserver:
    """``MmapLock.observer`` (:class:`core.hooks.LockObserver`) of the service's
    processes: every wait for ``mmap_lock`` or for a VMA's readers steps out."""

    __slots__ = ("pool",)

    def __init__(self, pool: EnginePool) -> None:
        self.pool = pool

    def acquired(self, lock: MmapLock, mode: LockMode) -> None:
        pass

    def contended(
        self,
        lock: MmapLock,
        mode: LockMode,
        acquire: Callable[[float | None], bool],
        timeout: float | None,
    ) -> bool:
        return self.pool.wait(acquire, timeout)

    def vma_writer_wait(self, wait: threading.Condition, predicate: Callable[[], Any]) -> None:
        # The caller holds wait's lock (mm->vma_atomic), which a thread running under
        # the sequencer may need: re-enter without it, then check the predicate again.
        # vma_start_write calls this for every attached VMA: no readers, no wait.
        while not predicate():
            call = self.pool.step_out()
            if call is None:
                wait.wait_for(predicate)
                return
            wait.wait_for(predicate)
            wait.release()
            try:
                self.pool.step_in(call)
            finally:
                wait.acquire()
