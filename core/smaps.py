"""``/proc/<pid>/smaps``, ``smaps_rollup``, the memory lines of ``status``, and ``statm``.

Byte for byte as fs/proc/task_mmu.c (``show_smap``, ``__show_smap``,
``show_smaps_rollup``, ``task_mem``, ``task_statm``) prints them on the 6.18 host
(``show_smap``, ``show_smaps_rollup`` in fs/proc/task_mmu.c; Documentation/filesystems/proc.rst):

* smaps: the VMA's maps line, then ``Label:`` padded to 16 columns, the value in kB
  right-aligned in 8, `` kB``; ``THPeligible:`` as a bare ``%8d``; ``VmFlags:`` with a
  two-letter mnemonic and a space per flag bit.
* Pss is accumulated in the kernel's fixed point (``PSS_SHIFT`` 12 bits of fraction):
  each resident page adds ``(PAGE_SIZE << 12) / mapcount``, and the total is shifted
  down once at the end, so rounding matches the kernel's.
* A page mapped once is Private, more than once Shared; dirty pages are anonymous pages
  and page-cache pages written through a shared mapping, unless MADV_FREE cleaned an
  anonymous page's PTE (see core/pages.py). The zero page and guard markers are not
  counted (``vm_normal_page`` returns NULL, the marker is not present). Referenced
  counts young PTEs and PG_referenced folios: every PTE a fault maps is young; fork's
  child copies, MADV_COLD and MADV_FREE make them old until the next access.
* LazyFree: anonymous folios MADV_FREE made lazy-free (once its LRU batch was drained)
  whose PTE and folio are still clean.

What is not modelled prints 0 (KSM, huge pages, swap). ``VmPTE`` counts the
page-table pages the resident pages need (one PTE table per 2 MiB, PMD table per 1 GiB
and PUD table per 512 GiB region touched), which is what ``mm_pgtables_bytes`` shows
unless tables outlived their pages. THPeligible follows the host's
``transparent_hugepage/enabled = madvise``: 1 only for a ``VM_HUGEPAGE`` anonymous VMA
that contains an aligned 2 MiB range.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from .constants import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_DROPPABLE,
    VM_HUGEPAGE,
    VM_LOCKED,
    VM_LOCKONFAULT,
    VM_NOHUGEPAGE,
)
from .pages import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    MM_SWAPENTS,
    NO_FOLIO,
    PageKind,
    count_at,
    group_coverage,
    pte_dirty,
    table_count,
)
from .procfs import GATE_LINE, vma_line
from .sched import RESCHED_MASK, cond_resched

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

PSS_SHIFT = 12
HPAGE_PMD_SIZE = 2 << 20

# show_smap_vma_flags(): mnemonic per flag bit (x86-64 6.18 without soft-dirty, as the
# host prints them); a set bit without an entry prints "??".
_MNEMONICS = {
    0: "rd", 1: "wr", 2: "ex", 3: "sh", 4: "mr", 5: "mw", 6: "me", 7: "ms", 8: "gd",
    9: "um", 10: "pf", 11: "gu", 12: "uw", 13: "lo", 14: "io", 15: "sr", 16: "rr", 17: "dc",
    18: "de", 19: "lf", 20: "ac", 21: "nr", 22: "ht", 23: "sf", 24: "ar", 25: "wf",
    26: "dd", 28: "mm", 29: "hg", 30: "nh", 31: "mg",
    40: "dp",  # VM_DROPPABLE (MAP_DROPPABLE, 64-bit)
    42: "sl",  # VM_SEALED (mseal, 64-bit)
}  # fmt: skip
_SOFTDIRTY_BIT = 27  # CONFIG_MEM_SOFT_DIRTY is off on the host: the bit prints nothing


@dataclass
class MemSizeStats:
    """``struct mem_size_stats``: byte counts (Pss fields in fixed point)."""

    resident: int = 0
    shared_clean: int = 0
    shared_dirty: int = 0
    private_clean: int = 0
    private_dirty: int = 0
    referenced: int = 0
    anonymous: int = 0
    lazyfree: int = 0
    pss: int = 0
    pss_anon: int = 0
    pss_file: int = 0
    pss_shmem: int = 0
    pss_dirty: int = 0
    pss_locked: int = 0

    def add(self, other: MemSizeStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def smap_gather_stats(mm: Mm, vma: Vma, start: int = 0) -> MemSizeStats:
    """``smap_gather_stats`` + ``smaps_pte_entry`` over one VMA's resident pages at or
    above ``start`` (``smaps_rollup`` resumes mid-VMA after dropping ``mmap_lock``).
    Caller holds ``mmap_lock`` (or the VMA lock). O(pages + runs)."""
    mss = MemSizeStats()
    locked = bool(vma.vm_flags & (VM_LOCKED | VM_LOCKONFAULT))
    # A droppable VMA's folios are never swap-backed: a clean one is LazyFree.
    droppable = bool(vma.vm_flags & VM_DROPPABLE)
    old = mm.old_ptes
    with mm.page_lock:
        items = (
            [(a, p, pte_dirty(mm, a, p)) for a, p in vma.pages.items() if a >= start]
            if vma.pages
            else []
        )
        # Runs (core/pages.py): anonymous pages, PTE dirty; young unless old (a fork
        # child's), mapped once unless their group says more. The zero page's runs
        # count nothing (vm_normal_page() is NULL). Summed as exclusive young pages
        # first, then corrected for the old and the shared ones. O(runs + members).
        runs = vma.runs
        if not runs:
            size = 0
            special = []
        else:
            if start <= runs[0].start:
                size = sum(r.end - r.start for r in runs if not r.zero)
            else:
                size = sum(max(r.end - max(r.start, start), 0) for r in runs if not r.zero)
            special = [r for r in runs if (r.old or r.group is not None) and r.end > start]
        if size:
            pss = size << PSS_SHIFT
            mss.resident += size
            mss.referenced += size
            mss.anonymous += size
            mss.pss += pss
            mss.pss_anon += pss
            mss.pss_dirty += pss
            mss.private_dirty += size
            if locked:
                mss.pss_locked += pss
        for run in special:
            lo = max(run.start, start)
            size = run.end - lo
            by_run = not run.old or run.referenced
            if not by_run:
                mss.referenced -= size
            group = run.group
            if group is None:
                continue
            # Each folio's mapcount is the number of runs mapping it, or its page
            # object's mapcount (and flags) if a mapper made it a page
            # (RunGroup.folios): that page leaves its span (a negative length) and
            # counts on its own. The run's pages were summed as mapcount 1 above.
            g = lo + run.shift
            cover = group_coverage(group, g, g + size)
            spans = [(-size, 1)] + [(b - a, n) for a, b, n in cover]
            for at, page in group.folios_in(g, g + size):
                spans.append((-PAGE_SIZE, count_at(cover, at)))
                spans.append((PAGE_SIZE, page.mapcount))
                by_page = not run.old or page.referenced
                mss.referenced += (by_page - by_run) * PAGE_SIZE
            for length, mapcount in spans:
                pss = (length >> PAGE_SHIFT) * ((PAGE_SIZE << PSS_SHIFT) // mapcount)
                mss.pss += pss
                mss.pss_anon += pss
                mss.pss_dirty += pss
                if mapcount < 2:
                    mss.private_dirty += length
                else:
                    mss.shared_dirty += length
                if locked:
                    mss.pss_locked += pss
    n = 0
    for addr, page, dirty in items:
        n += 1
        if not n & RESCHED_MASK:
            cond_resched()  # smaps_pte_range(): page lock dropped above
        kind = page.kind
        if kind in NO_FOLIO:
            continue
        mss.resident += PAGE_SIZE
        # smaps_account(): young PTE, or PG_referenced (or the idle-page young flag).
        if addr not in old or page.referenced:
            mss.referenced += PAGE_SIZE
        mapcount = page.mapcount
        private = mapcount < 2
        pss = (PAGE_SIZE << PSS_SHIFT) // (1 if private else mapcount)
        mss.pss += pss
        if kind is PageKind.ANON:
            mss.anonymous += PAGE_SIZE
            mss.pss_anon += pss
            if (page.lazyfree or droppable) and not dirty:
                mss.lazyfree += PAGE_SIZE  # MADV_FREE'd, clean: may be discarded
        elif kind is PageKind.SHMEM:
            mss.pss_shmem += pss
        else:
            mss.pss_file += pss
        if locked:
            mss.pss_locked += pss
        if dirty:
            mss.pss_dirty += pss
            if private:
                mss.private_dirty += PAGE_SIZE
            else:
                mss.shared_dirty += PAGE_SIZE
        elif private:
            mss.private_clean += PAGE_SIZE
        else:
            mss.shared_clean += PAGE_SIZE
    return mss


def smap_walk(mm: Mm, vma: Vma, start: int = 0) -> MemSizeStats:
    """:func:`smap_gather_stats` plus the page walk's modelled cost: a lab profile with a
    ``smaps_walk(vma, pages)`` hook (``mm.hooks``) spends there the time
    ``walk_page_vma`` takes on the host for that many resident pages, holding what the
    caller holds (``mmap_lock`` for read, or the VMA's read lock). O(pages + runs)."""
    mss = smap_gather_stats(mm, vma, start)
    hooks = mm.hooks
    if hooks is not None:
        hooks.smaps_walk(vma, mss.resident >> PAGE_SHIFT)
    return mss


def _kb(label: str, value: int) -> str:
    # SEQ_PUT_DEC(): label padded to 16 columns, value >> 10 right-aligned in 8.
    return f"{label:<16}{value >> 10:>8} kB\n"


def _show_smap_fields(mss: MemSizeStats, rollup: bool) -> str:
    parts = [
        _kb("Rss:", mss.resident),
        _kb("Pss:", mss.pss >> PSS_SHIFT),
        _kb("Pss_Dirty:", mss.pss_dirty >> PSS_SHIFT),
    ]
    if rollup:
        parts += [
            _kb("Pss_Anon:", mss.pss_anon >> PSS_SHIFT),
            _kb("Pss_File:", mss.pss_file >> PSS_SHIFT),
            _kb("Pss_Shmem:", mss.pss_shmem >> PSS_SHIFT),
        ]
    parts += [
        _kb("Shared_Clean:", mss.shared_clean),
        _kb("Shared_Dirty:", mss.shared_dirty),
        _kb("Private_Clean:", mss.private_clean),
        _kb("Private_Dirty:", mss.private_dirty),
        _kb("Referenced:", mss.referenced),
        _kb("Anonymous:", mss.anonymous),
        _kb("KSM:", 0),
        _kb("LazyFree:", mss.lazyfree),
        _kb("AnonHugePages:", 0),
        _kb("ShmemPmdMapped:", 0),
        _kb("FilePmdMapped:", 0),
        _kb("Shared_Hugetlb:", 0),
        _kb("Private_Hugetlb:", 0),
        _kb("Swap:", 0),
        _kb("SwapPss:", 0),
        _kb("Locked:", mss.pss_locked >> PSS_SHIFT),
    ]
    return "".join(parts)


def vm_flags_mnemonics(flags: int) -> str:
    """``show_smap_vma_flags``: ``"VmFlags: rd wr mr mw me ac \\n"``. O(64)."""
    out = ["VmFlags: "]
    bit = 0
    while flags >> bit:
        if flags >> bit & 1 and bit != _SOFTDIRTY_BIT:
            out.append(_MNEMONICS.get(bit, "??") + " ")
        bit += 1
    out.append("\n")
    return "".join(out)


def thp_eligible(vma: Vma) -> int:
    """THPeligible with ``enabled = madvise``: anonymous, ``VM_HUGEPAGE`` and not
    ``VM_NOHUGEPAGE``, and an aligned 2 MiB range fits inside the VMA."""
    flags = vma.vm_flags
    if not vma.is_anonymous() or not flags & VM_HUGEPAGE or flags & VM_NOHUGEPAGE:
        return 0
    start = (vma.vm_start + HPAGE_PMD_SIZE - 1) & ~(HPAGE_PMD_SIZE - 1)
    return int(start + HPAGE_PMD_SIZE <= vma.vm_end)


def smap_block(mm: Mm, vma: Vma) -> tuple[str, MemSizeStats]:
    """One VMA's smaps block and the counters its page walk gathered. Caller holds
    ``mmap_lock`` (or the VMA lock). O(pages + runs)."""
    mss = smap_walk(mm, vma)
    text = (
        vma_line(vma, mm.cur_brk, mm.start_brk, mm.start_stack)
        + _kb("Size:", vma.vm_end - vma.vm_start)
        + _kb("KernelPageSize:", PAGE_SIZE)
        + _kb("MMUPageSize:", PAGE_SIZE)
        + _show_smap_fields(mss, rollup=False)
        + f"{'THPeligible:':<16}{thp_eligible(vma):>8}\n"
        + vm_flags_mnemonics(vma.vm_flags)
    )
    return text, mss


def show_smap(mm: Mm, vma: Vma) -> str:
    """One VMA's smaps block. Caller holds ``mmap_lock`` (or the VMA lock). O(pages + runs)."""
    return smap_block(mm, vma)[0]


def _gate_smap() -> str:
    zero = MemSizeStats()
    return (
        GATE_LINE
        + _kb("Size:", PAGE_SIZE)
        + _kb("KernelPageSize:", PAGE_SIZE)
        + _kb("MMUPageSize:", PAGE_SIZE)
        + _show_smap_fields(zero, rollup=False)
        + f"{'THPeligible:':<16}{0:>8}\n"
        + "VmFlags: ex \n"
    )


GATE_SMAP = _gate_smap()


def render_smaps(mm: Mm) -> str:
    """The text of ``/proc/<pid>/smaps``. Takes ``mmap_lock`` for read. O(n + pages)."""
    mm.mmap_lock.read_lock()
    try:
        text = "".join(show_smap(mm, vma) for vma in mm.vmas())
    finally:
        mm.mmap_lock.read_unlock()
    # m_next() ends the walk with the gate VMA, so smaps lists [vsyscall] too (seen on
    # the 6.18 host: an all-zero block with "VmFlags: ex"); smaps_rollup does not.
    return text + GATE_SMAP if mm.show_gate else text


def rollup_text(start: int, end: int, total: MemSizeStats) -> str:
    """``show_smaps_rollup``'s record: the ``[rollup]`` header spanning ``start``-``end``
    (the first VMA's start, the last one's end), then the summed fields. O(1)."""
    header = f"{start:08x}-{end:08x} ---p 00000000 00:00 0 "
    return header.ljust(73) + "[rollup]\n" + _show_smap_fields(total, rollup=True)


def render_smaps_rollup(mm: Mm) -> str:
    """The text of ``/proc/<pid>/smaps_rollup`` (``show_smaps_rollup``) read by 6.18's
    walk (:func:`core.maps_reader.read_smaps_rollup`): ``mmap_lock`` for read, dropped
    between two VMAs while a writer waits. O(VMAs + resident pages)."""
    from .maps_reader import read_smaps_rollup  # maps_reader imports this module

    return read_smaps_rollup(mm, "mmap_lock").text


def _pgtables_bytes(mm: Mm) -> int:
    points: list[int] = []
    ranges: list[tuple[int, int]] = []
    with mm.page_lock:
        for vma in mm.vmas():
            points += vma.pages or ()
            ranges += [(r.start, r.end) for r in vma.runs or ()]
    return sum(table_count(points, ranges, shift) for shift in (21, 30, 39)) * PAGE_SIZE


def _text_bytes(mm: Mm) -> int:
    start_code = getattr(mm, "start_code", 0)
    end_code = getattr(mm, "end_code", 0)
    return ((end_code + PAGE_SIZE - 1) & PAGE_MASK) - (start_code & PAGE_MASK)


def render_status_memory(mm: Mm) -> str:
    """The memory lines of ``/proc/<pid>/status`` (``task_mem`` + ``hugetlb_report_usage``),
    ``VmPeak`` through ``HugetlbPages``. Values in kB, ``%8lu``, after a tab. O(pages + runs)."""
    stat = mm.rss_stat
    anon, file, shmem = stat[MM_ANONPAGES], stat[MM_FILEPAGES], stat[MM_SHMEMPAGES]
    total_vm = mm.total_vm
    hiwater_vm = max(total_vm, mm.hiwater_vm)
    total_rss = anon + file + shmem
    hiwater_rss = max(total_rss, mm.hiwater_rss)
    text = min(_text_bytes(mm), mm.exec_vm << PAGE_SHIFT)
    lib = (mm.exec_vm << PAGE_SHIFT) - text
    sh = PAGE_SHIFT - 10
    rows = [
        ("VmPeak", hiwater_vm << sh),
        ("VmSize", total_vm << sh),
        ("VmLck", mm.locked_vm << sh),
        ("VmPin", 0),
        ("VmHWM", hiwater_rss << sh),
        ("VmRSS", total_rss << sh),
        ("RssAnon", anon << sh),
        ("RssFile", file << sh),
        ("RssShmem", shmem << sh),
        ("VmData", mm.data_vm << sh),
        ("VmStk", mm.stack_vm << sh),
        ("VmExe", text >> 10),
        ("VmLib", lib >> 10),
        ("VmPTE", _pgtables_bytes(mm) >> 10),
        ("VmSwap", stat[MM_SWAPENTS] << sh),
        ("HugetlbPages", 0),
    ]
    return "".join(f"{name}:\t{value:>8} kB\n" for name, value in rows)


def render_statm(mm: Mm) -> str:
    """``/proc/<pid>/statm`` (``task_statm``): size resident shared text lib data dt,
    in pages. O(1)."""
    stat = mm.rss_stat
    shared = stat[MM_FILEPAGES] + stat[MM_SHMEMPAGES]
    resident = shared + stat[MM_ANONPAGES]
    text = _text_bytes(mm) >> PAGE_SHIFT
    data = mm.data_vm + mm.stack_vm
    return f"{mm.total_vm} {resident} {shared} {text} 0 {data} 0\n"
