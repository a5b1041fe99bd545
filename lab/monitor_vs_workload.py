"""Experiment 5, ``monitor-vs-workload``: a workload's mmap/munmap and fault latency while
a monitoring agent reads its smaps.

The shape of the reports of issue 15 (process-exporter #246, Telegraf #15295,
datadog-agent #41946): a process with a large resident heap (one anonymous VMA) and two
threads, a *mapper* (``mmap`` then ``munmap`` of one page in a region of its own,
between guard pages so it never merges with the heap) and a *faulter* (first touches of
a 64-page region, unmapped and mapped again when used up: the first fault of each new
VMA has no ``anon_vma`` and, as ``vmf_anon_prepare`` does, retries under ``mmap_lock``
if it cannot take it at once), while a *monitor* reads ``smaps_rollup`` or ``smaps``
every ``interval`` seconds with one of the two smaps readers (:mod:`core.maps_reader`):

* ``mmap_lock`` (6.18): the walk of the heap holds ``mmap_lock`` for read, so the
  mapper's next ``mmap_write_lock`` waits for the rest of it -- a stall per scan
  proportional to the resident size -- and a fault that needs ``mmap_lock`` queues
  behind the mapper (rwsem FIFO).
* ``per_vma`` (the in-flight series): the walk holds the heap VMA's read lock only;
  the mapper and the faulter, which never touch the heap, do not wait.

Cost model: the page walk costs what it costs on this host
(:data:`lab.smaps_cost.HOST_SMAPS_COST`, per resident page), and the heap is *scaled*:
it holds ``tracked_pages`` pages the engine tracks one by one, each standing for
``page_scale`` host pages, so process-exporter's heap (``Rss: 210410600 kB``, 52.6
million pages) runs in seconds and its walk lasts what 52.6 million pages take on this
host (:mod:`lab.smaps_cost`). The workload's own costs
are :class:`lab.profiles.CostModel`'s (``syscall_s``, ``fault_page_s``).

Reported per cell (heap size, monitor file, reader): p50/p99/max of mmap, munmap and
fault latency, operations per second, scans, the modelled walk time per scan and the
*stall per scan* (the mapper's waits for ``mmap_lock`` while the monitor held it, per
scan: what the monitor cost the writer). Every cell runs ``repeat`` times, the cells
in round-robin order (:func:`run`); a row holds the percentiles over its runs'
latencies pooled and each run's p99. Targets: under ``mmap_lock`` the stall per scan
grows with the resident size (largest/smallest stall within 2x of the size ratio)
and, scaled to process-exporter's resident size, lands within 2x of its 4.456 s;
under ``per_vma`` the mapper's p99 over the pooled runs stays within 1.5x of the
no-monitor cell's.
"""

from __future__ import annotations

import bisect
import statistics
import threading
import time
from array import array
from typing import Any

from core.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_POPULATE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from core.errors import InvalidArgument
from core.kernel import Kernel
from core.maps_reader import SMAPS_READERS, SmapsFile, SmapsReader, read_smaps_rollup
from core.process import Process

from .common import ExperimentResult, RunContext, Target, Worker, run_threads, summarize
from .smaps_cost import (
    HOST_SMAPS_COST,
    PROCESS_EXPORTER_BYTES,
    PROCESS_EXPORTER_RSS_KB,
    PROCESS_EXPORTER_S,
    SmapsCost,
    SmapsLocking,
    apply_smaps_cost,
)

NAME = "monitor-vs-workload"
TITLE = "a workload's mmap/munmap and fault latency under a smaps monitor"
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
GIB = 1 << 30
MAPPER_PAGES = 64
FAULT_PAGES = 64
#: Represented heap sizes (bytes): 2 GiB is what the kernel side-by-side holds on this
#: host (lab/smaps_oracle.c); the largest is process-exporter's process (its ``Rss``).
QUICK_SIZES = (2 * GIB, PROCESS_EXPORTER_BYTES)
FULL_SIZES = (2 * GIB, 16 * GIB, 64 * GIB, PROCESS_EXPORTER_BYTES)
QUICK_FILES = ("smaps_rollup",)
FULL_FILES = ("smaps_rollup", "smaps")


