"""The x86 user page-fault path: per-VMA lock fast path, ``mmap_lock`` fallback.

Design note
===========
:func:`do_user_addr_fault` follows arch/x86/mm/fault.c (6.9+, kernel-notes §3.3):

1. **Fast path** -- :func:`lock_vma_under_rcu` (mm/mmap_lock.c, §3.1): an RCU walk of
   the VMA tree, ``vma_start_read``, then a re-check of the range. A VMA detached
   between walk and lock (``-EAGAIN``) counts ``vma_lock_miss`` and the walk is
   retried; a gap, a write-locked VMA or a VMA that no longer covers the address
   counts ``vma_lock_abort`` and the fault falls back. With the VMA read-locked,
   ``access_error`` may deliver SIGSEGV at once (counted as ``vma_lock_success``,
   the 6.10 "accelerate pagefault when badaccess" behaviour); otherwise
   :func:`handle_mm_fault` runs. ``VM_FAULT_RETRY`` (anon_vma allocation while
   ``mmap_read_trylock`` fails, or file I/O) counts ``vma_lock_retry`` and the fault
   is redone under ``mmap_lock``; any other result counts ``vma_lock_success``.
2. **Fallback** -- :func:`lock_mm_and_find_vma` (§3.2): ``mmap_read_lock`` and
   ``find_vma``; below a ``VM_GROWSDOWN`` VMA the lock is dropped, retaken for write,
   the stack expanded (:func:`expand_downwards`, with the 256-page guard gap, §4.4)
   and the lock downgraded. No VMA: SIGSEGV ``SEGV_MAPERR``.
3. **Page handling** -- :func:`handle_mm_fault` (mm/memory.c, §4): zero page for an
   anonymous read, a new page on write, COW of private file pages and of pages
   shared with a fork, shmem and page-cache pages, SIGBUS beyond EOF; RSS counters
   and ``min_flt``/``maj_flt`` (``mm_account_fault``).

Pause points (``Mm.pause``) let tests stop a fault at ``fault:after_rcu_walk`` (VMA
found, not yet locked; still inside the RCU read section), ``fault:after_vma_lock``
(locked, range not yet re-checked), ``fault:before_anon_trylock`` (under the VMA
lock, about to ``mmap_read_trylock`` for ``anon_vma_prepare``) and
``fault:before_mmap_lock`` (about to take ``mmap_lock`` on the fallback path).

Simplified: kernel-mode faults, protection keys, shadow stacks, userfaultfd, hugetlb,
fault-around and readahead are not modelled; a fatal signal never interrupts a fault.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .constants import (
    ENOMEM,
    EPERM,
    MMAP_MIN_ADDR,
    PAGE_MASK,
    PAGE_SHIFT,
    STACK_GUARD_GAP,
    VM_ACCESS_FLAGS,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_MAYWRITE,
    VM_SHARED,
    VM_SOFTDIRTY,
    VM_WRITE,
)
from .errors import InvalidArgument, SyscallError
from .pages import (
    MM_ANONPAGES,
    PAGE_LOCK,
    ZERO_PAGE,
    AnonPage,
    Page,
    PageCache,
    PageKind,
    ResidentLimitExceeded,
    check_limit,
    file_pages,
    linear_page_index,
    page_cache,
    replace_pte,
    set_pte,
)
from .vma import AnonVma
from .vma_lock import ReadLockFailure, vma_end_read, vma_start_read, vma_start_write

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

ACCESSES = ("read", "write", "exec")
USER_ADDR_LIMIT = 1 << 47  # 4-level paging: above this the address is not user space

# vm_fault_t bits (include/linux/mm_types.h) used here.
VM_FAULT_OK = 0
VM_FAULT_SIGBUS = 0x2
VM_FAULT_MAJOR = 0x4
VM_FAULT_SIGSEGV = 0x40
VM_FAULT_RETRY = 0x400
VM_FAULT_ERROR = VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV


# -- counters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VmEventStatistics:
    """The per-VMA-lock vmstat events (``/proc/vmstat``, kernel-notes §3.5) and the
    fault counts (``pgfault``, ``pgmajfault``)."""

    vma_lock_success: int
    vma_lock_abort: int
    vma_lock_retry: int
    vma_lock_miss: int
    pgfault: int
    pgmajfault: int


class VmEvents:
    """A set of event counters, per process or machine-wide (``count_vm_vma_lock_event``).

    Thread-safe without a lock, like the kernel's per-CPU counters: each counter is an
    ``itertools.count``, whose ``next()`` is one atomic C call under the GIL. Reading a
    value parses the counter's ``repr`` (no API reads it without advancing it); a
    snapshot is therefore not atomic across counters, exactly as summing per-CPU
    counters is not. Counting an event also counts it in :attr:`parent` (the Kernel's
    machine-wide set).
    """

    _FIELDS = tuple(VmEventStatistics.__dataclass_fields__)

    def __init__(self, parent: VmEvents | None = None) -> None:
        self._counters = {name: itertools.count(1) for name in self._FIELDS}
        self._parent: VmEvents | None = None
        self._bump: dict[str, tuple[Callable[[], int], ...]] = {}
        self.parent = parent

    @property
    def parent(self) -> VmEvents | None:
        """The set every event is also counted in (None: none)."""
        return self._parent

    @parent.setter
    def parent(self, parent: VmEvents | None) -> None:
        self._parent = parent
        self._bump = {
            name: (self._counters[name].__next__,)
            + ((parent._counters[name].__next__,) if parent is not None else ())
            for name in self._FIELDS
        }
        #: What a minor fault completed under the VMA lock counts: vma_lock_success
        #: and pgfault, here and in the parent.
        self.fast_path_bumps = self._bump["vma_lock_success"] + self._bump["pgfault"]

    def count(self, event: str) -> None:
        """Add one to ``event`` here and in the parent. O(1), lock-free."""
        for bump in self._bump[event]:
            bump()

    def statistics(self) -> VmEventStatistics:
        """The counters' current values. O(1)."""
        return VmEventStatistics(
            **{name: int(repr(c)[6:-1]) - 1 for name, c in self._counters.items()}
        )


