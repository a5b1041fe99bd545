"""``madvise(2)`` (mm/madvise.c, Linux 6.18): advice on a range, VMA by VMA.

Design note
===========
:func:`do_madvise` follows ``do_madvise``: ``madvise_should_skip`` (an advice this
kernel does not know, an unaligned start, a length that wraps: EINVAL; an empty range:
nothing), ``madvise_lock``, then ``madvise_populate`` or ``madvise_walk_vmas``.

**Locks** (``get_lock_mode`` / ``madvise_lock``), counted per mode in
:class:`MadviseStatistics`:

* ``mmap_write`` -- every advice that changes ``vm_flags`` (NORMAL, RANDOM, SEQUENTIAL,
  DONTFORK, DOFORK, WIPEONFORK, KEEPONFORK, DONTDUMP, DODUMP, MERGEABLE, UNMERGEABLE,
  HUGEPAGE, NOHUGEPAGE): ``mmap_write_lock_killable``.
* ``mmap_read`` -- REMOVE, WILLNEED, COLD, PAGEOUT, POPULATE_READ, POPULATE_WRITE,
  COLLAPSE, GUARD_INSTALL, GUARD_REMOVE. REMOVE and WILLNEED drop it around the file
  operation (``mark_mmap_lock_dropped``: the walk then looks the next VMA up again).
* ``vma_read`` -- DONTNEED, DONTNEED_LOCKED, FREE: ``try_vma_read_lock`` takes the
  per-VMA read lock (``lock_vma_under_rcu``, which counts ``vma_lock_abort``/``miss``
  like a fault) when the range lies inside one VMA; otherwise (a hole at the start, a
  write-locked VMA, a range over several VMAs) it falls back to ``mmap_lock`` for read
  (counted as ``mmap_read`` and ``vma_read_fallback``).

**The walk** (``madvise_walk_vmas``) applies the advice to each VMA's part of the range
from left to right. A hole does not stop it: the call fails with ENOMEM after the mapped
parts were advised; an error from a VMA stops it with the VMAs before it changed (the
kernel's partial effects). Flag changes go through ``madvise_update_vma`` ->
``vma_modify`` (core/vma_ops.py), which merges with a neighbour or splits (front first);
a split refused at ``vm.max_map_count`` is ENOMEM, which madvise reports as EAGAIN.

**Memory effects** (the LRU and PTE state is described in core/pages.py):

* DONTNEED / DONTNEED_LOCKED: zap the range (guard markers stay); EINVAL on
  ``VM_LOCKED`` (DONTNEED only) and ``VM_PFNMAP``.
* FREE: anonymous VMAs only (EINVAL otherwise): each exclusive or clean anonymous page
  gets an old, clean PTE and is queued for ``lru_lazyfree``; ``LazyFree`` shows once
  the batch drains. Without memory pressure nothing is freed.
* COLD: exclusive pages lose their young bit and PG_referenced and are deactivated.
* PAGEOUT: exclusive pages are reclaimed: without swap anonymous pages stay (lazy-free
  ones that are still clean are discarded), page-cache pages are unmapped and, if
  clean, dropped from the page cache.
* WILLNEED: reads a regular file's range into the page cache (no mapping changes).
* REMOVE: punches a hole in a shared writable file mapping's file (EACCES otherwise,
  EINVAL without a file or on ``VM_LOCKED``): the pages leave the page cache and every
  mapping of them.
* POPULATE_READ / POPULATE_WRITE: ``faultin_page_range`` (core/gup.py).
* GUARD_INSTALL: sets ``VM_MAYBE_GUARD`` on the VMA (no split), prepares its anon_vma,
  zaps what is mapped and writes a guard marker into every PTE of the range; a touch
  is then SIGSEGV ``SEGV_MAPERR``. GUARD_REMOVE clears the markers (the flag stays).
* COLLAPSE: EINVAL unless the VMA may hold a PMD-sized THP (an aligned 2 MiB range);
  see :func:`_collapse` for what is modelled.

Not modelled: process_madvise(2); KSM merging (ksmd does not run on the host: MERGEABLE
only sets ``VM_MERGEABLE``), huge pages (THP, hugetlb), swap, userfaultfd, memory
failure injection (not built on the host). An mlocked folio (``Page.mlock_count``, by
whichever mapping: a fork relative's locked VMA, or a VMA that lost ``VM_LOCKED``
without an munlock walk, as mremap's MREMAP_DONTUNMAP source does) is unevictable:
FREE does not lazy-free it, COLD does not deactivate it, PAGEOUT does not reclaim it,
and ``folio_mark_accessed`` keeps its PG_referenced. Each of these drains the LRU
batches first, so the mlock count is current.

Sealed VMAs are refused through :func:`core.mseal.can_modify_vma_madvise` (EPERM).
Pause points: ``madvise:between_vmas`` between two VMAs of the walk (with the advice's
lock held), ``madvise:vma_locked`` under the per-VMA read lock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from .abi import page_align
from .constants import (
    EACCES,
    EAGAIN,
    EINVAL,
    ENOMEM,
    EPERM,
    MADV_COLD,
    MADV_COLLAPSE,
    MADV_DODUMP,
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
    MADV_HUGEPAGE,
    MADV_KEEPONFORK,
    MADV_MERGEABLE,
    MADV_NOHUGEPAGE,
    MADV_NORMAL,
    MADV_PAGEOUT,
    MADV_POPULATE_READ,
    MADV_POPULATE_WRITE,
    MADV_RANDOM,
    MADV_REMOVE,
    MADV_SEQUENTIAL,
    MADV_UNMERGEABLE,
    MADV_WILLNEED,
    MADV_WIPEONFORK,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SIZE,
    U64,
    VM_DONTCOPY,
    VM_DONTDUMP,
    VM_DONTEXPAND,
    VM_DROPPABLE,
    VM_HUGEPAGE,
    VM_HUGETLB,
    VM_IO,
    VM_LOCKED,
    VM_MAYBE_GUARD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_MERGEABLE,
    VM_MIXEDMAP,
    VM_NOHUGEPAGE,
    VM_PFNMAP,
    VM_RAND_READ,
    VM_SEQ_READ,
    VM_SHARED,
    VM_SPECIAL,
    VM_WIPEONFORK,
    VM_WRITE,
)
from .errors import ResidentLimitExceeded, SyscallError
from .fault import lock_vma_under_rcu
from .gup import faultin_page_range
from .memory import RA_PAGES, readahead
from .mseal import can_modify_vma_madvise
from .pages import (
    GUARD_MARKER,
    MATERIALIZE_MAX_PAGES,
    NO_FOLIO,
    AnonPage,
    PageKind,
    check_limit,
    file_pages,
    folio_deactivate,
    folio_mark_lazyfree,
    is_shmem,
    linear_page_index,
    lru_add_drain,
    mapped_addrs,
    materialize,
    page_cache,
    run_pages_in,
    set_pte,
    update_hiwater_rss,
    zap_pte_range,
)
from .rmap import anon_vma_prepare
from .vma_lock import vma_end_read
from .vma_ops import MergeRange, vma_modify, vma_reset_flags

if TYPE_CHECKING:
    from .files import Inode
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "ADVICE_NAMES",
    "LockMode",
    "MadviseCounters",
    "MadviseStatistics",
    "do_madvise",
    "get_lock_mode",
]

#: Every advice ``madvise_behavior_valid`` accepts on the host (CONFIG_KSM and
#: CONFIG_TRANSPARENT_HUGEPAGE on, CONFIG_MEMORY_FAILURE off: HWPOISON and SOFT_OFFLINE
#: are EINVAL), by its uapi name.
ADVICE_NAMES: Final[dict[int, str]] = {
    MADV_NORMAL: "MADV_NORMAL",
    MADV_RANDOM: "MADV_RANDOM",
    MADV_SEQUENTIAL: "MADV_SEQUENTIAL",
    MADV_WILLNEED: "MADV_WILLNEED",
    MADV_DONTNEED: "MADV_DONTNEED",
    MADV_FREE: "MADV_FREE",
    MADV_REMOVE: "MADV_REMOVE",
    MADV_DONTFORK: "MADV_DONTFORK",
    MADV_DOFORK: "MADV_DOFORK",
    MADV_MERGEABLE: "MADV_MERGEABLE",
    MADV_UNMERGEABLE: "MADV_UNMERGEABLE",
    MADV_HUGEPAGE: "MADV_HUGEPAGE",
    MADV_NOHUGEPAGE: "MADV_NOHUGEPAGE",
    MADV_DONTDUMP: "MADV_DONTDUMP",
    MADV_DODUMP: "MADV_DODUMP",
    MADV_WIPEONFORK: "MADV_WIPEONFORK",
    MADV_KEEPONFORK: "MADV_KEEPONFORK",
    MADV_COLD: "MADV_COLD",
    MADV_PAGEOUT: "MADV_PAGEOUT",
    MADV_POPULATE_READ: "MADV_POPULATE_READ",
    MADV_POPULATE_WRITE: "MADV_POPULATE_WRITE",
    MADV_DONTNEED_LOCKED: "MADV_DONTNEED_LOCKED",
    MADV_COLLAPSE: "MADV_COLLAPSE",
    MADV_GUARD_INSTALL: "MADV_GUARD_INSTALL",
    MADV_GUARD_REMOVE: "MADV_GUARD_REMOVE",
}

#: The lock an advice runs under (``enum madvise_lock_mode`` without MADVISE_NO_LOCK,
#: which only the memory-failure advice, not built on the host, uses).
LockMode = Literal["mmap_write", "mmap_read", "vma_read"]

_READ_LOCKED = frozenset(
    {
        MADV_REMOVE,
        MADV_WILLNEED,
        MADV_COLD,
        MADV_PAGEOUT,
        MADV_POPULATE_READ,
        MADV_POPULATE_WRITE,
        MADV_COLLAPSE,
        MADV_GUARD_INSTALL,
        MADV_GUARD_REMOVE,
    }
)
_VMA_LOCKED = frozenset({MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE})


def get_lock_mode(advice: int) -> LockMode:
    """``get_lock_mode``: the lock ``advice`` takes in 6.18. O(1)."""
    if advice in _READ_LOCKED:
        return "mmap_read"
    if advice in _VMA_LOCKED:
        return "vma_read"
    return "mmap_write"


# -- statistics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MadviseStatistics:
    """madvise calls by the lock they ran under. ``vma_read_fallback`` counts the calls
    that wanted a per-VMA lock and took ``mmap_lock`` for read instead (they are also in
    ``mmap_read``). A call refused before locking counts nowhere."""

    mmap_write: int
    mmap_read: int
    vma_read: int
    vma_read_fallback: int


class MadviseCounters:
    """The counters behind :class:`MadviseStatistics`, per mm with a machine-wide
    ``parent`` (the Kernel's), lock-free like :class:`core.vmstat.VmEvents`."""

    _FIELDS = tuple(MadviseStatistics.__dataclass_fields__)

    def __init__(self, parent: MadviseCounters | None = None) -> None:
        self._counters = {name: itertools.count(1) for name in self._FIELDS}
        self.parent = parent
        self._bump: dict[str, tuple[Callable[[], int], ...]] = {
            name: (self._counters[name].__next__,)
            + ((parent._counters[name].__next__,) if parent is not None else ())
            for name in self._FIELDS
        }

    def count(self, name: str) -> None:
        """Add one to ``name`` here and in the parent. O(1)."""
        for bump in self._bump[name]:
            bump()

    def statistics(self) -> MadviseStatistics:
        """The counts now (not atomic across fields). O(1)."""
        return MadviseStatistics(
            **{name: int(repr(c)[6:-1]) - 1 for name, c in self._counters.items()}
        )


# -- the call -----------------------------------------------------------------------------


class _Behavior:
    """``struct madvise_behavior``: the advice, its lock, the part of the range the
    current VMA covers (``start``, ``end``), that VMA and the one before it.

    A plain class, not a dataclass: compiled (hatch_build.py), a dataclass builds its
    field annotations as live type objects when the module is imported, and ``Mm`` does
    not exist yet then (core.mm imports this module).
    """

    __slots__ = ("mm", "advice", "lock_mode", "start", "end", "vma", "prev", "lock_dropped")

    def __init__(self, mm: Mm, advice: int, lock_mode: LockMode, start: int, end: int) -> None:
        self.mm = mm
        self.advice = advice
        self.lock_mode = lock_mode
        self.start = start
        self.end = end
        self.vma: Vma | None = None
        self.prev: Vma | None = None
        self.lock_dropped = False


def _fail(errno: int, detail: str) -> SyscallError:
    return SyscallError(errno, "madvise", detail)


def do_madvise(mm: Mm, start: int, len_in: int, advice: int) -> None:
    """``do_madvise``: apply ``advice`` to ``[start, start + len_in)``. Arguments are
    unsigned 64-bit values (``advice`` a C int). Takes the lock :func:`get_lock_mode`
    names; the caller holds none. Raises SyscallError (EINVAL, ENOMEM, EAGAIN, EACCES,
    EFAULT, EPERM) with earlier VMAs possibly changed, as the kernel leaves them.
    O(k log n + pages) for k VMAs in the range."""
    # madvise_should_skip() -> is_valid_madvise()
    if advice not in ADVICE_NAMES:
        raise _fail(EINVAL, f"advice {advice} is not one this kernel accepts")
    if start & ~PAGE_MASK:
        raise _fail(EINVAL, f"address {start:#x} is not page aligned")
    length = page_align(len_in)
    if len_in and not length:
        raise _fail(EINVAL, f"length {len_in:#x} wraps when rounded up to a page")
    end = start + length
    if end >= U64:
        raise _fail(EINVAL, f"range {start:#x}+{length:#x} wraps")
    if not length:
        return
    lock_mode = get_lock_mode(advice)
    b = _Behavior(mm, advice, lock_mode, start, end)
    counts = mm.madvise_counts
    if lock_mode == "mmap_write":
        counts.count("mmap_write")
        with mm._write_locked("madvise"):
            _walk_vmas(b)
        return
    if lock_mode == "vma_read":
        vma = _try_vma_read_lock(b)
        if vma is not None:
            counts.count("vma_read")
            try:
                mm.pause("madvise:vma_locked")
                b.vma = vma
                _vma_behavior(b)
            finally:
                vma_end_read(mm.mmap_lock, vma)
            return
        counts.count("vma_read_fallback")
    else:
        mm.mmap_lock.read_lock()
    counts.count("mmap_read")
    try:
        if advice in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
            faultin_page_range(mm, start, end, advice == MADV_POPULATE_WRITE)
        else:
            _walk_vmas(b)
    finally:
        mm.mmap_lock.read_unlock()


def _try_vma_read_lock(b: _Behavior) -> Vma | None:
    """``try_vma_read_lock``: the VMA containing the whole range, read-locked; or None
    with ``mmap_lock`` held for read instead."""
    mm = b.mm
    vma, _misses = lock_vma_under_rcu(mm, b.start)
    if vma is not None:
        if b.end <= vma.vm_end:
            return vma
        vma_end_read(mm.mmap_lock, vma)  # the range spans several VMAs
    mm.mmap_lock.read_lock()
    b.lock_mode = "mmap_read"
    return None


def _walk_vmas(b: _Behavior) -> None:
    """``madvise_walk_vmas``: the advice on each VMA's part of ``[b.start, b.end)``.
    Caller holds ``mmap_lock`` (write for flag changes, else read)."""
    mm = b.mm
    last_end = b.end
    start = b.start
    vma = mm.find_vma(start)
    prev = vma if vma is not None and start > vma.vm_start else mm._prev_vma(start)
    unmapped = False
    while True:
        if vma is None:
            raise _fail(ENOMEM, f"[{start:#x}, {last_end:#x}) runs past the last mapping")
        if start < vma.vm_start:
            unmapped = True  # a hole: carry on, fail with ENOMEM at the end
            start = vma.vm_start
            if start >= last_end:
                break
        end = min(vma.vm_end, last_end)
        b.start, b.end, b.vma, b.prev = start, end, vma, prev
        _vma_behavior(b)
        if b.lock_dropped:
            # The mmap_lock was dropped: neither VMA may be used any more.
            vma = prev = None
            b.lock_dropped = False
        else:
            vma = prev = b.vma
        if vma is not None and end < vma.vm_end:
            end = vma.vm_end
        if end >= last_end:
            break
        mm.pause("madvise:between_vmas")
        vma = mm.find_vma(vma.vm_end if vma is not None else end)
        start = end
    if unmapped:
        raise _fail(ENOMEM, f"[{b.start:#x}, {last_end:#x}) has unmapped parts")


def _vma_behavior(b: _Behavior) -> None:
    """``madvise_vma_behavior``: the advice on ``[b.start, b.end)`` of ``b.vma``."""
    vma = b.vma
    assert vma is not None
    advice = b.advice
    if not can_modify_vma_madvise(vma, advice):
        raise _fail(EPERM, f"the VMA at {vma.vm_start:#x} is sealed")
    handler = _HANDLERS.get(advice)
    if handler is not None:
        if vma.runs and advice not in _RUN_ADVICE:
            # This advice works page by page: the runs of its range become pages first
            # (core/pages.py), up to what one call may turn into pages.
            held = run_pages_in(vma, b.start, b.end)
            if held > MATERIALIZE_MAX_PAGES:
                raise _fail(
                    ENOMEM,
                    f"[{b.start:#x}, {b.end:#x}) holds {held} pages in runs; this advice "
                    f"takes at most {MATERIALIZE_MAX_PAGES} of them page by page",
                )
            with b.mm.page_lock:
                materialize(b.mm, vma, b.start, b.end)
        handler(b)
        return
    flags = vma.vm_flags
    if advice == MADV_NORMAL:
        flags &= ~(VM_RAND_READ | VM_SEQ_READ)
    elif advice == MADV_SEQUENTIAL:
        flags = (flags & ~VM_RAND_READ) | VM_SEQ_READ
    elif advice == MADV_RANDOM:
        flags = (flags & ~VM_SEQ_READ) | VM_RAND_READ
    elif advice == MADV_DONTFORK:
        flags |= VM_DONTCOPY
    elif advice == MADV_DOFORK:
        if flags & VM_IO:
            raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} is VM_IO")
        flags &= ~VM_DONTCOPY
    elif advice == MADV_WIPEONFORK:
        if vma.vm_file is not None or flags & VM_SHARED:
            raise _fail(
                EINVAL, f"MADV_WIPEONFORK needs private anonymous memory ({vma.vm_start:#x})"
            )
        flags |= VM_WIPEONFORK
    elif advice == MADV_KEEPONFORK:
        if flags & VM_DROPPABLE:  # droppable memory is always wiped on fork
            raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} is droppable")
        flags &= ~VM_WIPEONFORK
    elif advice == MADV_DONTDUMP:
        flags |= VM_DONTDUMP
    elif advice == MADV_DODUMP:
        if flags & VM_SPECIAL and not flags & VM_HUGETLB:
            raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} is a special mapping")
        if flags & VM_DROPPABLE:  # and never dumped
            raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} is droppable")
        flags &= ~VM_DONTDUMP
    elif advice in (MADV_MERGEABLE, MADV_UNMERGEABLE):
        flags = _ksm_madvise(vma, advice, flags)
    elif advice == MADV_HUGEPAGE:
        flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE  # hugepage_madvise()
    else:
        assert advice == MADV_NOHUGEPAGE, advice
        flags = (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE
    try:
        _update_vma(b, flags)
    except SyscallError as exc:
        if exc.errno == ENOMEM:  # "kernel resources temporarily unavailable"
            raise _fail(EAGAIN, exc.detail) from exc
        raise


_KSM_INCOMPATIBLE = (
    VM_SHARED
    | VM_MAYSHARE
    | VM_PFNMAP
    | VM_IO
    | VM_DONTEXPAND
    | VM_HUGETLB
    | VM_MIXEDMAP
    | VM_DROPPABLE  # vma_ksm_compatible()
)


def _ksm_madvise(vma: Vma, advice: int, flags: int) -> int:
    # ksm_madvise() (mm/ksm.c): advice KSM cannot follow is ignored, not refused. ksmd
    # does not run on the host, so no page is ever merged or unmerged.
    if advice == MADV_MERGEABLE:
        if flags & VM_MERGEABLE or flags & _KSM_INCOMPATIBLE:
            return flags
        return flags | VM_MERGEABLE
    return flags & ~VM_MERGEABLE


def _update_vma(b: _Behavior, new_flags: int) -> None:
    """``madvise_update_vma``: give ``[b.start, b.end)`` the flags ``new_flags`` through
    ``vma_modify`` (merge or split); ``b.vma`` becomes the VMA now covering the range.
    Caller holds ``mmap_lock`` for write."""
    mm = b.mm
    vma = b.vma
    assert vma is not None
    if new_flags == vma.vm_flags:
        return
    pgoff = vma.vm_pgoff + ((b.start - vma.vm_start) >> PAGE_SHIFT)
    result = vma_modify(
        mm,
        MergeRange(
            b.start,
            b.end,
            pgoff,
            new_flags,
            vma.vm_file,
            vma.anon_vma,
            vma.anon_name,
            b.prev,
            mm.find_vma(vma.vm_end),
            middle=vma,
        ),
    )
    b.vma = result
    vma_reset_flags(mm, result, new_flags)


# -- advice that works on pages -----------------------------------------------------------


def _dontneed_free(b: _Behavior) -> None:
    """``madvise_dontneed_free``: DONTNEED, DONTNEED_LOCKED and FREE."""
    mm, vma, advice = b.mm, b.vma, b.advice
    assert vma is not None
    forbidden = VM_PFNMAP | (0 if advice == MADV_DONTNEED_LOCKED else VM_LOCKED)
    if vma.vm_flags & forbidden:
        raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} is locked or VM_PFNMAP")
    if advice != MADV_FREE:
        with mm.page_lock:  # madvise_dontneed_single_vma(): zap_page_range_single()
            zap_pte_range(mm, vma, b.start, b.end)
        return
    # madvise_free_single_vma(): anonymous memory only.
    if not vma.is_anonymous():
        raise _fail(EINVAL, f"MADV_FREE needs anonymous memory ({vma.vm_start:#x})")
    lru = mm.kernel.lru
    droppable = vma.vm_flags & VM_DROPPABLE
    with mm.page_lock:
        lru_add_drain(lru)
        update_hiwater_rss(mm)
        for addr in mapped_addrs(vma, b.start, b.end):
            page = vma.pages[addr]  # type: ignore[index]
            if page.kind is not PageKind.ANON:
                continue  # the zero page or a guard marker
            if page.folio_dirty:  # madvise_free_pte_range(): a dirty folio...
                if page.mapcount != 1:
                    continue  # ...shared with another mm is left alone
                page.folio_dirty = False
            mm.old_ptes.add(addr)  # clear_young_dirty_ptes()
            mm.clean_ptes.add(addr)
            if not droppable:  # a droppable folio is lazy-free already
                folio_mark_lazyfree(lru, page)  # not an mlocked (unevictable) folio


