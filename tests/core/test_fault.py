"""Page faults: outcomes, paths, pages and counters (arch/x86/mm/fault.c, mm/memory.c).

Every test checks the mm's invariants (``Mm._check``: VMA pages inside their VMA, RSS
counters equal to what the VMAs map) after the operations it makes.
"""

from __future__ import annotations

import threading

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_GROWSDOWN,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    O_RDWR,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    InvalidArgument,
    Kernel,
    Mm,
    Process,
)
from core.errors import ResidentLimitExceeded
from core.fault import FaultResult, touch
from core.pages import MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES
from core.sched import RESCHED_MASK_SLOW
from core.vmstat import VmEventStatistics
from tests.engines import PYTHON_ENGINE_ONLY

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


def _proc(kernel: Kernel | None = None) -> Process:
    return (kernel or Kernel()).spawn()


def _events(mm: Mm) -> VmEventStatistics:
    return mm.vm_events.statistics()


def test_anonymous_read_maps_zero_page_write_allocates():
    proc = _proc()
    mm = proc.mm
    a = mm.mmap(0, 8 * PG, RW, ANON)
    r = mm.fault(a + 5 * PG, "read")
    assert (r.outcome, r.path, r.page, r.major) == ("ok", "vma_lock", "zero", False)
    assert (r.vma_start, r.vma_end) == (a, a + 8 * PG)
    assert mm.get_rss() == 0
    vma = mm.vma_lookup(a)
    assert vma is not None and vma.anon_vma is None  # the zero page needs no anon_vma
    for i in range(3):
        assert mm.fault(a + i * PG + 17, "write").page == "anon"
    assert mm.rss_stat[MM_ANONPAGES] == 3
    assert vma.anon_vma is not None
    # A write to the zero page copies it.
    assert mm.fault(a + 5 * PG, "write").page == "cow"
    assert mm.rss_stat[MM_ANONPAGES] == 4
    # A write to an exclusive anonymous page reuses it.
    assert mm.fault(a, "write").page == "anon"
    assert mm.rss_stat[MM_ANONPAGES] == 4
    assert mm.min_flt == 6 and mm.maj_flt == 0
    ev = _events(mm)
    assert (ev.vma_lock_success, ev.vma_lock_abort, ev.vma_lock_retry, ev.vma_lock_miss) == (
        6,
        0,
        0,
        0,
    )
    mm._check()


def test_signals_follow_x86_access_rules():
    proc = _proc()
    mm = proc.mm
    ro = mm.mmap(0, PG, PROT_READ, ANON)
    none = mm.mmap(0, PG, PROT_NONE, ANON)
    wo = mm.mmap(0, PG, PROT_WRITE, ANON)
    assert mm.fault(ro, "read").describe() == "ok"
    w = mm.fault(ro, "write")
    assert (w.describe(), w.path) == ("SIGSEGV SEGV_ACCERR", "vma_lock")
    assert mm.fault(none, "read").describe() == "SIGSEGV SEGV_ACCERR"
    assert mm.fault(wo, "read").describe() == "ok"  # x86: write implies read
    hole = max(ro, none, wo) + 64 * PG
    gap = mm.fault(hole, "read")
    assert (gap.describe(), gap.path, gap.vma_start) == ("SIGSEGV SEGV_MAPERR", "mmap_lock", None)
    ev = _events(mm)
    # ACCERR is delivered under the VMA lock and counted as success; the gap aborts.
    assert (ev.vma_lock_success, ev.vma_lock_abort) == (4, 1)
    assert mm.min_flt == 2  # signals are not counted as faults
    mm._check()


def test_exec_from_non_exec_vma_faults_twice_then_accerr():
    mm = _proc().mm
    a = mm.mmap(0, 2 * PG, RW, ANON)
    x = mm.mmap(0, PG, PROT_READ | PROT_EXEC, ANON)
    before = _events(mm).vma_lock_success
    r = mm.fault(a, "exec")
    assert r.describe() == "SIGSEGV SEGV_ACCERR"
    # First fetch maps the (zero) page NX, the refetch is a protection fault.
    assert _events(mm).vma_lock_success - before == 2
    assert mm.fault(x, "exec").describe() == "ok"