def _setup(tracked_pages: int) -> tuple[Process, int, int, int]:
    """The process: the heap (populated), the mapper's region (a hole of
    ``MAPPER_PAGES`` pages between two guard pages) and the faulter's first region.
    Returns the process, the heap's address, the mapper region's base and the faulter
    region's address.

    The faulter's region is mapped *before* the mapper's hole is punched: a 64-page
    ``mmap(NULL)`` made afterwards lands in that 64-page hole (top-down search,
    ``unmapped_area_topdown``, takes the highest gap that fits), and the mapper's
    ``MAP_FIXED`` pages would then replace the faulter's pages, split its VMA (the
    mapper waiting in ``vma_start_write`` for the faulter's fault and for a walk of
    the faulter's VMA) and leave holes the faulter's next faults hit with SIGSEGV."""
    proc = Kernel().spawn("workload")
    mm = proc.mm
    heap = mm.mmap(0, tracked_pages * PAGE_SIZE, RW, ANON | MAP_POPULATE)
    guard = mm.mmap(0, (MAPPER_PAGES + 2) * PAGE_SIZE, PROT_NONE, ANON)
    faults = mm.mmap(0, FAULT_PAGES * PAGE_SIZE, RW, ANON)
    base = guard + PAGE_SIZE
    mm.munmap(base, MAPPER_PAGES * PAGE_SIZE)
    return proc, heap, base, faults


def _label(size: int, file: str, reader: str | None) -> str:
    return f"{_size_name(size)} {file if reader else 'none'} {reader or ''}".strip()


def _size_name(size: int) -> str:
    return f"{size // GIB} GiB" if size % GIB == 0 else f"{size / GIB:.1f} GiB"


def run_cell(
    ctx: RunContext,
    size: int,
    tracked_pages: int,
    file: str,
    reader: SmapsReader | None,
    interval_s: float,
    seconds: float,
    smaps_cost: SmapsCost = HOST_SMAPS_COST,
    rep: int = 0,
) -> dict[str, Any]:
    """One configuration on a fresh process: ``reader`` None runs no monitor; ``rep``
    is the repetition (seeds the profile's RNG)."""
    page_scale = size / PAGE_SIZE / tracked_pages
    proc, heap, base, fault_region = _setup(tracked_pages)
    mm = proc.mm
    seed: object = ctx.seed if not rep else (ctx.seed, rep)
    locking: SmapsLocking = apply_smaps_cost(
        proc, ctx.cost, smaps_cost, page_scale, seed, scaled_start=heap
    )
    stop = threading.Event()
    mapper_ops: list[tuple[float, float, float]] = []  # (start, mmap s, munmap s)
    writes: list[tuple[float, float]] = []  # every mapper syscall: (start, latency)
    faults: list[float] = []
    scans: list[tuple[float, float, int]] = []  # (start, end, host pages walked)
    t_start = time.perf_counter()

    def mapper() -> None:
        i = 0
        while not stop.is_set():
            addr = base + (i % MAPPER_PAGES) * PAGE_SIZE
            i += 1
            t0 = time.perf_counter()
            mm.mmap(addr, PAGE_SIZE, RW, ANON | MAP_FIXED)
            t1 = time.perf_counter()
            mm.munmap(addr, PAGE_SIZE)
            t2 = time.perf_counter()
            mapper_ops.append((t0 - t_start, t1 - t0, t2 - t1))
            writes.append((t0 - t_start, t1 - t0))
            writes.append((t1 - t_start, t2 - t1))

    def faulter() -> None:
        n = 0
        while not stop.is_set():
            if n == FAULT_PAGES:  # used up: a fresh VMA (no anon_vma yet)
                mm.munmap(fault_region, FAULT_PAGES * PAGE_SIZE)
                # At the same address (a hint: the range was just freed), never in the
                # mapper's hole, which a 64-page mmap(NULL) could take (see _setup).
                again = mm.mmap(fault_region, FAULT_PAGES * PAGE_SIZE, RW, ANON)
                if again != fault_region:
                    raise RuntimeError(f"faulter's region moved to {again:#x}")
                n = 0
            t0 = time.perf_counter()
            done = mm.fault(fault_region + n * PAGE_SIZE, "write")
            faults.append(time.perf_counter() - t0)
            if done.outcome != "ok":  # the workload's own layout is broken
                raise RuntimeError(f"faulter's fault failed: {done}")
            n += 1

    def monitor() -> None:
        assert reader is not None
        while not stop.is_set():
            t0 = time.perf_counter()
            walked = len(locking.walks)
            if file == "smaps_rollup":
                read_smaps_rollup(mm, reader)
                chunks, blocks = 1, 0
            else:
                chunks = blocks = 0
                for chunk in SmapsFile(mm, reader):
                    chunks += 1
                    blocks += len(chunk.blocks)
            # Outside the lock (after m_stop): the read() calls' own cost and, for
            # smaps, formatting the blocks (charged here: it is small next to the walk).
            time.sleep(smaps_cost.chunk_s * chunks + smaps_cost.block_s * blocks)
            pages = sum(p for p, _ in locking.walks[walked:])
            scans.append((t0 - t_start, time.perf_counter() - t_start, pages))
            if stop.wait(interval_s):
                return

    workers = [Worker("mapper", mapper), Worker("faulter", faulter)]
    if reader is not None:
        workers.append(Worker("monitor", monitor))
    run_threads(workers, stop, seconds)
    mm._check()
    row = _row(
        size, tracked_pages, file, reader, seconds, mapper_ops, writes, faults, scans, smaps_cost
    )
    # The mapper's waits for mmap_lock while the monitor held it (the profile records
    # every contended wait with the lock's holders of the moment): what the monitor
    # cost the writer, free of the host's own delays of the other operations.
    caused = [
        st.wait_s
        for st in locking.stalls
        if st.thread == "mapper"
        and st.lock == "mmap_lock"
        and any(name == "monitor" for name, _ in st.holders)
    ]
    row["stall_per_scan_ms"] = round(sum(caused) / len(scans) * 1e3, 3) if scans else 0.0
    stats = locking.statistics()
    row["faults_retried"] = stats.faults_retried
    # The mapper's waits in vma_start_write: for a reader of its own one-page VMA, the
    # per-VMA monitor (nothing else reads it: no fault touches it).
    vma_waits = [
        st.wait_s for st in locking.stalls if st.thread == "mapper" and st.lock == "vma_start_write"
    ]
    row["vma_write_waits"] = len(vma_waits)
    row["vma_write_wait_ms"] = round(sum(vma_waits) * 1e3, 3)
    # Every latency, for the p50 and p99 over the pooled samples of a cell's runs.
    row["_samples"] = {
        "mmap": array("d", (m for _, m, _ in mapper_ops)),
        "munmap": array("d", (u for _, _, u in mapper_ops)),
        "fault": array("d", faults),
    }
    row["_diag"] = {
        "mapper_longest_waits": locking.worst_stalls("mapper", 3),
        "faulter_longest_waits": locking.worst_stalls("faulter", 3),
        "mapper_waits_over_5ms": locking.stall_summary("mapper", 5e-3),
        "mapper_waits": locking.stall_summary("mapper", 0.0),
        "scans": [[round(a, 4), round(b, 4), p] for a, b, p in scans],
    }
    return row


