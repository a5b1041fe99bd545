"""Hand-written traces reproducing experiments first run by hand on the 6.18 host.

Each is annotated (see annotated.py) with what Linux 6.18 does; the tests check the
running kernel against the annotations and the simulator against the kernel.
Arena base 0x100000000000 throughout; ``B+n`` in the comments means base + n pages.
"""

from __future__ import annotations

MERGE_ADJACENT_ANON = """
# Host experiment 3-3c: adjacent anonymous mappings with identical flags merge; different
# protection does not; mprotect to the same protection re-merges.
arena 0x100000000000 256
mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
mmap 0x100000002000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000002000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
mmap 0x100000004000 0x2000 r-- private|anonymous|fixed -1 0x0
= 0x100000004000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 r--p 00000000 00:00 0 $
mprotect 0x100000004000 0x2000 rw-
= 0
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
# a new mapping filling the hole between two identical neighbours merges all three
mmap 0x100000008000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000008000
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
> 100000008000-10000000a000 rw-p 00000000 00:00 0 $
mmap 0x100000006000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000006000
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
# different vm_flags (VM_NORESERVE) never merge
mmap 0x10000000a000 0x1000 rw- private|anonymous|fixed|noreserve -1 0x0
= 0x10000000a000
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000b000 rw-p 00000000 00:00 0 $
# shared anonymous mappings never merge: each has its own shmem file
mmap 0x100000010000 0x1000 rw- shared|anonymous|fixed -1 0x0
= 0x100000010000
mmap 0x100000011000 0x1000 rw- shared|anonymous|fixed -1 0x0
= 0x100000011000
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000b000 rw-p 00000000 00:00 0 $
> 100000010000-100000011000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000011000-100000012000 rw-s 00000000 dev1 ino2 @73 /dev/zero (deleted)$
"""

MPROTECT_SPLIT_REMERGE = """
# Host experiment 4-4c: mprotect of the middle splits in three; back again re-merges; then
# merges with the previous, the next and both neighbours.
arena 0x100000000000 256
mmap 0x100000000000 0x6000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mprotect 0x100000002000 0x2000 r--
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000004000 r--p 00000000 00:00 0 $
> 100000004000-100000006000 rw-p 00000000 00:00 0 $
mprotect 0x100000002000 0x2000 rw-
= 0
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
mprotect 0x100000000000 0x6000 ---
= 0
> 100000000000-100000006000 ---p 00000000 00:00 0 $
mprotect 0x100000000000 0x1000 r--
= 0
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000001000-100000006000 ---p 00000000 00:00 0 $
mprotect 0x100000001000 0x1000 r--
= 0
> 100000000000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000006000 ---p 00000000 00:00 0 $
mprotect 0x100000005000 0x1000 r--
= 0
> 100000000000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000005000 ---p 00000000 00:00 0 $
> 100000005000-100000006000 r--p 00000000 00:00 0 $
mprotect 0x100000002000 0x3000 r--
= 0
> 100000000000-100000006000 r--p 00000000 00:00 0 $
# an unaligned length covers the partial page; PROT_SEM is accepted and ignored
mprotect 0x100000000000 0x1001 rw-|sem
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000006000 r--p 00000000 00:00 0 $
"""

MUNMAP_AND_REFILL = """
# Host experiment 5-5b: munmap of the middle leaves two VMAs; MAP_FIXED into the hole merges
# them again; munmap over VMAs and holes; munmap of nothing succeeds.
arena 0x100000000000 256
mmap 0x100000000000 0x6000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
munmap 0x100000002000 0x2000
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 rw-p 00000000 00:00 0 $
mmap 0x100000002000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000002000
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
mmap 0x100000008000 0x2000 r-- private|anonymous|fixed -1 0x0
= 0x100000008000
munmap 0x100000001000 0x8000
= 0
> 100000000000-100000001000 rw-p 00000000 00:00 0 $
> 100000009000-10000000a000 r--p 00000000 00:00 0 $
munmap 0x100000020000 0x1000
= 0
> 100000000000-100000001000 rw-p 00000000 00:00 0 $
> 100000009000-10000000a000 r--p 00000000 00:00 0 $
munmap 0x100000000000 0x1
= 0
> 100000009000-10000000a000 r--p 00000000 00:00 0 $
"""

MAP_FIXED_OVER_EXISTING = """
# Host experiment 6-6b: MAP_FIXED_NOREPLACE fails with EEXIST on any overlap (EINVAL when
# unaligned); MAP_FIXED replaces, splitting the old mapping.
arena 0x100000000000 256
mmap 0x100000000000 0x6000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000001000 0x1000 r-- private|anonymous|fixed_noreplace -1 0x0
! EEXIST
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
mmap 0x100000005000 0x4000 r-- private|anonymous|fixed_noreplace -1 0x0
! EEXIST
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
mmap 0x100000001001 0x1000 r-- private|anonymous|fixed_noreplace -1 0x0
! EINVAL
mmap 0x100000006000 0x2000 r-- private|anonymous|fixed_noreplace -1 0x0
= 0x100000006000
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 r--p 00000000 00:00 0 $
mmap 0x100000001000 0x1000 r-- private|anonymous|fixed -1 0x0
= 0x100000001000
> 100000000000-100000001000 rw-p 00000000 00:00 0 $
> 100000001000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 r--p 00000000 00:00 0 $
mmap 0x100000000000 0x8000 --- private|anonymous|fixed -1 0x0
= 0x100000000000
> 100000000000-100000008000 ---p 00000000 00:00 0 $
"""

