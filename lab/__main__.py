"""``python -m lab <name> [--quick] [--out DIR] [--seed N] [--cost K=V ...]``.

Prints the table and the targets, writes JSON, CSV and (with matplotlib) a PNG into
``--out`` (default ``reports/experiments``), and shows a progress bar on stderr.
Exit status: 0, or 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from core.errors import InvalidArgument

from .common import ProgressBar
from .profiles import DEFAULT_COST
from .reader_modes import CELL_RULE
from .runner import (
    EXPERIMENTS,
    format_table,
    load_result,
    render_plot,
    run_experiment,
    write_outputs,
)


def _cost_override(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"cost override {text!r} is not KEY=VALUE")
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    try:
        return key, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"cost {key} value {value!r} is not a number") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    parser.add_argument("name", choices=[*EXPERIMENTS, "all"])
    parser.add_argument("--quick", action="store_true", help="small scale, short cells")
    parser.add_argument("--out", type=Path, default=Path("reports/experiments"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cell-seconds",
        type=float,
        default=None,
        help=f"seconds per cell ({CELL_RULE})",
    )
    parser.add_argument(
        "--cost",
        type=_cost_override,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a cost model field (seconds)",
    )
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--replot", action="store_true", help="redraw <out>/<name>.png from <out>/<name>.json"
    )
    parser.add_argument(
        "--scattered",
        action="store_true",
        help="monitor-vs-workload only: process-exporter's size with the page cost of a "
        "heap whose frames are scattered; writes <out>/monitor-vs-workload-scattered.*",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="monitor-vs-workload only: run every cell N times, interleaved (default: 1 "
        "with --quick, else 10); the rows hold the percentiles over the runs' samples "
        "pooled and each run's p99",
    )
    args = parser.parse_args(argv)
    if args.scattered and args.name != "monitor-vs-workload":
        parser.error("--scattered applies to monitor-vs-workload only")
    if args.repeat is not None and args.name != "monitor-vs-workload":
        parser.error("--repeat applies to monitor-vs-workload only")
    try:
        cost = DEFAULT_COST.with_overrides(dict(args.cost))
    except (InvalidArgument, TypeError) as exc:
        parser.error(str(exc))
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    for name in names:
        if args.replot:
            png = args.out / f"{name}.png"
            png.write_bytes(render_plot(load_result(args.out / f"{name}.json")))
            sys.stdout.write(f"wrote {png}\n")
            continue
        result = run_experiment(
            name,
            quick=args.quick,
            seed=args.seed,
            cost=cost,
            cell_s=args.cell_seconds,
            progress=None if args.no_progress else ProgressBar(),
            scattered=args.scattered,
            repeat=args.repeat,
        )
        stem = f"{name}-scattered" if args.scattered else name
        paths = write_outputs(result, args.out, plot=not args.no_plot, stem=stem)
        sys.stdout.write(format_table(result))
        sys.stdout.write("wrote " + ", ".join(str(p) for p in paths) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
