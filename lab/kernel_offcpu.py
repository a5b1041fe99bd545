"""Where the real kernel's mapper waits: proc-vs-map under ``perf`` (off-CPU analysis).

``python -m lab.kernel_offcpu [maps|smaps] [--k 10] [--seconds 2]``
builds ``proc_vs_map.c`` (see :mod:`lab.kernel_oracle`), runs it under
``perf record -e sched:sched_switch -g`` and reports every interval the mapper thread
spent off the CPU, grouped by the kernel function it blocked in (the first of
:data:`WAIT_SITES` on its call chain: ``rwsem_down_write_slowpath`` is
``mmap_write_lock``; ``__vma_start_write`` the wait for a VMA's readers) or by its
state when it was preempted while runnable (``R``, ``R+``). It checks the mechanism the
simulator's cost model charges (a per-VMA maps reader falls back to ``mmap_read_lock``
in ``lock_next_vma``, is granted the lock asleep and holds it until it gets a CPU)
against the kernel the host runs: the scanners' own blocking sites are reported too.

Needs Linux, a C compiler, ``perf`` and the ``sched:sched_switch`` tracepoint (root,
tracefs mounted at /sys/kernel/tracing).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .kernel_oracle import build, parse

#: Kernel functions that name a wait, most specific first.
WAIT_SITES = (
    "__vma_start_write",
    "lock_next_vma",  # a per-VMA maps reader's fallback to mmap_read_lock
    "rwsem_down_write_slowpath",
    "rwsem_down_read_slowpath",
)

_SWITCH = re.compile(
    r"^\s*(\d+)\s+([\d.]+):\s+prev_comm=.*? prev_pid=(\d+) prev_prio=(\d+) "
    r"prev_state=(\S+) ==> next_comm=.*? next_pid=(\d+) next_prio=(\d+)"
)


@dataclass
class Switch:
    """One ``sched_switch``: time, the thread leaving (pid, prio, state) and entering,
    and the leaving thread's kernel call chain (function names, innermost first)."""

    time: float
    prev: int
    prev_prio: int
    state: str
    next: int
    stack: list[str] = field(default_factory=list)


def parse_switches(lines: Iterable[str]) -> list[Switch]:
    """``perf script -F tid,time,trace,ip,sym`` output -> switches. O(lines)."""
    out: list[Switch] = []
    for line in lines:
        m = _SWITCH.match(line)
        if m:
            out.append(Switch(float(m[2]), int(m[3]), int(m[4]), m[5], int(m[6]), stack=[]))
        elif out and line.strip():
            parts = line.split()
            if len(parts) >= 2:
                out[-1].stack.append(parts[1])
    return out


def wait_site(sw: Switch) -> str:
    """The first of :data:`WAIT_SITES` on ``sw``'s chain, else its state."""
    return next((s for s in WAIT_SITES if s in sw.stack), sw.state)


def off_cpu(switches: Sequence[Switch], tid: int) -> dict[str, list[float]]:
    """Seconds ``tid`` spent off the CPU per interval, grouped by :func:`wait_site` of
    the switch that took it off. O(switches)."""
    out: dict[str, list[float]] = {}
    left: Switch | None = None
    for sw in switches:
        if sw.prev == tid:
            left = sw
        elif sw.next == tid and left is not None:
            out.setdefault(wait_site(left), []).append(sw.time - left.time)
            left = None
    return out


def blocking_sites(switches: Sequence[Switch], prio: int) -> dict[str, int]:
    """How often threads of priority ``prio`` blocked (state D or S), per wait site."""
    out: dict[str, int] = {}
    for sw in switches:
        if sw.prev_prio == prio and sw.state[:1] in ("D", "S"):
            site = wait_site(sw)
            out[site] = out.get(site, 0) + 1
    return out


def summary(intervals: dict[str, list[float]]) -> list[dict[str, object]]:
    """Per site: count, total, median and max in ms, longest total first."""
    rows = []
    for site, values in sorted(intervals.items(), key=lambda kv: -sum(kv[1])):
        values = sorted(values)
        rows.append(
            {
                "site": site,
                "n": len(values),
                "total_ms": round(sum(values) * 1e3, 1),
                "p50_ms": round(values[len(values) // 2] * 1e3, 2),
                "max_ms": round(values[-1] * 1e3, 2),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.kernel_offcpu")
    parser.add_argument("file", choices=("maps", "smaps"), nargs="?", default="maps")
    parser.add_argument("--k", type=int, default=10, help="scanner threads")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if shutil.which("perf") is None:
        sys.stderr.write("perf is not installed\n")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        data = Path(tmp) / "perf.data"
        run = subprocess.run(
            ["perf", "record", "-q", "-e", "sched:sched_switch", "-g", "-o", str(data), "--"]
            + [str(exe), args.file, str(args.k), str(args.seconds), str(args.seed)],
            capture_output=True,
            text=True,
            timeout=args.seconds * 10 + 60,
        )
        if run.returncode != 0:
            sys.stderr.write(run.stderr)
            return 1
        line = next(ln for ln in run.stdout.splitlines() if ln.startswith("file="))
        script = subprocess.run(
            ["perf", "script", "-i", str(data), "-F", "tid,time,trace,ip,sym"],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    switches = parse_switches(script.stdout.splitlines())
    # The mapper is the process's only nice-0 thread: the most frequent prio-120 pid.
    counts: dict[int, int] = {}
    for sw in switches:
        if sw.prev_prio == 120:
            counts[sw.prev] = counts.get(sw.prev, 0) + 1
    if not counts:
        sys.stderr.write("no sched_switch of the mapper was recorded\n")
        return 1
    mapper = max(counts, key=lambda t: counts[t])
    result = parse(line)
    sys.stdout.write(f"{line}\nmapper {mapper} off the CPU, by where it blocked:\n")
    for row in summary(off_cpu(switches, mapper)):
        sys.stdout.write(
            f"  {row['site']:>28}: {row['n']:>5} times, {row['total_ms']:>8} ms in all, "
            f"median {row['p50_ms']} ms, max {row['max_ms']} ms\n"
        )
    sys.stdout.write(f"scanners (nice 19) blocked in: {blocking_sites(switches, 139)}\n")
    return 0 if result.get("ops") else 1


if __name__ == "__main__":
    raise SystemExit(main())
