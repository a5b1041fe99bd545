"""proc-vs-map on the running kernel (the oracle): ``proc_vs_map.c`` built and run.

``python -m core.experiments.kernel_oracle [--seconds S] [--runs N] [--out DIR]`` compiles the C
program next to this module with the system's ``cc`` and runs it for K in {0, 1, 10}
scanners reading ``/proc/self/maps`` (per-VMA locks on 6.17+) and ``/proc/self/smaps``
(``mmap_lock`` for read per ``read()``, as maps was up to 6.16). Writes
``kernel-proc-vs-map.json`` and prints a table. Needs Linux and a C compiler; the
numbers are the host's, including whatever else the host is running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).with_name("proc_vs_map.c")


def build(outdir: Path) -> Path:
    """Compile the helper into ``outdir``; RuntimeError without a compiler."""
    cc = next(
        (c for c in (os.environ.get("CC", ""), "cc", "gcc", "clang") if c and shutil.which(c)), None
    )
    if cc is None:
        raise RuntimeError("no C compiler (cc, gcc or clang) to build proc_vs_map.c")
    exe = outdir / "proc_vs_map"
    subprocess.run(
        [cc, "-O2", "-Wall", "-Werror", "-pthread", "-o", str(exe), str(SOURCE)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return exe


def parse(line: str) -> dict[str, Any]:
    """``key=value`` pairs of the helper's output line, numbers converted."""
    out: dict[str, Any] = {}
    for item in line.split():
        key, _, value = item.partition("=")
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def run(
    seconds: float, ks: Sequence[int] = (0, 1, 10), seed: int = 1, runs: int = 1
) -> dict[str, Any]:
    """Each (file, K) cell ``runs`` times, seeds ``seed`` to ``seed + runs - 1`` (a fresh
    process each, like run-proc-vs-map.sh --nsamples). A row keeps the first run's
    fields, with ``ops`` and ``reads`` summed, ``p50_us``/``p99_us`` the median of the
    runs', ``max_us`` the largest, ``run_max_us`` every run's maximum and
    ``run_max_p50_us`` their median."""
    if runs < 1:
        raise ValueError(f"runs {runs} is not >= 1")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        rows = []
        for file in ("smaps", "maps"):
            for k in ks:
                if k == 0 and file == "maps":
                    continue  # no scanner: the file is never read
                samples = []
                for i in range(runs):
                    proc = subprocess.run(
                        [str(exe), file, str(k), str(seconds), str(seed + i)],
                        check=True,
                        capture_output=True,
                        text=True,
                        timeout=seconds * 10 + 60,
                    )
                    samples.append(parse(proc.stdout.strip()))
                row = dict(samples[0])
                row["ops"] = sum(r["ops"] for r in samples)
                row["reads"] = sum(r["reads"] for r in samples)
                row["p50_us"] = statistics.median(r["p50_us"] for r in samples)
                row["p99_us"] = statistics.median(r["p99_us"] for r in samples)
                row["run_max_us"] = [r["max_us"] for r in samples]
                row["max_us"] = max(row["run_max_us"])
                row["run_max_p50_us"] = statistics.median(row["run_max_us"])
                row["reader"] = (
                    "none"
                    if k == 0
                    else ("mmap_lock (smaps)" if file == "smaps" else "per_vma (maps)")
                )
                rows.append(row)
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
        "seconds_per_cell": seconds,
        "runs_per_cell": runs,
        "seed": seed,
        "rows": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.experiments.kernel_oracle")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="runs per cell (seeds seed, seed+1...)")
    parser.add_argument("--out", type=Path, default=Path("reports/experiments"))
    args = parser.parse_args(argv)
    result = run(args.seconds, seed=args.seed, runs=args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "kernel-proc-vs-map.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(
        f"kernel {result['kernel']}, {result['cpus']} CPUs, load {result['loadavg_at_end']}\n"
    )
    for row in result["rows"]:
        sys.stdout.write(
            f"{row['reader']:>18} K={row['k']:<2} ops={row['ops']:<8} p50={row['p50_us']:>8} us "
            f"p99={row['p99_us']:>8} us max={row['max_us']:>10} us "
            f"median run max={row['run_max_p50_us']:>10} us reads={row['reads']}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
