"""Resident pages: the zero page, anonymous folios, the page cache, RSS counters.

Design note
===========
The simulator keeps no page tables. Each VMA's ``pages`` slot is its PTE level: a dict
from page address to the :class:`Page` mapped there (``None`` until the first fault).
A :class:`Page` stands for a one-page folio with the fields the /proc views need:

* ``kind`` -- the shared zero page (``ZERO``: read fault of anonymous memory, never
  counted in RSS), an anonymous page (``ANON``: ``MM_ANONPAGES``), a page-cache page of
  a regular file (``FILE``: ``MM_FILEPAGES``) or of shmem (``SHMEM``: ``MM_SHMEMPAGES``;
  shared anonymous memory is a shmem file, ``shmem_zero_setup``).
* ``mapcount`` -- how many PTEs map it, across every mm (``folio_mapcount``): Pss
  divides by it and a page mapped once is "Private" in smaps.
* ``dirty`` -- anonymous pages are always dirty; file pages become dirty when written
  through a shared mapping.

File and shmem pages live in their inode's :class:`PageCache` (``address_space``), so
two mappings of one file (or parent and child after fork) map the same object.
Pages follow their VMA through split, merge, mremap and munmap because they are keyed
by address inside the VMA that maps them (see :mod:`core.vma_ops`, :mod:`core.mremap`);
``Mm._check()`` verifies that every key lies inside its VMA and that the RSS counters
equal what the VMAs map.

Locking: one :class:`PageLock` per machine (``Kernel.page_lock``, also reachable as
``Mm.page_lock``) stands for the page-table lock, the folio locks and the page cache's
xarray lock together. It is held for a few dict operations at a time, never while
blocking on anything else. Callers changing a VMA's ``pages`` also hold the VMA lock
or ``mmap_lock`` (read suffices for faults, write for split/merge/unmap), exactly as
the kernel requires for the page tables.

PTE bits and folio flags
------------------------
The bits madvise(2) and fork make visible in smaps live beside the pages:

* the accessed (young) bit: ``Mm.old_ptes`` holds the addresses whose PTE is old (every
  PTE a fault sets is young; fork's child copies, MADV_COLD and MADV_FREE clear it; the
  CPU sets it again on any access, faulting or not);
* the dirty bit of anonymous PTEs: ``Mm.clean_ptes`` holds the addresses whose PTE
  MADV_FREE cleaned (a write sets it again; fork copies it);
* the dirty bit of shmem PTEs: a shared shmem mapping has no write-notify, so a read
  fault maps the page writable and a later write dirties only the PTE
  (``Mm.dirty_ptes``); the folio becomes dirty when that PTE is zapped or unmapped, or
  when a write *fault* maps it (``do_shared_fault``). Fork's child gets clean PTEs of
  shared mappings (``pte_mkclean``);
* folio flags on :class:`Page`: ``referenced`` (PG_referenced, set by
  ``folio_mark_accessed``: GUP with FOLL_TOUCH, the unmapping of a young page-cache
  PTE), ``active`` (PG_active), ``lazyfree`` (an anonymous folio without PG_swapbacked:
  MADV_FREE), ``folio_dirty`` (PG_dirty of an anonymous folio; page-cache pages use
  ``dirty``);
* guard markers (MADV_GUARD_INSTALL): the non-present PTE :data:`GUARD_MARKER` in
  ``Vma.pages``; a touch of it is SIGSEGV, zaps other than munmap keep it.

Runs of uniform anonymous pages
-------------------------------
A populate of private writable anonymous memory (``MAP_POPULATE``,
``MADV_POPULATE_WRITE``: :mod:`core.gup`) gives every page the same state: its
own anonymous folio, mapped once, PTE young and dirty, PG_referenced from GUP's
FOLL_TOUCH. Such pages are kept as :class:`AnonRun` objects in ``Vma.runs`` (sorted,
apart from each other and from ``Vma.pages``), so a 2 TiB heap (536,870,912 pages) is one
object, populated in O(1) and counted by smaps in O(runs). A run splits only where pages
come to differ: a zap (MADV_DONTNEED, munmap, mremap's unmap) cuts it, a VMA split or
an mremap move cuts and moves it, GUP touching part of it (PG_referenced -> PG_active)
splits it by flags; neighbours that touch with equal flags are merged again right away.
What needs one page's own state -- MADV_FREE/COLD/PAGEOUT (PTE bits, LRU batches),
guard markers, MADV_COLLAPSE -- first turns the runs of its range into
:class:`AnonPage` objects (:func:`materialize`), the exact equivalent; that costs
O(pages) there, as before runs existed, and is refused (ENOMEM) past
:data:`MATERIALIZE_MAX_PAGES` in one call.

Runs fork shared
----------------
Fork does not turn runs into pages: the child gets a run over the same range
(:func:`share_runs`, O(runs)), its PTEs old (``copy_present_pte`` makes the child's PTEs
old: :attr:`AnonRun.old`) and dirty, and both runs join a :class:`RunGroup`. A folio's
mapcount is then the number of group members covering it -- 2 after one fork, 3 after
the child forks again -- so Pss halves and the pages count as Shared in smaps, and a zap
of one side (MADV_DONTNEED, munmap, exit) makes the other side's pages mapcount 1
(Private) by leaving the group, without touching the other mm. The child's Referenced
comes from PG_referenced (GUP's FOLL_TOUCH set it), as for old PTEs of pages.
Whatever tells one page of a shared run apart -- a write (COW: ``wp_page_copy`` in
either mm, or the reuse of a folio the other side no longer maps), a read through an
old PTE (the CPU makes it young), FOLL_TOUCH, page-by-page advice -- turns that part of
the run into pages *in its own mm only*: the folio's page object is kept in the group
(``RunGroup.folios``) while other members' runs still map it, and from then on its
mapcount counts those runs plus the PTEs mapping the page, and its flags are the folio's
for every mapper (smaps reads them there). A populate over a VMA holding shared runs
goes page by page (a write populate breaks COW page by page). Runs move with their VMA
through split, merge and mremap keeping their folios (``shift`` maps their addresses to
the group's).

Faults keep the per-page dict: a fault maps one page, and a dict store is what the
fast path can afford. Measured by ``bench/bench_extents.py`` (section "choice"): an
extent per fault with a neighbour merge costs about the dict's price for ascending
faults but 35-50x it for sparse random ones (a bisect with a Python key and a list
insert per fault), and every present check would become a bisect. So runs appear
where pages arrive in bulk -- including the zero page's PTEs that a read populate maps
(``zero`` runs: no RSS, no folio; a write copies the page out of its run) -- and a
populate over a VMA with more than
``core.gup.RUN_POPULATE_MAX_ENTRIES`` dict entries keeps to the page loop (it would
need to interleave with them page by page anyway). ``tests/core/test_extents.py`` replays
random operation sequences with and without runs and compares every /proc view.

The per-CPU LRU folio batches of mm/swap.c that delay MADV_FREE's effect (``LazyFree``
shows only once ``lru_lazyfree`` is drained) and MADV_COLD's deactivation are
:class:`LruBatches`, one per Kernel (one CPU: the differential helper pins itself).

mlock state (mm/mlock.c)
------------------------
A folio mapped by a ``VM_LOCKED`` VMA is mlocked (PG_mlocked; ``Page.mlock_count``
counts the locks, as ``folio->mlock_count`` does). It becomes mlocked when a fault or
populate maps it into such a VMA (``mlock_new_folio``, ``mlock_vma_folio`` from the
rmap code) or when ``mlock_fixup`` locks a range it is mapped in (``mlock_pte_range``
-> ``mlock_folio``): ``unevictable_pgs_mlocked`` counts it then, once. Unlocking goes
through the per-CPU ``mlock_fbatch``: ``munlock_folio`` queues the folio (an unmap of
a locked VMA -- munmap, MADV_DONTNEED_LOCKED, exit, a COW copy replacing it -- or
``munlock``'s walk), and ``__munlock_folio`` drops the count and counts
``unevictable_pgs_munlocked`` when the batch drains: when it holds 31 folios (mlock
entries count towards the 31 too) or at the next ``lru_add_drain``. The host shows it:
munmap of 100 locked pages counts 93 at once and 7 at the next ``mlock``, because
munmap does not drain (nor does MADV_DONTNEED: ``LazyFree`` after MADV_FREE stays 0
across both until something drains, e.g. ``mlock``, ``munlock`` or MADV_COLD).

Runs live in ``VM_LOCKED`` VMAs too (``MAP_LOCKED``, ``mlock`` of a populated heap):
each of their folios is mapped once and mlocked once, so a run needs no per-folio
state, and :func:`mlock_run_folios` passes a run's ``n`` folios through the mlock batch
arithmetically: they take ``n`` entries, the batch drains each time it reaches 31, and
the ``(len + n) % 31`` entries left are stand-in folios with mlock count 1 (a munlock
entry counts ``unevictable_pgs_munlocked`` when drained, exactly as the unmapped folio
it stands for would). Mlocking a run counts every folio ``unevictable_pgs_mlocked``
(``count_many``). So a 2 TiB ``MAP_LOCKED`` populate, its ``munlock``, ``mlock`` and
``munmap`` are O(runs) with the counters of the page-by-page model. Runs fork shared
are never locked (their folios' mlock counts would differ by mm): ``mlock`` turns them
into pages first, and fork copies a locked VMA's runs as pages.

Compiled engine (``core/_engine.py``)
-------------------------------------
This module is compiled with the fault path. What mypyc needs, and why the code looks
as it does: :class:`Page` is a native class (its fields are C struct members), so every
field is set in ``__init__`` and none has a class-level default (mypyc refuses a
subclass overriding one); :class:`AnonPage` therefore has its own ``__init__``.
Interpreted, class defaults and object's C ``__init__`` are cheaper (a new page stores
nothing), so the pure-Python engine swaps them in at import (below :class:`AnonPage`).
The integer constants are ``Final``, which mypyc folds into the code (a plain global is
a dictionary lookup per use).

Simplified: no swap, no THP/mTHP, no background reclaim (the page cache keeps every page
it ever read unless MADV_PAGEOUT or MADV_REMOVE drops it), no KSM merging.
"""

