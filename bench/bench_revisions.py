"""Benchmark: the fault fast path of two revisions of the engine, side by side.

Run from the repository root::

    .venv/bin/python bench/bench_revisions.py af9d6c6 HEAD           # 12 rounds
    .venv/bin/python bench/bench_revisions.py af9d6c6 HEAD --rounds 30 --callgrind
    .venv/bin/python bench/bench_revisions.py engine:python engine:compiled --callgrind

Each revision is checked out into a temporary git worktree (removed afterwards) and
measured in its own fresh interpreter, the two alternating round by round so that both
see the same machine load. A round maps 4,096 anonymous pages and takes one write fault
per page on the per-VMA-lock fast path (the first fault of the mapping prepares the
anon_vma and is not timed), as ``bench/bench_faults.py`` does. The script prints each
revision's best and median nanoseconds per fault, the ratio of the medians and the
median of the per-round ratios. ``--callgrind`` also counts instructions per fault
under valgrind (the difference of a 1,000- and a 3,000-fault run, so start-up cancels):
a figure that does not depend on the machine's load.

``engine:python`` and ``engine:compiled`` name the working tree itself run with that
engine (``VMASIM_ENGINE``, core/_engine.py): the compiled engine against the pure-Python
one, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run inside the revision's tree (its core shadows the installed one): one round.
ROUND = """
import gc, json, sys, time
sys.path.insert(0, sys.argv[1])
from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel
mm = Kernel().spawn().mm
pages = int(sys.argv[2])
addr = mm.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
mm.fault(addr, "write")
fault = mm.fault
gc.disable()
t0 = time.perf_counter_ns()
for a in range(addr + PAGE_SIZE, addr + pages * PAGE_SIZE, PAGE_SIZE):
    fault(a, "write")
t1 = time.perf_counter_ns()
print(json.dumps((t1 - t0) / (pages - 1)))
"""


def _worktree(rev: str, into: Path) -> Path:
    path = into / rev.replace("/", "_")
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev], check=True
    )
    return path


def _env(rev: str) -> dict[str, str]:
    env = dict(os.environ)
    if rev.startswith("engine:"):
        env["VMASIM_ENGINE"] = rev.removeprefix("engine:")
    return env


def _round(tree: Path, pages: int, rev: str = "") -> float:
    out = subprocess.run(
        [sys.executable, "-c", ROUND, str(tree), str(pages)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
        env=_env(rev),
    )
    return float(json.loads(out.stdout))


def _instructions(tree: Path, faults: int, rev: str = "") -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        + [sys.executable, "-c", ROUND, str(tree), str(faults + 1)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
        env=_env(rev),
    )
    for line in out.stderr.splitlines():
        if "I   refs:" in line:
            return int(line.split(":")[1].replace(",", ""))
    raise RuntimeError(f"no instruction count in valgrind's output: {out.stderr[-500:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="a git revision (the baseline)")
    parser.add_argument("after", help="a git revision")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--pages", type=int, default=4096)
    parser.add_argument("--callgrind", action="store_true", help="also count instructions")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="vmasim-revs-"))
    trees = {}
    try:
        for rev in (args.before, args.after):
            trees[rev] = ROOT if rev.startswith("engine:") else _worktree(rev, tmp)
        times: dict[str, list[float]] = {rev: [] for rev in trees}
        for _ in range(args.rounds):
            for rev, tree in trees.items():
                times[rev].append(_round(tree, args.pages, rev))
        result: dict[str, object] = {}
        for rev, ts in times.items():
            result[rev] = {"best_ns": round(min(ts)), "median_ns": round(statistics.median(ts))}
        before, after = times[args.before], times[args.after]
        result["ratio_of_medians"] = round(statistics.median(after) / statistics.median(before), 3)
        result["median_round_ratio"] = round(
            statistics.median(a / b for a, b in zip(after, before, strict=True)), 3
        )
        if args.callgrind:
            for rev, tree in trees.items():
                small, large = _instructions(tree, 1000, rev), _instructions(tree, 3000, rev)
                result[rev]["instructions_per_fault"] = round((large - small) / 2000)  # type: ignore[index]
        print(json.dumps(result, indent=2))
    finally:
        for tree in trees.values():
            if tree == ROOT:
                continue
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
            )
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
