"""Benchmark: a process with millions of VMAs, through the engine and through the service.

Run from the repository root::

    .venv/bin/python bench/bench_million.py engine   # Python API: build, RSS, maps, lookups, state
    .venv/bin/python bench/bench_million.py rest     # REST: batch build, maps served, state file
    .venv/bin/python bench/bench_million.py engine --n 200000   # a smaller run
    .venv/bin/python bench/bench_million.py lookups --before main  # two engines side by side
    .venv/bin/python bench/bench_million.py lookups --alone        # this engine's lookups only
    .venv/bin/python bench/bench_million.py rest --before-rest --before main --n 220000

``engine`` (one interpreter, one :class:`core.Kernel` with ``max_map_count`` raised):

* **build**: a process gets ``--n`` VMAs through the Python API: one anonymous
  ``mmap`` of ``n`` pages at a far-away base, then ``mprotect(PROT_READ)`` of every
  other page (``n // 2`` calls; the VMAs alternate ``rw-p``/``r--p`` so none merge),
  as ``bench/maps_layout.c`` builds its arena on the real kernel. Timed, and the
  benchmark's RSS (``/proc/self/statm``, after ``gc.collect()`` and an RCU barrier)
  before and after gives bytes of RSS per VMA.
* **maps**: ``mm.maps()`` first render (every line formatted: the VMAs were built by
  syscalls) and repeated renders, in ns per line, against the host kernel's read of
  ``/proc/self/maps`` by the C helper of ``bench/bench_maps.py`` at the host's
  ``vm.max_map_count`` (65,530 here: the host is not reconfigured).
* **lookups** (after ``gc.freeze()``: see :func:`run_engine`): ``mm.vma_lookup``,
  ``mm.fault`` (a read fault, the per-VMA-lock path: ``lock_vma_under_rcu`` then the
  fault of an already-present zero page) and
  ``procmap_query`` at random mapped addresses in processes of 100, 65,530 and ``n``
  VMAs built the same way; the sizes alternate round by round, ratios against 100.
* **state**: :func:`core.checkpoint.save_state` and :func:`core.checkpoint.load_state`
  of a machine holding only that process, at 65,530 and ``n`` VMAs (µs per VMA).

``lookups --before REV``: only the lookups above, for the engine of git revision ``REV``
(a temporary worktree) and of this checkout, each in fresh processes of its own
(``lookups --alone`` of this file, copied into ``REV``'s worktree): the three processes
built, ``gc.freeze()``, the lookups; ``--pairs`` runs of each, the order alternating, then
the ratios side by side. Both get ``VMASIM_ENGINE`` set to the engine this process runs;
compiled, ``REV``'s worktree gets this build's files where the engine's sources are the
same, else its own build (``hatch_build.py --inplace``, minutes). Each run also
reports its heap: RSS, the part in transparent huge pages, and the allocator settings
it inherited (``PYTHONMALLOC``, ``GLIBC_TUNABLES``).

``rest --before-rest --before REV``: only the REST build (below), for the service of
git revision ``REV`` (a temporary worktree) and of this checkout, one fresh server per
build, the two alternating ``--rounds`` times per durability mode: the server's CPU
time per operation of each and the ratio of their medians. Where this checkout runs the
compiled engine, the other tree gets it too (this build's files if the engine's sources
are the same, else its own build). Every server gets ``VMASIM_ENGINE`` set to the
engine this process runs (``start_server``: it fails to start rather than fall back);
each build prints the engine its ``/healthz`` names.

``rest`` (a real uvicorn server in a subprocess, ``VMASIM_MAX_MAP_COUNT`` raised, the
other settings at their defaults): the same process built through
``POST /processes/{pid}/syscalls`` (one ``mmap`` op, then batches of ``--ops`` ``mprotect``
ops, 10,000 = ``VMASIM_MAX_BATCH``'s default; ``--pattern mmap``: one ``mmap`` per page
instead, twice the operations; with ``"results": "failed"`` where the server has it, so
an answer lists no successes), with each durability of ``--modes``
(``off``: no state file; ``checkpoint``; ``journal``), one server each, one after the
other; the build time, the server's CPU time (and its event-loop thread's share) and
the client's, over the batches alone. The client encodes the next batches in a thread
while a request is in flight (``--no-pipeline``: only after the previous answer); the
requests stay one at a time on one connection, so the final state is the sequential
one, and after the timed part every build is verified: the VMA count and a SHA-256 of
every maps line's range and permissions against the expected layout. On the last
server: ``GET /maps``, ``/maps.json``, one ``/maps/stream`` and one ``/maps/events``
snapshot, each read to the end by a client reading 64 KiB at a time, with the server's
peak RSS growth during the read (``VmHWM``, reset through ``/proc/<pid>/clear_refs``
before each read, minus the RSS before it). In ``checkpoint`` mode the server is then
stopped (SIGTERM: it saves its state file) and restarted on the same file: stop and
start times.

Timers: the engine part times CPU time of the benchmark's thread
(``time.thread_time_ns``: on a shared, loaded machine wall time measures mostly the
other work; lookups are timed in batches, and a batch preempted by another process
would count that process's time), except the build, also reported in wall time; the
host kernel's reads are wall time (``clock_gettime(CLOCK_MONOTONIC)`` in the C helper,
each read a few ms). The rest part is wall time and the server's CPU time. Nothing is
estimated: every figure printed was measured.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import queue
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import (  # noqa: E402
    MAP_ANONYMOUS,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
)
from core.checkpoint import load_state, save_state  # noqa: E402
from core.procmap_query import procmap_query  # noqa: E402

P = PAGE_SIZE
cpu_clock = time.thread_time_ns
BASE = 0x100000000000
TARGET_N = 2_200_000
SIZES = (100, 65_530)
DEFAULT_JSON = ROOT / "bench" / "results" / "bench_million.json"
clock = time.perf_counter_ns


def rss_bytes(pid: str = "self") -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * P


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def settle(kernel: Kernel) -> None:
    kernel.rcu.barrier()
    gc.collect()


def build(kernel: Kernel, n: int, name: str) -> tuple[Mm, float, float]:
    """A process with exactly ``n`` VMAs (n >= 2) built by syscalls; wall and CPU
    seconds taken."""
    proc = kernel.spawn(name=name)
    mm = proc.mm
    c0 = cpu_clock()
    t0 = clock()
    mm.mmap(BASE, n * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
    mprotect = mm.mprotect
    for i in range(1, n, 2):
        mprotect(BASE + i * P, P, PROT_READ)
    seconds = (clock() - t0) / 1e9
    cpu = (cpu_clock() - c0) / 1e9
    assert mm.map_count == n, (mm.map_count, n)
    return mm, seconds, cpu


def kernel_maps_ns_per_line() -> dict[str, Any]:
    """The host kernel's read of /proc/self/maps at the host's max_map_count."""
    from bench.bench_maps import KernelHelper, build_helper, kernel_unavailable

    why = kernel_unavailable()
    if why:
        return {"unavailable": why}
    target = int(Path("/proc/sys/vm/max_map_count").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        helper = KernelHelper(build_helper(Path(tmp)), Path(tmp) / "maps.txt", target)
        try:
            helper.read(20)
            samples = helper.read(200)
            lines = helper.dump.count("\n")
        finally:
            helper.close()
    med = statistics.median(samples)
    return {
        "vmas": target,
        "lines": lines,
        "median_ms": med / 1e6,
        "min_ms": min(samples) / 1e6,
        "ns_per_line_median": med / lines,
        "ns_per_line_min": min(samples) / lines,
    }


def part_build_maps(n: int) -> tuple[dict[str, Any], Kernel, Mm]:
    kernel = Kernel(max_map_count=max(n, 65_530) + 10)
    settle(kernel)
    before = rss_bytes()
    mm, seconds, cpu = build(kernel, n, "million")
    settle(kernel)
    after = rss_bytes()
    lines = n + 1  # the gate line
    t0 = cpu_clock()
    text = mm.maps()
    first = cpu_clock() - t0
    assert text.count("\n") == lines
    settle(kernel)
    after_render = rss_bytes()
    del text
    repeated = []
    for _ in range(5):
        t0 = cpu_clock()
        mm.maps()
        repeated.append(cpu_clock() - t0)
        settle(kernel)
    rec = {
        "n": n,
        "build_s": seconds,
        "build_cpu_s": cpu,
        "rss_per_vma_bytes": (after - before) / n,
        "rss_per_vma_after_render_bytes": (after_render - before) / n,
        "render_first_ns_per_line": first / lines,
        "render_repeated_ns_per_line_median": statistics.median(repeated) / lines,
        "render_repeated_ns_per_line_min": min(repeated) / lines,
    }
    print(
        f"build {n:,} VMAs (1 mmap + {n // 2:,} mprotect): {seconds:.1f} s wall, "
        f"{cpu:.1f} s CPU; "
        f"RSS {rec['rss_per_vma_bytes']:.0f} B/VMA "
        f"({rec['rss_per_vma_after_render_bytes']:.0f} B/VMA with the lines cached)"
    )
    print(
        f"mm.maps(): first render {rec['render_first_ns_per_line']:.0f} ns/line, repeated "
        f"{rec['render_repeated_ns_per_line_median']:.0f} ns/line (median of 5; min "
        f"{rec['render_repeated_ns_per_line_min']:.0f})",
        flush=True,
    )
    return rec, kernel, mm


def lookups(
    mms: dict[int, Mm],
    rounds: int,
    batch: int,
    seed: int,
    trees: dict[str, dict[int, Any]] | None = None,
) -> dict[str, Any]:
    """ns per call of three lookups at random mapped addresses, sizes alternating.

    With ``trees`` (version name -> size -> a tree of that process's entries), each
    batch runs once per version with ``mm.tree`` switched to it, versions alternating
    too; the result is keyed by version."""
    versions: dict[str, dict[int, Any]] = trees or {"": {n: mm.tree for n, mm in mms.items()}}
    rng = random.Random(seed)
    addrs = {n: [BASE + rng.randrange(n) * P + rng.randrange(P) for _ in range(batch)] for n in mms}
    # Every page read once untimed: the faults timed below all find a present page.
    for n, mm in mms.items():
        for a in addrs[n]:
            mm.fault(a, "read")

    def f_lookup(mm: Mm, xs: list[int]) -> None:
        look = mm.vma_lookup
        for a in xs:
            look(a)

    def f_fault(mm: Mm, xs: list[int]) -> None:
        fault = mm.fault
        for a in xs:
            fault(a, "read")

    def f_query(mm: Mm, xs: list[int]) -> None:
        for a in xs:
            procmap_query(mm, a, want_name=False)

    kinds: dict[str, Callable[[Mm, list[int]], None]] = {
        "vma_lookup": f_lookup,
        "fault": f_fault,
        "procmap_query": f_query,
    }
    names = list(versions)
    samples: dict[str, dict[str, dict[int, list[float]]]] = {
        v: {k: {n: [] for n in mms} for k in kinds} for v in names
    }
    sizes = list(mms)
    for r in range(rounds + 1):
        order = sizes[r % len(sizes) :] + sizes[: r % len(sizes)]
        vorder = names[r % len(names) :] + names[: r % len(names)]
        for kind, fn in kinds.items():
            for n in order:
                for v in vorder:
                    mms[n].tree = versions[v][n]
                    fn(mms[n], addrs[n][:200])  # untimed: the same code paths warm
                    t0 = cpu_clock()
                    fn(mms[n], addrs[n])
                    if r:  # round 0 is the warm-up
                        samples[v][kind][n].append((cpu_clock() - t0) / batch)
    result: dict[str, Any] = {}
    for v in names:
        out: dict[str, Any] = {}
        if v:
            print(f" {v}:")
        for kind in kinds:
            small = samples[v][kind][sizes[0]]
            rec: dict[str, Any] = {}
            for n in sizes:
                s = samples[v][kind][n]
                rec[str(n)] = {
                    "median_ns": statistics.median(s),
                    "min_ns": min(s),
                    "ratio_median": statistics.median(s) / statistics.median(small),
                    "ratio_min": min(s) / min(small),
                }
            out[kind] = rec
            cells = "  ".join(
                f"{n:>9,}: {rec[str(n)]['median_ns']:6.0f}/{rec[str(n)]['min_ns']:5.0f} ns "
                f"({rec[str(n)]['ratio_median']:.2f}x/{rec[str(n)]['ratio_min']:.2f}x)"
                for n in sizes
            )
            print(f"  {kind:<14} {cells}", flush=True)
        result[v] = out
    return result if trees else result[""]


def state_file(kernel: Kernel, n: int, tmp: Path) -> dict[str, Any]:
    path = tmp / f"state-{n}.json"
    settle(kernel)
    t0, w0 = cpu_clock(), clock()
    stats = save_state(kernel, path)
    saved, saved_wall = (cpu_clock() - t0) / 1e9, (clock() - w0) / 1e9
    size = path.stat().st_size
    settle(kernel)
    t0, w0 = cpu_clock(), clock()
    restored = load_state(path)
    loaded, loaded_wall = (cpu_clock() - t0) / 1e9, (clock() - w0) / 1e9
    count = sum(p.mm.map_count for p in restored.processes())
    assert count >= n, (count, n)
    del restored
    path.unlink()
    rec = {
        "n": n,
        "save_cpu_s": saved,
        "load_cpu_s": loaded,
        "save_wall_s": saved_wall,
        "load_wall_s": loaded_wall,
        "bytes": size,
        "save_us_per_vma": saved * 1e6 / n,
        "load_us_per_vma": loaded * 1e6 / n,
        "save_stats": repr(stats),
    }
    print(
        f"  {n:>9,} VMAs: save {saved:6.2f} s CPU ({rec['save_us_per_vma']:.2f} µs/VMA; "
        f"{saved_wall:.1f} s wall), load {loaded:6.2f} s CPU ({rec['load_us_per_vma']:.2f} "
        f"µs/VMA; {loaded_wall:.1f} s wall), {size / 1e6:.0f} MB",
        flush=True,
    )
    return rec


def run_engine(args: argparse.Namespace) -> dict[str, Any]:
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    out: dict[str, Any] = {"kernel_maps": kernel_maps_ns_per_line()}
    k = out["kernel_maps"]
    if "unavailable" not in k:
        print(
            f"host kernel, /proc/self/maps of {k['vmas']:,} VMAs: {k['ns_per_line_median']:.0f} "
            f"ns/line (median of 200 reads; min {k['ns_per_line_min']:.0f})"
        )
    rec, kernel, mm = part_build_maps(args.n)
    out["build_maps"] = rec
    if "unavailable" not in k:
        kmin = k["ns_per_line_min"]
        print(
            f"  render / kernel ns per line (minima): first "
            f"{rec['render_first_ns_per_line'] / kmin:.2f}, repeated "
            f"{rec['render_repeated_ns_per_line_min'] / kmin:.2f}"
        )
    kernels = {n: Kernel(max_map_count=70_000) for n in SIZES}
    small = {n: build(kernels[n], n, f"s{n}")[0] for n in SIZES}
    mms = {**small, args.n: mm}
    # Everything built so far moves to the GC's permanent generation: a full collection
    # over millions of VMAs takes seconds and would land in whichever batch triggers it.
    gc.collect()
    gc.freeze()
    print(f"lookups at random mapped addresses, median/min ns per call (ratio to {SIZES[0]}):")
    out["lookups"] = lookups(mms, args.rounds, args.batch, args.seed)
    if not args.no_state:
        print("state file (core.checkpoint.save_state / load_state):")
        with tempfile.TemporaryDirectory() as tmp:
            out["state"] = [
                state_file(kernels[SIZES[1]], SIZES[1], Path(tmp)),
                state_file(kernel, args.n, Path(tmp)),
            ]
    return out


def heap_settings() -> dict[str, Any]:
    """What decides this process's heap layout: whether the engine put CPython's arenas
    in huge pages (``core._engine.ARENAS``; a revision before it has none), the
    allocator settings the process was started with, and the share of its memory in
    transparent huge pages (``/proc/self/smaps_rollup``)."""
    from core import _engine

    rollup = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        rollup[key] = int(value.split()[0])
    return {
        "arenas": getattr(_engine, "ARENAS", "off: no core._arenas in this revision"),
        "PYTHONMALLOC": os.environ.get("PYTHONMALLOC", ""),
        "GLIBC_TUNABLES": os.environ.get("GLIBC_TUNABLES", ""),
        "rss_mib": rollup["Rss"] / 1024,
        "anon_huge_mib": rollup["AnonHugePages"] / 1024,
    }


def run_lookups_alone(args: argparse.Namespace) -> dict[str, Any]:
    """``lookups --alone``: the lookups of this checkout's engine, in this process."""
    from core import _engine

    out: dict[str, Any] = {"engine": _engine.ENGINE, "engine_detail": _engine.ENGINE_DETAIL}
    out["load_start"] = os.getloadavg()[0]
    print(f"{_engine.ENGINE} engine ({_engine.ENGINE_DETAIL}), load {out['load_start']:.2f}")
    kernels = {n: Kernel(max_map_count=max(70_000, args.n + 10)) for n in (*SIZES, args.n)}
    t0, c0 = clock(), cpu_clock()
    mms = {n: build(kernels[n], n, f"s{n}")[0] for n in kernels}
    out["build_s"], out["build_cpu_s"] = (clock() - t0) / 1e9, (cpu_clock() - c0) / 1e9
    # Everything built so far moves to the GC's permanent generation (see run_engine).
    gc.collect()
    gc.freeze()
    out["heap"] = heap_settings()
    h = out["heap"]
    print(
        f"built in {out['build_s']:.1f} s ({out['build_cpu_s']:.1f} s CPU); RSS "
        f"{h['rss_mib']:.0f} MiB, {h['anon_huge_mib']:.0f} MiB in huge pages (arenas in "
        f"huge pages: {h['arenas']}; PYTHONMALLOC={h['PYTHONMALLOC']!r}, "
        f"GLIBC_TUNABLES={h['GLIBC_TUNABLES']!r})"
    )
    print(f"lookups at random mapped addresses, median/min ns per call (ratio to {SIZES[0]}):")
    out["lookups"] = lookups(mms, args.rounds, args.batch, args.seed)
    out["load_end"] = os.getloadavg()[0]
    return out


@contextlib.contextmanager
def worktree_of(rev: str, tmp: Path) -> Iterator[tuple[Path, str, str]]:
    """A temporary worktree of git revision ``rev`` under ``tmp`` with the engine this
    checkout runs (:func:`same_engine`): its path, that engine and ``rev``'s short
    commit. Removed on exit."""
    before = tmp / "before"
    add = ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(before), rev]
    subprocess.run(add, check=True)
    try:
        engine = same_engine(before, rev)
        head = ["git", "-C", str(before), "rev-parse", "--short", "HEAD"]
        commit = subprocess.run(head, check=True, capture_output=True, text=True).stdout
        yield before, engine, commit.strip()
    finally:
        remove = ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)]
        subprocess.run(remove, check=False)


