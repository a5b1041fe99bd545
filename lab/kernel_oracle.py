"""proc-vs-map on the running kernel (the oracle): ``proc_vs_map.c`` built and run.

``python -m lab.kernel_oracle [--seconds S] [--runs N] [--out DIR]`` compiles the C
program next to this module with the system's ``cc`` and runs it for K in {0, 1, 10}
scanners reading ``/proc/self/maps`` (per-VMA locks on 6.17+) and ``/proc/self/smaps``
(``mmap_lock`` for read per ``read()``, as maps was up to 6.16). Shows a progress bar on
stderr (five cells of ``--runs`` runs of ``--seconds`` each), writes
``DIR/kernel-proc-vs-map.json`` (full precision) and prints a table (rounded) and the
path it wrote. Needs Linux and a C compiler; the numbers are the host's, including
whatever else the host is running.
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

from .common import ProgressBar, ProgressFn

SOURCE = Path(__file__).with_name("proc_vs_map.c")
OUTPUT = "kernel-proc-vs-map.json"
FILES = ("smaps", "maps")


def build(outdir: Path, source: Path = SOURCE) -> Path:
    """Compile the helper ``source`` (``proc_vs_map.c`` by default) into ``outdir``;
    RuntimeError without a compiler."""
    cc = next(
        (c for c in (os.environ.get("CC", ""), "cc", "gcc", "clang") if c and shutil.which(c)), None
    )
    if cc is None:
        raise RuntimeError(f"no C compiler (cc, gcc or clang) to build {source.name}")
    exe = outdir / source.stem
    subprocess.run(
        [cc, "-O2", "-Wall", "-Werror", "-pthread", "-o", str(exe), str(source)],
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


def cells(ks: Sequence[int]) -> list[tuple[str, int]]:
    """The (file, K) cells in run order; K=0 once (no scanner: the file is never read)."""
    return [(file, k) for file in FILES for k in ks if not (k == 0 and file == "maps")]


def run(
    seconds: float,
    ks: Sequence[int] = (0, 1, 10),
    seed: int = 1,
    runs: int = 1,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Each (file, K) cell ``runs`` times, seeds ``seed`` to ``seed + runs - 1`` (a fresh
    process each, like run-proc-vs-map.sh --nsamples). A row keeps the first run's
    fields, with ``ops`` and ``reads`` summed, ``p50_us``/``p99_us`` the median of the
    runs', ``max_us`` the largest, ``run_max_us`` every run's maximum and
    ``run_max_p50_us`` their median. ``progress(done, total, label)`` is called once
    before the build and after every run."""
    if runs < 1:
        raise ValueError(f"runs {runs} is not >= 1")
    todo = cells(ks)
    total = len(todo) * runs
    done = 0
    if progress is not None:
        progress(0, total, f"building {SOURCE.name}")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        rows = []
        for file, k in todo:
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
                done += 1
                if progress is not None:
                    progress(done, total, f"{file} K={k} run {i + 1}/{runs}")
            row = dict(samples[0])
            row["ops"] = sum(r["ops"] for r in samples)
            row["reads"] = sum(r["reads"] for r in samples)
            row["p50_us"] = statistics.median(r["p50_us"] for r in samples)
            row["p99_us"] = statistics.median(r["p99_us"] for r in samples)
            row["run_max_us"] = [r["max_us"] for r in samples]
            row["max_us"] = max(row["run_max_us"])
            row["run_max_p50_us"] = statistics.median(row["run_max_us"])
            row["reader"] = (
                "none" if k == 0 else ("mmap_lock (smaps)" if file == "smaps" else "per_vma (maps)")
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


def fmt_us(value: float) -> str:
    """A latency in µs for display. The helper prints 0.1 µs steps and the median of an
    even number of runs adds a half step, so two decimals at most and one at least; the
    binary floating-point tail (``1.9500000000000002``) goes.

    >>> fmt_us(1.9500000000000002), fmt_us(2.0), fmt_us(137.1), fmt_us(11805)
    ('1.95', '2.0', '137.1', '11805.0')
    """
    text = f"{value:.2f}"
    return text[:-1] if text.endswith("0") else text


def format_table(result: dict[str, Any]) -> str:
    """The result of :func:`run` as text: a header line, then one line per row."""
    load = " ".join(f"{x:.2f}" for x in result["loadavg_at_end"])
    out = [
        f"kernel {result['kernel']}, {result['cpus']} CPUs, load {load} at the end; "
        f"{result['runs_per_cell']} x {result['seconds_per_cell']:g} s per cell\n"
    ]
    for row in result["rows"]:
        out.append(
            f"{row['reader']:>18} K={row['k']:<2} ops={row['ops']:<8} "
            f"p50={fmt_us(row['p50_us']):>7} us p99={fmt_us(row['p99_us']):>8} us "
            f"max={fmt_us(row['max_us']):>9} us "
            f"median run max={fmt_us(row['run_max_p50_us']):>9} us reads={row['reads']}\n"
        )
    return "".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.kernel_oracle",
        description="Run proc_vs_map.c on this kernel: a mapper's mmap/munmap latency with "
        "0, 1 and 10 scanners reading /proc/self/smaps or /proc/self/maps.",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="runs per cell (seeds seed, seed+1...)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports/experiments"),
        help=f"directory for {OUTPUT} (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    result = run(
        args.seconds,
        seed=args.seed,
        runs=args.runs,
        progress=None if args.no_progress else ProgressBar(),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUTPUT
    path.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(format_table(result))
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