HINTS = """
# Host experiments 6 (second half) and 9: a free hint is used (rounded down to a page); an
# occupied one is not; nor is one inside a growsdown VMA's 256-page guard gap.
arena 0x100000000000 256
mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000010000 0x1000 rw- private|anonymous -1 0x0
= 0x100000010000
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000010000-100000011000 rw-p 00000000 00:00 0 $
mmap 0x100000001000 0x1000 r-- private|anonymous -1 0x0
= OUT
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000010000-100000011000 rw-p 00000000 00:00 0 $
mmap 0x100000002123 0x1000 r-- private|anonymous -1 0x0
= 0x100000002000
mmap 0x100000003000 0x1000 r-- private|anonymous -1 0x0
= 0x100000003000
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000004000 r--p 00000000 00:00 0 $
> 100000010000-100000011000 rw-p 00000000 00:00 0 $
mmap 0x100000080000 0x2000 rw- private|anonymous|fixed|growsdown -1 0x0
= 0x100000080000
mmap 0x10000007e000 0x1000 rw- private|anonymous -1 0x0
= OUT
# MAP_FIXED ignores the guard gap
mmap 0x10000007f000 0x1000 rw- private|anonymous|fixed -1 0x0
= 0x10000007f000
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000004000 r--p 00000000 00:00 0 $
> 100000010000-100000011000 rw-p 00000000 00:00 0 $
> 10000007f000-100000080000 rw-p 00000000 00:00 0 $
> 100000080000-100000082000 rw-p 00000000 00:00 0 $
"""

MPROTECT_ENOMEM_HOLE = """
# Host experiment 7b: mprotect over [vma][hole][vma] fails with ENOMEM after the first VMA
# was already changed; one starting in a hole changes nothing; one ending in a
# hole leaves its split in place.
arena 0x100000000000 256
mmap 0x100000000000 0x1000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000002000 0x1000 rw- private|anonymous|fixed -1 0x0
= 0x100000002000
mprotect 0x100000000000 0x3000 r--
! ENOMEM
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
mprotect 0x100000001000 0x2000 r--
! ENOMEM
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
mmap 0x100000010000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000010000
mprotect 0x100000012000 0x4000 r--
! ENOMEM
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
mprotect 0x100000020000 0x1000 r--
! ENOMEM
"""

ERRNOS = """
# Host experiment 7 and the man pages' ERRORS: argument errors, each leaving the arena as it was.
arena 0x100000000000 256
open 0 0 4 rdonly
= 0
mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000010000 0x1000 r-- shared|fixed 0 0x0
= 0x100000010000
mmap 0x100000020000 0x0 r-- private|anonymous -1 0x0
! EINVAL
mmap 0x100000020000 0x1000 r-- anonymous -1 0x0
! EINVAL
mmap 0x100000020000 0xffffffffffffffff r-- private|anonymous -1 0x0
! ENOMEM
mmap 0x100000020000 0xfffffffffffff000 r-- private|anonymous -1 0x0
! ENOMEM
mmap 0x100000020000 0x800000000000 r-- private|anonymous|noreserve -1 0x0
! ENOMEM
mmap 0x100000020001 0x1000 r-- private|anonymous|fixed -1 0x0
! EINVAL
mmap 0x100000020000 0x1000 r-- private 0 0x1
! EINVAL
mmap 0x100000020000 0x1000 rw- shared 0 0x0
! EACCES
mmap 0x100000020000 0x1000 rw- private|fixed 0 0x0
= 0x100000020000
mmap 0x100000021000 0x1000 r-- private|fixed -1 0x0
! EBADF
mmap 0x100000021000 0x1000 r-- shared_validate|fixed|sync 0 0x0
! EOPNOTSUPP
mmap 0x100000021000 0x1000 r-- shared|fixed|sync 0 0x0
! EOPNOTSUPP
mprotect 0x100000010000 0x1000 rw-
! EACCES
munmap 0x100000000000 0x0
! EINVAL
munmap 0x100000000001 0x1000
! EINVAL
munmap 0x800000000000 0x1000
! EINVAL
munmap 0x100000000000 0x800000000000
! EINVAL
munmap 0x100000064000 0x1000
= 0
mprotect 0x100000000001 0x1000 r--
! EINVAL
mprotect 0x100000000000 0x0 r--
= 0
mprotect 0x100000064000 0x1000 r--
! ENOMEM
mprotect 0x100000000000 0x1000 0x10000
! EINVAL
mprotect 0x100000000000 0x1000 r--|growsdown|growsup
! EINVAL
mprotect 0x100000000000 0xfffffffffffff000 r--
! ENOMEM
mremap 0x100000000000 0x1000 0x0 maymove 0x0
! EINVAL
mremap 0x100000000001 0x1000 0x1000 maymove 0x0
! EINVAL
mremap 0x100000064000 0x1000 0x2000 maymove 0x0
! EFAULT
mremap 0x100000000000 0x1000 0x2000 fixed 0x100000030000
! EINVAL
mremap 0x100000000000 0x1000 0x1000 0x8 0x0
! EINVAL
mremap 0x100000000000 0x1000 0x2000 maymove|dontunmap 0x100000030000
! EINVAL
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000010000-100000011000 r--s 00000000 dev1 ino1 @73 $DIR/f0$
> 100000020000-100000021000 rw-p 00000000 dev1 ino1 @73 $DIR/f0$
"""