from __future__ import annotations

import itertools
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, Literal

from ._engine import ENGINE
from .constants import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_LOCKED,
    VM_RAND_READ,
    VM_SEQ_READ,
    VM_SHARED,
)
from .errors import ResidentLimitExceeded
from .files import SHMEM_DEV

if TYPE_CHECKING:
    from .files import Inode
    from .mm import Mm
    from .vma import Vma
    from .vmstat import VmEvents

# include/linux/mm_types_task.h: enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES }
MM_FILEPAGES: Final = 0
MM_ANONPAGES: Final = 1
MM_SWAPENTS: Final = 2
MM_SHMEMPAGES: Final = 3
NR_MM_COUNTERS: Final = 4


#: The page a fault left mapped, as ``FaultResult.page`` names it: a :class:`PageKind`
#: value, or ``cow`` for a private copy the fault made.
PageName = Literal["zero", "anon", "file", "shmem", "cow"]


class PageKind(Enum):
    """What backs a resident page (and which RSS counter it is charged to, ``counter``)."""

    _value_: PageName
    counter: int

    ZERO = "zero"
    ANON = "anon"
    FILE = "file"
    SHMEM = "shmem"
    # A guard marker (PTE_MARKER_GUARD) is no page: a fault on it is SIGSEGV, so its
    # value is never a fault's page name.
    GUARD = "guard"


class Page:
    """One page-sized folio. ``index`` is its page offset in the file (page-cache pages).

    Every field is set by ``__init__`` and none has a class-level default: in the
    compiled engine (``core/_engine.py``) this is a native class, its fields C struct
    members that the fault path reads and writes without a dictionary, and mypyc does
    not let a subclass (:class:`AnonPage`) override a default the base class declares.
    """

    kind: PageKind
    #: ``mm_counter(folio)``: the RSS counter this page is charged to (-1: none).
    rss_counter: int
    mapcount: int
    dirty: bool
    index: int
    #: Folio flags (see the module note): PG_referenced, PG_active, an anonymous folio's
    #: PG_dirty, lazy-free (PG_swapbacked clear), and "in an LRU batch" (PG_lru clear).
    referenced: bool
    active: bool
    folio_dirty: bool
    lazyfree: bool
    batched: bool
    #: ``folio->mlock_count``: how many locks hold it (0: not PG_mlocked). See the
    #: module note.
    mlock_count: int
    #: PG_unevictable: an mlocked folio whose mlock batch entry was applied
    #: (``__mlock_folio`` at the batch's drain); cleared when its last lock goes.
    unevictable: bool

    def __init__(self, kind: PageKind, dirty: bool = False, index: int = -1) -> None:
        self.kind = kind
        self.rss_counter = kind.counter
        self.mapcount = 0
        self.dirty = dirty
        self.index = index
        self.referenced = False
        self.active = False
        self.folio_dirty = False
        self.lazyfree = False
        self.batched = False
        self.mlock_count = 0
        self.unevictable = False

    def __repr__(self) -> str:
        return f"Page({self.kind.value}, mapcount={self.mapcount}, dirty={self.dirty})"


class AnonPage(Page):
    """A new anonymous page (``folio_prealloc`` in ``do_anonymous_page`` or a COW copy):
    dirty, charged to ``MM_ANONPAGES``. ``AnonPage()`` takes no arguments.

    Its own ``__init__`` stores the fields directly (no call of ``Page.__init__``, no
    lookup of the kind's counter): the fault fast path creates one per fault.
    """

    def __init__(self) -> None:
        self.kind = PageKind.ANON
        self.rss_counter = MM_ANONPAGES
        self.mapcount = 0
        self.dirty = True
        self.index = -1
        self.referenced = False
        self.active = False
        self.folio_dirty = False
        self.lazyfree = False
        self.batched = False
        self.mlock_count = 0
        self.unevictable = False


if ENGINE == "python":
    # Interpreted, a class-level default costs nothing until it is written, and object's
    # own C ``__init__`` creates a page without a Python frame (it still rejects
    # arguments: ``AnonPage(1)`` raises TypeError). So the pure-Python engine's
    # AnonPage keeps the values its ``__init__`` above would store as defaults on the
    # class and skips that ``__init__``: the fault fast path's new page stores nothing.
    # Never run compiled (a native class has neither; its ``__init__`` is C there).
    for _field, _value in {
        "kind": PageKind.ANON,
        "rss_counter": MM_ANONPAGES,
        "mapcount": 0,
        "dirty": True,
        "index": -1,
        "referenced": False,
        "active": False,
        "folio_dirty": False,
        "lazyfree": False,
        "batched": False,
        "mlock_count": 0,
        "unevictable": False,
        "__init__": object.__init__,
    }.items():
        setattr(AnonPage, _field, _value)  # setattr: mypy refuses to assign a method


_COUNTER = {
    PageKind.ZERO: -1,
    PageKind.ANON: MM_ANONPAGES,
    PageKind.FILE: MM_FILEPAGES,
    PageKind.SHMEM: MM_SHMEMPAGES,
    PageKind.GUARD: -1,
}
for _kind, _counter in _COUNTER.items():
    # Enum members hash in Python; the hot path reads the counter off the member.
    _kind.counter = _counter

# The shared zero page (ZERO_PAGE(0)): mapped read-only by anonymous read faults,
# never counted, never freed. Its mapcount is not maintained (the kernel does not
# either: it is not a normal folio).
ZERO_PAGE: Final = Page(PageKind.ZERO)

#: The guard marker MADV_GUARD_INSTALL writes into empty PTEs (``make_pte_marker
#: (PTE_MARKER_GUARD)``): not present, never counted, one object for every marker.
GUARD_MARKER: Final = Page(PageKind.GUARD)

#: Entries of ``Vma.pages`` that map no folio (``vm_normal_page`` is NULL or the PTE is
#: not present): smaps, the LRU and the RSS counters skip them.
NO_FOLIO = frozenset({PageKind.ZERO, PageKind.GUARD})


@dataclass(frozen=True)
class PageLockStatistics:
    """``PageLock.statistics()``: acquisitions, and how many found the lock held."""

    locked: bool
    acquisitions: int
    contended: int


