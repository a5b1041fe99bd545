"""Benchmark: the cluster backend (machines as Ray actors) side by side with the embedded one.

Run from the repository root::

    .venv/bin/python bench/bench_cluster.py            # 3 rounds of 4 s per configuration
    .venv/bin/python bench/bench_cluster.py --quick    # 1 round of 2 s (smoke test)
    .venv/bin/python bench/bench_cluster.py --json     # also write bench/results/bench_cluster.json

The script starts a one-node Ray cluster (``ray.init(num_cpus=2)``, no dashboard) and
two real uvicorn servers in subprocesses, one per backend: ``VMASIM_BACKEND=embedded``
and ``VMASIM_BACKEND=ray`` (a front end; each machine an actor), both with the journal
on (``VMASIM_JOURNAL_SYNC=normal``: a commit per request, no fsync, so the disk does not
set the pace). Everything shares this host's cores.

(a) **Aggregate syscall throughput.** Client threads (one per process driven, keep-alive
connections) send ``POST .../syscalls`` batches: 400 ``mmap`` (``MAP_FIXED``, 2 pages)
and 400 ``mprotect`` of one of those pages, then one ``munmap`` of the range (801 ops,
every one a syscall through the engine and a journal record). Configurations, rounds
interleaved: one machine driven by two threads (two processes on it), and two machines
driven by one thread each, in each backend. The verdict is cluster (two machines) /
cluster (one machine): the second machine runs in a second actor process, so it can use
a second core; the embedded backend's two machines share one process and its GIL.

(b) **Added latency per request.** One client, one request at a time:
``GET /machines/m1/processes/1000`` (a small JSON answer), alternating blocks of the
two backends; p50 and p99 of each and their difference.

(c) **An experiment sweep.** ``lab.sweep``: every experiment (quick) for two seeds, as
Ray tasks on the same cluster versus one after another in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import ray  # noqa: E402

from lab.runner import EXPERIMENTS  # noqa: E402
from lab.sweep import Run, run_sweep  # noqa: E402

PAGE = 4096
BASE = 0x100000000000
MAPS = 400
RW = ["PROT_READ", "PROT_WRITE"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: see {log}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not start: see {log}")


def _batch(slot: int) -> dict[str, Any]:
    base = BASE + slot * (1 << 32)
    ops: list[dict[str, Any]] = []
    for i in range(MAPS):
        addr = base + i * 2 * PAGE
        ops.append(
            {
                "op": "mmap",
                "addr": addr,
                "length": 2 * PAGE,
                "prot": RW,
                "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
            }
        )
        ops.append({"op": "mprotect", "addr": addr, "length": PAGE, "prot": ["PROT_READ"]})
    ops.append({"op": "munmap", "addr": base, "length": MAPS * 2 * PAGE})
    return {"ops": ops, "stop_on_error": True}


def _setup(url: str, machines: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        for m in machines:
            if m != "default":
                r = c.post("/machines", json={"id": m})
                assert r.status_code == 201, r.text
            for _ in range(2):
                r = c.post(f"/machines/{m}/processes", json={})
                assert r.status_code == 201, r.text


def _throughput(url: str, targets: list[tuple[str, int]], seconds: float) -> float:
    """Operations per second over ``targets`` (machine, pid), one thread each."""
    done = [0] * len(targets)
    start = threading.Barrier(len(targets) + 1)
    stop = threading.Event()
    errors: list[str] = []

    def drive(i: int, machine: str, pid: int) -> None:
        batch = _batch(i)
        ops = len(batch["ops"])
        body = json.dumps(batch).encode()
        path = f"/machines/{machine}/processes/{pid}/syscalls"
        headers = {"content-type": "application/json"}
        with httpx.Client(base_url=url, timeout=60) as c:
            start.wait()
            while not stop.is_set():
                r = c.post(path, content=body, headers=headers)
                # Every op succeeded (stop_on_error: a failure ends the results early);
                # checked on the bytes, not parsed, so the client costs little CPU.
                if r.status_code != 200 or b'"ok":false' in r.content:
                    errors.append(r.text[:200])
                    return
                done[i] += ops

    threads = [
        threading.Thread(target=drive, args=(i, m, p), daemon=True)
        for i, (m, p) in enumerate(targets)
    ]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(120)
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(errors[0])
    return sum(done) / elapsed


def _latencies(url: str, count: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for _ in range(count):
            t0 = time.perf_counter()
            r = c.get("/machines/m1/processes/1000")
            out.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (2.0 if args.quick else 4.0)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    # SIGTERM ends the run through the finally below: the servers and Ray stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    address = ray.get_runtime_context().gcs_address
    common = {"VMASIM_JOURNAL_SYNC": "normal", "VMASIM_STATE_INTERVAL": "0"}
    servers: list[subprocess.Popen[bytes]] = []
    try:
        emb, emb_url = _server(
            {**common, "VMASIM_BACKEND": "embedded", "VMASIM_STATE_FILE": str(tmp / "state.json")},
            tmp / "embedded.log",
        )
        servers.append(emb)
        clu, clu_url = _server(
            {
                **common,
                "VMASIM_BACKEND": "ray",
                "VMASIM_RAY_ADDRESS": address,
                "VMASIM_CLUSTER_STORE": str(tmp / "store"),
            },
            tmp / "cluster.log",
        )
        servers.append(clu)
        for url in (emb_url, clu_url):
            _setup(url, ["m1", "m2"])
        configs = {
            "embedded, 1 machine": (emb_url, [("m1", 1000), ("m1", 1001)]),
            "embedded, 2 machines": (emb_url, [("m1", 1000), ("m2", 1000)]),
            "cluster, 1 machine": (clu_url, [("m1", 1000), ("m1", 1001)]),
            "cluster, 2 machines": (clu_url, [("m1", 1000), ("m2", 1000)]),
        }
        rates: dict[str, list[float]] = {k: [] for k in configs}
        for _ in range(rounds):
            for name, (url, targets) in configs.items():
                rates[name].append(_throughput(url, targets, seconds))
        med = {k: statistics.median(v) for k, v in rates.items()}
        print("(a) aggregate syscall throughput (ops/s, median of rounds)")
        for k, v in med.items():
            print(f"    {k:22s} {v:10.0f}   rounds: {', '.join(f'{x:.0f}' for x in rates[k])}")
        ratio = med["cluster, 2 machines"] / med["cluster, 1 machine"]
        ratio_emb = med["embedded, 2 machines"] / med["embedded, 1 machine"]
        print(f"    cluster 2 machines / 1 machine: {ratio:.2f}x (target >= 1.6)")
        print(f"    embedded 2 machines / 1 machine: {ratio_emb:.2f}x")

        lat: dict[str, list[float]] = {"embedded": [], "cluster": []}
        per = 100 if args.quick else 300
        _latencies(emb_url, 20), _latencies(clu_url, 20)  # warm up
        for _ in range(rounds * 2):
            lat["embedded"] += _latencies(emb_url, per)
            lat["cluster"] += _latencies(clu_url, per)
        p = {k: (_pct(v, 0.5) * 1e3, _pct(v, 0.99) * 1e3) for k, v in lat.items()}
        print("(b) latency of GET /machines/m1/processes/1000, one at a time (ms)")
        for k, (p50, p99) in p.items():
            print(f"    {k:10s} p50 {p50:6.2f}  p99 {p99:6.2f}  ({len(lat[k])} requests)")
        added = (p["cluster"][0] - p["embedded"][0], p["cluster"][1] - p["embedded"][1])
        print(f"    added by the cluster backend: p50 {added[0]:+.2f} ms, p99 {added[1]:+.2f} ms")

        runs = [Run(name, seed) for name in EXPERIMENTS for seed in (1, 2)]
        t0 = time.perf_counter()
        run_sweep(runs, "sequential")
        sequential = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_sweep(runs, "ray")
        tasks = time.perf_counter() - t0
        print(
            f"(c) sweep of {len(runs)} quick runs: sequential {sequential:.1f} s, "
            f"Ray tasks {tasks:.1f} s ({sequential / tasks:.2f}x)"
        )
        if args.json:
            doc = {
                "command": " ".join(["bench/bench_cluster.py", *sys.argv[1:]]),
                "cpus": os.cpu_count(),
                "loadavg": os.getloadavg(),
                "throughput_ops_per_s": rates,
                "throughput_median": med,
                "cluster_2_over_1": ratio,
                "embedded_2_over_1": ratio_emb,
                "latency_ms_p50_p99": p,
                "sweep_s": {"runs": len(runs), "sequential": sequential, "ray": tasks},
            }
            out = ROOT / "bench" / "results" / "bench_cluster.json"
            out.write_text(json.dumps(doc, indent=2) + "\n")
            print(f"wrote {out}")
    finally:
        for proc in servers:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        # The front end's machine actors are detached: they end with the cluster.
        ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