def run_lookups(args: argparse.Namespace) -> dict[str, Any]:
    """``lookups --before REV``: :func:`run_lookups_alone` in one fresh process per
    revision and run, each importing its own checkout's engine (``REV``'s in a
    temporary worktree, compiled there by its own build where its engine's sources
    differ) with ``VMASIM_ENGINE`` set to the engine this process runs; both run this
    file (copied into ``REV``'s worktree), ``--pairs`` times, the order alternating."""
    if args.alone:
        return run_lookups_alone(args)
    out: dict[str, Any] = {"n": args.n, "load_start": os.getloadavg()[0]}
    print(f"load average at start: {out['load_start']:.2f}")
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        worktree_of(args.before, Path(tmp_name)) as (before, engine, commit),
    ):
        tmp = Path(tmp_name)
        shutil.copy2(Path(__file__), before / "bench" / "bench_million.py")
        out["engine"], out["before_commit"] = engine, commit
        print(f"before: {args.before} = {commit}; VMASIM_ENGINE={engine} for both")
        roots = {f"before ({args.before})": before, "after (working tree)": ROOT}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in roots}
        for r in range(args.pairs):
            for name in list(roots)[r % 2 :] + list(roots)[: r % 2]:
                result = tmp / "lookups.json"
                cmd = [sys.executable, str(roots[name] / "bench" / "bench_million.py")]
                cmd += ["lookups", "--alone", "--n", str(args.n), "--rounds", str(args.rounds)]
                cmd += ["--batch", str(args.batch), "--seed", str(args.seed)]
                cmd += ["--json", str(result)]
                print(f"-- pair {r + 1} of {args.pairs}: {name}", flush=True)
                env = {**os.environ, "VMASIM_ENGINE": engine}
                subprocess.run(cmd, cwd=roots[name], env=env, check=True)
                rec = json.loads(result.read_text())["lookups"]
                result.unlink()
                if rec["engine"] != engine:
                    raise SystemExit(f"{name} ran the {rec['engine']} engine, not {engine}")
                runs[name].append(rec)
        out["runs"] = runs
    print(f"side by side, {engine} engine: ratio to {SIZES[0]} VMAs, median/min of each run")
    for kind in ("vma_lookup", "fault", "procmap_query"):
        for n in (SIZES[1], args.n):
            for name, recs in runs.items():
                cells = ", ".join(
                    f"{c['ratio_median']:.2f}x/{c['ratio_min']:.2f}x ({c['median_ns']:.0f} ns)"
                    for c in (rec["lookups"][kind][str(n)] for rec in recs)
                )
                print(f"  {kind:<14} {n:>9,}  {name:<22} {cells}")
    out["load_end"] = os.getloadavg()[0]
    print(f"load average at end: {out['load_end']:.2f}")
    return out