@PYTHON_ENGINE_ONLY
def test_fault_rejects_bad_input_and_changes_nothing():
    mm = _proc().mm
    a = mm.mmap(0, PG, RW, ANON)
    before = (_events(mm), list(mm.rss_stat), mm.min_flt)
    with pytest.raises(InvalidArgument, match=r"^fault access 'rw' is not one of read, write"):
        mm.fault(a, "rw")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"^fault address -1 is not a 64-bit"):
        mm.fault(-1, "read")
    with pytest.raises(InvalidArgument, match=r"^fault address '0x1000' is not"):
        mm.fault("0x1000", "read")  # type: ignore[arg-type]
    assert (_events(mm), list(mm.rss_stat), mm.min_flt) == before


def test_kernel_address_is_maperr_without_locks():
    mm = _proc().mm
    r = mm.fault(0xFFFFFFFFFF600000, "read")
    assert (r.describe(), r.path) == ("SIGSEGV SEGV_MAPERR", "none")
    assert _events(mm).vma_lock_abort == 0


def test_file_mapping_sigbus_beyond_eof_and_major_faults():
    proc = _proc()
    mm = proc.mm
    fd = proc.open("/data/f", O_RDWR, size=PG + 100)  # two pages, the second partial
    a = mm.mmap(0, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0)
    first = mm.fault(a, "read")
    # Page-cache miss: major, the read-around drops the VMA lock, and the fault is
    # redone under mmap_lock, where fault-around maps every cached page up to EOF.
    assert (first.page, first.major, first.path) == ("file", True, "retried")
    assert _events(mm).vma_lock_retry == 1
    assert mm.rss_stat[MM_FILEPAGES] == 2
    bus = mm.fault(a + 2 * PG, "read")
    assert (bus.describe(), bus.path) == ("SIGBUS BUS_ADRERR", "vma_lock")
    assert mm.rss_stat[MM_FILEPAGES] == 2 and (mm.maj_flt, mm.min_flt) == (1, 0)
    # A second mapping of the same file finds the pages cached: minor, fast path.
    b = mm.mmap(0, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0)
    hit = mm.fault(b + PG, "read")
    assert (hit.major, hit.path, hit.page) == (False, "vma_lock", "file")
    assert mm.rss_stat[MM_FILEPAGES] == 4
    mm._check()


def test_private_file_cow_moves_rss_from_file_to_anon():
    proc = _proc()
    mm = proc.mm
    fd = proc.open("/data/g", O_RDWR, size=4 * PG)
    a = mm.mmap(0, 4 * PG, RW, MAP_PRIVATE, fd, 0)
    mm.fault(a, "read")
    assert mm.rss_stat[MM_FILEPAGES] == 4  # fault-around mapped the whole file
    assert mm.fault(a, "write").page == "cow"  # do_wp_page: copy of the file page
    assert (mm.rss_stat[MM_FILEPAGES], mm.rss_stat[MM_ANONPAGES]) == (3, 1)
    b = mm.mmap(0, 4 * PG, RW, MAP_PRIVATE, fd, 0)
    r = mm.fault(b + PG, "write")  # do_cow_fault: the file page is never mapped
    assert (r.page, r.major) == ("cow", False)
    assert (mm.rss_stat[MM_FILEPAGES], mm.rss_stat[MM_ANONPAGES]) == (3, 2)
    mm._check()


def test_shared_file_and_shared_anonymous_pages():
    proc = _proc()
    mm = proc.mm
    fd = proc.open("/data/h", O_RDWR, size=4 * PG)
    s1 = mm.mmap(0, 4 * PG, RW, MAP_SHARED, fd, 0)
    s2 = mm.mmap(0, 4 * PG, RW, MAP_SHARED, fd, 0)
    assert mm.fault(s1, "write").page == "file"
    assert mm.fault(s2, "read").page == "file"
    p1 = (mm.vma_lookup(s1).pages or {})[s1]  # type: ignore[union-attr]
    p2 = (mm.vma_lookup(s2).pages or {})[s2]  # type: ignore[union-attr]
    assert p1 is p2 and p1.mapcount == 2 and p1.dirty
    shm = mm.mmap(0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS)
    assert mm.fault(shm, "read").page == "shmem"  # shmem allocates even on read
    assert mm.fault(shm + PG, "write").page == "shmem"
    # s1's write mapped one page; s2's read faulted around the whole cached file.
    assert mm.rss_stat[MM_SHMEMPAGES] == 2 and mm.rss_stat[MM_FILEPAGES] == 5
    mm._check()