# -- the result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultResult:
    """What one user page fault did.

    ``outcome`` is ``"ok"``, ``"SIGSEGV"`` or ``"SIGBUS"`` with ``si_code``
    (``SEGV_MAPERR``, ``SEGV_ACCERR``, ``BUS_ADRERR``). ``path`` is where it completed:
    ``"vma_lock"`` (fast path), ``"mmap_lock"`` (fallback after ABORT),
    ``"retried"`` (fast path returned VM_FAULT_RETRY, redone under mmap_lock),
    ``"stack_expanded"`` (fallback that grew a VM_GROWSDOWN VMA) or ``"none"`` (not a
    user address: no lock taken). ``misses`` counts VMA_LOCK_MISS retries of the walk.
    ``vma_start``/``vma_end`` are the VMA it resolved to (None without one). ``page``
    names the page now mapped: ``zero``, ``anon``, ``file``, ``shmem``, ``cow`` (a
    private copy made by this fault) or None.
    """

    addr: int
    access: str
    outcome: str
    si_code: str | None
    path: str
    misses: int
    vma_start: int | None
    vma_end: int | None
    major: bool
    page: str | None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def describe(self) -> str:
        """``ok`` or ``SIGSEGV SEGV_MAPERR`` -- the differential helper's format."""
        return "ok" if self.outcome == "ok" else f"{self.outcome} {self.si_code}"


# -- fast path ----------------------------------------------------------------------------


