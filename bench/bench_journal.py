"""Benchmark: what the journal costs, syscall requests per second side by side.

Run from the repository root::

    .venv/bin/python bench/bench_journal.py           # 12 rounds x 400 requests per server
    .venv/bin/python bench/bench_journal.py --quick   # 3 rounds of 200 (smoke test)
    .venv/bin/python bench/bench_journal.py --json    # also write bench/results/bench_journal.json
    .venv/bin/python bench/bench_journal.py --batch 1000  # also 10 batches of 1000 ops per round

Four real uvicorn servers run at once (``python -m uvicorn app.main:app``, one worker
each, the service's defaults), each with its own state directory:

* ``off``: no ``VMASIM_STATE_FILE`` (nothing survives a restart);
* ``checkpoint``: ``VMASIM_DURABILITY=checkpoint`` (a checkpoint every 30 s; a crash
  loses up to 30 s);
* ``journal-normal``: the journal with ``VMASIM_JOURNAL_SYNC=normal`` (survives
  ``kill -9``, not a power loss: no ``fsync`` per commit);
* ``journal-full``: the journal with ``VMASIM_JOURNAL_SYNC=full``, the default
  (survives a power loss too: one ``fsync`` per group commit).

The load is syscalls: each connection owns a process and alternates ``mmap`` (one page,
``MAP_FIXED``) and ``munmap`` of it, so every request changes the machine (and is
journaled) while the machine stays small. The load generator is ``bench_rest``'s
minimal keep-alive HTTP/1.1 client, with ``--connections`` connections (one request in
flight on each: group commit can gather at most that many records) and with one
connection (every request waits for its own commit: the latency cost). Rounds
alternate the servers (order rotated), so all four see the same machine load; the
verdicts are ratios of medians to ``off`` and the server CPU time per request
(``utime + stime`` of the server process, all threads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.bench_rest import _connection, free_port, post, server_cpu_s  # noqa: E402

DEFAULT_JSON = ROOT / "bench" / "results" / "bench_journal.json"
MODES = {
    "off": {},
    "checkpoint": {"VMASIM_DURABILITY": "checkpoint"},
    "journal-normal": {"VMASIM_DURABILITY": "journal", "VMASIM_JOURNAL_SYNC": "normal"},
    "journal-full": {"VMASIM_DURABILITY": "journal", "VMASIM_JOURNAL_SYNC": "full"},
}
PAGE = 4096
BASE = 0x100000000000


def start(mode: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMASIM_")}
    env.update(MODES[mode])
    if mode != "off":
        env["VMASIM_STATE_FILE"] = str(directory / f"{mode}.json")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    return proc, port
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"{mode}: the server exited during start-up")
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{mode}: the server did not start within 60 s")


def requests_for(pids: list[int], count: int, batch: int = 0) -> list[bytes]:
    """``count`` requests, request i on connection i % len(pids): that connection's
    process alternates mmap and munmap of one page at a fixed address; with ``batch``,
    each request is a ``/syscalls`` batch of ``batch`` such operations (even: the page
    is unmapped at its end)."""
    out = []
    n = len(pids)
    mmap = {"addr": BASE, "length": PAGE, "prot": ["PROT_READ", "PROT_WRITE"],
            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]}  # fmt: skip
    munmap = {"addr": BASE, "length": PAGE}
    for i in range(count):
        pid, k = pids[i % n], i // n
        if batch:
            ops = [{"op": "munmap", **munmap} if j % 2 else {"op": "mmap", **mmap}
                   for j in range(batch)]  # fmt: skip
            out.append(post(f"/processes/{pid}/syscalls", {"ops": ops}))
        elif k % 2 == 0:
            out.append(post(f"/processes/{pid}/mmap", mmap))
        else:
            out.append(post(f"/processes/{pid}/munmap", munmap))
    return out


def run_block(port: int, requests: list[bytes], connections: int) -> float:
    """Send the requests (2xx each) over ``connections`` keep-alive connections."""
    statuses: list[int] = []

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, requests, c, connections, statuses) for c in range(connections))
        )
        return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    bad = [s for s in statuses if s not in (200, 204)]
    if bad or len(statuses) != len(requests):
        raise SystemExit(f"{len(bad)} failed answers (first {bad[:1]}), {len(statuses)} done")
    return len(requests) / elapsed


def measure(
    servers: dict[str, tuple[subprocess.Popen[bytes], int]],
    rounds: int,
    per_block: int,
    connections: int,
    batch: int = 0,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Requests (or, with ``batch``, operations) per second and server CPU µs per
    request (per operation) of each server, round by round."""
    per = batch or 1
    pids: dict[str, list[int]] = {}
    for mode, (_, port) in servers.items():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            pids[mode] = [
                http.post("/processes", json={"name": f"c{c}"}).json()["pid"]
                for c in range(connections)
            ]
    rates: dict[str, list[float]] = {m: [] for m in servers}
    cpu: dict[str, list[float]] = {m: [] for m in servers}
    order = list(servers)
    for r in range(rounds + 1):  # round 0 warms up
        turn = order[r % len(order) :] + order[: r % len(order)]
        for mode in turn:
            proc, port = servers[mode]
            requests = requests_for(pids[mode], per_block, batch)
            cpu0 = server_cpu_s(proc.pid)
            rate = run_block(port, requests, connections)
            used = server_cpu_s(proc.pid) - cpu0
            if r:
                rates[mode].append(rate * per)
                cpu[mode].append(used / (per_block * per) * 1e6)
    for mode, (_, port) in servers.items():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for pid in pids[mode]:
                http.delete(f"/processes/{pid}")
    return rates, cpu