# -- rest ---------------------------------------------------------------------------------

MODES: dict[str, dict[str, str]] = {
    "off": {},
    "checkpoint": {"VMASIM_DURABILITY": "checkpoint", "VMASIM_STATE_INTERVAL": "100000"},
    "journal": {"VMASIM_DURABILITY": "journal", "VMASIM_STATE_INTERVAL": "100000"},
}


def stop_server(server: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop ``server`` (by its PID): SIGTERM, so that it saves its state as a service
    does, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def start_server(
    mode: str, n: int, tmp: Path, root: Path = ROOT, port: int = 0, engine: str | None = None
) -> tuple[subprocess.Popen[bytes], str, float]:
    """A uvicorn server (one worker) in ``mode`` running the service of the checkout at
    ``root`` on ``port`` (0: a free one) with ``engine`` (default: the one this process
    runs, ``core._engine.ENGINE``), passed as ``VMASIM_ENGINE`` so that a server that
    cannot run it fails to start rather than falling back; its base URL and start
    seconds. ``VMASIM_HUGE_ARENAS`` (the engine's heap, ``core/_arenas.c``) passes
    through where set; the other ``VMASIM_*`` settings are the service's defaults."""
    import httpx

    from bench.bench_rest import free_port
    from core import _engine

    port = port or free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VMASIM_") or k == "VMASIM_HUGE_ARENAS"
    }
    env.update(MODES[mode], VMASIM_MAX_MAP_COUNT=str(n + 100))
    env["VMASIM_ENGINE"] = engine or _engine.ENGINE
    if mode != "off":
        env["VMASIM_STATE_FILE"] = str(tmp / f"{mode}.json")
    cmd = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
    cmd += ["--workers", "1", "--log-level", "warning", "--no-access-log"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < t0 + 1800:
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url, time.monotonic() - t0
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"{mode}: the server exited during start-up")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{mode}: the server did not start")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of the server's main thread (uvicorn's event loop: HTTP, the body's
    read and validation, the response) and of the whole server (the rest is the
    engine's workers and the journal's committer, with the threads that ended)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), cpu_s(pid)


