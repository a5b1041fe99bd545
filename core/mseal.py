"""``mseal(2)``: sealing VMAs against change (mm/mseal.c, 6.18).

A sealed VMA carries ``VM_SEALED`` (smaps ``sl``) until it is unmapped by exit: the
calls that would change or remove it refuse with EPERM, each where the kernel checks
(``vma_is_sealed``/``can_modify_vma`` in mm/vma.h):

* ``munmap``, ``mmap(MAP_FIXED)`` over it, ``brk`` shrinking it and ``mremap``'s unmap
  of a destination: ``vms_gather_munmap_vmas`` (:func:`core.vma_ops.gather_munmap_vmas`)
  checks the first VMA before splitting it and each VMA of the range before detaching
  it; a refusal re-attaches what was detached, but a split already made stays.
* ``mprotect``: ``mprotect_fixup``, per VMA, before the "nothing changes" shortcut
  (sealed VMAs refuse even a no-op protection change; earlier VMAs stay changed).
* ``mremap``: ``check_prep_vma`` refuses a sealed source (each VMA of a multi-VMA
  move, so earlier ones are already moved).
* ``madvise``: only the advice that discards data, and only on anonymous memory the
  caller could not write anyway (:func:`can_modify_vma_madvise`, mirroring
  ``can_madvise_modify`` in mm/madvise.c).

``mlock``, ``munlock``, ``prctl(PR_SET_VMA)`` and fork are not restricted. Sealing
itself goes through ``vma_modify`` like any flag change: it splits a VMA at the range's
edges and merges with sealed neighbours of identical flags. It refuses with ENOMEM any
range with a hole (checked before anything changes) and EINVAL for flags, an unaligned
start or a wrapping length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    EINVAL,
    ENOMEM,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_GUARD_INSTALL,
    MADV_REMOVE,
    MADV_WIPEONFORK,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    U64,
    VM_SEALED,
    VM_WRITE,
)
from .errors import SyscallError
from .vma_ops import MergeRange, vma_modify, vma_reset_flags

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = ["can_modify_vma", "can_modify_vma_madvise", "do_mseal", "is_madv_discard"]

# The advice that discards mapped data (``is_discard`` in mm/madvise.c).
_DISCARD = frozenset(
    {
        MADV_FREE,
        MADV_DONTNEED,
        MADV_DONTNEED_LOCKED,
        MADV_REMOVE,
        MADV_DONTFORK,
        MADV_WIPEONFORK,
        MADV_GUARD_INSTALL,
    }
)


def can_modify_vma(vma: Vma) -> bool:
    """``can_modify_vma``: False for a sealed VMA. O(1)."""
    return not vma.vm_flags & VM_SEALED


def is_madv_discard(advice: int) -> bool:
    """``is_discard`` (mm/madvise.c): does the advice discard mapped data?"""
    return advice in _DISCARD


def can_modify_vma_madvise(vma: Vma, advice: int) -> bool:
    """``can_madvise_modify``: may ``advice`` be applied to ``vma``? Only discarding
    advice on a sealed anonymous VMA without write permission is refused (EPERM); all
    file-backed and shmem mappings are permitted. O(1)."""
    if not vma.vm_flags & VM_SEALED or not is_madv_discard(advice):
        return True
    if not vma.is_anonymous():
        return True
    return bool(vma.vm_flags & VM_WRITE)


def _range_contains_unmapped(mm: Mm, start: int, end: int) -> bool:
    # range_contains_unmapped(): a gap before, between or after the VMAs of the range.
    prev_end = start
    for vma_start, vma_end, _ in mm.tree.iter_from(start):
        if vma_start >= end:
            break
        if vma_start > prev_end:
            return True
        prev_end = vma_end
    return prev_end < end


def _mseal_apply(mm: Mm, start: int, end: int) -> None:
    # mseal_apply(): every VMA part of the range gains VM_SEALED through vma_modify.
    vma = mm.vma_lookup(start)
    assert vma is not None  # no gaps: checked first
    prev = vma if start > vma.vm_start else mm._prev_vma(vma.vm_start)
    pos = start
    while pos < end:
        entry = mm.tree.find(pos)
        if entry is None or entry[0] >= end:
            return
        vma = entry[2]
        curr_start = max(vma.vm_start, start)
        curr_end = min(vma.vm_end, end)
        if not vma.vm_flags & VM_SEALED:
            newflags = vma.vm_flags | VM_SEALED
            vma = vma_modify(
                mm,
                MergeRange(
                    curr_start,
                    curr_end,
                    vma.vm_pgoff + ((curr_start - vma.vm_start) >> PAGE_SHIFT),
                    newflags,
                    vma.vm_file,
                    vma.anon_vma,
                    vma.anon_name,
                    prev,
                    mm.find_vma(vma.vm_end),
                    middle=vma,
                ),
            )
            vma_reset_flags(mm, vma, newflags)
        prev = vma
        pos = vma.vm_end
        if pos < end:
            mm.pause("mseal:between_vmas")


def do_mseal(mm: Mm, start: int, length: int, flags: int) -> None:
    """``do_mseal``: seal ``[start, start + length)``. EINVAL for flags, an unaligned
    start or a wrapping length; ENOMEM (nothing changed) if any part is unmapped; a
    split refused at ``vm.max_map_count`` is ENOMEM too, with earlier VMAs sealed.
    Takes ``mmap_lock`` for write. O(k log n)."""
    if flags:
        raise SyscallError(EINVAL, "mseal", f"flags {flags:#x} are reserved (must be 0)")
    if start & ~PAGE_MASK:
        raise SyscallError(EINVAL, "mseal", f"address {start:#x} is not page aligned")
    aligned = ((length + PAGE_SIZE - 1) & PAGE_MASK) % U64
    if length and not aligned:
        raise SyscallError(EINVAL, "mseal", f"length {length:#x} wraps when page aligned")
    end = start + aligned
    if end >= U64:
        raise SyscallError(EINVAL, "mseal", f"range {start:#x}+{aligned:#x} wraps")
    if end == start:
        return
    with mm._write_locked("mseal"):
        if _range_contains_unmapped(mm, start, end):
            raise SyscallError(ENOMEM, "mseal", f"[{start:#x}, {end:#x}) is not all mapped")
        _mseal_apply(mm, start, end)