def _cold_or_pageout(b: _Behavior) -> None:
    """``madvise_cold`` / ``madvise_pageout`` and their page walk
    (``madvise_cold_or_pageout_pte_range``)."""
    mm, vma = b.mm, b.vma
    assert vma is not None
    if vma.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB):  # can_madv_lru_vma()
        raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} is locked or VM_PFNMAP")
    # madvise_pageout() skips shared file mappings the caller could not write; the
    # simulator's caller is root (inode_owner_or_capable), so it never skips.
    pageout = b.advice == MADV_PAGEOUT
    lru = mm.kernel.lru
    with mm.page_lock:
        lru_add_drain(lru)
        victims = []
        for addr in mapped_addrs(vma, b.start, b.end):
            page = vma.pages[addr]  # type: ignore[index]
            # Not the zero page, on the LRU, mapped by this PTE only.
            if page.kind in NO_FOLIO or page.batched or page.mapcount != 1:
                continue
            if not pageout:
                mm.old_ptes.add(addr)  # clear_young_dirty_ptes(CYDP_CLEAR_YOUNG)
            page.referenced = False
            if not pageout:
                folio_deactivate(lru, page)
            elif not page.mlock_count:
                # Isolated, but an mlocked folio is unevictable: put back as it was
                # (folio_test_unevictable -> folio_putback_lru), never reclaimed.
                victims.append(addr)
        if victims:
            _reclaim(mm, vma, victims)


