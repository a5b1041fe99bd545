"""Benchmark: the simulator against the real kernel, and against itself at two sizes.

Run from the repository root::

    .venv/bin/python bench/bench_maps.py            # the full run (a few minutes)
    .venv/bin/python bench/bench_maps.py --quick    # smoke test, well under 30 s
    .venv/bin/python bench/bench_maps.py --json     # also write bench/results/bench_maps.json

(a) ``/proc/<pid>/maps`` with N VMAs (N = ``vm.max_map_count``, 65,530 by default).
The C helper ``bench/maps_layout.c`` (built here with ``cc -O2``) gives itself N VMAs —
a far-away arena of one-page anonymous VMAs alternating ``rw-p``/``r--p`` — dumps its
maps text once, then times full reads of ``/proc/self/maps`` (open, read with a 1 MiB
buffer until EOF, close). The simulator loads that exact text with
``Kernel().spawn_from_maps`` and renders it with ``mm.maps()``: the first render of a
freshly built process (nothing cached) and repeated renders (every VMA's line prefix
cached). The kernel is measured in two passes, before and after the simulator's
renders, and the samples are pooled. The simulator's text is compared with the kernel's
byte for byte, and the arena is also rebuilt with the helper's own syscalls
(``mmap(MAP_FIXED_NOREPLACE)`` + the same ``mprotect`` calls) to check that this path
yields the same lines.

(b) Per-operation cost in the simulator at 100 VMAs and at N VMAs (the same layout,
the arena cut short for 100): lookups at random mapped addresses, and ``mprotect``,
``munmap`` and ``mmap`` calls that each leave the layout as it found it. Both sizes are
measured in alternating rounds within one run.

Every figure is a median and a minimum over many samples of ``time.perf_counter_ns``
(kernel: ``clock_gettime(CLOCK_MONOTONIC)``), after warm-up. The cyclic GC stays enabled
unless ``--no-gc`` (the service runs with it); ``gc.collect()`` and ``rcu.barrier()``
run untimed between rounds. Ratios divide medians (and, in brackets, minima).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import (  # noqa: E402
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    Process,
)
from core.layout import TYPICAL_MAPS  # noqa: E402

HELPER_SOURCE = Path(__file__).with_name("maps_layout.c")
DEFAULT_JSON = ROOT / "bench" / "results" / "bench_maps.json"
ARENA_BASE = 0x100000000000  # must match ARENA_BASE in maps_layout.c
ARENA_LIMIT = ARENA_BASE + (1 << 40)  # nothing else is mapped this low above it
GATE_PREFIX = "ffffffffff600000-"
SMALL_N = 100
MAPS_TARGET = 1.0  # sim/kernel, full maps read
OPS_TARGET = 2.0  # N VMAs / 100 VMAs, per operation
P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

clock = time.perf_counter_ns


@dataclass(frozen=True)
class Config:
    """Repetitions; ``--quick`` shrinks every count (never N)."""

    kernel_reps: int  # timed kernel reads, split over two passes
    kernel_warmup: int  # untimed reads per pass
    cold_renders: int  # freshly built processes, one first render each
    warm_renders: int  # repeated renders of one process
    lookup_batches: int  # per size and per lookup function
    lookup_batch: int  # lookups per timed batch
    op_iters: int  # per size; each iteration times every operation once
    op_warmup: int  # untimed iterations per size
    rounds: int  # small/large alternations the op and lookup samples are spread over


FULL = Config(200, 10, 5, 60, 300, 1000, 4000, 200, 8)
QUICK = Config(30, 3, 1, 10, 40, 1000, 300, 30, 2)


@dataclass
class Stats:
    """Samples of one quantity, in nanoseconds."""

    samples_ns: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples_ns)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ns)

    @property
    def min(self) -> float:
        return min(self.samples_ns)

    def as_json(self, unit: float) -> dict[str, float]:
        return {"n": self.n, "median": self.median / unit, "min": self.min / unit}


def ratio(a: Stats, b: Stats) -> tuple[float, float]:
    """(median ratio, min ratio) of ``a`` over ``b``."""
    return a.median / b.median, a.min / b.min


# -- the layout ----------------------------------------------------------------------------


def arena_plan(baseline: int, target: int) -> tuple[int, int]:
    """``(middles, edge)`` as maps_layout.c computes them: ``middles`` inner-page
    mprotects (+2 VMAs each) and ``edge`` (0 or 1) last-page mprotect (+1)."""
    extra = target - baseline - 1
    if extra < 0:
        raise SystemExit(f"target {target} is below the baseline {baseline} + 1")
    return extra // 2, extra % 2


def arena_readonly(page: int, middles: int, edge: int) -> bool:
    pages = 2 * middles + 1 + edge
    return (page % 2 == 1 and page < 2 * middles) or (bool(edge) and page == pages - 1)


def synthetic_dump(target: int) -> str:
    """The maps text the helper would produce on top of the "typical" layout (used
    only when the real kernel cannot be measured)."""
    others = [ln + "\n" for ln in TYPICAL_MAPS.splitlines() if not ln.startswith(GATE_PREFIX)]
    middles, edge = arena_plan(len(others), target)
    arena = []
    for page in range(2 * middles + 1 + edge):
        start = ARENA_BASE + page * P
        perms = "r--p" if arena_readonly(page, middles, edge) else "rw-p"
        arena.append(f"{start:08x}-{start + P:08x} {perms} 00000000 00:00 0 \n")
    return "".join(arena + others) + TYPICAL_MAPS.splitlines(True)[-1]


def line_start(line: str) -> int:
    return int(line.split("-", 1)[0], 16)


def in_arena(line: str) -> bool:
    return ARENA_BASE <= line_start(line) < ARENA_LIMIT


def split_dump(text: str) -> tuple[list[str], list[str]]:
    """(arena lines, other lines including the gate line), each with its newline."""
    arena: list[str] = []
    others: list[str] = []
    for line in text.splitlines(True):
        (arena if in_arena(line) else others).append(line)
    return arena, others


def cut_arena(text: str, n_vmas: int) -> str:
    """``text`` with the arena shortened so that the layout has ``n_vmas`` VMAs."""
    arena, others = split_dump(text)
    keep = n_vmas - sum(1 for ln in others if not ln.startswith(GATE_PREFIX))
    if keep < 5:
        raise SystemExit(f"{n_vmas} VMAs leave too small an arena ({keep} pages)")
    return "".join(sorted(arena[:keep] + others, key=line_start))


# -- the kernel side -----------------------------------------------------------------------


@dataclass
class KernelRun:
    values: dict[str, str]
    samples_ns: list[float]
    dump: str


def kernel_unavailable() -> str | None:
    if platform.system() != "Linux":
        return f"needs Linux, this is {platform.system()}"
    if platform.machine() not in ("x86_64", "amd64"):
        return f"needs x86-64, this is {platform.machine()}"
    if os.sysconf("SC_PAGE_SIZE") != 4096:
        return "needs 4 KiB pages"
    if compiler() is None:
        return "no C compiler (cc, gcc or clang)"
    return None


def compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def build_helper(outdir: Path) -> Path:
    cc = compiler()
    assert cc is not None
    exe = outdir / "maps_layout"
    cmd = [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(HELPER_SOURCE)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def no_aslr_prefix() -> list[str]:
    """``setarch -R`` when it works here: a deterministic layout (same dump each pass)."""
    if shutil.which("setarch") is None:
        return []
    probe = subprocess.run(["setarch", "-R", "true"], capture_output=True, check=False)
    return ["setarch", "-R"] if probe.returncode == 0 else []


def run_helper(
    exe: Path, workdir: Path, target: int, reps: int, warmup: int, tag: str
) -> KernelRun:
    dump_path = workdir / f"maps-{tag}.txt"
    cmd = [*no_aslr_prefix(), str(exe), str(dump_path), str(target), str(reps), str(warmup)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"maps_layout failed ({proc.returncode}): {proc.stderr.strip()}")
    values = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    samples = [float(x) for x in values.pop("samples_ns").split(",")]
    return KernelRun(values, samples, dump_path.read_text())


# -- the simulator side --------------------------------------------------------------------


def release(kernel: Kernel, proc: Process) -> None:
    """Exit ``proc`` and wait for its VMAs' RCU frees, so they cannot run while timing."""
    kernel.exit(proc.pid)
    kernel.rcu.barrier()
    gc.collect()


