"""Linux constants for x86-64 with 4 KiB pages, as the uapi headers and mm/ define them.

Values are the kernel's own (include/uapi/asm-generic/mman-common.h, mman.h,
include/linux/mm.h for ``VM_*``); the simulator accepts and reports exactly these.

Every constant is ``Final``: the compiled engine (``core/_engine.py``) then folds it
into the code that uses it, where a plain module global would be a dictionary lookup
in every compiled function that reads it (``VM_WRITE``, ``PAGE_MASK`` on the fault
path).
"""

from __future__ import annotations

import errno as _errno
from typing import Final

# The width of a syscall argument register: arguments arrive as unsigned 64-bit values.
U64: Final = 1 << 64
U64_MAX: Final = U64 - 1
U32: Final = 1 << 32

PAGE_SHIFT: Final = 12
PAGE_SIZE: Final = 1 << PAGE_SHIFT
PAGE_MASK: Final = ~(PAGE_SIZE - 1)
PMD_SIZE: Final = 2 << 20

# 4-level paging: TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE (arch/x86/include/asm/page_64_types.h).
TASK_SIZE: Final = (1 << 47) - PAGE_SIZE
MMAP_MIN_ADDR: Final = 4096  # vm.mmap_min_addr on the host
DEFAULT_MAX_MAP_COUNT: Final = 65530  # USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN
STACK_GUARD_GAP: Final = 256 << PAGE_SHIFT  # mm/mmap.c stack_guard_gap default
# mmap_base() (arch/x86/mm/mmap.c) without randomisation: TASK_SIZE minus the stack gap,
# which an 8 MiB RLIMIT_STACK plus the guard gap leaves at its 128 MiB minimum (MIN_GAP).
DEFAULT_MMAP_BASE: Final = TASK_SIZE - (128 << 20)
PID_MAX: Final = 4194304  # /proc/sys/kernel/pid_max on 64-bit (PID_MAX_LIMIT)

