"""Benchmark: PROCMAP_QUERY point queries against rendering and parsing the maps text.

Run from the repository root::

    .venv/bin/python bench/bench_query.py            # the full run (about 30 s)
    .venv/bin/python bench/bench_query.py --quick    # smoke test, a few seconds
    .venv/bin/python bench/bench_query.py --json     # also write bench/results/bench_query.json

The scenario is the kernel's own, from the PROCMAP_QUERY series ("selftests/bpf: add
simple benchmark tool for /proc/<pid>/maps APIs", tools/testing/selftests/bpf/
procfs_query.c): a process with **655 VMAs** and **3,244 addresses** captured from stack
traces (464 unique), resolved in one *batch* to the VMA (range, file offset, name) that
covers each. The addresses are sorted once, untimed ("address sorting and re-sorting is
excluded"). Then, per batch:

* **text** (``resolve_addrs_parse``): render ``/proc/<pid>/maps`` (``mm.maps()``) and
  parse it line by line like the selftest's ``fscanf("%zx-%zx %c%c%c%c %zx %x:%x %zu
  %[^\\n]")``, resolving the addresses each line covers and stopping once none is left.
* **query** (``resolve_addrs_ioctl``): ``procmap_query(addr, COVERING_OR_NEXT_VMA)`` with a
  name buffer for the lowest unresolved address; the VMA returned resolves every address
  it covers, and the next query starts at the first address past it. So a batch costs
  one query per VMA hit (the kernel reported 5 ioctl calls for its batch).

In both methods the addresses a VMA covers are found with ``bisect`` and assigned with a
slice (C speed, like the selftest's C loop), so the comparison is about the two APIs,
not about a Python loop over 3,244 addresses that both would share. The two methods'
results are checked to be identical. The kernel's figures for the same comparison were
333 µs (text) and 8 µs (ioctl) per batch, about 40x.

The same scenario also runs on the real kernel (``bench/query_layout.c``, compiled with
``cc -O2``; ``--no-kernel`` skips it): the selftest's two C loops on the helper's own
``/proc/self/maps``, with the helper's layout padded to exactly 655 VMAs and its 3,244
addresses in 5 executable VMAs, alternating text and ioctl batches.

Also reported, not part of the target: ``procmap_query_batch`` (the engine's helper:
the same algorithm, but it sorts and returns one entry per address in input order), and
one point query per address (3,244 ``procmap_query`` calls per batch).

The layout is synthetic (the kernel's production process is not available): a main
binary, 100 shared libraries of 5 VMAs each, 72 thread stacks with guard pages, heap,
vvar/vdso and the stack, exactly 655 VMAs; the addresses fall in the executable VMAs of
the binary and 4 libraries. Timer: ``time.perf_counter_ns``; the methods alternate in
blocks; medians and minima of per-batch times.
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
from bisect import bisect_left
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import (  # noqa: E402
    PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
    Kernel,
    Mm,
    procmap_query,
    procmap_query_batch,
)
from core.procmap_query import query_statistics  # noqa: E402

DEFAULT_JSON = ROOT / "bench" / "results" / "bench_query.json"
HELPER_SOURCE = Path(__file__).with_name("query_layout.c")
N_VMAS = 655
N_ADDRS = 3244
N_UNIQUE = 464
TARGET = 10.0  # text seconds / query seconds
PG = 4096
clock = time.perf_counter_ns

# One resolved VMA: (start, end, file offset of start, name or None).
Record = tuple[int, int, int, str | None]


def build_layout(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """Maps text of a 655-VMA process and the executable VMAs the addresses fall in."""
    lines: list[str] = []
    ino = iter(range(1_000_000, 2_000_000))

    def line(start: int, end: int, perms: str, off: int, dev: str, inode: int, name: str) -> None:
        prefix = f"{start:08x}-{end:08x} {perms} {off:08x} {dev} {inode} "
        lines.append(prefix.ljust(72) + " " + name if name else prefix)

    def elf(base: int, path: str, text_pages: int) -> tuple[int, tuple[int, int]]:
        inode = next(ino)
        sizes = (("r--p", 2), ("r-xp", text_pages), ("r--p", 8), ("r--p", 2), ("rw-p", 1))
        off = 0
        exe = (0, 0)
        for perms, pages in sizes:
            end = base + pages * PG
            line(base, end, perms, off, "fe:00", inode, path)
            if perms == "r-xp":
                exe = (base, end)
            off += pages * PG
            base = end
        return base, exe

    executable: list[tuple[int, int]] = []
    end, exe = elf(0x555555554000, "/opt/app/bin/server", 9000)
    executable.append(exe)
    line(end, end + 16 * PG, "rw-p", 0, "00:00", 0, "")  # .bss
    heap = end + 64 * PG
    line(heap, heap + 2048 * PG, "rw-p", 0, "00:00", 0, "[heap]")
    # 72 thread stacks (guard page + 8 MiB), then 100 libraries, then vvar/vdso.
    base = 0x7F0000000000
    for _ in range(72):
        line(base, base + PG, "---p", 0, "00:00", 0, "")
        line(base + PG, base + PG + 2048 * PG, "rw-p", 0, "00:00", 0, "")
        base += (2048 + 2) * PG
    hot = set(rng.sample(range(100), 4))
    for i in range(100):
        base, exe = elf(base, f"/usr/lib/x86_64-linux-gnu/lib{i:03d}.so.1", 40 + (i * 37) % 400)
        if i in hot:
            executable.append(exe)
        base += PG  # libraries never touch, so nothing merges
    for name, pages, perms in (("[vvar]", 4, "r--p"), ("[vvar_vclock]", 2, "r--p"),
                               ("[vdso]", 2, "r-xp")):  # fmt: skip
        line(base, base + pages * PG, perms, 0, "00:00", 0, name)
        base += pages * PG
    line(0x7FFFFFFDE000, 0x7FFFFFFFF000, "rw-p", 0, "00:00", 0, "[stack]")
    assert len(lines) == N_VMAS, len(lines)
    return "\n".join(lines) + "\n", executable


def build_addresses(rng: random.Random, executable: list[tuple[int, int]]) -> list[int]:
    """3,244 sorted addresses, 464 unique, in the executable VMAs (most in the binary)."""
    weights = [0.6] + [0.1] * (len(executable) - 1)
    unique: set[int] = set()
    while len(unique) < N_UNIQUE:
        start, end = rng.choices(executable, weights)[0]
        unique.add(rng.randrange(start, end))
    pool = sorted(unique)
    picks = pool + rng.choices(pool, k=N_ADDRS - N_UNIQUE)
    return sorted(picks)


def resolve_text(mm: Mm, addrs: list[int]) -> list[Record | None]:
    """``resolve_addrs_parse``: render the maps text, parse it, sweep the addresses."""
    out: list[Record | None] = [None] * len(addrs)
    n = len(addrs)
    i = 0
    for text_line in mm.maps().splitlines():
        # %zx-%zx %c%c%c%c %zx %x:%x %zu %[^\n]
        fields = text_line.split(None, 5)
        start_s, _, end_s = fields[0].partition("-")
        start, end = int(start_s, 16), int(end_s, 16)
        perms = fields[1]
        offset = int(fields[2], 16)
        major_s, _, minor_s = fields[3].partition(":")
        _dev = (int(major_s, 16), int(minor_s, 16))
        _ino = int(fields[4])
        name = fields[5] if len(fields) > 5 else None
        del perms, _dev, _ino
        i = bisect_left(addrs, start, i)  # addresses before this VMA stay unresolved
        j = bisect_left(addrs, end, i)
        if j > i:
            out[i:j] = [(start, end, offset, name)] * (j - i)
            i = j
        if i >= n:
            break  # ran out of addresses: stop early
    return out


def resolve_query(mm: Mm, addrs: list[int]) -> list[Record | None]:
    """``resolve_addrs_ioctl``: one COVERING_OR_NEXT query per VMA hit."""
    out: list[Record | None] = [None] * len(addrs)
    n = len(addrs)
    i = 0
    while i < n:
        r = procmap_query(mm, addrs[i], PROCMAP_QUERY_COVERING_OR_NEXT_VMA)
        i = bisect_left(addrs, r.vma_start, i)
        j = bisect_left(addrs, r.vma_end, i)
        if j > i:
            out[i:j] = [(r.vma_start, r.vma_end, r.vma_offset, r.vma_name or None)] * (j - i)
            i = j
    return out


def resolve_batch_helper(mm: Mm, addrs: list[int]) -> list[Any]:
    """``procmap_query_batch`` (validates and sorts again; one result per address)."""
    return procmap_query_batch(mm, addrs)


def _records(results: list[Any]) -> list[Record | None]:
    return [
        None if r is None else (r.vma_start, r.vma_end, r.vma_offset, r.vma_name or None)
        for r in results
    ]


def resolve_per_address(mm: Mm, addrs: list[int]) -> list[Record | None]:
    """One covering point query per address (3,244 queries)."""
    out: list[Record | None] = []
    for a in addrs:
        r = procmap_query(mm, a)
        out.append((r.vma_start, r.vma_end, r.vma_offset, r.vma_name or None))
    return out


def _time(fn: Callable[[Mm, list[int]], object], mm: Mm, addrs: list[int], k: int) -> list[int]:
    samples = []
    for _ in range(k):
        t0 = clock()
        fn(mm, addrs)
        samples.append(clock() - t0)
    return samples


def run_kernel(runs: int) -> dict[str, Any] | None:
    """The same scenario on the running kernel (``query_layout.c``); None if impossible."""
    cc = next((c for c in (os.environ.get("CC", ""), "cc", "gcc") if c and shutil.which(c)), None)
    if cc is None or platform.system() != "Linux":
        print("kernel side skipped: needs Linux and a C compiler")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "query_layout"
        flags = ["-O2", "-Wall", "-Wextra", "-Werror"]
        subprocess.run([cc, *flags, "-o", str(exe), str(HELPER_SOURCE)], check=True)
        out = subprocess.run([str(exe), str(runs)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        print(f"kernel side failed (exit {out.returncode}): {out.stderr.strip()}")
        return None
    fields = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    text = [int(x) / 1000 for x in fields["text_ns"].split(",")]
    ioctl = [int(x) / 1000 for x in fields["ioctl_ns"].split(",")]
    return {
        "vmas": int(fields["vmas"]),
        "ioctls_per_batch": int(fields["ioctls"]),
        "median_us": {"text": statistics.median(text), "ioctl": statistics.median(ioctl)},
        "min_us": {"text": min(text), "ioctl": min(ioctl)},
        "batches": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds (smoke test)")
    parser.add_argument("--json", nargs="?", const=str(DEFAULT_JSON), help="write results")
    parser.add_argument("--seed", type=int, default=655)
    parser.add_argument("--no-kernel", action="store_true", help="skip the real-kernel side")
    args = parser.parse_args(argv)
    rounds, block, slow_block = (4, 10, 1) if args.quick else (40, 50, 2)

    rng = random.Random(args.seed)
    text, executable = build_layout(rng)
    addrs = build_addresses(rng, executable)
    proc = Kernel().spawn_from_maps(text)
    mm = proc.mm
    assert mm.map_count == N_VMAS
    lines = mm.maps().splitlines()
    if lines and lines[-1].endswith("[vsyscall]"):
        lines.pop()  # the gate line, when the process shows one
    assert lines == text.splitlines(), "layout did not round-trip"
    expected = resolve_text(mm, addrs)
    methods: dict[str, Callable[[Mm, list[int]], list[Any]]] = {
        "text": resolve_text,
        "query": resolve_query,
        "batch_helper": resolve_batch_helper,
        "per_address": resolve_per_address,
    }
    for name, fn in methods.items():
        got = fn(mm, addrs)
        if name == "batch_helper":
            got = _records(got)
        assert got == expected, f"{name} resolved differently from the text"
    before = query_statistics(mm).queries
    resolve_query(mm, addrs)
    queries_per_batch = query_statistics(mm).queries - before
    resolved = sum(r is not None for r in expected)

    samples: dict[str, list[int]] = {name: [] for name in methods}
    for fn in methods.values():  # warm-up
        _time(fn, mm, addrs, 2)
    load_start = os.getloadavg()[0]
    for _ in range(rounds):
        for name, fn in methods.items():
            k = slow_block if name == "per_address" else block
            samples[name].extend(_time(fn, mm, addrs, k))
        gc.collect()
        proc.kernel.rcu.barrier()
    load_end = os.getloadavg()[0]
    kernel = None if args.no_kernel else run_kernel(200 if args.quick else 2000)

    med = {name: statistics.median(s) / 1000 for name, s in samples.items()}
    low = {name: min(s) / 1000 for name, s in samples.items()}
    ratio = med["text"] / med["query"]
    print(f"layout: {mm.map_count} VMAs; {len(addrs)} addresses ({len(set(addrs))} unique), "
          f"{resolved} resolved; {queries_per_batch} queries per batch")  # fmt: skip
    print(f"machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, load {load_start:.2f} -> {load_end:.2f}")  # fmt: skip
    print(f"{'method':<14}{'batches':>8}{'median µs':>12}{'min µs':>10}")
    for name in methods:
        print(f"{name:<14}{len(samples[name]):>8}{med[name]:>12.1f}{low[name]:>10.1f}")
    print(f"text / query: {ratio:.1f}x (medians), {low['text'] / low['query']:.1f}x (minima); "
          f"target >= {TARGET:.0f}x: {'met' if ratio >= TARGET else 'NOT met'}")  # fmt: skip
    print(f"text / per-address queries: {med['text'] / med['per_address']:.2f}x (medians)")
    if kernel is not None:
        kmed, kmin = kernel["median_us"], kernel["min_us"]
        print(f"kernel ({kernel['vmas']} VMAs, {kernel['ioctls_per_batch']} ioctls per batch, "
              f"{kernel['batches']} batches): text {kmed['text']:.1f} µs, ioctl "
              f"{kmed['ioctl']:.1f} µs (medians; minima {kmin['text']:.1f}, "
              f"{kmin['ioctl']:.1f}); text / ioctl "
              f"{kmed['text'] / kmed['ioctl']:.1f}x")  # fmt: skip
        print(f"simulator / kernel: text {med['text'] / kmed['text']:.2f}x, "
              f"query {med['query'] / kmed['ioctl']:.2f}x (medians)")  # fmt: skip
    if args.json:
        result: dict[str, Any] = {
            "vmas": mm.map_count,
            "addresses": len(addrs),
            "unique": len(set(addrs)),
            "queries_per_batch": queries_per_batch,
            "median_us": med,
            "min_us": low,
            "ratio_text_over_query": ratio,
            "target": TARGET,
            "load": [load_start, load_end],
            "quick": args.quick,
            "kernel": kernel,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