def _row(
    size: int,
    tracked: int,
    file: str,
    reader: str | None,
    seconds: float,
    mapper_ops: list[tuple[float, float, float]],
    writes: list[tuple[float, float]],
    faults: list[float],
    scans: list[tuple[float, float, int]],
    smaps_cost: SmapsCost,
) -> dict[str, Any]:
    mmaps = [m for _, m, _ in mapper_ops]
    munmaps = [u for _, _, u in mapper_ops]
    starts = [s for s, _ in writes]
    per_scan = []
    for s0, s1, _ in scans:  # the longest mapper syscall that started during the scan
        lo, hi = bisect.bisect_left(starts, s0), bisect.bisect_right(starts, s1)
        if lo < hi:
            per_scan.append(max(lat for _, lat in writes[lo:hi]))
    walked = [p for _, _, p in scans]
    row: dict[str, Any] = {
        "heap": _size_name(size),
        "heap_bytes": size,
        "tracked_pages": tracked,
        "file": file if reader else "none",
        "reader": reader or "none",
    }
    for name, values in (("mmap", mmaps), ("munmap", munmaps), ("fault", faults)):
        stats = summarize(values)
        row[f"{name}_p50_ms"] = stats["p50_ms"]
        row[f"{name}_p99_ms"] = stats["p99_ms"]
        row[f"{name}_max_ms"] = stats["max_ms"]
    row["mapper_ops_per_s"] = round(len(mapper_ops) / seconds, 1)
    row["faults_per_s"] = round(len(faults) / seconds, 1)
    row["scans"] = len(scans)
    row["pages_per_scan"] = max(walked, default=0)
    row["modelled_walk_ms"] = round(smaps_cost.walk_s(max(walked, default=0)) * 1e3, 3)
    row["stall_per_scan_ms"] = round(sum(per_scan) / len(per_scan) * 1e3, 3) if per_scan else 0.0
    return row


