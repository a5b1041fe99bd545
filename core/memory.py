"""``handle_mm_fault`` and the page work below it (mm/memory.c, mm/filemap.c).

Reached from :func:`core.fault.do_user_addr_fault` with the fault's lock held (the
VMA's read lock, or ``mmap_lock`` for read): make the page at an address present for
an access, or say why not, as ``vm_fault_t`` bits. Faults of anonymous memory map the
shared zero page (read) or a new page (write, :func:`do_anonymous_page`); file faults
map the page cache page (fault-around first, read-around on a miss, SIGBUS beyond EOF),
copy it for a private write (``do_cow_fault``) or dirty it for a shared one; a write to
a present read-only page copies it unless this mm holds the only mapping
(``do_wp_page``). Under the VMA lock an anon_vma allocation that cannot take
``mmap_lock`` at once returns ``VM_FAULT_RETRY`` (``vmf_anon_prepare``), and so does a
page-cache miss (the read runs with the lock dropped), as in 6.18.

A guard marker (MADV_GUARD_INSTALL) makes the fault ``VM_FAULT_SIGSEGV``
(``handle_pte_marker``). An access to a page that is already present does not fault on
the CPU; the simulator's touch of it sets what the hardware sets, the PTE's accessed bit
(and dirty bit for a write).

Read-ahead on a page-cache miss follows ``do_sync_mmap_readahead`` (mm/filemap.c):
none for ``VM_RAND_READ`` (unless ``VM_EXEC``), forward from the page for
``VM_SEQ_READ``, two PMD-sized blocks for ``VM_HUGEPAGE``, from the page to the end of
the VMA for ``VM_EXEC`` (executable memory is accessed randomly: no read-behind, no
async marker), and ``ra_pages`` centred on the page otherwise.

Simplified: no THP/mTHP, swap, userfaultfd, hugetlb or NUMA hinting; the mmap_miss
cut-off of read-around and asynchronous readahead are not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .constants import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_EXEC,
    VM_HUGEPAGE,
    VM_MAYWRITE,
    VM_RAND_READ,
    VM_SEQ_READ,
    VM_SHARED,
)
from .errors import ResidentLimitExceeded
from .pages import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    ZERO_PAGE,
    AnonPage,
    Page,
    PageCache,
    PageKind,
    PageName,
    check_limit,
    check_ram,
    file_pages,
    linear_page_index,
    materialize,
    page_cache,
    replace_pte,
    run_at,
    set_pte,
)
from .rmap import anon_vma_prepare

if TYPE_CHECKING:
    from .fault import Access
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "VM_FAULT_ERROR",
    "VM_FAULT_MAJOR",
    "VM_FAULT_OK",
    "VM_FAULT_RETRY",
    "VM_FAULT_SIGBUS",
    "VM_FAULT_SIGSEGV",
    "do_anonymous_page",
    "handle_mm_fault",
    "mm_account_fault",
    "vmf_anon_prepare",
]

# vm_fault_t bits (include/linux/mm_types.h) used here.
VM_FAULT_OK: Final = 0
VM_FAULT_SIGBUS: Final = 0x2
VM_FAULT_MAJOR: Final = 0x4
VM_FAULT_SIGSEGV: Final = 0x40
VM_FAULT_RETRY: Final = 0x400
VM_FAULT_ERROR: Final = VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV


def vmf_anon_prepare(mm: Mm, vma: Vma, vma_locked: bool) -> int:
    """``vmf_anon_prepare``: under the VMA lock, ``mmap_read_trylock`` first and return
    VM_FAULT_RETRY if it fails (a VMA-lock holder may not block on mmap_lock)."""
    if vma.anon_vma is not None:
        return VM_FAULT_OK
    if vma_locked:
        mm.pause("fault:before_anon_trylock")
        if not mm.mmap_lock.read_trylock():
            return VM_FAULT_RETRY
        try:
            anon_vma_prepare(mm, vma)
        finally:
            mm.mmap_lock.read_unlock()
    else:
        anon_vma_prepare(mm, vma)
    return VM_FAULT_OK


def handle_mm_fault(
    mm: Mm, vma: Vma, addr: int, access: Access, vma_locked: bool
) -> tuple[int, PageName | None]:
    """``handle_mm_fault``: make the page at ``addr`` present for ``access``. Returns the
    vm_fault_t bits and the page kind mapped. Caller holds the VMA read lock
    (``vma_locked``) or ``mmap_lock`` for read, and has passed ``access_error``. Raises
    ResidentLimitExceeded (nothing changed) if a page is needed beyond the limit. O(1).
    """
    write = access == "write"
    flags = vma.vm_flags
    # sanitize_fault_flags(): a write to a VMA that may never be writable.
    if write and not flags & VM_MAYWRITE:
        return VM_FAULT_SIGSEGV, None
    page_addr = addr & PAGE_MASK
    pages = vma.pages
    present = pages.get(page_addr) if pages else None
    if present is None and vma.runs:
        run = run_at(vma, page_addr)
        if run is not None:
            if not run.zero and run.group is None and not run.old:
                # Exclusive anonymous, its PTE young and dirty already: neither a read
                # nor a write (wp_can_reuse_anon_folio) changes anything.
                return VM_FAULT_OK, "anon"
            if run.zero and not write:
                return VM_FAULT_OK, "zero"
            # A write to the zero page copies it (wp_page_copy), an access to an old PTE
            # makes it young, a write to a folio fork shared copies or reuses it: that
            # PTE leaves its run (the folios it shares become pages in every mm).
            with mm.page_lock:
                materialize(mm, vma, page_addr, page_addr + PAGE_SIZE)
            pages = vma.pages
            present = pages.get(page_addr) if pages else None
    if present is not None:
        if present.kind is PageKind.GUARD:
            return VM_FAULT_SIGSEGV, None  # handle_pte_marker(): a guard region
        if not write:
            if mm.old_ptes:
                with mm.page_lock:
                    mm.old_ptes.discard(page_addr)  # the CPU sets the accessed bit
            return VM_FAULT_OK, present.kind.value
        return _do_wp_page(mm, vma, page_addr, present, vma_locked)
    file = vma.vm_file
    if file is None:
        if vma.special_name is not None:
            return VM_FAULT_OK, None  # vdso/vvar: pages inserted by the driver
        return do_anonymous_page(mm, vma, page_addr, write, vma_locked)
    return _do_fault(mm, vma, page_addr, write, vma_locked)


def do_anonymous_page(
    mm: Mm, vma: Vma, addr: int, write: bool, vma_locked: bool, nowait: bool = False
) -> tuple[int, PageName | None]:
    """``do_anonymous_page`` for the page-aligned ``addr`` of the anonymous ``vma``: the
    shared zero page for a read (no anon_vma, no RSS), a new anonymous page for a write.

    The one implementation of the benchmarked fault: :func:`core.fault.do_user_addr_fault`
    calls it directly for an anonymous write under the VMA lock, and :func:`handle_mm_fault`
    for every other anonymous fault. Caller holds the VMA read lock (``vma_locked``) or
    ``mmap_lock`` for read. Raises ResidentLimitExceeded (nothing changed) past the limit.
    O(1).

    ``nowait`` (a write only; :func:`core.fault.do_user_addr_fault_nowait`, after the
    kernel's ``FAULT_FLAG_RETRY_NOWAIT``): return ``VM_FAULT_RETRY`` with nothing changed
    instead of waiting for the page lock, preparing an anon_vma, taking a page out of a
    run, or raising ResidentLimitExceeded: the caller redoes the fault where it may wait.
    """
    if not write:
        with mm.page_lock:
            if vma.pages is None or addr not in vma.pages:
                run = run_at(vma, addr) if vma.runs else None
                if run is not None:  # raced with a populate
                    if run.old:  # the CPU sets the accessed bit
                        materialize(mm, vma, addr, addr + PAGE_SIZE)
                        mm.old_ptes.discard(addr)
                    return VM_FAULT_OK, "zero" if run.zero else "anon"
                set_pte(mm, vma, addr, ZERO_PAGE)
        return VM_FAULT_OK, "zero"
    if vma.anon_vma is None:
        if nowait:
            return VM_FAULT_RETRY, None
        ret = vmf_anon_prepare(mm, vma, vma_locked)
        if ret:
            return ret, None
    # folio_prealloc() runs before the page-table lock is taken, as in the kernel; under
    # it the PTE is checked again (a racing fault may have mapped the page: then this
    # fault just returns). The lock's acquire/release are its bound C methods, not a
    # ``with`` block: two Python frames fewer on the hottest path.
    page = AnonPage()
    lock = mm.page_lock
    if not lock.acquire(False):
        if nowait:
            return VM_FAULT_RETRY, None  # never counted contended: nobody waited
        lock.contended()
        lock.acquire()
    lock.acquired()
    try:
        pages = vma.pages
        if pages is not None and addr in pages:
            return VM_FAULT_OK, pages[addr].kind.value
        if vma.runs is not None:
            run = run_at(vma, addr)
            if run is not None:  # a page of a run (core/pages.py): present
                if not run.zero and run.group is None and not run.old:
                    return VM_FAULT_OK, "anon"
                if nowait:
                    return VM_FAULT_RETRY, None  # the page would leave its run
                if not run.zero:
                    # Shared by fork, or its PTE old: the page leaves its run and takes
                    # the present page's write fault (do_wp_page()).
                    materialize(mm, vma, addr, addr + PAGE_SIZE)
                    lock.release()  # handle_mm_fault() takes it again
                    try:
                        return handle_mm_fault(mm, vma, addr, "write", vma_locked)
                    finally:
                        lock.acquire()  # released by the finally below
                # The zero page (a run of its PTEs): wp_page_copy() copies it.
                check_limit(mm, addr)
                materialize(mm, vma, addr, addr + PAGE_SIZE)
                replace_pte(mm, vma, addr, page)
                return VM_FAULT_OK, "cow"
        limit = mm.resident_limit()
        if limit is not None:
            stat = mm.rss_stat
            if stat[MM_FILEPAGES] + stat[MM_ANONPAGES] + stat[MM_SHMEMPAGES] >= limit:
                if nowait:
                    return VM_FAULT_RETRY, None
                raise ResidentLimitExceeded(limit, addr)
        if mm.machine_resident[0] >= mm.ram_pages():
            if nowait:
                return VM_FAULT_RETRY, None
            raise ResidentLimitExceeded(mm.ram_pages(), addr, machine=True)
        set_pte(mm, vma, addr, page)
    finally:
        lock.release()
    return VM_FAULT_OK, "anon"


def _do_fault(
    mm: Mm, vma: Vma, addr: int, write: bool, vma_locked: bool
) -> tuple[int, PageName | None]:
    """``do_fault``: ``do_read_fault`` (fault-around first), ``do_cow_fault`` (private
    write: an anonymous copy) or ``do_shared_fault`` (the page-cache page, dirtied)."""
    file = vma.vm_file
    assert file is not None
    inode = file.inode
    cow = write and not vma.vm_flags & VM_SHARED
    if cow:
        # do_cow_fault(): the anon_vma first, then the page-cache page to copy.
        ret = vmf_anon_prepare(mm, vma, vma_locked)
        if ret:
            return ret, None
    index = linear_page_index(vma, addr)
    with mm.page_lock:
        if vma.pages is not None and addr in vma.pages:
            return VM_FAULT_OK, vma.pages[addr].kind.value  # raced with another fault
        cache = page_cache(inode)
        if not write and _do_fault_around(mm, vma, addr, index, cache, file_pages(inode)):
            return VM_FAULT_OK, vma.pages[addr].kind.value  # type: ignore[index]
        # __do_fault() -> filemap_fault() / shmem_fault()
        if index >= file_pages(inode):
            return VM_FAULT_SIGBUS, None  # beyond EOF
        page = cache.pages.get(index)
        if page is None:
            if not cache.shmem:
                # filemap_fault(): a page-cache miss is a major fault. The read
                # (do_sync_mmap_readahead, or the single page) runs with the fault
                # lock dropped, so the fault returns VM_FAULT_RETRY and is redone,
                # finding the pages cached.
                do_sync_mmap_readahead(vma, cache, index, file_pages(inode))
                return VM_FAULT_MAJOR | VM_FAULT_RETRY, None
            check_limit(mm, addr)
            page = Page(PageKind.SHMEM, index=index)  # shmem_get_folio(): allocate
            cache.pages[index] = page
        check_limit(mm, addr)
        if cow:
            set_pte(mm, vma, addr, AnonPage())
            return VM_FAULT_OK, "cow"
        if write:
            page.dirty = True
        set_pte(mm, vma, addr, page)
        return VM_FAULT_OK, page.kind.value


FAULT_AROUND_PAGES: Final = 16  # fault_around_bytes = 64 KiB
RA_PAGES: Final = 2048  # read_ahead_kb = 8192 on the host's root device (bdi 254:0, /dev/vda)
PTRS_PER_PTE: Final = 512


HPAGE_PMD_NR: Final = 512


def readahead(cache: PageCache, first: int, last: int, eof: int) -> None:
    """Read pages ``[first, last)`` of the file into its page cache, clamped to EOF
    (``page_cache_ra_order`` with order-0 folios). Caller holds the page lock."""
    kind = PageKind.SHMEM if cache.shmem else PageKind.FILE
    pages = cache.pages
    for i in range(max(0, first), min(eof, last)):
        if i not in pages:
            pages[i] = Page(kind, index=i)


def do_sync_mmap_readahead(vma: Vma, cache: PageCache, index: int, eof: int) -> None:
    """``do_sync_mmap_readahead`` + ``filemap_fault``'s read of the missing page ``index``
    of a regular file mapped by ``vma``. (The mmap_miss cut-off after 100 misses and the
    PG_readahead marker of async readahead are not modelled.) Caller holds the page lock.
    """
    flags = vma.vm_flags
    if flags & VM_HUGEPAGE:
        # force_thp_readahead: two PMD folios from the aligned index (one with RAND).
        first = index & ~(HPAGE_PMD_NR - 1)
        size = HPAGE_PMD_NR if flags & VM_RAND_READ else 2 * HPAGE_PMD_NR
        readahead(cache, first, first + size, eof)
    elif flags & (VM_RAND_READ | VM_EXEC) == VM_RAND_READ:
        readahead(cache, index, index + 1, eof)  # no read-ahead: the page alone
    elif flags & VM_SEQ_READ:
        readahead(cache, index, index + RA_PAGES, eof)  # page_cache_sync_ra()
    elif flags & VM_EXEC:
        # Executable memory: from the page (order-0 folios on x86) to the VMA's end.
        end = vma.vm_pgoff + vma.pages_count
        readahead(cache, index, min(index + RA_PAGES, end), eof)
    else:
        # mmap read-around: ra_pages centred on the page.
        start = max(0, index - RA_PAGES // 2)
        readahead(cache, start, start + RA_PAGES, eof)


def _do_fault_around(mm: Mm, vma: Vma, addr: int, index: int, cache: PageCache, eof: int) -> bool:
    """``do_fault_around`` + ``filemap_map_pages``: map the cached pages of the 16-page
    aligned window around ``addr`` (inside the VMA, the page table and the file) whose
    PTEs are empty. True if the faulting page got mapped. Caller holds ``mm.page_lock``."""
    pte_off = (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
    vma_off = index - vma.vm_pgoff
    from_pte = max(pte_off & ~(FAULT_AROUND_PAGES - 1), pte_off - min(pte_off, vma_off))
    to_pte = min(from_pte + FAULT_AROUND_PAGES, PTRS_PER_PTE, pte_off + vma.pages_count - vma_off)
    first = index - (pte_off - from_pte)
    last = min(index + (to_pte - 1 - pte_off), eof - 1)
    pages = cache.pages
    limit = mm.resident_limit()
    mapped = False
    for i in range(first, last + 1):
        page = pages.get(i)
        if page is None:
            continue
        at = addr + ((i - index) << PAGE_SHIFT)
        if vma.pages is not None and at in vma.pages:
            continue
        if limit is not None and mm.get_rss() >= limit:
            break
        if page.mapcount == 0 and mm.machine_resident[0] >= mm.ram_pages():
            break  # fault-around maps only what fits
        set_pte(mm, vma, at, page)
        mapped = mapped or i == index
    return mapped


def _mark_written(mm: Mm, addr: int) -> None:
    # A write through a writable PTE: the CPU sets its accessed and dirty bits.
    with mm.page_lock:
        mm.old_ptes.discard(addr)
        mm.clean_ptes.discard(addr)


def _do_wp_page(
    mm: Mm, vma: Vma, addr: int, page: Page, vma_locked: bool
) -> tuple[int, PageName | None]:
    if vma.vm_flags & VM_SHARED and page.kind is not PageKind.ZERO:
        if page.kind is PageKind.SHMEM:
            # shmem has no write-notify: its PTE is writable already and the CPU's
            # write sets the PTE's dirty bit only.
            with mm.page_lock:
                mm.old_ptes.discard(addr)
                mm.dirty_ptes.add(addr)
            return VM_FAULT_OK, page.kind.value
        # wp_page_shared(): a write-protected PTE of a file: the fault dirties the folio.
        with mm.page_lock:
            page.dirty = True
        _mark_written(mm, addr)
        return VM_FAULT_OK, page.kind.value
    if page.kind is PageKind.ANON and page.mapcount == 1:
        _mark_written(mm, addr)
        return VM_FAULT_OK, "anon"  # wp_can_reuse_anon_folio(): exclusive, reuse it
    ret = vmf_anon_prepare(mm, vma, vma_locked)  # wp_page_copy() needs the anon_vma
    if ret:
        return ret, None
    with mm.page_lock:
        current = vma.pages.get(addr) if vma.pages else None
        if current is not page:  # raced with another fault on this page
            return VM_FAULT_OK, current.kind.value if current is not None else None
        if page.kind is PageKind.ANON and page.mapcount == 1:
            mm.old_ptes.discard(addr)
            mm.clean_ptes.discard(addr)
            return VM_FAULT_OK, "anon"
        if page.kind is PageKind.ZERO:  # the only copy that raises this mm's RSS
            check_limit(mm, addr)
        else:  # a new page on the machine all the same
            check_ram(mm, addr)
        replace_pte(mm, vma, addr, AnonPage())
    return VM_FAULT_OK, "cow"


def mm_account_fault(mm: Mm, ret: int, tried: bool) -> bool:
    """``mm_account_fault``: a completed fault counts ``pgfault`` (errors too) and, if it
    succeeded, ``maj_flt``/``pgmajfault`` (``VM_FAULT_MAJOR``, or a retried fault:
    ``FAULT_FLAG_TRIED``) or ``min_flt``. A ``VM_FAULT_RETRY`` result is accounted when
    the retry completes. Returns whether the fault was major. O(1)."""
    if ret & VM_FAULT_RETRY:
        return False
    events = mm.vm_events
    events.count("pgfault")
    if ret & VM_FAULT_ERROR:
        return False
    major = bool(ret & VM_FAULT_MAJOR) or tried
    if major:
        mm.maj_flt += 1
        events.count("pgmajfault")
    else:
        mm.min_flt += 1
    return major