def report(
    title: str, rates: dict[str, list[float]], cpu: dict[str, list[float]], unit: str = "request"
) -> dict[str, Any]:
    print(title)
    base = statistics.median(rates["off"])
    out: dict[str, Any] = {}
    for mode in rates:
        med = statistics.median(rates[mode])
        us = statistics.median(cpu[mode])
        out[mode] = {"median_rps": med, "rates": rates[mode], "cpu_us": us}
        print(
            f"  {mode:<15} median {med:>8,.0f} {unit}s/s  best {max(rates[mode]):>8,.0f}  "
            f"x{med / base:.2f} of off   server CPU {us:>6,.1f} us/{unit}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--requests", type=int, default=400, help="requests per server per round")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument(
        "--batch",
        type=int,
        default=0,
        help="also send /syscalls batches of this many operations (per-operation figures)",
    )
    p.add_argument("--batches", type=int, default=10, help="batches per server per round")
    p.add_argument("--quick", action="store_true", help="3 rounds of 200")
    p.add_argument("--json", nargs="?", const=str(DEFAULT_JSON), help="write results here")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.requests = 3, 200
    print(
        f"bench_journal: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp:
        servers = {mode: start(mode, Path(tmp)) for mode in MODES}
        try:
            for conns in (args.connections, 1):
                rates, cpu = measure(servers, args.rounds, args.requests, conns)
                title = (
                    f"{args.rounds} rounds x {args.requests} syscall requests per server, "
                    f"{conns} connection(s), rounds alternate the servers"
                )
                results[f"connections_{conns}"] = report(title, rates, cpu)
            if args.batch:
                requests = args.batches
                rates, cpu = measure(servers, args.rounds, requests, 1, args.batch)
                title = (
                    f"{args.rounds} rounds x {requests} batches of {args.batch} operations per "
                    "server, 1 connection, rounds alternate the servers"
                )
                results[f"batch_{args.batch}"] = report(title, rates, cpu, "operation")
        finally:
            for proc, _ in servers.values():
                proc.terminate()
            for proc, _ in servers.values():
                proc.wait(30)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
