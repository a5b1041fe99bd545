"""Experiment 2, ``priority-inversion``: a high-priority faulting thread, an occasional
writer and a low-priority maps monitor that is preempted while it reads.

Under ``mmap_lock`` (before 6.4 faults, maps before 6.17) the monitor sleeps on
``mmap_lock`` behind the writer, is handed the read lock and waits for a CPU while
holding it; the writer queues behind it and every fault queues behind the writer (the
rwsem is FIFO), so the high-priority thread waits for the lowest-priority one. With
the ``seqcount`` reader the monitor holds nothing a writer waits for; with ``per_vma``
it holds one VMA's read lock at a time and faults take their own VMA's lock.

Reported per reader, with and without the monitor: the high-priority thread's fault
latency p50/p99/max and the share of its faults that took ``mmap_lock``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from core.constants import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE
from core.kernel import Kernel
from core.maps_reader import MapsFile
from core.process import Process

from .common import ExperimentResult, RunContext, Target, Worker, run_threads, summarize
from .profiles import apply_profile, high_priority, low_priority

NAME = "priority-inversion"
TITLE = "high-priority fault latency with a preempted maps monitor"

#: The profile (and reader override) of each reader's rows.
READER_PROFILES = {
    "mmap_lock": ("mmap_lock", None),
    "seqcount": ("per_vma_maps", "seqcount"),
    "per_vma": ("per_vma_maps", None),
}
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


def fill_vmas(proc: Process, count: int) -> int:
    """Map ``count`` one-page VMAs that cannot merge (alternating protections); returns
    the lowest address. O(count log count)."""
    mm = proc.mm
    low = 0
    for i in range(count):
        low = mm.mmap(0, PAGE_SIZE, PROT_READ if i % 2 else RW, ANON)
    return low


def run_cell(
    ctx: RunContext,
    reader: str,
    monitor: bool,
    vmas: int,
    seconds: float,
    diag: dict[str, Any] | None = None,
) -> tuple[list[float], dict[str, int], int]:
    """One run: the faulter's latencies, its faults by path, and the preemptions;
    ``diag`` receives the faulter's and the writer's longest lock waits."""
    if diag is None:
        diag = {}
    profile, override = READER_PROFILES[reader]
    kernel = Kernel()
    proc = kernel.spawn("prio-inv")
    mm = proc.mm
    fill_vmas(proc, vmas)
    pages = 1024
    region = mm.mmap(0, pages * PAGE_SIZE, RW, ANON)
    locking = apply_profile(proc, profile, ctx.cost, override, seed=(ctx.seed, reader))
    stop = threading.Event()
    latencies: list[float] = []
    paths: dict[str, int] = {}
    interval = 2e-3

    def faulter() -> None:
        clock = time.perf_counter
        i = 0
        with high_priority(locking):
            while not stop.is_set():
                t0 = clock()
                res = mm.fault(region + i * PAGE_SIZE, "write")
                latencies.append(clock() - t0)
                paths[res.path] = paths.get(res.path, 0) + 1
                i = (i + 1) % pages

    def writer() -> None:
        with high_priority(locking):  # nice 0 too: the monitor does not delay it either
            while not locking.idle(stop, interval):
                # PROT_READ: never merges with the faulter's region (a split of a VMA
                # being faulted in would race: see the report on split_vma).
                addr = mm.mmap(0, PAGE_SIZE, PROT_READ, ANON)
                mm.munmap(addr, PAGE_SIZE)

    def watcher() -> None:
        with low_priority(1):
            while not stop.is_set():
                for _chunk in MapsFile(mm, locking.maps_reader):
                    locking.chunk_copied()
                    if stop.is_set():
                        break

    workers = [Worker("faulter", faulter), Worker("writer", writer)]
    if monitor:
        workers.append(Worker("monitor", watcher))
    run_threads(workers, stop, seconds)
    mm.tree._check()
    diag["faulter"] = locking.worst_stalls("faulter", 2)
    diag["writer"] = locking.worst_stalls("writer", 2)
    diag["faulter_waits_over_5ms"] = locking.stall_summary("faulter", 5e-3)
    return latencies, paths, locking.statistics().preemptions


def pooled_row(
    reader: str,
    monitor: bool,
    runs: list[tuple[list[float], dict[str, int], int]],
    stall_s: float,
) -> dict[str, Any]:
    """One table row from the interleaved rounds of a configuration. ``stalled_share``
    is the share of faults that took longer than ``stall_s`` (half a preemption)."""
    latencies = [x for lat, _, _ in runs for x in lat]
    stalled = sum(1 for x in latencies if x > stall_s)
    on_vma = sum(p.get("vma_lock", 0) for _, p, _ in runs)
    total = sum(sum(p.values()) for _, p, _ in runs)
    return {
        "reader": reader,
        "profile": READER_PROFILES[reader][0],
        "monitor": monitor,
        **summarize(latencies),
        "stalled_share": round(stalled / max(len(latencies), 1), 4),
        "mmap_lock_share": round(1 - on_vma / max(total, 1), 4),
        "preemptions": sum(n for _, _, n in runs),
    }


def run(
    ctx: RunContext, readers: tuple[str, ...] = ("mmap_lock", "seqcount", "per_vma")
) -> ExperimentResult:
    """Per reader, ``rounds`` alternating runs without and with the monitor, pooled
    (interleaving spreads the host's own noise evenly over both)."""
    vmas = 300 if ctx.quick else 2000
    seconds = ctx.duration(0.8, 5.0)
    rounds = 2 if ctx.quick else 5
    cells = [(r, i, m) for r in readers for i in range(rounds) for m in (False, True)]
    ctx.start(len(cells))
    result = ExperimentResult(
        NAME,
        TITLE,
        ctx.seed,
        ctx.quick,
        ctx.cost.as_dict(),
        {
            "vmas": vmas,
            "cell_s": seconds,
            "rounds": rounds,
            "writer_interval_s": 2e-3,
            "readers": list(readers),
        },
        {},
    )
    runs: dict[tuple[str, bool], list[tuple[list[float], dict[str, int], int]]] = {}
    for reader, i, monitor in cells:
        diag: dict[str, Any] = {}
        runs.setdefault((reader, monitor), []).append(
            run_cell(ctx, reader, monitor, vmas, seconds / rounds, diag)
        )
        result.diagnostics[f"{reader} monitor={monitor} round {i + 1}"] = diag
        ctx.cell_done(f"{reader} round {i + 1} monitor={monitor}")
    for (reader, monitor), pooled in runs.items():
        result.rows.append(pooled_row(reader, monitor, pooled, ctx.cost.preempt_s / 2))
    result.targets = targets(result.rows)
    return result


def targets(rows: list[dict[str, Any]]) -> list[Target]:
    by = {(r["reader"], r["monitor"]): r for r in rows}
    out = []
    for reader, op, bound in (
        ("mmap_lock", ">=", 10.0),
        ("seqcount", "<=", 1.5),
        ("per_vma", "<=", 1.5),
    ):
        base, mon = by.get((reader, False)), by.get((reader, True))
        if base is None or mon is None:
            continue
        ratio = mon["p99_ms"] / max(base["p99_ms"], 1e-9)
        ok = ratio >= bound if op == ">=" else ratio <= bound
        name = f"{reader} p99 monitor / no monitor"
        out.append(Target(name, round(ratio, 2), f"{op} {bound}", ok))
    return out


def plot(result: ExperimentResult, ax: Any) -> None:
    """p50/p99/max per reader, without and with the monitor (log scale)."""
    readers = list(dict.fromkeys(r["reader"] for r in result.rows))
    width = 0.13
    for j, (stat, monitor) in enumerate(
        (s, m) for m in (False, True) for s in ("p50_ms", "p99_ms", "max_ms")
    ):
        xs, ys = [], []
        for i, reader in enumerate(readers):
            for r in result.rows:
                if r["reader"] == reader and r["monitor"] == monitor:
                    xs.append(i + (j - 2.5) * width)
                    ys.append(max(r[stat], 1e-3))
        label = f"{stat[:-3]} {'with' if monitor else 'no'} monitor"
        color = {"p50_ms": "tab:blue", "p99_ms": "tab:orange", "max_ms": "tab:green"}[stat]
        ax.bar(
            xs,
            ys,
            width,
            label=label,
            color=color,
            hatch="//" if monitor else None,
            alpha=1.0 if monitor else 0.6,
        )
    ax.set_xticks(range(len(readers)), readers)
    ax.set_yscale("log")
    ax.set_ylabel("fault latency (ms)")
    ax.legend(fontsize="small", ncol=2)
