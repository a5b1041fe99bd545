"""Benchmark: the simulator against the real kernel, and against itself at two sizes.

Run from the repository root::

    .venv/bin/python bench/bench_maps.py            # the full run (about a minute)
    .venv/bin/python bench/bench_maps.py --quick    # smoke test (smaller N), < 30 s
    .venv/bin/python bench/bench_maps.py --json     # also write bench/results/bench_maps.json

(a) ``/proc/<pid>/maps`` with N VMAs (N = ``vm.max_map_count``, 65,530 by default).
The C helper ``bench/maps_layout.c`` (built here with ``cc -O2``) gives itself N VMAs —
a far-away arena of one-page anonymous VMAs alternating ``rw-p``/``r--p`` — and dumps
its maps text once. It then stays alive and, on request, times full reads of its own
``/proc/self/maps`` (open, read with a 1 MiB buffer until EOF, close). The simulator
loads the dumped text with ``Kernel.spawn_from_maps`` and renders it with
``mm.maps()``: the first render of a freshly built process (its lines were seeded
from the imported text by ``load_maps``, nothing was rendered yet), repeated renders
(every leaf of the tree reuses its memo, ``core/maps_memo.py``), and renders each
after one untimed ``mprotect`` of an arena VMA in place (a leaf rebuilt: what a
monitor polling a changing process pays). The first render of the arena rebuilt by
syscalls (below), where every line is formatted during the render, is printed too, as
one untargeted sample. Kernel reads and simulator renders alternate in small blocks,
so both see the same machine load; ratios are given as ratio of medians, ratio of
minima, and the median of the per-block ratios. The simulator's text is compared
with the kernel's byte for byte, and the arena is also rebuilt in the simulator with
the helper's own syscalls (``mmap(MAP_FIXED_NOREPLACE)`` and the same ``mprotect``
calls) to check that this path yields the same lines.

(b) Per-operation cost in the simulator at 100 VMAs and at N VMAs (the same layout,
the arena cut short for 100): lookups at random mapped addresses, and ``mprotect``,
``munmap`` and ``mmap`` calls that each leave the layout as they found it. The two
sizes alternate over several rounds. With the real kernel, the same six calls are then
timed on it (``maps_layout``'s ``ops`` command: a helper at 100 VMAs and one at N, the
sizes alternating over as many rounds), and their ratio is printed beside the
simulator's: how the kernel's own cost grows with the tree for the same operations.

Timers: ``time.perf_counter_ns`` (kernel side: ``clock_gettime(CLOCK_MONOTONIC)``).
Every series is preceded by untimed warm-up. The cyclic GC stays enabled unless
``--no-gc`` (the service runs with it); ``gc.collect()`` and ``rcu.barrier()`` run
untimed between blocks so that no deferred work from one block lands in the next.
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
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import (  # noqa: E402
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_EXEC,
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
ARENA_LIMIT = ARENA_BASE + (1 << 40)  # nothing else is mapped in [base, limit)
GATE_PREFIX = "ffffffffff600000-"
SMALL_N = 100
QUICK_N = 16384
MAPS_TARGET = 1.0  # simulator / kernel, full maps read
LOOKUP_TARGET = 2.0  # N VMAs / 100 VMAs, per lookup (issues 2 and 19)
SYSCALL_TARGET = 1.5  # N VMAs / 100 VMAs, per mmap/munmap/mprotect (issue 19)
P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

clock = time.perf_counter_ns


@dataclass(frozen=True)
class Config:
    """Repetition counts. ``--quick`` uses :data:`QUICK` and N = :data:`QUICK_N`."""

    maps_rounds: int  # kernel block + simulator block, alternating
    maps_block: int  # timed reads (kernel) or renders (simulator) per block
    maps_warmup: int  # untimed reads and renders before the first block
    cold_renders: int  # freshly built processes, one first render each
    lookup_batches: int  # per size and lookup function
    lookup_batch: int  # lookups per timed batch
    op_iters: int  # per size; each iteration times every operation once
    op_warmup: int  # untimed iterations per size
    op_rounds: int  # small/large alternations the samples are spread over


FULL = Config(20, 10, 5, 5, 300, 1000, 4000, 200, 16)
QUICK = Config(4, 3, 2, 1, 40, 1000, 300, 30, 2)


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
    """(ratio of medians, ratio of minima) of ``a`` over ``b``."""
    return a.median / b.median, a.min / b.min


# -- the layout ----------------------------------------------------------------------------


def arena_plan(baseline: int, target: int) -> tuple[int, int]:
    """``(middles, edge)`` as maps_layout.c computes them: ``middles`` inner-page
    mprotects (+2 VMAs each) and ``edge`` (0 or 1) last-page mprotect (+1)."""
    extra = target - baseline - 1
    if extra < 0:
        raise SystemExit(f"target {target} is below the baseline {baseline} + 1")
    return extra // 2, extra % 2


def synthetic_dump(target: int) -> str:
    """The maps text the helper would produce on top of the "typical" layout (used
    only when the real kernel cannot be measured)."""
    lines = TYPICAL_MAPS.splitlines(True)
    others = [ln for ln in lines if not ln.startswith(GATE_PREFIX)]
    middles, edge = arena_plan(len(others), target)
    pages = 2 * middles + 1 + edge
    arena = []
    for page in range(pages):
        start = ARENA_BASE + page * P
        readonly = (page % 2 == 1 and page < 2 * middles) or (edge and page == pages - 1)
        perms = "r--p" if readonly else "rw-p"
        arena.append(f"{start:08x}-{start + P:08x} {perms} 00000000 00:00 0 \n")
    return "".join(sorted(arena + others, key=line_start)) + lines[-1]


def line_start(line: str) -> int:
    return int(line.split("-", 1)[0], 16)


def split_dump(text: str) -> tuple[list[str], list[str]]:
    """(arena lines, other lines including the gate line), each with its newline."""
    arena: list[str] = []
    others: list[str] = []
    for line in text.splitlines(True):
        (arena if ARENA_BASE <= line_start(line) < ARENA_LIMIT else others).append(line)
    return arena, others


def cut_arena(text: str, n_vmas: int) -> str:
    """``text`` with the arena shortened so that the layout has ``n_vmas`` VMAs."""
    arena, others = split_dump(text)
    keep = n_vmas - sum(1 for ln in others if not ln.startswith(GATE_PREFIX))
    if keep < 5:
        raise SystemExit(f"{n_vmas} VMAs leave too small an arena ({keep} pages)")
    return "".join(sorted(arena[:keep] + others, key=line_start))


# -- the kernel side -----------------------------------------------------------------------


def kernel_unavailable() -> str | None:
    """Why the real kernel cannot be measured here, or None."""
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


def no_aslr_prefix() -> list[str]:
    """``setarch -R`` when it works here: the same layout (and dump) on every run."""
    if shutil.which("setarch") is None:
        return []
    probe = subprocess.run(["setarch", "-R", "true"], capture_output=True, check=False)
    return ["setarch", "-R"] if probe.returncode == 0 else []


def build_helper(workdir: Path) -> Path:
    """``maps_layout`` compiled into ``workdir`` (``cc -O2``): its executable."""
    cc = compiler()
    assert cc is not None
    exe = workdir / "maps_layout"
    build = [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(HELPER_SOURCE)]
    subprocess.run(build, check=True, capture_output=True, text=True)
    return exe


class KernelHelper:
    """The running maps_layout process (``exe``, :func:`build_helper`): built layout,
    its dump in ``dump_path``, timed reads and operations on request."""

    def __init__(self, exe: Path, dump_path: Path, target: int) -> None:
        self.aslr_off = bool(no_aslr_prefix())
        cmd = [*no_aslr_prefix(), str(exe), str(dump_path), str(target)]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.values: dict[str, str] = {}
        while (line := self._line()) != "ready":
            key, _, value = line.partition(" ")
            self.values[key] = value
        self.dump = dump_path.read_text()
        self.bytes = int(self.values["bytes"])

    def _line(self) -> str:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        line = out.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise SystemExit(f"maps_layout exited ({self.proc.wait()}): {err.strip()}")
        return line.rstrip("\n")

    def read(self, n: int) -> list[float]:
        """``n`` timed full reads of the helper's /proc/self/maps, in ns."""
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(f"read {n}\n")
        stdin.flush()
        key, _, samples = self._line().partition(" ")
        bytes_line = self._line().split()
        if key != "samples" or bytes_line[1:] != [str(self.bytes)] * 2:
            raise SystemExit(f"maps_layout: unexpected reply {key!r} / {bytes_line}")
        return [float(x) for x in samples.split(",")]

    def ops(self, iters: int, seed: int) -> list[list[float]]:
        """``iters`` iterations of :data:`OPS` in the helper (its ``run_ops``, the
        kernel's side of :func:`op_iterations`): one list of ns per operation."""
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(f"ops {iters} {seed}\n")
        stdin.flush()
        out = []
        for k in range(len(OPS)):
            key, _, samples = self._line().partition(" ")
            index, _, samples = samples.partition(" ")
            if key != "op" or index != str(k):
                raise SystemExit(f"maps_layout: unexpected reply {key!r} {index!r}")
            out.append([float(x) for x in samples.split(",")])
        count = self._line().split()
        if count != ["map_count", self.values["map_count"]]:
            raise SystemExit(f"maps_layout: the ops left {count}, not {self.values['map_count']}")
        return out

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