def _reclaim(mm: Mm, vma: Vma, addrs: list[int]) -> None:
    """``reclaim_pages`` -> ``shrink_folio_list`` on isolated exclusive folios, on a
    machine without swap. Caller holds the page lock."""
    pages = vma.pages
    assert pages is not None
    droppable = vma.vm_flags & VM_DROPPABLE
    for addr in addrs:
        page = pages[addr]
        if page.kind is PageKind.ANON:
            if droppable:
                # try_to_unmap_one(): a droppable folio (never swap-backed) is
                # discarded, dirty or not.
                zap_pte_range(mm, vma, addr, addr + PAGE_SIZE, reclaim=True)
                continue
            if not page.lazyfree:
                page.active = True  # no swap to add it to: activate_locked
                continue
            # try_to_unmap_one() on a MADV_FREE folio: a dirty PTE dirties the folio;
            # a clean one is discarded, a dirty one remapped and swap-backed again.
            if addr not in mm.clean_ptes:
                page.folio_dirty = True
            if page.folio_dirty:
                page.lazyfree = False
                page.active = True
                continue
            zap_pte_range(mm, vma, addr, addr + PAGE_SIZE, reclaim=True)
            continue
        # A page-cache page: unmapped; a clean one leaves the page cache, a dirty one
        # stays (only kswapd writes files back; shmem has no swap to go to).
        zap_pte_range(mm, vma, addr, addr + PAGE_SIZE, reclaim=True)
        if page.dirty:
            page.active = True
            continue
        assert vma.vm_file is not None
        cache = page_cache(vma.vm_file.inode)
        index = page.index
        if cache.pages.get(index) is page:
            del cache.pages[index]