MREMAP = """
# A.3: grow in place; blocked growth (ENOMEM, or a move with MREMAP_MAYMOVE);
# shrink; an unfaulted anonymous VMA moved next to a compatible one merges
# (its pgoff is reset); MREMAP_DONTUNMAP keeps the old range mapped; an old
# range spanning two VMAs cannot grow (EFAULT).
arena 0x100000000000 256
mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mremap 0x100000000000 0x2000 0x4000 0x0 0x0
= 0x100000000000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
mmap 0x100000004000 0x1000 r-- private|anonymous|fixed -1 0x0
= 0x100000004000
mremap 0x100000000000 0x4000 0x6000 0x0 0x0
! ENOMEM
mremap 0x100000000000 0x4000 0x6000 maymove 0x0
= OUT
> 100000004000-100000005000 r--p 00000000 00:00 0 $
mmap 0x100000010000 0x6000 rw- private|anonymous|fixed -1 0x0
= 0x100000010000
mremap 0x100000010000 0x6000 0x2000 0x0 0x0
= 0x100000010000
> 100000004000-100000005000 r--p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
mmap 0x100000020000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000020000
mmap 0x100000030000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000030000
mremap 0x100000030000 0x2000 0x2000 maymove|fixed 0x100000022000
= 0x100000022000
> 100000004000-100000005000 r--p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
mremap 0x100000020000 0x4000 0x4000 maymove|dontunmap 0x100000040000
= 0x100000040000
> 100000004000-100000005000 r--p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
mmap 0x100000050000 0x1000 rw- private|anonymous|fixed -1 0x0
= 0x100000050000
mmap 0x100000051000 0x1000 r-- private|anonymous|fixed -1 0x0
= 0x100000051000
mremap 0x100000050000 0x2000 0x3000 maymove 0x0
! EFAULT
"""

FILES = """
# Host experiment 2-2d: file mappings merge only through the same open file description and
# with contiguous offsets; a read-only fd cannot be mapped shared and writable;
# unlinking shows " (deleted)"; splitting adjusts the offset (shmem too).
arena 0x100000000000 256
open 0 0 16 rdwr
= 0
open 1 0 16 rdwr
= 0
open 2 1 16 rdonly
= 0
mmap 0x100000000000 0x2000 r-- private|fixed 0 0x0
= 0x100000000000
> 100000000000-100000002000 r--p 00000000 dev1 ino1 @73 $DIR/f0$
mmap 0x100000002000 0x2000 r-- private|fixed 0 0x2000
= 0x100000002000
> 100000000000-100000004000 r--p 00000000 dev1 ino1 @73 $DIR/f0$
mmap 0x100000004000 0x2000 r-- private|fixed 0 0x8000
= 0x100000004000
> 100000000000-100000004000 r--p 00000000 dev1 ino1 @73 $DIR/f0$
> 100000004000-100000006000 r--p 00008000 dev1 ino1 @73 $DIR/f0$
mmap 0x100000006000 0x2000 r-- private|fixed 1 0xa000
= 0x100000006000
> 100000000000-100000004000 r--p 00000000 dev1 ino1 @73 $DIR/f0$
> 100000004000-100000006000 r--p 00008000 dev1 ino1 @73 $DIR/f0$
> 100000006000-100000008000 r--p 0000a000 dev1 ino1 @73 $DIR/f0$
mmap 0x100000010000 0x1000 r-- shared|fixed 2 0x0
= 0x100000010000
mmap 0x100000011000 0x1000 rw- shared|fixed 2 0x0
! EACCES
mprotect 0x100000010000 0x1000 rw-
! EACCES
mmap 0x100000012000 0x1000 rw- private|fixed 2 0x0
= 0x100000012000
unlink 0
= 0
mprotect 0x100000001000 0x1000 rw-
= 0
> 100000000000-100000001000 r--p 00000000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000001000-100000002000 rw-p 00001000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000002000-100000004000 r--p 00002000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000004000-100000006000 r--p 00008000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000006000-100000008000 r--p 0000a000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000010000-100000011000 r--s 00000000 dev1 ino2 @73 $DIR/f1$
> 100000012000-100000013000 rw-p 00000000 dev1 ino2 @73 $DIR/f1$
mmap 0x100000020000 0x3000 rw- shared|anonymous|fixed -1 0x0
= 0x100000020000
mprotect 0x100000021000 0x1000 r--
= 0
> 100000000000-100000001000 r--p 00000000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000001000-100000002000 rw-p 00001000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000002000-100000004000 r--p 00002000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000004000-100000006000 r--p 00008000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000006000-100000008000 r--p 0000a000 dev1 ino1 @73 $DIR/f0 (deleted)$
> 100000010000-100000011000 r--s 00000000 dev1 ino2 @73 $DIR/f1$
> 100000012000-100000013000 rw-p 00000000 dev1 ino2 @73 $DIR/f1$
> 100000020000-100000021000 rw-s 00000000 dev2 ino3 @73 /dev/zero (deleted)$
> 100000021000-100000022000 r--s 00001000 dev2 ino3 @73 /dev/zero (deleted)$
> 100000022000-100000023000 rw-s 00002000 dev2 ino3 @73 /dev/zero (deleted)$
"""

