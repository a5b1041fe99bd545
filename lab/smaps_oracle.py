"""smaps on the running kernel: ``smaps_oracle.c`` built and run (the cost model's source
and the oracle of ``monitor-vs-workload``).

``python -m lab.smaps_oracle cost [--mib M] [--runs N]`` measures what reading
``/proc/self/smaps`` and ``smaps_rollup`` costs on this host -- per resident page
walked, per VMA, per ``read()`` chunk -- and prints the median of ``N`` runs (each
figure in each run is itself the median of 7 reads, timed by the reader's CPU time);
it writes ``DIR/smaps-cost.json`` (every run); the figures kept in
:data:`lab.smaps_cost.HOST_SMAPS_COST` come from it.

``python -m lab.smaps_oracle scale [--mib M ...] [--runs N]`` checks whether the per-page
cost holds with size (up to what the host's free memory allows) and how it depends on
where the heap's frames lie: for each size, a heap touched in address order and one
touched in a shuffled order, ``smaps_rollup`` read warm and after flushing the caches;
it writes ``DIR/smaps-scale.json`` (every run, the per-size medians and the fit).

``python -m lab.smaps_oracle stall [--heap-mib M] [--seconds S] [--interval-ms I]``
runs a process with ``M`` MiB resident, a mapper thread and a faulter thread, with no
monitor, then with a monitor reading ``smaps_rollup``, then ``smaps``, every ``I``
ms; it writes ``DIR/kernel-monitor-vs-workload.json`` and prints a table. Needs Linux
and a C compiler; the numbers are the host's, including whatever else it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import ProgressBar, ProgressFn
from .kernel_oracle import build, parse

SOURCE = Path(__file__).with_name("smaps_oracle.c")
OUTPUT = "kernel-monitor-vs-workload.json"
COST_OUTPUT = "smaps-cost.json"
SCALE_OUTPUT = "smaps-scale.json"
#: Heap sizes (MiB) of ``scale``: up to half of this 24 GiB host's memory.
#: MiB left to the rest of the host beside a ``scale`` heap and its 1 GiB flush buffer.
SCALE_MARGIN_MIB = 4096
SCALE_MIB = (256, 2048, 4096, 8192, 12288)
#: How ``scale`` touches the heap: in address order, or shuffled (frames scattered).
SCALE_ORDERS = ("seq", "random")
#: The per-page figures of ``scale`` (ns per resident page).
SCALE_KEYS = ("warm_page_ns", "cold_page_ns", "smaps_page_ns")
#: The monitor's files, in run order ("none": no monitor).
FILES = ("none", "smaps_rollup", "smaps")
#: The figures of ``cost`` that the cost model keeps.
COST_KEYS = ("page_ns", "rollup_vma_ns", "smaps_vma_ns", "chunk_ns")


def _run(exe: Path, args: Sequence[str], timeout: float) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(exe), *args], check=True, capture_output=True, text=True, timeout=timeout
    )
    return [parse(line) for line in proc.stdout.splitlines() if line.strip()]


def cost(mib: int = 2048, runs: int = 5, progress: ProgressFn | None = None) -> dict[str, Any]:
    """``runs`` runs of ``smaps_oracle cost MIB``: every run's figures and the median of
    each (``median``). O(runs × MIB)."""
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp), SOURCE)
        for i in range(runs):
            merged: dict[str, Any] = {}
            for row in _run(exe, ["cost", str(mib)], 600):
                merged.update(row)
            samples.append(merged)
            if progress is not None:
                progress(i + 1, runs, f"cost run {i + 1}/{runs}")
    median = {k: round(statistics.median(s[k] for s in samples), 2) for k in COST_KEYS}
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "mib": mib,
        "runs": samples,
        "median": median,
        "loadavg_at_end": os.getloadavg(),
    }


def scale(
    mibs: Sequence[int] = SCALE_MIB,
    runs: int = 3,
    orders: Sequence[str] = SCALE_ORDERS,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """``runs`` runs of ``smaps_oracle scale ORDER MIB...`` per order, interleaved: every
    row, and per (order, size) the median of each per-page figure over the runs. Sizes
    that would leave less than ``SCALE_MARGIN_MIB`` of the memory available now are
    dropped. O(runs × sum(mibs))."""
    avail_mib = _available_mib()
    kept = [m for m in sorted(mibs) if m + 1024 + SCALE_MARGIN_MIB <= avail_mib]
    if not kept:
        raise ValueError(f"no size of {list(mibs)} fits in the {avail_mib} MiB available")
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp), SOURCE)
        total = runs * len(orders)
        for i in range(runs):
            for j, order in enumerate(orders):
                samples += _run(exe, ["scale", order, *map(str, kept)], 3600)
                if progress is not None:
                    done = i * len(orders) + j + 1
                    progress(done, total, f"scale {order} run {i + 1}/{runs}")
    median: dict[str, dict[str, dict[str, float]]] = {}
    for order in orders:
        median[order] = {}
        for mib in kept:
            rows = [r for r in samples if r["order"] == order and int(r["mib"]) == mib]
            median[order][str(mib)] = {
                k: round(statistics.median(r[k] for r in rows), 2) for k in SCALE_KEYS
            }
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "mib": kept,
        "available_mib_at_start": avail_mib,
        "runs": samples,
        "median": median,
        "loadavg_at_end": os.getloadavg(),
    }


def _available_mib() -> int:
    """``MemAvailable`` of /proc/meminfo, in MiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise ValueError("no MemAvailable in /proc/meminfo")


