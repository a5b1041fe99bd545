"""Benchmark: reading the maps of a 65,530-VMA process through the /proc mount vs from
the engine directly, per reader, side by side in one run.

Run from the repository root (needs /dev/fuse and Debian's fuse3)::

    .venv/bin/python bench/bench_mount.py                 # N = 65,530 VMAs, 7 rounds
    .venv/bin/python bench/bench_mount.py --n 10000 --rounds 5

The same process (N one-page anonymous VMAs, one-page holes between them) lives in a
mount daemon (``python -m app.procmount mount DIR --port 0``, created over REST) and in
an engine in this process. Each round, for each reader, alternating:

``engine``  ``core.MapsFile(mm, reader).read_all()``: seq_file chunks of < 4 KiB, the
            same walks the mount makes, no FUSE;
``whole``   ``core.read_maps(mm, reader)``: one walk of the whole file (the REST
            service's consistent snapshot);
``mount``   ``os.read(fd, 131072)`` until end of file on ``DIR/<pid>/maps`` (what
            ``cat`` does): every read() a FUSE round trip and one chunk walk in the
            daemon;
``mount4k`` the same with 4 KiB reads (a profiler's loop).

Each is measured in wall time and in CPU time (for the mount: this process's and the
daemon's, from ``/proc/<pid>/stat``, so a loaded machine's scheduling does not decide
the ratio). The figures are medians over rounds; the ratios divide the mount's median
by the engine's chunked median (the target: at most 3x) and by the whole-walk median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import httpx

from app.procmount.__main__ import start_mount, stop_mount
from core import Kernel, MapsFile, read_maps
from core.maps_reader import READERS

PAGE = 4096
BASE = 0x100000000


def maps_text(n: int) -> str:
    return "".join(
        f"{BASE + i * 2 * PAGE:08x}-{BASE + i * 2 * PAGE + PAGE:08x} rw-p 00000000 00:00 0 \n"
        for i in range(n)
    )


def read_file(path: str, count: int) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        total = 0
        while chunk := os.read(fd, count):
            total += len(chunk)
        return total
    finally:
        os.close(fd)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """utime + stime of process ``pid`` in seconds (``/proc/<pid>/stat`` fields 14-15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def timed(fn: Callable[[], object], daemon: int | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process plus ``daemon``'s)."""
    d0 = cpu_of(daemon) if daemon is not None else 0.0
    c0 = time.process_time()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if daemon is not None:
        cpu += cpu_of(daemon) - d0
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=65530)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    text = maps_text(args.n)
    mm = Kernel().spawn_from_maps(text, "bench").mm
    with tempfile.TemporaryDirectory(prefix="bench-mount-") as tmp:
        proc, ready = start_mount(tmp, ["--port", "0"])
        try:
            with httpx.Client(base_url=ready["url"], timeout=300) as http:
                resp = http.post("/processes", json={"name": "bench", "maps": text})
                resp.raise_for_status()
                pid = resp.json()["pid"]
            path = os.path.join(tmp, str(pid), "maps")
            size = len(mm.maps())
            assert read_file(path, 1 << 17) == size, "the mount's text differs in size"
            results = run(mm, path, args.rounds, proc.pid)
        finally:
            stop_mount(proc, tmp)
    report(args, size, results)


KINDS = ("engine", "whole", "mount", "mount4k")


def run(mm: object, path: str, rounds: int, daemon: int) -> dict[str, dict[str, list[float]]]:
    from core import Mm

    assert isinstance(mm, Mm)
    out: dict[str, dict[str, list[float]]] = {
        r: {k + suffix: [] for k in KINDS for suffix in ("", "_cpu")} for r in READERS
    }
    for _ in range(rounds):
        for reader in READERS:
            os.setxattr(path, "user.vmasim.reader", reader.encode())
            runs: dict[str, tuple[float, float]] = {
                "engine": timed(lambda r=reader: MapsFile(mm, r).read_all()),  # type: ignore[misc]
                "whole": timed(lambda r=reader: read_maps(mm, r)),  # type: ignore[misc]
                "mount": timed(lambda: read_file(path, 1 << 17), daemon),
                "mount4k": timed(lambda: read_file(path, 4096), daemon),
            }
            for kind, (wall, cpu) in runs.items():
                out[reader][kind].append(wall)
                out[reader][kind + "_cpu"].append(cpu)
    return out


def report(args: argparse.Namespace, size: int, results: dict[str, dict[str, list[float]]]) -> None:
    cmd = " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    print(f"# {cmd}")
    print(f"# {args.n} VMAs, {size} bytes of maps, median of {args.rounds} rounds (ms)")
    summary = {}
    for unit, suffix in (("wall", ""), ("cpu", "_cpu")):
        print(f"{unit:6} {'reader':10}" + "".join(f"{k:>9}" for k in KINDS)
              + f" {'mount/engine':>13} {'mount/whole':>12}")  # fmt: skip
        for reader, t in results.items():
            med = {k: statistics.median(t[k + suffix]) * 1e3 for k in KINDS}
            ratios = (med["mount"] / med["engine"], med["mount"] / med["whole"])
            summary[f"{reader}_{unit}"] = med | {
                "mount_over_engine": ratios[0],
                "mount_over_whole": ratios[1],
            }
            print(f"{unit:6} {reader:10}" + "".join(f"{med[k]:9.1f}" for k in KINDS)
                  + f" {ratios[0]:12.2f}x {ratios[1]:11.2f}x")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": cmd, "n": args.n, "bytes": size, "ms": summary}, f, indent=2)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:  # pragma: no cover
        sys.exit(exc.returncode)
