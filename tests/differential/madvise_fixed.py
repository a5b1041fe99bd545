"""Hand-written madvise/fork traces (issue 13 part A), annotated with what the running
6.18 host did (annotated.py): results for every op, the whole arena (maps lines and
``smaps all`` fields) after the marked ones. The tests check the kernel against the
annotations and the simulator against the kernel (``test_madvise_diff.py``).

``B+n`` in the comments means the arena base plus n pages.
"""

from __future__ import annotations

MADVISE_FLAGS = """
# Flag advice (mmap_lock for write): each changes vm_flags on its part of the range through
# vma_modify, splitting the VMA (VmFlags rr, sr, dd, hg, nh, mg, dc, wf) and merging it back
# when the flags match again; MADV_DOFORK/KEEPONFORK/UNMERGEABLE on a VMA without the flag
# change nothing. Argument errors are EINVAL before any lookup; an empty range succeeds.
arena 0x100000000000 256
smaps all
mmap 0x100000000000 0x10000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
madvise 0x100000001000 0x1000 random
= 0
> 100000000000-100000001000 rw-p 00000000 00:00 0 $
> 100000001000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000001000-100000002000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,rr,ac$
> ~ 100000002000-100000010000 Size=56 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000002000 0x1000 sequential
= 0
> 100000000000-100000001000 rw-p 00000000 00:00 0 $
> 100000001000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000001000-100000002000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,rr,ac$
> ~ 100000002000-100000003000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,sr,ac$
> ~ 100000003000-100000010000 Size=52 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000001000 0x2000 normal
= 0
> 100000000000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000001000 0x1000 dontdump
= 0
madvise 0x100000001000 0x1000 dodump
= 0
> 100000000000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000003000 0x1000 nohugepage
= 0
madvise 0x100000003000 0x1000 hugepage
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000010000 Size=48 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000004000 0x1000 mergeable
= 0
madvise 0x100000004000 0x1000 unmergeable
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000010000 Size=48 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000003000 0x1000 dofork
= 0
madvise 0x100000005000 0x1000 keeponfork
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000010000 Size=48 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000005000 0x1000 wipeonfork
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000005000 rw-p 00000000 00:00 0 $
> 100000005000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000005000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000005000-100000006000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000006000-100000010000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000005000 0x1000 keeponfork
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000010000 Size=48 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000006000 0x2000 dontfork
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 rw-p 00000000 00:00 0 $
> 100000008000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000006000-100000008000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,ac$
> ~ 100000008000-100000010000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000007001 0x1 dontneed
! EINVAL
madvise 0x100000007000 0x0 dontneed
= 0
madvise 0x100000007000 -1 dontneed
! EINVAL
madvise 0x100000007000 0x1000 77
! EINVAL
madvise 0x100000007000 0x1000 hwpoison
! EINVAL
madvise 0x100000007000 0x1000 soft_offline
! EINVAL
# A hole: the mapped part is advised, then ENOMEM; a range of holes only: ENOMEM.
madvise 0x10000000f000 0x3000 random
! ENOMEM
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 rw-p 00000000 00:00 0 $
> 100000008000-10000000f000 rw-p 00000000 00:00 0 $
> 10000000f000-100000010000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000006000-100000008000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,ac$
> ~ 100000008000-10000000f000 Size=28 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 10000000f000-100000010000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,rr,ac$
madvise 0x100000020000 0x3000 random
! ENOMEM
madvise 0x100000020000 0x3000 dontneed
! ENOMEM
madvise 0x100000020000 0x3000 populate_read
! ENOMEM
# Shared anonymous memory (shmem): WIPEONFORK and FREE are EINVAL; MERGEABLE is ignored.
mmap 0x100000030000 0x4000 rw- shared|anonymous|fixed -1 0x0
= 0x100000030000
madvise 0x100000030000 0x1000 mergeable
= 0
madvise 0x100000030000 0x1000 wipeonfork
! EINVAL
madvise 0x100000031000 0x1000 free
! EINVAL
madvise 0x100000030000 0x1000 hugepage
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 rw-p 00000000 00:00 0 $
> 100000006000-100000008000 rw-p 00000000 00:00 0 $
> 100000008000-10000000f000 rw-p 00000000 00:00 0 $
> 10000000f000-100000010000 rw-p 00000000 00:00 0 $
> 100000030000-100000031000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000031000-100000034000 rw-s 00001000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,hg$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000006000-100000008000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,ac$
> ~ 100000008000-10000000f000 Size=28 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 10000000f000-100000010000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,rr,ac$
> ~ 100000030000-100000031000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,hg$
> ~ 100000031000-100000034000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x100000000000 0x1000 remove
! EINVAL
madvise 0x100000000000 0x1000 collapse
! EINVAL
"""

MADVISE_MEMORY = """
# Advice on pages (the LRU batches are drained after FREE and COLD, "drain"). COLD clears
# the young bit (Referenced) of pages mapped once; PAGEOUT without swap keeps anonymous
# pages but unmaps shmem pages, dropping the clean ones from the page cache; DONTNEED
# unmaps; REMOVE punches a hole in the shmem file; FREE makes pages clean and old, then
# lazy-free; PAGEOUT discards clean lazy-free pages, keeps the ones written since;
# MADV_POPULATE_WRITE faults pages in writable.
arena 0x100000000000 256
smaps all
mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
touch 0x100000000000 w
= ok
touch 0x100000001000 r
= ok
madvise 0x100000000000 0x4000 cold drain
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000000000 r
= ok
madvise 0x100000000000 0x4000 pageout
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
mmap 0x100000010000 0x4000 rw- shared|anonymous|fixed -1 0x0
= 0x100000010000
touch 0x100000010000 w
= ok
touch 0x100000011000 r
= ok
madvise 0x100000010000 0x4000 cold drain
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000010000 r
= ok
madvise 0x100000010000 0x4000 pageout
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x100000010000 0x4000 willneed
= 0
touch 0x100000012000 r
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x100000010000 0x2000 dontneed
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000010000 r
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x100000010000 0x4000 remove
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000011000 r
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
mmap 0x100000020000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000020000
touch 0x100000020000 w
= ok
madvise 0x100000020000 0x4000 free drain
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=0 Anonymous=4 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000020000 w
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000021000 w
= ok
madvise 0x100000020000 0x4000 free drain
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=8 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000020000 w
= ok
madvise 0x100000020000 0x4000 pageout
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000020000 0x4000 populate_write
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000020000 0x4000 free drain
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=16 Private_Dirty=0 Referenced=0 Anonymous=16 KSM=0 LazyFree=16 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000020000 0x2000 dontneed_locked
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=8 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
# A shmem page read, then written through its writable PTE, is dirty in the PTE only:
# the fork child's copy of that PTE is clean (guard markers made the VMA's page table
# be copied).
mmap 0x100000030000 0x2000 rw- shared|anonymous|fixed -1 0x0
= 0x100000030000
touch 0x100000030000 r
= ok
touch 0x100000030000 w
= ok
madvise 0x100000031000 0x1000 guard_install
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000030000-100000032000 rw-s 00000000 dev1 ino2                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=8 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000030000-100000032000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
fork child
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000030000-100000032000 rw-s 00000000 dev1 ino2                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=2 Pss_Dirty=2 Shared_Clean=0 Shared_Dirty=4 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=0 Shared_Clean=8 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=8 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000030000-100000032000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=2 Pss_Dirty=0 Shared_Clean=4 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
"""

