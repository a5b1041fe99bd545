"""Benchmark: resident memory by extents (core/pages.py runs), at 2 TiB.

Run from the repository root::

    .venv/bin/python bench/bench_extents.py            # 2 TiB, 5 rounds of each render
    .venv/bin/python bench/bench_extents.py --json     # also write bench/results/bench_extents.json

On a Kernel whose RAM setting allows it (``ram_pages`` 2**30, 4 TiB; overcommit mode 1),
it measures:

* ``mmap(MAP_POPULATE)`` of 2 TiB of private anonymous memory (536,870,912 pages) in
  one call, and ``MADV_POPULATE_WRITE`` of another 2 TiB mapping: seconds, and the bytes
  the engine allocated for it (``tracemalloc``: the runs, not the pages);
* the render of ``smaps_rollup``, ``smaps``, ``status`` and ``statm`` of that process
  (best and median of the rounds);
* the same after 10,000 ``MADV_DONTNEED`` holes (10,001 runs): bytes per run, render times;
* for scale, the page-by-page representation it replaces: a 64 MiB populate with runs
  switched off (``core.gup.RUN_POPULATE_MAX_ENTRIES = -1``), in ns and bytes per page;
* fork of a process with a populated 2 TiB heap (the child shares the runs:
  ``core.pages.RunGroup``): seconds and bytes allocated, the child's ``smaps_rollup``,
  a COW write fault in the child, 10,000 ``MADV_DONTNEED`` holes in the parent's half
  and both processes' ``smaps_rollup`` then, and the parent's exit that leaves the
  child's pages private;
* ``mmap(MAP_LOCKED)`` of 2 TiB (a locked populate: every folio mlocked and counted in
  ``unevictable_pgs_mlocked``), then ``munlock`` and ``mlock`` of it (the mlock batch
  takes the runs' folios arithmetically: ``core.pages.mlock_run_folios``): seconds and
  bytes allocated;
* "choice": what the fault path would pay per fault to keep an extent per fault with a
  neighbour merge (a bisect of the run list, then extend or insert) against the dict
  store it does now, for 50,000 ascending faults and 25,000 faults in random order on
  every other page (best of 5 rounds each) -- the measurement behind the design note
  of core/pages.py.

Every figure is measured here, in one process, with ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import core.gup  # noqa: E402
from core import (  # noqa: E402
    MADV_DONTNEED,
    MADV_POPULATE_WRITE,
    MAP_ANONYMOUS,
    MAP_LOCKED,
    MAP_POPULATE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    render_smaps,
    render_smaps_rollup,
    render_statm,
)
from core.proc_pid import render_status  # noqa: E402

TIB = 1 << 40
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


def _timed(fn: Callable[[], Any], rounds: int) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"best_ms": min(times) * 1e3, "median_ms": statistics.median(times) * 1e3}


def _allocated(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    # (result, seconds under tracemalloc, bytes still allocated by the call).
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return out, seconds, after - before


def _machine() -> Kernel:
    kernel = Kernel()
    kernel.ram_pages = 1 << 30  # 4 TiB of RAM: room for two 2 TiB heaps
    kernel.overcommit_memory = 1
    return kernel


def run(size: int, rounds: int) -> dict[str, Any]:
    gc.disable()
    out: dict[str, Any] = {"bytes": size, "pages": size // PAGE_SIZE}
    kernel = _machine()
    proc = kernel.spawn("heap")
    mm = proc.mm

    # Each populate once timed (no tracemalloc), once measured for memory.
    t0 = time.perf_counter()
    base = mm.mmap(0, size, RW, ANON | MAP_POPULATE)
    secs = time.perf_counter() - t0
    mm.munmap(base, size)
    base, _, nbytes = _allocated(lambda: mm.mmap(0, size, RW, ANON | MAP_POPULATE))
    out["map_populate"] = {"seconds": secs, "allocated_bytes": nbytes}
    other = mm.mmap(0, size, RW, ANON)
    t0 = time.perf_counter()
    mm.madvise(other, size, MADV_POPULATE_WRITE)
    secs = time.perf_counter() - t0
    mm.madvise(other, size, MADV_DONTNEED)
    _, _, nbytes = _allocated(lambda: mm.madvise(other, size, MADV_POPULATE_WRITE))
    out["madv_populate_write"] = {"seconds": secs, "allocated_bytes": nbytes}
    mm.munmap(other, size)
    assert mm.rss_stat[1] == size // PAGE_SIZE, mm.rss_stat
    rollup = render_smaps_rollup(mm)
    assert f"{'Rss:':<16}{size >> 10:>8} kB" in rollup, rollup

    def renders() -> dict[str, Any]:
        return {
            "smaps_rollup": _timed(lambda: render_smaps_rollup(mm), rounds),
            "smaps": _timed(lambda: render_smaps(mm), rounds),
            "status": _timed(lambda: render_status(proc), rounds),
            "statm": _timed(lambda: render_statm(mm), rounds),
        }

    out["render"] = renders()

    holes = 10_000
    step = size // holes & ~(PAGE_SIZE - 1)

    def punch() -> None:
        for i in range(holes):
            mm.madvise(base + i * step + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED)

    _, _, nbytes = _allocated(punch)
    runs = sum(len(v.runs or ()) for v in mm.vmas())
    out["fragmented"] = {
        "holes": holes,
        "runs": runs,
        "bytes_per_run": nbytes / max(runs - 1, 1),
        "render": renders(),
    }
    kernel._check()
    mm.munmap(base, size)

    # The page-by-page representation, for comparison: 64 MiB populated without runs.
    small = 64 << 20
    saved = core.gup.RUN_POPULATE_MAX_ENTRIES
    core.gup.RUN_POPULATE_MAX_ENTRIES = -1
    try:
        # Timed without tracemalloc (it slows every allocation), then measured with it.
        t0 = time.perf_counter()
        addr = mm.mmap(0, small, RW, ANON | MAP_POPULATE)
        secs = time.perf_counter() - t0
        mm.munmap(addr, small)
        _, _, nbytes = _allocated(lambda: mm.mmap(0, small, RW, ANON | MAP_POPULATE))
    finally:
        core.gup.RUN_POPULATE_MAX_ENTRIES = saved
    pages = small // PAGE_SIZE
    out["per_page_reference"] = {
        "bytes": small,
        "ns_per_page": secs / pages * 1e9,
        "bytes_per_page": nbytes / pages,
        "projected_2tib_seconds": secs / pages * (2 * TIB // PAGE_SIZE),
        "projected_2tib_gib": nbytes / pages * (2 * TIB // PAGE_SIZE) / (1 << 30),
    }
    gc.enable()
    return out


def fork_heap(size: int, rounds: int) -> dict[str, Any]:
    """fork() of a process with ``size`` bytes populated: the child shares the runs."""
    gc.disable()
    kernel = _machine()
    parent = kernel.spawn("heap")
    base = parent.mm.mmap(0, size, RW, ANON | MAP_POPULATE)
    t0 = time.perf_counter()
    child = kernel.fork(parent.pid)
    secs = time.perf_counter() - t0
    kernel.exit(child.pid)
    child, _, nbytes = _allocated(lambda: kernel.fork(parent.pid))
    rollup = render_smaps_rollup(child.mm)
    assert f"{'Shared_Dirty:':<16}{size >> 10:>8} kB" in rollup, rollup
    render = _timed(lambda: render_smaps_rollup(child.mm), rounds)
    t0 = time.perf_counter()
    page = child.mm.fault(base + size // 2, "write").page
    cow = time.perf_counter() - t0
    assert page == "cow", page
    # The parent cuts its half of the shared heap into 10,001 runs (the child's stays
    # one): the group finds the members covering a range per mm, by bisection.
    holes = 10_000
    step = size // holes & ~(PAGE_SIZE - 1)
    t0 = time.perf_counter()
    for i in range(holes):
        parent.mm.madvise(base + i * step + 2 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED)
    holes_secs = time.perf_counter() - t0
    parent_render = _timed(lambda: render_smaps_rollup(parent.mm), rounds)
    child_render = _timed(lambda: render_smaps_rollup(child.mm), rounds)
    t0 = time.perf_counter()
    kernel.exit(parent.pid)
    exit_secs = time.perf_counter() - t0
    rollup = render_smaps_rollup(child.mm)
    assert f"{'Private_Dirty:':<16}{size >> 10:>8} kB" in rollup, rollup
    kernel._check()
    gc.enable()
    return {
        "seconds": secs,
        "allocated_bytes": nbytes,
        "child_smaps_rollup": render,
        "cow_fault_seconds": cow,
        "parent_exit_seconds": exit_secs,
        "holes_after_fork": {
            "holes": holes,
            "seconds": holes_secs,
            "parent_smaps_rollup": parent_render,
            "child_smaps_rollup": child_render,
        },
    }


def locked_heap(size: int) -> dict[str, Any]:
    """MAP_LOCKED populate of ``size`` bytes, then munlock and mlock of it."""
    gc.disable()
    kernel = _machine()
    mm = kernel.spawn("locked").mm
    mm.rlimit_memlock = (1 << 62, 1 << 62)
    t0 = time.perf_counter()
    base = mm.mmap(0, size, RW, ANON | MAP_LOCKED)
    secs = time.perf_counter() - t0
    mm.munmap(base, size)
    base, _, nbytes = _allocated(lambda: mm.mmap(0, size, RW, ANON | MAP_LOCKED))
    npages = size // PAGE_SIZE
    assert mm.vm_events.statistics().unevictable_pgs_mlocked == 2 * npages
    t0 = time.perf_counter()
    mm.munlock(base, size)
    munlock = time.perf_counter() - t0
    t0 = time.perf_counter()
    mm.mlock(base, size)
    mlock = time.perf_counter() - t0
    stats = mm.vm_events.statistics()
    assert stats.unevictable_pgs_mlocked == 3 * npages, stats
    kernel._check()
    gc.enable()
    return {
        "seconds": secs,
        "allocated_bytes": nbytes,
        "munlock_seconds": munlock,
        "mlock_seconds": mlock,
    }


def choice(n: int = 50_000) -> dict[str, float]:
    """ns per fault: dict store vs run-per-fault with neighbour merge."""
    from bisect import bisect_right

    from core.pages import AnonRun

    def end(run: AnonRun) -> int:
        return run.end

    def dict_(seq: list[int]) -> None:
        table: dict[int, int] = {}
        for a in seq:
            table[a] = 1

    def runs_(seq: list[int]) -> None:
        runs: list[AnonRun] = []
        for a in seq:
            i = bisect_right(runs, a, key=end)
            if i and runs[i - 1].end == a:
                runs[i - 1].end = a + PAGE_SIZE
            elif i < len(runs) and runs[i].start == a + PAGE_SIZE:
                runs[i].start = a
            else:
                runs.insert(i, AnonRun(a, a + PAGE_SIZE, False, False))

    import random

    ascending = [0x7F0000000000 + i * PAGE_SIZE for i in range(n)]
    sparse = ascending[::2]
    random.Random(1).shuffle(sparse)
    out = {}
    for name, fn, seq in (
        ("dict_ascending", dict_, ascending),
        ("runs_ascending", runs_, ascending),
        ("dict_sparse", dict_, sparse),
        ("runs_sparse", runs_, sparse),
    ):
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            fn(seq)
            best = min(best, time.perf_counter() - t0)
        out[name + "_ns"] = best / len(seq) * 1e9
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tib", type=float, default=2.0, help="heap size in TiB (2)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each render (5)")
    parser.add_argument("--json", action="store_true", help="write bench/results/*.json")
    args = parser.parse_args()
    size = int(args.tib * TIB) & ~(PAGE_SIZE - 1)
    # Warm-up: the first mmap/populate of a process imports and caches what it needs.
    warm = _machine().spawn().mm
    warm.mmap(0, 1 << 20, RW, ANON | MAP_POPULATE)
    res = run(size, args.rounds)
    res["fork"] = fork_heap(size, args.rounds)
    res["locked"] = locked_heap(size)
    res["choice"] = choice()
    mp, pw = res["map_populate"], res["madv_populate_write"]
    print(f"heap {size / TIB:g} TiB = {res['pages']:,} pages")
    print(f"  mmap(MAP_POPULATE)    {mp['seconds'] * 1e3:9.2f} ms  {mp['allocated_bytes']:>8,} B")
    print(f"  MADV_POPULATE_WRITE   {pw['seconds'] * 1e3:9.2f} ms  {pw['allocated_bytes']:>8,} B")
    for name, t in res["render"].items():
        print(f"  {name:<20}  best {t['best_ms']:8.3f} ms  median {t['median_ms']:8.3f} ms")
    frag = res["fragmented"]
    print(
        f"after {frag['holes']:,} DONTNEED holes: {frag['runs']:,} runs, "
        f"{frag['bytes_per_run']:.0f} B per run"
    )
    for name, t in frag["render"].items():
        print(f"  {name:<20}  best {t['best_ms']:8.3f} ms  median {t['median_ms']:8.3f} ms")
    ref = res["per_page_reference"]
    print(
        f"page by page (runs off), 64 MiB: {ref['ns_per_page']:.0f} ns and "
        f"{ref['bytes_per_page']:.0f} B per page; 2 TiB would take "
        f"{ref['projected_2tib_seconds']:.0f} s and {ref['projected_2tib_gib']:.0f} GiB"
    )
    fk = res["fork"]
    print(
        f"fork of the populated heap: {fk['seconds'] * 1e3:.2f} ms, "
        f"{fk['allocated_bytes']:,} B; child smaps_rollup best "
        f"{fk['child_smaps_rollup']['best_ms']:.3f} ms; COW fault in the child "
        f"{fk['cow_fault_seconds'] * 1e3:.3f} ms; "
        f"parent exit {fk['parent_exit_seconds'] * 1e3:.3f} ms"
    )
    hf = fk["holes_after_fork"]
    print(
        f"  then {hf['holes']:,} DONTNEED holes in the parent: {hf['seconds']:.3f} s; "
        f"smaps_rollup best: parent {hf['parent_smaps_rollup']['best_ms']:.3f} ms, "
        f"child {hf['child_smaps_rollup']['best_ms']:.3f} ms"
    )
    lk = res["locked"]
    print(
        f"mmap(MAP_LOCKED) of the heap: {lk['seconds'] * 1e3:.2f} ms, "
        f"{lk['allocated_bytes']:,} B; munlock {lk['munlock_seconds'] * 1e3:.3f} ms; "
        f"mlock {lk['mlock_seconds'] * 1e3:.3f} ms"
    )
    ch = res["choice"]
    print(
        "choice, ns per fault: dict store {dict_ascending_ns:.0f} ascending, "
        "{dict_sparse_ns:.0f} sparse; extent per fault + merge {runs_ascending_ns:.0f} "
        "ascending, {runs_sparse_ns:.0f} sparse".format(**ch)
    )
    if args.json:
        path = ROOT / "bench" / "results" / "bench_extents.json"
        path.write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