def format_scale(result: dict[str, Any]) -> str:
    out = [f"kernel {result['kernel']}: smaps_rollup CPU time per resident page (ns), medians\n"]
    out.append(f"{'order':>7} {'MiB':>6} {'warm':>7} {'cold':>7} {'smaps':>7}\n")
    for order, sizes in result["median"].items():
        for mib, m in sizes.items():
            out.append(
                f"{order:>7} {mib:>6} {m['warm_page_ns']:>7} {m['cold_page_ns']:>7} "
                f"{m['smaps_page_ns']:>7}\n"
            )
    return "".join(out)


def stall(
    heap_mib: int = 2048,
    seconds: float = 5.0,
    interval_ms: int = 500,
    files: Sequence[str] = FILES,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """One run of ``smaps_oracle stall`` per monitor file (``none`` first): the rows
    (latencies in µs) with the writer's worst stall next to the scan time."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp), SOURCE)
        for i, file in enumerate(files):
            args = ["stall", file, str(heap_mib), str(seconds), str(interval_ms)]
            (row,) = _run(exe, args, seconds * 10 + 120)
            rows.append(row)
            if progress is not None:
                progress(i + 1, len(files), f"{file}")
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "heap_mib": heap_mib,
        "seconds": seconds,
        "interval_ms": interval_ms,
        "rows": rows,
        "loadavg_at_end": os.getloadavg(),
    }


def format_stall(result: dict[str, Any]) -> str:
    out = [
        f"kernel {result['kernel']}, {result['heap_mib']} MiB resident, "
        f"{result['seconds']:g} s per run, monitor every {result['interval_ms']} ms\n"
    ]
    for r in result["rows"]:
        out.append(
            f"{r['file']:>13} mmap p50/p99/max={r['mmap_p50_us']}/{r['mmap_p99_us']}/"
            f"{r['mmap_max_us']} us munmap max={r['munmap_max_us']} us "
            f"fault p99/max={r['fault_p99_us']}/{r['fault_max_us']} us "
            f"ops={r['mmap_ops']} scans={r['scan_ops']}"
            + (f" scan p50={r['scan_p50_us']} us" if r["scan_ops"] else "")
            + "\n"
        )
    return "".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.smaps_oracle",
        description="Measure smaps on this kernel: its cost model, or a workload's stalls "
        "under a smaps monitor.",
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cost", help="per page, per VMA and per chunk cost of smaps reads")
    c.add_argument("--mib", type=int, default=2048, help="resident MiB of the larger heap")
    c.add_argument("--runs", type=int, default=5)
    c.add_argument("--out", type=Path, default=Path("reports/experiments"))
    sc = sub.add_parser("scale", help="per-page cost by heap size and frame layout")
    sc.add_argument("--mib", type=int, nargs="+", default=list(SCALE_MIB))
    sc.add_argument("--runs", type=int, default=3)
    sc.add_argument("--out", type=Path, default=Path("reports/experiments"))
    s = sub.add_parser("stall", help="mapper and faulter latency with and without a monitor")
    s.add_argument("--heap-mib", type=int, default=2048)
    s.add_argument("--seconds", type=float, default=5.0)
    s.add_argument("--interval-ms", type=int, default=500)
    s.add_argument("--out", type=Path, default=Path("reports/experiments"))
    args = parser.parse_args(argv)
    bar = ProgressBar()
    if args.mode == "cost":
        result = cost(args.mib, args.runs, bar)
        name, text = COST_OUTPUT, json.dumps(result["median"]) + "\n"
    elif args.mode == "scale":
        result = scale(args.mib, args.runs, progress=bar)
        name, text = SCALE_OUTPUT, format_scale(result)
    else:
        result = stall(args.heap_mib, args.seconds, args.interval_ms, progress=bar)
        name, text = OUTPUT, format_stall(result)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / name
    path.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(text)
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