def lock_vma_under_rcu(mm: Mm, addr: int) -> tuple[Vma | None, int]:
    """``lock_vma_under_rcu`` (6.17/6.18): the read-locked VMA covering ``addr`` or
    None, and the number of MISS retries. Counts MISS and ABORT. Never blocks. O(log n)
    per walk. Caller holds nothing; on success it must ``vma_end_read``."""
    rcu = mm.rcu
    pauses = mm.pauses
    lock = mm.mmap_lock
    misses = 0
    while True:
        slot = rcu.read_lock()
        entry = mm.tree.walk(addr)
        if entry is None:
            rcu.read_unlock(slot)
            mm.vm_events.count("vma_lock_abort")
            return None, misses
        vma = entry[2]
        if pauses.active:
            mm.pause("fault:after_rcu_walk")
        failure = vma_start_read(lock, vma, mm)
        # 6.17+: vma_start_read drops RCU on failure; on success the caller does.
        rcu.read_unlock(slot)
        if failure is not None:
            if failure is ReadLockFailure.DETACHED:
                mm.vm_events.count("vma_lock_miss")
                misses += 1
                continue
            mm.vm_events.count("vma_lock_abort")
            return None, misses
        if pauses.active:
            mm.pause("fault:after_vma_lock")
        if not vma.vm_start <= addr < vma.vm_end:
            vma_end_read(lock, vma)
            mm.vm_events.count("vma_lock_abort")
            return None, misses
        return vma, misses


def access_error(access: str, vma: Vma, present: bool) -> bool:
    """x86 ``access_error``: a write needs ``VM_WRITE``; a read or fetch needs the VMA to
    be accessible, and a fetch from a present page of a non-exec VMA is a protection
    fault (the page was mapped NX). Reading a ``-w-`` VMA succeeds. O(1)."""
    flags = vma.vm_flags
    if access == "write":
        return not flags & VM_WRITE
    if access == "exec" and present and not flags & VM_EXEC:
        return True
    return not flags & VM_ACCESS_FLAGS


# -- fallback -----------------------------------------------------------------------------


def lock_mm_and_find_vma(mm: Mm, addr: int) -> tuple[Vma | None, bool]:
    """``lock_mm_and_find_vma``: the VMA covering ``addr`` with ``mmap_lock`` held for
    read, growing a ``VM_GROWSDOWN`` VMA above a gap (write lock, then downgrade).
    Returns ``(vma, expanded)``; on ``(None, _)`` no lock is held. O(log n)."""
    lock = mm.mmap_lock
    mm.pause("fault:before_mmap_lock")
    lock.read_lock()
    vma = mm.find_vma(addr)
    if vma is not None and vma.vm_start <= addr:
        return vma, False
    if vma is None or not vma.vm_flags & VM_GROWSDOWN:
        lock.read_unlock()
        return None, False
    # Stack expansion needs the write lock; there is no upgrade.
    lock.read_unlock()
    lock.write_lock()
    vma = mm.find_vma(addr)
    if vma is not None and vma.vm_start <= addr:
        lock.write_downgrade()
        return vma, False
    if vma is None or not vma.vm_flags & VM_GROWSDOWN:
        lock.write_unlock()
        return None, False
    try:
        expand_downwards(mm, vma, addr)
    except SyscallError:
        lock.write_unlock()
        return None, False
    lock.write_downgrade()
    return vma, True


def expand_downwards(mm: Mm, vma: Vma, addr: int) -> None:
    """``expand_downwards`` (mm/mmap.c): lower ``vma``'s start to the page of ``addr``.

    Fails (SyscallError EPERM/ENOMEM, nothing changed) below ``mmap_min_addr``, when the
    previous accessible non-stack VMA would end up closer than ``stack_guard_gap`` (256
    pages), or past ``RLIMIT_STACK``. Caller holds ``mmap_lock`` for write. O(log n).
    """
    address = addr & PAGE_MASK
    if address < MMAP_MIN_ADDR:
        raise SyscallError(EPERM, "fault", f"stack growth to {address:#x} below mmap_min_addr")
    prev = mm._prev_vma(vma.vm_start)
    if (
        prev is not None
        and not prev.vm_flags & VM_GROWSDOWN
        and prev.vm_flags & VM_ACCESS_FLAGS
        and address - prev.vm_end < STACK_GUARD_GAP
    ):
        raise SyscallError(
            ENOMEM,
            "fault",
            f"stack growth to {address:#x} comes within the guard gap of the VMA "
            f"ending at {prev.vm_end:#x}",
        )
    # acct_stack_growth(): RLIMIT_STACK (may_expand_vm / mlock limits not modelled).
    size = vma.vm_end - address
    if size > mm.stack_rlimit:
        raise SyscallError(
            ENOMEM, "fault", f"stack of {size:#x} bytes exceeds RLIMIT_STACK {mm.stack_rlimit:#x}"
        )
    anon_vma_prepare(mm, vma)
    vma_start_write(mm.mmap_lock, vma)
    grow = (vma.vm_start - address) >> PAGE_SHIFT
    vma.set_range(address, vma.vm_end, vma.vm_pgoff - grow)
    mm.tree.store(address, vma.vm_end, vma)
    mm.vm_stat_account(vma.vm_flags, grow)