ACCOUNTING_AND_GROWSDOWN = """
# Merges decided by flags maps does not print: an unfaulted private anonymous VMA
# made read-only loses VM_ACCOUNT and merges with a read-only neighbour; a private
# file VMA keeps it and does not. PROT_GROWSDOWN extends an mprotect down to the
# start of a growsdown VMA (EINVAL on other VMAs); growsdown VMAs do not merge
# with plain ones.
arena 0x100000000000 256
mmap 0x100000000000 0x2000 r-- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000002000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000002000
mprotect 0x100000002000 0x2000 r--
= 0
> 100000000000-100000004000 r--p 00000000 00:00 0 $
open 0 0 16 rdwr
= 0
mmap 0x100000010000 0x2000 rw- private|fixed 0 0x0
= 0x100000010000
mprotect 0x100000010000 0x2000 r--
= 0
mmap 0x100000012000 0x2000 r-- private|fixed 0 0x2000
= 0x100000012000
> 100000000000-100000004000 r--p 00000000 00:00 0 $
> 100000010000-100000012000 r--p 00000000 dev1 ino1 @73 $DIR/f0$
> 100000012000-100000014000 r--p 00002000 dev1 ino1 @73 $DIR/f0$
mmap 0x100000020000 0x4000 rw- private|anonymous|fixed|growsdown -1 0x0
= 0x100000020000
mprotect 0x100000022000 0x1000 r--|growsdown
= 0
> 100000000000-100000004000 r--p 00000000 00:00 0 $
> 100000010000-100000012000 r--p 00000000 dev1 ino1 @73 $DIR/f0$
> 100000012000-100000014000 r--p 00002000 dev1 ino1 @73 $DIR/f0$
> 100000020000-100000023000 r--p 00000000 00:00 0 $
> 100000023000-100000024000 rw-p 00000000 00:00 0 $
mprotect 0x100000000000 0x1000 r--|growsdown
! EINVAL
mmap 0x10000001c000 0x4000 r-- private|anonymous|fixed -1 0x0
= 0x10000001c000
> 100000000000-100000004000 r--p 00000000 00:00 0 $
> 100000010000-100000012000 r--p 00000000 dev1 ino1 @73 $DIR/f0$
> 100000012000-100000014000 r--p 00002000 dev1 ino1 @73 $DIR/f0$
> 10000001c000-100000020000 r--p 00000000 00:00 0 $
> 100000020000-100000023000 r--p 00000000 00:00 0 $
> 100000023000-100000024000 rw-p 00000000 00:00 0 $
"""

MREMAP_MULTI_VMA = """
# Linux 6.17+ (``mremap`` of a source spanning VMAs used to be
# EFAULT): a same-size MREMAP_FIXED move may span several VMAs and holes; a
# same-size mremap without a new address is a no-op even over two VMAs; a shrink
# unmaps the tail across VMAs and holes. Growth across a hole, or any mremap
# whose start is unmapped, is EFAULT.
arena 0x100000000000 256
mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000002000 0x2000 r-- private|anonymous|fixed -1 0x0
= 0x100000002000
mremap 0x100000000000 0x4000 0x4000 maymove|fixed 0x100000010000
= 0x100000010000
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
mremap 0x100000010000 0x4000 0x4000 maymove 0x0
= 0x100000010000
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
mmap 0x100000020000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000020000
mmap 0x100000023000 0x2000 r-- private|anonymous|fixed -1 0x0
= 0x100000023000
mremap 0x100000020000 0x5000 0x5000 maymove|fixed 0x100000030000
= 0x100000030000
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
> 100000030000-100000032000 rw-p 00000000 00:00 0 $
> 100000033000-100000035000 r--p 00000000 00:00 0 $
mremap 0x100000030000 0x5000 0x1000 0x0 0x0
= 0x100000030000
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
> 100000030000-100000031000 rw-p 00000000 00:00 0 $
mremap 0x100000030000 0x5000 0x6000 maymove 0x0
! EFAULT
mremap 0x100000031000 0x2000 0x1000 0x0 0x0
! EFAULT
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
> 100000030000-100000031000 rw-p 00000000 00:00 0 $
"""