def _willneed(b: _Behavior) -> None:
    """``madvise_willneed``: read a regular file's part of the range into the page
    cache (``vfs_fadvise(POSIX_FADV_WILLNEED)``, with ``mmap_lock`` dropped). Anonymous
    and shmem memory would be swapped in: there is no swap."""
    mm, vma = b.mm, b.vma
    assert vma is not None
    file = vma.vm_file
    if file is None or vma.special_name is not None or is_shmem(file.inode):
        return
    inode = file.inode
    index = linear_page_index(vma, b.start)
    count = min((b.end - b.start) >> PAGE_SHIFT, RA_PAGES)  # force_page_cache_ra()
    b.lock_dropped = True
    lock = mm.mmap_lock
    lock.read_unlock()
    try:
        with mm.page_lock:
            readahead(page_cache(inode), index, index + count, file_pages(inode))
    finally:
        lock.read_lock()


def _remove(b: _Behavior) -> None:
    """``madvise_remove``: punch a hole in the file behind a shared writable mapping
    (``vfs_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)``, with ``mmap_lock``
    dropped)."""
    mm, vma = b.mm, b.vma
    assert vma is not None
    b.lock_dropped = True  # mark_mmap_lock_dropped() comes first
    flags = vma.vm_flags
    if flags & VM_LOCKED:
        raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} is locked")
    file = vma.vm_file
    if file is None or vma.special_name is not None:
        raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} maps no file")
    if flags & (VM_SHARED | VM_MAYWRITE) != VM_SHARED | VM_MAYWRITE:
        raise _fail(EACCES, f"the VMA at {vma.vm_start:#x} is not a shared writable mapping")
    first = linear_page_index(vma, b.start)
    last = first + ((b.end - b.start) >> PAGE_SHIFT)
    lock = mm.mmap_lock
    lock.read_unlock()
    try:
        punch_hole(mm, file.inode, first, last)
    finally:
        lock.read_lock()


