"""Debugging CLI for the differential tests.

    python -m tests.differential.run --seed 17 --ops 150           # both, side by side
    python -m tests.differential.run --seed 17 --ops 150 --kernel-only
    python -m tests.differential.run --trace my.trace              # a hand-written trace
    python -m tests.differential.run --seed 17 --ops 150 --minimize   # shrink a mismatch
    python -m tests.differential.run --seed 17 --ops 150 --print-trace
    python -m tests.differential.run --seed 3 --ops 150 --locks [--touches|--boundary]
    python -m tests.differential.run --trace t.trace --annotate    # kernel's output inline

Side by side: for every op, the op, then the kernel's and the simulator's result
and arena maps (normalised as the tests compare them) in two columns; a ``!``
between the columns marks a differing line. ``--raw`` shows the outputs as
printed, without normalisation.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

from tests.differential.annotated import annotate
from tests.differential.compare import (
    Mismatch,
    first_mismatch,
    format_mismatch,
    normalise_maps,
    normalise_result,
)
from tests.differential.realkernel import (
    Run,
    compile_helper,
    run_kernel,
    unsupported_reason,
)
from tests.differential.simrun import engine_missing_reason, run_sim
from tests.differential.trace import (
    ARENA_PAGES,
    BOUNDARY_PAGES,
    Op,
    Trace,
    generate,
    generate_locks,
    parse_trace,
)


def _columns(trace: Trace, kernel: Run | None, sim: Run | None, raw: bool) -> str:
    width = 0
    rows: list[tuple[str, list[str], list[str]]] = []
    for i, op in enumerate(trace.ops):
        sides: list[list[str]] = []
        for run in (kernel, sim):
            if run is None:
                sides.append([])
                continue
            step = run.steps[i]
            if raw:
                sides.append([step.result, *step.maps])
            else:
                sides.append(
                    [
                        normalise_result(op, step.result, trace),
                        *normalise_maps(step.maps, run.filedir),
                    ]
                )
        rows.append((f"#{i} {op}", sides[0], sides[1]))
        width = max([width, *(len(line) for line in sides[0])])
    out = []
    if kernel is not None and sim is not None:
        out.append(f"{'kernel':<{width}}   simulator")
    for head, left, right in rows:
        out.append(head)
        if sim is None:
            out += [f"  {line}" for line in left]
            continue
        if kernel is None:
            out += [f"  {line}" for line in right]
            continue
        for a, b in itertools.zip_longest(left, right, fillvalue=""):
            mark = " | " if a == b else " ! "
            out.append(f"{a:<{width}}{mark}{b}")
    return "\n".join(out)


def _signature(m: Mismatch) -> tuple[str, str, str, bool]:
    """What kind of mismatch this is: the op, both results (addresses generalised)
    and whether the maps differ. Minimising keeps it, so it shrinks the same bug."""

    def res(r: str) -> str:
        return "= addr" if r.startswith("= 0x") else r.split(" at ")[0]

    return m.op.kind, res(m.kernel_result), res(m.sim_result), m.kernel_maps != m.sim_maps


def _mismatch_of(helper: Path, trace: Trace) -> Mismatch | None:
    kernel = run_kernel(helper, trace)
    sim = run_sim(trace)
    return first_mismatch(trace, kernel.steps, kernel.filedir, sim.steps, sim.filedir)


def minimize(helper: Path, trace: Trace) -> Trace:
    """Shrink a mismatching trace (delta debugging over its ops) while its first
    mismatch keeps the same signature."""
    found = _mismatch_of(helper, trace)
    if found is None:
        return trace
    signature = _signature(found)
    ops = trace.ops[: found.index + 1]  # everything after the mismatch is irrelevant

    def fails(candidate: list[Op]) -> bool:
        try:
            m = _mismatch_of(helper, trace.with_ops(candidate))
        except Exception:
            return False
        return m is not None and _signature(m) == signature

    n = 2
    while len(ops) >= 2:
        chunk = max(1, len(ops) // n)
        reduced = False
        for start in range(0, len(ops), chunk):
            candidate = ops[:start] + ops[start + chunk :]
            if candidate and fails(candidate):
                ops = candidate
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(n * 2, len(ops))
    return trace.with_ops(ops)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.differential.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ops", type=int, default=150)
    p.add_argument("--touches", action="store_true", help="generate a trace with page touches")
    p.add_argument("--trace", help="run this trace file instead of a generated one")
    p.add_argument("--kernel-only", action="store_true")
    p.add_argument("--sim-only", action="store_true")
    p.add_argument("--raw", action="store_true", help="do not normalise the outputs")
    p.add_argument("--print-trace", action="store_true", help="print the trace and stop")
    p.add_argument("--minimize", action="store_true", help="shrink a mismatching trace")
    p.add_argument("--locks", action="store_true", help="a lock/seal/name trace (generate_locks)")
    p.add_argument(
        "--boundary", action="store_true", help="a lock trace at the max_map_count boundary"
    )
    p.add_argument(
        "--annotate", action="store_true", help="print the trace annotated with the kernel's output"
    )
    args = p.parse_args(argv)

    if args.trace:
        trace = parse_trace(Path(args.trace).read_text())
    elif args.locks or args.boundary:
        pages = BOUNDARY_PAGES if args.boundary else ARENA_PAGES
        trace = generate_locks(
            args.seed, args.ops, pages=pages, touches=args.touches, boundary=args.boundary
        )
    else:
        trace = generate(args.seed, args.ops, touches=args.touches)
    if args.print_trace:
        print(trace.text(), end="")
        return 0

    need_kernel = not args.sim_only
    need_sim = not args.kernel_only
    if need_kernel and (reason := unsupported_reason()):
        print(f"cannot run the kernel side: {reason}", file=sys.stderr)
        return 2
    if need_sim and (reason := engine_missing_reason()):
        print(f"cannot run the simulator side: {reason}", file=sys.stderr)
        return 2

    tmp = tempfile.mkdtemp(prefix="vmatrace-build-")
    try:
        helper = compile_helper(Path(tmp)) if need_kernel else None
        if args.minimize:
            if helper is None or not need_sim:
                print("--minimize needs both sides", file=sys.stderr)
                return 2
            small = minimize(helper, trace)
            print(small.text(), end="")
            trace = small
        kernel = run_kernel(helper, trace) if helper is not None else None
        if args.annotate:
            if kernel is None:
                print("--annotate needs the kernel side", file=sys.stderr)
                return 2
            text = Path(args.trace).read_text() if args.trace else trace.text()
            print(annotate(text, kernel, trace), end="")
            return 0
        sim = run_sim(trace) if need_sim else None
        print(_columns(trace, kernel, sim, args.raw))
        if kernel is not None and sim is not None:
            m = first_mismatch(trace, kernel.steps, kernel.filedir, sim.steps, sim.filedir)
            print()
            if m is None:
                print(f"no mismatch in {len(trace.ops)} ops")
            else:
                print(format_mismatch(m, trace, None if args.trace else args.seed))
                return 1
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