class PageLock:
    """The page-table / folio / page-cache lock (one, kernel-wide). Not reentrant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acquisitions = itertools.count(1)
        self._contended = itertools.count(1)
        #: Bound C methods for hot paths that inline :meth:`__enter__`/``__exit__``:
        #: ``if not acquire(False): contended(); acquire()`` ... ``release()``, with
        #: ``acquired()`` after taking it.
        self.acquire = self._lock.acquire
        self.release = self._lock.release
        self.acquired = self._acquisitions.__next__
        self.contended = self._contended.__next__

    def __enter__(self) -> None:
        if not self.acquire(False):
            self.contended()
            self.acquire()
        self.acquired()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def statistics(self) -> PageLockStatistics:
        """A snapshot (the counts may miss an acquisition in progress). O(1)."""
        return PageLockStatistics(
            self._lock.locked(),
            int(repr(self._acquisitions)[6:-1]) - 1,
            int(repr(self._contended)[6:-1]) - 1,
        )


class PageCache:
    """``struct address_space``: the resident pages of one inode, by page offset."""

    __slots__ = ("pages", "shmem")

    def __init__(self, shmem: bool) -> None:
        self.pages: dict[int, Page] = {}
        self.shmem = shmem

    def _check(self) -> None:
        """O(n): every page is of the cache's kind and knows its index."""
        kind = PageKind.SHMEM if self.shmem else PageKind.FILE
        for index, page in self.pages.items():
            assert page.kind is kind and page.index == index, (index, page)
            assert page.mapcount >= 0, (index, page)


def page_cache(inode: Inode) -> PageCache:
    """The inode's page cache, created on first use. Caller holds ``Kernel.page_lock``."""
    cache: PageCache | None = inode.__dict__.get("_page_cache")
    if cache is None:
        cache = PageCache(is_shmem(inode))
        inode.__dict__["_page_cache"] = cache
    return cache


def is_shmem(inode: Inode) -> bool:
    """``shmem_mapping``: shared anonymous memory lives on the shmem mount (00:01)."""
    return inode.dev == SHMEM_DEV


def file_pages(inode: Inode) -> int:
    """Pages of the file (``DIV_ROUND_UP(i_size, PAGE_SIZE)``): a fault at or past this
    page offset is beyond EOF (SIGBUS)."""
    return (inode.size + PAGE_SIZE - 1) >> PAGE_SHIFT


def linear_page_index(vma: Vma, addr: int) -> int:
    """``linear_page_index``: the file page offset mapped at ``addr``."""
    return vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)


# -- PTE-level operations (caller holds the page lock and a lock that keeps the VMA) ---------


def check_limit(mm: Mm, addr: int) -> None:
    """Raise :class:`ResidentLimitExceeded` if a new page would pass the mm's limit or
    the machine's RAM (conservative: the page a fault maps may already be resident)."""
    limit = mm.resident_limit()
    if limit is not None and mm.get_rss() >= limit:
        raise ResidentLimitExceeded(limit, addr)
    check_ram(mm, addr)


def check_ram(mm: Mm, addr: int) -> None:
    """Raise :class:`ResidentLimitExceeded` (``machine``) if the machine's RAM is full:
    every one of ``Kernel.ram_pages`` is resident. Caller holds the page lock."""
    ram = mm.ram_pages()
    if mm.machine_resident[0] >= ram:
        raise ResidentLimitExceeded(ram, addr, machine=True)


def set_pte(mm: Mm, vma: Vma, addr: int, page: Page) -> None:
    """Map ``page`` at ``addr`` (``set_pte_at`` + ``folio_add_*_rmap`` +
    ``inc_mm_counter``). ``addr`` must be unmapped (no dirty-bit state left for it). O(1)."""
    pages = vma.pages
    if pages is None:
        pages = vma.pages = {}
    pages[addr] = page
    if mm.old_ptes:
        mm.old_ptes.discard(addr)  # a PTE set by a fault is young
    counter = page.rss_counter
    if counter >= 0:
        if not page.mapcount:
            mm.machine_resident[0] += 1  # the page becomes resident on the machine
        page.mapcount += 1
        mm.rss_stat[counter] += 1
        if vma.vm_flags & VM_LOCKED:
            # folio_add_lru_vma() -> mlock_new_folio(), or the rmap's mlock_vma_folio().
            mlock_folio(mm, page)


def replace_pte(mm: Mm, vma: Vma, addr: int, page: Page) -> None:
    """Replace whatever is mapped at ``addr`` by ``page`` (``wp_page_copy``). O(1)."""
    assert vma.pages is not None
    old = vma.pages[addr]
    if old.rss_counter >= 0:
        old.mapcount -= 1
        if not old.mapcount:
            mm.machine_resident[0] -= 1  # no PTE maps it any more: freed
        mm.rss_stat[old.rss_counter] -= 1
        if vma.vm_flags & VM_LOCKED:
            munlock_folio(mm, old)  # folio_remove_rmap_pte() -> munlock_vma_folio()
    del vma.pages[addr]
    # The new PTE is dirty (a COW copy is written); set_pte() makes it young. Every other
    # path that empties a PTE drops its bits, so set_pte() on an empty slot need not.
    mm.clean_ptes.discard(addr)
    mm.dirty_ptes.discard(addr)
    set_pte(mm, vma, addr, page)


def update_hiwater_rss(mm: Mm) -> None:
    """``update_hiwater_rss``: done before RSS decreases (the kernel's VmHWM is lazy)."""
    rss = mm.get_rss()
    if rss > mm.hiwater_rss:
        mm.hiwater_rss = rss


def zap_vma_pages(mm: Mm, vma: Vma) -> None:
    """``unmap_vmas`` / ``zap_pte_range`` for a whole VMA: unmap every page, uncharge
    it, drop its mapcount. Caller holds ``mmap_lock`` for write. O(pages)."""
    with mm.page_lock:
        pages = vma.pages
        if vma.runs:
            update_hiwater_rss(mm)
            zap_runs(mm, vma, vma.vm_start, vma.vm_end)
        if not pages:
            vma.pages = None
            return
        update_hiwater_rss(mm)
        stat = mm.rss_stat
        old = mm.old_ptes
        dirty = mm.dirty_ptes
        recency = vma_has_recency(vma)
        locked = bool(vma.vm_flags & VM_LOCKED)
        freed = 0
        for addr, page in pages.items():
            counter = page.rss_counter
            if counter >= 0:
                page.mapcount -= 1
                if not page.mapcount:
                    freed += 1
                stat[counter] -= 1
                if locked:
                    munlock_folio(mm, page)  # folio_remove_rmap_ptes()
                if counter != MM_ANONPAGES:  # zap_present_folio_ptes()
                    if dirty and addr in dirty:
                        page.dirty = True
                    if recency and addr not in old:
                        folio_mark_accessed(page)
        mm.machine_resident[0] -= freed
        if old:
            old.difference_update(pages)
        if mm.clean_ptes:
            mm.clean_ptes.difference_update(pages)
        if dirty:
            dirty.difference_update(pages)
        vma.pages = None
        # No lru_add_drain(): the batches keep what they hold (see the module note).


def copy_pte_range(dst_mm: Mm, dst: Vma, src: Vma) -> None:
    """``copy_page_range`` for fork: the child maps every page the parent maps. Private
    anonymous pages become shared by both (mapcount 2), so the first write on either side
    copies (COW). The runs are shared as runs (:func:`share_runs`). Caller holds both
    mms' ``mmap_lock`` for write. O(pages + runs)."""
    with dst_mm.page_lock:
        if src.runs and src.vm_flags & VM_LOCKED:
            # Shared runs are never locked (their folios' mlock counts would differ
            # by mm): a locked VMA's runs are copied as pages (fork.py bounds them).
            materialize(src.vm_mm, src, src.vm_start, src.vm_end)
        share_runs(src.vm_mm, src, dst_mm, dst)
        if not src.pages:
            return
        src_clean = src.vm_mm.clean_ptes
        for addr, page in src.pages.items():
            set_pte(dst_mm, dst, addr, page)
            dst_mm.old_ptes.add(addr)  # copy_present_pte(): pte_mkold() for the child
            if addr in src_clean:
                dst_mm.clean_ptes.add(addr)  # a private PTE's dirty bit is copied
            # (a shared one is made clean: the child's dirty_ptes stay empty)


def count_rss(vmas: list[Vma]) -> list[int]:
    """The RSS counters the given VMAs' mapped pages add up to. O(pages)."""
    stat = [0] * NR_MM_COUNTERS
    for vma in vmas:
        stat[MM_ANONPAGES] += run_pages(vma)
        for page in (vma.pages or {}).values():
            counter = page.rss_counter
            if counter >= 0:
                stat[counter] += 1
    return stat


