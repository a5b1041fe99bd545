"""Userspace RCU: lock-free read sections, grace periods and deferred callbacks.

Design note
===========

What is modelled
----------------
The kernel walks the VMA maple tree under ``rcu_read_lock()`` and frees unlinked
nodes (and, before 6.15, VMAs) with ``call_rcu()`` only after every reader that could
still see them has left its read section (6.15+: the VMA cache is
``SLAB_TYPESAFE_BY_RCU``). :class:`RcuDomain` gives the simulator the same contract, in
the style of liburcu's *memb* flavour
(``urcu-memb``: one registered slot per thread, no signals):

* **Read side** — :meth:`~RcuDomain.read_lock` / :meth:`~RcuDomain.read_unlock` take
  no lock and write only the calling thread's slot. The outermost ``read_lock`` copies
  the global grace-period counter into the slot (one store); the outermost
  ``read_unlock`` stores ``0``. Nesting is a per-thread count. A thread's first
  ``read_lock`` registers its slot in the domain, which takes a lock once per thread.
* **Grace period** — :meth:`~RcuDomain.synchronize` bumps the global counter to a new
  phase ``P`` (serialised by a lock), then waits until no registered slot holds a value
  in ``1 .. P-1``, i.e. until every read section that began before the bump has ended.
  A section that begins after the bump stores ``>= P`` and is not waited for.
* **Deferred callbacks** — :meth:`~RcuDomain.call_rcu` queues ``fn``; a lazily started
  daemon *reclaimer* thread (liburcu's ``call_rcu`` thread) takes the whole queue, runs
  one grace period, then runs the batch in order. A writer holding other locks
  therefore never waits for readers. :meth:`~RcuDomain.barrier` (``rcu_barrier()``)
  waits for every callback queued before it. A callback that raises is counted and
  logged; the reclaimer carries on.

Memory-ordering argument
------------------------
We assume only that a single load or store of an attribute (one reference) is atomic
and that all such accesses, across threads, fall into one sequentially consistent
order consistent with each thread's program order. CPython's GIL gives exactly that:
bytecodes of different threads interleave but are never reordered. (It is also what
liburcu's memb flavour obtains from ``sys_membarrier()``: readers use only compiler
barriers and the writer forces a full barrier on every running reader.) Nothing else
is assumed to be atomic: ``slot.nesting += 1`` is a load and a store, which is fine
because only the owning thread writes its slot.

A writer *unpublishes* an object (stores a new pointer), then calls ``synchronize()``:
store ``gp = P``; for each slot, load ``ctr``; wait while ``0 < ctr < P``. Take a
reader that loaded the old pointer. Its order of operations is: load ``gp``, store
``ctr``, ..., load the pointer. Since it saw the old pointer, its pointer load comes
before the unpublishing store, so its ``ctr`` store comes before the writer's scan and
its ``gp`` load comes before the store of ``P`` — the writer reads a value in
``1 .. P-1`` and waits until the reader stores ``0`` on leaving. A thread that
registers after the writer's snapshot of the registry does so under the registry lock,
after the snapshot, so all its pointer loads follow the unpublish and cannot see the
old object. The only imprecision: a reader preempted between its ``gp`` load and its
``ctr`` store may be waited for although it cannot see the old object. That is
conservative, and bounded by that reader's section.

liburcu flips a one-bit phase *twice* per grace period, because its per-thread word
keeps only a parity bit, so a reader preempted between reading and storing the phase
could otherwise look "new". Our counter is an unbounded Python ``int``: stale values
stay distinguishable, and one bump per grace period suffices.

Waiting strategy: the writer polls the slots with a backoff (a few ``sleep(0)``
yields, then 20 µs doubling to 1 ms). liburcu instead has the last reader wake the
writer through a futex flag checked on unlock; we keep the read side free of any
check and any lock, at the cost of at most ~1 ms extra latency per grace period, paid
only by the writer (and, through call_rcu, by the reclaimer thread).

Threads that exit: each thread's slot is owned through a handle kept in a
``threading.local``; when the thread ends, CPython drops its thread-local data and a
finaliser unregisters the slot, so dead threads do not leak. A thread that dies
*inside* a read section (a bug) must not block grace periods forever either, so
``synchronize()`` also treats a slot whose thread is no longer alive as quiescent and
unregisters it.

Simplified or left out
----------------------
* No per-CPU quiescent-state machinery, expedited grace periods, or grace-period
  sharing between concurrent ``synchronize()`` callers: concurrent callers simply run
  one after another.
* One reclaimer thread per domain; it exits after being idle for a second and is
  restarted by the next ``call_rcu()``. Callbacks run in queue order.
* ``rcu_dereference()`` / ``rcu_assign_pointer()`` are plain attribute loads and
  stores here (sequential consistency already gives the ordering they exist for).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import final

from mypy_extensions import mypyc_attr

__all__ = ["RcuDomain", "RcuStatistics"]

_log = logging.getLogger(__name__)

_RECLAIMER_IDLE_S = 1.0
"""The reclaimer thread exits after this long with nothing queued."""

_SPIN_YIELDS = 8
_BACKOFF_START_S = 20e-6
_BACKOFF_MAX_S = 1e-3


@dataclass(frozen=True, slots=True)
class RcuStatistics:
    """A snapshot of an :class:`RcuDomain`'s state (see :meth:`RcuDomain.statistics`).

    ``readers_in_section`` — threads currently inside a read section.
    ``registered_threads`` — threads holding a reader slot (live, or dead and not yet
    reaped). ``grace_periods`` — completed grace periods. ``readers_blocking_gp`` —
    pre-existing readers the grace period in progress is still waiting for (0 when no
    grace period is waiting). ``pending_callbacks`` — callbacks queued by
    ``call_rcu()`` and not yet run. ``callbacks_run`` — callbacks invoked, including
    those that raised; ``callback_errors`` — those that raised, the last one described
    by ``last_callback_error`` (``repr`` of the exception).
    """

    readers_in_section: int
    registered_threads: int
    grace_periods: int
    readers_blocking_gp: int
    pending_callbacks: int
    callbacks_run: int
    callback_errors: int
    last_callback_error: str | None


@final
class _ReaderSlot:
    """One thread's reader state. Written only by its thread; read by writers."""

    __slots__ = ("ctr", "name", "nesting", "thread")

    def __init__(self, thread: threading.Thread) -> None:
        self.ctr = 0
        """0 when quiescent, else the grace-period phase read at the outermost lock."""
        self.nesting = 0
        self.thread = weakref.ref(thread)
        self.name = thread.name

    def thread_alive(self) -> bool:
        thread = self.thread()
        return thread is not None and thread.is_alive()


