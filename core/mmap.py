"""``mmap(2)`` once ``mmap_lock`` is held for write (mm/mmap.c ``do_mmap``, mm/vma.c
``__mmap_region``).

``do_mmap`` validates in the kernel's order (length, ``MAP_FIXED_NOREPLACE``, the hint,
page alignment, offset overflow, ``max_map_count``), computes the VMA flags, picks the
address (:mod:`core.unmapped_area`) and checks the file's access mode and
``MAP_SHARED_VALIDATE`` flags (``MAP_LOCKED`` and ``MCL_FUTURE`` also check
``RLIMIT_MEMLOCK``: EPERM, EAGAIN). ``mmap_region`` then charges the commit
(:mod:`core.overcommit`), replaces whatever ``MAP_FIXED``
covers without a visible hole (6.12+: the old VMAs are gathered, the new one is stored
over them, then they are completed), merges the new range with a neighbour when the
merge rules allow, or stores a new VMA. A writer pause point, ``mmap:after_gather``,
sits after the gather.

Mapping types: shared, private, ``MAP_SHARED_VALIDATE`` for files, and
``MAP_DROPPABLE`` (6.11) for anonymous memory: private memory with ``VM_DROPPABLE``,
``VM_NORESERVE``, ``VM_WIPEONFORK`` and ``VM_DONTDUMP``, which is never locked
(:mod:`core.mlock`; an ``MCL_FUTURE`` mapping loses ``VM_LOCKED`` again after its merge
was tried with it) and whose folios are never swap-backed (:mod:`core.madvise`,
:mod:`core.smaps`).

hugetlb: the simulated machine, like the host, has huge page sizes of 2 MiB and 1 GiB
and no huge pages in their pools. An anonymous ``MAP_HUGETLB`` mapping (``Mm.mmap``
rounds its length up to the huge page size, ``ksys_mmap_pgoff``) takes the checks of a
hugetlbfs file: a huge-page-aligned ``MAP_FIXED`` address, a file's mapping types; then
``mmap_region`` clears the old range and fails as ``hugetlbfs_file_mmap`` does (ENOMEM:
nothing to reserve; EINVAL: an unaligned offset), leaving a hole. With
``MAP_NORESERVE`` Linux succeeds and maps a hugetlbfs VMA, which the simulator does
not model: that call is refused (``InvalidArgument``) before anything changes
(docs/kernel-differences.md).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from .abi import page_align
from .constants import (
    DEFAULT_HUGE_PAGE_SHIFT,
    EACCES,
    EAGAIN,
    EEXIST,
    EINVAL,
    ENOMEM,
    EOPNOTSUPP,
    EOVERFLOW,
    EPERM,
    HUGE_PAGE_SHIFTS,
    LEGACY_MAP_MASK,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_HUGE_MASK,
    MAP_HUGE_SHIFT,
    MAP_LOCKED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_SYNC,
    MAP_TYPE,
    MMAP_MIN_ADDR,
    OVERCOMMIT_NEVER,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_WRITE,
    TASK_SIZE,
    U64,
    VM_ACCOUNT,
    VM_DONTDUMP,
    VM_DROPPABLE,
    VM_GROWSDOWN,
    VM_LOCKED_MASK,
    VM_MAYEXEC,
    VM_MAYREAD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_NORESERVE,
    VM_SHARED,
    VM_SYNC,
    VM_WIPEONFORK,
    VM_WRITE,
)
from .errors import InvalidArgument, SyscallError
from .mman import calc_vm_flag_bits, calc_vm_prot_bits
from .unmapped_area import get_unmapped_area
from .vma import Vma
from .vma_ops import (
    MergeRange,
    complete_munmap_vmas,
    gather_munmap_vmas,
    merge_new_range,
    nr_accounted,
    reattach_vmas,
    store_new,
)

if TYPE_CHECKING:
    from .files import Inode, OpenFile
    from .mm import Mm
    from .overcommit import VmCommit

__all__ = ["charge_shmem", "do_mmap", "mmap_region", "shmem_charge"]


def hugetlb_page_size(flags: int) -> int:
    """``hstate_sizelog``: the huge page size anonymous ``MAP_HUGETLB`` asks for with
    ``MAP_HUGE_*`` (0: the default), or EINVAL for a size the machine lacks. O(1)."""
    shift = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK or DEFAULT_HUGE_PAGE_SHIFT
    if shift not in HUGE_PAGE_SHIFTS:
        raise SyscallError(EINVAL, "mmap", f"no {1 << shift:#x}-byte huge pages (MAP_HUGE_*)")
    return 1 << shift


def do_mmap(
    mm: Mm,
    file: OpenFile | None,
    addr: int,
    length: int,
    prot: int,
    flags: int,
    pgoff: int,
    huge: int = 0,
) -> int:
    """``do_mmap``: validation in the kernel's order, then ``mmap_region``. ``huge``:
    the huge page size of an anonymous ``MAP_HUGETLB`` mapping (module note, "hugetlb").

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
    if huge and flags & MAP_FIXED and length <= TASK_SIZE and addr & (huge - 1):
        # hugetlb_get_unmapped_area() -> prepare_hugepage_range()
        raise SyscallError(EINVAL, "mmap", f"{addr:#x} is not aligned to the huge page size")
    addr = get_unmapped_area(mm, file, addr, length, pgoff, flags, vm_flags)
    if flags & MAP_FIXED_NOREPLACE and mm.tree.find_intersection(addr, addr + length):
        raise SyscallError(
            EEXIST, "mmap", f"[{addr:#x}, {addr + length:#x}) overlaps an existing mapping"
        )
    from .mlock import can_do_mlock, mlock_future_ok

    if flags & MAP_LOCKED and not can_do_mlock(mm):
        raise SyscallError(EPERM, "mmap", "MAP_LOCKED: RLIMIT_MEMLOCK is 0 without CAP_IPC_LOCK")
    if not mlock_future_ok(mm, vm_flags, length):
        raise SyscallError(EAGAIN, "mmap", "locking the mapping would exceed RLIMIT_MEMLOCK")
    map_type = flags & MAP_TYPE
    if huge:
        # The hugetlbfs file of hugetlb_file_setup(): read-write, without MAP_SYNC.
        if map_type == MAP_SHARED_VALIDATE and flags & ~LEGACY_MAP_MASK:
            bad = flags & ~LEGACY_MAP_MASK
            raise SyscallError(EOPNOTSUPP, "mmap", f"flags {bad:#x} unsupported")
        if map_type in (MAP_SHARED, MAP_SHARED_VALIDATE):
            vm_flags |= VM_SHARED | VM_MAYSHARE
        elif map_type != MAP_PRIVATE:
            raise SyscallError(EINVAL, "mmap", f"mapping type {map_type:#x} is invalid")
        if vm_flags & VM_GROWSDOWN:
            raise SyscallError(EINVAL, "mmap", "MAP_GROWSDOWN on a file mapping")
        # hugetlb applies strict overcommit unless MAP_NORESERVE, which it always honours.
        if flags & MAP_NORESERVE:
            vm_flags |= VM_NORESERVE
        return mmap_region(mm, None, addr, length, vm_flags, pgoff, huge)
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
        elif map_type in (MAP_PRIVATE, MAP_DROPPABLE):
            if map_type == MAP_DROPPABLE:
                # Droppable memory cannot be locked nor grow as a stack; it is never
                # charged (VM_NORESERVE), and neither inherited by a fork child nor
                # dumped.
                if flags & MAP_LOCKED:
                    raise SyscallError(EINVAL, "mmap", "MAP_DROPPABLE with MAP_LOCKED")
                if vm_flags & VM_GROWSDOWN:
                    raise SyscallError(EINVAL, "mmap", "MAP_DROPPABLE with MAP_GROWSDOWN")
                vm_flags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP
            pgoff = addr >> PAGE_SHIFT
        else:
            raise SyscallError(
                EINVAL, "mmap", f"mapping type {map_type:#x} is neither shared nor private"
            )
    # MAP_NORESERVE is honoured only while overcommit is allowed.
    if flags & MAP_NORESERVE and mm.kernel.commit.overcommit_memory != OVERCOMMIT_NEVER:
        vm_flags |= VM_NORESERVE
    return mmap_region(mm, file, addr, length, vm_flags, pgoff)