# -- the simulator side --------------------------------------------------------------------


def settle(kernel: Kernel) -> None:
    """Untimed, between blocks: run deferred RCU frees and collect garbage."""
    kernel.rcu.barrier()
    gc.collect()


def release(kernel: Kernel, proc: Process) -> None:
    kernel.exit(proc.pid)
    settle(kernel)


def timed_render(mm: Mm) -> tuple[int, str]:
    t0 = clock()
    text = mm.maps()
    return clock() - t0, text


def changed_renders(mm: Mm, rng: random.Random, arena: int, n: int) -> list[float]:
    """``n`` renders, each timed right after an untimed ``mprotect`` of one random VMA
    of the ``arena`` one-page VMAs in place (its exec bit flipped: its neighbours still
    differ, so nothing merges and no store happens; the render must find the change
    itself). Flips each chosen VMA twice, so the layout ends as it began."""

    def flip(addr: int) -> None:
        vma = mm.vma_lookup(addr)
        assert vma is not None
        mm.mprotect(addr, P, (vma.vm_flags & 7) ^ PROT_EXEC)

    out: list[float] = []
    addr = 0
    for j in range(n):
        if j % 2 == 0:
            addr = ARENA_BASE + rng.randrange(arena) * P
        flip(addr)
        out.append(float(timed_render(mm)[0]))
    if n % 2:
        flip(addr)
    return out