def build_ops(n: int, pattern: str) -> list[dict[str, Any]]:
    """The operations that give a process ``n`` one-page VMAs at ``BASE`` (module note):
    ``mprotect``, one ``mmap`` of ``n`` pages then ``mprotect`` of every other page
    (``n // 2 + 1`` operations, each splitting off two VMAs); ``mmap``, one ``mmap`` per
    page at its fixed address, the protections alternating so that none merge (``n``
    operations)."""
    hexa = "{:#x}".format
    flags = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED_NOREPLACE"]
    rw, ro = ["PROT_READ", "PROT_WRITE"], ["PROT_READ"]
    if pattern == "mmap":
        return [
            {
                "op": "mmap",
                "addr": hexa(BASE + i * P),
                "length": P,
                "prot": ro if i % 2 else rw,
                "flags": flags,
            }
            for i in range(n)
        ]
    mmap = {"op": "mmap", "addr": hexa(BASE), "length": n * P, "prot": rw, "flags": flags}
    return [mmap] + [
        {"op": "mprotect", "addr": hexa(BASE + i * P), "length": P, "prot": ro}
        for i in range(1, n, 2)
    ]


def expected_maps_digest(n: int) -> str:
    """SHA-256 of the ``start-end perms`` fields of the ``n`` lines the build must leave
    (both patterns: one-page VMAs from :data:`BASE`, ``rw-p`` and ``r--p`` alternating)."""
    h = hashlib.sha256()
    for i in range(n):
        start = BASE + i * P
        h.update(f"{start:x}-{start + P:x} {'r--p' if i % 2 else 'rw-p'}\n".encode())
    return h.hexdigest()


