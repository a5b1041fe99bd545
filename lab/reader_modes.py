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

Time scale: paced lines and syscalls
====================================
How often a walk meets a write depends on how long the walk lasts and how long each
write holds ``mmap_lock``. Left to the engine, both are the interpreter's speed (the
compiled engine walked 2x to 3x faster than the pure-Python one and changed every
figure here, docs/experiments.md, "Compiled engine"), so both are paced instead
(:class:`PacedLocking`): each line of a walk takes at least :data:`LINE_PACE_S` from
the walk's start, the engine's own formatting counted in, charged at ``show_map_vma``
holding what the reader holds for that line (nothing but RCU for ``seqcount``; the
VMA's read lock for ``per_vma``; ``mmap_lock`` for read after a fallback); and a
syscall holds ``mmap_lock`` for write ``syscall_s`` in all, the engine's work under it
counted in (the other experiments add ``syscall_s`` to that work). The paces are above
what either engine spends, so a walk lasts ``n * LINE_PACE_S`` and a write-lock hold
``syscall_s`` whichever engine runs them: the cost model, not the interpreter, sets
the time scale, as in the other experiments. A walk's debt is paid in sleeps of at
least :data:`PACE_LUMP_S` (a sleep per line would cost the timer's slack each time),
and a walk that fell behind by up to :data:`PACE_CREDIT_S` (an oversleep) makes it up
on the next lines instead of being charged twice.

Cells: each runs for its duration and until its reader has :data:`MIN_READS` reads (at
65,530 VMAs a seqcount read that falls back is five walks, 6.6 s), at most
:data:`MAX_CELL_S`. A read that ends after the cell's stop is not counted: the writer
had stopped during it, so its last part ran without writes.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from core.constants import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE
from core.errors import SyscallError
from core.kernel import Kernel
from core.maps_reader import Reader, read_maps
from core.process import Process

from .common import ExperimentResult, RunContext, Worker, run_threads, summarize
from .priority_inversion import fill_vmas
from .profiles import PROFILES, CostModel, ProfiledLocking, install

if TYPE_CHECKING:
    from core.hooks import LockMode
    from core.mmap_lock import MmapLock
    from core.vma import Vma

NAME = "reader-modes"
TITLE = "seqcount retries vs per-VMA tearing as VMAs and writer rate grow"
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

LINE_PACE_S: Final = 20e-6
"""A maps line's time in a walk (module note): about 50x the kernel's ``show_map_vma``
on the reference host (a ``read()`` of 65,530 lines, 28.3 ms median: 0.43 µs a line,
``bench/bench_maps.py``), the scale of the cost model's other durations, and above the
engines' own per-VMA walk (2.7 µs a line compiled, 6.7 to 12 µs pure Python at 65,530
VMAs), so a walk of 65,530 lines lasts 1.3 s with either."""
PACE_LUMP_S: Final = 50e-6
"""The least debt a paced walk sleeps off at once: the reader's bursts between two
sleeps stay short (a few lines), so a writer that wakes behind one waits little for
the GIL, with either engine."""
PACE_CREDIT_S: Final = 1e-3
"""How far a paced walk may run behind its pace and still make it up (above the
timer's slack, 50 µs, so an oversleep is not charged twice)."""
MIN_READS: Final = 5
"""Reads each cell waits for after its duration (module note, "Cells")."""
MAX_CELL_S: Final = 120.0
"""The longest a cell runs, whatever its reads."""
CELL_RULE: Final = (
    f"a reader-modes cell also runs until its reader has {MIN_READS} reads, "
    f"at most {MAX_CELL_S:g} s"
)
"""The two bounds above as the API and the CLI state them beside ``cell_seconds``."""


class PacedLocking(ProfiledLocking):
    """The ``per_vma_maps`` profile with paced costs (module note): a walk's lines take
    at least ``line_pace_s`` each, and a syscall holds ``mmap_lock`` for write at least
    ``cost.syscall_s`` in all, the engine's own work counted in. The paces are per
    thread. O(1) per line and per syscall, plus the sleep."""

    def __init__(self, cost: CostModel, line_pace_s: float, seed: object = 1) -> None:
        super().__init__(PROFILES["per_vma_maps"], cost, None, seed)
        self.line_pace_s = line_pace_s
        self._pace = threading.local()

    def walk_started(self) -> None:
        """The calling thread starts a read (``seq_read_iter``): its first line is due
        one pace from now, whatever the thread did before."""
        self._pace.due = time.perf_counter()

    def maps_line(self, vma: Vma) -> None:
        """``show_map_vma``: the profile's own charge, then the pace, holding the line's
        lock (core.hooks.vma_line)."""
        super().maps_line(vma)
        pace = self.line_pace_s
        if not pace:
            return
        now = time.perf_counter()
        # When this line is due to end: the previous line's due time plus the pace, no
        # earlier than PACE_CREDIT_S before now (a walk that fell behind banks no more
        # than that; walk_started() sets the start).
        due = max(getattr(self._pace, "due", now), now - PACE_CREDIT_S) + pace
        self._pace.due = due
        if due - now >= PACE_LUMP_S:
            self._spend(due - now)

    def acquired(self, lock: MmapLock, mode: LockMode) -> None:
        super().acquired(lock, mode)
        if mode == "write":
            self._pace.write_at = time.perf_counter()

    def contended(
        self,
        lock: MmapLock,
        mode: LockMode,
        acquire: Callable[[float | None], bool],
        timeout: float | None,
    ) -> bool:
        got = super().contended(lock, mode, acquire, timeout)
        if got and mode == "write":
            self._pace.write_at = time.perf_counter()
        return got

    def _syscall_s(self) -> float:
        """What is left of ``syscall_s`` since this thread took ``mmap_lock`` for
        write: the write-lock hold is the cost model's, whichever engine did the work."""
        held = time.perf_counter() - getattr(self._pace, "write_at", math.inf)
        self._pace.write_at = math.inf  # a lock taken without the observer: charged whole
        return self.cost.syscall_s - max(held, 0.0)


def _setup(n: int) -> tuple[Process, int]:
    kernel = Kernel()
    proc = kernel.spawn("reader-modes")
    low = fill_vmas(proc, n)
    return proc, low


def run_cell(
    ctx: RunContext,
    locking: PacedLocking,
    proc: Process,
    low: int,
    n: int,
    rate: float | None,
    reader: Reader,
    seconds: float,
) -> dict[str, Any]:
    """``rate`` None: the writer runs flat out; 0: no writer. The cell lasts
    ``seconds`` and until :data:`MIN_READS` reads, at most :data:`MAX_CELL_S` (module
    note, "Cells")."""
    mm = proc.mm
    rng = random.Random(f"{ctx.seed}:{n}:{rate}:{reader}")
    stop = threading.Event()
    reads: list[Any] = []
    durations: list[float] = []
    writer_lat: list[float] = []
    failures = [0]
    elapsed = [0.0]

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
        started = clock()
        try:
            while not stop.is_set():
                t0 = clock()
                locking.walk_started()
                snap = read_maps(mm, reader)
                t1 = clock()
                if stop.is_set():
                    break  # the writer stopped during this read: not counted
                durations.append(t1 - t0)
                reads.append(snap)
                elapsed[0] = t1 - started
                if len(reads) >= MIN_READS and elapsed[0] >= seconds:
                    break
        finally:
            stop.set()  # the cell is done, or the reader failed: run_threads joins

    workers = [Worker("reader", read_loop)]
    if rate != 0:
        workers.append(Worker("writer", writer))
    run_threads(workers, stop, MAX_CELL_S)
    mm.tree._check()
    count = max(len(reads), 1)
    wait_ns = sum(s.hold.mmap_lock_wait_ns for s in reads)
    return {
        "vmas": n,
        "writer_rate": "max" if rate is None else rate,
        "reader": reader,
        "cell_s": round(elapsed[0], 3),
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
    line_pace_s: float = LINE_PACE_S,
) -> ExperimentResult:
    """Every cell of ``sizes`` x ``rates`` x ``readers``, each at least
    ``ctx``'s cell duration long and at least :data:`MIN_READS` reads long (module note)."""
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
            "min_reads": MIN_READS,
            "line_pace_s": line_pace_s,
            "max_retries": 3,
        },
        {},
    )
    for n in sizes:
        proc, low = _setup(n)
        locking = PacedLocking(ctx.cost, line_pace_s, seed=(ctx.seed, n))
        install(proc, locking)
        for rate in rates:
            for reader in readers:
                result.rows.append(run_cell(ctx, locking, proc, low, n, rate, reader, seconds))
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
