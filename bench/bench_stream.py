"""Benchmark: streaming the maps of a process with 65,530 VMAs to an httpx client.

Run from the repository root::

    .venv/bin/python bench/bench_stream.py             # 65,530 VMAs, 30 reads per case
    .venv/bin/python bench/bench_stream.py --quick     # 5,000 VMAs, 5 reads per case
    .venv/bin/python bench/bench_stream.py --json      # also bench/results/bench_stream.json

The service runs in this process on one uvicorn worker (a thread, the live-server
fixture's set-up: loopback socket with ``TCP_NODELAY``, default settings). The process
is built by syscalls: ``N - 1`` one-page anonymous VMAs alternating ``rw-p``/``r--p`` (so
none merge) in a far-away arena, ``mmap(MAP_FIXED)`` each, plus the gate line. A read is
the wall time of one ``httpx.Client.get`` (connection kept alive) from sending the
request to the last byte of the body, ``time.perf_counter_ns``; the body is checked
against ``mm.maps()`` once per case.

Cases: ``GET /maps`` with each reader; ``GET /maps.json``; one snapshot of
``GET /maps/stream?count=1&format=text`` (JSON Lines, streamed); and ``GET /maps``
(seqcount) after one ``mprotect`` changed one VMA (lines are cached per VMA, so the
first read after a change re-formats only the changed lines). Untimed warm-up reads
precede each case; the cyclic GC stays on (the service runs with it).
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from core import (  # noqa: E402
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Process,
)

PAGE = 4096
ARENA = 0x2000_0000_0000
TARGET_MS = 100.0


def build(kernel: Kernel, vmas: int) -> Process:
    """A process with ``vmas`` VMAs (``vmas - 1`` arena pages; the gate line is not a
    VMA, so the text has ``vmas`` lines)."""
    proc = kernel.spawn("bench")
    mm = proc.mm
    flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
    for i in range(vmas - 1):
        prot = PROT_READ | (PROT_WRITE if i % 2 == 0 else 0)
        mm.mmap(ARENA + i * PAGE, PAGE, prot, flags)
    assert mm.map_count == vmas - 1, mm.map_count
    return proc


def serve(kernel: Kernel) -> tuple[str, uvicorn.Server, threading.Thread, socket.socket]:
    app = create_app(Settings(), kernel)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread, sock


def timed(fn: Callable[[], bytes], reps: int, warmup: int) -> tuple[list[float], bytes]:
    body = b""
    for _ in range(warmup):
        body = fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        body = fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples, body


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "min_ms": round(min(samples), 2),
        "median_ms": round(statistics.median(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vmas", type=int, default=65_530)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="5,000 VMAs, 5 reads per case")
    parser.add_argument("--json", action="store_true", help="write bench/results/bench_stream.json")
    args = parser.parse_args(argv)
    vmas, reps = (5_000, 5) if args.quick else (args.vmas, args.reps)

    kernel = Kernel()
    t0 = time.perf_counter()
    proc = build(kernel, vmas)
    build_s = time.perf_counter() - t0
    mm = proc.mm
    url, server, thread, sock = serve(kernel)
    results: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            base = f"/processes/{proc.pid}"

            def get(path: str, **params: Any) -> Callable[[], bytes]:
                def call() -> bytes:
                    r = client.get(path, params=params)
                    r.raise_for_status()
                    return r.content

                return call

            def stream_one() -> bytes:
                params: dict[str, str | int] = {"count": 1, "interval": 0, "format": "text"}
                with client.stream("GET", f"{base}/maps/stream", params=params) as r:
                    return b"".join(r.iter_bytes())

            expected = mm.maps().encode()
            first_ms, body = timed(get(f"{base}/maps"), 1, 0)
            assert body == expected
            results["GET /maps (seqcount), first read"] = {"ms": round(first_ms[0], 2)}
            cases: list[tuple[str, Callable[[], bytes], Callable[[bytes], bool]]] = [
                (f"GET /maps?reader={r}", get(f"{base}/maps", reader=r), expected.__eq__)
                for r in ("seqcount", "mmap_lock", "per_vma")
            ]
            cases.append(
                (
                    "GET /maps.json",
                    get(f"{base}/maps.json"),
                    lambda b: json.loads(b)["count"] == vmas,
                )
            )
            cases.append(
                (
                    "GET /maps/stream (1 snapshot, text)",
                    stream_one,
                    lambda b: json.loads(b)["text"].encode() == expected,
                )
            )
            for name, fn, check in cases:
                samples, body = timed(fn, reps, 2)
                assert check(body), name
                results[name] = summary(samples)
            # One VMA changed before each read.
            changed = []
            addr = ARENA + 2 * PAGE
            for i in range(reps):
                mm.mprotect(addr, PAGE, PROT_READ | (PROT_WRITE if i % 2 else 0))
                t = time.perf_counter_ns()
                body = get(f"{base}/maps")()
                changed.append((time.perf_counter_ns() - t) / 1e6)
            mm.mprotect(addr, PAGE, PROT_READ | PROT_WRITE)
            results["GET /maps (seqcount) after one mprotect"] = summary(changed)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    head = f"{vmas} VMAs ({len(expected) / 2**20:.1f} MiB), {reps} reads per case"
    print(f"bench_stream: {head}; process built by syscalls in {build_s:.1f} s")
    print(f"python {platform.python_version()}, {platform.machine()}, target <= {TARGET_MS} ms")
    print(f"{'case':44} {'min':>8} {'median':>8} {'max':>8}  (ms)")
    for name, r in results.items():
        if "ms" in r:
            print(f"{name:44} {r['ms']:8.2f}")
        else:
            print(f"{name:44} {r['min_ms']:8.2f} {r['median_ms']:8.2f} {r['max_ms']:8.2f}")
    if args.json:
        out = ROOT / "bench" / "results" / "bench_stream.json"
        out.parent.mkdir(exist_ok=True)
        payload = {"vmas": vmas, "reps": reps, "bytes": len(expected), "results": results}
        out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
