"""Experiment 3, ``fault-scaling``: page-fault throughput with N faulting threads.

The shapes of will-it-scale ``page_fault1`` (anonymous), ``page_fault2`` (private
file, written: copy-on-write) and ``page_fault3`` (shared file, written): each thread
maps its own region, writes every page, unmaps it, and repeats. Optionally one more
thread maps and unmaps a page in a tight loop (a concurrent writer, like a JIT or an
allocator in the same process). Reported per profile: faults per second and the
share of faults that took ``mmap_lock`` (profile ``mmap_lock``: all; per-VMA
profiles: lock aborts plus ``VM_FAULT_RETRY`` fallbacks).

Kernel anchor: per-VMA locks doubled fault performance in 6.4 and reached almost
three times by 6.6 (per-VMA lock series cover letters; page_fault tests).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from core.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from core.kernel import Kernel

from .common import ExperimentResult, RunContext, Target, Worker, run_threads
from .profiles import apply_profile

NAME = "fault-scaling"
TITLE = "page faults per second with N threads"
KINDS = ("anon", "private-file", "shared-file")
RW = PROT_READ | PROT_WRITE


def run_cell(
    ctx: RunContext,
    profile: str,
    kind: str,
    threads: int,
    writer: bool,
    pages: int,
    seconds: float,
) -> dict[str, Any]:
    kernel = Kernel()
    proc = kernel.spawn("fault-scale")
    mm = proc.mm
    fd = -1
    if kind != "anon":
        fd = proc.open("/tmp/will-it-scale", O_RDWR, size=pages * PAGE_SIZE)
    flags = {
        "anon": MAP_PRIVATE | MAP_ANONYMOUS,
        "private-file": MAP_PRIVATE,
        "shared-file": MAP_SHARED,
    }[kind]
    # Fixed, separated areas: regions never merge, so no munmap splits a VMA another
    # thread is faulting in (and the writer never lands inside a faulter's area).
    span = (pages + 1) * PAGE_SIZE
    area = mm.mmap(0, span * (threads + 1), RW, MAP_PRIVATE | MAP_ANONYMOUS)
    mm.munmap(area, span * (threads + 1))
    locking = apply_profile(proc, profile, ctx.cost, seed=(ctx.seed, kind, threads, writer))
    stop = threading.Event()
    counts = [0] * threads
    paths: list[dict[str, int]] = [{} for _ in range(threads)]
    writer_ops = [0]

    def faulter(n: int) -> None:
        mine = paths[n]
        while not stop.is_set():
            addr = mm.mmap(area + n * span, pages * PAGE_SIZE, RW, flags | MAP_FIXED, fd, 0)
            for i in range(pages):
                res = mm.fault(addr + i * PAGE_SIZE, "write")
                mine[res.path] = mine.get(res.path, 0) + 1
                counts[n] += 1
                if stop.is_set():
                    break
            mm.munmap(addr, pages * PAGE_SIZE)

    def churn() -> None:
        anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
        while not stop.is_set():
            addr = mm.mmap(area + threads * span, PAGE_SIZE, RW, anon)
            mm.munmap(addr, PAGE_SIZE)
            writer_ops[0] += 1

    workers = [Worker(f"faulter-{n}", functools.partial(faulter, n)) for n in range(threads)]
    if writer:
        workers.append(Worker("writer", churn))
    run_threads(workers, stop, seconds)
    mm.tree._check()
    total = sum(counts)
    on_vma = sum(p.get("vma_lock", 0) for p in paths)
    return {
        "profile": profile,
        "kind": kind,
        "threads": threads,
        "writer": writer,
        "faults": total,
        "faults_per_s": round(total / seconds, 1),
        "mmap_lock_share": round(1 - on_vma / max(total, 1), 4),
        "writer_ops_per_s": round(writer_ops[0] / seconds, 1),
        "retries": locking.statistics().faults_retried,
    }


def run(
    ctx: RunContext,
    profiles: tuple[str, ...] = ("mmap_lock", "per_vma"),
    kinds: tuple[str, ...] | None = None,
    threads: tuple[int, ...] | None = None,
    writers: tuple[bool, ...] | None = None,
    rounds: int = 1,
) -> ExperimentResult:
    """Every (profile, kind, N, writer) cell; with ``rounds`` > 1 the profiles alternate
    in that many shorter runs per configuration, pooled (spreads host noise evenly)."""
    if kinds is None:
        kinds = ("anon",) if ctx.quick else KINDS
    if threads is None:
        threads = (1, 4) if ctx.quick else (1, 2, 4, 8)
    if writers is None:
        writers = (True,) if ctx.quick else (False, True)
    pages = 64 if ctx.quick else 256
    seconds = ctx.duration(0.5, 3.0)
    cells = [
        (p, k, n, w, i)
        for k in kinds
        for w in writers
        for n in threads
        for i in range(rounds)
        for p in profiles
    ]
    ctx.start(len(cells))
    result = ExperimentResult(
        NAME,
        TITLE,
        ctx.seed,
        ctx.quick,
        ctx.cost.as_dict(),
        {
            "pages_per_iteration": pages,
            "cell_s": seconds,
            "profiles": list(profiles),
            "kinds": list(kinds),
            "threads": list(threads),
            "writers": list(writers),
            "rounds": rounds,
        },
        {},
    )
    pooled: dict[tuple[str, str, int, bool], list[dict[str, Any]]] = {}
    for p, k, n, w, i in cells:
        pooled.setdefault((p, k, n, w), []).append(
            run_cell(ctx, p, k, n, w, pages, seconds / rounds)
        )
        ctx.cell_done(f"{p} {k} N={n} writer={w} round {i + 1}")
    result.rows = [_pool(rows, seconds) for rows in pooled.values()]
    result.targets = targets(result.rows)
    return result


def _pool(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """One row from the rounds of a configuration (each ran ``seconds / len(rows)``)."""
    if len(rows) == 1:
        return rows[0]
    faults = sum(r["faults"] for r in rows)
    on_vma = sum(r["faults"] * (1 - r["mmap_lock_share"]) for r in rows)
    return {
        **rows[0],
        "faults": faults,
        "faults_per_s": round(faults / seconds, 1),
        "mmap_lock_share": round(1 - on_vma / max(faults, 1), 4),
        "writer_ops_per_s": round(sum(r["writer_ops_per_s"] for r in rows) / len(rows), 1),
        "retries": sum(r["retries"] for r in rows),
    }


def targets(rows: list[dict[str, Any]]) -> list[Target]:
    """per_vma / mmap_lock faults per second with the writer, at the largest N."""
    by = {(r["profile"], r["kind"], r["threads"], r["writer"]): r for r in rows}
    top = max((r["threads"] for r in rows), default=0)
    out = []
    for (profile, kind, n, writer), row in sorted(by.items()):
        if profile != "per_vma" or not writer or n != top:
            continue
        base = by.get(("mmap_lock", kind, n, writer))
        if base is None:
            continue
        ratio = row["faults_per_s"] / max(base["faults_per_s"], 1e-9)
        out.append(
            Target(
                f"{kind} N={n} with writer: per_vma / mmap_lock faults/s",
                round(ratio, 2),
                ">= 2",
                ratio >= 2,
            )
        )
    return out


def plot(result: ExperimentResult, ax: Any) -> None:
    """Faults/s against N: colour by profile, marker by kind, solid with the writer."""
    colors = {"mmap_lock": "tab:blue", "per_vma": "tab:orange", "per_vma_maps": "tab:green"}
    markers = {"anon": "o", "private-file": "s", "shared-file": "^"}
    keys = dict.fromkeys((r["profile"], r["kind"], r["writer"]) for r in result.rows)
    for profile, kind, writer in keys:
        key = (profile, kind, writer)
        pts = [r for r in result.rows if (r["profile"], r["kind"], r["writer"]) == key]
        ax.plot(
            [r["threads"] for r in pts],
            [r["faults_per_s"] for r in pts],
            marker=markers.get(kind, "o"),
            color=colors.get(profile),
            linestyle="-" if writer else ":",
            label=f"{profile} {kind}{' + writer' if writer else ''}",
        )
    ax.set_xlabel("faulting threads N")
    ax.set_ylabel("faults per second")
    ax.legend(fontsize="x-small", ncol=2)