def maps_digest(http: Any, pid: int) -> tuple[str, int]:
    """SHA-256 of the ``start-end perms`` fields of ``GET /maps`` (streamed), and its
    lines; ``[vsyscall]`` (a maps line of every x86-64 process, not a VMA of the mm:
    ``map_count`` does not count it) left out."""
    h = hashlib.sha256()
    lines = 0
    with http.stream("GET", f"/processes/{pid}/maps") as r:
        assert r.status_code == 200, r.read()[:300]
        for line in r.iter_lines():
            if line and not line.endswith("[vsyscall]"):
                fields = line.split(maxsplit=2)
                h.update(f"{fields[0]} {fields[1]}\n".encode())
                lines += 1
    return h.hexdigest(), lines


def rest_build(
    url: str,
    n: int,
    ops: int,
    server: int | None = None,
    pattern: str = "mprotect",
    pipeline: bool = True,
) -> dict[str, Any]:
    """Build the process through ``/syscalls`` in batches of ``ops``, asking only for
    the failed operations' results where the server has that option (the services
    before it answer every operation). Wall time, the client's CPU time (encoding the
    batches, decoding the answers) and, given the server's pid, its threads' CPU.

    ``pipeline``: a thread encodes the next batches (up to two ahead) while a request is
    in flight, as a bulk client would; the requests themselves stay one at a time on
    one connection, in order, so the final state is the sequential one. Verified after
    the timed part: the VMA count and a digest of every maps line's range and
    permissions against the expected layout."""
    import httpx

    with httpx.Client(base_url=url, timeout=600) as http:
        engine = http.get("/healthz").json().get("engine", "python")
        r = http.post("/processes", json={"name": "million"})
        assert r.status_code == 201, r.text
        pid = int(r.json()["pid"])
        spec = http.get("/openapi.json").json()
        failed_only = "results" in spec["components"]["schemas"]["BatchIn"]["properties"]
        extra: dict[str, Any] = {"stop_on_error": True}
        if failed_only:
            extra["results"] = "failed"
        every = build_ops(n, pattern)
        starts = range(0, len(every), ops)

        def encode(k: int) -> tuple[int, bytes]:
            batch = every[k : k + ops]
            return len(batch), json.dumps({"ops": batch, **extra}).encode()

        bodies: queue.Queue[tuple[int, bytes]] = queue.Queue(maxsize=2)

        def encoder() -> None:
            for k in starts:
                bodies.put(encode(k))

        threads0 = thread_cpu_s(server) if server else (0.0, 0.0)
        t0 = clock()
        client0 = time.process_time()
        batches = body_bytes = 0
        if pipeline:
            ahead = threading.Thread(target=encoder, name="encoder", daemon=True)
            ahead.start()
        for k in starts:
            count, body = bodies.get() if pipeline else encode(k)
            body_bytes += len(body)
            r = http.post(
                f"/processes/{pid}/syscalls",
                content=body,
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 200, r.text[:500]
            out = r.json()
            assert out["completed"] == count and out["failed"] == 0, out["results"][:3]
            batches += 1
        client = time.process_time() - client0
        seconds = (clock() - t0) / 1e9
        threads1 = thread_cpu_s(server) if server else (0.0, 0.0)
        rss_kib = status_kib(server, "VmRSS") if server else 0
        if pipeline:
            ahead.join()
        count = http.get(f"/processes/{pid}").json()["map_count"]
        digest, lines = maps_digest(http, pid)
    assert count == n, (count, n)
    assert lines == n and digest == expected_maps_digest(n), (lines, n, digest)
    return {
        "pid": pid,
        "engine": engine,
        "pattern": pattern,
        "pipeline": pipeline,
        "operations": len(every),
        "seconds": seconds,
        "client_cpu_s": client,
        "server_cpu_s": threads1[1] - threads0[1],
        "loop_thread_cpu_s": threads1[0] - threads0[0],
        "other_threads_cpu_s": threads1[1] - threads0[1] - (threads1[0] - threads0[0]),
        "results_failed_only": failed_only,
        "batches": batches,
        "body_bytes": body_bytes,
        "maps_sha256": digest,
        "server_rss_after_mib": rss_kib / 1024,
    }


def serve_reads(url: str, server: int, pid: int) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {}
    reads: dict[str, tuple[str, dict[str, str | int]]] = {
        "maps": ("/maps", {}),
        "maps.json": ("/maps.json", {}),
        "stream vmas": ("/maps/stream", {"count": 1}),
        "stream text": ("/maps/stream", {"count": 1, "format": "text"}),
        "events vmas": ("/maps/events", {"count": 1}),
    }
    with httpx.Client(base_url=url, timeout=600) as http:
        for name, (path, params) in reads.items():
            gc.collect()
            Path(f"/proc/{server}/clear_refs").write_text("5")  # resets VmHWM to VmRSS
            before = status_kib(server, "VmRSS")
            t0 = clock()
            size = 0
            with http.stream("GET", f"/processes/{pid}{path}", params=params) as r:
                assert r.status_code == 200, r.read()[:300]
                for piece in r.iter_raw(65536):
                    size += len(piece)
            seconds = (clock() - t0) / 1e9
            peak = status_kib(server, "VmHWM") - before
            out[name] = {"seconds": seconds, "bytes": size, "peak_rss_growth_kib": peak}
            print(
                f"  GET {path:<14} {str(params):<36} {size / 1e6:8.1f} MB in {seconds:6.1f} s; "
                f"server peak RSS growth {peak / 1024:7.1f} MiB",
                flush=True,
            )
    return out


def same_engine(before: Path, rev: str) -> str:
    """Give the worktree of ``rev`` at ``before`` the engine this checkout runs: when
    this one runs compiled (``core._engine``), the other gets this build's files where
    the engine's sources are the same, else its own build (``hatch_build.py --inplace``,
    minutes). Which engine, as ``core._engine.ENGINE`` names it."""
    from core import _engine

    if _engine.ENGINE != "compiled":
        return _engine.ENGINE
    same = ["git", "-C", str(ROOT), "diff", "--quiet", rev, "--", "core", "hatch_build.py"]
    if subprocess.run(same, check=False).returncode == 0:
        built = [*ROOT.glob("core/*.so"), ROOT / "core" / "_engine_build.json"]
        for path in [*built, *ROOT.glob("core__mypyc*.so")]:
            shutil.copy2(path, before / path.relative_to(ROOT))
    else:
        # Without VMASIM_ENGINE: hatch_build.py loads core/_engine.py, which with
        # VMASIM_ENGINE=compiled refuses a checkout that has no build yet.
        env = {k: v for k, v in os.environ.items() if k != "VMASIM_ENGINE"}
        build = [sys.executable, "hatch_build.py", "--inplace"]
        subprocess.run(build, cwd=before, env=env, check=True)
    return "compiled"


def run_rest_before(args: argparse.Namespace) -> dict[str, Any]:
    """``rest --before REV``: the build alone, for the service of git revision ``REV``
    (a temporary worktree) and of this checkout, alternating ``--rounds`` times per
    durability mode; the server's CPU time per operation of each."""
    out: dict[str, Any] = {"n": args.n, "ops_per_batch": args.ops, "load_start": os.getloadavg()[0]}
    print(f"load average at start: {out['load_start']:.2f}")
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        worktree_of(args.before, Path(tmp_name)) as (before, engine, commit),
    ):
        tmp = Path(tmp_name)
        out["engine"], out["before_commit"] = engine, commit
        print(f"before: {args.before} = {commit}; VMASIM_ENGINE={engine} for both servers")
        roots = {f"before ({args.before})": before, "after (working tree)": ROOT}
        for mode in args.modes.split(","):
            per_op: dict[str, list[float]] = {name: [] for name in roots}
            wall: dict[str, list[float]] = {name: [] for name in roots}
            builds: dict[str, list[dict[str, Any]]] = {name: [] for name in roots}
            for r in range(args.rounds):
                names = list(roots)[r % 2 :] + list(roots)[: r % 2]
                for name in names:
                    state_dir = Path(tempfile.mkdtemp(dir=tmp))  # a fresh state file
                    server, url, _ = start_server(
                        mode, args.n, state_dir, roots[name], args.port, engine
                    )
                    try:
                        rec = rest_build(
                            url,
                            args.n,
                            args.ops,
                            server.pid,
                            args.pattern,
                            not args.no_pipeline,
                        )
                        cpu = rec["server_cpu_s"]
                    finally:
                        server.send_signal(signal.SIGTERM)
                        server.wait(timeout=1800)
                    ops = rec["operations"]
                    per_op[name].append(cpu / ops * 1e6)
                    wall[name].append(rec["seconds"] / ops * 1e6)
                    builds[name].append({**rec, "load": os.getloadavg()[0]})
                    print(
                        f"{mode:<10} {name:<22} {rec['seconds']:6.1f} s wall "
                        f"({rec['seconds'] / ops * 1e6:5.1f} µs/op), "
                        f"{cpu:6.1f} s server CPU = {cpu / ops * 1e6:5.1f} µs/op: loop "
                        f"thread {rec['loop_thread_cpu_s'] / ops * 1e6:4.1f}, others "
                        f"{rec['other_threads_cpu_s'] / ops * 1e6:5.1f}; client "
                        f"{rec['client_cpu_s'] / ops * 1e6:4.1f} µs/op; server RSS "
                        f"{rec['server_rss_after_mib']:.0f} MiB "
                        f"({rec['engine']} engine, load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
            out[mode] = {
                name: {
                    "median_us_per_op": statistics.median(v),
                    "min_us_per_op": min(v),
                    "median_wall_us_per_op": statistics.median(wall[name]),
                    "builds": builds[name],
                }
                for name, v in per_op.items()
            }
            a, b = (statistics.median(v) for v in per_op.values())
            wa, wb = (statistics.median(v) for v in wall.values())
            print(
                f"{mode:<10} after / before (medians): server CPU {b / a:.3f}, wall {wb / wa:.3f}",
                flush=True,
            )
    out["load_end"] = os.getloadavg()[0]
    return out


def run_rest(args: argparse.Namespace) -> dict[str, Any]:
    if args.before_rest:
        return run_rest_before(args)
    from core import _engine

    out: dict[str, Any] = {"n": args.n, "ops_per_batch": args.ops, "modes": {}}
    out["engine"] = _engine.ENGINE
    print(f"load average at start: {os.getloadavg()[0]:.2f}; servers: {_engine.ENGINE} engine")
    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for i, mode in enumerate(modes):
            server, url, _ = start_server(mode, args.n, tmp, port=args.port)
            try:
                rss0 = status_kib(server.pid, "VmRSS")
                rec = rest_build(
                    url, args.n, args.ops, server.pid, args.pattern, not args.no_pipeline
                )
                rec["server_rss_growth_mib"] = (status_kib(server.pid, "VmRSS") - rss0) / 1024
                rec["load"] = os.getloadavg()[0]
                # A mode named again (--modes journal,off,journal) keeps each build.
                out["modes"][mode if mode not in out["modes"] else f"{mode} ({i + 1})"] = rec
                ops = rec["operations"]
                print(
                    f"{mode:<10} REST build of {args.n:,} VMAs ({rec['batches']} batches of "
                    f"{args.ops:,} ops, {rec['body_bytes'] / 1e6:.0f} MB of JSON): "
                    f"{rec['seconds']:.1f} s wall ({rec['seconds'] / ops * 1e6:.1f} µs/op), "
                    f"{rec['server_cpu_s']:.1f} s server CPU (loop thread "
                    f"{rec['loop_thread_cpu_s']:.1f}, others {rec['other_threads_cpu_s']:.1f}), "
                    f"client {rec['client_cpu_s']:.1f} s; "
                    f"server RSS +{rec['server_rss_growth_mib']:.0f} MiB "
                    f"({rec['engine']} engine, load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                if i == len(modes) - 1:
                    out["reads"] = serve_reads(url, server.pid, rec["pid"])
                if mode == "checkpoint":
                    t0 = time.monotonic()
                    server.send_signal(signal.SIGTERM)
                    server.wait(timeout=1800)
                    stop = time.monotonic() - t0
                    size = (tmp / "checkpoint.json").stat().st_size
                    server, url, start = start_server(mode, args.n, tmp, port=args.port)
                    out["state"] = {"stop_s": stop, "start_s": start, "bytes": size}
                    print(
                        f"  checkpoint: stop (saves {size / 1e6:.0f} MB) {stop:.1f} s, "
                        f"restart (loads it) {start:.1f} s",
                        flush=True,
                    )
            finally:
                stop_server(server, 1800)
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("part", choices=["engine", "rest", "lookups"])
    p.add_argument("--n", type=int, default=TARGET_N, help="VMAs of the big process")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--batch", type=int, default=2000, help="lookups per timed batch")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-state", action="store_true")
    p.add_argument("--before", default="main", help="lookups: the git revision compared")
    p.add_argument(
        "--alone",
        action="store_true",
        help="lookups: only this checkout's engine, in this process (no --before)",
    )
    p.add_argument("--pairs", type=int, default=2, help="lookups: runs of each revision")
    p.add_argument(
        "--before-rest",
        action="store_true",
        help="rest: only the build, --before's service against this one, --rounds each",
    )
    p.add_argument("--modes", default="journal,off,checkpoint", help="rest: durability modes")
    p.add_argument("--ops", type=int, default=10_000, help="rest: operations per batch")
    p.add_argument(
        "--pattern",
        choices=["mprotect", "mmap"],
        default="mprotect",
        help="rest: one mmap then mprotect of every other page, or one mmap per page",
    )
    p.add_argument(
        "--no-pipeline",
        action="store_true",
        help="rest: encode each batch only after the previous answer (no overlap)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="rest: the servers' port, one server at a time (default: a free one)",
    )
    p.add_argument("--json", type=Path, default=None, help=f"write results (e.g. {DEFAULT_JSON})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.part == "engine":
        out = run_engine(args)
    elif args.part == "lookups":
        out = run_lookups(args)
    else:
        out = run_rest(args)
    if args.json:
        old = json.loads(args.json.read_text()) if args.json.exists() else {}
        key = "rest_before_after" if args.part == "rest" and args.before_rest else args.part
        old[key] = out
        args.json.write_text(json.dumps(old, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
