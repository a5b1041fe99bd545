"""Per-VMA locks, 6.15+ refcount era (mm/mmap_lock.c, include/linux/mmap_lock.h).

Each VMA carries ``vm_refcnt`` and ``vm_lock_seq`` (include/linux/mmap_lock.h,
mm/mmap_lock.c, Documentation/mm/process_addrs.rst):

* ``vm_refcnt == 0``: detached (not in the tree, or being removed); ``1``: attached, no
  readers; ``1 + n``: n readers; ``+ VMA_LOCK_OFFSET``: a writer excludes new readers
  while it waits for the present ones to drain.
* A VMA is write-locked while ``vm_lock_seq == mm.mmap_lock.seq`` (an odd value, only
  reachable under ``mmap_lock`` for write). No ``vma_end_write`` exists: every write lock
  of a cycle ends at once when ``mmap_write_unlock`` bumps the count.

The kernel changes ``vm_refcnt`` with atomic instructions (``refcount_inc_not_zero_limited``,
``refcount_add_not_zero``). Python has no compare-and-swap, so each such instruction is
emulated by holding the mm's ``vma_atomic`` lock for the few bytecodes of the operation;
nothing ever blocks while holding it except the writer's wait, which releases it
(``mm->vma_writer_wait`` is a condition variable over the same lock).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Final

from .vma import check_live

if TYPE_CHECKING:
    from collections.abc import Callable

    from .mmap_lock import MmapLock
    from .vma import Vma

VMA_LOCK_OFFSET: Final = 0x40000000
VMA_REF_LIMIT: Final = VMA_LOCK_OFFSET - 1


class ReadLockFailure(Enum):
    """Why ``vma_start_read`` failed (mm/mmap_lock.c)."""

    WRITE_LOCKED = "write-locked in the current cycle"  # seq pre-check or re-check
    DETACHED = "detached (replaced)"  # refcount was 0: -EAGAIN
    WRITER_WAITING = "a writer is excluding readers"  # refcount over the limit
    FOREIGN_MM = "recycled into another mm"


def is_vma_writer_only(cnt: int) -> bool:
    """``is_vma_writer_only``: only the excluding writer (and maybe the attach ref) left."""
    return bool(cnt & VMA_LOCK_OFFSET) and cnt <= VMA_LOCK_OFFSET + 1


def vma_start_read(lock: MmapLock, vma: Vma, mm: object) -> ReadLockFailure | None:
    """``vma_start_read``: try to read-lock ``vma`` found by an RCU walk. Never blocks.

    Returns None on success (the caller now holds a reference it must drop with
    :func:`vma_end_read`), else the reason. DETACHED corresponds to the kernel's
    ``-EAGAIN`` (the caller retries the walk: VMA_LOCK_MISS); every other failure is NULL
    (the caller falls back to ``mmap_lock``: VMA_LOCK_ABORT). False "locked" results are
    allowed, false "unlocked" ones are impossible. O(1).
    """
    # A correct RCU reader never finds a freed VMA (core/vma.py: the use-after-free
    # detector).
    if vma.freed:
        check_live(vma, "vma_start_read")
    # 1. Lockless pessimistic check: write-locked in the current cycle.
    if vma.vm_lock_seq == lock.seq:
        return ReadLockFailure.WRITE_LOCKED
    # 2. refcount_inc_not_zero_limited(&vma->vm_refcnt, VMA_REF_LIMIT), ACQUIRE.
    #    Explicit acquire/release rather than ``with``: same critical section, but
    #    CPython 3.11's ``with`` on a lock costs ~2.5x more (the fault fast path).
    atomic = lock.vma_atomic
    atomic.acquire()
    try:
        old = vma.vm_refcnt
        if old == 0:
            return ReadLockFailure.DETACHED
        if old >= VMA_REF_LIMIT:  # old + 1 > VMA_REF_LIMIT
            return ReadLockFailure.WRITER_WAITING
        vma.vm_refcnt = old + 1
    finally:
        atomic.release()
    # 3. The object may have been recycled into another mm (SLAB_TYPESAFE_BY_RCU).
    if vma.vm_mm is not mm:
        vma_end_read(lock, vma)
        return ReadLockFailure.FOREIGN_MM
    # 4. Re-check the sequence after taking the reference (pairs with the RELEASE in
    #    vma_end_write_all): a writer may have locked it between steps 1 and 2.
    if vma.vm_lock_seq == lock.seq:
        vma_end_read(lock, vma)
        return ReadLockFailure.WRITE_LOCKED
    return None


def vma_start_read_locked(lock: MmapLock, vma: Vma) -> bool:
    """``vma_start_read_locked``: caller holds ``mmap_lock`` for read, so no writer can
    exist; fails only on reference overflow. O(1)."""
    with lock.vma_atomic:
        old = vma.vm_refcnt
        if old == 0 or old + 1 > VMA_REF_LIMIT:
            return False
        vma.vm_refcnt = old + 1
    return True


def vma_end_read(lock: MmapLock, vma: Vma) -> None:
    """``vma_end_read``: drop the reference; wake a writer waiting for the last reader.

    O(1). Caller holds a read reference from :func:`vma_start_read` (or
    :func:`vma_start_read_locked`) and no ``vma_atomic``."""
    atomic = lock.vma_atomic
    atomic.acquire()  # explicit, not ``with``: see vma_start_read
    try:
        cnt = vma.vm_refcnt - 1
        if cnt < 0:
            raise RuntimeError(f"vma_end_read on an unlocked VMA {vma!r}")
        vma.vm_refcnt = cnt
        # The offset bit is set only while a writer waits: test it before the call.
        if cnt & VMA_LOCK_OFFSET and is_vma_writer_only(cnt):
            lock.vma_writer_wait.notify_all()
    finally:
        atomic.release()


def is_vma_write_locked(lock: MmapLock, vma: Vma) -> bool:
    """``__is_vma_write_locked``: locked in the current write cycle."""
    return vma.vm_lock_seq == lock.seq and bool(lock.seq & 1)


def _writer_wait(lock: MmapLock, predicate: Callable[[], bool]) -> None:
    # rcuwait_wait_event(&mm->vma_writer_wait, ...): caller holds vma_atomic. An
    # experiment's lock observer (core/hooks.py) records the wait.
    observer = lock.observer
    if observer is None:
        lock.vma_writer_wait.wait_for(predicate)
    else:
        observer.vma_writer_wait(lock.vma_writer_wait, predicate)


def vma_start_write(lock: MmapLock, vma: Vma) -> None:
    """``vma_start_write``: exclude readers from ``vma`` until ``mmap_write_unlock``.

    Caller must hold ``mmap_lock`` for write. Idempotent within one write cycle. Waits
    (uninterruptibly, like the kernel) for current readers to drain. O(1) plus the wait.
    """
    seq = lock.seq
    if vma.vm_lock_seq == seq:
        return
    with lock.vma_atomic:
        # __vma_enter_locked(): refcount_add_not_zero(VMA_LOCK_OFFSET)
        attached = vma.vm_refcnt != 0
        if attached:
            vma.vm_refcnt += VMA_LOCK_OFFSET
            # Readers hold the VMA only briefly: test before building the wait's
            # predicate (an mprotect write-locks up to five VMAs; nothing is waited on
            # and the observers record no wait when the predicate already holds).
            if vma.vm_refcnt != VMA_LOCK_OFFSET + 1:
                _writer_wait(lock, lambda: vma.vm_refcnt == VMA_LOCK_OFFSET + 1)
        vma.vm_lock_seq = seq
        if attached:
            vma.vm_refcnt -= VMA_LOCK_OFFSET  # __vma_exit_locked()


def vma_mark_attached(lock: MmapLock, vma: Vma) -> None:
    """``vma_mark_attached``: the VMA becomes lockable by readers (refcount 0 -> 1).

    Caller has write-locked the detached VMA and is storing it into the tree.
    """
    with lock.vma_atomic:
        if vma.vm_refcnt != 0:
            raise RuntimeError(f"vma_mark_attached on an attached VMA {vma!r}")
        vma.vm_refcnt = 1


def vma_mark_detached(lock: MmapLock, vma: Vma) -> None:
    """``vma_mark_detached``: refcount 1 -> 0, waiting out transient readers.

    Caller has write-locked the VMA. Afterwards every ``vma_start_read`` returns DETACHED.
    """
    with lock.vma_atomic:
        cnt = vma.vm_refcnt - 1
        if cnt < 0:
            raise RuntimeError(f"vma_mark_detached on a detached VMA {vma!r}")
        vma.vm_refcnt = cnt
        if cnt != 0:
            # A reader bumped the count before it noticed the write lock; it will drop
            # it at once. __vma_enter_locked(detaching=true) waits for that.
            vma.vm_refcnt += VMA_LOCK_OFFSET
            _writer_wait(lock, lambda: vma.vm_refcnt == VMA_LOCK_OFFSET)
            vma.vm_refcnt -= VMA_LOCK_OFFSET