def replay_arena(kernel: Kernel, others: str, baseline: int, target: int) -> Process:
    """A process with the helper's other VMAs and the arena built by its syscalls."""
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
            return f"line {i + 1}: simulator {x!r}, kernel {y!r}"
    return f"lengths differ: simulator {len(a)} bytes, kernel {len(b)} bytes"


# -- (b) per-operation benchmark -----------------------------------------------------------

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
    """``iters`` iterations; each picks a random read-write arena page p (both its
    neighbours are read-only one-page VMAs) and times each operation of :data:`OPS`
    once, leaving the layout as it was."""
    mm = subject.proc.mm
    n = mm.map_count
    stats = [subject.ops[op] for op in OPS]
    took = [0] * len(OPS)
    pairs = (subject.arena_pages - 3) // 2  # even pages 2 .. arena_pages - 3
    for _ in range(iters):
        a = ARENA_BASE + 2 * rng.randrange(1, pairs + 1) * P
        t0 = clock()
        mm.mprotect(a, P, PROT_READ)  # p-1, p, p+1 all r--: one VMA
        t1 = clock()
        took[0] = t1 - t0
        expect(mm, n - 2, "mprotect merge")
        t0 = clock()
        mm.mprotect(a, P, RW)  # back to three VMAs
        t1 = clock()
        took[1] = t1 - t0
        expect(mm, n, "mprotect split")
        mm.mprotect(a, P, PROT_READ)
        t0 = clock()
        mm.munmap(a, P)  # the middle page of the 3-page VMA: two VMAs remain
        t1 = clock()
        took[2] = t1 - t0
        expect(mm, n - 1, "munmap split")
        t0 = clock()
        mm.mmap(a, P, RW, ANON | MAP_FIXED)  # fills the hole; both neighbours are r--
        t1 = clock()
        took[3] = t1 - t0
        expect(mm, n, "mmap MAP_FIXED")
        t0 = clock()
        mm.munmap(a, P)
        t1 = clock()
        took[4] = t1 - t0
        expect(mm, n - 1, "munmap whole")
        mm.mmap(a, P, RW, ANON | MAP_FIXED)
        t0 = clock()
        b = mm.mmap(0, P, PROT_READ, ANON)
        t1 = clock()
        took[5] = t1 - t0
        mm.munmap(b, P)
        expect(mm, n, "mmap no hint")
        if record:
            for s, v in zip(stats, took, strict=True):
                s.samples_ns.append(v)


