"""Benchmark: what ``core.sched.cond_resched`` costs and what it buys, two trees side by side.

Run from the repository root (each tree must hold a current compiled build, or pass
``VMASIM_ENGINE=python`` to compare the pure-Python engine)::

    .venv/bin/python bench/bench_resched.py /tmp/base . --rounds 5

Each round runs every tree in its own fresh interpreter (the trees alternating, so both
see the same machine load) over four long operations: the whole maps read of 65,530
one-page VMAs (``read_maps``, lines cached; median of 5 reads), the whole smaps read of
16,384 such VMAs, a munmap of 65,530 VMAs with one resident page each, and a ``touch``
of 100,000 pages. Meanwhile a second thread asks for the GIL every millisecond
(``time.sleep(0.001)``) and records how late it got it: its longest wait during each
operation is how long the operation kept every other thread (the server's event loop,
another client's request, an experiment's monitor) from running. Prints each tree's
median time and longest wait per operation, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROUND = r"""
import gc, json, sys, threading, time
sys.path.insert(0, sys.argv[1])
PING = sys.argv[2] == "ping"
import core
from core import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel
from core.fault import touch
from core.maps_reader import read_maps, read_smaps

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
BASE = 0x10_0000_0000

def many(n, fault=False):
    mm = Kernel().spawn().mm
    for i in range(n):
        a = mm.mmap(BASE + 2 * i * PG, PG, RW, FLAGS)
        if fault:
            mm.fault(a, "write")
    return mm

late = [0.0]
stop = threading.Event()
def pinger():
    while not stop.is_set():
        t = time.perf_counter()
        time.sleep(0.001)
        late[0] = max(late[0], time.perf_counter() - t - 0.001)

def timed(op):
    gc.collect()
    gc.disable()  # a collection's pause is not the loop's
    time.sleep(0.01)  # the pinger is waiting in its sleep
    late[0] = 0.0
    t = time.perf_counter_ns()
    op()
    ns = time.perf_counter_ns() - t
    time.sleep(0.003)  # the pinger's wait that straddled the end is counted
    gc.enable()
    return ns, late[0]

if PING:
    threading.Thread(target=pinger, daemon=True).start()
out = {"engine": core.ENGINE}
mm = many(65530)
read_maps(mm, "mmap_lock")  # build the cached lines
runs = [timed(lambda: read_maps(mm, "mmap_lock")) for _ in range(5)]
out["maps 65,530"] = (sorted(r[0] for r in runs)[2], max(r[1] for r in runs))
mm = many(16384)
out["smaps 16,384"] = timed(lambda: read_smaps(mm))
mm = many(65530, fault=True)
out["munmap 65,530"] = timed(lambda: mm.munmap(BASE, 2 * 65530 * PG))
mm = Kernel().spawn().mm
a = mm.mmap(0, 100_001 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS)
mm.fault(a, "write")
out["touch 100,000"] = timed(lambda: touch(mm, a + PG, a + 100_001 * PG, "write", False))
stop.set()
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs=2, type=Path, help="two source trees (A, B)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--mode",
        choices=("ping", "alone"),
        default="ping",
        help="ping: with the second thread (the default); alone: the operations' own cost",
    )
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, object]]] = {str(t): [] for t in args.trees}
    for r in range(args.rounds):
        for tree in args.trees:
            proc = subprocess.run(
                [sys.executable, "-c", ROUND, str(tree.resolve()), args.mode],
                capture_output=True,
                text=True,
                check=True,
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree.resolve())},
            )
            results[str(tree)].append(json.loads(proc.stdout))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    a, b = (str(t) for t in args.trees)
    print(f"A = {a} ({results[a][0]['engine']}), B = {b} ({results[b][0]['engine']})")
    print(f"{'operation':<16}{'A ms':>9}{'B ms':>9}{'B/A':>7}{'A wait ms':>11}{'B wait ms':>11}")
    for op in [k for k in results[a][0] if k != "engine"]:
        med = {}
        wait = {}
        for t in (a, b):
            rows = [row[op] for row in results[t]]
            med[t] = statistics.median(x[0] for x in rows) / 1e6  # type: ignore[index]
            wait[t] = statistics.median(x[1] for x in rows) * 1e3  # type: ignore[index]
        print(
            f"{op:<16}{med[a]:>9.2f}{med[b]:>9.2f}{med[b] / med[a]:>7.3f}"
            f"{wait[a]:>11.2f}{wait[b]:>11.2f}"
        )
    print("(wait: the pinger thread's longest delay in getting the GIL, median over rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