def settle(kernel: Kernel) -> None:
    """Untimed, between rounds: drain deferred frees and collect garbage."""
    kernel.rcu.barrier()
    gc.collect()


def timed_render(mm: Mm) -> tuple[int, str]:
    t0 = clock()
    text = mm.maps()
    return clock() - t0, text


def replay_arena(kernel: Kernel, others: str, baseline: int, target: int) -> Process:
    """Rebuild the arena with the syscalls maps_layout.c makes."""
    proc = kernel.spawn_from_maps(others, name="replay")
    mm = proc.mm
    middles, edge = arena_plan(baseline, target)
    pages = 2 * middles + 1 + edge
    mm.mmap(ARENA_BASE, pages * P, RW, ANON | MAP_FIXED_NOREPLACE)
    for i in range(middles):
        mm.mprotect(ARENA_BASE + (2 * i + 1) * P, P, PROT_READ)
    if edge:
        mm.mprotect(ARENA_BASE + (pages - 1) * P, P, PROT_READ)
    return proc


def first_difference(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a.splitlines(True), b.splitlines(True), strict=False)):
        if x != y:
            return f"line {i + 1}: simulator {x!r} vs kernel {y!r}"
    return f"lengths differ: simulator {len(a)} bytes, kernel {len(b)} bytes"