GUARD_REGIONS = """
# MADV_GUARD_INSTALL (mmap_lock for read): no new VMA; VM_MAYBE_GUARD ("gu" in VmFlags on
# this 6.18.y host) is set on the whole VMA and never cleared, and it does not stop merges
# (a sticky flag: the merged VMA has it). A touch of a guard page is SIGSEGV SEGV_MAPERR;
# DONTNEED and FREE keep the markers, GUARD_REMOVE clears them; installing over present
# pages zaps them; MADV_POPULATE_READ over a guard page is EFAULT; a hole is ENOMEM.
arena 0x100000000000 256
smaps all
mmap 0x100000000000 0x8000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
madvise 0x100000003000 0x1000 guard_install
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
touch 0x100000003000 r
! SIGSEGV SEGV_MAPERR
touch 0x100000003000 w
! SIGSEGV SEGV_MAPERR
mprotect 0x100000004000 0x1000 r--
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000005000 r--p 00000000 00:00 0 $
> 100000005000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000004000-100000005000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,gu,ac$
> ~ 100000005000-100000008000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
mprotect 0x100000004000 0x1000 rw-
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
mmap 0x100000008000 0x1000 rw- private|anonymous|fixed -1 0x0
= 0x100000008000
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
madvise 0x100000003000 0x1000 dontneed
= 0
touch 0x100000003000 r
! SIGSEGV SEGV_MAPERR
madvise 0x100000003000 0x1000 free drain
= 0
touch 0x100000003000 r
! SIGSEGV SEGV_MAPERR
madvise 0x100000003000 0x1000 guard_remove
= 0
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
touch 0x100000003000 r
= ok
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
madvise 0x100000003000 0x1000 guard_install
= 0
touch 0x100000002000 w
= ok
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
madvise 0x100000002000 0x2000 guard_install
= 0
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
touch 0x100000002000 r
! SIGSEGV SEGV_MAPERR
madvise 0x100000000000 0x4000 populate_read
! EFAULT
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
madvise 0x100000000000 0x2000 populate_write
= 0
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
madvise 0x100000020000 0x2000 guard_install
! ENOMEM
# Sticky flags: a guarded VMA and its unguarded neighbour merge, the result is guarded.
mmap 0x100000010000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000010000
mmap 0x100000012000 0x2000 r-- private|anonymous|fixed -1 0x0
= 0x100000012000
madvise 0x100000012000 0x1000 guard_install
= 0
mprotect 0x100000012000 0x1000 rw-
= 0
> 100000000000-100000009000 rw-p 00000000 00:00 0 $
> 100000010000-100000013000 rw-p 00000000 00:00 0 $
> 100000013000-100000014000 r--p 00000000 00:00 0 $
> ~ 100000000000-100000009000 Size=36 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,gu$
# mremap moves the markers; fork copies them (not into a WIPEONFORK VMA).
mremap 0x100000003000 0x1000 0x1000 maymove|fixed 0x100000030000
= 0x100000030000
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000004000-100000009000 rw-p 00000000 00:00 0 $
> 100000010000-100000013000 rw-p 00000000 00:00 0 $
> 100000013000-100000014000 r--p 00000000 00:00 0 $
> 100000030000-100000031000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000004000-100000009000 Size=20 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,gu$
> ~ 100000030000-100000031000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
touch 0x100000030000 r
! SIGSEGV SEGV_MAPERR
mmap 0x100000040000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000040000
madvise 0x100000040000 0x2000 wipeonfork
= 0
madvise 0x100000040000 0x1000 guard_install
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000004000-100000009000 rw-p 00000000 00:00 0 $
> 100000010000-100000013000 rw-p 00000000 00:00 0 $
> 100000013000-100000014000 r--p 00000000 00:00 0 $
> 100000030000-100000031000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000004000-100000009000 Size=20 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,gu$
> ~ 100000030000-100000031000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac,wf$
fork child
= 0
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000004000-100000009000 rw-p 00000000 00:00 0 $
> 100000010000-100000013000 rw-p 00000000 00:00 0 $
> 100000013000-100000014000 r--p 00000000 00:00 0 $
> 100000030000-100000031000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000004000-100000009000 Size=20 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,gu$
> ~ 100000030000-100000031000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac,wf$
touch 0x100000030000 r
! SIGSEGV SEGV_MAPERR
touch 0x100000002000 r
! SIGSEGV SEGV_MAPERR
touch 0x100000040000 r
= ok
> 100000000000-100000003000 rw-p 00000000 00:00 0 $
> 100000004000-100000009000 rw-p 00000000 00:00 0 $
> 100000010000-100000013000 rw-p 00000000 00:00 0 $
> 100000013000-100000014000 r--p 00000000 00:00 0 $
> 100000030000-100000031000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000003000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000004000-100000009000 Size=20 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,gu$
> ~ 100000030000-100000031000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac,wf$
"""

FORK_CHILD_VIEW = """
# fork: MADV_DONTFORK VMAs are not copied, MADV_WIPEONFORK ones are copied empty. The
# child's copies of the PTEs are old: Referenced counts only pages whose folio is
# PG_referenced (MAP_POPULATE and MADV_POPULATE_* mark them through FOLL_TOUCH) until the
# child touches them (the CPU sets the accessed bit, no fault). The parent's PTEs stay
# young; both now share the anonymous pages (Pss halves) until a write copies one.
arena 0x100000000000 256
smaps all
mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
touch 0x100000000000 w
= ok
touch 0x100000001000 w
= ok
touch 0x100000002000 w
= ok
mmap 0x100000010000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000010000
touch 0x100000010000 w
= ok
madvise 0x100000010000 0x2000 dontfork
= 0
mmap 0x100000020000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000020000
touch 0x100000020000 w
= ok
madvise 0x100000020000 0x2000 wipeonfork
= 0
mmap 0x100000030000 0x4000 rw- private|anonymous|fixed|populate -1 0x0
= 0x100000030000
mmap 0x100000040000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000040000
madvise 0x100000040000 0x4000 populate_write
= 0
madvise 0x100000040000 0x4000 populate_write
= 0
fork parent
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=6 Pss_Dirty=6 Shared_Clean=0 Shared_Dirty=12 Private_Clean=0 Private_Dirty=0 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000001000 w
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=4 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
fork child
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=12 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000000000 r
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=12 Private_Clean=0 Private_Dirty=0 Referenced=4 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000002000 w
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=7 Pss_Dirty=7 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=4 Referenced=8 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000020000 r
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=7 Pss_Dirty=7 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=4 Referenced=8 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
touch 0x100000031000 r
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=7 Pss_Dirty=7 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=4 Referenced=8 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000000000 0x4000 cold drain
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000020000-100000022000 rw-p 00000000 00:00 0 $
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> 100000040000-100000044000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=7 Pss_Dirty=7 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000020000-100000022000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000044000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=5 Pss_Dirty=5 Shared_Clean=0 Shared_Dirty=16 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
"""