MISC = """
# Smaller host findings: MREMAP_DONTUNMAP leaves the old range mergeable; in-place
# mremap growth ignores a growsdown neighbour's guard gap (mmap hints do not, see
# "hints"); huge file offsets are EOVERFLOW; MAP_GROWSDOWN on a file is EINVAL;
# old_len 0 duplicates a shared mapping (EINVAL for a private one); MAP_SYNC is
# accepted on a private anonymous mapping.
arena 0x100000000000 256
open 0 0 16 rdwr
= 0
mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mremap 0x100000000000 0x2000 0x2000 maymove|dontunmap 0x100000010000
= 0x100000010000
mmap 0x100000002000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000002000
mmap 0x100000012000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000012000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-p 00000000 00:00 0 $
mmap 0x100000080000 0x2000 rw- private|anonymous|fixed|growsdown -1 0x0
= 0x100000080000
mmap 0x100000070000 0x1000 rw- private|anonymous|fixed -1 0x0
= 0x100000070000
mremap 0x100000070000 0x1000 0x10000 0x0 0x0
= 0x100000070000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-p 00000000 00:00 0 $
> 100000070000-100000080000 rw-p 00000000 00:00 0 $
> 100000080000-100000082000 rw-p 00000000 00:00 0 $
mmap 0x100000090000 0x1000 r-- private|fixed 0 0xfffffffffffff000
! EOVERFLOW
mmap 0x100000090000 0x1000 r-- private|fixed 0 0x7ffffffffffff000
! EOVERFLOW
mmap 0x100000090000 0x1000 r-- private|fixed|growsdown 0 0x0
! EINVAL
mmap 0x1000000a0000 0x2000 rw- shared|fixed 0 0x0
= 0x1000000a0000
mremap 0x1000000a0000 0x0 0x2000 maymove|fixed 0x1000000b0000
= 0x1000000b0000
mremap 0x1000000a0000 0x0 0x2000 maymove 0x0
= OUT
mmap 0x1000000c0000 0x2000 rw- private|anonymous|fixed|sync -1 0x0
= 0x1000000c0000
mremap 0x1000000c0000 0x0 0x2000 maymove|fixed 0x1000000d0000
! EINVAL
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-p 00000000 00:00 0 $
> 100000070000-100000080000 rw-p 00000000 00:00 0 $
> 100000080000-100000082000 rw-p 00000000 00:00 0 $
> 1000000a0000-1000000a2000 rw-s 00000000 dev1 ino1 @73 $DIR/f0$
> 1000000b0000-1000000b2000 rw-s 00000000 dev1 ino1 @73 $DIR/f0$
> 1000000c0000-1000000c2000 rw-p 00000000 00:00 0 $
"""

FLAG_MERGES = """
# vm_flags that maps does not show still decide merges: MAP_STACK sets
# VM_NOHUGEPAGE (6.7+), MAP_SYNC on a private anonymous mapping sets VM_SYNC, and
# MAP_NORESERVE sets VM_NORESERVE; like merges with like only.
arena 0x100000000000 256
mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000002000 0x2000 rw- private|anonymous|fixed|stack -1 0x0
= 0x100000002000
mmap 0x100000004000 0x2000 rw- private|anonymous|fixed|stack -1 0x0
= 0x100000004000
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000006000 rw-p 00000000 00:00 0 $
mmap 0x100000010000 0x2000 rw- private|anonymous|fixed|sync -1 0x0
= 0x100000010000
mmap 0x100000012000 0x2000 rw- private|anonymous|fixed|sync -1 0x0
= 0x100000012000
mmap 0x100000014000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000014000
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000006000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-p 00000000 00:00 0 $
> 100000014000-100000016000 rw-p 00000000 00:00 0 $
mprotect 0x100000012000 0x4000 r--
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000006000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
> 100000014000-100000016000 r--p 00000000 00:00 0 $
mmap 0x100000020000 0x2000 r-- private|anonymous|fixed|noreserve -1 0x0
= 0x100000020000
mmap 0x100000022000 0x2000 r-- private|anonymous|fixed -1 0x0
= 0x100000022000
mmap 0x100000024000 0x2000 r-- private|anonymous|fixed|noreserve -1 0x0
= 0x100000024000
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000006000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 r--p 00000000 00:00 0 $
> 100000014000-100000016000 r--p 00000000 00:00 0 $
> 100000020000-100000022000 r--p 00000000 00:00 0 $
> 100000022000-100000024000 r--p 00000000 00:00 0 $
> 100000024000-100000026000 r--p 00000000 00:00 0 $
"""

MAP_SYNC_FILE = """
# Host finding (ext4, 6.18), beyond appendix A.6: MAP_SYNC on a file that is not
# DAX fails with EOPNOTSUPP for MAP_SHARED_VALIDATE, MAP_SHARED and MAP_PRIVATE
# alike, but only in the filesystem's mmap hook, after a MAP_FIXED target range
# was already unmapped: the old mapping there is gone. An unknown flag with
# MAP_SHARED_VALIDATE fails earlier and leaves the range alone.
arena 0x100000000000 256
open 0 0 16 rdwr
= 0
mmap 0x100000000000 0x8000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
mmap 0x100000000000 0x1000 r-- shared_validate|fixed|sync 0 0x0
! EOPNOTSUPP
> 100000001000-100000008000 rw-p 00000000 00:00 0 $
mmap 0x100000001000 0x1000 r-- shared|fixed|sync 0 0x0
! EOPNOTSUPP
> 100000002000-100000008000 rw-p 00000000 00:00 0 $
mmap 0x100000002000 0x1000 r-- private|fixed|sync 0 0x0
! EOPNOTSUPP
> 100000003000-100000008000 rw-p 00000000 00:00 0 $
mmap 0x100000003000 0x1000 r-- shared_validate|fixed|0x800000 0 0x0
! EOPNOTSUPP
> 100000003000-100000008000 rw-p 00000000 00:00 0 $
mmap 0x100000004000 0x1000 r-- shared_validate|anonymous|fixed -1 0x0
! EINVAL
> 100000003000-100000008000 rw-p 00000000 00:00 0 $
"""

