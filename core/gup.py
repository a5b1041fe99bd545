"""Populating a range from inside the kernel (mm/gup.c): ``MAP_POPULATE``, ``MAP_LOCKED``,
``MADV_POPULATE_READ``/``MADV_POPULATE_WRITE``.

``__mm_populate`` walks the VMAs of a range under ``mmap_lock`` for read and hands each
part to ``populate_vma_page_range``, which faults the pages in through
``__get_user_pages``: ``follow_page`` first (a page already present, writable when a
write is wanted, needs nothing), else ``faultin_page`` -> ``handle_mm_fault`` (a
``VM_FAULT_RETRY`` is retried with ``FAULT_FLAG_TRIED``, which accounts it as major).
A private writable VMA is touched with write faults, to break COW now; any other VMA
with read faults (``FOLL_FORCE``: a write-only or exec-only VMA is populated too). A
``VM_LOCKONFAULT`` VMA is skipped, ``VM_IO``/``VM_PFNMAP`` ones too, and a ``PROT_NONE``
one fails (-EFAULT: ``mlock`` of it returns ENOMEM, ``mmap`` ignores it). These faults are
accounted like user faults (``mm_account_fault`` with no ``regs``: ``pgfault`` and the
task's ``min_flt``/``maj_flt``) but take no per-VMA lock, so they count no
``vma_lock_*`` events.

The running 6.18 kernel, ``MAP_POPULATE`` on 4-page anonymous mappings: ``rw-p``,
``-w-p``: 16 kB resident, anonymous; ``r--p``, ``--xp``, ``---p``: nothing resident
(read faults map the shared zero page, which ``Rss`` does not count); ``rw-s``: 16 kB
(shmem pages); with ``MAP_NONBLOCK`` too: nothing (``do_mmap`` populates only
``MAP_POPULATE`` without ``MAP_NONBLOCK``, or a ``VM_LOCKED`` mapping).

Both populate with ``FOLL_TOUCH``: ``follow_page_pte`` marks every page it returns
accessed (``folio_mark_accessed``: PG_referenced, which smaps counts as ``Referenced``
even where the PTE is old, e.g. in a fork child) and, for a write, dirties a folio whose
PTE is clean (``folio_mark_dirty``).

``faultin_page_range`` (MADV_POPULATE_*) differs from ``MAP_POPULATE``: no
``FOLL_FORCE``, so ``check_vma_flags`` wants ``VM_READ`` (or ``VM_WRITE`` for a write)
and refuses ``VM_IO``/``VM_PFNMAP`` (EINVAL); a hole is ENOMEM; a fault that ends in
SIGBUS (past EOF) or SIGSEGV (a guard marker) is EFAULT, after the pages before it were
populated; running out of memory is ENOMEM. Both drain the LRU and mlock batches at
the end (``lru_add_drain``; ``populate_vma_page_range`` after each VMA part it faulted).

Private anonymous memory (locked or not) is populated in runs (core/pages.py): the
stretches of a range without a per-page entry become one run of anonymous pages (write)
or of zero-page PTEs (read) in O(1), with the counters of the faults they stand for, so
populating 2 TiB costs what populating one page does. The results are those of the page
loop, page for page and in the same order (tests/core/test_extents.py compares them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    EFAULT,
    EINVAL,
    ENOMEM,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_ACCESS_FLAGS,
    VM_IO,
    VM_LOCKONFAULT,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
)
from .errors import ResidentLimitExceeded, SyscallError
from .memory import (
    VM_FAULT_ERROR,
    VM_FAULT_RETRY,
    handle_mm_fault,
    mm_account_fault,
    vmf_anon_prepare,
)
from .pages import (
    NO_FOLIO,
    PageKind,
    fill_runs,
    folio_mark_accessed,
    lru_add_drain,
    materialize,
    run_at,
    run_mapcount,
    touch_runs,
)
from .pause import register_point
from .sched import RESCHED_MASK_SLOW, cond_resched

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "EFAULT_POPULATE",
    "ENOMEM_POPULATE",
    "faultin_page",
    "faultin_page_range",
    "mm_populate",
    "populate_range",
    "populate_vma_page_range",
]


def _pte_ready(vma: Vma, addr: int, write: bool) -> bool:
    # follow_page_mask(): a present page is enough for a read; a write needs a writable
    # PTE: an anonymous page this mm alone maps (COW already broken), or a page of a
    # shared mapping. The zero page and page-cache pages of a private mapping are not.
    pages = vma.pages
    page = pages.get(addr) if pages else None
    if page is None and vma.runs:
        run = run_at(vma, addr)
        if run is not None:  # anonymous (writable if exclusive), or the zero page
            if not write:
                return True
            return not run.zero and (run.group is None or run_mapcount(run, addr) == 1)
    if page is None or page.kind is PageKind.GUARD:
        return False
    if not write:
        return True
    if vma.vm_flags & VM_SHARED:
        return page.kind is not PageKind.ZERO
    return page.kind is PageKind.ANON and page.mapcount == 1


def faultin_page(mm: Mm, vma: Vma, addr: int, write: bool) -> int:
    """``faultin_page``: make the page at ``addr`` present (writable for ``write``).

    Returns the final ``vm_fault_t`` bits (0 when the page was already there). Caller
    holds ``mmap_lock`` for read. Raises ResidentLimitExceeded when a new page is needed
    past the limit (nothing changed for this page). O(1) per attempt.
    """
    if _pte_ready(vma, addr, write):
        _foll_touch(mm, vma, addr, write)
        return 0
    tried = False
    while True:
        ret, _page = handle_mm_fault(mm, vma, addr, "write" if write else "read", False)
        if ret & VM_FAULT_RETRY:
            tried = True  # FAULT_FLAG_TRIED: the page-cache read completed meanwhile
            continue
        mm_account_fault(mm, ret, tried)
        if not ret & VM_FAULT_ERROR:
            _foll_touch(mm, vma, addr, write)  # __get_user_pages() follows the page again
        return ret


def _foll_touch(mm: Mm, vma: Vma, addr: int, write: bool) -> None:
    # follow_page_pte() with FOLL_TOUCH: a write to a clean PTE of a clean folio dirties
    # the folio; the folio is marked accessed (the PTE's young bit is left alone).
    with mm.page_lock:
        pages = vma.pages
        page = pages.get(addr) if pages else None
        if page is None and vma.runs:
            run = run_at(vma, addr)
            if run is None or run.group is None:
                touch_runs(vma, addr, addr + PAGE_SIZE)  # its PTE is dirty: flags only
                return
            # A folio fork shared: its flags are every mapper's, so it becomes a page.
            materialize(mm, vma, addr, addr + PAGE_SIZE)
            page = vma.pages.get(addr) if vma.pages else None
        if page is None or page.kind in NO_FOLIO:
            return
        if write:
            if page.kind is PageKind.ANON:
                if addr in mm.clean_ptes:
                    page.folio_dirty = True
            elif addr not in mm.dirty_ptes:
                page.dirty = True
        folio_mark_accessed(page)


#: ``populate_vma_page_range``/``populate_range`` error codes (negative errnos, as
#: ``__get_user_pages`` returns them): a page that cannot be faulted in (SIGBUS, a
#: ``PROT_NONE`` VMA), and one that cannot be allocated (past the resident limit).
EFAULT_POPULATE = -EFAULT
ENOMEM_POPULATE = -ENOMEM


def populate_vma_page_range(mm: Mm, vma: Vma, start: int, end: int) -> int:
    """``populate_vma_page_range``: fault in ``[start, end)`` of ``vma``.

    Returns the number of pages handled (it stops at the first page whose fault fails),
    or a negative errno when the first page already fails: ``EFAULT_POPULATE`` for a
    ``PROT_NONE`` VMA or a fault that cannot be served, ``ENOMEM_POPULATE`` past the
    resident limit. Caller holds ``mmap_lock`` (read, or write from ``mprotect``).
    O(pages).
    """
    if vma.vm_flags & VM_LOCKONFAULT:
        # VM_LOCKONFAULT has never used faultin_page() to break COW.
        return (end - start) // PAGE_SIZE
    if not vma.vm_flags & VM_ACCESS_FLAGS:
        return EFAULT_POPULATE  # we've never faulted in PROT_NONE pages
    # Break COW of private writable memory now; read-fault everything else.
    write = vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE
    done = 0
    try:
        if _runs_populate(vma):
            done, err = _populate_anon(mm, vma, start, end, write)
            return done or err if err else done
        for addr in range(start, end, PAGE_SIZE):
            try:
                ret = faultin_page(mm, vma, addr, write)
            except ResidentLimitExceeded:
                return done or ENOMEM_POPULATE
            if ret & VM_FAULT_ERROR:
                return done or EFAULT_POPULATE
            done += 1
            if not done & RESCHED_MASK_SLOW:
                cond_resched()  # __get_user_pages(): between two pages
        return done
    finally:
        # __get_user_pages() done, the LRU and mlock batches are drained: the host's
        # MAP_POPULATE/MAP_LOCKED/mlock leave no mlock entries behind (vmstat shows it).
        with mm.page_lock:
            lru_add_drain(mm.kernel.lru)


register_point(
    "populate:before_entry",
    "a populate of private anonymous memory filled the stretch before a per-page entry "
    "as runs and is about to fault that entry in (page lock dropped, mmap_lock held "
    "for read)",
)

#: Up to this many entries in ``vma.pages``, a write populate of private anonymous
#: memory fills the stretches between them as runs; past it (a VMA faulted page by page)
#: it keeps to the page-by-page loop, whose cost it then has anyway.
RUN_POPULATE_MAX_ENTRIES = 64


def _runs_populate(vma: Vma) -> bool:
    # Private anonymous memory with few per-page entries: populated as runs (in a
    # VM_LOCKED VMA too: core/pages.py mlock_run_folios). Not where fork shared runs: a
    # write populate breaks COW there page by page.
    return (
        not vma.vm_flags & VM_SHARED
        and vma.vm_file is None
        and vma.special_name is None
        and len(vma.pages or ()) <= RUN_POPULATE_MAX_ENTRIES
        and not any(r.group is not None for r in vma.runs or ())
    )


def _next_entry(vma: Vma, pos: int, end: int) -> int:
    # The first address in [pos, end) with an entry in vma.pages (end if none).
    # O(RUN_POPULATE_MAX_ENTRIES). Caller holds the page lock.
    pages = vma.pages
    if not pages:
        return end
    return min((a for a in pages if pos <= a < end), default=end)


def _populate_anon(mm: Mm, vma: Vma, start: int, end: int, write: bool) -> tuple[int, int]:
    # Faults (write faults for ``write``) and FOLL_TOUCH on every page of [start, end)
    # of private anonymous memory with few per-page entries (_runs_populate). The
    # stretches without an entry are filled as runs (core/pages.py fill_runs: anonymous
    # pages for a write, the zero page for a read), O(runs) each and accounted as the
    # faults they stand for; each entry (a page shared since fork, a guard marker, a
    # page faulted one by one) takes the page-by-page route. Same results, in the same
    # order, as the page loop. Returns (pages handled, 0 or the ENOMEM_/EFAULT_POPULATE
    # that stopped it). Caller holds mmap_lock for read.
    if write and vma.anon_vma is None:
        vmf_anon_prepare(mm, vma, False)  # do_anonymous_page()'s first step
    pos = start
    while pos < end:
        with mm.page_lock:
            if len(vma.pages or ()) > RUN_POPULATE_MAX_ENTRIES:
                stop = pos  # faulted page by page meanwhile: go on page by page
                mapped, failed = 0, None
            else:
                stop = _next_entry(vma, pos, end)
                mapped, failed = fill_runs(mm, vma, pos, stop, write) if stop > pos else (0, None)
        if mapped:
            # mm_account_fault() of each page's fault: pgfault and min_flt.
            mm.vm_events.count_many("pgfault", mapped)
            mm.min_flt += mapped
        if failed is not None:
            return (failed - start) >> PAGE_SHIFT, ENOMEM_POPULATE
        if stop >= end:
            break
        # The page lock is dropped here, as between two pages of the page loop: faults
        # under the VMA lock may map pages of the part not filled yet.
        mm.pause("populate:before_entry")
        try:
            ret = faultin_page(mm, vma, stop, write)
        except ResidentLimitExceeded:
            return (stop - start) >> PAGE_SHIFT, ENOMEM_POPULATE
        if ret & VM_FAULT_ERROR:
            return (stop - start) >> PAGE_SHIFT, EFAULT_POPULATE
        pos = stop + PAGE_SIZE
    return (end - start) >> PAGE_SHIFT, 0


def _populate(mm: Mm, start: int, end: int, ignore_errors: bool) -> tuple[int, int]:
    # __mm_populate() with mmap_lock held for read: (0, 0) or (-errno, address).
    nstart = start
    while nstart < end:
        vma = mm.find_vma(nstart)
        if vma is None or vma.vm_start >= end:
            break
        nend = min(end, vma.vm_end)
        if vma.vm_flags & (VM_IO | VM_PFNMAP):
            nstart = nend
            continue
        nstart = max(nstart, vma.vm_start)
        ret = populate_vma_page_range(mm, vma, nstart, nend)
        if ret < 0:
            if not ignore_errors:
                return ret, nstart
            if ret == ENOMEM_POPULATE:
                break  # the resident limit: no later page can be had either
            nstart = nend  # continue at the next VMA
            continue
        nstart += ret * PAGE_SIZE
    return 0, 0


def populate_range(mm: Mm, start: int, length: int) -> tuple[int, int]:
    """``__mm_populate(start, len, 0)`` (mlock): populate every VMA part of the range,
    stopping at the first failure. Returns ``(0, 0)``, or ``(error, address)`` with
    ``error`` one of ``EFAULT_POPULATE``/``ENOMEM_POPULATE``. Takes ``mmap_lock`` for
    read; the caller holds no lock. O(pages)."""
    end = start + ((length + PAGE_SIZE - 1) & PAGE_MASK)
    lock = mm.mmap_lock
    lock.read_lock()
    try:
        return _populate(mm, start, end, ignore_errors=False)
    finally:
        lock.read_unlock()


def mm_populate(mm: Mm, start: int, length: int) -> None:
    """``mm_populate`` (``__mm_populate`` with ``ignore_errors``): populate every VMA
    part of ``[start, start + length)``. Takes ``mmap_lock`` for read; the caller holds
    no lock. Errors are ignored, as after ``mmap``: a VMA that cannot be faulted in is
    skipped, and a page that cannot be had (past the resident limit) ends the
    population, leaving the mapping in place. O(pages)."""
    end = start + ((length + PAGE_SIZE - 1) & PAGE_MASK)
    lock = mm.mmap_lock
    lock.read_lock()
    try:
        _populate(mm, start, end, ignore_errors=True)
    finally:
        lock.read_unlock()


def _check_vma_flags(vma: Vma, write: bool) -> bool:
    # check_vma_flags() without FOLL_FORCE: may this VMA be read (written) through GUP?
    flags = vma.vm_flags
    if flags & (VM_IO | VM_PFNMAP):
        return False
    return bool(flags & (VM_WRITE if write else VM_READ))


def faultin_page_range(mm: Mm, start: int, end: int, write: bool) -> None:
    """``faultin_page_range`` as ``madvise_populate`` uses it: fault in every page of
    ``[start, end)`` (page aligned) readable, or writable for ``write``, VMA by VMA.

    Raises SyscallError: ENOMEM for a hole (or past the resident limit), EINVAL for a
    VMA that GUP may not read (write) without FOLL_FORCE, EFAULT when a fault ends in
    SIGBUS or SIGSEGV; the pages before the failing one stay populated. Caller holds
    ``mmap_lock`` for read. O(pages).
    """
    addr = start
    try:
        while addr < end:
            vma = mm.vma_lookup(addr)
            if vma is None:
                raise SyscallError(ENOMEM, "madvise", f"no VMA at {addr:#x} to populate")
            if not _check_vma_flags(vma, write):
                raise SyscallError(
                    EINVAL,
                    "madvise",
                    f"the VMA at {vma.vm_start:#x} cannot be populated "
                    f"{'writable' if write else 'readable'} (its protection, or VM_IO/VM_PFNMAP)",
                )
            stop = min(end, vma.vm_end)
            if _runs_populate(vma):
                done, err = _populate_anon(mm, vma, addr, stop, write)
                addr += done << PAGE_SHIFT
                if err == ENOMEM_POPULATE:
                    raise SyscallError(
                        ENOMEM, "madvise", f"no page for {addr:#x}: the resident limit or RAM"
                    )
                if err:
                    raise SyscallError(
                        EFAULT, "madvise", f"populating {addr:#x} faulted (SIGBUS or SIGSEGV)"
                    )
                continue
            while addr < stop:
                try:
                    ret = faultin_page(mm, vma, addr, write)
                except ResidentLimitExceeded as exc:
                    raise SyscallError(ENOMEM, "madvise", str(exc)) from exc
                if ret & VM_FAULT_ERROR:
                    raise SyscallError(
                        EFAULT, "madvise", f"populating {addr:#x} faulted (SIGBUS or SIGSEGV)"
                    )
                addr += PAGE_SIZE
                if not (addr >> PAGE_SHIFT) & RESCHED_MASK_SLOW:
                    cond_resched()  # __get_user_pages(): between two pages
    finally:
        with mm.page_lock:
            lru_add_drain(mm.kernel.lru)
