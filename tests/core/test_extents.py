"""Resident memory by extents (core/pages.py ``AnonRun``): a populate of private
anonymous memory holds its pages as runs, and nothing any view or later operation
shows may differ from the page-by-page representation.

The main test replays random operation sequences twice, once with runs and once with
them switched off (``core.gup.RUN_POPULATE_MAX_ENTRIES = -1``: every populate takes the
page loop), and compares every /proc view, counter and error after every step; every
step also runs the machine's ``_check()`` (run invariants included).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

import core.gup
from core import (
    MADV_COLD,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
    MADV_PAGEOUT,
    MADV_POPULATE_READ,
    MADV_POPULATE_WRITE,
    MAP_ANONYMOUS,
    MAP_LOCKED,
    MAP_POPULATE,
    MAP_PRIVATE,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    dump_kernel,
    load_kernel,
    render_smaps,
    render_smaps_rollup,
    render_statm,
)
from core.checkpoint import StateError
from core.errors import EngineError, SyscallError
from core.kernel import Kernel as KernelType
from core.pages import MATERIALIZE_MAX_PAGES, AnonRun, run_pages
from core.proc_pid import render_meminfo, render_status
from tests.concurrency import spawn

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
ARENA = 0x7F0000000000


def _views(kernel: KernelType) -> list[str]:
    out = [render_meminfo(kernel)]
    for proc in kernel.processes():
        mm = proc.mm
        out += [
            render_smaps(mm),
            render_smaps_rollup(mm),
            render_status(proc),
            render_statm(mm),
            repr((mm.min_flt, mm.maj_flt, mm.vm_events.statistics())),
        ]
    out.append(repr((kernel.resident[0], kernel.vm_events.statistics())))
    return out


#: The fork-heavy mix: populates, forks and exits, COW writes and reads on either side,
#: zaps and moves of shared runs, page-by-page advice and mlock over them.
FORKY_OPS = [0, 0, 1, 1, 2, 3, 4, 5, 6, 6, 6, 8, 9, 9, 10, 11, 11, 11, 12, 12, 13, 13]


def _step(kernel: KernelType, rng: random.Random, log: list[str], forky: bool = False) -> None:
    procs = kernel.processes()
    proc = rng.choice(procs)
    mm = proc.mm
    start = ARENA + rng.randrange(48) * PG
    length = rng.randrange(1, 24) * PG
    op = rng.choice(FORKY_OPS) if forky else rng.randrange(14)
    try:
        if op == 0:
            flags = ANON | rng.choice([MAP_POPULATE, MAP_LOCKED, 0])
            got = mm.mmap(start, length, rng.choice([RW, PROT_READ]), flags | 0x10)  # FIXED
            log.append(f"mmap {got:#x}")
        elif op in (1, 2):
            advice = MADV_POPULATE_WRITE if op == 1 else MADV_POPULATE_READ
            mm.madvise(start, length, advice)
        elif op == 3:
            mm.madvise(start, length, rng.choice([MADV_DONTNEED, MADV_FREE, MADV_DONTNEED_LOCKED]))
        elif op == 4:
            mm.madvise(start, length, rng.choice([MADV_COLD, MADV_PAGEOUT]))
        elif op == 5:
            mm.madvise(start, PG, rng.choice([MADV_GUARD_INSTALL, MADV_GUARD_REMOVE]))
        elif op == 6:
            res = mm.fault(start + rng.randrange(PG), rng.choice(["read", "write"]))
            log.append(f"fault {res.outcome} {res.page}")
        elif op == 7:
            mm.mprotect(start, length, rng.choice([RW, PROT_READ]))
        elif op == 8:
            mm.munmap(start, length)
        elif op == 9:
            new = ARENA + rng.randrange(64, 96) * PG
            got = mm.mremap(start, length, length + rng.randrange(3) * PG, MREMAP_MAYMOVE | 2, new)
            log.append(f"mremap {got:#x}")
        elif op == 10:
            if rng.random() < 0.5:
                mm.mlock(start, length)
            else:
                mm.munlock(start, length)
        elif op == 11 and len(procs) < (4 if forky else 3):
            log.append(f"fork {kernel.fork(proc.pid).pid}")
        elif op == 12:
            for i in range(rng.randrange(1, 6)):
                mm.fault(start + i * PG, "write")
        elif op == 13 and len(procs) > 1:
            kernel.exit(proc.pid)
    except EngineError as exc:
        log.append(f"{op}: {type(exc).__name__} {getattr(exc, 'errno', '')}")


def _run(
    seed: int, steps: int, ram_pages: int | None, forky: bool = False
) -> tuple[list[str], int]:
    kernel = Kernel()
    if ram_pages is not None:
        kernel.ram_pages = ram_pages
    kernel.spawn("extents")
    rng = random.Random(seed)
    log: list[str] = []
    runs = 0
    for i in range(steps):
        _step(kernel, rng, log, forky)
        kernel._check()
        runs = max(runs, sum(len(v.runs or ()) for p in kernel for v in p.mm.vmas()))
        log += _views(kernel)
        if i % 25 == 24:  # a checkpoint round trip changes nothing
            doc = dump_kernel(kernel)
            kernel = load_kernel(doc)
            assert dump_kernel(kernel)["processes"] == doc["processes"]
            log += _views(kernel)
    return log, runs


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("seed", "ram"), [(1, None), (2, None), (3, 90), (4, 40), (5, None)])
def test_runs_show_exactly_what_pages_show(
    seed: int, ram: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_runs, most_runs = _run(seed, 150, ram)
    assert most_runs > 0  # the sequence did populate as runs
    monkeypatch.setattr(core.gup, "RUN_POPULATE_MAX_ENTRIES", -1)
    without, no_runs = _run(seed, 150, ram)
    assert no_runs == 0
    for i, (a, b) in enumerate(zip(with_runs, without, strict=True)):
        assert a == b, (i, a, b)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("seed", "ram"), [(11, None), (12, None), (13, 120), (14, None)])
def test_forked_runs_show_exactly_what_pages_show(
    seed: int, ram: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fork shares runs (core/pages.py RunGroup): COW in parent and child, exits, zaps,
    mremap moves and checkpoints of shared runs show what shared pages show."""
    with_runs, most_runs = _run(seed, 200, ram, forky=True)
    assert most_runs > 0
    assert any(line.startswith("fork") for line in with_runs)
    monkeypatch.setattr(core.gup, "RUN_POPULATE_MAX_ENTRIES", -1)
    without, _ = _run(seed, 200, ram, forky=True)
    for i, (a, b) in enumerate(zip(with_runs, without, strict=True)):
        assert a == b, (i, a, b)