MREMAP_MERGE_INTO_SOURCE = """
# Found by seed 10: an unfaulted anonymous VMA moved with FIXED|DONTUNMAP right
# behind itself takes the pgoff of its new place (copy_vma), merges into its own
# source VMA, and the remap_move walk must stop at the end of the range although
# the merged VMA now reaches past it. Without DONTUNMAP the old page is unmapped.
arena 0x100000000000 256
mmap 0x10000002e000 0x2000 rw- private|anonymous -1 0x0
= 0x10000002e000
> 10000002e000-100000030000 rw-p 00000000 00:00 0 $
mremap 0x10000002f000 0x1000 0x1000 maymove|fixed|dontunmap 0x100000030000
= 0x100000030000
> 10000002e000-100000031000 rw-p 00000000 00:00 0 $
mremap 0x100000030000 0x1000 0x1000 maymove|fixed 0x100000031000
= 0x100000031000
> 10000002e000-100000030000 rw-p 00000000 00:00 0 $
> 100000031000-100000032000 rw-p 00000000 00:00 0 $
"""

FAULT_DECIDES_MERGE = """
# Host experiment 3d-3f: the anon_vma a VMA gets at its first write fault decides
# later merges. find_mergeable_anon_vma() reuses a compatible neighbour's anon_vma
# (flags equal but for access bits), so a VMA faulted next to A merges with it after
# mprotect; one faulted elsewhere and moved next to A has its own and stays apart.
arena 0x100000000000 256
smaps
mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
touch 0x100000000010 w
= ok
mmap 0x100000004000 0x2000 rwx private|anonymous|fixed -1 0x0
= 0x100000004000
touch 0x100000004020 w
= ok
mprotect 0x100000004000 0x2000 rw-
= 0
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000006000 Rss=8 Anonymous=8$
mmap 0x100000040000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000040000
touch 0x100000041000 w
= ok
mremap 0x100000040000 0x2000 0x2000 maymove|fixed 0x100000006000
= 0x100000006000
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000006000 Rss=8 Anonymous=8$
> ~ 100000006000-100000008000 Rss=4 Anonymous=4$
# Experiment 3d: faulted A2 and C2 (two anon_vmas), then an unfaulted B2 between: B2 joins A2
# only (prev and next anon_vmas are not compatible with each other).
mmap 0x100000010000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000010000
touch 0x100000010000 w
= ok
mmap 0x100000014000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000014000
touch 0x100000014000 w
= ok
mmap 0x100000012000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000012000
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-p 00000000 00:00 0 $
> 100000014000-100000016000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000006000 Rss=8 Anonymous=8$
> ~ 100000006000-100000008000 Rss=4 Anonymous=4$
> ~ 100000010000-100000014000 Rss=4 Anonymous=4$
> ~ 100000014000-100000016000 Rss=4 Anonymous=4$
# A read fault maps the zero page: no anon_vma, no Rss, and merging is unaffected.
mmap 0x100000020000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000020000
touch 0x100000020000 r
= ok
mmap 0x100000022000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000022000
touch 0x100000022000 w
= ok
mmap 0x100000024000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000024000
> 100000000000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-p 00000000 00:00 0 $
> 100000014000-100000016000 rw-p 00000000 00:00 0 $
> 100000020000-100000026000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000006000 Rss=8 Anonymous=8$
> ~ 100000006000-100000008000 Rss=4 Anonymous=4$
> ~ 100000010000-100000014000 Rss=4 Anonymous=4$
> ~ 100000014000-100000016000 Rss=4 Anonymous=4$
> ~ 100000020000-100000026000 Rss=4 Anonymous=4$
"""

GROWSDOWN_FAULTS = """
# Host experiment 9: faults below a MAP_GROWSDOWN VMA grow it (no distance limit);
# an accessible VMA closer than stack_guard_gap (256 pages) below stops the growth
# with SEGV_MAPERR; a PROT_NONE one does not count.
arena 0x100000000000 256
smaps
mmap 0x1000000f0000 0x4000 rw- private|anonymous|fixed|growsdown -1 0x0
= 0x1000000f0000
touch 0x1000000ef000 w
= ok
> 1000000ef000-1000000f4000 rw-p 00000000 00:00 0 $
> ~ 1000000ef000-1000000f4000 Rss=4 Anonymous=4$
touch 0x1000000d0010 r
= ok
> 1000000d0000-1000000f4000 rw-p 00000000 00:00 0 $
> ~ 1000000d0000-1000000f4000 Rss=4 Anonymous=4$
mmap 0x100000000000 0x1000 --- private|anonymous|fixed -1 0x0
= 0x100000000000
touch 0x1000000c0000 w
= ok
mmap 0x100000001000 0x1000 r-- private|anonymous|fixed -1 0x0
= 0x100000001000
touch 0x1000000bf000 w
! SIGSEGV SEGV_MAPERR
touch 0x100000080000 r
! SIGSEGV SEGV_MAPERR
> 100000000000-100000001000 ---p 00000000 00:00 0 $
> 100000001000-100000002000 r--p 00000000 00:00 0 $
> 1000000c0000-1000000f4000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Rss=0 Anonymous=0$
> ~ 100000001000-100000002000 Rss=0 Anonymous=0$
> ~ 1000000c0000-1000000f4000 Rss=8 Anonymous=8$
touch 0x1000000c0000 x
! SIGSEGV SEGV_ACCERR
# the blocking VMA goes: growth works again
munmap 0x100000001000 0x1000
= 0
touch 0x1000000a0000 w
= ok
> 100000000000-100000001000 ---p 00000000 00:00 0 $
> 1000000a0000-1000000f4000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Rss=0 Anonymous=0$
> ~ 1000000a0000-1000000f4000 Rss=12 Anonymous=12$
"""