def punch_hole(mm: Mm, inode: Inode, first: int, last: int) -> None:
    """``truncate_pagecache_range`` for pages ``[first, last)`` of ``inode``: unmap them
    from every process (private COW copies stay: ``unmap_mapping_range`` with
    ``even_cows`` 0), then drop them from the page cache. Caller holds no lock; takes
    each process's ``mmap_lock`` for read in turn, never two at once. O(processes x
    VMAs + pages)."""
    for proc in mm.kernel.processes():
        other = proc.mm
        other.mmap_lock.read_lock()
        try:
            for vma in other.vmas():
                file = vma.vm_file
                if file is None or file.inode is not inode or not vma.pages:
                    continue
                lo = max(first, vma.vm_pgoff)
                hi = min(last, vma.vm_pgoff + vma.pages_count)
                if lo < hi:
                    start = vma.vm_start + ((lo - vma.vm_pgoff) << PAGE_SHIFT)
                    end = vma.vm_start + ((hi - vma.vm_pgoff) << PAGE_SHIFT)
                    with other.page_lock:
                        zap_pte_range(other, vma, start, end, even_cows=False)
        finally:
            other.mmap_lock.read_unlock()
    with mm.page_lock:
        cache = page_cache(inode)
        for index in [i for i in cache.pages if first <= i < last]:
            del cache.pages[index]