READAHEAD_AND_POPULATE = """
# Read-ahead on a page-cache miss (do_sync_mmap_readahead): for an executable mapping
# from the page to the end of the VMA, order-0 (a read of page 3 of a 16-page r-x VMA
# leaves pages 3-15 resident, 52 kB, fault-around mapping the cached ones), even with
# MADV_RANDOM; MADV_RANDOM alone reads the page only; MADV_SEQUENTIAL reads forward from
# the page. MADV_POPULATE_WRITE of a read-only mapping is EINVAL, past EOF EFAULT (the
# pages before it populated); MADV_REMOVE punches the hole. Regular files' page counts
# are compared here ("smaps all files"): their page caches hold order-0 folios only.
arena 0x100000000000 256
smaps all files
open 0 0 16 rdwr
= 0
open 1 1 32 rdwr
= 0
open 2 2 16 rdwr
= 0
open 3 3 16 rdwr
= 0
mmap 0x100000080000 0x10000 r-x private 3 0x0
= 0x100000080000
touch 0x100000083000 r
= ok
> 100000080000-100000090000 r-xp 00000000 dev1 ino1                        $DIR/f3$
> ~ 100000080000-100000090000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
mmap 0x100000000000 0x10000 r-x private 0 0x0
= 0x100000000000
madvise 0x100000000000 0x10000 random
= 0
touch 0x100000003000 r
= ok
> 100000000000-100000010000 r-xp 00000000 dev1 ino1                        $DIR/f0$
> 100000080000-100000090000 r-xp 00000000 dev1 ino2                        $DIR/f3$
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me,rr$
> ~ 100000080000-100000090000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
mmap 0x100000020000 0x20000 r-- private 1 0x0
= 0x100000020000
madvise 0x100000020000 0x20000 sequential
= 0
touch 0x100000025000 r
= ok
> 100000000000-100000010000 r-xp 00000000 dev1 ino1                        $DIR/f0$
> 100000020000-100000040000 r--p 00000000 dev1 ino2                        $DIR/f1$
> 100000080000-100000090000 r-xp 00000000 dev1 ino3                        $DIR/f3$
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me,rr$
> ~ 100000020000-100000040000 Size=128 KernelPageSize=4 MMUPageSize=4 Rss=44 Pss=44 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=44 Private_Dirty=0 Referenced=44 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sr$
> ~ 100000080000-100000090000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
mmap 0x100000050000 0x8000 r-x private 2 0x4000
= 0x100000050000
touch 0x100000050000 r
= ok
> 100000000000-100000010000 r-xp 00000000 dev1 ino1                        $DIR/f0$
> 100000020000-100000040000 r--p 00000000 dev1 ino2                        $DIR/f1$
> 100000050000-100000058000 r-xp 00004000 dev1 ino3                        $DIR/f2$
> 100000080000-100000090000 r-xp 00000000 dev1 ino4                        $DIR/f3$
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me,rr$
> ~ 100000020000-100000040000 Size=128 KernelPageSize=4 MMUPageSize=4 Rss=44 Pss=44 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=44 Private_Dirty=0 Referenced=44 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sr$
> ~ 100000050000-100000058000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=32 Private_Dirty=0 Referenced=32 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
> ~ 100000080000-100000090000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
madvise 0x100000050000 0x8000 populate_read
= 0
madvise 0x100000050000 0x8000 populate_write
! EINVAL
mmap 0x100000060000 0x4000 rw- shared 2 0xe000
= 0x100000060000
madvise 0x100000060000 0x4000 populate_write
! EFAULT
> 100000000000-100000010000 r-xp 00000000 dev1 ino1                        $DIR/f0$
> 100000020000-100000040000 r--p 00000000 dev1 ino2                        $DIR/f1$
> 100000050000-100000058000 r-xp 00004000 dev1 ino3                        $DIR/f2$
> 100000060000-100000064000 rw-s 0000e000 dev1 ino3                        $DIR/f2$
> 100000080000-100000090000 r-xp 00000000 dev1 ino4                        $DIR/f3$
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me,rr$
> ~ 100000020000-100000040000 Size=128 KernelPageSize=4 MMUPageSize=4 Rss=44 Pss=44 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=44 Private_Dirty=0 Referenced=44 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sr$
> ~ 100000050000-100000058000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=32 Private_Dirty=0 Referenced=32 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
> ~ 100000060000-100000064000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000080000-100000090000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
madvise 0x100000060000 0x4000 populate_read
! EFAULT
madvise 0x100000060000 0x4000 remove
= 0
> 100000000000-100000010000 r-xp 00000000 dev1 ino1                        $DIR/f0$
> 100000020000-100000040000 r--p 00000000 dev1 ino2                        $DIR/f1$
> 100000050000-100000058000 r-xp 00004000 dev1 ino3                        $DIR/f2$
> 100000060000-100000064000 rw-s 0000e000 dev1 ino3                        $DIR/f2$
> 100000080000-100000090000 r-xp 00000000 dev1 ino4                        $DIR/f3$
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me,rr$
> ~ 100000020000-100000040000 Size=128 KernelPageSize=4 MMUPageSize=4 Rss=44 Pss=44 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=44 Private_Dirty=0 Referenced=44 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sr$
> ~ 100000050000-100000058000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=32 Private_Dirty=0 Referenced=32 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
> ~ 100000060000-100000064000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000080000-100000090000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
mmap 0x100000070000 0x2000 --- private|anonymous|fixed -1 0x0
= 0x100000070000
madvise 0x100000070000 0x2000 populate_read
! EINVAL
mmap 0x100000072000 0x2000 -w- private|anonymous|fixed -1 0x0
= 0x100000072000
madvise 0x100000072000 0x2000 populate_read
! EINVAL
madvise 0x100000072000 0x2000 populate_write
= 0
> 100000000000-100000010000 r-xp 00000000 dev1 ino1                        $DIR/f0$
> 100000020000-100000040000 r--p 00000000 dev1 ino2                        $DIR/f1$
> 100000050000-100000058000 r-xp 00004000 dev1 ino3                        $DIR/f2$
> 100000060000-100000064000 rw-s 0000e000 dev1 ino3                        $DIR/f2$
> 100000070000-100000072000 ---p 00000000 00:00 0 $
> 100000072000-100000074000 -w-p 00000000 00:00 0 $
> 100000080000-100000090000 r-xp 00000000 dev1 ino4                        $DIR/f3$
> ~ 100000000000-100000010000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me,rr$
> ~ 100000020000-100000040000 Size=128 KernelPageSize=4 MMUPageSize=4 Rss=44 Pss=44 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=44 Private_Dirty=0 Referenced=44 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sr$
> ~ 100000050000-100000058000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=32 Private_Dirty=0 Referenced=32 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
> ~ 100000060000-100000064000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000070000-100000072000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=mr,mw,me$
> ~ 100000072000-100000074000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=wr,mr,mw,me,ac$
> ~ 100000080000-100000090000 Size=64 KernelPageSize=4 MMUPageSize=4 Rss=52 Pss=52 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=52 Private_Dirty=0 Referenced=52 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,ex,mr,mw,me$
"""