# execve and the address-space layout it picks (fs/exec.c, fs/binfmt_elf.c,
# arch/x86/include/asm/elf.h, arch/x86/mm/mmap.c, arch/x86/entry/vdso/vma.c).
STACK_TOP: Final = TASK_SIZE  # STACK_TOP_MAX = TASK_SIZE_LOW = DEFAULT_MAP_WINDOW on 4-level x86-64
# Where a PIE program is loaded (DEFAULT_MAP_WINDOW / 3 * 2).
ELF_ET_DYN_BASE: Final = TASK_SIZE // 3 * 2
TASK_UNMAPPED_BASE: Final = (TASK_SIZE // 3 + PAGE_SIZE - 1) & PAGE_MASK  # the legacy layout's base
MMAP_RND_BITS: Final = 28  # vm.mmap_rnd_bits on the host (CONFIG_ARCH_MMAP_RND_BITS default)
STACK_RND_MASK: Final = 0x3FFFFF  # pages of stack-top randomisation (16 GiB, 64-bit)
BRK_RND_RANGE: Final = 1 << 30  # arch_randomize_brk(): randomize_page(brk, SZ_1G) on 64-bit
RLIMIT_STACK_DEFAULT: Final = 8 << 20  # ulimit -s 8192 (_STK_LIM)
# map_vdso(): [vvar] (the vDSO data pages), [vvar_vclock] (the vclock pages) and the
# [vdso] text, one block placed by get_unmapped_area, in that order. 6.18 on the host.
VDSO_VVAR_PAGES: Final = 4
VDSO_VCLOCK_PAGES: Final = 2
VDSO_TEXT_PAGES: Final = 2

# mmap(2) protection bits.
PROT_NONE: Final = 0x0
PROT_READ: Final = 0x1
PROT_WRITE: Final = 0x2
PROT_EXEC: Final = 0x4
PROT_SEM: Final = 0x8
PROT_GROWSDOWN: Final = 0x01000000
PROT_GROWSUP: Final = 0x02000000

# mmap(2) flags (x86-64).
MAP_SHARED: Final = 0x01
MAP_PRIVATE: Final = 0x02
MAP_SHARED_VALIDATE: Final = 0x03
# A mapping type of its own (6.11+; the vDSO getrandom() state of glibc 2.41 and Go 1.24
# is mapped with it): private anonymous memory the kernel may drop instead of swapping.
MAP_DROPPABLE: Final = 0x08
MAP_TYPE: Final = 0x0F
MAP_FIXED: Final = 0x10
MAP_ANONYMOUS: Final = 0x20
MAP_32BIT: Final = 0x40
MAP_GROWSDOWN: Final = 0x0100
MAP_DENYWRITE: Final = 0x0800
MAP_EXECUTABLE: Final = 0x1000
MAP_LOCKED: Final = 0x2000
MAP_NORESERVE: Final = 0x4000
MAP_POPULATE: Final = 0x8000
MAP_NONBLOCK: Final = 0x10000
MAP_STACK: Final = 0x20000
MAP_HUGETLB: Final = 0x40000
MAP_SYNC: Final = 0x80000
MAP_FIXED_NOREPLACE: Final = 0x100000
MAP_UNINITIALIZED: Final = 0x4000000
MAP_HUGE_SHIFT: Final = 26
MAP_HUGE_MASK: Final = 0x3F
# The huge page sizes (hstates) of an x86-64 machine with 1 GiB pages (pdpe1gb), by
# their log2 in MAP_HUGE_* (0: the default, 2 MiB): /sys/kernel/mm/hugepages on the
# host. Its pools are empty (HugePages_Total: 0), as the simulated machine's.
HUGE_PAGE_SHIFTS: Final = (21, 30)
DEFAULT_HUGE_PAGE_SHIFT: Final = 21
MAP_FAILED: Final = (1 << 64) - 1

# Flags MAP_SHARED_VALIDATE accepts for an ordinary file (LEGACY_MAP_MASK in
# include/linux/mman.h); anything else is EOPNOTSUPP.
LEGACY_MAP_MASK: Final = (
    MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_32BIT
    | (MAP_HUGE_MASK << MAP_HUGE_SHIFT)
)

# mremap(2) flags.
MREMAP_MAYMOVE: Final = 1
MREMAP_FIXED: Final = 2
MREMAP_DONTUNMAP: Final = 4

# madvise(2) advice (include/uapi/asm-generic/mman-common.h).
MADV_NORMAL: Final = 0
MADV_RANDOM: Final = 1
MADV_SEQUENTIAL: Final = 2
MADV_WILLNEED: Final = 3
MADV_DONTNEED: Final = 4
MADV_FREE: Final = 8
MADV_REMOVE: Final = 9
MADV_DONTFORK: Final = 10
MADV_DOFORK: Final = 11
MADV_MERGEABLE: Final = 12
MADV_UNMERGEABLE: Final = 13
MADV_HUGEPAGE: Final = 14
MADV_NOHUGEPAGE: Final = 15
MADV_DONTDUMP: Final = 16
MADV_DODUMP: Final = 17
MADV_WIPEONFORK: Final = 18
MADV_KEEPONFORK: Final = 19
MADV_COLD: Final = 20
MADV_PAGEOUT: Final = 21
MADV_POPULATE_READ: Final = 22
MADV_POPULATE_WRITE: Final = 23
MADV_DONTNEED_LOCKED: Final = 24
MADV_COLLAPSE: Final = 25
MADV_HWPOISON: Final = 100
MADV_SOFT_OFFLINE: Final = 101
MADV_GUARD_INSTALL: Final = 102
MADV_GUARD_REMOVE: Final = 103

# clone(2) flags that decide what a new task shares (include/uapi/linux/sched.h).
CLONE_VM: Final = 0x100
CLONE_FILES: Final = 0x400
CLONE_VFORK: Final = 0x4000
CLONE_THREAD: Final = 0x10000

# open(2) flags the simulated files understand.
O_RDONLY: Final = 0o0
O_WRONLY: Final = 0o1
O_RDWR: Final = 0o2
O_ACCMODE: Final = 0o3

# vm_flags bits (include/linux/mm.h, x86-64).
VM_NONE: Final = 0x0
VM_READ: Final = 0x1
VM_WRITE: Final = 0x2
VM_EXEC: Final = 0x4
VM_SHARED: Final = 0x8
VM_MAYREAD: Final = 0x10
VM_MAYWRITE: Final = 0x20
VM_MAYEXEC: Final = 0x40
VM_MAYSHARE: Final = 0x80
VM_GROWSDOWN: Final = 0x100
VM_UFFD_MISSING: Final = 0x200
VM_PFNMAP: Final = 0x400
VM_UFFD_WP: Final = 0x1000
VM_LOCKED: Final = 0x2000
VM_IO: Final = 0x4000
VM_SEQ_READ: Final = 0x8000
VM_RAND_READ: Final = 0x10000
VM_DONTCOPY: Final = 0x20000
VM_DONTEXPAND: Final = 0x40000
VM_LOCKONFAULT: Final = 0x80000
VM_ACCOUNT: Final = 0x100000
VM_NORESERVE: Final = 0x200000
VM_HUGETLB: Final = 0x400000
VM_SYNC: Final = 0x800000
VM_ARCH_1: Final = 0x1000000
VM_WIPEONFORK: Final = 0x2000000
VM_DONTDUMP: Final = 0x4000000
VM_SOFTDIRTY: Final = 0x8000000
VM_MIXEDMAP: Final = 0x10000000
VM_HUGEPAGE: Final = 0x20000000
VM_NOHUGEPAGE: Final = 0x40000000
VM_MERGEABLE: Final = 0x80000000
# 64-bit only: include/linux/mm.h VM_SEALED_BIT (42 since 6.16; bit 63 before), so
# smaps prints "sl" after every flag below bit 32.
VM_SEALED: Final = 1 << 42
# VM_DROPPABLE (64-bit, include/linux/mm.h; smaps "dp", printed before "sl"): a
# MAP_DROPPABLE mapping. Its folios are never swap-backed (folio_add_new_anon_rmap), so
# reclaim drops them, dirty or not, and smaps counts a clean one as LazyFree at once.
VM_DROPPABLE: Final = 1 << 40

# VM_MAYBE_GUARD (bit 11, smaps "gu"): MADV_GUARD_INSTALL sets it on the VMA, without a
# split, and it never goes away; a "sticky" flag (VM_STICKY) that merges ignore and the
# merged VMA inherits (the 6.18.y host has the 6.19 series: docs/kernel-differences.md).
VM_MAYBE_GUARD: Final = 0x800

VM_ACCESS_FLAGS: Final = VM_READ | VM_WRITE | VM_EXEC
VM_SPECIAL: Final = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP
VM_STACK: Final = VM_GROWSDOWN
VM_LOCKED_MASK: Final = VM_LOCKED | VM_LOCKONFAULT  # include/linux/mm.h
VM_STICKY: Final = VM_SOFTDIRTY | VM_MAYBE_GUARD  # include/linux/mm.h (6.19, backported)
VM_COPY_ON_FORK: Final = VM_PFNMAP | VM_MIXEDMAP | VM_UFFD_WP | VM_MAYBE_GUARD  # vma_needs_copy
VM_STARTGAP_FLAGS: Final = VM_GROWSDOWN
# VM_DATA_DEFAULT_FLAGS on x86-64 (VM_DATA_FLAGS_TSK_EXEC: the default personality has
# READ_IMPLIES_EXEC off, so MAYEXEC comes from VM_DATA_FLAGS_EXEC).
VM_DATA_DEFAULT_FLAGS: Final = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
VM_STACK_DEFAULT_FLAGS: Final = VM_DATA_DEFAULT_FLAGS | VM_GROWSDOWN | VM_ACCOUNT
# mm->def_flags bits a fork child keeps (kernel/fork.c mm_init): MCL_FUTURE is not inherited.
VM_INIT_DEF_MASK: Final = VM_NOHUGEPAGE

# mlock2(2), mlockall(2) flags (include/uapi/asm-generic/mman-common.h, mman.h).
MLOCK_ONFAULT: Final = 0x01
MCL_CURRENT: Final = 1
MCL_FUTURE: Final = 2
MCL_ONFAULT: Final = 4

# prctl(2) PR_SET_VMA (include/uapi/linux/prctl.h) and the name rules of
# kernel/sys.c prctl_set_vma: at most 79 bytes, printable ASCII except \\`$[].
PR_SET_VMA: Final = 0x53564D41
PR_SET_VMA_ANON_NAME: Final = 0
ANON_VMA_NAME_MAX_LEN: Final = 80
ANON_VMA_NAME_INVALID_CHARS: Final = "\\`$[]"

# setrlimit(2): RLIMIT_MEMLOCK and "unlimited" (include/uapi/asm-generic/resource.h).
RLIMIT_MEMLOCK: Final = 8
RLIM_INFINITY: Final = (1 << 64) - 1
DEFAULT_MEMLOCK_RLIMIT: Final = 8 << 20  # this host's ulimit -l (8192 kB, soft and hard)

# vm.overcommit_memory (include/uapi/linux/mman.h) and the host's memory, read from
# /proc/meminfo and /proc/sys/vm when this was written (constants, so that runs are
# deterministic; Kernel settings change them): MemTotal 24683772 kB, SwapTotal 0 kB,
# overcommit_ratio 50, admin_reserve_kbytes 258377, user_reserve_kbytes 100421 (the
# last two are what init_admin_reserve/init_user_reserve computed at boot).
OVERCOMMIT_GUESS: Final = 0
OVERCOMMIT_ALWAYS: Final = 1
OVERCOMMIT_NEVER: Final = 2
HOST_MEMTOTAL_KB: Final = 24683772
HOST_SWAPTOTAL_KB: Final = 0
DEFAULT_OVERCOMMIT_RATIO: Final = 50
DEFAULT_ADMIN_RESERVE_KB: Final = 258377
DEFAULT_USER_RESERVE_KB: Final = 100421

# Errnos the syscalls return, by name (Linux numbering via the errno module).
EPERM: Final = _errno.EPERM
ENOENT: Final = _errno.ENOENT
ESRCH: Final = _errno.ESRCH
EINTR: Final = _errno.EINTR
EBADF: Final = _errno.EBADF
EAGAIN: Final = _errno.EAGAIN
ENOMEM: Final = _errno.ENOMEM
EACCES: Final = _errno.EACCES
EFAULT: Final = _errno.EFAULT
EEXIST: Final = _errno.EEXIST
ENODEV: Final = _errno.ENODEV
EINVAL: Final = _errno.EINVAL
EMFILE: Final = _errno.EMFILE
E2BIG: Final = _errno.E2BIG
ENAMETOOLONG: Final = _errno.ENAMETOOLONG
ENOEXEC: Final = _errno.ENOEXEC
EIO: Final = _errno.EIO
ENOTDIR: Final = _errno.ENOTDIR
ELOOP: Final = _errno.ELOOP
ELIBBAD: Final = _errno.ELIBBAD
EOVERFLOW: Final = _errno.EOVERFLOW
EOPNOTSUPP: Final = _errno.EOPNOTSUPP


def page_align(value: int) -> int:
    """Round ``value`` up to a page boundary (the kernel's ``PAGE_ALIGN``).

    >>> hex(page_align(1)), page_align(0), hex(page_align(4096))
    ('0x1000', 0, '0x1000')
    """
    return (value + PAGE_SIZE - 1) & PAGE_MASK


def offset_in_page(value: int) -> int:
    """The kernel's ``offset_in_page``: ``value`` modulo the page size."""
    return value & (PAGE_SIZE - 1)
