"""smaps on the running kernel: ``smaps_oracle.c`` built and run (the cost model's source
and the oracle of ``monitor-vs-workload``).

``python -m lab.smaps_oracle cost [--mib M] [--runs N]`` measures what reading
``/proc/self/smaps`` and ``smaps_rollup`` costs on this host -- per resident page
walked, per VMA, per ``read()`` chunk -- and prints the median of ``N`` runs (each
figure in each run is itself the median of 7 reads, timed by the reader's CPU time);
it writes ``DIR/smaps-cost.json`` (every run); the figures kept in
:data:`lab.smaps_cost.HOST_SMAPS_COST` come from it.

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
    s = sub.add_parser("stall", help="mapper and faulter latency with and without a monitor")
    s.add_argument("--heap-mib", type=int, default=2048)
    s.add_argument("--seconds", type=float, default=5.0)
    s.add_argument("--interval-ms", type=int, default=500)
    s.add_argument("--out", type=Path, default=Path("reports/experiments"))
    args = parser.parse_args(argv)
    bar = ProgressBar()
    if args.mode == "cost":
        result = cost(args.mib, args.runs, bar)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / COST_OUTPUT
        path.write_text(json.dumps(result, indent=2) + "\n")
        sys.stdout.write(json.dumps(result["median"]) + "\n")
        sys.stdout.write(f"wrote {path}\n")
        return 0
    result = stall(args.heap_mib, args.seconds, args.interval_ms, progress=bar)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUTPUT
    path.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(format_stall(result))
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