def check_vma_pages(vma: Vma) -> None:
    """O(pages): every mapped page lies inside the VMA, is page aligned and consistent
    with the VMA's backing (anonymous pages need an anon_vma; page-cache pages are the
    file's page at the linear index, unless COW replaced them by an anonymous copy);
    a folio a ``VM_LOCKED`` VMA maps is mlocked, and an unevictable folio is mlocked. The
    runs pass :func:`check_vma_runs`."""
    check_vma_runs(vma)
    pages: dict[int, Any] | None = vma.pages
    if not pages:
        return
    locked = vma.vm_flags & VM_LOCKED
    for addr, page in pages.items():
        assert vma.vm_start <= addr < vma.vm_end and not addr & ~PAGE_MASK, (vma, hex(addr))
        assert isinstance(page, Page), (vma, hex(addr), page)
        if locked and page.rss_counter >= 0:
            assert page.mlock_count >= 1, (vma, hex(addr), "locked VMA maps an unmlocked folio")
        assert not page.unevictable or page.mlock_count >= 1, (vma, hex(addr), "unevictable")
        if page.kind is PageKind.GUARD:
            assert page is GUARD_MARKER, (vma, hex(addr), page)
        elif page.kind is PageKind.ANON:
            assert vma.anon_vma is not None, (vma, hex(addr), "anon page without anon_vma")
            assert page.mapcount >= 1, (vma, hex(addr), page)
        elif page.kind is not PageKind.ZERO:
            file = vma.vm_file
            assert file is not None, (vma, hex(addr), page)
            cache = page_cache(file.inode)
            index = linear_page_index(vma, addr)
            assert cache.pages.get(index) is page, (vma, hex(addr), index, page)


# -- PTE bits, folio flags and the LRU batches (caller holds the page lock) -------------


def pte_dirty(mm: Mm, addr: int, page: Page) -> bool:
    """What smaps calls dirty (``pte_dirty(ptent) || folio_test_dirty(folio)``): an
    anonymous page unless MADV_FREE cleaned its PTE and its folio is clean; a page-cache
    page if its folio is dirty (written through a shared mapping). O(1)."""
    if page.kind is PageKind.ANON:
        return addr not in mm.clean_ptes or page.folio_dirty
    return page.dirty or addr in mm.dirty_ptes


def vma_has_recency(vma: Vma) -> bool:
    """``vma_has_recency``: MADV_SEQUENTIAL/MADV_RANDOM VMAs do not feed the LRU."""
    return not vma.vm_flags & (VM_SEQ_READ | VM_RAND_READ)


def folio_mark_accessed(page: Page) -> None:
    """``folio_mark_accessed`` with the classic LRU (the host has no MGLRU): an
    unreferenced folio becomes referenced; a referenced inactive one is activated and
    loses the bit (activation is immediate: the batch it waits in is drained before
    anything can observe it), unless it is unevictable (PG_unevictable), which keeps the
    bit, through whichever mapping: a fork child's unlocked VMA reaches folios its
    parent's VM_LOCKED VMA still locks (host-verified, tests/differential/madvise_fixed.py
    ``MLOCKED_ELSEWHERE``). A folio just mlocked is not unevictable yet: its mlock batch
    entry has not been applied (``mlock_folio`` sets PG_mlocked, ``__mlock_folio`` at the
    drain PG_unevictable), so the FOLL_TOUCH of the populate that faulted it into a
    VM_LOCKED VMA activates it (host-verified, ``MLOCK_FAULT_ACTIVATES``). O(1)."""
    if not page.referenced:
        page.referenced = True
    elif not page.active and not page.unevictable:
        page.active = True
        page.referenced = False


FOLIO_BATCH_SIZE: Final = 31  # PAGEVEC_SIZE (include/linux/folio_batch.h)


class LruBatches:
    """The ``cpu_fbatches`` of mm/swap.c for one CPU: folios queued for ``lru_lazyfree``
    (MADV_FREE) and ``lru_deactivate`` (MADV_COLD), applied when a batch fills up
    (``FOLIO_BATCH_SIZE``) or at ``lru_add_drain``; and mm/mlock.c's ``mlock_fbatch``
    (``mlock``: each entry a folio and, for a munlock, the events to count its
    ``unevictable_pgs_munlocked`` in; None for an mlock). One per
    :class:`~core.kernel.Kernel`; changed under ``Kernel.page_lock``."""

    __slots__ = ("lazyfree", "deactivate", "mlock")

    def __init__(self) -> None:
        self.lazyfree: list[Page] = []
        self.deactivate: list[Page] = []
        self.mlock: list[tuple[Page, VmEvents | None]] = []

    def _check(self) -> None:
        """O(n): every queued folio is marked batched, no folio is queued twice; the
        mlock batch is never full (it drains at 31) and holds folios only."""
        queued = self.lazyfree + self.deactivate
        assert len({id(p) for p in queued}) == len(queued), queued
        assert all(p.batched for p in queued), queued
        assert len(self.mlock) < FOLIO_BATCH_SIZE, len(self.mlock)
        assert all(p.rss_counter >= 0 for p, _ in self.mlock), self.mlock


def _lru_lazyfree(page: Page) -> None:
    # lru_lazyfree(): an anonymous swap-backed folio becomes lazy-free.
    page.batched = False
    if page.kind is PageKind.ANON and not page.lazyfree:
        page.active = False
        page.referenced = False
        page.lazyfree = True


def _lru_deactivate(page: Page) -> None:
    # lru_deactivate(): an active folio goes to the inactive list.
    page.batched = False
    if page.active:
        page.active = False
        page.referenced = False


def _queue(batch: list[Page], page: Page, move: Callable[[Page], None]) -> None:
    # folio_batch_add_and_move(): the folio leaves the LRU (PG_lru) for the batch, which
    # is applied as a whole once it is full.
    page.batched = True
    batch.append(page)
    if len(batch) >= FOLIO_BATCH_SIZE:
        for queued in batch:
            move(queued)
        batch.clear()


def folio_mark_lazyfree(lru: LruBatches, page: Page) -> None:
    """``folio_mark_lazyfree``: queue an anonymous swap-backed folio on the LRU for
    ``lru_lazyfree`` (a folio already in a batch is not on the LRU, and an mlocked one
    is unevictable: both skipped). O(1), O(31) when the batch fills."""
    if (
        page.kind is PageKind.ANON
        and not page.lazyfree
        and not page.batched
        and not page.mlock_count
    ):
        _queue(lru.lazyfree, page, _lru_lazyfree)


def folio_deactivate(lru: LruBatches, page: Page) -> None:
    """``folio_deactivate``: queue an active evictable folio on the LRU for
    ``lru_deactivate`` (an mlocked folio is on the unevictable list: left alone)."""
    if page.active and not page.batched and not page.mlock_count:
        _queue(lru.deactivate, page, _lru_deactivate)


def lru_add_drain(lru: LruBatches) -> None:
    """``lru_add_drain``: apply this CPU's batches, the mlock batch included
    (``mlock_drain_local``). MADV_FREE/COLD/PAGEOUT, MADV_POPULATE_* and mlock/munlock
    (``mlock_vma_pages_range``) call it; munmap and MADV_DONTNEED do not. O(queued)."""
    for batch, move in ((lru.lazyfree, _lru_lazyfree), (lru.deactivate, _lru_deactivate)):
        for page in batch:
            move(page)
        batch.clear()
    mlock_drain(lru)


def mlock_folio(mm: Mm, page: Page) -> None:
    """``mlock_folio`` / ``mlock_new_folio``: one more lock on a folio (not the zero page
    or a guard marker); the first makes it PG_mlocked and counts
    ``unevictable_pgs_mlocked``. The folio joins the mlock batch. Caller holds the page
    lock. O(1), O(31) when the batch fills."""
    if not page.mlock_count:
        mm.vm_events.count("unevictable_pgs_mlocked")
    page.mlock_count += 1
    _mlock_batch_add(mm.kernel.lru, page, None)


def munlock_folio(mm: Mm, page: Page) -> None:
    """``munlock_folio``: queue a folio for ``__munlock_folio`` (which drops one lock when
    the batch drains). Caller holds the page lock. O(1), O(31) when the batch fills."""
    _mlock_batch_add(mm.kernel.lru, page, mm.vm_events)


def _mlock_batch_add(lru: LruBatches, page: Page, events: VmEvents | None) -> None:
    batch = lru.mlock
    batch.append((page, events))
    if len(batch) >= FOLIO_BATCH_SIZE:
        mlock_drain(lru)