def test_growsdown_stack_expands_and_guard_gap_is_enforced():
    # Host experiment 9: 1 and 100 pages below grow the VMA; a mapping 199 pages below
    # makes the next growth violate the 256-page guard gap (SEGV_MAPERR).
    mm = _proc().mm
    s = mm.mmap(0x7F0000000000, 4 * PG, RW, ANON | MAP_GROWSDOWN | MAP_FIXED)
    r = mm.fault(s - PG, "write")
    assert (r.describe(), r.path, r.vma_start) == ("ok", "stack_expanded", s - PG)
    r = mm.fault(s - 100 * PG, "write")
    assert (r.path, r.vma_start) == ("stack_expanded", s - 100 * PG)
    assert _events(mm).vma_lock_abort == 2  # both walked into the gap
    low = s - 100 * PG - 199 * PG - PG
    mm.mmap(low, PG, RW, ANON | MAP_FIXED)
    bad = mm.fault(s - 101 * PG, "write")
    assert (bad.describe(), bad.path) == ("SIGSEGV SEGV_MAPERR", "mmap_lock")
    assert mm.vma_lookup(s).vm_start == s - 100 * PG  # type: ignore[union-attr]
    assert (mm.stack_vm, mm.total_vm) == (104, 105)  # VM_GROWSDOWN is VM_STACK on x86
    mm._check()


def test_growsdown_below_inaccessible_neighbour_needs_no_gap():
    mm = _proc().mm
    s = mm.mmap(0x7F0000000000, 2 * PG, RW, ANON | MAP_GROWSDOWN | MAP_FIXED)
    mm.mmap(s - 3 * PG, PG, PROT_NONE, ANON | MAP_FIXED)  # guard pages do not count
    r = mm.fault(s - 2 * PG, "read")
    assert (r.describe(), r.path, r.page) == ("ok", "stack_expanded", "zero")


def test_stack_growth_past_rlimit_fails():
    mm = _proc().mm
    mm.stack_rlimit = 8 * PG
    s = mm.mmap(0x7F0000000000, 4 * PG, RW, ANON | MAP_GROWSDOWN | MAP_FIXED)
    assert mm.fault(s - 4 * PG, "write").ok
    assert mm.fault(s - 5 * PG, "write").describe() == "SIGSEGV SEGV_MAPERR"


def test_faulting_next_to_a_neighbour_reuses_its_anon_vma_and_later_merges():
    # Host experiment 3e: B faulted while rwx next to faulted A reuses A's anon_vma, so
    # B -> rw merges with A. Experiment 3f: C faulted elsewhere, moved next to A: no merge.
    mm = _proc().mm
    base = 0x7E0000000000
    a = mm.mmap(base, 4 * PG, RW, ANON | MAP_FIXED)
    mm.fault(a, "write")
    b = mm.mmap(base + 4 * PG, 2 * PG, RW | PROT_EXEC, ANON | MAP_FIXED)
    mm.fault(b, "write")
    va, vb = mm.vma_lookup(a), mm.vma_lookup(b)
    assert va is not None and vb is not None and va.anon_vma is vb.anon_vma
    mm.mprotect(b, 2 * PG, RW)
    assert mm.maps().count("\n") == 2  # merged (+ the [vsyscall] line)
    assert mm.rss_stat[MM_ANONPAGES] == 2
    c = mm.mmap(base + 64 * PG, 2 * PG, RW, ANON | MAP_FIXED)
    mm.fault(c, "write")
    mm.munmap(base + 6 * PG, 2 * PG)
    mm.mremap(c, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, base + 6 * PG)
    assert mm.maps().count("\n") == 3  # different anon_vma: two VMAs
    moved = mm.vma_lookup(base + 6 * PG)
    assert moved is not None and moved.anon_vma is not va.anon_vma
    assert list(moved.pages or ()) == [base + 6 * PG]  # the page moved with the VMA
    mm._check()


def test_pages_follow_split_merge_mremap_and_munmap():
    mm = _proc().mm
    a = mm.mmap(0x7D0000000000, 6 * PG, RW, ANON | MAP_FIXED)
    for i in range(6):
        mm.fault(a + i * PG, "write")
    mm.mprotect(a + 2 * PG, 2 * PG, PROT_READ)  # three VMAs
    mm._check()
    mid = mm.vma_lookup(a + 2 * PG)
    assert mid is not None and sorted(mid.pages or ()) == [a + 2 * PG, a + 3 * PG]
    mm.mprotect(a + 2 * PG, 2 * PG, RW)  # merged back
    mm._check()
    assert len(mm.vma_lookup(a).pages or ()) == 6  # type: ignore[union-attr]
    new = mm.mremap(a, 6 * PG, 6 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, 0x7D0000100000)
    mm._check()
    assert sorted(mm.vma_lookup(new).pages or ()) == [new + i * PG for i in range(6)]  # type: ignore[union-attr]
    mm.munmap(new + PG, 2 * PG)
    assert mm.rss_stat[MM_ANONPAGES] == 4
    mm._check()
    assert mm.hiwater_rss == 6