#: Repetitions of every cell: one in a quick run, twenty (of 4 s) in a full one: short
#: runs, many rounds, so that each cell's pooled samples span the host's busy and quiet
#: spells alike (they last seconds to tens of seconds). Ten left the per-VMA verdict to
#: the host's noise (docs/experiments.md, "The verdict and the host's noise"): a full
#: run's default is the one that answers the experiment's question.
QUICK_REPEAT, FULL_REPEAT, MAX_REPEAT = 1, 20, 50
#: The latencies whose per-run p99 is kept (the verdict's), and the ops of the verdict.
_OPS = ("mmap", "munmap", "fault")
_VERDICT_OPS = ("mmap", "munmap")


def check_repeat(repeat: object) -> int:
    """``repeat`` if it is a number of repetitions in [1, MAX_REPEAT]; InvalidArgument
    otherwise."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise InvalidArgument(f"repeat {repeat!r} is not an integer in [1, {MAX_REPEAT}]")
    return repeat


def run(
    ctx: RunContext,
    sizes: tuple[int, ...] | None = None,
    files: tuple[str, ...] | None = None,
    readers: tuple[SmapsReader, ...] = SMAPS_READERS,
    tracked_pages: int | None = None,
    interval_s: float | None = None,
    smaps_cost: SmapsCost = HOST_SMAPS_COST,
    repeat: int | None = None,
) -> ExperimentResult:
    """Every (size, file, reader) cell, plus one cell without a monitor per size, with
    the page walk charged at ``smaps_cost``, each run ``repeat`` times.

    The repetitions are interleaved: round ``k`` runs every cell once, in the same
    order (a size's no-monitor cell first, then its monitor cells), so a no-monitor
    cell and the monitor cells it is compared with run seconds apart, on the same
    host, in every round; a burst of other work on the host lands in one round of
    every cell it meets rather than in every run of one cell. Each row's p50 and p99
    are over the runs' latencies pooled (a run's p99 on this host is bimodal, about
    1 ms or about 4 ms as the host is quiet or busy during it, so a median of a
    few runs flips with the count of busy ones), with each run's p99
    (``<op>_p99_runs_ms``) for the spread (:func:`merge_runs`); the diagnostics keep
    each run's figures."""
    sizes = sizes or (QUICK_SIZES if ctx.quick else FULL_SIZES)
    files = files or (QUICK_FILES if ctx.quick else FULL_FILES)
    tracked = tracked_pages or (1024 if ctx.quick else 2048)
    interval = interval_s if interval_s is not None else (0.5 if ctx.quick else 1.0)
    if repeat is None:
        repeat = QUICK_REPEAT if ctx.quick else FULL_REPEAT
    reps = check_repeat(repeat)
    seconds = ctx.duration(3.0, 4.0)
    cells: list[tuple[int, str, SmapsReader | None]] = []
    for size in sizes:
        cells.append((size, files[0], None))
        cells += [(size, f, r) for f in files for r in readers]
    ctx.start(len(cells) * reps)
    result = ExperimentResult(
        NAME,
        TITLE,
        ctx.seed,
        ctx.quick,
        ctx.cost.as_dict(),
        {
            "sizes": [_size_name(s) for s in sizes],
            "files": list(files),
            "readers": list(readers),
            "tracked_pages": tracked,
            "interval_s": interval,
            "run_s": seconds,
            "repeat": reps,
            "order": "round-robin: every cell once per round",
            "smaps_cost": smaps_cost.as_dict(),
        },
        {},
    )
    runs: dict[str, list[dict[str, Any]]] = {_label(*c): [] for c in cells}
    for k in range(reps):
        for size, file, reader in cells:
            row = run_cell(ctx, size, tracked, file, reader, interval, seconds, smaps_cost, k)
            label = _label(size, file, reader)
            runs[label].append(row)
            ctx.cell_done(f"{label} ({k + 1}/{reps})" if reps > 1 else label)
    for label, rows in runs.items():
        diags = [r.pop("_diag") for r in rows]
        samples = [r.pop("_samples") for r in rows]
        pooled = {op: [x for run in samples for x in run[op]] for op in _OPS}
        result.rows.append(merge_runs(rows, pooled))
        result.diagnostics[label] = {
            "mapper_longest_waits": _longest(diags, "mapper_longest_waits"),
            "faulter_longest_waits": _longest(diags, "faulter_longest_waits"),
            "runs": [{"row": r, **d} for r, d in zip(rows, diags, strict=True)],
        }
    result.targets = targets(result.rows)
    return result