# -- anon_vma -----------------------------------------------------------------------------


def _anon_vma_compatible(a: Vma, b: Vma) -> bool:
    # anon_vma_compatible(a, b): a directly below b, same file and policy, flags equal
    # but for access bits and soft-dirty, and contiguous page offsets.
    return (
        a.vm_end == b.vm_start
        and a.vm_file is b.vm_file
        and not (a.vm_flags ^ b.vm_flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)
        and b.vm_pgoff == a.vm_pgoff + ((b.vm_start - a.vm_start) >> PAGE_SHIFT)
    )


def find_mergeable_anon_vma(mm: Mm, vma: Vma) -> AnonVma | None:
    """``find_mergeable_anon_vma``: reuse the anon_vma of the next, then the previous,
    neighbour if compatible and not inherited through fork (``reusable_anon_vma``:
    the neighbour's chain must be singular). Caller holds ``mmap_lock``. O(log n)."""
    nxt = mm.find_vma(vma.vm_end)
    if nxt is not None and _anon_vma_compatible(vma, nxt):
        anon = nxt.anon_vma
        if anon is not None and not anon.forked:
            return anon
    prev = mm._prev_vma(vma.vm_start)
    if prev is not None and _anon_vma_compatible(prev, vma):
        anon = prev.anon_vma
        if anon is not None and not anon.forked:
            return anon
    return None


def anon_vma_prepare(mm: Mm, vma: Vma) -> None:
    """``__anon_vma_prepare``: give ``vma`` an anon_vma (a neighbour's, or a new one).
    Caller holds ``mmap_lock`` (read is enough: the store is made under the page-table
    lock). O(log n)."""
    if vma.anon_vma is not None:
        return
    anon = find_mergeable_anon_vma(mm, vma) or AnonVma()
    with PAGE_LOCK:
        if vma.anon_vma is None:
            vma.anon_vma = anon
            anon.degree += 1


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


# -- handle_mm_fault ----------------------------------------------------------------------


def handle_mm_fault(
    mm: Mm, vma: Vma, addr: int, access: str, vma_locked: bool
) -> tuple[int, str | None]:
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
    if present is not None:
        if not write:
            return VM_FAULT_OK, present.kind.value  # spurious: just mark young
        return _do_wp_page(mm, vma, page_addr, present, vma_locked)
    file = vma.vm_file
    if file is None:
        if vma.special_name is not None:
            return VM_FAULT_OK, None  # vdso/vvar: pages inserted by the driver
        return _do_anonymous_page(mm, vma, page_addr, write, vma_locked)
    return _do_fault(mm, vma, page_addr, write, vma_locked)


def _do_anonymous_page(
    mm: Mm, vma: Vma, addr: int, write: bool, vma_locked: bool
) -> tuple[int, str | None]:
    if not write:
        # The shared zero page, read-only: no anon_vma, no RSS.
        with PAGE_LOCK:
            if vma.pages is None or addr not in vma.pages:
                set_pte(mm, vma, addr, ZERO_PAGE)
        return VM_FAULT_OK, "zero"
    if vma.anon_vma is None:
        ret = vmf_anon_prepare(mm, vma, vma_locked)
        if ret:
            return ret, None
    page = AnonPage()
    # PAGE_LOCK, inlined (the hot path of every benchmark).
    if not PAGE_LOCK.acquire(False):
        PAGE_LOCK.contended()
        PAGE_LOCK.acquire()
    PAGE_LOCK.acquired()
    try:
        pages = vma.pages
        if pages is not None and addr in pages:  # lost a race: already mapped
            return VM_FAULT_OK, pages[addr].kind.value
        check_limit(mm, addr)
        set_pte(mm, vma, addr, page)
    finally:
        PAGE_LOCK.release()
    return VM_FAULT_OK, "anon"