# -- per-operation benchmark ---------------------------------------------------------------

OPS = (
    "mprotect 1 page, merge 3->1",
    "mprotect 1 page, split 1->3",
    "munmap 1 page mid-VMA (split)",
    "mmap MAP_FIXED 1 page into hole",
    "munmap whole 1-page VMA",
    "mmap 1 page, no hint",
)
LOOKUPS = ("mm.vma_lookup", "mm.tree.walk")


@dataclass
class Subject:
    """One simulated process of the op benchmark."""

    label: str
    kernel: Kernel
    proc: Process
    arena_pages: int
    ops: dict[str, Stats] = field(default_factory=lambda: {op: Stats() for op in OPS})
    lookups: dict[str, Stats] = field(default_factory=lambda: {f: Stats() for f in LOOKUPS})


def arena_size(mm: Mm) -> int:
    return sum(1 for vma in mm.vmas() if ARENA_BASE <= vma.vm_start < ARENA_LIMIT)


def expect(mm: Mm, count: int, what: str) -> None:
    if mm.map_count != count:
        raise SystemExit(f"{what}: map_count {mm.map_count}, expected {count}")


def op_iterations(subject: Subject, rng: random.Random, iters: int, record: bool) -> None:
    """``iters`` iterations; each picks a read-write arena page p (its neighbours are
    read-only one-page VMAs) and times every operation of :data:`OPS` once, restoring
    the layout before the next iteration."""
    mm = subject.proc.mm
    n = mm.map_count
    stats = [subject.ops[op] for op in OPS]
    samples = [0] * len(OPS)
    pairs = (subject.arena_pages - 3) // 2  # even pages 2 .. arena_pages - 3
    for _ in range(iters):
        a = ARENA_BASE + 2 * rng.randrange(1, pairs + 1) * P
        t0 = clock()
        mm.mprotect(a, P, PROT_READ)  # p-1, p, p+1 all r--: merge into one VMA
        t1 = clock()
        samples[0] = t1 - t0
        expect(mm, n - 2, "mprotect merge")
        t0 = clock()
        mm.mprotect(a, P, RW)  # split back into three
        t1 = clock()
        samples[1] = t1 - t0
        expect(mm, n, "mprotect split")
        mm.mprotect(a, P, PROT_READ)
        t0 = clock()
        mm.munmap(a, P)  # the middle page of the 3-page VMA: two VMAs remain
        t1 = clock()
        samples[2] = t1 - t0
        expect(mm, n - 1, "munmap split")
        t0 = clock()
        mm.mmap(a, P, RW, ANON | MAP_FIXED)  # fills the hole; neighbours are r--
        t1 = clock()
        samples[3] = t1 - t0
        expect(mm, n, "mmap fixed")
        t0 = clock()
        mm.munmap(a, P)
        t1 = clock()
        samples[4] = t1 - t0
        expect(mm, n - 1, "munmap whole")
        mm.mmap(a, P, RW, ANON | MAP_FIXED)
        t0 = clock()
        b = mm.mmap(0, P, PROT_READ, ANON)
        t1 = clock()
        samples[5] = t1 - t0
        mm.munmap(b, P)
        expect(mm, n, "mmap no hint")
        if record:
            for s, v in zip(stats, samples, strict=True):
                s.samples_ns.append(v)


