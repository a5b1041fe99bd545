"""Choosing an address for a new mapping.

Mirrors ``__get_unmapped_area`` (mm/mmap.c), x86's ``arch_get_unmapped_area_topdown``
(arch/x86/kernel/sys_x86_64.c), ``vm_unmapped_area`` / ``unmapped_area_topdown``
(mm/mmap.c) and ``__thp_get_unmapped_area`` (mm/huge_memory.c). The search uses the
tree's gap augmentation (``mas_empty_area_rev``), so the first fitting gap costs
O(log n).

Simplified: no randomisation here (``mmap_base`` is chosen at execve,
:mod:`core.x86_layout`; the default is that of a process run without ASLR,
``setarch -R``), no ``MAP_32BIT`` window, no file-specific alignment
(``get_align_mask`` is 0 on the host CPU), shmem THP alignment off (host
``shmem_enabled=never``). Regular files are ext4's: ``thp_get_unmapped_area``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    EINVAL,
    ENOMEM,
    EPERM,
    MAP_FIXED,
    MAP_SHARED,
    MMAP_MIN_ADDR,
    PAGE_MASK,
    PAGE_SIZE,
    PMD_SIZE,
    STACK_GUARD_GAP,
    TASK_SIZE,
    VM_GROWSDOWN,
)
from .errors import SyscallError
from .files import SHMEM_DEV

if TYPE_CHECKING:
    from .files import OpenFile
    from .mm import Mm
    from .vma import Vma


def vm_start_gap(vma: Vma) -> int:
    """``vm_start_gap``: a stack's start minus the guard gap (clamped at 0)."""
    start = vma.vm_start
    if vma.vm_flags & VM_GROWSDOWN:
        start = max(start - STACK_GUARD_GAP, 0)
    return start


def unmapped_area_topdown(mm: Mm, length: int, low: int, high: int) -> int | None:
    """``unmapped_area_topdown``: the highest ``length`` bytes free in ``[low, high)``
    that do not intrude on a stack's guard gap, or None. O(log n) per retry."""
    low = max(low, MMAP_MIN_ADDR)
    while True:
        gap = next(iter(mm.tree.gaps_rev(low, high, length)), None)
        if gap is None:
            return None
        gap_end = gap[1]
        addr = gap_end - length
        entry = mm.tree.find(gap_end)
        if entry is not None and entry[2].vm_flags & VM_GROWSDOWN:
            start_gap = vm_start_gap(entry[2])
            if start_gap < gap_end:
                high = start_gap
                continue
        return addr


def unmapped_area_bottomup(mm: Mm, length: int, low: int, high: int) -> int | None:
    """``unmapped_area``: the lowest fitting gap (legacy layout fallback). O(log n)."""
    low = max(low, MMAP_MIN_ADDR)
    while True:
        gap = next(iter(mm.tree.gaps(low, high, length)), None)
        if gap is None:
            return None
        addr = gap[0]
        entry = mm.tree.find(addr)
        if entry is not None and vm_start_gap(entry[2]) < addr + length:
            low = entry[2].vm_end  # the gap ends in a stack's guard gap: look higher
            continue
        return addr


def _hint_fits(mm: Mm, addr: int, length: int) -> bool:
    # mmap_address_hint_valid() + "!vma || addr + len <= vm_start_gap(vma)"
    if TASK_SIZE - length < addr:
        return False
    entry = mm.tree.find(addr)
    return entry is None or addr + length <= vm_start_gap(entry[2])


def arch_get_unmapped_area_topdown(mm: Mm, addr: int, length: int, flags: int) -> int:
    """x86 ``arch_get_unmapped_area_topdown``. Raises ENOMEM when nothing fits."""
    if length > TASK_SIZE:
        raise SyscallError(ENOMEM, mm.current_syscall, f"length {length:#x} exceeds TASK_SIZE")
    if flags & MAP_FIXED:
        return addr
    if addr:
        addr &= PAGE_MASK
        if _hint_fits(mm, addr, length):
            return addr
    found = unmapped_area_topdown(mm, length, PAGE_SIZE, mm.mmap_base)
    if found is not None:
        return found
    # Fall back to the legacy bottom-up search (arch_get_unmapped_area).
    if addr and TASK_SIZE - length >= addr and _hint_fits(mm, addr, length):
        return addr
    found = unmapped_area_bottomup(mm, length, mm.mmap_legacy_base, TASK_SIZE)
    if found is None:
        raise SyscallError(ENOMEM, mm.current_syscall, f"no free range of {length:#x} bytes")
    return found


def _thp_get_unmapped_area(mm: Mm, addr: int, length: int, off: int, flags: int) -> int:
    """``__thp_get_unmapped_area``: place a mapping that covers a whole 2 MiB-aligned
    stretch of its file (or of anonymous memory) so that stretch can be one huge page,
    by searching for ``length + 2 MiB`` and rounding; the hint when it was free; 0 when
    the padded search fails."""
    off_end = off + length
    off_align = (off + PMD_SIZE - 1) & ~(PMD_SIZE - 1)
    if off_end <= off_align or off_end - off_align < PMD_SIZE:
        return 0
    len_pad = length + PMD_SIZE
    try:
        ret = arch_get_unmapped_area_topdown(mm, addr, len_pad, flags)
    except SyscallError:
        return 0
    if ret == addr:
        return addr  # the hint was free: no alignment
    off_sub = (off - ret) & (PMD_SIZE - 1)
    if not off_sub:
        return ret + PMD_SIZE  # top-down layout: use the upper aligned part
    return ret + off_sub


def get_unmapped_area(
    mm: Mm,
    file: OpenFile | None,
    addr: int,
    length: int,
    pgoff: int,
    flags: int,
    vm_flags: int,
) -> int:
    """``__get_unmapped_area``: pick (or check) the address for a mapping.

    Caller holds ``mmap_lock`` for write. Errors: ENOMEM (too long, nothing fits, beyond
    TASK_SIZE), EINVAL (unaligned fixed address), EPERM (below ``mmap_min_addr``).
    """
    del vm_flags  # only shadow stacks change the search (stack_guard_placement)
    if length > TASK_SIZE:
        raise SyscallError(ENOMEM, mm.current_syscall, f"length {length:#x} exceeds TASK_SIZE")
    result = 0
    if file is not None and file.inode.dev != SHMEM_DEV:
        # A regular file's f_op->get_unmapped_area is thp_get_unmapped_area (ext4):
        # a mapping spanning an aligned 2 MiB of the file is placed to match it.
        result = _thp_get_unmapped_area(mm, addr, length, pgoff * PAGE_SIZE, flags)
    elif (
        file is None
        and not flags & MAP_SHARED
        and not addr
        and not flags & MAP_FIXED
        and length % PMD_SIZE == 0
    ):
        # Larger anonymous mappings are THP aligned when no hint was given.
        result = _thp_get_unmapped_area(mm, 0, length, pgoff * PAGE_SIZE, flags)
    if not result:
        result = arch_get_unmapped_area_topdown(mm, addr, length, flags)
    if result > TASK_SIZE - length:
        raise SyscallError(
            ENOMEM, mm.current_syscall, f"[{result:#x}, +{length:#x}) ends beyond TASK_SIZE"
        )
    if result & ~PAGE_MASK:
        raise SyscallError(EINVAL, mm.current_syscall, f"address {result:#x} is not page aligned")
    if result < MMAP_MIN_ADDR and not mm.cap_sys_rawio:
        raise SyscallError(EPERM, mm.current_syscall, f"address {result:#x} is below mmap_min_addr")
    return result