def mmap_region(
    mm: Mm,
    file: OpenFile | None,
    addr: int,
    length: int,
    vm_flags: int,
    pgoff: int,
    huge: int = 0,
) -> int:
    """``__mmap_region``: replace what is there (6.12+: no transient hole), merge or
    store a new VMA in one tree store. Caller holds ``mmap_lock`` for write.

    The commit charge (``__mmap_setup``): private writable memory is charged for the
    pages the VMAs it replaces had not charged already; a refusal (ENOMEM) re-attaches
    them, leaving only the gather's splits. Shared anonymous memory charges its shmem
    object (``shmem_acct_size``) after the old VMAs are cleaned up, so a refusal there
    leaves a hole, like a refusing file mmap hook (``vms_abort_munmap_vmas``).
    """
    end = addr + length
    pages = length >> PAGE_SHIFT
    commit = mm.kernel.commit
    huge_pgoff_ok = not pgoff & ((huge >> PAGE_SHIFT) - 1)
    if huge and vm_flags & VM_NORESERVE and huge_pgoff_ok:
        # Linux maps it (a hugetlbfs VMA, "/anon_hugepage (deleted)", each fault a
        # SIGBUS with an empty pool); the simulator has no hugetlb VMAs. Refused before
        # anything changes.
        raise InvalidArgument(
            "MAP_HUGETLB with MAP_NORESERVE maps a hugetlbfs VMA, which the simulated "
            "machine does not model (docs/kernel-differences.md)"
        )
    gathered = None
    first = mm.tree.find_intersection(addr, end)
    if first is not None:
        gathered = gather_munmap_vmas(mm, first[2], addr, end)
        prev, nxt = gathered.prev, gathered.next
    else:
        prev = mm._prev_vma(addr)
        nxt = mm.find_vma(end)
    # accountable_mapping(): private writable memory is charged (VM_ACCOUNT); the
    # replaced VMAs' charge carries over to it (vms->nr_accounted = 0).
    charged = 0
    takes_over_charge = False
    if not huge and vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE) == VM_WRITE:
        charged = pages - (nr_accounted(gathered) if gathered is not None else 0)
        if charged and not commit.enough_memory(mm, charged):
            if gathered is not None:
                reattach_vmas(mm, gathered)
            raise SyscallError(
                ENOMEM, "mmap", f"the overcommit policy refuses {charged} more pages"
            )
        takes_over_charge = True
        vm_flags |= VM_ACCOUNT
    if gathered is not None:
        # vms_clean_up_area(): the old pages go while the old VMAs are still visible.
        for old in gathered.vmas:
            mm.unaccount_pages(old)
        mm.pause("mmap:after_gather")

    def abort(err: int, detail: str) -> SyscallError:
        # unacct_error + vms_abort_munmap_vmas() after the clean-up: a hole remains.
        commit.unacct(charged)
        if gathered is not None:
            mm.tree.store(addr, end, None)
            complete_munmap_vmas(mm, gathered, unacct=not takes_over_charge)
        return SyscallError(err, "mmap", detail)

    if file is not None and vm_flags & VM_SYNC:
        # The file's mmap hook refuses VM_SYNC (ext4 without DAX).
        raise abort(EOPNOTSUPP, "MAP_SYNC needs a DAX file")
    if huge:
        # hugetlbfs_file_mmap(), after the old mappings were cleared: an offset that is
        # not huge-page aligned, else hugetlb_reserve_pages() finds the pool empty.
        if not huge_pgoff_ok:
            raise abort(EINVAL, f"offset page {pgoff:#x} is not huge-page aligned")
        raise abort(ENOMEM, f"no free {huge >> 10} kB huge pages to reserve")
    vma: Vma | None = None
    if prev is not None or nxt is not None:
        vma = merge_new_range(
            mm,
            MergeRange(addr, end, pgoff, vm_flags, file, None, None, prev, nxt),
        )
    if vma is None:
        shmem: OpenFile | None = None
        if file is None and vm_flags & VM_SHARED:
            # shmem_zero_setup(): shared anonymous memory is a shmem file, charged
            # for its size unless VM_NORESERVE (shmem_acct_size).
            if not vm_flags & VM_NORESERVE and not commit.enough_memory(mm, pages):
                raise abort(ENOMEM, f"the overcommit policy refuses a {pages}-page shmem object")
            from .files import OpenFile as _OpenFile

            shmem = _OpenFile(mm.fs.new_shmem(length), True, True)
            if not vm_flags & VM_NORESERVE:
                charge_shmem(shmem.inode, commit, pages)
        if vm_flags & VM_DROPPABLE:
            # __mmap_complete(): MCL_FUTURE's VM_LOCKED is dropped again from a VMA
            # that does not support mlock (vma_supports_mlock), and not counted. The
            # merge above was tried with it, so such a mapping never merges with a
            # droppable neighbour (as the host shows).
            vm_flags &= ~VM_LOCKED_MASK
        vma = Vma.new(mm, addr, end, vm_flags, pgoff, file if shmem is None else shmem)
        if file is not None:
            file.get()
        store_new(mm, vma)
    if gathered is not None:
        complete_munmap_vmas(mm, gathered, unacct=not takes_over_charge)
    mm.vm_stat_account(vm_flags, pages)
    return addr


def charge_shmem(inode: Inode, commit: VmCommit, pages: int) -> None:
    """Record that the shmem object ``inode`` holds ``pages`` of commit charge, given
    back when its last reference goes (``shmem_unacct_size`` at eviction). O(1)."""
    inode.__dict__["_commit_pages"] = pages
    inode.__dict__["_on_release"] = partial(commit.unacct, pages)


def shmem_charge(inode: Inode) -> int:
    """The commit charge ``inode`` holds (0 for a file or a ``MAP_NORESERVE`` object)."""
    pages: int = inode.__dict__.get("_commit_pages", 0)
    return pages


def _round_hint_to_min(hint: int) -> int:
    hint &= PAGE_MASK
    if hint and hint < MMAP_MIN_ADDR:
        return (MMAP_MIN_ADDR + PAGE_SIZE - 1) & PAGE_MASK
    return hint
