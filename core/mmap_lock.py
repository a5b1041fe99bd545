"""``mm->mmap_lock`` and ``mm->mm_lock_seq`` (include/linux/mmap_lock.h, mm/mmap_lock.c).

The lock is a kernel-style reader-writer semaphore (:class:`~core.rwsem.RwSemaphore`:
FIFO queueing, so a waiting writer blocks readers that arrive after it). Around it sits
the 6.14+ sequence count (include/linux/mmap_lock.h, ``mm_lock_seqcount_begin``/``_end``):

* ``write_lock()``: ``down_write`` then ``seq += 1`` (odd: write-locked).
* ``write_unlock()`` / ``write_downgrade()``: ``seq += 1`` (even) *before* releasing or
  downgrading. This one increment also releases every VMA write lock taken in the cycle,
  because a VMA is write-locked exactly while ``vm_lock_seq == seq``
  (``vma_end_write_all``).
* Read locking never touches the count.

``speculate_try_begin()`` / ``speculate_retry()`` are the lockless-reader API
(``mmap_lock_speculate_try_begin`` / ``_retry``, 6.14+): a reader that saw an
even count at the start and the same count at the end knows no write-lock cycle
happened in between.

Memory ordering: ``seq`` is a single int attribute; the writer stores it while holding
the rwsem for write, readers load it with one attribute read. CPython interleaves whole
bytecodes, which gives sequential consistency for these loads and stores; the kernel
needs RELEASE/ACQUIRE pairs for the same argument.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .rwsem import RwSemaphore, RwSemaphoreStatistics

if TYPE_CHECKING:
    from .hooks import LockObserver

SEQ_MASK: Final = 0xFFFFFFFF  # the kernel's count is an unsigned 32-bit value and may wrap


@dataclass(frozen=True)
class MmapLockStatistics:
    """A snapshot of one mm's lock state (``MmapLock.statistics()``)."""

    seq: int
    write_locked: bool
    rwsem: RwSemaphoreStatistics
    write_cycles: int


class MmapLock:
    """``mmap_lock`` plus ``mm_lock_seq``. There is no upgrade: take the write lock anew."""

    def __init__(self, name: str = "mmap_lock") -> None:
        self.sem = RwSemaphore()
        self.name = name
        self.seq = 0
        self._write_cycles = 0  # written only under the write lock
        # Hook run right after the count becomes odd (pause points; issue 4).
        self.on_write_locked: Callable[[], None] | None = None
        # Hook run by the writer just before the count becomes even again (unlock or
        # downgrade): the mm's generation number and test recorders (issue 4).
        self.on_write_unlocking: Callable[[], None] | None = None
        # Atomic-op emulation for vm_refcnt and the writer wait queue of the per-VMA
        # locks (mm->vma_writer_wait). Held only for a few bytecodes.
        self.vma_atomic = threading.Lock()
        self.vma_writer_wait = threading.Condition(self.vma_atomic)
        #: An experiment's observer of waits (core/hooks.py); None: unobserved.
        self.observer: LockObserver | None = None

    # -- read side ------------------------------------------------------------------------

    def read_lock(self, timeout: float | None = None) -> bool:
        """``mmap_read_lock``: block until shared. Queues behind a waiting writer."""
        observer = self.observer
        if observer is None:
            return self.sem.down_read(timeout)
        if self.sem.down_read_trylock():
            observer.acquired(self, "read")
            return True
        return observer.contended(self, "read", self.sem.down_read, timeout)

    def read_trylock(self) -> bool:
        """``mmap_read_trylock``: never blocks; fails while a writer holds or waits."""
        return self.sem.down_read_trylock()

    def read_unlock(self) -> None:
        """``mmap_read_unlock`` (also valid for a lock taken by another thread)."""
        self.sem.up_read()

    # -- write side -----------------------------------------------------------------------

    def write_lock(self, timeout: float | None = None) -> bool:
        """``mmap_write_lock``: exclusive, then the count becomes odd."""
        observer = self.observer
        if observer is None:
            if not self.sem.down_write(timeout):
                return False
        elif self.sem.down_write_trylock():
            observer.acquired(self, "write")
        elif not observer.contended(self, "write", self.sem.down_write, timeout):
            return False
        self._begin_write()
        return True

    def write_trylock(self) -> bool:
        """``mmap_write_trylock`` (older kernels): never blocks."""
        if not self.sem.down_write_trylock():
            return False
        self._begin_write()
        return True

    def _begin_write(self) -> None:
        # mm_lock_seqcount_begin()
        self.seq = (self.seq + 1) & SEQ_MASK
        self._write_cycles += 1
        hook = self.on_write_locked
        if hook is not None:
            hook()

    def write_unlock(self) -> None:
        """``mmap_write_unlock``: even count (releasing all VMA write locks), then release."""
        self._check_writer("write_unlock")
        hook = self.on_write_unlocking
        if hook is not None:
            hook()
        self.seq = (self.seq + 1) & SEQ_MASK  # vma_end_write_all()
        self.sem.up_write()

    def write_downgrade(self) -> None:
        """``mmap_write_downgrade``: even count, then become a reader atomically."""
        self._check_writer("write_downgrade")
        hook = self.on_write_unlocking
        if hook is not None:
            hook()
        self.seq = (self.seq + 1) & SEQ_MASK  # vma_end_write_all()
        self.sem.downgrade_write()

    def _check_writer(self, what: str) -> None:
        if not self.sem.held_by_current_thread_for_write():
            raise RuntimeError(f"mmap_{what} without holding mmap_lock for write")

    # -- assertions -----------------------------------------------------------------------

    def is_write_locked(self) -> bool:
        """True while some thread holds the lock for write (the count is odd)."""
        return bool(self.seq & 1)

    def assert_write_locked(self) -> None:
        """``mmap_assert_write_locked``: the current thread must hold it for write."""
        if not self.sem.held_by_current_thread_for_write():
            raise AssertionError("mmap_lock is not held for write by this thread")

    def assert_locked(self) -> None:
        """``mmap_assert_locked``: held in some mode (read locks are not owned)."""
        if not self.sem.is_locked():
            raise AssertionError("mmap_lock is not held")

    def is_contended(self) -> bool:
        """``mmap_lock_is_contended``: somebody is waiting."""
        return self.sem.is_contended()

    # -- speculation ----------------------------------------------------------------------

    def speculate_try_begin(self) -> tuple[bool, int]:
        """``mmap_lock_speculate_try_begin``: ``(False, seq)`` if write-locked right now.

        O(1), takes no lock. Always succeeds while the caller holds the read lock.
        """
        seq = self.seq
        return (not seq & 1), seq

    def speculate_retry(self, seq: int) -> bool:
        """``mmap_lock_speculate_retry``: True if any write-lock cycle began since ``seq``."""
        return self.seq != seq

    def statistics(self) -> MmapLockStatistics:
        """Counts and the rwsem's own statistics. O(holders + waiters)."""
        return MmapLockStatistics(
            seq=self.seq,
            write_locked=self.is_write_locked(),
            rwsem=self.sem.statistics(),
            write_cycles=self._write_cycles,
        )
