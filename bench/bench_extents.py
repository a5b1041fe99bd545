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