@final
@mypyc_attr(native_class=False)
class _SlotHandle:
    """Kept in the thread-local; its finaliser unregisters the slot at thread exit.

    Not a native class when compiled (hatch_build.py): the finaliser needs a weak
    reference to it, which mypyc's native classes do not support.
    """

    __slots__ = ("__weakref__", "slot")

    def __init__(self, slot: _ReaderSlot) -> None:
        self.slot = slot


@final
class _ReadSection(AbstractContextManager[None]):
    """The reusable, stateless context manager returned by :meth:`RcuDomain.read_section`."""

    __slots__ = ("_domain",)

    def __init__(self, domain: RcuDomain) -> None:
        self._domain = domain

    def __enter__(self) -> None:
        self._domain.read_lock()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._domain.read_unlock()


_NO_SLOT = _ReaderSlot(threading.main_thread())
"""Stands for "this thread has no slot" in read_unlock (nesting 0, never written)."""


def _unregister(lock: threading.Lock, registry: set[_ReaderSlot], slot: _ReaderSlot) -> None:
    with lock:
        registry.discard(slot)


@final
class RcuDomain:
    """An RCU domain: read sections, ``synchronize()``, ``call_rcu()`` and ``barrier()``.

    Thread-safe. Read sections nest per thread and take no lock. See the module
    docstring for the model and its ordering argument.

    >>> rcu = RcuDomain()
    >>> with rcu.read_section():
    ...     rcu.in_read_section()
    True
    >>> rcu.synchronize()
    >>> rcu.statistics().grace_periods
    1
    """

    def __init__(self) -> None:
        # Grace-period state. ``_gp_ctr`` is written only under ``_gp_lock`` and read
        # by readers with a single load.
        self._gp_lock = threading.Lock()
        self._gp_ctr = 1
        self._grace_periods = 0
        self._readers_blocking_gp = 0
        # Reader slots.
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        self._registry: set[_ReaderSlot] = set()
        # Callbacks. ``_cb_queued``/``_cb_done`` number callbacks in queue order; the
        # reclaimer runs them in that order, so ``_cb_done >= n`` means the first ``n``
        # have all run.
        self._cb_lock = threading.Lock()
        self._cb_work = threading.Condition(self._cb_lock)
        self._cb_progress = threading.Condition(self._cb_lock)
        self._cb_queue: list[Callable[[], object]] = []
        self._cb_queued = 0
        self._cb_done = 0
        self._callback_errors = 0
        self._last_callback_error: str | None = None
        self._reclaimer: threading.Thread | None = None
        self._section = _ReadSection(self)

    # -- read side ---------------------------------------------------------------

    def read_lock(self) -> _ReaderSlot:
        """Enter a read section (``rcu_read_lock()``); nestable.

        Takes no lock: O(1), writes only this thread's slot. The first call in a
        thread registers the thread with the domain (one short lock acquisition).
        Returns the thread's slot, which a hot path may hand back to
        :meth:`read_unlock` to skip its thread-local lookup.
        """
        try:
            slot: _ReaderSlot = self._local.slot
        except AttributeError:
            slot = self._register_current_thread()
        if slot.nesting == 0:
            # One load of the global phase, one store into our slot (see module doc).
            slot.ctr = self._gp_ctr
        slot.nesting += 1
        return slot

    def read_unlock(self, slot: _ReaderSlot | None = None) -> None:
        """Leave a read section (``rcu_read_unlock()``). O(1), takes no lock.

        ``slot``, if given, must be what :meth:`read_lock` returned *in this thread*
        (it saves the thread-local lookup); by default the thread's own slot is used.
        Raises ``RuntimeError`` if this thread is not in a read section.
        """
        if slot is None:
            try:
                slot = self._local.slot
            except AttributeError:
                slot = _NO_SLOT  # never registered: nesting 0, raises below
        nesting = slot.nesting - 1
        if nesting < 0:
            raise RuntimeError("rcu read_unlock() without a matching read_lock()")
        slot.nesting = nesting
        if nesting == 0:
            slot.ctr = 0

    def read_section(self) -> AbstractContextManager[None]:
        """``with rcu.read_section(): ...`` — :meth:`read_lock` then :meth:`read_unlock`.

        The returned object is stateless and reusable (nesting lives in the thread's
        slot), so nested ``with`` blocks work.
        """
        return self._section

    def in_read_section(self) -> bool:
        """Whether the calling thread is inside a read section. O(1)."""
        handle: _SlotHandle | None = getattr(self._local, "handle", None)
        return handle is not None and handle.slot.nesting > 0

    def _register_current_thread(self) -> _ReaderSlot:
        slot = _ReaderSlot(threading.current_thread())
        handle = _SlotHandle(slot)
        finalizer = weakref.finalize(handle, _unregister, self._registry_lock, self._registry, slot)
        finalizer.atexit = False
        with self._registry_lock:
            self._registry.add(slot)
        self._local.handle = handle
        # The slot itself too, so the read side loads it with one thread-local lookup
        # (the handle, dropped with it at thread exit, still owns the finaliser).
        self._local.slot = slot
        return slot

    # -- grace periods -----------------------------------------------------------

    def synchronize(self) -> None:
        """Wait for every read section that started before this call to end.

        ``synchronize_rcu()``. Readers that enter after the call has started are not
        waited for. Concurrent callers are serialised. Cost: O(T) slot loads per poll
        for T registered threads, plus the wait itself (polling with backoff, see the
        module docstring). Raises ``RuntimeError`` inside a read section, where it
        would wait for the caller itself.
        """
        if self.in_read_section():
            raise RuntimeError("synchronize() inside an RCU read-side critical section")
        with self._gp_lock:
            phase = self._gp_ctr + 1
            self._gp_ctr = phase
            with self._registry_lock:
                slots = list(self._registry)
            self._wait_for_readers(slots, phase)
            self._grace_periods += 1

    def _wait_for_readers(self, slots: list[_ReaderSlot], phase: int) -> None:
        """Poll until no slot holds a phase older than ``phase``. Holds ``_gp_lock``."""
        polls = 0
        delay = _BACKOFF_START_S
        while True:
            waiting: list[_ReaderSlot] = []
            for slot in slots:
                ctr = slot.ctr
                if ctr == 0 or ctr >= phase:
                    continue
                if not slot.thread_alive():
                    # The thread died inside a read section: it can read nothing more.
                    _unregister(self._registry_lock, self._registry, slot)
                    continue
                waiting.append(slot)
            self._readers_blocking_gp = len(waiting)
            if not waiting:
                return
            slots = waiting
            polls += 1
            if polls <= _SPIN_YIELDS:
                time.sleep(0)
            else:
                time.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)

    # -- deferred callbacks ------------------------------------------------------

    def call_rcu(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` on the reclaimer thread after a grace period that starts later.

        Never blocks on readers, so it may be called with other locks held and inside
        a read section. O(1); starts the reclaimer thread if it is not running.
        Callbacks run in the order they were queued.
        """
        with self._cb_lock:
            self._cb_queue.append(fn)
            self._cb_queued += 1
            if self._reclaimer is None:
                self._reclaimer = threading.Thread(
                    target=self._reclaimer_main, name="rcu-reclaimer", daemon=True
                )
                self._reclaimer.start()
            else:
                self._cb_work.notify()

    def barrier(self) -> None:
        """Wait until every callback queued before this call has run (``rcu_barrier()``).

        Raises ``RuntimeError`` inside a read section or from a callback, where it
        would wait for itself.
        """
        if self.in_read_section():
            raise RuntimeError("barrier() inside an RCU read-side critical section")
        with self._cb_lock:
            if threading.current_thread() is self._reclaimer:
                raise RuntimeError("barrier() called from an RCU callback")
            target = self._cb_queued
            self._cb_progress.wait_for(lambda: self._cb_done >= target)

    def _reclaimer_main(self) -> None:
        while True:
            with self._cb_lock:
                while not self._cb_queue:
                    if not self._cb_work.wait(_RECLAIMER_IDLE_S) and not self._cb_queue:
                        self._reclaimer = None
                        return
                batch, self._cb_queue = self._cb_queue, []
            self.synchronize()
            for fn in batch:
                error: str | None = None
                try:
                    fn()
                except BaseException as exc:  # the reclaimer must survive any callback
                    _log.exception("RCU callback %r raised", fn)
                    error = repr(exc)
                if self.in_read_section():
                    # A callback left a read section open; the next synchronize() on
                    # this thread would raise. Close it and report the bug.
                    slot: _ReaderSlot = self._local.handle.slot
                    slot.nesting = 0
                    slot.ctr = 0
                    error = f"RCU callback {fn!r} returned inside a read section"
                    _log.error("%s", error)
                with self._cb_lock:
                    self._cb_done += 1
                    if error is not None:
                        self._callback_errors += 1
                        self._last_callback_error = error
            with self._cb_lock:
                self._cb_progress.notify_all()

    # -- introspection -----------------------------------------------------------

    def statistics(self) -> RcuStatistics:
        """A consistent-enough snapshot for tests and metrics. O(T) for T threads.

        Counter fields are read under their locks; reader slots are sampled one by one
        without stopping readers, so ``readers_in_section`` is a moment's view.
        """
        with self._registry_lock:
            slots = list(self._registry)
        with self._cb_lock:
            pending = self._cb_queued - self._cb_done
            run = self._cb_done
            errors = self._callback_errors
            last_error = self._last_callback_error
        return RcuStatistics(
            readers_in_section=sum(1 for slot in slots if slot.ctr != 0),
            registered_threads=len(slots),
            grace_periods=self._grace_periods,
            readers_blocking_gp=self._readers_blocking_gp,
            pending_callbacks=pending,
            callbacks_run=run,
            callback_errors=errors,
            last_callback_error=last_error,
        )