def test_a_populate_is_one_run_and_splits_only_where_pages_differ() -> None:
    kernel = Kernel()
    mm = kernel.spawn().mm
    base = mm.mmap(0, 1024 * PG, RW, ANON | MAP_POPULATE)
    (vma,) = mm.vmas()
    assert vma.pages is None and [(r.start, r.end) for r in vma.runs or ()] == [
        (base, base + 1024 * PG)
    ]
    mm.fault(base + 5 * PG, "write")  # present: nothing changes
    mm.madvise(base + 10 * PG, 2 * PG, MADV_DONTNEED)  # a hole
    mm.madvise(base + 20 * PG, 4 * PG, MADV_POPULATE_WRITE)  # touched: PG_active now
    assert [(r.start - base) // PG for r in vma.runs or ()] == [0, 12, 20, 24]
    assert [r.active for r in vma.runs or ()] == [False, False, True, False]
    mm.madvise(base + 10 * PG, 2 * PG, MADV_POPULATE_WRITE)  # the hole refilled: merged
    assert [(r.start - base) // PG for r in vma.runs or ()] == [0, 20, 24]
    mm.madvise(base + 100 * PG, PG, MADV_COLD)  # page by page from here on: materialized
    assert vma.pages is not None and len(vma.pages) == 1
    assert run_pages(vma) == 1023 and mm.rss_stat[1] == 1024
    kernel._check()


def test_two_tib_populate_is_a_few_objects() -> None:
    """536,870,912 pages in one call: one run, the counters and views right at once."""
    kernel = Kernel()
    kernel.ram_pages = 1 << 30
    kernel.overcommit_memory = 1
    mm = kernel.spawn().mm
    base = mm.mmap(0, 2 << 40, RW, ANON | MAP_POPULATE)
    (vma,) = mm.vmas()
    assert len(vma.runs or ()) == 1 and vma.pages is None
    assert mm.rss_stat[1] == kernel.resident[0] == 1 << 29 and mm.min_flt == 1 << 29
    assert "Rss:            2147483648 kB" in render_smaps_rollup(mm)
    mm.mprotect(base + (1 << 40), PG, PROT_READ)  # split into three VMAs
    assert [run_pages(v) for v in mm.vmas()] == [1 << 28, 1, (1 << 28) - 1]
    kernel._check()
    mm.munmap(base, 2 << 40)
    assert kernel.resident[0] == 0 and mm.rss_stat == [0, 0, 0, 0]


def test_populate_stops_at_the_ram_with_runs() -> None:
    """MADV_POPULATE_WRITE past the machine's RAM: ENOMEM, the pages before it stay."""
    kernel = Kernel()
    kernel.ram_pages = 100
    kernel.overcommit_memory = 1  # the mapping itself is allowed; its pages are not
    mm = kernel.spawn().mm
    base = mm.mmap(0, 200 * PG, RW, ANON)
    with pytest.raises(EngineError) as exc:
        mm.madvise(base, 200 * PG, MADV_POPULATE_WRITE)
    assert getattr(exc.value, "errno", None) == 12
    assert kernel.resident[0] == 100 and run_pages(mm.vmas()[0]) == 100
    kernel._check()


def test_checkpoint_refuses_bad_runs_by_name() -> None:
    kernel = Kernel()
    mm = kernel.spawn().mm
    base = mm.mmap(0, 16 * PG, RW, ANON | MAP_POPULATE)
    doc = dump_kernel(kernel)
    vdoc: dict[str, Any] = doc["processes"][0]["mm"]["vmas"][0]
    assert vdoc["runs"] == [[base, base + 16 * PG, "anon", True, False]] and vdoc["pages"] == []
    assert isinstance(load_kernel(doc).get(1000).mm.vmas()[0].runs[0], AnonRun)  # type: ignore[index]
    old = {k: v for k, v in doc.items() if k != "run_groups"} | {"version": 2}
    assert render_smaps(load_kernel(old).get(1000).mm) == render_smaps(mm)  # version 2 loads
    for bad, message in (
        ([[base, base + 17 * PG, "anon", 1, 0]], r"runs\[0\]: .* is not a page-aligned run"),
        ([[base, base + 16 * PG, True]], r"runs\[0\]=.* must be \[start, end, 'anon' or"),
        ([[base, base + 16 * PG, "huge", True, False]], r"runs\[0\]\[2\]='huge' is not"),
        ([[base, base + 16 * PG, "anon", 1, False]], r"runs\[0\]\[3\]=1 must be"),
        ([[base, base + 16 * PG, "zero", True, False]], r"the zero page has no folio flags"),
        ([[base, base + 16 * PG, "anon", True, False, True]], r"or that and \[old, group"),
        ([[base, base + 16 * PG, "anon", True, False, False, 0, 0]], r"runs\[0\]\[6\]=0 must"),
        ([[base, base + 16 * PG, "anon", True, False, True, None, PG]], r"shift 0x1000 is not"),
        ([[base, base + 16 * PG, "zero", False, False, True, None, 0]], r"no folio flags, age"),
    ):
        vdoc["runs"] = bad
        with pytest.raises(StateError, match=message):
            load_kernel(doc)


def test_read_populate_maps_the_zero_page_as_a_run() -> None:
    """MAP_POPULATE of read-only anonymous memory read-faults every page: the zero page,
    no RSS, but page tables; a write later copies one page out of the run."""
    kernel = Kernel()
    kernel.overcommit_memory = 1
    mm = kernel.spawn().mm
    base = mm.mmap(0, 2 << 40, PROT_READ, ANON | MAP_POPULATE)
    (vma,) = mm.vmas()
    assert [r.zero for r in vma.runs or ()] == [True] and vma.pages is None
    assert mm.get_rss() == 0 and kernel.resident[0] == 0 and mm.min_flt == 1 << 29
    assert "VmPTE:\t 4202520 kB" in render_status(kernel.get(1000))
    assert mm.fault(base + 7 * PG, "read").page == "zero"
    mm.mprotect(base, 16 * PG, RW)
    assert mm.fault(base + 7 * PG, "write").page == "cow"
    mm.madvise(base, 16 * PG, MADV_POPULATE_WRITE)  # zero pages copied, the copy kept
    assert mm.get_rss() == 16 and kernel.resident[0] == 16
    kernel._check()


@pytest.mark.timeout(60)
def test_faults_racing_a_populate_between_its_runs() -> None:
    """A populate fills the stretch before a per-page entry, drops the page lock and
    parks (``populate:before_entry``); faults under the VMA lock map pages of the part
    it has not reached (a write: an anonymous page; a read: the zero page) and find the
    filled part present. The populate then goes on around them: the read-faulted zero
    page is copied, everything ends resident once, and the invariants hold."""
    kernel = Kernel()
    mm = kernel.spawn().mm
    base = mm.mmap(0, 64 * PG, RW, ANON)
    mm.fault(base + 32 * PG, "write")  # a per-page entry in the middle
    mm.pauses.arm("populate:before_entry")
    worker = spawn(mm.madvise, base, 64 * PG, MADV_POPULATE_WRITE)
    mm.pauses.wait_for_hold("populate:before_entry")
    (vma,) = mm.vmas()
    assert [((r.start - base) // PG, (r.end - base) // PG) for r in vma.runs or ()] == [(0, 32)]
    assert mm.fault(base + 5 * PG, "write").page == "anon"  # in the run: present
    assert mm.fault(base + 40 * PG, "write").page == "anon"  # not reached yet: a fault
    assert mm.fault(base + 50 * PG, "read").page == "zero"
    mm.pauses.disarm("populate:before_entry")
    mm.pauses.release("populate:before_entry")
    worker.result()
    assert sorted((a - base) // PG for a in vma.pages or ()) == [32, 40, 50]
    assert mm.get_rss() == 64 and kernel.resident[0] == 64
    assert run_pages(vma) == 61
    kernel._check()


def test_page_by_page_advice_and_fork_of_locked_runs_refuse_too_many_pages() -> None:
    """MADV_COLD turns runs into page objects, and fork copies a locked VMA's runs as
    pages: past MATERIALIZE_MAX_PAGES in one call they fail with ENOMEM and change
    nothing, instead of exhausting the service. mlock and munlock keep the runs (the
    mlock batch takes them arithmetically), DONTNEED works on runs, and fork of unlocked
    runs shares them."""
    kernel = Kernel()
    kernel.ram_pages = 1 << 30
    kernel.overcommit_memory = 1
    proc = kernel.spawn()
    mm = proc.mm
    mm.rlimit_memlock = (1 << 62, 1 << 62)
    npages = MATERIALIZE_MAX_PAGES + 1
    base = mm.mmap(0, npages * PG, RW, ANON | MAP_POPULATE)
    with pytest.raises(SyscallError, match=r"madvise: ENOMEM .* holds 4194305 pages in runs"):
        mm.madvise(base, npages * PG, MADV_COLD)
    mm.mlock(base, npages * PG)
    (vma,) = mm.vmas()
    assert vma.pages is None and len(vma.runs or ()) == 1 and mm.locked_vm == npages
    events = mm.vm_events.statistics()
    assert events.unevictable_pgs_mlocked == npages
    assert "VmLck:\t16777220 kB" in render_status(proc)
    with pytest.raises(SyscallError, match=r"fork: ENOMEM .* 4194305 pages in runs of locked"):
        kernel.fork(proc.pid)
    assert [p.pid for p in kernel.processes()] == [proc.pid]
    mm.munlock(base, npages * PG)
    assert mm.vm_events.statistics().unevictable_pgs_munlocked == npages
    assert vma.pages is None and run_pages(vma) == npages
    mm.madvise(base, 2 * PG, MADV_DONTNEED)
    assert mm.get_rss() == npages - 2
    child = kernel.fork(proc.pid)
    assert child.mm.get_rss() == npages - 2 and kernel.resident[0] == npages - 2
    kernel._check()


def test_checkpoints_keep_shared_runs_and_their_folios() -> None:
    """A fork child's runs, a COW break in it and a grandchild survive a round trip:
    version 3 stores the runs' age, group and shift and the groups' page objects."""
    kernel = Kernel()
    proc = kernel.spawn()
    base = proc.mm.mmap(0, 64 * PG, RW, ANON | MAP_POPULATE)
    child = kernel.fork(proc.pid)
    child.mm.fault(base + 3 * PG, "read")  # young again: a page object of the group
    kernel.fork(child.pid)
    proc.mm.madvise(base + 10 * PG, 4 * PG, MADV_DONTNEED)
    doc = dump_kernel(kernel)
    assert doc["version"] == 3 and doc["run_groups"] == [[[base + 3 * PG, 0]]]
    runs = doc["processes"][1]["mm"]["vmas"][0]["runs"]
    assert runs[0] == [base, base + 3 * PG, "anon", True, False, True, 0, 0]
    restored = load_kernel(doc)
    assert _views(restored) == _views(kernel)
    assert dump_kernel(restored)["processes"] == doc["processes"]
    restored._check()


def _field(text: str, name: str) -> int:
    return sum(int(line.split()[1]) for line in text.splitlines() if line.startswith(name + ":"))


def test_a_populated_heap_forks_as_shared_runs() -> None:
    """A 20 GiB MAP_POPULATE'd heap forks in O(runs): both map every folio (mapcount 2:
    Pss halves, Shared_Dirty), the child's PTEs are old but its folios PG_referenced
    (Referenced); a COW write in the child copies one page; the parent's exit leaves
    the child's pages mapped once (Private_Dirty) and resident once."""
    kernel = Kernel()
    kernel.ram_pages = 1 << 30
    kernel.overcommit_memory = 1
    proc = kernel.spawn()
    npages = 20 << 18  # 20 GiB
    base = proc.mm.mmap(0, npages * PG, RW, ANON | MAP_POPULATE)
    child = kernel.fork(proc.pid)
    (vma,) = child.mm.vmas()
    assert vma.pages is None and len(vma.runs or ()) == 1
    kb = npages * 4
    rollup = render_smaps_rollup(child.mm)
    assert _field(rollup, "Rss") == kb and _field(rollup, "Pss") == kb // 2
    assert _field(rollup, "Shared_Dirty") == kb and _field(rollup, "Private_Dirty") == 0
    assert _field(rollup, "Referenced") == kb  # old PTEs, PG_referenced folios
    assert kernel.resident[0] == npages and child.mm.get_rss() == npages
    assert child.mm.fault(base + 5 * PG, "write").page == "cow"
    assert kernel.resident[0] == npages + 1
    rollup = render_smaps_rollup(proc.mm)
    assert _field(rollup, "Private_Dirty") == 4 and _field(rollup, "Shared_Dirty") == kb - 4
    kernel.exit(proc.pid)
    rollup = render_smaps_rollup(child.mm)
    assert _field(rollup, "Private_Dirty") == kb and _field(rollup, "Pss") == kb
    assert kernel.resident[0] == npages
    kernel._check()
    child.mm.munmap(base, npages * PG)
    assert kernel.resident[0] == 0


def test_a_two_tib_map_locked_heap_is_one_run_and_counts_every_folio() -> None:
    """MAP_LOCKED of 2 TiB: one run, every folio counted mlocked; munmap queues one
    munlock per folio in the mlock batch, which drains at each 31 entries: all but
    ``n % 31`` count at once, the rest at the next drain (here mlock's)."""
    kernel = Kernel()
    kernel.ram_pages = 1 << 30
    kernel.overcommit_memory = 1
    mm = kernel.spawn().mm
    mm.rlimit_memlock = (1 << 62, 1 << 62)
    n = 1 << 29
    base = mm.mmap(0, n * PG, RW, ANON | MAP_LOCKED)
    (vma,) = mm.vmas()
    assert vma.pages is None and len(vma.runs or ()) == 1
    stats = mm.vm_events.statistics()
    assert stats.unevictable_pgs_mlocked == n and stats.unevictable_pgs_munlocked == 0
    assert _field(render_smaps_rollup(mm), "Locked") == n * 4
    assert "Mlocked:        2147483648 kB" in render_meminfo(kernel)
    kernel._check()
    mm.munmap(base, n * PG)
    assert mm.vm_events.statistics().unevictable_pgs_munlocked == n - n % 31
    assert len(kernel.lru.mlock) == n % 31
    other = mm.mmap(0, PG, RW, ANON)
    mm.mlock(other, PG)  # lru_add_drain(): the rest count now
    assert mm.vm_events.statistics().unevictable_pgs_munlocked == n
    assert kernel.resident[0] == 1  # the page mlock populated
    kernel._check()