MADVISE_AT_MAX_MAP_COUNT = """
# At the vm.max_map_count limit (fill: the process is 2 VMAs short of it), a flag advice
# whose splits would pass the limit fails with EAGAIN (split_vma's ENOMEM, reported as
# "resources temporarily unavailable"); the first of two splits stays, as for mprotect.
arena 0x100000000000 256
mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
fill 2
= 0
madvise 0x100000001000 0x1000 random
= 0
> 100000000000-100000001000 rw-p 00000000 00:00 0 $
> 100000001000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000004000 rw-p 00000000 00:00 0 $
madvise 0x100000001000 0x1000 normal
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
madvise 0x100000002000 0x1000 random
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
madvise 0x100000000000 0x1000 dontfork
! EAGAIN
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
mprotect 0x100000003000 0x1000 r--
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 r--p 00000000 00:00 0 $
madvise 0x100000002000 0x1000 dontfork
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 r--p 00000000 00:00 0 $
madvise 0x100000000000 0x4000 guard_install
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 r--p 00000000 00:00 0 $
madvise 0x100000000000 0x1000 dontneed
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 r--p 00000000 00:00 0 $
"""

PG_REFERENCED = """
# PG_referenced, which smaps counts as Referenced where the PTE is old (a fork child):
# populating a page twice activates its folio and clears the flag (classic LRU); the
# unmapping of a young page-cache PTE (MADV_DONTNEED) sets it. Guard markers make the
# shmem VMA's page table be copied to the child.
arena 0x100000000000 256
smaps all
mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
madvise 0x100000000000 0x2000 populate_write
= 0
madvise 0x100000000000 0x2000 populate_write
= 0
mmap 0x100000008000 0x2000 rw- private|anonymous|fixed -1 0x0
= 0x100000008000
madvise 0x100000008000 0x2000 populate_write
= 0
mmap 0x100000010000 0x4000 rw- shared|anonymous|fixed -1 0x0
= 0x100000010000
touch 0x100000010000 r
= ok
touch 0x100000011000 r
= ok
madvise 0x100000010000 0x1000 dontneed
= 0
touch 0x100000010000 r
= ok
madvise 0x100000013000 0x1000 guard_install
= 0
fork child
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000008000-10000000a000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000008000-10000000a000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=0 Shared_Clean=8 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
touch 0x100000011000 r
= ok
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000008000-10000000a000 rw-p 00000000 00:00 0 $
> 100000010000-100000014000 rw-s 00000000 dev1 ino1                        /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000008000-10000000a000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=0 Shared_Clean=8 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
"""

