"""``mlock(2)``, ``mlock2``, ``munlock``, ``mlockall``, ``munlockall`` (mm/mlock.c, 6.18).

Locking is a VMA flag: ``VM_LOCKED`` (smaps ``lo``), plus ``VM_LOCKONFAULT`` (``lf``) for
``MLOCK_ONFAULT``/``MCL_ONFAULT``, set on exactly the locked range through
``vma_modify`` (``mlock_fixup``), so a lock splits a VMA and an unlock may merge it back
with its neighbours. ``mm->locked_vm`` (status ``VmLck``) counts the pages of locked
VMAs, ``VM_LOCKONFAULT`` ones included; smaps ``Locked`` is the Pss of the resident
pages of ``VM_LOCKED`` VMAs. Each folio's own mlock state and the vmstat events
``unevictable_pgs_mlocked``/``munlocked`` are :mod:`core.pages`' (``mlock_fixup`` walks
the range's present folios, ``mlock_pte_range``).

``mlock``/``mlock2`` work in three steps, as ``do_mlock`` does:

1. ``can_do_mlock``: EPERM when ``RLIMIT_MEMLOCK`` is 0 and the caller lacks
   CAP_IPC_LOCK.
2. Under ``mmap_lock`` for write: the limit check (pages already locked in the range
   are not counted twice, ``count_mm_mlocked_page_nr``), then ``apply_vma_lock_flags``
   walks the range left to right; a hole ends it with ENOMEM after the VMAs before it
   were changed, and so does a split refused at ``vm.max_map_count``.
3. With the lock dropped, ``__mm_populate`` faults the range in (not for
   ``VM_LOCKONFAULT``); its failure turns into the call's error although the VMAs stay
   locked: ENOMEM for a page that cannot be faulted (a ``PROT_NONE`` VMA, a file page
   beyond EOF), EAGAIN for one that cannot be allocated.

``munlock`` is steps 2 without the limit; ``mlockall`` changes ``mm->def_flags`` for
``MCL_FUTURE`` (every later ``mmap``/``brk`` is locked, :mod:`core.mmap`) and applies
``MCL_CURRENT`` to every VMA, ignoring per-VMA errors, then populates everything.
``VM_SPECIAL`` VMAs (``[vvar]``, ``[vdso]``) are never locked and not counted.

Processes here run as this host's root does: with CAP_IPC_LOCK, so ``RLIMIT_MEMLOCK``
(default 8 MiB, ``ulimit -l``) is reported but not enforced until a test drops the
capability (``Mm.cap_ipc_lock``); see docs/kernel-differences.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    EAGAIN,
    EINVAL,
    ENOMEM,
    EPERM,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    TASK_SIZE,
    U64,
    VM_DROPPABLE,
    VM_LOCKED,
    VM_LOCKED_MASK,
    VM_LOCKONFAULT,
    VM_SPECIAL,
)
from .errors import SyscallError
from .gup import ENOMEM_POPULATE, mm_populate, populate_range
from .pages import MATERIALIZE_MAX_PAGES, materialize, mlock_pte_range, shared_run_spans
from .vma_ops import MergeRange, vma_modify, vma_reset_flags

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "can_do_mlock",
    "do_mlock",
    "do_mlockall",
    "do_munlock",
    "do_munlockall",
    "mlock_fixup",
    "mlock_future_ok",
]


def can_do_mlock(mm: Mm) -> bool:
    """``can_do_mlock``: a non-zero ``RLIMIT_MEMLOCK`` or CAP_IPC_LOCK. O(1)."""
    return mm.rlimit_memlock[0] != 0 or mm.cap_ipc_lock


def mlock_future_ok(mm: Mm, vm_flags: int, nbytes: int) -> bool:
    """``mlock_future_ok``: may ``nbytes`` more of ``vm_flags`` memory be locked?
    (``mmap``/``brk`` under ``MCL_FUTURE``, ``MAP_LOCKED``, ``mremap`` growth.) O(1)."""
    if not vm_flags & VM_LOCKED or mm.cap_ipc_lock:
        return True
    return (nbytes >> PAGE_SHIFT) + mm.locked_vm <= mm.rlimit_memlock[0] >> PAGE_SHIFT


def mlock_fixup(mm: Mm, vma: Vma, prev: Vma | None, start: int, end: int, newflags: int) -> Vma:
    """``mlock_fixup``: give ``[start, end)`` of ``vma`` the lock bits of ``newflags``
    (merge or split via ``vma_modify``), account ``locked_vm``. Returns the VMA now
    covering the range (the next call's ``prev``). Special VMAs are left alone.
    Caller holds ``mmap_lock`` for write. O(log n)."""
    oldflags = vma.vm_flags
    if newflags == oldflags or oldflags & (VM_SPECIAL | VM_DROPPABLE):
        # Don't set VM_LOCKED or VM_LOCKONFAULT and don't count (vma_supports_mlock():
        # neither special nor droppable memory; mlock's populate still faults it in).
        return vma
    if newflags & VM_LOCKED and vma.runs:
        # Runs stay runs when locked (their folios' mlock state is uniform, and the
        # mlock batch takes them arithmetically: core/pages.py mlock_run_folios), but
        # runs fork shared become pages first: their folios' mlock counts differ by mm.
        spans = shared_run_spans(vma, start, end)
        held = sum(b - a for a, b in spans) >> PAGE_SHIFT
        if held > MATERIALIZE_MAX_PAGES:
            raise SyscallError(
                ENOMEM,
                mm.current_syscall,
                f"[{start:#x}, {end:#x}) holds {held} pages in runs; locking takes at most "
                f"{MATERIALIZE_MAX_PAGES} of them page by page",
            )
        with mm.page_lock:
            for a, b in spans:
                materialize(mm, vma, a, b)
    result = vma_modify(
        mm,
        MergeRange(
            start,
            end,
            vma.vm_pgoff + ((start - vma.vm_start) >> PAGE_SHIFT),
            newflags,
            vma.vm_file,
            vma.anon_vma,
            vma.anon_name,
            prev,
            mm.find_vma(vma.vm_end),
            middle=vma,
        ),
    )
    npages = (end - start) >> PAGE_SHIFT
    if not newflags & VM_LOCKED:
        npages = -npages
    elif oldflags & VM_LOCKED:
        npages = 0
    mm.locked_vm += npages
    vma_reset_flags(mm, result, newflags)
    if not (newflags & VM_LOCKED and oldflags & VM_LOCKED):
        # mlock_vma_pages_range(): the present folios are mlocked or munlocked (when
        # both are locked, e.g. adding VM_LOCKONFAULT: "mlocking twice would be wrong").
        mlock_pte_range(mm, result, start, end, bool(newflags & VM_LOCKED))
    return result


def apply_vma_lock_flags(mm: Mm, start: int, length: int, flags: int) -> None:
    """``apply_vma_lock_flags``: set the lock bits of every VMA part in the range, left
    to right. ENOMEM at a hole (earlier VMAs stay changed). Caller holds ``mmap_lock``
    for write; ``start``/``length`` are page aligned. O(k log n)."""
    end = start + length
    if end >= U64:
        raise SyscallError(EINVAL, mm.current_syscall, f"range {start:#x}+{length:#x} wraps")
    if end == start:
        return
    vma = mm.vma_lookup(start)
    if vma is None:
        raise SyscallError(ENOMEM, mm.current_syscall, f"address {start:#x} is not mapped")
    prev = vma if start > vma.vm_start else mm._prev_vma(vma.vm_start)
    nstart = start
    tmp = vma.vm_start
    while True:
        if vma.vm_start != tmp:
            raise SyscallError(ENOMEM, mm.current_syscall, f"hole at {tmp:#x}")
        newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | flags
        prev = mlock_fixup(mm, vma, prev, nstart, min(vma.vm_end, end), newflags)
        # vma_iter_end(): the end of the VMA now covering the range (after a merge
        # with the next VMA, that one is not visited again).
        tmp = nstart = prev.vm_end
        if tmp >= end:
            return
        mm.pause("mlock:between_vmas")
        entry = mm.tree.find(tmp)
        if entry is None or entry[0] >= end:
            raise SyscallError(ENOMEM, mm.current_syscall, f"hole at {tmp:#x}")
        vma = entry[2]


def count_mm_mlocked_page_nr(mm: Mm, start: int, length: int) -> int:
    """``count_mm_mlocked_page_nr``: pages of ``[start, start + length)`` already in
    ``VM_LOCKED`` VMAs. Caller holds ``mmap_lock``. O(k log n)."""
    end = min(start + length, U64 - 1)
    count = 0
    for vma_start, vma_end, vma in mm.tree.iter_from(start):
        if vma_start >= end:
            break
        if vma_end <= start or not vma.vm_flags & VM_LOCKED:
            continue
        if start > vma_start:
            count -= start - vma_start
        if end < vma_end:
            count += end - vma_start
            break
        count += vma_end - vma_start
    return count >> PAGE_SHIFT


def _aligned_length(start: int, length: int) -> int:
    # PAGE_ALIGN(len + offset_in_page(start)) in size_t arithmetic: it may wrap.
    return ((length + (start & ~PAGE_MASK) + PAGE_SIZE - 1) & PAGE_MASK) % U64


def _populate_error(syscall: str, err: int, start: int) -> SyscallError:
    # __mlock_posix_error_return(): -EFAULT -> ENOMEM, -ENOMEM -> EAGAIN.
    if err == ENOMEM_POPULATE:
        return SyscallError(EAGAIN, syscall, f"a page at or after {start:#x} cannot be had")
    return SyscallError(ENOMEM, syscall, f"a page at or after {start:#x} cannot be faulted in")


def do_mlock(mm: Mm, start: int, length: int, flags: int, syscall: str) -> None:
    """``do_mlock`` for ``mlock``/``mlock2`` (``flags``: VM_LOCKED [| VM_LOCKONFAULT]).
    Takes ``mmap_lock`` for write, then for read to populate. O(k log n + pages)."""
    if not can_do_mlock(mm):
        raise SyscallError(EPERM, syscall, "RLIMIT_MEMLOCK is 0 and CAP_IPC_LOCK is missing")
    length = _aligned_length(start, length)
    start &= PAGE_MASK
    lock_limit = mm.rlimit_memlock[0] >> PAGE_SHIFT
    with mm._write_locked(syscall):
        locked = (length >> PAGE_SHIFT) + mm.locked_vm
        if locked > lock_limit and not mm.cap_ipc_lock:
            # Pages of the range locked already are in locked_vm: count them once.
            locked -= count_mm_mlocked_page_nr(mm, start, length)
        if locked > lock_limit and not mm.cap_ipc_lock:
            raise SyscallError(
                ENOMEM,
                syscall,
                f"{locked} locked pages would exceed RLIMIT_MEMLOCK ({lock_limit} pages)",
            )
        apply_vma_lock_flags(mm, start, length, flags)
    err, at = populate_range(mm, start, length)
    if err:
        raise _populate_error(syscall, err, at)


def sys_mlock2_flags(flags: int) -> int:
    """``mlock2``'s ``int flags`` as VMA flags; EINVAL for unknown bits."""
    flags &= 0xFFFFFFFF  # an int argument: the register's low 32 bits
    if flags & ~MLOCK_ONFAULT:
        raise SyscallError(EINVAL, "mlock2", f"unknown flags {flags:#x}")
    return VM_LOCKED | (VM_LOCKONFAULT if flags & MLOCK_ONFAULT else 0)


def do_munlock(mm: Mm, start: int, length: int) -> None:
    """``munlock(2)``: clear the lock bits of the range. Takes ``mmap_lock`` for write.
    O(k log n)."""
    length = _aligned_length(start, length)
    start &= PAGE_MASK
    with mm._write_locked("munlock"):
        apply_vma_lock_flags(mm, start, length, 0)


def _apply_mlockall_flags(mm: Mm, flags: int) -> None:
    # apply_mlockall_flags(): mm->def_flags for MCL_FUTURE, every VMA for MCL_CURRENT.
    mm.def_flags &= ~VM_LOCKED_MASK
    if flags & MCL_FUTURE:
        mm.def_flags |= VM_LOCKED
        if flags & MCL_ONFAULT:
            mm.def_flags |= VM_LOCKONFAULT
        if not flags & MCL_CURRENT:
            return
    to_add = 0
    if flags & MCL_CURRENT:
        to_add = VM_LOCKED | (VM_LOCKONFAULT if flags & MCL_ONFAULT else 0)
    prev: Vma | None = None
    pos = 0
    while True:
        entry = mm.tree.find(pos)
        if entry is None:
            return
        vma = entry[2]
        newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | to_add
        try:
            prev = mlock_fixup(mm, vma, prev, vma.vm_start, vma.vm_end, newflags)
        except SyscallError:
            prev = vma  # errors are ignored, but prev needs fixing up
        pos = prev.vm_end


def do_mlockall(mm: Mm, flags: int) -> None:
    """``mlockall(2)``. EINVAL for no flag, unknown flags or ``MCL_ONFAULT`` alone;
    EPERM as ``mlock``; ENOMEM when ``MCL_CURRENT`` would lock more than
    ``RLIMIT_MEMLOCK`` (``total_vm``) without CAP_IPC_LOCK. Takes ``mmap_lock`` for
    write, then populates everything (errors ignored). O(n log n + pages)."""
    flags &= 0xFFFFFFFF  # an int argument
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        raise SyscallError(EINVAL, "mlockall", f"invalid flags {flags:#x}")
    if not can_do_mlock(mm):
        raise SyscallError(EPERM, "mlockall", "RLIMIT_MEMLOCK is 0 and CAP_IPC_LOCK is missing")
    lock_limit = mm.rlimit_memlock[0] >> PAGE_SHIFT
    with mm._write_locked("mlockall"):
        if flags & MCL_CURRENT and mm.total_vm > lock_limit and not mm.cap_ipc_lock:
            raise SyscallError(
                ENOMEM,
                "mlockall",
                f"total_vm {mm.total_vm} pages exceeds RLIMIT_MEMLOCK ({lock_limit} pages)",
            )
        _apply_mlockall_flags(mm, flags)
    if flags & MCL_CURRENT:
        mm_populate(mm, 0, TASK_SIZE)


def do_munlockall(mm: Mm) -> None:
    """``munlockall(2)``: clear ``MCL_FUTURE`` and unlock every VMA. Takes ``mmap_lock``
    for write. O(n log n)."""
    with mm._write_locked("munlockall"):
        _apply_mlockall_flags(mm, 0)
