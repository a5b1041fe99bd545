"""``mprotect(2)`` (mm/mprotect.c): change the protection of a range, VMA by VMA.

``do_mprotect_pkey`` validates the arguments in the kernel's order, takes ``mmap_lock``
for write and walks the VMAs of the range left to right; ``mprotect_fixup`` applies the
new flags to one VMA's part of the range through ``vma_modify`` (mm/vma.c), which
merges it with a neighbour or splits it. A hole ends the walk with ENOMEM after the
VMAs before it were changed (the kernel's partial effect), and so do a sealed VMA
(EPERM, :mod:`core.mseal`) and a commit charge the overcommit policy refuses (ENOMEM,
:mod:`core.overcommit`). Gaining write access charges the VMA's commit
(``VM_ACCOUNT``); an unfaulted anonymous VMA made read-only gives it back.

A writer pause point, ``mprotect:between_vmas``, sits between two VMAs of the walk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    EACCES,
    EINVAL,
    ENOMEM,
    EPERM,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_READ,
    PROT_SEM,
    PROT_WRITE,
    U64,
    VM_ACCESS_FLAGS,
    VM_ACCOUNT,
    VM_GROWSDOWN,
    VM_LOCKED,
    VM_NORESERVE,
    VM_SHARED,
    VM_WRITE,
)
from .errors import SyscallError
from .gup import populate_vma_page_range
from .mman import calc_vm_prot_bits
from .mseal import can_modify_vma
from .vma_ops import MergeRange, vma_modify, vma_reset_flags

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = ["do_mprotect_pkey", "mprotect_fixup"]


def do_mprotect_pkey(mm: Mm, start: int, length: int, prot: int) -> None:
    """``do_mprotect_pkey`` (without a key): validate, then apply ``prot`` left to right
    under ``mmap_lock`` for write. Arguments are already unsigned 64-bit values. A
    failure part-way leaves earlier VMAs changed, as in the kernel. O(k log n) for k
    VMAs in the range."""
    grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
    prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP)
    if grows == PROT_GROWSDOWN | PROT_GROWSUP:
        raise SyscallError(EINVAL, "mprotect", "PROT_GROWSDOWN and PROT_GROWSUP together")
    if start & ~PAGE_MASK:
        raise SyscallError(EINVAL, "mprotect", f"address {start:#x} is not page aligned")
    if length == 0:
        return
    length = (length + PAGE_SIZE - 1) & PAGE_MASK
    end = start + length
    if length == 0 or end >= U64:
        raise SyscallError(ENOMEM, "mprotect", f"range {start:#x}+{length:#x} wraps")
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM):
        raise SyscallError(EINVAL, "mprotect", f"unknown protection bits in {prot:#x}")
    if grows & PROT_GROWSUP:
        raise SyscallError(EINVAL, "mprotect", "PROT_GROWSUP on x86")
    with mm._write_locked("mprotect"):
        _mprotect_range(mm, start, end, prot, grows)


def _mprotect_range(mm: Mm, start: int, end: int, prot: int, grows: int) -> None:
    # do_mprotect_pkey() once the lock is held: the loop over the VMAs of the range.
    first = mm.tree.find_intersection(start, end)
    if first is None:
        raise SyscallError(ENOMEM, "mprotect", f"no mapping in [{start:#x}, {end:#x})")
    vma = first[2]
    if grows & PROT_GROWSDOWN:
        start = vma.vm_start
        if not vma.vm_flags & VM_GROWSDOWN:
            raise SyscallError(EINVAL, "mprotect", "PROT_GROWSDOWN on a non-growsdown VMA")
    elif vma.vm_start > start:
        raise SyscallError(ENOMEM, "mprotect", f"address {start:#x} is not mapped")
    prev = vma if start > vma.vm_start else mm._prev_vma(vma.vm_start)
    tmp = vma.vm_start
    nstart = start
    first_iter = True
    while True:
        if first_iter:
            cur: Vma | None = vma
            first_iter = False
        else:
            entry = mm.tree.find(tmp)
            cur = entry[2] if entry is not None and entry[0] < end else None
        if cur is None:
            break
        if cur.vm_start != tmp:
            raise SyscallError(ENOMEM, "mprotect", f"hole at {tmp:#x}")
        newflags = calc_vm_prot_bits(prot) | (cur.vm_flags & ~VM_ACCESS_FLAGS)
        if (newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS:
            raise SyscallError(
                EACCES,
                "mprotect",
                f"VMA at {cur.vm_start:#x} may not gain the requested permissions",
            )
        prev = mprotect_fixup(mm, cur, prev, nstart, min(cur.vm_end, end), newflags)
        tmp = prev.vm_end
        nstart = tmp
        if tmp >= end:
            break
        mm.pause("mprotect:between_vmas")
    if tmp < end:
        raise SyscallError(ENOMEM, "mprotect", f"hole at {tmp:#x}")


def mprotect_fixup(mm: Mm, vma: Vma, prev: Vma | None, start: int, end: int, newflags: int) -> Vma:
    """``mprotect_fixup``: apply ``newflags`` to ``[start, end)`` of ``vma`` (merge or
    split via ``vma_modify``). Returns the VMA now covering the range (the kernel's
    ``*pprev``; the loop resumes at its end). Caller holds ``mmap_lock`` for write.

    A sealed VMA refuses with EPERM before anything else, even when nothing would
    change. Making unaccounted private memory writable charges the commit (ENOMEM if
    the overcommit policy refuses); an unfaulted anonymous VMA made read-only gives its
    charge back. A private locked VMA made writable is faulted in to break COW now.
    """
    if not can_modify_vma(vma):
        raise SyscallError(
            EPERM, "mprotect", f"VMA {vma.vm_start:#x}-{vma.vm_end:#x} is sealed (mseal)"
        )
    oldflags = vma.vm_flags
    if newflags == oldflags:
        return vma
    npages = (end - start) >> PAGE_SHIFT
    commit = mm.kernel.commit
    charged = 0
    if newflags & VM_WRITE:
        if not oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE):
            charged = npages
            if not commit.enough_memory(mm, charged):
                raise SyscallError(
                    ENOMEM,
                    "mprotect",
                    f"the overcommit policy refuses {charged} pages at {start:#x}",
                )
            newflags |= VM_ACCOUNT
    elif oldflags & VM_ACCOUNT and vma.is_anonymous() and vma.anon_vma is None:
        # An unfaulted anonymous VMA can give its commit charge back.
        newflags &= ~VM_ACCOUNT
    pgoff = vma.vm_pgoff + ((start - vma.vm_start) >> PAGE_SHIFT)
    nxt = mm.find_vma(vma.vm_end)
    try:
        result = vma_modify(
            mm,
            MergeRange(
                start,
                end,
                pgoff,
                newflags,
                vma.vm_file,
                vma.anon_vma,
                vma.anon_name,
                prev,
                nxt,
                middle=vma,
            ),
        )
    except SyscallError:
        commit.unacct(charged)
        raise
    if oldflags & VM_ACCOUNT and not newflags & VM_ACCOUNT:
        commit.unacct(npages)
    mm.vm_stat_account(oldflags, -npages)
    mm.vm_stat_account(newflags, npages)
    vma_reset_flags(mm, result, newflags)
    if oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED) == VM_LOCKED and newflags & VM_WRITE:
        # Private VM_LOCKED VMA becoming writable: trigger COW to avoid a major fault
        # on access (populate_vma_page_range under mmap_lock for write).
        populate_vma_page_range(mm, result, start, end)
    return result