TOUCH_SIGNALS = """
# Host experiment 8: x86 access rules and the signal of each failing access.
arena 0x100000000000 256
smaps
open 0 0 2 rdwr
mmap 0x100000000000 0x1000 r-- private|anonymous|fixed -1 0x0
= 0x100000000000
touch 0x100000000000 r
= ok
touch 0x100000000000 w
! SIGSEGV SEGV_ACCERR
mmap 0x100000002000 0x1000 --- private|anonymous|fixed -1 0x0
= 0x100000002000
touch 0x100000002000 r
! SIGSEGV SEGV_ACCERR
touch 0x100000004000 r
! SIGSEGV SEGV_MAPERR
mmap 0x100000006000 0x1000 -w- private|anonymous|fixed -1 0x0
= 0x100000006000
touch 0x100000006000 r
= ok
touch 0x100000006000 x
! SIGSEGV SEGV_ACCERR
mmap 0x100000008000 0x2000 r-x private|anonymous|fixed -1 0x0
= 0x100000008000
touch 0x100000008000 x
= ok
touch 0x100000008000 w
! SIGSEGV SEGV_ACCERR
mmap 0x100000010000 0x4000 rw- shared 0 0x0
= 0x100000010000
touch 0x100000010000 w
= ok
touch 0x100000012000 r
! SIGBUS BUS_ADRERR
touch 0x100000013000 w
! SIGBUS BUS_ADRERR
mmap 0x100000020000 0x4000 rw- shared|anonymous|fixed -1 0x0
= 0x100000020000
touch 0x100000020000 r
= ok
touch 0x100000021000 w
= ok
touch 0x100000024000 w
! SIGSEGV SEGV_MAPERR
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 ---p 00000000 00:00 0 $
> 100000006000-100000007000 -w-p 00000000 00:00 0 $
> 100000008000-10000000a000 r-xp 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1 @73 $DIR/f0$
> 100000020000-100000024000 rw-s 00000000 dev2 ino2 @73 /dev/zero (deleted)$
> ~ 100000000000-100000001000 Rss=0 Anonymous=0$
> ~ 100000002000-100000003000 Rss=0 Anonymous=0$
> ~ 100000006000-100000007000 Rss=0 Anonymous=0$
> ~ 100000008000-10000000a000 Rss=0 Anonymous=0$
> ~ 100000010000-100000014000 Rss=- Anonymous=0$
> ~ 100000020000-100000024000 Rss=8 Anonymous=0$
"""


MREMAP_FAULTED_SOURCE = """
# A moved anonymous VMA merges at its destination only while it has no anon_vma: copy_vma
# resets the pgoff of an unfaulted source. After one write fault the same move leaves
# two VMAs (what a replayed strace, which cannot show faults, gets wrong).
arena 0x100000000000 256
mmap 0x100000020000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000020000
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
mmap 0x10000001d000 0x3000 rw- private|anonymous|fixed -1 0x0
= 0x10000001d000
> 10000001d000-100000022000 rw-p 00000000 00:00 0 $
touch 0x100000020000 w
= ok
> 10000001d000-100000022000 rw-p 00000000 00:00 0 $
mremap 0x100000020000 0x2000 0x5000 maymove|fixed 0x100000018000
= 0x100000018000
> 100000018000-10000001d000 rw-p 00000000 00:00 0 $
> 10000001d000-100000020000 rw-p 00000000 00:00 0 $
mmap 0x100000060000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000060000
> 100000018000-10000001d000 rw-p 00000000 00:00 0 $
> 10000001d000-100000020000 rw-p 00000000 00:00 0 $
> 100000060000-100000062000 rw-p 00000000 00:00 0 $
mmap 0x10000005d000 0x3000 rw- private|anonymous|fixed -1 0x0
= 0x10000005d000
> 100000018000-10000001d000 rw-p 00000000 00:00 0 $
> 10000001d000-100000020000 rw-p 00000000 00:00 0 $
> 10000005d000-100000062000 rw-p 00000000 00:00 0 $
mremap 0x100000060000 0x2000 0x5000 maymove|fixed 0x100000058000
= 0x100000058000
> 100000018000-10000001d000 rw-p 00000000 00:00 0 $
> 10000001d000-100000020000 rw-p 00000000 00:00 0 $
> 100000058000-100000060000 rw-p 00000000 00:00 0 $
"""