def lookup_addresses(mm: Mm, rng: random.Random, count: int) -> list[int]:
    """``count`` random mapped addresses: a uniformly chosen VMA, a uniformly chosen
    byte in it."""
    vmas = [(v.vm_start, v.vm_end) for v in mm.vmas()]
    out = []
    for _ in range(count):
        start, end = vmas[rng.randrange(len(vmas))]
        out.append(start + rng.randrange(end - start))
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


def share(total: int, parts: int, index: int) -> int:
    return total // parts + (index < total % parts)


def bench_ops(subjects: list[Subject], cfg: Config, seed: int) -> None:
    """Warm up, then alternate the subjects over ``cfg.op_rounds`` rounds."""
    rngs = [random.Random(seed + i) for i in range(len(subjects))]
    addrs = [
        lookup_addresses(s.proc.mm, r, cfg.lookup_batch)
        for s, r in zip(subjects, rngs, strict=True)
    ]
    before = [s.proc.mm.maps() for s in subjects]
    for s, r, a in zip(subjects, rngs, addrs, strict=True):
        op_iterations(s, r, cfg.op_warmup, record=False)
        lookup_batches(s, a, max(1, cfg.lookup_batches // 10), record=False)
    for rnd in range(cfg.op_rounds):
        for s, r, a in zip(subjects, rngs, addrs, strict=True):
            settle(s.kernel)
            lookup_batches(s, a, share(cfg.lookup_batches, cfg.op_rounds, rnd), record=True)
            settle(s.kernel)
            op_iterations(s, r, share(cfg.op_iters, cfg.op_rounds, rnd), record=True)
    for s, text in zip(subjects, before, strict=True):
        if s.proc.mm.maps() != text:
            raise SystemExit(f"{s.label}: the layout changed during the op benchmark")


def kernel_ops(workdir: Path, sizes: list[int], cfg: Config, seed: int) -> list[dict[str, Stats]]:
    """The kernel's side of :func:`bench_ops`: one maps_layout helper per size, the
    same operations on the same kind of pages, the sizes alternating over
    ``cfg.op_rounds`` rounds. One ``{operation: Stats}`` per size."""
    exe = build_helper(workdir)
    helpers = []
    try:
        for n in sizes:
            helpers.append(KernelHelper(exe, workdir / f"maps-{n}.txt", n))
        stats: list[dict[str, Stats]] = [{op: Stats() for op in OPS} for _ in sizes]
        for h in helpers:
            h.ops(cfg.op_warmup, seed)
        for rnd in range(cfg.op_rounds):
            for h, per_op in zip(helpers, stats, strict=True):
                iters = share(cfg.op_iters, cfg.op_rounds, rnd)
                for op, samples in zip(OPS, h.ops(iters, seed + 1 + rnd), strict=True):
                    per_op[op].samples_ns += samples
        return stats
    finally:
        for h in helpers:
            h.close()


# -- report --------------------------------------------------------------------------------


def fmt(ns: float, unit: float) -> str:
    return f"{ns / unit:9.2f}"


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


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Maps rendering vs the real kernel; per-op cost at 100 vs N VMAs."
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke test: N = {QUICK_N}, few repetitions"
    )
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
    return parser.parse_args(argv)


def bench_maps(
    kernel: Kernel, helper: KernelHelper | None, dump: str, cfg: Config
) -> tuple[dict[str, Any], Process]:
    """Part (a). Returns the JSON record and a process holding the dumped layout."""
    arena, others = split_dump(dump)
    baseline = sum(1 for ln in others if not ln.startswith(GATE_PREFIX))
    n_vmas = baseline + len(arena)
    kread: list[list[float]] = []  # kernel blocks
    cold, warm, changed = Stats(), Stats(), Stats()
    cold_pairs: list[float] = []  # cold render / median of the kernel block before it
    warm_pairs: list[float] = []  # render block median / kernel block median
    changed_pairs: list[float] = []  # the same, renders after one change in place
    loads: list[float] = []

    def kernel_block() -> float | None:
        if helper is None:
            return None
        kread.append(helper.read(cfg.maps_block))
        return statistics.median(kread[-1])

    if helper is not None:
        helper.read(cfg.maps_warmup)
    main: Process | None = None
    sim_text = ""
    for i in range(cfg.cold_renders):
        settle(kernel)
        t0 = clock()
        proc = kernel.spawn_from_maps(dump, name=f"maps{i}")
        loads.append(clock() - t0)
        settle(kernel)
        kmed = kernel_block()
        elapsed, text = timed_render(proc.mm)
        cold.samples_ns.append(elapsed)
        if kmed is not None:
            cold_pairs.append(elapsed / kmed)
        if main is None:
            main, sim_text = proc, text
        else:
            release(kernel, proc)
    assert main is not None
    for _ in range(cfg.maps_warmup):
        main.mm.maps()
    rng = random.Random(cfg.maps_rounds)
    arena_n = arena_size(main.mm)
    for _ in range(cfg.maps_rounds):
        settle(kernel)
        kmed = kernel_block()
        block = [float(timed_render(main.mm)[0]) for _ in range(cfg.maps_block)]
        warm.samples_ns += block
        settle(kernel)
        changed_block = changed_renders(main.mm, rng, arena_n, cfg.maps_block)
        changed.samples_ns += changed_block
        if kmed is not None:
            warm_pairs.append(statistics.median(block) / kmed)
            changed_pairs.append(statistics.median(changed_block) / kmed)
    expect(main.mm, n_vmas, "the layout after the changed renders")

    full_match = sim_text == dump
    arena_match = split_dump(sim_text)[0] == arena
    replay = replay_arena(kernel, "".join(others), baseline, n_vmas)
    settle(kernel)
    # Not a target: the first render of a layout built by syscalls, where every line is
    # formatted during the render (imported layouts have theirs seeded by load_maps).
    replay_ns, replay_text = timed_render(replay.mm)
    replay_arena_match = split_dump(replay_text)[0] == arena
    replay_full_match = replay_text == dump
    release(kernel, replay)

    kstats = Stats([s for block in kread for s in block])
    print("\n(a) one full read of /proc/<pid>/maps")
    print(f"  {'':36} {'n':>5} {'median ms':>9} {'min ms':>9}")
    rows = [("kernel: open+read()*+close", kstats)] if helper is not None else []
    rows += [
        ("sim mm.maps(), first render", cold),
        ("sim mm.maps(), repeated render", warm),
        ("sim mm.maps(), after one mprotect", changed),
    ]
    for label, st in rows:
        print(f"  {label:36} {st.n:5} {fmt(st.median, 1e6)} {fmt(st.min, 1e6)}")
    load_ms = statistics.median(loads) / 1e6
    print(f"  (building a process with spawn_from_maps, untimed above: {load_ms:.0f} ms)")
    record: dict[str, Any] = {
        "n_vmas": n_vmas,
        "bytes": len(dump.encode()),
        "lines": dump.count("\n"),
        "sim_first_render_ms": cold.as_json(1e6),
        "sim_repeated_render_ms": warm.as_json(1e6),
        "sim_render_after_one_mprotect_ms": changed.as_json(1e6),
        "sim_spawn_from_maps_ms_median": load_ms,
    }
    if helper is not None:
        v = helper.values
        print(
            f"  kernel: {v['reads_per_pass']} read() calls per full read; map_count "
            f"{v['map_count']} (helper's own {v['baseline_map_count']}, arena "
            f"{v['arena_pages']}); ASLR {'off' if helper.aslr_off else 'on'}; "
            f"helper brk {v['brk']}"
        )
        print(
            f"  blocks: {cfg.maps_block} kernel reads, then {cfg.maps_block} renders, x "
            f"{cfg.maps_rounds}; each first render follows its own kernel block"
        )
        record["kernel_read_ms"] = kstats.as_json(1e6)
        record["kernel"] = dict(v)
        results: dict[str, Any] = {}
        for label, st, pairs in (
            ("first render", cold, cold_pairs),
            ("repeated render", warm, warm_pairs),
            ("after one change", changed, changed_pairs),
        ):
            med, mn = ratio(st, kstats)
            paired = statistics.median(pairs)
            results[label] = {"median": med, "min": mn, "paired": paired}
            results[label]["met"] = med <= MAPS_TARGET
            print(
                f"  sim/kernel, {label + ':':17} {med:6.2f} (medians)  {mn:6.2f} (minima)  "
                f"{paired:6.2f} (median of per-block ratios)   target <= {MAPS_TARGET}: "
                f"{verdict(med, MAPS_TARGET)}"
            )
        record["ratio_sim_over_kernel"] = results
    same = {True: "identical", False: "DIFFERENT"}
    print(
        f"  text, sim vs {'kernel' if helper else 'synthetic'} dump: arena lines "
        f"({len(arena):,}) {same[arena_match]}; whole text {same[full_match]}"
    )
    if not full_match:
        print(f"    first difference: {first_difference(sim_text, dump)}")
    print(
        f"  arena rebuilt in the sim by the helper's syscalls (mmap MAP_FIXED_NOREPLACE "
        f"+ {len(arena) // 2:,} mprotect): arena lines {same[replay_arena_match]}, "
        f"whole text {same[replay_full_match]}"
    )
    print(
        f"  first render of that rebuilt process (every line formatted during the render, "
        f"one sample): {replay_ns / 1e6:.2f} ms"
    )
    record["sim_first_render_syscall_built_ms"] = replay_ns / 1e6
    record["text_match"] = {
        "arena_lines": len(arena),
        "arena": arena_match,
        "full": full_match,
        "replay_arena": replay_arena_match,
        "replay_full": replay_full_match,
    }
    return record, main


def report_ops(
    subjects: list[Subject], cfg: Config, kernel: list[dict[str, Stats]] | None
) -> dict[str, Any]:
    """Part (b)'s table; with ``kernel`` (:func:`kernel_ops`), the same operations'
    ratio on the running kernel, measured in the same run."""
    small, large = subjects
    print(
        f"\n(b) per-operation cost in the simulator, {small.label} vs {large.label}: "
        f"{cfg.op_iters} timed iterations per operation and size after {cfg.op_warmup} "
        f"warm-up; lookups in {cfg.lookup_batches} batches of {cfg.lookup_batch} random "
        f"mapped addresses (time per lookup = batch time / {cfg.lookup_batch}); sizes "
        f"alternate over {cfg.op_rounds} rounds"
    )
    print(
        f"  {'operation':33} {small.label + ' med / min us':>22}"
        f" {large.label + ' med / min us':>24}   ratio med (min)  target"
        + ("           kernel: ratio med (min), us at N" if kernel else "")
    )
    record: dict[str, Any] = {}
    rows = [(f, small.lookups[f], large.lookups[f], LOOKUP_TARGET) for f in LOOKUPS]
    rows += [(op, small.ops[op], large.ops[op], SYSCALL_TARGET) for op in OPS]
    for name, a, b, target in rows:
        med, mn = ratio(b, a)
        theirs = ""
        kernel_record: dict[str, Any] = {}
        if kernel and name in kernel[0]:
            ka, kb = kernel[0][name], kernel[1][name]
            kmed, kmn = ratio(kb, ka)
            theirs = f"   {kmed:5.2f} ({kmn:4.2f}) {fmt(kb.median, 1e3)}"
            kernel_record = {
                "small_us": ka.as_json(1e3),
                "large_us": kb.as_json(1e3),
                "ratio_median": kmed,
                "ratio_min": kmn,
            }
        print(
            f"  {name:33} {fmt(a.median, 1e3)} / {fmt(a.min, 1e3)}  "
            f"{fmt(b.median, 1e3)} / {fmt(b.min, 1e3)}   {med:5.2f} ({mn:4.2f})    "
            f"<= {target}: {verdict(med, target)}{theirs}"
        )
        record[name] = {
            "small_us": a.as_json(1e3),
            "large_us": b.as_json(1e3),
            "ratio_median": med,
            "ratio_min": mn,
            "target": target,
            "met": med <= target,
            **({"kernel": kernel_record} if kernel_record else {}),
        }
    return {"small_n": small.proc.mm.map_count, "large_n": large.proc.mm.map_count, **record}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = QUICK if args.quick else FULL
    started = time.monotonic()
    if args.no_gc:
        gc.disable()
    try:
        sysctl = int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        sysctl = 65530
    target = args.n or (min(QUICK_N, sysctl) if args.quick else sysctl)
    reason = "--no-kernel given" if args.no_kernel else kernel_unavailable()
    m = machine()
    out: dict[str, Any] = {"machine": m, "config": cfg.__dict__, "quick": args.quick}
    out["gc"] = not args.no_gc
    out["loadavg_start"] = loadavg()
    print(
        f"bench_maps: {m['cpus']} CPUs ({m['cpu_model'] or '?'}), {m['system']}, "
        f"Python {m['python']}, GC {'off' if args.no_gc else 'on'}"
        f"{', --quick' if args.quick else ''}; load average at start {out['loadavg_start']}"
    )

    with tempfile.TemporaryDirectory(prefix="bench_maps.") as tmp:
        helper: KernelHelper | None = None
        if reason is None:
            helper = KernelHelper(build_helper(Path(tmp)), Path(tmp) / "maps.txt", target)
            dump = helper.dump
        else:
            print(f"real kernel not measured ({reason}): synthetic layout")
            dump = synthetic_dump(target)
        arena, others = split_dump(dump)
        n_vmas = len(arena) + len(others) - 1
        print(
            f"N = {n_vmas:,} VMAs (vm.max_map_count {sysctl:,}): {len(others) - 1} of the "
            f"{'helper' if helper else 'typical layout'}'s own + {len(arena):,} one-page "
            f"arena VMAs at {ARENA_BASE:#x}, "
            f"rw-p/r--p alternating; maps text {len(dump.encode()):,} bytes, "
            f"{dump.count(chr(10)):,} lines"
        )
        kernel = Kernel(max_map_count=max(sysctl, n_vmas))
        try:
            out["maps"], main_proc = bench_maps(kernel, helper, dump, cfg)
        finally:
            if helper is not None:
                helper.close()

    small_proc = kernel.spawn_from_maps(cut_arena(dump, SMALL_N), name="small")
    subjects = [
        Subject(f"{SMALL_N} VMAs", kernel, small_proc, arena_size(small_proc.mm)),
        Subject(f"{n_vmas:,} VMAs", kernel, main_proc, arena_size(main_proc.mm)),
    ]
    expect(small_proc.mm, SMALL_N, "small layout")
    expect(main_proc.mm, n_vmas, "large layout")
    bench_ops(subjects, cfg, args.seed)
    theirs = None
    if reason is None:
        with tempfile.TemporaryDirectory(prefix="bench_maps.") as tmp:
            theirs = kernel_ops(Path(tmp), [SMALL_N, n_vmas], cfg, args.seed)
    out["ops"] = report_ops(subjects, cfg, theirs)

    out["loadavg_end"] = loadavg()
    out["elapsed_s"] = total_s = time.monotonic() - started
    print(f"\ntotal {total_s:.1f} s; load average at end {out['loadavg_end']}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
