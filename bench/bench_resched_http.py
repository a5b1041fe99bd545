"""Benchmark: a cheap request's latency while another client reads a 65,530-VMA process.

Run from the repository root, once per tree (the server runs that tree's ``app`` and
``core``, compiled where its build is current)::

    VMASIM_ENGINE=compiled .venv/bin/python bench/bench_resched_http.py . 18802
    VMASIM_ENGINE=compiled .venv/bin/python bench/bench_resched_http.py /tmp/base 18802 \
        --file smaps_rollup

Starts uvicorn on ``PORT`` (stopped by its PID at the end), creates a process from the
maps text of 65,530 one-page anonymous VMAs, then times ``GET /healthz`` every 10 ms:
3 s with nothing else running, then 10 s while a second client reads the process's
``maps`` (or ``--file``) back to back. Prints the median, p99 and maximum of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

N_VMAS = 65530
BASE = 0x10_0000_0000


def _probe(client: httpx.Client, seconds: float) -> list[float]:
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        client.get("/healthz").raise_for_status()
        lat.append(time.perf_counter() - t)
        time.sleep(0.01)
    return lat


def _fmt(xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[int(len(xs) * 0.99)]
    return (
        f"median {statistics.median(xs) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, "
        f"max {xs[-1] * 1e3:.2f} ms (n={len(xs)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("--file", default="maps", help="maps, smaps or smaps_rollup")
    parser.add_argument("--reader", default="mmap_lock")
    args = parser.parse_args(argv)
    tree = str(args.tree.resolve())
    env = {**os.environ, "PYTHONPATH": tree}
    workdir = tempfile.mkdtemp(prefix="bench-resched-http-")
    cmd = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(args.port)]
    server = subprocess.Popen([*cmd, "--log-level", "warning"], cwd=workdir, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        client = httpx.Client(base_url=base, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                health = client.get("/healthz").json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        print(f"engine: {health.get('engine')}")
        lines = "".join(
            f"{BASE + 2 * i * 4096:x}-{BASE + (2 * i + 1) * 4096:x} rw-p 00000000 00:00 0\n"
            for i in range(N_VMAS)
        )
        created = client.post("/processes", json={"name": "big", "maps": lines})
        created.raise_for_status()
        path = f"/processes/{created.json()['pid']}/{args.file}"
        params = {"reader": args.reader}
        client.get(path, params=params).raise_for_status()
        quiet = _probe(client, 3)
        stop = threading.Event()
        reads = [0]

        def reader() -> None:
            with httpx.Client(base_url=base, timeout=120) as other:
                while not stop.is_set():
                    other.get(path, params=params).raise_for_status()
                    reads[0] += 1

        thread = threading.Thread(target=reader)
        thread.start()
        time.sleep(0.5)
        busy = _probe(client, 10)
        stop.set()
        thread.join(120)
        print(f"GET /healthz alone: {_fmt(quiet)}")
        print(
            f"GET /healthz during {reads[0]} reads of {args.file} ({N_VMAS:,} VMAs, "
            f"reader={args.reader}): {_fmt(busy)}"
        )
    finally:
        server.terminate()
        server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