SEAL_AND_LOCK = """
# mseal and mlock meet madvise (issue 13, parts A and B together). A sealed anonymous
# VMA without PROT_WRITE refuses the discarding advice (DONTNEED, FREE, DONTFORK,
# WIPEONFORK, GUARD_INSTALL...) with EPERM (can_madvise_modify() in
# madvise_vma_behavior(), per VMA: the VMAs before it stay advised); other advice, a
# writable sealed VMA, a sealed file or shmem mapping are allowed. A VM_LOCKED VMA
# refuses DONTNEED, FREE, COLD, PAGEOUT, REMOVE and GUARD_INSTALL with EINVAL;
# DONTNEED_LOCKED drops its pages; GUARD_REMOVE and POPULATE work.
arena 0x100000000000 64
smaps all
locks
open 0 1 8 rdwr
= 0
# B+0..B+4: anonymous; B+0..B+2 read-only and sealed.
mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0
= 0x100000000000
touch 0x100000000000 w
= ok
touch 0x100000001000 w
= ok
touch 0x100000003000 w
= ok
mprotect 0x100000000000 0x2000 r--
= 0
mseal 0x100000000000 0x2000 0
= 0
madvise 0x100000000000 0x4000 dontneed
! EPERM
> 100000000000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000004000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000002000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000002000-100000004000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-100000002000 Locked=0 VmFlags=rd mr mw me ac sl$
> @ 100000002000-100000004000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
madvise 0x100000002000 0x2000 dontneed
= 0
madvise 0x100000000000 0x1000 free drain
! EPERM
madvise 0x100000000000 0x1000 dontfork
! EPERM
madvise 0x100000000000 0x1000 guard_install
! EPERM
madvise 0x100000000000 0x1000 cold drain
= 0
madvise 0x100000000000 0x1000 random
= 0
madvise 0x100000000000 0x1000 populate_write
! EINVAL
# a writable sealed VMA allows the discard: B+2 sealed, B+3 not, both rw-
mseal 0x100000002000 0x1000 0
= 0
madvise 0x100000002000 0x2000 wipeonfork
= 0
madvise 0x100000002000 0x2000 dontneed
= 0
# the VMAs before a refusing one stay advised: B+2..B+4 then B+0..B+2
madvise 0x100000002000 0x2000 dontdump
= 0
mmap 0x100000004000 0x2000 r-- private|anonymous|fixed -1 0
= 0x100000004000
mseal 0x100000004000 0x2000 0
= 0
touch 0x100000002000 w
= ok
touch 0x100000003000 w
= ok
madvise 0x100000002000 0x4000 dontneed
! EPERM
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000001000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 r--p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,rr,ac,sl$
> ~ 100000001000-100000002000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000002000-100000003000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd,sl$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sl$
> @ 100000000000-100000001000 Locked=0 VmFlags=rd mr mw me rr ac sl$
> @ 100000001000-100000002000 Locked=0 VmFlags=rd mr mw me ac sl$
> @ 100000002000-100000003000 Locked=0 VmFlags=rd wr mr mw me ac wf dd sl$
> @ 100000003000-100000004000 Locked=0 VmFlags=rd wr mr mw me ac wf dd$
> @ 100000004000-100000006000 Locked=0 VmFlags=rd mr mw me sl$
> @ VmLck=0$
# sealed read-only file and shmem mappings allow it
mmap 0x100000010000 0x4000 rw- private|fixed 0 0
= 0x100000010000
touch 0x100000010000 w
= ok
mprotect 0x100000010000 0x4000 r--
= 0
mseal 0x100000010000 0x4000 0
= 0
madvise 0x100000010000 0x4000 dontneed
= 0
mmap 0x100000020000 0x4000 r-- shared|anonymous|fixed -1 0
= 0x100000020000
touch 0x100000020000 r
= ok
mseal 0x100000020000 0x4000 0
= 0
madvise 0x100000020000 0x4000 remove
= 0
madvise 0x100000020000 0x4000 dontneed
= 0
# B+48..B+52: the first two pages mlocked
mmap 0x100000030000 0x4000 rw- private|anonymous|fixed -1 0
= 0x100000030000
touch 0x100000030000 w
= ok
mlock 0x100000030000 0x2000
= 0
madvise 0x100000030000 0x4000 dontneed
! EINVAL
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000001000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 r--p 00000000 00:00 0 $
> 100000010000-100000014000 r--p 00000000 dev1 ino1 @73 $DIR/f1$
> 100000020000-100000024000 r--s 00000000 dev2 ino2 @73 /dev/zero (deleted)$
> 100000030000-100000032000 rw-p 00000000 00:00 0 $
> 100000032000-100000034000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,rr,ac,sl$
> ~ 100000001000-100000002000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000002000-100000003000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd,sl$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sl$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=- Pss=- Pss_Dirty=- Shared_Clean=- Shared_Dirty=- Private_Clean=- Private_Dirty=- Referenced=- Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=- THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,sh,mr,mw,me,ms,sl$
> ~ 100000030000-100000032000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> ~ 100000032000-100000034000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-100000001000 Locked=0 VmFlags=rd mr mw me rr ac sl$
> @ 100000001000-100000002000 Locked=0 VmFlags=rd mr mw me ac sl$
> @ 100000002000-100000003000 Locked=0 VmFlags=rd wr mr mw me ac wf dd sl$
> @ 100000003000-100000004000 Locked=0 VmFlags=rd wr mr mw me ac wf dd$
> @ 100000004000-100000006000 Locked=0 VmFlags=rd mr mw me sl$
> @ 100000010000-100000014000 Locked=- VmFlags=rd mr mw me ac sl$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd sh mr mw me ms sl$
> @ 100000030000-100000032000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ 100000032000-100000034000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=8$
madvise 0x100000032000 0x2000 dontneed
= 0
madvise 0x100000030000 0x4000 dontneed_locked
= 0
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000001000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 r--p 00000000 00:00 0 $
> 100000010000-100000014000 r--p 00000000 dev1 ino1 @73 $DIR/f1$
> 100000020000-100000024000 r--s 00000000 dev2 ino2 @73 /dev/zero (deleted)$
> 100000030000-100000032000 rw-p 00000000 00:00 0 $
> 100000032000-100000034000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,rr,ac,sl$
> ~ 100000001000-100000002000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000002000-100000003000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd,sl$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sl$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=- Pss=- Pss_Dirty=- Shared_Clean=- Shared_Dirty=- Private_Clean=- Private_Dirty=- Referenced=- Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=- THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,sh,mr,mw,me,ms,sl$
> ~ 100000030000-100000032000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> ~ 100000032000-100000034000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-100000001000 Locked=0 VmFlags=rd mr mw me rr ac sl$
> @ 100000001000-100000002000 Locked=0 VmFlags=rd mr mw me ac sl$
> @ 100000002000-100000003000 Locked=0 VmFlags=rd wr mr mw me ac wf dd sl$
> @ 100000003000-100000004000 Locked=0 VmFlags=rd wr mr mw me ac wf dd$
> @ 100000004000-100000006000 Locked=0 VmFlags=rd mr mw me sl$
> @ 100000010000-100000014000 Locked=- VmFlags=rd mr mw me ac sl$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd sh mr mw me ms sl$
> @ 100000030000-100000032000 Locked=0 VmFlags=rd wr mr mw me lo ac$
> @ 100000032000-100000034000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=8$
touch 0x100000030000 w
= ok
madvise 0x100000030000 0x1000 free
! EINVAL
madvise 0x100000030000 0x1000 cold
! EINVAL
madvise 0x100000030000 0x1000 pageout
! EINVAL
madvise 0x100000030000 0x1000 guard_install
! EINVAL
madvise 0x100000031000 0x1000 guard_remove
= 0
madvise 0x100000030000 0x1000 remove
! EINVAL
madvise 0x100000030000 0x2000 populate_write
= 0
mlock2 0x100000032000 0x2000 onfault
= 0
madvise 0x100000032000 0x2000 populate_read
= 0
munlock 0x100000030000 0x4000
= 0
madvise 0x100000030000 0x1000 guard_install
= 0
# mlock over a guard marker: the VMA is locked (lo, VmLck 16 kB) but its population
# stops at the marker (EFAULT from GUP, which mlock reports as ENOMEM)
mlock 0x100000030000 0x4000
! ENOMEM
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000001000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 r--p 00000000 00:00 0 $
> 100000010000-100000014000 r--p 00000000 dev1 ino1 @73 $DIR/f1$
> 100000020000-100000024000 r--s 00000000 dev2 ino2 @73 /dev/zero (deleted)$
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,rr,ac,sl$
> ~ 100000001000-100000002000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000002000-100000003000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd,sl$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sl$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=- Pss=- Pss_Dirty=- Shared_Clean=- Shared_Dirty=- Private_Clean=- Private_Dirty=- Referenced=- Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=- THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,sh,mr,mw,me,ms,sl$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=4 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,lo,ac$
> @ 100000000000-100000001000 Locked=0 VmFlags=rd mr mw me rr ac sl$
> @ 100000001000-100000002000 Locked=0 VmFlags=rd mr mw me ac sl$
> @ 100000002000-100000003000 Locked=0 VmFlags=rd wr mr mw me ac wf dd sl$
> @ 100000003000-100000004000 Locked=0 VmFlags=rd wr mr mw me ac wf dd$
> @ 100000004000-100000006000 Locked=0 VmFlags=rd mr mw me sl$
> @ 100000010000-100000014000 Locked=- VmFlags=rd mr mw me ac sl$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd sh mr mw me ms sl$
> @ 100000030000-100000034000 Locked=4 VmFlags=rd wr mr mw me gu lo ac$
> @ VmLck=16$
# the child: no VM_LOCKED, seals kept
fork child
= 0
madvise 0x100000000000 0x1000 dontneed
! EPERM
madvise 0x100000030000 0x4000 dontneed
= 0
> 100000000000-100000001000 r--p 00000000 00:00 0 $
> 100000001000-100000002000 r--p 00000000 00:00 0 $
> 100000002000-100000003000 rw-p 00000000 00:00 0 $
> 100000003000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-100000006000 r--p 00000000 00:00 0 $
> 100000010000-100000014000 r--p 00000000 dev1 ino1 @73 $DIR/f1$
> 100000020000-100000024000 r--s 00000000 dev2 ino2 @73 /dev/zero (deleted)$
> 100000030000-100000034000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000001000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=2 Pss_Dirty=2 Shared_Clean=0 Shared_Dirty=4 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,rr,ac,sl$
> ~ 100000001000-100000002000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=2 Pss_Dirty=2 Shared_Clean=0 Shared_Dirty=4 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000002000-100000003000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd,sl$
> ~ 100000003000-100000004000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac,wf,dd$
> ~ 100000004000-100000006000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,sl$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=- Pss=- Pss_Dirty=- Shared_Clean=- Shared_Dirty=- Private_Clean=- Private_Dirty=- Referenced=- Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=- THPeligible=0 VmFlags=rd,mr,mw,me,ac,sl$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,sh,mr,mw,me,ms,sl$
> ~ 100000030000-100000034000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,gu,ac$
> @ 100000000000-100000001000 Locked=0 VmFlags=rd mr mw me rr ac sl$
> @ 100000001000-100000002000 Locked=0 VmFlags=rd mr mw me ac sl$
> @ 100000002000-100000003000 Locked=0 VmFlags=rd wr mr mw me ac wf dd sl$
> @ 100000003000-100000004000 Locked=0 VmFlags=rd wr mr mw me ac wf dd$
> @ 100000004000-100000006000 Locked=0 VmFlags=rd mr mw me sl$
> @ 100000010000-100000014000 Locked=- VmFlags=rd mr mw me ac sl$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd sh mr mw me ms sl$
> @ 100000030000-100000034000 Locked=0 VmFlags=rd wr mr mw me gu ac$
> @ VmLck=0$
"""