def mlock_run_folios(mm: Mm, n: int, lock: bool) -> None:
    """``mlock_folio`` (``lock``) or ``munlock_folio`` on each of ``n`` folios a run
    maps, in O(1) plus at most one batch drain: each folio takes an entry of the mlock
    batch, which drains every time it reaches 31, so of the ``len + n`` entries
    ``(len + n) % 31`` stay queued (as entries of stand-in folios with the run folios'
    mlock count). A run's folios are mapped once each: mlocking counts every one of
    them ``unevictable_pgs_mlocked`` (their mlock count was 0), and a munlock entry
    counts ``unevictable_pgs_munlocked`` when drained (their mlock count is 1). Caller
    holds the page lock."""
    if n <= 0:
        return
    events = mm.vm_events
    if lock:
        events.count_many("unevictable_pgs_mlocked", n)
    batch = mm.kernel.lru.mlock
    room = FOLIO_BATCH_SIZE - len(batch)
    if n >= room:
        # The entries that fill the batch drain with it; then every full batch of the
        # run's own entries drains as a whole.
        for _ in range(room):
            batch.append((_run_folio(lock), None if lock else events))
        mlock_drain(mm.kernel.lru)
        n -= room
        full = n - n % FOLIO_BATCH_SIZE
        if full and not lock:
            events.count_many("unevictable_pgs_munlocked", full)
        n -= full
    for _ in range(n):
        batch.append((_run_folio(lock), None if lock else events))


def _run_folio(lock: bool) -> Page:
    # A stand-in for a run's folio in the mlock batch: mlocked once (a munlock entry
    # drops that lock when drained). Locked or not, the drain of an mlock entry does
    # nothing.
    page: Page = AnonPage()
    page.mlock_count = 1
    return page


def mlock_drain(lru: LruBatches) -> None:
    """``mlock_folio_batch``: apply the queued munlocks (``__munlock_folio``: the last
    lock gone, the folio leaves PG_mlocked and ``unevictable_pgs_munlocked`` counts it,
    in the events of the mm that unmapped or unlocked it). Caller holds the page lock.
    O(queued)."""
    batch = lru.mlock
    for page, events in batch:
        if events is None:  # __mlock_folio / __mlock_new_folio: onto the unevictable list
            if page.mlock_count:
                page.unevictable = True
        elif page.mlock_count:
            page.mlock_count -= 1
            if not page.mlock_count:
                page.unevictable = False
                events.count("unevictable_pgs_munlocked")
    batch.clear()


def mapped_addrs(vma: Vma, start: int, end: int) -> list[int]:
    """The addresses of ``[start, end)`` that ``vma.pages`` maps, ascending (the page
    walk's order). O(min(range, mapped) log)."""
    pages = vma.pages
    if not pages:
        return []
    if (end - start) >> PAGE_SHIFT < len(pages):
        return [a for a in range(start, end, PAGE_SIZE) if a in pages]
    return sorted(a for a in pages if start <= a < end)


def mlock_pte_range(mm: Mm, vma: Vma, start: int, end: int, lock: bool) -> None:
    """``mlock_vma_pages_range``'s walk of ``[start, end)`` of ``vma`` (``mlock_pte_range``):
    every present folio (not the zero page or a guard marker) is mlocked (``lock``) or
    queued for munlock, between two ``lru_add_drain`` calls. Caller holds ``mmap_lock``
    for write. O(min(range, mapped))."""
    with mm.page_lock:
        lru = mm.kernel.lru
        lru_add_drain(lru)
        pages = vma.pages
        for addr in mapped_addrs(vma, start, end):
            page = pages[addr]  # type: ignore[index]
            if page.rss_counter >= 0:
                if lock:
                    mlock_folio(mm, page)
                else:
                    munlock_folio(mm, page)
        # The runs' folios (never shared: a lock walk turns shared runs into pages
        # first), in O(1); the drain below empties the batch either way.
        mlock_run_folios(mm, run_pages_in(vma, start, end, anon_only=True), lock)
        lru_add_drain(lru)


def zap_pte_range(
    mm: Mm,
    vma: Vma,
    start: int,
    end: int,
    even_cows: bool = True,
    keep_guards: bool = True,
    reclaim: bool = False,
) -> int:
    """``zap_page_range_single`` over ``[start, end)`` of ``vma``: unmap every page
    (``even_cows`` False: only page-cache pages, as ``unmap_mapping_range`` does), keep
    guard markers unless ``keep_guards`` is False. ``reclaim``: the unmapping is
    reclaim's (``try_to_unmap_one``, mm/rmap.c), which moves a PTE's dirty bit to the
    folio but drops its young bit (no ``folio_mark_accessed``: the host shows such a
    page-cache folio unreferenced after MADV_PAGEOUT, tests/differential/madvise_fixed.py
    ``PAGEOUT_UNMAPS``). Every unmapping first does ``update_hiwater_rss``. Returns the
    pages unmapped. Caller holds ``mmap_lock`` or the VMA lock, and the page lock.
    O(min(range, mapped))."""
    normal = 0
    if vma.runs:
        update_hiwater_rss(mm)
        normal = zap_runs(mm, vma, start, end)
    pages = vma.pages
    if not pages:
        return normal
    npages = (end - start) >> PAGE_SHIFT
    if npages < len(pages):
        addrs = [a for a in range(start, end, PAGE_SIZE) if a in pages]
    else:
        addrs = [a for a in pages if start <= a < end]
    old = mm.old_ptes
    clean = mm.clean_ptes
    dirty = mm.dirty_ptes
    stat = mm.rss_stat
    # zap_present_folio_ptes() passes a young PTE to the folio; try_to_unmap_one() not.
    recency = not reclaim and vma_has_recency(vma)
    locked = bool(vma.vm_flags & VM_LOCKED)
    for addr in addrs:
        page = pages[addr]
        kind = page.kind
        if kind is PageKind.GUARD:
            if keep_guards:
                continue
        elif kind is PageKind.ANON and not even_cows and vma.vm_file is not None:
            continue  # a private COW copy: unmap_mapping_range() leaves it
        counter = page.rss_counter
        if counter >= 0:
            if not normal:
                update_hiwater_rss(mm)  # (runs zapped first did it already)
            normal += 1
            page.mapcount -= 1
            if not page.mapcount:
                mm.machine_resident[0] -= 1  # no PTE maps it any more: freed
            stat[counter] -= 1
            if locked:
                munlock_folio(mm, page)  # folio_remove_rmap_ptes() -> munlock_vma_folio()
            if counter != MM_ANONPAGES:
                if addr in dirty:
                    page.dirty = True  # the PTE's dirty bit goes to the folio
                if recency and addr not in old:
                    folio_mark_accessed(page)
        del pages[addr]
        old.discard(addr)
        clean.discard(addr)
        dirty.discard(addr)
    if not pages:
        vma.pages = None
    return normal


def move_pte_bits(mm: Mm, addrs: list[int], delta: int) -> None:
    """Keep the young/dirty bits of PTEs moved by ``delta`` bytes (mremap's
    ``move_ptes`` moves the entries as they are). Caller holds ``mmap_lock`` for write."""
    for bits in (mm.old_ptes, mm.clean_ptes, mm.dirty_ptes):
        if bits:
            moved = [a for a in addrs if a in bits]
            bits.difference_update(moved)
            bits.update(a + delta for a in moved)


# -- runs of uniform anonymous pages (caller holds the page lock) -------------------------


class RunGroup:
    """The anonymous folios a fork made parent and child share, for the runs that map
    them (core/pages.py note, "Runs fork shared"). A folio has a *group address* ``g``;
    a member run maps it at ``g - run.shift``. A folio's mapcount is the number of
    members whose group range covers it, so it needs no per-page state: a zap of one
    member makes the others' pages mapcount 1 (Private) without touching them.

    The members are kept per mm (``sides``, keyed by :attr:`AnonRun.side`), each list
    sorted by group address: one mm's runs of a group never overlap, so the members
    covering a range are found with a bisect per mm (a fork tree has few mms), however
    finely the runs were cut.

    ``folios`` holds the folios that one mapper turned into a page object (a COW break,
    a page-by-page advice) while runs of other mms still map them: that :class:`Page`
    is the folio from then on (its mapcount counts the runs covering it and the PTEs
    mapping the page; its flags are the folio's). So turning a run into pages touches
    only the mm doing it, as a fault touches only its own page tables."""

    __slots__ = ("sides", "folios")

    def __init__(self) -> None:
        self.sides: dict[int, list[AnonRun]] = {}
        self.folios: dict[int, Page] = {}

    def __repr__(self) -> str:
        return f"RunGroup({len(self.members())} runs, {len(self.folios)} folios)"

    def members(self) -> list[AnonRun]:
        """Every run of the group. O(members)."""
        return [run for side in self.sides.values() for run in side]

    def add(self, run: AnonRun) -> None:
        """Make ``run`` (its ``group``, ``shift`` and ``side`` set) a member. O(log
        members + the list move)."""
        side = self.sides.setdefault(run.side, [])
        side.insert(bisect_right(side, run.start + run.shift, key=_gstart), run)

    def remove(self, run: AnonRun) -> None:
        """Take the member ``run`` out. O(log members + the list move)."""
        side = self.sides[run.side]
        i = bisect_left(side, run.start + run.shift, key=_gstart)
        while side[i] is not run:
            i += 1
        del side[i]
        if not side:
            del self.sides[run.side]

    def overlapping(self, gstart: int, gend: int) -> list[AnonRun]:
        """The members mapping some of the group addresses ``[gstart, gend)``.
        O(mms log members + the members found)."""
        out: list[AnonRun] = []
        for side in self.sides.values():
            i = bisect_right(side, gstart, key=_gend)
            while i < len(side) and side[i].start + side[i].shift < gend:
                out.append(side[i])
                i += 1
        return out

    def folios_in(self, gstart: int, gend: int) -> list[tuple[int, Page]]:
        """The page objects of the folios at group addresses ``[gstart, gend)``.
        O(min(range, folios))."""
        folios = self.folios
        if not folios:
            return []
        if (gend - gstart) >> PAGE_SHIFT < len(folios):
            return [(g, folios[g]) for g in range(gstart, gend, PAGE_SIZE) if g in folios]
        return [(g, p) for g, p in folios.items() if gstart <= g < gend]


