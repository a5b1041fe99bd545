"""The kernel's ``rw_semaphore``, as used for ``mmap_lock``: a fair queue, not a reader lock.

Design note
===========

Policy modelled (kernel/locking/rwsem.c, 5.3+)
----------------------------------------------
An rwsem is *not* reader-preferring. All waiters share one FIFO queue, and:

* A reader takes the lock at once only if no writer holds it **and the queue is
  empty**. Otherwise it queues — so a queued writer blocks every reader that arrives
  after it, even while the lock is only read-held. This is how one slow
  ``/proc/<pid>/maps`` reader holding ``mmap_lock`` for read stalls every page fault
  that falls back to ``mmap_read_lock()`` behind a queued ``mmap_write_lock()``.
  The trylocks follow the same rule: ``down_read_trylock`` fails while anyone is
  queued, ``down_write_trylock`` succeeds only on a free lock with an empty queue.
* A writer takes the lock at once only if it is free and nobody is queued.
* On release (``rwsem_mark_wake``): if the first waiter is a writer it gets the lock
  once the lock is free; if the first waiter is a reader, *every* queued reader, up to
  ``MAX_READERS_WAKEUP`` (256), is granted the read lock together, skipping over the
  queued writers, which keep their places. The kernel comment calls this "an
  adaptation of the phase-fair R/W locks": in a reader phase all waiting readers go,
  writers go strictly in queue order.
* ``downgrade_write()`` turns the writer into a reader and wakes as above
  (``rwsem_downgrade_wake`` → ``RWSEM_WAKE_READ_OWNED``): if the first waiter is a
  reader, all queued readers join; a writer at the head keeps everyone queued.
* A waiter that gives up (here: a timeout; in the kernel: a fatal signal in the
  ``_killable`` variants) is removed and the queue is re-examined, so readers queued
  behind a departed head writer proceed if the lock is read-held (``out_nolock`` →
  ``rwsem_del_wake_waiter`` / ``rwsem_mark_wake``).
* An incoming waiter that finds the lock not write-held re-runs the wake-up too
  (``rwsem_cond_wake_waiter``, 5.19+), so readers left over by the 256 limit join a
  reader-owned lock as soon as anyone else queues, and otherwise when it is released.

There is no upgrade (mm/mmap_lock.c: ``mmap_upgrade_trylock()`` always fails). Two
readers that both wanted to upgrade would each wait for the other to leave; and
letting one upgrade ahead of queued writers would break the queue order. Code that
needs write mode drops the read lock, takes the write lock and re-validates.

Read locks are not owned (``mmap_read_unlock_non_owner()`` exists), so ``up_read()``
may come from any thread. We still count read holds per thread, for statistics only:
a release is charged to the calling thread if it holds one, else to the oldest holder.

Simplified, and why
-------------------
The kernel hands the lock over *directly* only to readers (``rwsem_mark_wake`` bumps
the reader count for them before waking them). A woken writer must still win a
``cmpxchg`` in ``rwsem_try_write_lock()``; meanwhile optimistic spinners (writers
spinning on a running owner, and in later kernels a reader whose fast path failed but
which finds the lock free and not handed off) may *steal* it. After
``RWSEM_WAIT_TIMEOUT`` (about 4 ms) the first waiter sets the handoff bit, which stops
stealing. We model none of the spinning,
stealing or handoff timing: the releaser grants the lock to the chosen waiter(s)
itself, under the internal lock, so the order of acquisition is exactly the queue
policy above. That keeps tests deterministic and matches what the kernel converges
to under contention, which is what the simulator is used to show.

Implementation: one ``threading.Lock`` protects all state; each queued waiter parks
on its own pre-acquired ``threading.Lock``, which the releaser releases after
granting (a "parking lot" in the style of trio's ``_core/_parking_lot.py``). No busy
waiting. Uncontended operations are O(1); a wake-up that grants readers scans the
queue, O(q); a timeout removes its waiter in O(q).

What the stored kernel source showed (torvalds/linux kernel/locking/rwsem.c, a
5.8-era snapshot, plus later versions and patches in the mailing-list archive):
``MAX_READERS_WAKEUP`` is ``0x100``; the reader wake loop skips writers with
``continue`` rather than stopping at the first one (a reader at the head releases
readers queued *behind* writers); downgrade wakes nothing if the head waiter is a writer;
``__down_read_trylock`` fails on the waiters bit and ``__down_write_trylock`` needs
the count to be exactly 0. A 2023 series ("locking/rwsem: Wake up all readers for
wait queue waker") lifts the 256 limit when the waker is itself queued; we did not
confirm it reached mainline and keep the limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, final

__all__ = ["MAX_READERS_WAKEUP", "RwSemaphore", "RwSemaphoreStatistics"]

MAX_READERS_WAKEUP: Final = 256
"""Readers granted per wake-up (kernel ``MAX_READERS_WAKEUP``, 0x100)."""


@dataclass(frozen=True, slots=True)
class RwSemaphoreStatistics:
    """A snapshot of an :class:`RwSemaphore` (see :meth:`RwSemaphore.statistics`).

    ``readers`` — read holds; ``reader_threads`` — names of the threads the holds are
    charged to, one entry per thread, oldest first; ``writer`` — name of the writing
    thread or ``None``; ``waiting_readers`` / ``waiting_writers`` — queued waiters.
    ``*_acquisitions`` count successful acquisitions (a downgrade is not one);
    ``*_contended`` those that had to queue first; ``*_wait_total_s`` /
    ``*_wait_max_s`` the time contended acquisitions spent queued; ``timeouts`` —
    waits that gave up.
    """

    readers: int
    reader_threads: tuple[str, ...]
    writer: str | None
    waiting_readers: int
    waiting_writers: int
    read_acquisitions: int
    write_acquisitions: int
    read_contended: int
    write_contended: int
    read_wait_total_s: float
    write_wait_total_s: float
    read_wait_max_s: float
    write_wait_max_s: float
    timeouts: int


@final
class _Waiter:
    """A queued thread: what it wants, and the lock it is parked on."""

    __slots__ = ("enqueued_at", "granted", "ident", "name", "parked", "write")

    def __init__(self, write: bool) -> None:
        thread = threading.current_thread()
        self.write = write
        self.ident = threading.get_ident()
        self.name = thread.name
        self.enqueued_at = time.monotonic()
        self.granted = False
        self.parked = threading.Lock()
        self.parked.acquire()


@final
class _HolderCount:
    __slots__ = ("count", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and not timeout >= 0:
        raise ValueError(f"timeout must be >= 0 or None, not {timeout!r}")


@final
class RwSemaphore:
    """A reader/writer semaphore with the kernel's queueing policy (see module docstring).

    Thread-safe. Read holds are not owned by threads; the write hold is.

    >>> sem = RwSemaphore()
    >>> sem.down_read()
    True
    >>> sem.down_write_trylock()
    False
    >>> sem.up_read()
    >>> with sem.write_locked():
    ...     sem.held_by_current_thread_for_write()
    True
    >>> sem.is_locked()
    False
    """

    def __init__(self, *, max_readers_wakeup: int = MAX_READERS_WAKEUP) -> None:
        if max_readers_wakeup < 1:
            raise ValueError(f"max_readers_wakeup must be >= 1, not {max_readers_wakeup}")
        self._max_readers_wakeup = max_readers_wakeup
        self._lock = threading.Lock()
        self._readers = 0
        self._holders: dict[int, _HolderCount] = {}  # thread ident -> read holds
        self._writer_ident: int | None = None
        self._writer_name: str | None = None
        self._queue: deque[_Waiter] = deque()
        self._waiting_readers = 0
        self._waiting_writers = 0
        self._read_acquisitions = 0
        self._write_acquisitions = 0
        self._read_contended = 0
        self._write_contended = 0
        self._read_wait_total = 0.0
        self._write_wait_total = 0.0
        self._read_wait_max = 0.0
        self._write_wait_max = 0.0
        self._timeouts = 0

    # -- read side ---------------------------------------------------------------

    def down_read(self, timeout: float | None = None) -> bool:
        """Take the lock for reading, waiting up to ``timeout`` seconds (None: forever).

        Succeeds at once only if no writer holds the lock and nobody is queued;
        otherwise queues behind every earlier waiter. Returns whether the lock was
        taken. O(1) uncontended. Raises ``RuntimeError`` if the caller holds the write
        lock (that would wait for itself). A thread that already holds a read lock and
        calls this while a writer is queued deadlocks, as in the kernel.
        """
        _check_timeout(timeout)
        with self._lock:
            if self._writer_ident == threading.get_ident():
                raise RuntimeError("down_read() by the thread holding the write lock")
            if self._writer_ident is None and not self._queue:
                self._take_read(threading.get_ident(), threading.current_thread().name)
                return True
            waiter = self._enqueue(write=False)
        return self._park(waiter, timeout)

    def down_read_trylock(self) -> bool:
        """Take the read lock if that needs no wait; never blocks. O(1).

        Fails while a writer holds the lock or anyone is queued (no barging).
        """
        with self._lock:
            if self._writer_ident is None and not self._queue:
                self._take_read(threading.get_ident(), threading.current_thread().name)
                return True
            return False

    def up_read(self) -> None:
        """Release one read hold; any thread may release it. O(1) plus any wake-up.

        When the last reader leaves, the head of the queue is granted the lock.
        Raises ``RuntimeError`` if nobody holds the lock for reading.
        """
        with self._lock:
            if self._readers == 0:
                raise RuntimeError("up_read() on an rw_semaphore with no readers")
            self._readers -= 1
            ident = threading.get_ident()
            if ident not in self._holders:
                ident = next(iter(self._holders))  # non-owner release: charge the oldest
            holder = self._holders[ident]
            holder.count -= 1
            if holder.count == 0:
                del self._holders[ident]
            if self._readers == 0:
                self._wake()

    # -- write side --------------------------------------------------------------

    def down_write(self, timeout: float | None = None) -> bool:
        """Take the lock for writing, waiting up to ``timeout`` seconds (None: forever).

        Succeeds at once only on a free lock with nobody queued; otherwise queues.
        Returns whether the lock was taken. O(1) uncontended. Raises ``RuntimeError``
        if the caller already holds the write lock. A thread holding a read lock that
        calls this waits for itself (there is no upgrade), as in the kernel.
        """
        _check_timeout(timeout)
        with self._lock:
            ident = threading.get_ident()
            if self._writer_ident == ident:
                raise RuntimeError("down_write() by the thread already holding the write lock")
            if self._writer_ident is None and self._readers == 0 and not self._queue:
                self._take_write(ident, threading.current_thread().name)
                return True
            waiter = self._enqueue(write=True)
        return self._park(waiter, timeout)

    def down_write_trylock(self) -> bool:
        """Take the write lock if it is free and nobody is queued; never blocks. O(1)."""
        with self._lock:
            if self._writer_ident is None and self._readers == 0 and not self._queue:
                self._take_write(threading.get_ident(), threading.current_thread().name)
                return True
            return False

    def up_write(self) -> None:
        """Release the write lock and grant it to the head of the queue.

        O(1) if the head is a writer, O(q) if readers are granted. Raises
        ``RuntimeError`` unless the calling thread holds the write lock.
        """
        with self._lock:
            if self._writer_ident != threading.get_ident():
                raise RuntimeError("up_write() by a thread that does not hold the write lock")
            self._writer_ident = None
            self._writer_name = None
            self._wake()

    def downgrade_write(self) -> None:
        """Atomically turn the caller's write hold into a read hold.

        No writer can get in between. If the first waiter is a reader, all queued
        readers (up to the wake-up limit) are granted alongside; queued writers stay
        queued, and a writer at the head keeps the readers behind it queued. O(q).
        Raises ``RuntimeError`` unless the calling thread holds the write lock.
        """
        with self._lock:
            if self._writer_ident != threading.get_ident():
                raise RuntimeError(
                    "downgrade_write() by a thread that does not hold the write lock"
                )
            name = self._writer_name
            assert name is not None
            self._writer_ident = None
            self._writer_name = None
            self._readers += 1
            self._charge_read(threading.get_ident(), name)
            self._wake()

    # -- context managers --------------------------------------------------------

    @contextmanager
    def read_locked(self) -> Iterator[None]:
        """``with sem.read_locked():`` — :meth:`down_read` … :meth:`up_read`."""
        self.down_read()
        try:
            yield
        finally:
            self.up_read()

    @contextmanager
    def write_locked(self) -> Iterator[None]:
        """``with sem.write_locked():`` — :meth:`down_write` … :meth:`up_write`."""
        self.down_write()
        try:
            yield
        finally:
            self.up_write()

    # -- queries -----------------------------------------------------------------

    def is_contended(self) -> bool:
        """Whether anyone is queued (``rwsem_is_contended``). O(1)."""
        with self._lock:
            return bool(self._queue)

    def is_write_locked(self) -> bool:
        """Whether a writer holds the lock. O(1)."""
        with self._lock:
            return self._writer_ident is not None

    def is_locked(self) -> bool:
        """Whether anyone holds the lock, for reading or writing. O(1)."""
        with self._lock:
            return self._writer_ident is not None or self._readers > 0

    def held_by_current_thread_for_write(self) -> bool:
        """Whether the calling thread holds the write lock (``mmap_assert_write_locked``).

        O(1), no lock: only the calling thread can make the answer change.
        """
        return self._writer_ident == threading.get_ident()

    def statistics(self) -> RwSemaphoreStatistics:
        """A consistent snapshot of holders, waiters and counters. O(threads)."""
        with self._lock:
            return RwSemaphoreStatistics(
                readers=self._readers,
                reader_threads=tuple(holder.name for holder in self._holders.values()),
                writer=self._writer_name,
                waiting_readers=self._waiting_readers,
                waiting_writers=self._waiting_writers,
                read_acquisitions=self._read_acquisitions,
                write_acquisitions=self._write_acquisitions,
                read_contended=self._read_contended,
                write_contended=self._write_contended,
                read_wait_total_s=self._read_wait_total,
                write_wait_total_s=self._write_wait_total,
                read_wait_max_s=self._read_wait_max,
                write_wait_max_s=self._write_wait_max,
                timeouts=self._timeouts,
            )

    # -- internals (all but _park/_leave_queue run under self._lock) ---------------

    def _take_read(self, ident: int, name: str) -> None:
        self._readers += 1
        self._read_acquisitions += 1
        self._charge_read(ident, name)

    def _charge_read(self, ident: int, name: str) -> None:
        holder = self._holders.get(ident)
        if holder is None:
            holder = self._holders[ident] = _HolderCount(name)
        holder.count += 1

    def _take_write(self, ident: int, name: str) -> None:
        self._writer_ident = ident
        self._writer_name = name
        self._write_acquisitions += 1

    def _enqueue(self, *, write: bool) -> _Waiter:
        waiter = _Waiter(write)
        self._queue.append(waiter)
        if write:
            self._waiting_writers += 1
        else:
            self._waiting_readers += 1
        if self._writer_ident is None:
            # rwsem_cond_wake_waiter(): the lock is free or read-held, so the head of
            # the queue (possibly this waiter) may be grantable now.
            self._wake()
        return waiter

    def _park(self, waiter: _Waiter, timeout: float | None) -> bool:
        """Block until ``waiter`` is granted or ``timeout`` expires. Not under the lock.

        If the wait is interrupted (``KeyboardInterrupt`` in the main thread), the
        waiter leaves the queue, or hands back a lock granted in the meantime, before
        the exception propagates, so nothing is leaked.
        """
        try:
            if waiter.parked.acquire(timeout=-1 if timeout is None else timeout):
                return True
        except BaseException:
            if self._leave_queue(waiter, timed_out=False):
                if waiter.write:
                    self.up_write()
                else:
                    self.up_read()
            raise
        return self._leave_queue(waiter, timed_out=True)

    def _leave_queue(self, waiter: _Waiter, *, timed_out: bool) -> bool:
        """Take a waiter that gave up out of the queue; True if it was granted first."""
        with self._lock:
            if waiter.granted:  # granted between giving up and taking the lock
                return True
            self._queue.remove(waiter)
            if waiter.write:
                self._waiting_writers -= 1
            else:
                self._waiting_readers -= 1
            if timed_out:
                self._timeouts += 1
            # A departed head writer may unblock the readers queued behind it
            # (rwsem_del_wake_waiter in the kernel's out_nolock path).
            self._wake()
            return False

    def _grant(self, waiter: _Waiter, now: float) -> None:
        waited = now - waiter.enqueued_at
        if waiter.write:
            self._waiting_writers -= 1
            self._take_write(waiter.ident, waiter.name)
            self._write_contended += 1
            self._write_wait_total += waited
            self._write_wait_max = max(self._write_wait_max, waited)
        else:
            self._waiting_readers -= 1
            self._take_read(waiter.ident, waiter.name)
            self._read_contended += 1
            self._read_wait_total += waited
            self._read_wait_max = max(self._read_wait_max, waited)
        waiter.granted = True
        waiter.parked.release()

    def _wake(self) -> None:
        """Grant the lock to whoever the head of the queue allows (``rwsem_mark_wake``).

        Head writer: granted if the lock is free. Head reader: if no writer holds the
        lock, every queued reader up to the wake-up limit is granted, writers keep
        their places. O(1) for a writer, O(q) for readers.
        """
        if not self._queue or self._writer_ident is not None:
            return
        now = time.monotonic()
        head = self._queue[0]
        if head.write:
            if self._readers == 0:
                self._grant(self._queue.popleft(), now)
            return
        remaining: deque[_Waiter] = deque()
        granted = 0
        for waiter in self._queue:
            if waiter.write or granted >= self._max_readers_wakeup:
                remaining.append(waiter)
            else:
                self._grant(waiter, now)
                granted += 1
        self._queue = remaining
