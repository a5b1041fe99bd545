"""``mmap(2)`` once ``mmap_lock`` is held for write (mm/mmap.c ``do_mmap``, mm/vma.c
``__mmap_region``).

``do_mmap`` validates in the kernel's order (length, ``MAP_FIXED_NOREPLACE``, the hint,
page alignment, offset overflow, ``max_map_count``), computes the VMA flags, picks the
address (:mod:`core.unmapped_area`) and checks the file's access mode and
``MAP_SHARED_VALIDATE`` flags. ``mmap_region`` then replaces whatever ``MAP_FIXED``
covers without a visible hole (6.12+: the old VMAs are gathered, the new one is stored
over them, then they are completed), merges the new range with a neighbour when the
merge rules allow, or stores a new VMA. A writer pause point, ``mmap:after_gather``,
sits after the gather.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .abi import page_align
from .constants import (
    EACCES,
    EEXIST,
    EINVAL,
    ENOMEM,
    EOPNOTSUPP,
    EOVERFLOW,
    LEGACY_MAP_MASK,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_SYNC,
    MAP_TYPE,
    MMAP_MIN_ADDR,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_WRITE,
    U64,
    VM_ACCOUNT,
    VM_GROWSDOWN,
    VM_MAYEXEC,
    VM_MAYREAD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_NORESERVE,
    VM_SHARED,
    VM_SYNC,
    VM_WRITE,
)
from .errors import SyscallError
from .mman import calc_vm_flag_bits, calc_vm_prot_bits
from .unmapped_area import get_unmapped_area
from .vma import Vma
from .vma_ops import (
    MergeRange,
    complete_munmap_vmas,
    gather_munmap_vmas,
    merge_new_range,
    store_new,
)

if TYPE_CHECKING:
    from .files import OpenFile
    from .mm import Mm

__all__ = ["do_mmap", "mmap_region"]


def do_mmap(
    mm: Mm, file: OpenFile | None, addr: int, length: int, prot: int, flags: int, pgoff: int
) -> int:
    """``do_mmap``: validation in the kernel's order, then ``mmap_region``.

    Caller holds ``mmap_lock`` for write.
    """
    if length == 0:
        raise SyscallError(EINVAL, "mmap", "length is 0")
    if flags & MAP_FIXED_NOREPLACE:
        flags |= MAP_FIXED
    if not flags & MAP_FIXED:
        addr = _round_hint_to_min(addr)
    length = page_align(length)
    if length == 0:
        raise SyscallError(ENOMEM, "mmap", "page-aligned length wraps to 0")
    if pgoff + (length >> PAGE_SHIFT) >= U64:
        raise SyscallError(EOVERFLOW, "mmap", f"offset page {pgoff:#x} + length overflows")
    if mm.map_count > mm.max_map_count:
        raise SyscallError(ENOMEM, "mmap", f"map_count {mm.map_count} exceeds max_map_count")
    vm_flags = calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags)
    vm_flags |= mm.def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
    addr = get_unmapped_area(mm, file, addr, length, pgoff, flags, vm_flags)
    if flags & MAP_FIXED_NOREPLACE and mm.tree.find_intersection(addr, addr + length):
        raise SyscallError(
            EEXIST, "mmap", f"[{addr:#x}, {addr + length:#x}) overlaps an existing mapping"
        )
    map_type = flags & MAP_TYPE
    if file is not None:
        # Simulated files behave like ext4 without DAX: the file system accepts
        # MAP_SYNC in MAP_SHARED_VALIDATE (FOP_MMAP_SYNC), and its mmap hook then
        # refuses VM_SYNC (see mmap_region).
        if map_type in (MAP_SHARED, MAP_SHARED_VALIDATE):
            if map_type == MAP_SHARED:
                flags &= LEGACY_MAP_MASK
            elif flags & ~(LEGACY_MAP_MASK | MAP_SYNC):
                bad = flags & ~(LEGACY_MAP_MASK | MAP_SYNC)
                raise SyscallError(EOPNOTSUPP, "mmap", f"flags {bad:#x} unsupported")
            if prot & PROT_WRITE and not file.writable:
                raise SyscallError(
                    EACCES, "mmap", "MAP_SHARED with PROT_WRITE on an fd not open for writing"
                )
            vm_flags |= VM_SHARED | VM_MAYSHARE
            if not file.writable:
                vm_flags &= ~(VM_MAYWRITE | VM_SHARED)
        elif map_type != MAP_PRIVATE:
            raise SyscallError(EINVAL, "mmap", f"mapping type {map_type:#x} is invalid")
        if not file.readable:
            raise SyscallError(EACCES, "mmap", "fd is not open for reading")
        if vm_flags & VM_GROWSDOWN:
            raise SyscallError(EINVAL, "mmap", "MAP_GROWSDOWN on a file mapping")
        # file_mmap_ok(): offsets past MAX_LFS_FILESIZE.
        max_size = (1 << 63) - 1
        if length > max_size or pgoff > (max_size - length) >> PAGE_SHIFT:
            raise SyscallError(EOVERFLOW, "mmap", f"offset page {pgoff:#x} is too large")
    else:
        if map_type == MAP_SHARED:
            if vm_flags & VM_GROWSDOWN:
                raise SyscallError(EINVAL, "mmap", "MAP_GROWSDOWN with MAP_SHARED")
            pgoff = 0
            vm_flags |= VM_SHARED | VM_MAYSHARE
        elif map_type == MAP_PRIVATE:
            pgoff = addr >> PAGE_SHIFT
        else:
            raise SyscallError(
                EINVAL, "mmap", f"mapping type {map_type:#x} is neither shared nor private"
            )
    if flags & MAP_NORESERVE:
        vm_flags |= VM_NORESERVE
    return mmap_region(mm, file, addr, length, vm_flags, pgoff)


def mmap_region(
    mm: Mm, file: OpenFile | None, addr: int, length: int, vm_flags: int, pgoff: int
) -> int:
    """``__mmap_region``: replace what is there (6.12+: no transient hole), merge or
    store a new VMA in one tree store. Caller holds ``mmap_lock`` for write."""
    end = addr + length
    gathered = None
    first = mm.tree.find_intersection(addr, end)
    if first is not None:
        gathered = gather_munmap_vmas(mm, first[2], addr, end)
        prev, nxt = gathered.prev, gathered.next
    else:
        prev = mm._prev_vma(addr)
        nxt = mm.find_vma(end)
    # accountable_mapping(): private writable memory is charged (VM_ACCOUNT).
    if vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE) == VM_WRITE:
        vm_flags |= VM_ACCOUNT
    if gathered is not None:
        # vms_clean_up_area(): the old pages go while the old VMAs are still visible.
        for old in gathered.vmas:
            mm.unaccount_pages(old)
        mm.pause("mmap:after_gather")
    if file is not None and vm_flags & VM_SYNC:
        # The file's mmap hook refuses VM_SYNC (ext4 without DAX). The old
        # mappings are already gone: vms_abort_munmap_vmas() leaves a hole.
        if gathered is not None:
            mm.tree.store(addr, end, None)
            complete_munmap_vmas(mm, gathered)
        raise SyscallError(EOPNOTSUPP, "mmap", "MAP_SYNC needs a DAX file")
    vma: Vma | None = None
    if prev is not None or nxt is not None:
        vma = merge_new_range(
            mm,
            MergeRange(addr, end, pgoff, vm_flags, file, None, None, prev, nxt),
        )
    if vma is None:
        vma = Vma.new(mm, addr, end, vm_flags, pgoff, file)
        if file is not None:
            file.get()
        elif vm_flags & VM_SHARED:
            from .files import OpenFile as _OpenFile

            # shmem_zero_setup(): shared anonymous memory is a shmem file.
            vma.vm_file = _OpenFile(mm.fs.new_shmem(length), True, True)
        store_new(mm, vma)
    if gathered is not None:
        complete_munmap_vmas(mm, gathered)
    mm.vm_stat_account(vm_flags, length >> PAGE_SHIFT)
    return addr


def _round_hint_to_min(hint: int) -> int:
    hint &= PAGE_MASK
    if hint and hint < MMAP_MIN_ADDR:
        return (MMAP_MIN_ADDR + PAGE_SIZE - 1) & PAGE_MASK
    return hint