class AnonRun:
    """Pages ``[start, end)`` of one private anonymous VMA that nothing can tell apart.

    Either resident anonymous pages: each its own anonymous folio, its PTE dirty (young
    unless ``old``: a fork child's copy), its folio swap-backed (not lazy-free),
    without PG_dirty, on the LRU (in no batch), with the run's PG_referenced and
    PG_active; mapped by this PTE only (exclusive: a write reuses it) unless the run is
    in a :class:`RunGroup` (``group``: fork shared the folios, whose mapcount the group
    gives; ``shift`` turns its addresses into group addresses); or (``zero``) PTEs
    mapping the shared zero page, as read faults leave them (no RSS, no folio flags:
    both False; never old or grouped: the zero page's PTE age shows nowhere). What
    :func:`materialize` turns into :class:`AnonPage` objects (or :data:`ZERO_PAGE`
    entries), page for page. In a ``VM_LOCKED`` VMA each folio is mlocked once (never
    in a group there). Mutable: splitting a run shortens it in place."""

    __slots__ = ("start", "end", "referenced", "active", "zero", "old", "group", "shift", "side")

    def __init__(
        self,
        start: int,
        end: int,
        referenced: bool,
        active: bool,
        zero: bool = False,
        old: bool = False,
    ) -> None:
        self.start = start
        self.end = end
        self.referenced = referenced
        self.active = active
        self.zero = zero
        self.old = old
        self.group: RunGroup | None = None
        self.shift = 0
        #: Which mm maps the run, within its group (``id(mm)``; 0 outside a group).
        self.side = 0

    def __repr__(self) -> str:
        flags = ("R" if self.referenced else "") + ("A" if self.active else "")
        flags += " old" if self.old else ""
        flags += f" {self.group!r}" if self.group is not None else ""
        return f"AnonRun({self.start:#x}-{self.end:#x} {'zero' if self.zero else flags})"

    @property
    def npages(self) -> int:
        """Pages in the run."""
        return (self.end - self.start) >> PAGE_SHIFT


def _gstart(run: AnonRun) -> int:
    return run.start + run.shift


def _gend(run: AnonRun) -> int:
    return run.end + run.shift


def _clone(run: AnonRun, start: int, end: int) -> AnonRun:
    # A run like ``run`` over [start, end), in its group too.
    new = AnonRun(start, end, run.referenced, run.active, run.zero, run.old)
    group = run.group
    if group is not None:
        new.group = group
        new.shift = run.shift
        new.side = run.side
        group.add(new)
    return new


def join_group(run: AnonRun, side: int) -> RunGroup:
    """Put ``run`` (mapped by the mm whose id is ``side``) in a group of its own if it
    has none; returns its group. O(1)."""
    group = run.group
    if group is None:
        group = run.group = RunGroup()
        run.shift = 0
        run.side = side
        group.add(run)
    return group


def leave_group(run: AnonRun) -> None:
    """Take ``run`` out of its group (its pages unmapped, or merged into a neighbour).
    O(log members)."""
    group = run.group
    if group is not None:
        group.remove(run)
        run.group = None
        run.shift = 0
        run.side = 0


def group_coverage(group: RunGroup, gstart: int, gend: int) -> list[tuple[int, int, int]]:
    """``[(start, end, mapcount)]``: the group addresses ``[gstart, gend)`` cut where the
    number of members mapping them changes, in order (mapcount 0 where none does).
    O(mms log members + k log k) for the k members there."""
    edges: list[tuple[int, int]] = []
    for m in group.overlapping(gstart, gend):
        a = max(m.start + m.shift, gstart)
        b = min(m.end + m.shift, gend)
        if a < b:
            edges.append((a, 1))
            edges.append((b, -1))
    edges.sort()
    out: list[tuple[int, int, int]] = []
    pos = gstart
    count = 0
    for at, step in edges:
        if at > pos:
            out.append((pos, at, count))
            pos = at
        count += step
    if pos < gend:
        out.append((pos, gend, count))
    return out


def count_at(spans: list[tuple[int, int, int]], g: int) -> int:
    """The mapcount :func:`group_coverage`'s ``spans`` give the group address ``g``.
    O(spans)."""
    for a, b, n in spans:
        if a <= g < b:
            return n
    return 0


def run_mapcount(run: AnonRun, addr: int) -> int:
    """The mapcount of the folio ``run`` maps at ``addr``. O(mms log members)."""
    group = run.group
    if group is None:
        return 1
    g = addr + run.shift
    page = group.folios.get(g)
    if page is not None:
        return page.mapcount
    return len(group.overlapping(g, g + PAGE_SIZE))


def _run_end(run: AnonRun) -> int:
    return run.end


def _run_start(run: AnonRun) -> int:
    return run.start


def run_at(vma: Vma, addr: int) -> AnonRun | None:
    """The run of ``vma`` holding the page at ``addr``, if any. O(log runs)."""
    runs: list[AnonRun] | None = vma.runs
    if not runs:
        return None
    i = bisect_right(runs, addr, key=_run_end)
    if i < len(runs) and runs[i].start <= addr:
        return runs[i]
    return None


def run_pages(vma: Vma) -> int:
    """Resident pages held by ``vma``'s runs (zero-page runs hold none). O(runs)."""
    runs: list[AnonRun] | None = vma.runs
    return sum(r.end - r.start for r in runs if not r.zero) >> PAGE_SHIFT if runs else 0


def _split_run_at(runs: list[AnonRun], addr: int) -> None:
    # A run boundary at addr (the run straddling it is cut in two). O(runs).
    i = bisect_right(runs, addr, key=_run_end)
    if i < len(runs) and runs[i].start < addr:
        run = runs[i]
        runs.insert(i + 1, _clone(run, addr, run.end))
        run.end = addr


def _runs_between(runs: list[AnonRun], start: int, end: int) -> tuple[int, int]:
    # Split at start and end; the slice [i, j) of runs lies inside [start, end).
    _split_run_at(runs, start)
    _split_run_at(runs, end)
    return bisect_right(runs, start, key=_run_end), bisect_left(runs, end, key=_run_start)


def _coalesce(runs: list[AnonRun]) -> list[AnonRun] | None:
    # Merge neighbours that touch and carry the same flags (the lazy half of splitting).
    out: list[AnonRun] = []
    for run in runs:
        last = out[-1] if out else None
        if (
            last is not None
            and last.end == run.start
            and last.referenced == run.referenced
            and last.active == run.active
            and last.zero == run.zero
            and last.old == run.old
            and last.group is run.group
            and last.shift == run.shift
        ):
            last.end = run.end
            leave_group(run)
        else:
            out.append(run)
    return out or None


def _recoalesce(runs: list[AnonRun], lo: int, hi: int, new: list[AnonRun]) -> None:
    # Replace runs[lo:hi] by themselves plus the ``new`` runs (sorted), coalesced with
    # the neighbour on each side: the rest of the list is coalesced already. O(window
    # log window) plus the list move.
    lo = max(lo - 1, 0)
    hi = min(hi + 1, len(runs))
    window = runs[lo:hi] + new
    if new:
        window.sort(key=_run_start)
    runs[lo:hi] = _coalesce(window) or []


