"""Benchmark: single-thread page-fault rate, simulator fast path vs the real kernel.

Run from the repository root::

    .venv/bin/python bench/bench_faults.py            # 20 blocks of 4,096 faults each side
    .venv/bin/python bench/bench_faults.py --quick    # 5 blocks (smoke test)
    .venv/bin/python bench/bench_faults.py --json     # also write bench/results/bench_faults.json

Kernel side: the C helper ``bench/fault_rate.c`` (built here with ``cc -O2``) maps
PAGES pages of private anonymous memory, writes one byte to each page (one anonymous
write fault per page, handled under the per-VMA lock, THP off for the mapping) and
reports the time of the writes. Simulator side: ``mm.mmap`` of the same size, then
``mm.fault(addr, "write")`` on every page (all take the per-VMA-lock fast path: the
first one prepares the anon_vma, every other finds it), timed with
``time.perf_counter_ns``; the mapping is unmapped untimed. One kernel block and one
simulator block alternate, so both see the same machine load; the script prints
faults per second for each side (median and best block) and the ratio
simulator / kernel of the medians, of the bests, and the median of per-pair ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel  # noqa: E402

HELPER_SOURCE = Path(__file__).with_name("fault_rate.c")
DEFAULT_JSON = ROOT / "bench" / "results" / "bench_faults.json"
PAGES = 4096


def build_helper(outdir: Path) -> Path:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("no C compiler (cc or gcc) to build bench/fault_rate.c")
    exe = outdir / "fault_rate"
    subprocess.run(
        [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(HELPER_SOURCE)],
        check=True,
    )
    return exe


def kernel_block(exe: Path, pages: int) -> float:
    """Seconds per fault for one round of ``pages`` write faults in a fresh process."""
    out = subprocess.run([str(exe), str(pages), "1"], capture_output=True, text=True, check=True)
    n, ns = out.stdout.split()
    return int(ns) / int(n) / 1e9


def sim_block(pages: int) -> float:
    """Seconds per fault for ``pages`` fast-path write faults in the simulator."""
    mm = Kernel().spawn().mm
    addr = mm.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    fault = mm.fault
    addrs = range(addr, addr + pages * PAGE_SIZE, PAGE_SIZE)
    t0 = time.perf_counter_ns()
    for a in addrs:
        fault(a, "write")
    t1 = time.perf_counter_ns()
    ev = mm.vm_events.statistics()
    if ev.vma_lock_success != pages or mm.get_rss() != pages:
        raise SystemExit(f"unexpected fault path: {ev}, rss {mm.get_rss()}")
    mm.munmap(addr, pages * PAGE_SIZE)
    return (t1 - t0) / pages / 1e9


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--blocks", type=int, default=20)
    p.add_argument("--pages", type=int, default=PAGES)
    p.add_argument("--quick", action="store_true", help="5 blocks")
    p.add_argument("--json", nargs="?", const=str(DEFAULT_JSON), help="write results here")
    args = p.parse_args(argv)
    blocks = 5 if args.quick else args.blocks
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        exe = build_helper(Path(tmp))
        kernel_block(exe, args.pages)  # warm-up
        sim_block(args.pages)
        kern: list[float] = []
        sim: list[float] = []
        for _ in range(blocks):
            gc.collect()
            kern.append(kernel_block(exe, args.pages))
            sim.append(sim_block(args.pages))
    k_med, s_med = statistics.median(kern), statistics.median(sim)
    k_min, s_min = min(kern), min(sim)
    pair = statistics.median(k / s for k, s in zip(kern, sim, strict=True))
    print(f"{blocks} blocks of {args.pages} anonymous write faults per side")
    print(f"kernel:    median {1 / k_med:12,.0f} faults/s   best {1 / k_min:12,.0f} faults/s")
    print(f"simulator: median {1 / s_med:12,.0f} faults/s   best {1 / s_min:12,.0f} faults/s")
    print(
        f"ratio simulator/kernel (rate): medians {k_med / s_med:.2f}, bests {k_min / s_min:.2f},"
        f" median of per-block ratios {pair:.2f}  (target >= 1.0, issue 19)"
    )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "pages": args.pages,
                    "blocks": blocks,
                    "kernel_s_per_fault": kern,
                    "sim_s_per_fault": sim,
                    "ratio_medians": k_med / s_med,
                    "ratio_bests": k_min / s_min,
                    "ratio_pairs_median": pair,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