def _longest(diags: list[dict[str, Any]], key: str, n: int = 3) -> list[dict[str, Any]]:
    """The ``n`` longest waits of every run's ``key`` list, each marked with its run."""
    waits = [{**w, "run": k} for k, d in enumerate(diags) for w in d[key]]
    return sorted(waits, key=lambda w: -w["wait_ms"])[:n]


def merge_runs(rows: list[dict[str, Any]], pooled: dict[str, list[float]]) -> dict[str, Any]:
    """One row from the runs of one cell. p50 and p99 are over ``pooled``, every run's
    latencies (seconds) of each op together; each run's own p99 is kept
    (``<op>_p99_runs_ms``, in run order) for the spread, and their median
    (``<op>_p99_median_ms``). Maxima the largest; throughputs the median; scans and
    ``vma_start_write`` waits summed, the stall per scan over all scans. O(samples log
    samples)."""
    first = rows[0]
    out = {k: first[k] for k in ("heap", "heap_bytes", "tracked_pages", "file", "reader")}
    out["runs"] = len(rows)
    for op in _OPS:
        stats = summarize(pooled[op])
        out[f"{op}_p50_ms"] = stats["p50_ms"]
        out[f"{op}_p99_ms"] = stats["p99_ms"]
        out[f"{op}_max_ms"] = max(r[f"{op}_max_ms"] for r in rows)
    for op in _OPS:
        out[f"{op}_p99_runs_ms"] = [r[f"{op}_p99_ms"] for r in rows]
        out[f"{op}_p99_median_ms"] = _median(r[f"{op}_p99_ms"] for r in rows)
    for key in ("mapper_ops_per_s", "faults_per_s", "faults_retried"):
        out[key] = _median(r[key] for r in rows)
    scans = sum(r["scans"] for r in rows)
    out["scans"] = scans
    out["pages_per_scan"] = max(r["pages_per_scan"] for r in rows)
    out["modelled_walk_ms"] = max(r["modelled_walk_ms"] for r in rows)
    stall = sum(r["stall_per_scan_ms"] * r["scans"] for r in rows)
    out["stall_per_scan_ms"] = round(stall / scans, 3) if scans else 0.0
    out["vma_write_waits"] = sum(r["vma_write_waits"] for r in rows)
    out["vma_write_wait_ms"] = round(sum(r["vma_write_wait_ms"] for r in rows), 3)
    return out


def _median(values: Any) -> float:
    return round(float(statistics.median(values)), 4)


def targets(rows: list[dict[str, Any]]) -> list[Target]:
    """The issue's targets from the rows present (see the module docstring)."""
    out: list[Target] = []
    for file in dict.fromkeys(r["file"] for r in rows if r["reader"] != "none"):
        lock = sorted(
            (r for r in rows if r["reader"] == "mmap_lock" and r["file"] == file and r["scans"]),
            key=lambda r: r["heap_bytes"],
        )
        if len(lock) >= 2 and lock[0]["stall_per_scan_ms"] > 0:
            small, big = lock[0], lock[-1]
            ratio = big["stall_per_scan_ms"] / small["stall_per_scan_ms"]
            size_ratio = big["heap_bytes"] / small["heap_bytes"]
            out.append(
                Target(
                    f"{file} mmap_lock: stall per scan {big['heap']} / {small['heap']} "
                    f"(size ratio {size_ratio:.1f})",
                    round(ratio, 2),
                    f"within 2x of {size_ratio:.1f}",
                    size_ratio / 2 <= ratio <= size_ratio * 2,
                )
            )
        if lock and file == "smaps_rollup":
            big = lock[-1]
            at_pe = big["stall_per_scan_ms"] / 1e3 * PROCESS_EXPORTER_BYTES / big["heap_bytes"]
            ratio = at_pe / PROCESS_EXPORTER_S
            out.append(
                Target(
                    f"{file} mmap_lock: stall per scan scaled to process-exporter's Rss "
                    f"{PROCESS_EXPORTER_RSS_KB} kB / its {PROCESS_EXPORTER_S} s "
                    f"(s = {at_pe:.3f})",
                    round(ratio, 3),
                    "within 2x (0.5 to 2)",
                    0.5 <= ratio <= 2,
                )
            )
        for r in rows:
            if r["reader"] != "per_vma" or r["file"] != file:
                continue
            base = next(
                (b for b in rows if b["reader"] == "none" and b["heap_bytes"] == r["heap_bytes"]),
                None,
            )
            if base is None:
                continue
            for op in _VERDICT_OPS:
                ratio = r[f"{op}_p99_ms"] / max(base[f"{op}_p99_ms"], 1e-6)
                out.append(
                    Target(
                        f"{file} per_vma {r['heap']}: {op} p99 / no monitor"
                        + _spread(r.get(f"{op}_p99_runs_ms"), base.get(f"{op}_p99_runs_ms")),
                        round(ratio, 2),
                        "<= 1.5",
                        ratio <= 1.5,
                    )
                )
    return out


