"""Experiment 4, ``reader-modes``: the seqcount reader against the per-VMA reader as the
address space grows and the writer speeds up.

A process with ``n`` one-page VMAs (100 to 65,530, alternating protections so none
merge) and a writer that, ``rate`` times a second, unmaps a random one and maps it
back (``munmap`` + ``MAP_FIXED`` ``mmap``: the layout is restored after each pair).
One reader thread reads the whole of ``/proc/<pid>/maps`` in a single ``read()``, again and again.

* ``seqcount``: the walk is valid only if no write-lock cycle overlapped it, so the
  chance of a retry grows with the walk's length (``n``) times the writer's rate;
  after ``max_retries`` it falls back to ``mmap_lock`` (and stalls the writer).
* ``per_vma``: never retries the whole walk; a line may show a later moment than the
  previous one (tearing), and the walk takes ``mmap_lock`` briefly only when the VMA
  at its position is write-locked.

That trade-off is why the kernel (6.17) adopted per-VMA locks rather than a whole-mm
sequence-count retry for maps (fs/proc/task_mmu.c ``lock_next_vma``; the speculative walk of
``mmap_lock_speculate_try_begin``).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from core.constants import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE
from core.errors import SyscallError
from core.kernel import Kernel
from core.maps_reader import Reader, read_maps
from core.process import Process

from .common import ExperimentResult, RunContext, Worker, run_threads, summarize
from .priority_inversion import fill_vmas
from .profiles import apply_profile

NAME = "reader-modes"
TITLE = "seqcount retries vs per-VMA tearing as VMAs and writer rate grow"
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


def _setup(n: int) -> tuple[Process, int]:
    kernel = Kernel()
    proc = kernel.spawn("reader-modes")
    low = fill_vmas(proc, n)
    return proc, low


def run_cell(
    ctx: RunContext,
    proc: Process,
    low: int,
    n: int,
    rate: float | None,
    reader: Reader,
    seconds: float,
) -> dict[str, Any]:
    """``rate`` None: the writer runs flat out; 0: no writer."""
    mm = proc.mm
    rng = random.Random(f"{ctx.seed}:{n}:{rate}:{reader}")
    stop = threading.Event()
    reads: list[Any] = []
    durations: list[float] = []
    writer_lat: list[float] = []
    failures = [0]

    def writer() -> None:
        clock = time.perf_counter
        while not stop.is_set():
            i = rng.randrange(n)
            addr = low + i * PAGE_SIZE
            prot = PROT_READ if (n - 1 - i) % 2 else RW  # as fill_vmas mapped it
            t0 = clock()
            try:
                mm.munmap(addr, PAGE_SIZE)
                mm.mmap(addr, PAGE_SIZE, prot, ANON | MAP_FIXED)
            except SyscallError:
                failures[0] += 1
            writer_lat.append(clock() - t0)
            if rate and stop.wait(1.0 / rate):
                break

    def read_loop() -> None:
        clock = time.perf_counter
        while not stop.is_set():
            t0 = clock()
            snap = read_maps(mm, reader)
            durations.append(clock() - t0)
            reads.append(snap)

    workers = [Worker("reader", read_loop)]
    if rate != 0:
        workers.append(Worker("writer", writer))
    run_threads(workers, stop, seconds)
    mm.tree._check()
    count = max(len(reads), 1)
    wait_ns = sum(s.hold.mmap_lock_wait_ns for s in reads)
    return {
        "vmas": n,
        "writer_rate": "max" if rate is None else rate,
        "reader": reader,
        "reads": len(reads),
        "read_ms_p50": summarize(durations)["p50_ms"],
        "attempts_per_read": round(sum(s.attempts for s in reads) / count, 3),
        "fallback_share": round(sum(1 for s in reads if s.fell_back) / count, 4),
        "torn_lines_per_read": round(sum(len(s.torn_at) for s in reads) / count, 3),
        "mmap_lock_wait_ms": round(wait_ns / 1e6, 3),
        "writer_ops": len(writer_lat),
        "writer_p99_ms": summarize(writer_lat)["p99_ms"],
        "writer_failures": failures[0],
    }


def run(
    ctx: RunContext,
    sizes: tuple[int, ...] | None = None,
    rates: tuple[float | None, ...] | None = None,
    readers: tuple[Reader, ...] = ("seqcount", "per_vma"),
) -> ExperimentResult:
    if sizes is None:
        sizes = (100, 1000) if ctx.quick else (100, 1000, 10000, 65530)
    if rates is None:
        rates = (0, 100, 1000) if ctx.quick else (0, 10, 100, 1000, None)
    seconds = ctx.duration(0.3, 2.0)
    cells = [(n, r, d) for n in sizes for r in rates for d in readers]
    ctx.start(len(cells))
    result = ExperimentResult(
        NAME,
        TITLE,
        ctx.seed,
        ctx.quick,
        ctx.cost.as_dict(),
        {
            "sizes": list(sizes),
            "rates": ["max" if r is None else r for r in rates],
            "readers": list(readers),
            "cell_s": seconds,
            "max_retries": 3,
        },
        {},
    )
    for n in sizes:
        proc, low = _setup(n)
        apply_profile(proc, "per_vma_maps", ctx.cost, seed=(ctx.seed, n))
        for rate in rates:
            for reader in readers:
                result.rows.append(run_cell(ctx, proc, low, n, rate, reader, seconds))
                ctx.cell_done(f"n={n} rate={rate} {reader}")
        proc.kernel.exit(proc.pid)
    return result


def plot(result: ExperimentResult, ax: Any) -> None:
    """Seqcount attempts per read and per-VMA torn lines per read, against writer rate."""
    rows = result.rows
    xs = list(dict.fromkeys(str(r["writer_rate"]) for r in rows))
    for n in dict.fromkeys(r["vmas"] for r in rows):
        seq = [r for r in rows if r["vmas"] == n and r["reader"] == "seqcount"]
        vma = [r for r in rows if r["vmas"] == n and r["reader"] == "per_vma"]
        if seq:
            (line,) = ax.plot(
                [xs.index(str(r["writer_rate"])) for r in seq],
                [r["attempts_per_read"] for r in seq],
                marker="o",
                label=f"seqcount attempts/read, {n} VMAs",
            )
            color = line.get_color()
        else:
            color = None
        if vma:
            ax.plot(
                [xs.index(str(r["writer_rate"])) for r in vma],
                [max(r["torn_lines_per_read"], 1e-2) for r in vma],
                marker="s",
                linestyle=":",
                color=color,
                label=f"per_vma torn lines/read, {n} VMAs",
            )
    ax.set_xticks(range(len(xs)), xs)
    ax.set_xlabel("writer rate (munmap+mmap pairs per second)")
    ax.set_yscale("log")
    ax.legend(fontsize="x-small")