def _guard_install(b: _Behavior) -> None:
    """``madvise_guard_install``: guard markers over ``[b.start, b.end)``."""
    mm, vma = b.mm, b.vma
    assert vma is not None
    if vma.vm_flags & (VM_SPECIAL | VM_HUGETLB | VM_LOCKED):  # is_valid_guard_vma()
        raise _fail(EINVAL, f"guard markers cannot go into the VMA at {vma.vm_start:#x}")
    if not vma.vm_flags & VM_MAYBE_GUARD:
        # vma_flag_set_atomic() under the read lock: no split, no layout change (the
        # maps line does not show it, only smaps' VmFlags).
        vma.vm_flags |= VM_MAYBE_GUARD
    limit = mm.resident_limit()
    if limit is not None and (b.end - b.start) >> PAGE_SHIFT > limit:
        # The kernel would run out of memory for the page tables; the simulator bounds
        # the markers one call may write as it bounds resident pages.
        raise _fail(ENOMEM, f"{(b.end - b.start) >> PAGE_SHIFT} guard markers exceed the limit")
    if vma.is_anonymous():
        anon_vma_prepare(mm, vma)
    with mm.page_lock:
        # Zap whatever is mapped (markers already there stay), then fill every empty PTE.
        pages = vma.pages
        mapped = mapped_addrs(vma, b.start, b.end)
        if pages and any(pages[a].kind is not PageKind.GUARD for a in mapped):
            zap_pte_range(mm, vma, b.start, b.end)
        for addr in range(b.start, b.end, PAGE_SIZE):
            pages = vma.pages
            if pages is None or addr not in pages:
                set_pte(mm, vma, addr, GUARD_MARKER)