def _spread(runs: list[float] | None, base: list[float] | None) -> str:
    """`` (N runs pooled; by round lo to hi)``: the range of the ratios of the runs
    paired by round (run ``k`` of the cell against run ``k`` of the no-monitor cell,
    seconds apart); empty for a single run."""
    if not runs or not base or len(runs) < 2 or len(runs) != len(base):
        return ""
    ratios = [a / max(b, 1e-6) for a, b in zip(runs, base, strict=True)]
    return f" ({len(runs)} runs pooled; by round {min(ratios):.2f} to {max(ratios):.2f})"


def plot(result: ExperimentResult, ax: Any) -> None:
    """Stall per scan by heap size, one line per (file, reader), log-log; the modelled
    walk time as a dotted line; the no-monitor mmap maximum; and the verdict's figures,
    the mmap p99 of the no-monitor and per-VMA cells, bars spanning the runs' own p99."""
    rows = result.rows
    for file in dict.fromkeys(r["file"] for r in rows if r["reader"] != "none"):
        for reader in dict.fromkeys(r["reader"] for r in rows if r["reader"] != "none"):
            pts = [r for r in rows if r["file"] == file and r["reader"] == reader and r["scans"]]
            if not pts:
                continue
            xs = [r["heap_bytes"] / GIB for r in pts]
            (line,) = ax.plot(
                xs, [max(r["stall_per_scan_ms"], 1e-3) for r in pts], marker="o",
                label=f"{file} {reader}: stall per scan",
            )  # fmt: skip
            if reader == "mmap_lock":
                ax.plot(
                    xs, [r["modelled_walk_ms"] for r in pts], linestyle=":",
                    color=line.get_color(), label=f"{file}: modelled walk",
                )  # fmt: skip
    base = [r for r in rows if r["reader"] == "none"]
    if base:
        ax.plot(
            [r["heap_bytes"] / GIB for r in base], [r["mmap_max_ms"] for r in base],
            marker="x", linestyle="--", label="no monitor: mmap max",
        )  # fmt: skip
    # The verdict's figures: mmap p99 over the pooled runs, bars spanning the runs' own.
    for file, reader in [("none", "none")] + [(f, "per_vma") for f in dict.fromkeys(
        r["file"] for r in rows if r["reader"] == "per_vma"
    )]:  # fmt: skip
        pts = [r for r in rows if r["file"] == file and r["reader"] == reader]
        if not pts or "mmap_p99_runs_ms" not in pts[0]:
            continue
        p99 = [r["mmap_p99_ms"] for r in pts]
        low = [max(r["mmap_p99_ms"] - min(r["mmap_p99_runs_ms"]), 0) for r in pts]
        high = [max(max(r["mmap_p99_runs_ms"]) - r["mmap_p99_ms"], 0) for r in pts]
        ax.errorbar(
            [r["heap_bytes"] / GIB for r in pts], p99, yerr=[low, high],
            marker="s", markersize=3, linestyle="-.", capsize=3, linewidth=0.8,
            label=f"{'no monitor' if reader == 'none' else file + ' per_vma'}: mmap p99",
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("resident heap (GiB, modelled)")
    ax.set_ylabel("ms")
    ax.legend(fontsize="small")


def run_scattered(ctx: RunContext, repeat: int | None = None) -> ExperimentResult:
    """The cells of process-exporter's size (no monitor, both files, both readers) with
    the page walk charged at :data:`lab.smaps_cost.HOST_SMAPS_COST_SCATTERED`: the heap
    whose frames are scattered (``python -m lab monitor-vs-workload --scattered``)."""
    from .smaps_cost import HOST_SMAPS_COST_SCATTERED

    return run(
        ctx, sizes=(PROCESS_EXPORTER_BYTES,), smaps_cost=HOST_SMAPS_COST_SCATTERED, repeat=repeat
    )