MLOCKED_ELSEWHERE = """
# The child of a process with mlocked memory: its PTEs are old and not VM_LOCKED, but the
# folios stay mlocked by the parent (PG_unevictable), and folio_mark_accessed leaves the
# PG_referenced of an unevictable folio alone: populating a page twice keeps Referenced.
# The same in memory nobody locked activates the folio and clears the flag. MADV_COLD
# passes over folios both processes map (folio_likely_mapped_shared): nothing changes.
arena 0x100000000000 256
smaps all
mmap 0x100000000000 0x8000 rw- private|anonymous|fixed -1 0x0
= 0x100000000000
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
mlock 0x100000000000 0x8000
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=32 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=32 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=32 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
mmap 0x100000010000 0x8000 rw- private|anonymous|fixed -1 0x0
= 0x100000010000
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=32 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=32 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=32 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000010000 0x8000 populate_write
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=32 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=32 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=32 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=32 Pss_Dirty=32 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=32 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
fork child
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000005000 0x1000 populate_read
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000005000 0x1000 populate_read
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000015000 0x1000 populate_read
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=28 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000006000 0x1000 populate_write
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=18 Pss_Dirty=18 Shared_Clean=0 Shared_Dirty=28 Private_Clean=0 Private_Dirty=4 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=28 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000003000 0x2000 cold
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=18 Pss_Dirty=18 Shared_Clean=0 Shared_Dirty=28 Private_Clean=0 Private_Dirty=4 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=28 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
madvise 0x100000003000 0x1000 populate_read
= 0
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> 100000010000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=18 Pss_Dirty=18 Shared_Clean=0 Shared_Dirty=28 Private_Clean=0 Private_Dirty=4 Referenced=32 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000018000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=32 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=32 Private_Clean=0 Private_Dirty=0 Referenced=28 Anonymous=32 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
"""

DONTUNMAP_KEEPS_MLOCK = """
# MREMAP_DONTUNMAP of part of a locked VMA: the moved pages keep VM_LOCKED with the new
# VMA; the source VMA loses VM_LOCKED without an munlock walk, so the folios it still
# maps stay mlocked (unevictable). MADV_PAGEOUT does not reclaim such a shmem folio,
# MADV_FREE does not lazy-free such an anonymous one (LazyFree stays 0 after the next
# drain), and munlock of the unlocked source changes nothing.
arena 0x100000000000 256
smaps all
locks
mmap 0x100000010000 0x4000 rw- shared|anonymous|fixed -1 0x0
= 0x100000010000
> 100000010000-100000014000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000014000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> @ 100000010000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ VmLck=0$
mlock2 0x100000010000 0x3000 0x0
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=12 Private_Dirty=0 Referenced=12 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=12 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> @ 100000010000-100000013000 Locked=12 VmFlags=rd wr sh mr mw me ms lo$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ VmLck=12$
mremap 0x100000010000 0x2000 0x2000 maymove|fixed|dontunmap 0x100000040000
= 0x100000040000
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ VmLck=20$
madvise 0x100000010000 0x4000 pageout
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ VmLck=20$
munlock 0x100000010000 0x4000
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ VmLck=20$
madvise 0x100000010000 0x4000 pageout
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ VmLck=20$
mmap 0x100000020000 0x4000 rw- private|anonymous|fixed -1 0x0
= 0x100000020000
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ VmLck=20$
mlock 0x100000020000 0x4000
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=16 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000020000-100000024000 Locked=16 VmFlags=rd wr mr mw me lo ac$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ VmLck=36$
mremap 0x100000020000 0x2000 0x2000 maymove|fixed|dontunmap 0x100000050000
= 0x100000050000
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000050000-100000052000 rw-p 00000000 00:00 0 $
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> ~ 100000050000-100000052000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ 100000050000-100000052000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ VmLck=44$
madvise 0x100000020000 0x4000 free
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000050000-100000052000 rw-p 00000000 00:00 0 $
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> ~ 100000050000-100000052000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ 100000050000-100000052000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ VmLck=44$
madvise 0x100000020000 0x4000 cold
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000050000-100000052000 rw-p 00000000 00:00 0 $
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> ~ 100000050000-100000052000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ 100000050000-100000052000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ VmLck=44$
madvise 0x100000020000 0x4000 pageout
= 0
> 100000010000-100000013000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000013000-100000014000 rw-s 00003000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000020000-100000024000 rw-p 00000000 00:00 0 $
> 100000040000-100000042000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000050000-100000052000 rw-p 00000000 00:00 0 $
> ~ 100000010000-100000013000 Size=12 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000013000-100000014000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> ~ 100000020000-100000024000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=0 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000040000-100000042000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=0 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,lo$
> ~ 100000050000-100000052000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> @ 100000010000-100000013000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000013000-100000014000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ 100000020000-100000024000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000040000-100000042000 Locked=8 VmFlags=rd wr sh mr mw me ms lo$
> @ 100000050000-100000052000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ VmLck=44$
"""