def test_resident_limit_raises_and_changes_nothing():
    kernel = Kernel()
    kernel.max_resident_pages = 2
    mm = kernel.spawn().mm
    a = mm.mmap(0, 4 * PG, RW, ANON)
    mm.fault(a, "write")
    mm.fault(a + PG, "write")
    assert mm.fault(a + 2 * PG, "read").page == "zero"  # the zero page is free
    before = (_events(mm), list(mm.rss_stat), mm.min_flt)
    with pytest.raises(ResidentLimitExceeded, match=r"limit of 2 resident pages"):
        mm.fault(a + 3 * PG, "write")
    assert (list(mm.rss_stat), mm.min_flt) == (before[1], before[2])
    mm._check()
    with pytest.raises(InvalidArgument, match=r"max_resident_pages -1"):
        kernel.max_resident_pages = -1


def test_global_counters_sum_processes():
    kernel = Kernel()
    p1, p2 = kernel.spawn(), kernel.spawn()
    for p in (p1, p2):
        a = p.mm.mmap(0, PG, RW, ANON)
        p.mm.fault(a, "write")
        p.mm.fault(a + 1024 * PG, "read")
    g = kernel.vm_events.statistics()
    assert (g.vma_lock_success, g.vma_lock_abort, g.pgfault) == (2, 2, 2)


def test_fault_result_is_frozen():
    mm = _proc().mm
    a = mm.mmap(0, PG, RW, ANON)
    r = mm.fault(a, "read")
    assert isinstance(r, FaultResult) and r.ok
    with pytest.raises(AttributeError):
        r.outcome = "SIGBUS"  # type: ignore[misc]


def test_touch_takes_one_fault_per_page_and_counts_them():
    mm = _proc().mm
    a = mm.mmap(0, 4 * PG, RW, ANON)
    mm.munmap(a + 2 * PG, PG)  # a hole: SIGSEGV there
    t = touch(mm, a + 5, a + 4 * PG, "write", stop_on_signal=False)
    # At a + 5, then at each page boundary: 4 faults, the third one in the hole.
    assert (t.faults, t.ok, t.major) == (4, 3, 0)
    assert t.vma_lock == 3  # every completed fault on the per-VMA-lock path
    assert t.first_signal is not None and t.first_signal.addr == a + 2 * PG
    assert t.first_signal.describe() == "SIGSEGV SEGV_MAPERR"
    assert mm.get_rss() == 3 and mm.min_flt == 3
    stopped = touch(mm, a, a + 4 * PG, "read", stop_on_signal=True)
    assert (stopped.faults, stopped.ok) == (3, 2)  # stops at the hole
    mm._check()


def test_touch_lets_other_threads_run_while_it_faults():
    """A long touch yields the GIL as it goes (``cond_resched`` every
    ``RESCHED_MASK_SLOW + 1`` faults), so a thread waiting for the GIL runs before the
    touch ends -- compiled code never yields it by itself. The waiting thread reads the
    fault count while the touch runs; it sees the touch part-way at least once."""
    mm = _proc().mm
    pages = 64 * (RESCHED_MASK_SLOW + 1)
    a = mm.mmap(0, pages * PG, RW, ANON)
    mm.fault(a, "write")  # the anon_vma: every fault of the touch is a fast one
    started = threading.Event()
    seen: list[int] = []

    def toucher() -> None:
        started.set()
        touch(mm, a + PG, a + pages * PG, "write", stop_on_signal=False)

    thread = threading.Thread(target=toucher)
    thread.start()
    assert started.wait(60)
    while thread.is_alive():
        if not seen or seen[-1] != mm.min_flt:
            seen.append(mm.min_flt)
    thread.join(60)
    assert mm.min_flt == pages
    assert any(1 < n < pages for n in seen), "no thread ran while the touch faulted"


def test_exit_drops_every_page():
    kernel = Kernel()
    proc = kernel.spawn()
    a = proc.mm.mmap(0, 4 * PG, RW, ANON)
    for i in range(4):
        proc.mm.fault(a + i * PG, "write")
    kernel.exit(proc.pid)
    assert proc.mm.get_rss() == 0