def _guard_remove(b: _Behavior) -> None:
    """``madvise_guard_remove``: clear the guard markers of the range."""
    mm, vma = b.mm, b.vma
    assert vma is not None
    if vma.vm_flags & (VM_SPECIAL | VM_HUGETLB):  # is_valid_guard_vma(allow_locked)
        raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} cannot hold guard markers")
    with mm.page_lock:
        pages = vma.pages
        for addr in mapped_addrs(vma, b.start, b.end):
            if pages is not None and pages[addr] is GUARD_MARKER:
                del pages[addr]  # pte_clear_not_present_full()
                mm.old_ptes.discard(addr)  # (a fork child's copy was made old)
        if pages is not None and not pages:
            vma.pages = None


def _collapse(b: _Behavior) -> None:
    """``madvise_collapse``: EINVAL unless the VMA may hold a PMD-sized THP
    (``thp_vma_allowable_order`` with ``TVA_FORCED_COLLAPSE``: not ``VM_NOHUGEPAGE``, not
    special, anonymous or shmem, an aligned 2 MiB range inside it). Each whole 2 MiB
    block of the range is then collapsed: one without a writable anonymous page fails
    (EINVAL, ``SCAN_PMD_NULL``/``SCAN_PAGE_RO``); one with becomes fully resident. The
    simulator has no huge pages: the block's 512 pages are ordinary anonymous pages
    (``AnonHugePages`` stays 0 where the kernel shows 2048 kB)."""
    mm, vma = b.mm, b.vma
    assert vma is not None
    flags = vma.vm_flags
    file = vma.vm_file
    shmem = file is not None and is_shmem(file.inode)
    aligned_pgoff = not shmem or not (vma.vm_start >> PAGE_SHIFT) - vma.vm_pgoff & 511
    last_pmd = (vma.vm_end - PMD_SIZE) & ~(PMD_SIZE - 1)
    if (
        flags & (VM_NOHUGEPAGE | VM_SPECIAL | VM_HUGETLB)
        or not (vma.is_anonymous() or shmem)
        or not aligned_pgoff
        or last_pmd < vma.vm_start
        or last_pmd + PMD_SIZE > vma.vm_end
    ):
        raise _fail(EINVAL, f"the VMA at {vma.vm_start:#x} cannot hold a huge page")
    hstart = (b.start + PMD_SIZE - 1) & ~(PMD_SIZE - 1)
    hend = b.end & ~(PMD_SIZE - 1)
    if hstart >= hend:
        return
    b.lock_dropped = True
    failed = False
    with mm.page_lock:
        for base in range(hstart, hend, PMD_SIZE):
            pages = vma.pages or {}
            block = [pages.get(a) for a in range(base, base + PMD_SIZE, PAGE_SIZE)]
            if not flags & VM_WRITE or not any(
                p is not None and p.kind is PageKind.ANON for p in block
            ):
                failed = True
                continue
            for i, page in enumerate(block):
                addr = base + i * PAGE_SIZE
                if page is None or page.kind is PageKind.ZERO:
                    try:
                        check_limit(mm, addr)
                    except ResidentLimitExceeded as exc:
                        raise _fail(ENOMEM, str(exc)) from exc
                    if page is not None:
                        del vma.pages[addr]  # type: ignore[union-attr]
                    set_pte(mm, vma, addr, AnonPage())
    if failed:
        raise _fail(EINVAL, "a 2 MiB block of the range has no page to collapse")


#: Advice whose handler works on runs as they are (zap_pte_range() frees them whole;
#: read-ahead does not look at anonymous pages).
_RUN_ADVICE = frozenset({MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_WILLNEED})

_HANDLERS: Final[dict[int, Callable[[_Behavior], None]]] = {
    MADV_REMOVE: _remove,
    MADV_WILLNEED: _willneed,
    MADV_COLD: _cold_or_pageout,
    MADV_PAGEOUT: _cold_or_pageout,
    MADV_FREE: _dontneed_free,
    MADV_DONTNEED: _dontneed_free,
    MADV_DONTNEED_LOCKED: _dontneed_free,
    MADV_COLLAPSE: _collapse,
    MADV_GUARD_INSTALL: _guard_install,
    MADV_GUARD_REMOVE: _guard_remove,
}