PAGEOUT_UNMAPS = """
# MADV_PAGEOUT on a machine without swap unmaps dirty page-cache and shmem folios
# (try_to_unmap_one) and puts them back active: the PTE's dirty bit goes to the folio,
# its young bit does not (no folio_mark_accessed, unlike a zap), so a page mapped again
# and seen through a fork child's old PTE is not Referenced. A clean shmem page (B+2,
# read-faulted) leaves the page cache. Guard markers make the VMAs' page tables be copied
# to the child.
arena 0x100000000000 256
smaps all files
open 0 0 4 rdwr
= 0
> (empty)
mmap 0x100000000000 0x4000 rw- shared|anonymous|fixed -1 0x0
= 0x100000000000
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000001000 w
= ok
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000002000 r
= ok
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x100000000000 0x4000 pageout
= 0
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000001000 r
= ok
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000002000 r
= ok
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x100000003000 0x1000 guard_install
= 0
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
mmap 0x100000008000 0x4000 rw- shared|fixed 0 0x0
= 0x100000008000
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000008000-10000000c000 rw-s 00000000 dev2 ino2 @73 $DIR/f0$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 100000008000-10000000c000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000008000 w
= ok
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000008000-10000000c000 rw-s 00000000 dev2 ino2 @73 $DIR/f0$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 100000008000-10000000c000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x100000008000 0x4000 pageout
= 0
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000008000-10000000c000 rw-s 00000000 dev2 ino2 @73 $DIR/f0$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 100000008000-10000000c000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
touch 0x100000008000 r
= ok
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000008000-10000000c000 rw-s 00000000 dev2 ino2 @73 $DIR/f0$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 100000008000-10000000c000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=12 Private_Dirty=4 Referenced=16 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
madvise 0x10000000b000 0x1000 guard_install
= 0
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000008000-10000000c000 rw-s 00000000 dev2 ino2 @73 $DIR/f0$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=8 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 100000008000-10000000c000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=8 Private_Dirty=4 Referenced=12 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
fork child
= 0
> 100000000000-100000004000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 100000008000-10000000c000 rw-s 00000000 dev2 ino2 @73 $DIR/f0$
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=2 Shared_Clean=4 Shared_Dirty=4 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 100000008000-10000000c000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=6 Pss_Dirty=2 Shared_Clean=8 Shared_Dirty=4 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
"""

MLOCK_FAULT_ACTIVATES = """
# A folio that mlock's own populate faults into a VM_LOCKED VMA is PG_mlocked at once
# (mlock_vma_folio -> mlock_folio) but PG_unevictable only when the per-CPU mlock batch
# drains (__mlock_folio), so the populate's FOLL_TOUCH (folio_mark_accessed) finds it
# evictable: a folio already PG_referenced (the young PTE MADV_DONTNEED zapped) is
# activated and loses the bit, and a fork child's old PTE shows Referenced=0 (random
# seed 300303 of generate_seal_lock, minimised). Guard markers make the shmem VMA's page
# tables be copied to the child; the DONTNEED's range starts in a hole (ENOMEM after
# zapping what is mapped).
arena 0x100000000000 256
smaps all
locks
mmap 0x1000000e6000 0x1a000 rw- shared|anonymous|fixed -1 0x0
= 0x1000000e6000
> 1000000e6000-100000100000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 1000000e6000-100000100000 Size=104 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms$
> @ 1000000e6000-100000100000 Locked=0 VmFlags=rd wr sh mr mw me ms$
> @ VmLck=0$
madvise 0x1000000e6000 0x4000 guard_install
= 0
> 1000000e6000-100000100000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 1000000e6000-100000100000 Size=104 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> @ 1000000e6000-100000100000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ VmLck=0$
touch 0x1000000ec520 r
= ok
> 1000000e6000-100000100000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 1000000e6000-100000100000 Size=104 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> @ 1000000e6000-100000100000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ VmLck=0$
madvise 0x1000000e3000 0x1d000 dontneed
! ENOMEM
> 1000000e6000-100000100000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 1000000e6000-100000100000 Size=104 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> @ 1000000e6000-100000100000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ VmLck=0$
mlock 0x1000000ec000 0x1000
= 0
> 1000000e6000-1000000ec000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 1000000ec000-1000000ed000 rw-s 00006000 dev1 ino1 @73 /dev/zero (deleted)$
> 1000000ed000-100000100000 rw-s 00007000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 1000000e6000-1000000ec000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 1000000ec000-1000000ed000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=0 Referenced=4 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=4 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu,lo$
> ~ 1000000ed000-100000100000 Size=76 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> @ 1000000e6000-1000000ec000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ 1000000ec000-1000000ed000 Locked=4 VmFlags=rd wr sh mr mw me ms gu lo$
> @ 1000000ed000-100000100000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ VmLck=4$
fork child
= 0
> 1000000e6000-1000000ec000 rw-s 00000000 dev1 ino1 @73 /dev/zero (deleted)$
> 1000000ec000-1000000ed000 rw-s 00006000 dev1 ino1 @73 /dev/zero (deleted)$
> 1000000ed000-100000100000 rw-s 00007000 dev1 ino1 @73 /dev/zero (deleted)$
> ~ 1000000e6000-1000000ec000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 1000000ec000-1000000ed000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=2 Pss_Dirty=0 Shared_Clean=4 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> ~ 1000000ed000-100000100000 Size=76 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,sh,mr,mw,me,ms,gu$
> @ 1000000e6000-1000000ec000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ 1000000ec000-1000000ed000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ 1000000ed000-100000100000 Locked=0 VmFlags=rd wr sh mr mw me ms gu$
> @ VmLck=0$
"""