def take_runs(vma: Vma, start: int, end: int) -> list[AnonRun]:
    """Remove and return the runs (cut to fit) of ``vma`` inside ``[start, end)``,
    in address order. Nothing is uncharged. O(runs) (a list move; O(log runs) else)."""
    runs: list[AnonRun] | None = vma.runs
    if not runs:
        return []
    i, j = _runs_between(runs, start, end)
    taken = runs[i:j]
    del runs[i:j]
    vma.runs = runs or None
    return taken


def put_runs(vma: Vma, runs: list[AnonRun], delta: int = 0) -> None:
    """Give ``vma`` the ``runs`` (sorted; moved by ``delta`` bytes: mremap), which lie
    inside it and overlap none of its pages or runs. O(runs) when they go before or
    after the VMA's own, O(runs log runs) else."""
    if not runs:
        return
    if delta:
        for run in runs:
            run.start += delta
            run.end += delta
            if run.group is not None:
                run.shift -= delta  # the same folios: their group addresses stay
    own: list[AnonRun] | None = vma.runs
    if not own:
        vma.runs = _coalesce(runs)
    elif runs[0].start >= own[-1].end:
        n = len(own)
        own += runs
        _recoalesce(own, n, n + 1, [])
    elif runs[-1].end <= own[0].start:
        n = len(runs)
        own[:0] = runs
        _recoalesce(own, n, n + 1, [])
    else:
        merged = own + runs
        merged.sort(key=_run_start)
        vma.runs = _coalesce(merged)


#: The most run pages one call may turn into page objects (16 GiB; about 0.6 GiB of the
#: service's memory): fork or page-by-page advice over more is refused with ENOMEM
#: rather than let one request exhaust the service (docs/kernel-differences.md).
MATERIALIZE_MAX_PAGES: Final = 1 << 22


def run_pages_in(vma: Vma, start: int, end: int, anon_only: bool = False) -> int:
    """Pages of ``vma``'s runs (zero-page runs too, unless ``anon_only``) inside
    ``[start, end)``. O(runs)."""
    runs: list[AnonRun] | None = vma.runs
    if not runs:
        return 0
    return (
        sum(
            max(min(r.end, end) - max(r.start, start), 0)
            for r in runs
            if not (anon_only and r.zero)
        )
        >> PAGE_SHIFT
    )


def materialize(mm: Mm, vma: Vma, start: int, end: int) -> None:
    """Turn the runs of ``vma`` inside ``[start, end)`` into one :class:`AnonPage` per
    page in ``vma.pages``, with the same state (for the code that works page by page:
    MADV_FREE/COLD/PAGEOUT, guards, collapse, mlock, a fault on a shared or old run).
    A run fork shared becomes the page objects of its folios (:class:`RunGroup`), with
    their mapcounts; an old run's PTEs join ``Mm.old_ptes``.
    The RSS counters and the machine's resident count do not change: the pages are the
    same. Caller holds the page lock. O(pages turned + runs)."""
    taken = take_runs(vma, start, end)
    if not taken:
        return
    pages = vma.pages
    if pages is None:
        pages = vma.pages = {}
    for run in taken:
        if run.zero:
            pages.update(dict.fromkeys(range(run.start, run.end, PAGE_SIZE), ZERO_PAGE))
            continue
        if run.group is not None:
            _materialize_shared(mm, pages, run)
            continue
        referenced, active = run.referenced, run.active
        # A locked VMA's run: mlock count 1, and unevictable (a run is made by a populate,
        # which drains the mlock batch before it returns: mlock_run_folios).
        mlocked = bool(vma.vm_flags & VM_LOCKED)
        for addr in range(run.start, run.end, PAGE_SIZE):
            page = AnonPage()
            page.mapcount = 1
            if referenced:
                page.referenced = True
            if active:
                page.active = True
            if mlocked:
                page.mlock_count = 1
                page.unevictable = True
            pages[addr] = page
        if run.old:
            mm.old_ptes.update(range(run.start, run.end, PAGE_SIZE))


def _materialize_shared(mm: Mm, pages: dict[int, Page], run: AnonRun) -> None:
    # ``run`` was taken out of its VMA (whose ``pages`` are given) and is still in its
    # group: each folio it maps becomes a page object here -- the group's, if another
    # run made one already, else a new one with the folio's mapcount, kept in the group
    # while other runs still map it. Other mms are not touched. O(pages + members).
    group = run.group
    assert group is not None
    shift = run.shift
    folios = group.folios
    referenced, active = run.referenced, run.active
    for a, b, n in group_coverage(group, run.start + shift, run.end + shift):
        for g in range(a, b, PAGE_SIZE):
            page = folios.get(g)
            if page is None:
                page = AnonPage()
                page.mapcount = n  # this run's PTE and the other runs'
                if referenced:
                    page.referenced = True
                if active:
                    page.active = True
                if n > 1:
                    folios[g] = page
            elif n == 1:
                del folios[g]  # no run maps it any more: only PTEs
            pages[g - shift] = page
    if run.old:
        mm.old_ptes.update(range(run.start, run.end, PAGE_SIZE))
    leave_group(run)


