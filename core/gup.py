"""Populating a range from inside the kernel (mm/gup.c): ``MAP_POPULATE``, ``MAP_LOCKED``.

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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    EFAULT,
    ENOMEM,
    PAGE_MASK,
    PAGE_SIZE,
    VM_ACCESS_FLAGS,
    VM_IO,
    VM_LOCKONFAULT,
    VM_PFNMAP,
    VM_SHARED,
    VM_WRITE,
)
from .errors import ResidentLimitExceeded
from .memory import VM_FAULT_ERROR, VM_FAULT_RETRY, handle_mm_fault, mm_account_fault
from .pages import PageKind

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "EFAULT_POPULATE",
    "ENOMEM_POPULATE",
    "faultin_page",
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
    if page is None:
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
        return 0
    tried = False
    while True:
        ret, _page = handle_mm_fault(mm, vma, addr, "write" if write else "read", False)
        if ret & VM_FAULT_RETRY:
            tried = True  # FAULT_FLAG_TRIED: the page-cache read completed meanwhile
            continue
        mm_account_fault(mm, ret, tried)
        return ret


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
    for addr in range(start, end, PAGE_SIZE):
        try:
            ret = faultin_page(mm, vma, addr, write)
        except ResidentLimitExceeded:
            return done or ENOMEM_POPULATE
        if ret & VM_FAULT_ERROR:
            return done or EFAULT_POPULATE
        done += 1
    return done


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