def _do_fault(mm: Mm, vma: Vma, addr: int, write: bool, vma_locked: bool) -> tuple[int, str | None]:
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
    with PAGE_LOCK:
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
                # filemap_fault(): a page-cache miss is a major fault. Read-around
                # (do_sync_mmap_readahead: ra_pages 32 centred on the page, up to EOF)
                # runs with the fault lock dropped, so the fault returns
                # VM_FAULT_RETRY and is redone, finding the pages cached.
                _read_around(cache, index, file_pages(inode))
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


FAULT_AROUND_PAGES = 16  # fault_around_bytes = 64 KiB
RA_PAGES = 2048  # read_ahead_kb = 8192 on the host's root device (bdi 254:0, /dev/vda)
PTRS_PER_PTE = 512


def _read_around(cache: PageCache, index: int, eof: int) -> None:
    # do_sync_mmap_readahead() read-around: ra->start = pgoff - ra_pages / 2, size
    # ra_pages, clamped to the file. (The mmap_miss cut-off after 100 misses and the
    # PG_readahead marker that triggers async readahead are not modelled.)
    for i in range(max(0, index - RA_PAGES // 2), min(eof, index + RA_PAGES // 2)):
        if i not in cache.pages:
            cache.pages[i] = Page(PageKind.SHMEM if cache.shmem else PageKind.FILE, index=i)


def _do_fault_around(mm: Mm, vma: Vma, addr: int, index: int, cache: PageCache, eof: int) -> bool:
    """``do_fault_around`` + ``filemap_map_pages``: map the cached pages of the 16-page
    aligned window around ``addr`` (inside the VMA, the page table and the file) whose
    PTEs are empty. True if the faulting page got mapped. Caller holds PAGE_LOCK."""
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
        set_pte(mm, vma, at, page)
        mapped = mapped or i == index
    return mapped


def _do_wp_page(
    mm: Mm, vma: Vma, addr: int, page: Page, vma_locked: bool
) -> tuple[int, str | None]:
    if vma.vm_flags & VM_SHARED and page.kind is not PageKind.ZERO:
        # wp_page_shared(): a shared mapping writes the page-cache page itself.
        with PAGE_LOCK:
            page.dirty = True
        return VM_FAULT_OK, page.kind.value
    if page.kind is PageKind.ANON and page.mapcount == 1:
        return VM_FAULT_OK, "anon"  # wp_can_reuse_anon_folio(): exclusive, reuse it
    ret = vmf_anon_prepare(mm, vma, vma_locked)  # wp_page_copy() needs the anon_vma
    if ret:
        return ret, None
    with PAGE_LOCK:
        current = vma.pages.get(addr) if vma.pages else None
        if current is not page:  # raced with another fault on this page
            return VM_FAULT_OK, current.kind.value if current is not None else None
        if page.kind is PageKind.ANON and page.mapcount == 1:
            return VM_FAULT_OK, "anon"
        if page.kind is PageKind.ZERO:  # the only copy that raises this mm's RSS
            check_limit(mm, addr)
        replace_pte(mm, vma, addr, AnonPage())
    return VM_FAULT_OK, "cow"


# -- the arch fault handler ---------------------------------------------------------------


def _account(mm: Mm, ret: int, tried: bool) -> bool:
    # mm_account_fault(): RETRY is accounted on completion; errors only in pgfault.
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


def _result(
    addr: int,
    access: str,
    ret: int,
    path: str,
    misses: int,
    vma: tuple[int, int] | None,
    major: bool,
    page: str | None,
    signal: tuple[str, str] | None = None,
) -> FaultResult:
    if signal is None:
        if ret & VM_FAULT_SIGBUS:
            signal = ("SIGBUS", "BUS_ADRERR")
        elif ret & VM_FAULT_SIGSEGV:
            signal = ("SIGSEGV", "SEGV_MAPERR")
    outcome, code = signal if signal is not None else ("ok", None)
    return FaultResult(
        addr,
        access,
        outcome,
        code,
        path,
        misses,
        vma[0] if vma else None,
        vma[1] if vma else None,
        major and outcome == "ok",
        page if outcome == "ok" else None,
    )


_new_result = object.__new__


def _ok_result(
    addr: int, access: str, misses: int, rng: tuple[int, int], page: str | None
) -> FaultResult:
    # A FaultResult built without the frozen dataclass's per-field object.__setattr__:
    # the instance dict's items are stored directly (cheaper than dict.update(**kw),
    # which builds a keyword dict first). Same fields, in the same order, as
    # _result(..., "vma_lock"). O(1).
    result: FaultResult = _new_result(FaultResult)
    d = result.__dict__
    d["addr"] = addr
    d["access"] = access
    d["outcome"] = "ok"
    d["si_code"] = None
    d["path"] = "vma_lock"
    d["misses"] = misses
    d["vma_start"] = rng[0]
    d["vma_end"] = rng[1]
    d["major"] = False
    d["page"] = page
    return result


def _needs_nx_refault(mm: Mm, addr: int) -> bool:
    vma = mm.vma_lookup(addr)
    return vma is not None and not vma.vm_flags & VM_EXEC


def _present(vma: Vma, addr: int) -> bool:
    pages = vma.pages
    return bool(pages) and (addr & PAGE_MASK) in pages  # type: ignore[operator]


def do_user_addr_fault(mm: Mm, addr: int, access: str, *, _nx_refault: bool = False) -> FaultResult:
    """x86 ``do_user_addr_fault`` for a user-mode fault at ``addr``.

    Takes and releases the locks itself (caller holds none). Thread-safe. O(log n).
    A fetch from a non-exec VMA runs twice, as on the CPU: the first (not-present)
    fault maps the page NX, the retried fetch (``_nx_refault``, internal) gets
    SEGV_ACCERR. The whole fault is one function so that the anonymous write fast path
    (the benchmarked one) costs a single Python frame above the lock helpers.
    """
    if type(addr) is not int and (not isinstance(addr, int) or isinstance(addr, bool)):
        raise InvalidArgument(f"fault address {addr!r} is not a 64-bit unsigned integer")
    if not 0 <= addr < 1 << 64:
        raise InvalidArgument(f"fault address {addr!r} is not a 64-bit unsigned integer")
    if access not in ACCESSES:
        raise InvalidArgument(f"fault access {access!r} is not one of read, write, exec")
    if addr >= USER_ADDR_LIMIT:
        # fault_in_kernel_space(): bad_area_nosemaphore, no lock taken.
        return _result(addr, access, 0, "none", 0, None, False, None, ("SIGSEGV", "SEGV_MAPERR"))
    locking = mm.locking
    if locking is not None:  # an experiment's locking profile (core/locking.py)
        result = locking.fault(mm, addr, access)
    else:
        vma, misses = lock_vma_under_rcu(mm, addr)
        if vma is None:
            result = _mmap_lock_path(mm, addr, access, "mmap_lock", misses, False)
        else:
            if (
                access == "write"
                and vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE
                and vma.anon_vma is not None
                and vma.vm_file is None
                and vma.special_name is None
            ):
                # do_anonymous_page() for a write, inlined: the benchmarked fast path. The
                # same steps as handle_mm_fault -> _do_anonymous_page, minus the calls.
                page_addr = addr & PAGE_MASK
                pages = vma.pages
                if pages is None or page_addr not in pages:
                    rng = (vma.vm_start, vma.vm_end)  # read while the VMA is locked
                    kind = "anon"
                    try:
                        # folio_prealloc() (outside the page-table lock, as in the kernel),
                        # then under it: re-check the PTE (a racing fault may have mapped
                        # the page: do_anonymous_page then just returns), the RSS limit,
                        # set_pte_at + folio_add_new_anon_rmap + inc_mm_counter.
                        page = AnonPage()
                        limit = mm.resident_limit()
                        if not _page_lock_acquire(False):
                            PAGE_LOCK.contended()
                            _page_lock_acquire()
                        _page_lock_acquired()
                        try:
                            pages = vma.pages
                            if pages is None:
                                pages = vma.pages = {}
                            if page_addr in pages:
                                kind = pages[page_addr].kind.value
                            else:
                                stat = mm.rss_stat
                                if limit is not None and stat[0] + stat[1] + stat[3] >= limit:
                                    raise ResidentLimitExceeded(limit, page_addr)
                                pages[page_addr] = page
                                if mm.old_ptes:
                                    mm.old_ptes.discard(page_addr)
                                page.mapcount = 1
                                stat[MM_ANONPAGES] += 1
                        finally:
                            _page_lock_release()
                    finally:
                        vma_end_read(mm.mmap_lock, vma)
                    for bump in mm.vm_events.fast_path_bumps:
                        bump()
                    mm.min_flt += 1
                    return _ok_result(addr, access, misses, rng, kind)
            result = _slow_vma_path(mm, vma, addr, access, misses)
    if (
        access == "exec"
        and not _nx_refault
        and result.ok
        and result.vma_start is not None
        and _needs_nx_refault(mm, addr)
    ):
        return do_user_addr_fault(mm, addr, access, _nx_refault=True)
    return result


# PAGE_LOCK's bound C methods, loaded once (the fast path inlines ``with PAGE_LOCK``).
_page_lock_acquire = PAGE_LOCK.acquire
_page_lock_release = PAGE_LOCK.release
_page_lock_acquired = PAGE_LOCK.acquired


def _slow_vma_path(mm: Mm, vma: Vma, addr: int, access: str, misses: int) -> FaultResult:
    # do_user_addr_fault() after lock_vma_under_rcu() returned ``vma`` read-locked.
    events = mm.vm_events
    rng = (vma.vm_start, vma.vm_end)
    if access_error(access, vma, _present(vma, addr)):
        vma_end_read(mm.mmap_lock, vma)
        events.count("vma_lock_success")
        return _result(
            addr, access, 0, "vma_lock", misses, rng, False, None, ("SIGSEGV", "SEGV_ACCERR")
        )
    try:
        ret, page = handle_mm_fault(mm, vma, addr, access, vma_locked=True)
    finally:
        # RETRY means the handler dropped the VMA lock; here it is dropped for it.
        vma_end_read(mm.mmap_lock, vma)
    if not ret:
        # A minor fault completed under the VMA lock: vma_lock_success and pgfault.
        for bump in events.fast_path_bumps:
            bump()
        mm.min_flt += 1
        return _ok_result(addr, access, misses, rng, page)
    if not ret & VM_FAULT_RETRY:
        events.count("vma_lock_success")
        major = _account(mm, ret, tried=False)
        return _result(addr, access, ret, "vma_lock", misses, rng, major, page)
    events.count("vma_lock_retry")
    tried = bool(ret & VM_FAULT_MAJOR)  # FAULT_FLAG_TRIED
    return _mmap_lock_path(mm, addr, access, "retried", misses, tried)


def _mmap_lock_path(
    mm: Mm,
    addr: int,
    access: str,
    path: str,
    misses: int,
    tried: bool,
    page_work: Callable[[], object] | None = None,
) -> FaultResult:
    # do_user_addr_fault() from "lock_mmap:": lock_mm_and_find_vma() and retries.
    # ``page_work`` is an experiment's cost model (core.experiments.profiles): time
    # spent on the page while the lock is held, before handle_mm_fault().
    while True:
        vma, expanded = lock_mm_and_find_vma(mm, addr)
        if vma is None:
            return _result(
                addr, access, 0, path, misses, None, False, None, ("SIGSEGV", "SEGV_MAPERR")
            )
        if expanded:
            path = "stack_expanded"
        rng = (vma.vm_start, vma.vm_end)
        if access_error(access, vma, _present(vma, addr)):
            mm.mmap_lock.read_unlock()
            return _result(
                addr, access, 0, path, misses, rng, False, None, ("SIGSEGV", "SEGV_ACCERR")
            )
        try:
            if page_work is not None:
                page_work()
            ret, page = handle_mm_fault(mm, vma, addr, access, vma_locked=False)
        finally:
            mm.mmap_lock.read_unlock()
        if ret & VM_FAULT_RETRY:
            tried = True
            continue
        major = _account(mm, ret, tried)
        return _result(addr, access, ret, path, misses, rng, major, page)