def lookup_addresses(mm: Mm, rng: random.Random, count: int) -> list[int]:
    """``count`` random addresses inside mapped VMAs (a uniformly chosen VMA, a
    uniformly chosen page in it)."""
    vmas = [(v.vm_start, v.vm_end) for v in mm.vmas()]
    out = []
    for _ in range(count):
        start, end = vmas[rng.randrange(len(vmas))]
        out.append(start + rng.randrange((end - start) // P) * P + rng.randrange(P))
    return out


def lookup_batches(subject: Subject, addrs: list[int], batches: int, record: bool) -> None:
    mm = subject.proc.mm
    funcs: dict[str, Callable[[int], object]] = {
        "mm.vma_lookup": mm.vma_lookup,
        "mm.tree.walk": mm.tree.walk,
    }
    for name, func in funcs.items():
        if any(func(a) is None for a in addrs[:100]):
            raise SystemExit(f"{name} missed a mapped address")
        stats = subject.lookups[name]
        for _ in range(batches):
            t0 = clock()
            for a in addrs:
                func(a)
            t1 = clock()
            if record:
                stats.samples_ns.append((t1 - t0) / len(addrs))


def bench_ops(subjects: list[Subject], cfg: Config, seed: int) -> None:
    """Warm up, then alternate the subjects over ``cfg.rounds`` rounds."""
    rngs = [random.Random(seed + i) for i in range(len(subjects))]
    addrs = [
        lookup_addresses(s.proc.mm, r, cfg.lookup_batch)
        for s, r in zip(subjects, rngs, strict=True)
    ]
    before = [s.proc.mm.maps() for s in subjects]
    for s, r, a in zip(subjects, rngs, addrs, strict=True):
        op_iterations(s, r, cfg.op_warmup, record=False)
        lookup_batches(s, a, max(1, cfg.lookup_batches // 10), record=False)
    for rnd in range(cfg.rounds):
        for s, r, a in zip(subjects, rngs, addrs, strict=True):
            settle(s.kernel)
            share = cfg.lookup_batches // cfg.rounds + (rnd < cfg.lookup_batches % cfg.rounds)
            lookup_batches(s, a, share, record=True)
            settle(s.kernel)
            share = cfg.op_iters // cfg.rounds + (rnd < cfg.op_iters % cfg.rounds)
            op_iterations(s, r, share, record=True)
    for s, text in zip(subjects, before, strict=True):
        if s.proc.mm.maps() != text:
            raise SystemExit(f"{s.label}: the layout changed during the op benchmark")


# -- report --------------------------------------------------------------------------------


def fmt_ms(ns: float) -> str:
    return f"{ns / 1e6:9.2f}"


def fmt_us(ns: float) -> str:
    return f"{ns / 1e3:8.2f}"


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "NOT met"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    parser.add_argument(
        "--json",
        nargs="?",
        const=str(DEFAULT_JSON),
        metavar="PATH",
        help=f"also write the results as JSON (default {DEFAULT_JSON.relative_to(ROOT)})",
    )
    parser.add_argument("--n", type=int, default=0, help="VMAs (default vm.max_map_count)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (addresses, pages)")
    parser.add_argument("--no-kernel", action="store_true", help="skip the real kernel")
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic GC")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    started = time.monotonic()
    if args.no_gc:
        gc.disable()
    out: dict[str, Any] = {"machine": machine(), "quick": args.quick, "gc": not args.no_gc}
    try:
        sysctl = int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        sysctl = 65530
    target = args.n or sysctl
    reason = "--no-kernel given" if args.no_kernel else kernel_unavailable()
    m = out["machine"]
    print(
        f"bench_maps: {m['cpus']} CPUs ({m['cpu_model'] or '?'}), {m['system']}, "
        f"Python {m['python']}, GC {'on' if not args.no_gc else 'off'}"
        f"{', --quick' if args.quick else ''}"
    )
    print(f"config: {cfg}")

    with tempfile.TemporaryDirectory(prefix="bench_maps.") as tmp:
        workdir = Path(tmp)
        runs: list[KernelRun] = []
        exe: Path | None = None
        if reason is None:
            exe = build_helper(workdir)
            half = cfg.kernel_reps // 2
            runs.append(run_helper(exe, workdir, target, half, cfg.kernel_warmup, "A"))
            dump = runs[0].dump
            n_vmas = int(runs[0].values["map_count"])
        else:
            print(f"real kernel not measured: {reason}; synthetic layout")
            dump = synthetic_dump(target)
            n_vmas = target
        arena, others = split_dump(dump)
        baseline = sum(1 for ln in others if not ln.startswith(GATE_PREFIX))
        kernel = Kernel(max_map_count=max(sysctl, n_vmas))
        print(
            f"\nN = {n_vmas:,} VMAs (vm.max_map_count {sysctl:,}): {baseline} of the "
            f"helper's own + {len(arena):,} one-page arena VMAs at {ARENA_BASE:#x}, "
            f"rw-p/r--p alternating; maps text {len(dump.encode()):,} bytes, "
            f"{dump.count(chr(10)):,} lines"
        )

        # (a) maps: cold renders of fresh processes, then repeated renders of the first.
        cold, warm = Stats(), Stats()
        loads: list[float] = []
        main_proc: Process | None = None
        sim_text = ""
        for i in range(cfg.cold_renders):
            settle(kernel)
            t0 = clock()
            proc = kernel.spawn_from_maps(dump, name=f"maps{i}")
            loads.append(clock() - t0)
            settle(kernel)
            elapsed, text = timed_render(proc.mm)
            cold.samples_ns.append(elapsed)
            if main_proc is None:
                main_proc, sim_text = proc, text
            else:
                release(kernel, proc)
        assert main_proc is not None
        settle(kernel)
        for _ in range(3):
            main_proc.mm.maps()  # warm-up
        for i in range(cfg.warm_renders):
            if i % 10 == 0:
                settle(kernel)
            elapsed, _ = timed_render(main_proc.mm)
            warm.samples_ns.append(elapsed)
        if exe is not None:
            rest = cfg.kernel_reps - cfg.kernel_reps // 2
            runs.append(run_helper(exe, workdir, target, rest, cfg.kernel_warmup, "B"))

        full_match = sim_text == dump
        sim_arena, _ = split_dump(sim_text)
        arena_match = sim_arena == arena
        replay = replay_arena(kernel, "".join(others), baseline, n_vmas)
        replay_text = replay.mm.maps()
        replay_arena_lines, _ = split_dump(replay_text)
        replay_arena_match = replay_arena_lines == arena
        replay_full_match = replay_text == dump
        release(kernel, replay)

        print("\n(a) full read of /proc/<pid>/maps")
        print(f"  {'':34} {'n':>5} {'median ms':>9} {'min ms':>9}")
        kernel_stats = Stats([s for r in runs for s in r.samples_ns])
        rows: list[tuple[str, Stats]] = []
        if runs:
            for r, tag in zip(runs, "AB", strict=False):
                rows.append((f"kernel read(), pass {tag}", Stats(r.samples_ns)))
            rows.append(("kernel read(), both passes", kernel_stats))
        rows += [("sim mm.maps(), first render", cold), ("sim mm.maps(), repeated", warm)]
        for label, st in rows:
            print(f"  {label:34} {st.n:5} {fmt_ms(st.median)} {fmt_ms(st.min)}")
        load_ms = statistics.median(loads) / 1e6
        print(f"  (sim spawn_from_maps load, not part of the render: median {load_ms:.0f} ms)")
        maps_json: dict[str, Any] = {
            "n_vmas": n_vmas,
            "max_map_count": sysctl,
            "bytes": len(dump.encode()),
            "lines": dump.count("\n"),
            "sim_first_render_ms": cold.as_json(1e6),
            "sim_repeated_render_ms": warm.as_json(1e6),
            "sim_load_ms_median": statistics.median(loads) / 1e6,
            "text_match": {
                "full": full_match,
                "arena": arena_match,
                "arena_lines": len(arena),
                "replay_arena": replay_arena_match,
                "replay_full": replay_full_match,
            },
        }
        if runs:
            v = runs[0].values
            print(
                f"  kernel: {v['reads_per_pass']} read() calls and {int(v['bytes']):,} bytes "
                f"per full read; map_count {v['map_count']} (baseline "
                f"{v['baseline_map_count']}); passes of {', '.join(r.values['reps'] for r in runs)}"
                f" timed reads after {v['warmup']} warm-up reads each; helper brk {v['brk']}"
            )
            same_dumps = all(r.dump == dump for r in runs)
            maps_json["kernel_read_ms"] = kernel_stats.as_json(1e6)
            maps_json["kernel_passes_ms"] = [Stats(r.samples_ns).as_json(1e6) for r in runs]
            maps_json["kernel_dumps_identical"] = same_dumps
            maps_json["kernel"] = runs[0].values
            results = {}
            for label, st in (("first render", cold), ("repeated render", warm)):
                med, mn = ratio(st, kernel_stats)
                results[label] = {"median": med, "min": mn, "met": med <= MAPS_TARGET}
                print(
                    f"  ratio sim/kernel, {label + ':':17} {med:6.2f}x  (min {mn:.2f}x)   "
                    f"target <= {MAPS_TARGET}: {verdict(med, MAPS_TARGET)}"
                )
            maps_json["ratio_sim_over_kernel"] = results
            if not same_dumps:
                print("  note: the two kernel passes dumped different maps text")
        yes = {True: "identical", False: "DIFFERENT"}
        print(
            f"  text, sim vs {'kernel' if runs else 'synthetic'} dump: whole text "
            f"{yes[full_match]}; arena lines ({len(arena):,}) {yes[arena_match]}"
        )
        if not full_match:
            print(f"    first difference: {first_difference(sim_text, dump)}")
        print(
            f"  arena rebuilt by the helper's syscalls in the sim (mmap MAP_FIXED_NOREPLACE "
            f"+ {len(arena) // 2:,} mprotect): arena lines {yes[replay_arena_match]}, "
            f"whole text {yes[replay_full_match]}"
        )
        out["maps"] = maps_json

        # (b) per-operation costs: 100 VMAs vs N VMAs, alternating rounds.
        small_proc = kernel.spawn_from_maps(cut_arena(dump, SMALL_N), name="small")
        subjects = [
            Subject(f"{SMALL_N} VMAs", kernel, small_proc, arena_size(small_proc.mm)),
            Subject(f"{n_vmas:,} VMAs", kernel, main_proc, arena_size(main_proc.mm)),
        ]
        for s in subjects:
            expect(s.proc.mm, SMALL_N if s.proc is small_proc else n_vmas, s.label)
        bench_ops(subjects, cfg, args.seed)
        small, large = subjects
        print(
            f"\n(b) per-operation cost, {SMALL_N} vs {n_vmas:,} VMAs "
            f"({cfg.op_iters} timed iterations per operation and size after "
            f"{cfg.op_warmup} warm-up; lookups: {cfg.lookup_batches} batches of "
            f"{cfg.lookup_batch} random mapped addresses, per-lookup time = batch / "
            f"{cfg.lookup_batch}; {cfg.rounds} alternating rounds)"
        )
        print(
            f"  {'operation':34} {small.label + ' med/min us':>22} "
            f"{large.label + ' med/min us':>25} {'ratio med (min)':>16}  target <= {OPS_TARGET}"
        )
        ops_json: dict[str, Any] = {"small_n": SMALL_N, "large_n": n_vmas, "per_op_us": {}}
        rows_b = [(f, small.lookups[f], large.lookups[f]) for f in LOOKUPS]
        rows_b += [(op, small.ops[op], large.ops[op]) for op in OPS]
        worst = 0.0
        for name, a, b in rows_b:
            med, mn = ratio(b, a)
            worst = max(worst, med)
            print(
                f"  {name:34} {fmt_us(a.median)} / {fmt_us(a.min):8}   "
                f"{fmt_us(b.median)} / {fmt_us(b.min):8}   {med:5.2f} ({mn:4.2f})   "
                f"{verdict(med, OPS_TARGET)}"
            )
            ops_json["per_op_us"][name] = {
                "small": a.as_json(1e3),
                "large": b.as_json(1e3),
                "ratio_median": med,
                "ratio_min": mn,
                "met": med <= OPS_TARGET,
            }
        ops_json["worst_ratio_median"] = worst
        out["ops"] = ops_json

    total_s = time.monotonic() - started
    out["total_s_s"] = total_s
    print(f"\ntotal {total_s:.1f} s")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