DROPPABLE = """
# MAP_DROPPABLE (6.11+, the getrandom() vDSO state of glibc 2.41 and Go 1.24): private
# anonymous memory with VM_DROPPABLE, VM_NORESERVE, VM_WIPEONFORK and VM_DONTDUMP
# ("nr wf dd dp"). It cannot be MAP_LOCKED, grow down or be a file (EINVAL); mlock and
# mlockall populate it but never lock it, and under MCL_FUTURE a new droppable mapping is
# tried for merging with VM_LOCKED, so it merges with no droppable neighbour; KEEPONFORK
# and DODUMP are EINVAL, MERGEABLE is ignored. Its folios are never swap-backed: FREE makes
# a page LazyFree at once (no drain), PAGEOUT drops pages whether dirty or not. A fork
# child gets it empty.
arena 0x100000000000 256
smaps all
locks
mmap 0x100000000000 0x8000 rw- droppable|anonymous|fixed -1 0
= 0x100000000000
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000008000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
touch 0x100000000000 w
= ok
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000008000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
touch 0x100000001000 w
= ok
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000008000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
touch 0x100000002000 w
= ok
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000008000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
touch 0x100000003000 r
= ok
> 100000000000-100000008000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000008000 Size=32 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000008000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
mmap 0x100000008000 0x2000 rw- droppable|anonymous|fixed -1 0
= 0x100000008000
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
mmap 0x10000000a000 0x2000 rw- private|anonymous|fixed -1 0
= 0x10000000a000
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mmap 0x100000010000 0x1000 rw- droppable|anonymous|fixed|growsdown -1 0
! EINVAL
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mmap 0x100000010000 0x1000 rw- droppable|anonymous|fixed|locked -1 0
! EINVAL
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mmap 0x100000010000 0x1000 rw- shared|droppable|anonymous|fixed -1 0
! EINVAL
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mprotect 0x100000002000 0x1000 r--
= 0
> 100000000000-100000002000 rw-p 00000000 00:00 0 $
> 100000002000-100000003000 r--p 00000000 00:00 0 $
> 100000003000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000002000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000002000-100000003000 Size=4 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,mr,mw,me,nr,wf,dd,dp$
> ~ 100000003000-10000000a000 Size=28 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-100000002000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000002000-100000003000 Locked=0 VmFlags=rd mr mw me nr wf dd dp$
> @ 100000003000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mprotect 0x100000002000 0x1000 rw-
= 0
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=12 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=12 Referenced=12 Anonymous=12 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
madvise 0x100000000000 0x1000 free
= 0
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=12 Pss=12 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=8 Referenced=8 Anonymous=12 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
madvise 0x100000001000 0x1000 pageout drain
= 0
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=4 Anonymous=8 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
madvise 0x100000000000 0x8000 keeponfork
! EINVAL
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=4 Anonymous=8 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
madvise 0x100000000000 0x8000 dodump
! EINVAL
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=4 Anonymous=8 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
madvise 0x100000000000 0x8000 mergeable
= 0
> 100000000000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-10000000a000 Size=40 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=4 Anonymous=8 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
madvise 0x100000000000 0x4000 dontfork
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=4 Anonymous=8 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mlock 0x100000004000 0x2000
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=4 Anonymous=8 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mlock2 0x100000006000 0x2000 onfault
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=4 Private_Dirty=4 Referenced=4 Anonymous=8 KSM=0 LazyFree=4 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ VmLck=0$
mlockall current|future
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=24 Pss=24 Pss_Dirty=24 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=24 Referenced=24 Anonymous=24 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ VmLck=8$
mmap 0x100000010000 0x2000 rw- droppable|anonymous|fixed -1 0
= 0x100000010000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=24 Pss=24 Pss_Dirty=24 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=24 Referenced=24 Anonymous=24 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=8$
mmap 0x100000012000 0x2000 rw- droppable|anonymous|fixed -1 0
= 0x100000012000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=24 Pss=24 Pss_Dirty=24 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=24 Referenced=24 Anonymous=24 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=8 THPeligible=0 VmFlags=rd,wr,mr,mw,me,lo,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000012000-100000014000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=8 VmFlags=rd wr mr mw me lo ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000012000-100000014000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=8$
munlockall
= 0
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000014000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=24 Pss=24 Pss_Dirty=24 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=24 Referenced=24 Anonymous=24 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000012000-100000014000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000012000-100000014000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
mmap 0x100000014000 0x2000 rw- droppable|anonymous|fixed -1 0
= 0x100000014000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000016000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=24 Pss=24 Pss_Dirty=24 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=24 Referenced=24 Anonymous=24 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000012000-100000016000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000012000-100000016000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
mremap 0x100000014000 0x2000 0x4000 0 0
= 0x100000014000
> 100000000000-100000004000 rw-p 00000000 00:00 0 $
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000000000-100000004000 Size=16 KernelPageSize=4 MMUPageSize=4 Rss=16 Pss=16 Pss_Dirty=16 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=16 Referenced=16 Anonymous=16 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,dc,nr,wf,dd,dp$
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=24 Pss=24 Pss_Dirty=24 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=24 Referenced=24 Anonymous=24 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000012000-100000018000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=8 Pss_Dirty=8 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=8 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000000000-100000004000 Locked=0 VmFlags=rd wr mr mw me dc nr wf dd dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000012000-100000018000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
fork child
= 0
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000012000-100000018000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000012000-100000018000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
touch 0x100000008000 r
= ok
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000012000-100000018000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000012000-100000018000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
touch 0x100000009000 w
= ok
> 100000004000-10000000a000 rw-p 00000000 00:00 0 $
> 10000000a000-10000000c000 rw-p 00000000 00:00 0 $
> 100000010000-100000012000 rw-p 00000000 00:00 0 $
> 100000012000-100000018000 rw-p 00000000 00:00 0 $
> ~ 100000004000-10000000a000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=4 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=4 Referenced=4 Anonymous=4 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 10000000a000-10000000c000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=8 Pss=4 Pss_Dirty=4 Shared_Clean=0 Shared_Dirty=8 Private_Clean=0 Private_Dirty=0 Referenced=8 Anonymous=8 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,ac$
> ~ 100000010000-100000012000 Size=8 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> ~ 100000012000-100000018000 Size=24 KernelPageSize=4 MMUPageSize=4 Rss=0 Pss=0 Pss_Dirty=0 Shared_Clean=0 Shared_Dirty=0 Private_Clean=0 Private_Dirty=0 Referenced=0 Anonymous=0 KSM=0 LazyFree=0 AnonHugePages=0 ShmemPmdMapped=0 FilePmdMapped=0 Shared_Hugetlb=0 Private_Hugetlb=0 Swap=0 SwapPss=0 Locked=0 THPeligible=0 VmFlags=rd,wr,mr,mw,me,nr,wf,dd,dp$
> @ 100000004000-10000000a000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 10000000a000-10000000c000 Locked=0 VmFlags=rd wr mr mw me ac$
> @ 100000010000-100000012000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ 100000012000-100000018000 Locked=0 VmFlags=rd wr mr mw me nr wf dd dp$
> @ VmLck=0$
"""

MADVISE_FIXED_TRACES: dict[str, str] = {
    "flags": MADVISE_FLAGS,
    "memory": MADVISE_MEMORY,
    "guard": GUARD_REGIONS,
    "fork": FORK_CHILD_VIEW,
    "exec": READAHEAD_AND_POPULATE,
    "boundary": MADVISE_AT_MAX_MAP_COUNT,
    "referenced": PG_REFERENCED,
    "seal_lock": SEAL_AND_LOCK,
    "mlocked_elsewhere": MLOCKED_ELSEWHERE,
    "dontunmap_keeps_mlock": DONTUNMAP_KEEPS_MLOCK,
    "pageout_unmaps": PAGEOUT_UNMAPS,
    "mlock_fault_activates": MLOCK_FAULT_ACTIVATES,
    "droppable": DROPPABLE,
}