def shared_run_spans(vma: Vma, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``[start, end)`` that runs fork shared (in a :class:`RunGroup`) hold
    in ``vma``, in order. O(runs)."""
    return [
        (max(r.start, start), min(r.end, end))
        for r in vma.runs or ()
        if r.group is not None and r.start < end and start < r.end
    ]


def _accessed(referenced: bool, active: bool, unevictable: bool) -> tuple[bool, bool]:
    # folio_mark_accessed() on flags (see that function).
    if not referenced:
        return True, active
    if not active and not unevictable:
        return False, True
    return referenced, active


def touch_runs(vma: Vma, start: int, end: int) -> None:
    """``folio_mark_accessed`` on every page of ``vma``'s runs inside ``[start, end)``
    (GUP's FOLL_TOUCH). O(runs)."""
    runs: list[AnonRun] | None = vma.runs
    if not runs:
        return
    i, j = _runs_between(runs, start, end)
    unevictable = bool(vma.vm_flags & VM_LOCKED)
    for run in runs[i:j]:
        if not run.zero:  # the zero page is no folio (vm_normal_page() is NULL)
            run.referenced, run.active = _accessed(run.referenced, run.active, unevictable)
    _recoalesce(runs, i, j, [])


def fill_runs(mm: Mm, vma: Vma, start: int, end: int, write: bool) -> tuple[int, int | None]:
    """Populate ``[start, end)`` of the private anonymous ``vma``, which has no entry of
    ``vma.pages`` there, as page-by-page faults followed by GUP's FOLL_TOUCH would.

    For ``write``: holes and zero-page runs become anonymous runs (``do_anonymous_page``
    or ``wp_page_copy`` of the zero page: charged to ``MM_ANONPAGES``, resident on the
    machine, PG_referenced by the touch), stopping at the first page past the resident
    limit or the machine's RAM; anonymous runs are marked accessed. For a read: holes
    become zero-page runs; anonymous runs are marked accessed. Returns the pages that
    took a fault and the address of the page that could not be had (None if none).
    Caller holds ``mmap_lock`` for read and the page lock, and for a write prepared the
    anon_vma. O(runs in the range + a list move)."""
    runs = vma.runs or []
    i = j = 0
    if runs:
        i, j = _runs_between(runs, start, end)
    inside = runs[i:j]
    unevictable = bool(vma.vm_flags & VM_LOCKED)
    stat = mm.rss_stat
    new: list[AnonRun] = []
    mapped = 0
    failed: int | None = None
    pos = start
    kept: list[AnonRun] = []  # the runs of the range that stay
    for run in [*inside, None]:
        if run is not None and run.zero and write:
            continue  # each of its pages is copied: a hole as far as the fill goes
        hole_end = run.start if run is not None else end
        if pos < hole_end and not write:
            new.append(AnonRun(pos, hole_end, False, False, zero=True))
            mapped += (hole_end - pos) >> PAGE_SHIFT
        elif pos < hole_end:
            want = (hole_end - pos) >> PAGE_SHIFT
            room = mm.ram_pages() - mm.machine_resident[0]
            limit = mm.resident_limit()
            if limit is not None:
                room = min(room, limit - mm.get_rss())
            got = max(0, min(want, room))
            if got:
                new.append(AnonRun(pos, pos + (got << PAGE_SHIFT), True, False))
                stat[MM_ANONPAGES] += got
                mm.machine_resident[0] += got
                mapped += got
                if unevictable:
                    mlock_run_folios(mm, got, True)  # mlock_new_folio() of each
            if got < want:
                failed = pos + (got << PAGE_SHIFT)
                # The zero-page runs not reached stay (cut to what is left of them).
                kept += [
                    AnonRun(max(r.start, failed), r.end, False, False, zero=True)
                    for r in inside
                    if r.zero and r.end > failed
                ]
                break
        if run is None:
            break
        if not run.zero:
            run.referenced, run.active = _accessed(run.referenced, run.active, unevictable)
        kept.append(run)
        pos = run.end
    if runs:
        del runs[i:j]
        _recoalesce(runs, i, i, kept + new)
    else:
        runs = new
    vma.runs = runs or None
    return mapped, failed


def zap_runs(mm: Mm, vma: Vma, start: int, end: int) -> int:
    """Unmap the runs of ``vma`` inside ``[start, end)`` (``zap_pte_range`` on anonymous
    folios: uncharged; freed unless another mm still maps them, whose pages then have
    one mapcount less). Returns the pages unmapped; the caller has done
    ``update_hiwater_rss``. O(runs + members)."""
    taken = take_runs(vma, start, end)
    unmapped = freed = 0
    for run in taken:
        if run.zero:
            continue
        size = run.end - run.start
        unmapped += size
        group = run.group
        if group is None:
            freed += size
            continue
        gstart = run.start + run.shift
        leave_group(run)
        spans = group_coverage(group, gstart, gstart + size)
        gone = sum(b - a for a, b, n in spans if not n)  # no other run maps these
        for g, page in group.folios_in(gstart, gstart + size):
            # A folio with a page object: its own mapcount says whether it is freed.
            page.mapcount -= 1
            if not count_at(spans, g):
                del group.folios[g]
                gone -= PAGE_SIZE
            if not page.mapcount:
                gone += PAGE_SIZE
        freed += gone
    if unmapped:
        mm.rss_stat[MM_ANONPAGES] -= unmapped >> PAGE_SHIFT
        mm.machine_resident[0] -= freed >> PAGE_SHIFT
        if vma.vm_flags & VM_LOCKED:
            # folio_remove_rmap_ptes() -> munlock_vma_folio() on each (no drain here).
            mlock_run_folios(mm, unmapped >> PAGE_SHIFT, False)
    return unmapped >> PAGE_SHIFT


def share_runs(src_mm: Mm, src: Vma, dst_mm: Mm, dst: Vma) -> None:
    """``copy_pte_range`` of ``src``'s runs for fork: the child ``dst`` maps every folio
    the parent's runs map (a member of the run's group: mapcount + 1), its PTEs old
    (``copy_present_pte``: ``pte_mkold``) and dirty; zero-page runs are copied as they
    are. Charges the child's RSS. Caller holds both mms' ``mmap_lock`` for write and
    the page lock. O(runs)."""
    runs: list[AnonRun] | None = src.runs
    if not runs:
        return
    copies: list[AnonRun] = []
    for run in runs:
        if run.zero:
            copies.append(AnonRun(run.start, run.end, False, False, zero=True))
            continue
        group = join_group(run, id(src_mm))
        copy = AnonRun(run.start, run.end, run.referenced, run.active, old=True)
        copy.group = group
        copy.shift = run.shift
        copy.side = id(dst_mm)
        group.add(copy)
        copies.append(copy)
        g = run.start + run.shift
        for _g, folio in group.folios_in(g, g + run.end - run.start):
            folio.mapcount += 1  # a page object's mapcount counts the runs mapping it
    put_runs(dst, copies)
    dst_mm.rss_stat[MM_ANONPAGES] += run_pages(dst)


def resident_run_pages(vmas: list[Vma], seen: set[int], new_pages: list[Page] | None = None) -> int:
    """Distinct folios the runs of ``vmas`` map that ``seen`` (ids of page objects
    counted already) does not hold: each folio of a group once, if every mm mapping it
    is among ``vmas``' owners; the ids of groups' page objects join ``seen`` (and those
    pages ``new_pages``, if given). Asserts
    that every such page object is still mapped by a run. O(runs + members log members
    + folios)."""
    total = 0
    groups: dict[int, RunGroup] = {}
    for vma in vmas:
        for run in vma.runs or ():
            if run.zero:
                continue
            if run.group is None:
                total += run.end - run.start
            else:
                groups[id(run.group)] = run.group
    for group in groups.values():
        spans = sorted((m.start + m.shift, m.end + m.shift) for m in group.members())
        hi = -1
        for a, b in spans:
            if b <= hi:
                continue
            total += b - max(a, hi)
            hi = b
        for g, page in group.folios.items():
            assert any(a <= g < b for a, b in spans), (group, hex(g), "no run maps it")
            assert page.mapcount >= 1, (group, hex(g), page)
            total -= PAGE_SIZE  # counted as a page object, not a run page
            if id(page) not in seen:
                seen.add(id(page))
                total += PAGE_SIZE
                if new_pages is not None:
                    new_pages.append(page)
    return total >> PAGE_SHIFT


def check_vma_runs(vma: Vma) -> None:
    """O(runs + pages): the runs are sorted, non-empty, page aligned, inside the VMA,
    apart from each other and from ``vma.pages``, coalesced (two touching runs differ in
    their flags, kind, age or group), zero-page runs flagless, young and in no group, and
    only in a private anonymous VMA (with an anon_vma if it holds anonymous runs), in
    no group if the VMA is ``VM_LOCKED``. A run in a group is one of its members and
    agrees on the folio flags with every member mapping the same folios (O(members) per
    such run)."""
    runs: list[AnonRun] | None = vma.runs
    if runs is None:
        return
    assert runs, (vma, "empty run list instead of None")
    assert vma.vm_file is None and not vma.vm_flags & VM_SHARED, (vma, runs)
    if vma.vm_flags & VM_LOCKED:
        assert all(r.group is None for r in runs), (vma, runs, "a shared run locked")
    if any(not r.zero for r in runs):
        assert vma.anon_vma is not None, (vma, runs)
    prev: AnonRun | None = None
    for run in runs:
        assert isinstance(run, AnonRun), (vma, run)
        assert vma.vm_start <= run.start < run.end <= vma.vm_end, (vma, run)
        assert not (run.start | run.end) & ~PAGE_MASK, (vma, run)
        assert not run.zero or not (run.referenced or run.active or run.old), (vma, run)
        group = run.group
        if group is not None:
            assert not run.zero, (vma, run)
            assert run.side == id(vma.vm_mm), (vma, run, "not this mm's")
            side = group.sides.get(run.side, [])
            assert any(m is run for m in side), (vma, run, "not in its group")
            assert side == sorted(side, key=_gstart), (vma, side)
            g0, g1 = run.start + run.shift, run.end + run.shift
            for m in group.overlapping(g0, g1):
                if m.start + m.shift < g1 and g0 < m.end + m.shift:
                    assert (m.referenced, m.active) == (run.referenced, run.active), (run, m)
        else:
            assert run.shift == 0 and run.side == 0, (vma, run)
        if prev is not None:
            assert prev.end <= run.start, (vma, prev, run)
            assert prev.end < run.start or (
                prev.referenced,
                prev.active,
                prev.zero,
                prev.old,
                prev.group,
                prev.shift,
            ) != (
                run.referenced,
                run.active,
                run.zero,
                run.old,
                run.group,
                run.shift,
            ), (vma, prev, run, "not coalesced")
        prev = run
    for addr in vma.pages or ():
        assert run_at(vma, addr) is None, (vma, hex(addr), "both a run and a page")


def table_count(points: list[int], ranges: list[tuple[int, int]], shift: int) -> int:
    """Distinct ``addr >> shift`` blocks touched by the page addresses ``points`` (any
    order) and the address ranges ``ranges`` (``[start, end)``, sorted by start, apart):
    the page tables they need at one level. O(ranges + points + blocks of points
    log ranges)."""
    lows: list[int] = []
    highs: list[int] = []
    for start, end in ranges:
        lo = start >> shift
        hi = (end - 1) >> shift
        if highs and lo <= highs[-1]:
            if hi > highs[-1]:
                highs[-1] = hi
        else:
            lows.append(lo)
            highs.append(hi)
    total = sum(highs) - sum(lows) + len(lows)
    for block in {a >> shift for a in points}:
        i = bisect_right(lows, block) - 1
        if i < 0 or block > highs[i]:
            total += 1
    return total