HUGETLB_EMPTY_POOL = """
# MAP_HUGETLB on a machine whose huge page pools are empty (HugePages_Total: 0): an
# anonymous one maps a new hugetlbfs file, its length rounded up to the huge page size
# (MAP_HUGE_2MB and MAP_HUGE_1GB exist, other sizes are EINVAL); a MAP_FIXED address must
# be huge-page aligned (EINVAL); the mapping types are a file's (MAP_DROPPABLE is EINVAL,
# MAP_SHARED_VALIDATE refuses MAP_SYNC with EOPNOTSUPP), and MAP_GROWSDOWN is EINVAL. Then
# the hugetlbfs mmap hook, after the old mappings were removed, finds no huge page to
# reserve (ENOMEM) or an unaligned offset (EINVAL): a MAP_FIXED call leaves a hole. On a
# regular file MAP_HUGETLB is EINVAL.
arena 0x100000000000 2048
open 3 1 4 rdwr
= 0
> (empty)
mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0
= 0x100000000000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
mmap 0x100000200000 0x4000 rw- private|anonymous|fixed -1 0
= 0x100000200000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000200000-100000204000 rw-p 00000000 00:00 0 $
mmap 0x100000400000 0x4000 rw- private|anonymous|fixed -1 0
= 0x100000400000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000200000-100000204000 rw-p 00000000 00:00 0 $
> 100000400000-100000404000 rw-p 00000000 00:00 0 $
mmap 0x100000000000 0x1000 rw- private|anonymous|fixed|0x40000 -1 0
! ENOMEM
> 100000200000-100000204000 rw-p 00000000 00:00 0 $
> 100000400000-100000404000 rw-p 00000000 00:00 0 $
mmap 0x100000200000 0x200000 rw- shared|anonymous|fixed|0x40000 -1 0
! ENOMEM
> 100000400000-100000404000 rw-p 00000000 00:00 0 $
mmap 0x100000400000 0x200000 rw- private|anonymous|fixed|0x40000 -1 0x1000
! EINVAL
> (empty)
mmap 0 0x200000 rw- private|anonymous|0x40000 -1 0
! ENOMEM
> (empty)
mmap 0 0x200000 rw- private|anonymous|0x78040000 -1 0
! ENOMEM
> (empty)
mmap 0 0x200000 rw- private|anonymous|0x54040000 -1 0
! ENOMEM
> (empty)
mmap 0 0x200000 rw- private|anonymous|0x4c040000 -1 0
! EINVAL
> (empty)
mmap 0x100000001000 0x200000 rw- private|anonymous|fixed|0x40000 -1 0
! EINVAL
> (empty)
mmap 0x100000600000 0x200000 rw- droppable|anonymous|fixed|0x40000 -1 0
! EINVAL
> (empty)
mmap 0x100000600000 0x200000 rw- shared_validate|anonymous|fixed|sync|0x40000 -1 0
! EOPNOTSUPP
> (empty)
mmap 0x100000600000 0x200000 rw- private|anonymous|fixed|growsdown|0x40000 -1 0
! EINVAL
> (empty)
mmap 0x100000600000 0x200000 rw- private|anonymous|fixed|0x40000 -1 0
! ENOMEM
> (empty)
mmap 0x100000600000 0x200000 --- private|anonymous|fixed|0x40000 -1 0
! ENOMEM
> (empty)
mmap 0x100000000000 0 rw- private|anonymous|fixed|0x40000 -1 0
! EINVAL
> (empty)
mmap 0x100000600000 0x4000 rw- private|fixed|0x40000 3 0
! EINVAL
> (empty)
mmap 0x100000600000 0x4000 rw- shared|fixed|0x40000 3 0
! EINVAL
> (empty)
"""

FIXED_TRACES: dict[str, str] = {
    "merge_adjacent_anon": MERGE_ADJACENT_ANON,
    "mprotect_split_remerge": MPROTECT_SPLIT_REMERGE,
    "munmap_and_refill": MUNMAP_AND_REFILL,
    "map_fixed_over_existing": MAP_FIXED_OVER_EXISTING,
    "hints": HINTS,
    "mprotect_enomem_hole": MPROTECT_ENOMEM_HOLE,
    "errnos": ERRNOS,
    "mremap": MREMAP,
    "files": FILES,
    "accounting_and_growsdown": ACCOUNTING_AND_GROWSDOWN,
    "mremap_multi_vma": MREMAP_MULTI_VMA,
    "misc": MISC,
    "flag_merges": FLAG_MERGES,
    "map_sync_file": MAP_SYNC_FILE,
    "mremap_merge_into_source": MREMAP_MERGE_INTO_SOURCE,
    "mremap_faulted_source": MREMAP_FAULTED_SOURCE,
    "fault_decides_merge": FAULT_DECIDES_MERGE,
    "growsdown_faults": GROWSDOWN_FAULTS,
    "touch_signals": TOUCH_SIGNALS,
    "hugetlb_empty_pool": HUGETLB_EMPTY_POOL,
}
