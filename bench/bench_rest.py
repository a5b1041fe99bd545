"""Benchmark: page faults over REST, side by side with a bare FastAPI endpoint.

Run from the repository root::

    .venv/bin/python bench/bench_rest.py            # 25 rounds of 400 requests per endpoint
    .venv/bin/python bench/bench_rest.py --quick    # 3 rounds of 500 (smoke test)
    .venv/bin/python bench/bench_rest.py --json     # also write bench/results/bench_rest.json

The script starts one real uvicorn server in a subprocess (``--serve``: the service's
own ``create_app()`` with its default settings and middleware, one worker, uvicorn's
defaults as ``vmasim serve`` uses them) to which it adds benchmark-only routes
(:func:`add_bench_routes`), under the same middleware and at the fault route's place
in FastAPI's route table (matching tries the routes in order):

* ``POST /bench/processes/{pid}/faults`` (**shape**): the fault route's shape without
  its work: a decimal ``pid`` path parameter, the body parsed into the fault route's
  request model (``FaultIn``), an answer with the fields and length of the fault
  route's (built once). No dependency, no engine call. Issue 19's target compares
  the fault route with this one;
* ``POST /bench/bare``: ``async def`` receiving the body (``await request.body()``,
  unparsed) and returning ``{"ok": true}``;
* ``POST /bench/bare_model``: the same, but parsing the body into ``FaultIn`` and
  returning a small model.

(a) **Fault requests per second.** ``POST /processes/{pid}/faults`` with a write fault
on the next page of one large anonymous mapping (a new page each time: the per-VMA-lock
fast path, one ``do_anonymous_page`` each) versus the bare endpoints, with the same
request bytes (size and shape) over the same connections. The load generator is a
minimal keep-alive HTTP/1.1 client on raw asyncio streams (``--connections``
concurrent connections, one request in flight on each), so that the client costs as
little CPU as possible: it shares the machine with the server. Rounds alternate the
endpoints. Rounds are short (under a second each) so that the blocks of a round see
the same machine load; the ratio is given of median rates, per round (fault / bare of
the same round, robust to the load drifting between rounds), and of the server's CPU
per request (``/proc/<pid>/stat``), which the verdict uses: on this shared 2-core
machine the wall clock mostly shows who else ran (fault "faster" than bare).

(b) **Faults per second through the batch endpoint.** ``POST /syscalls`` with one
``touch`` op over ``--touch-pages`` pages of a fresh mapping (every page one write
fault, each a separate ``Mm.fault`` taking and releasing its own locks), timed from
sending the request to the parsed response; the mapping is unmapped untimed between
runs. Also ``--fault-ops`` single ``fault`` ops in one batch (one JSON op and one
result object per fault). For context, the engine's own rate for the same faults
(``mm.fault`` in a loop in this process, no server), measured right after each touch
run so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fastapi import APIRouter, FastAPI, Request, Response  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from app.schemas.faults import FaultIn, FaultOut  # noqa: E402
from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel  # noqa: E402

DEFAULT_JSON = ROOT / "bench" / "results" / "bench_rest.json"
ENDPOINTS = {
    "fault": "/processes/{pid}/faults",
    "shape": "/bench/processes/{pid}/faults",
    "bare": "/bench/bare",
    "bare_model": "/bench/bare_model",
}
"""The endpoints of (a): the fault route, then the bare routes (:func:`add_bench_routes`)."""


# -- the server (subprocess) ---------------------------------------------------------------


class BareOut(BaseModel):
    """The bare_model endpoint's answer."""

    ok: bool


SHAPE_ANSWER = FaultOut(
    addr="0x7f0a3c2e5000",
    access="write",
    ok=True,
    outcome="ok",
    si_code=None,
    path="vma_lock",
    misses=0,
    vma_start="0x7f0a3be00000",
    vma_end="0x7f0a3c600000",
    page="anon",
    major=False,
).model_dump_json()
"""What ``/bench/processes/{pid}/faults`` answers: a fault route's answer for a page of a
mapping at the same height as the bench's (same fields, same length)."""


def add_bench_routes(app: FastAPI) -> None:
    """The benchmark-only routes (not in the OpenAPI document), on ``app`` as it stands:
    the service's middleware applies to them as to every route.

    FastAPI matches a request against the route table in order (each route tried costs
    a few microseconds; appended at the end, after the service's 33 other routes,
    matching alone cost the bare routes about 3x what it costs the fault route). So
    the same-shape route is included right before the fault route's router (it is
    tried first: if anything, the comparison favours the bare route by one route
    tried), the two others right after it.
    """
    from app.routes import faults

    shape = APIRouter(prefix="/bench")

    @shape.post("/processes/{pid}/faults", include_in_schema=False)
    async def bare_shape(pid: int, body: FaultIn) -> Response:
        # The fault route's shape without its work: same method, a decimal path
        # parameter, the body parsed into FaultIn, an answer of the same fields and
        # length (built once), no dependency, no engine call.
        return Response(SHAPE_ANSWER, media_type="application/json")

    others = APIRouter(prefix="/bench")

    @others.post("/bare", include_in_schema=False)
    async def bare(request: Request) -> dict[str, bool]:
        await request.body()  # receive the body, as every endpoint with one does
        return {"ok": True}

    @others.post("/bare_model", include_in_schema=False)
    async def bare_model(body: FaultIn) -> BareOut:
        return BareOut(ok=True)

    routes = app.router.routes
    for router, after in ((shape, 0), (others, 1)):
        app.include_router(router)
        ours = routes.pop()
        place = next(
            i for i, r in enumerate(routes) if getattr(r, "original_router", None) is faults.router
        )
        routes.insert(place + after, ours)
    app.router._mark_routes_changed()  # FastAPI caches its effective route table


def serve(port: int) -> None:
    """The service plus the bench routes, on uvicorn (one worker, defaults)."""
    import uvicorn

    from app.main import create_app

    app = create_app()
    add_bench_routes(app)
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], cwd=ROOT, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} during start-up")
        time.sleep(0.05)
    proc.terminate()
    raise SystemExit("the server did not start within 30 s")


# -- a minimal keep-alive HTTP/1.1 load generator ------------------------------------------


async def _connection(
    port: int, requests: list[bytes], start: int, step: int, statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for i in range(start, len(requests), step):
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            statuses.append(status)
    finally:
        writer.close()


def run_block(port: int, requests: list[bytes], connections: int) -> float:
    """Send every request over ``connections`` keep-alive connections; return req/s.
    Every answer must be a 200."""
    statuses: list[int] = []

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, requests, c, connections, statuses) for c in range(connections))
        )
        return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    bad = [s for s in statuses if s != 200]
    if bad or len(statuses) != len(requests):
        raise SystemExit(f"{len(bad)} non-200 answers (first {bad[:1]}), {len(statuses)} done")
    return len(requests) / elapsed


def post(path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    return (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\n\r\n"
    ).encode() + data


# -- the measurements ----------------------------------------------------------------------


def server_cpu_s(server_pid: int) -> float:
    """CPU seconds (user + system, every thread, live or exited) the server used so
    far: ``utime + stime`` of ``/proc/<pid>/stat``, in clock ticks."""
    fields = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fault_rates(
    base: str, port: int, rounds: int, per_block: int, connections: int, server_pid: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Requests per second per round and endpoint, and the server's CPU microseconds
    per request in the same rounds."""
    with httpx.Client(base_url=base, timeout=60) as http:
        pid = http.post("/processes", json={"name": "bench"}).json()["pid"]
        pages = 1 + (rounds + 1) * per_block
        body = {
            "length": pages * PAGE_SIZE,
            "prot": ["PROT_READ", "PROT_WRITE"],
            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"],
        }
        addr = int(http.post(f"/processes/{pid}/mmap", json=body).json()["addr"], 16)
        http.post(f"/processes/{pid}/faults", json={"addr": addr, "access": "write"})
    rates: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    cpu: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    next_page = 1
    for r in range(rounds + 1):  # round 0 is the warm-up
        bodies = []
        for i in range(per_block):
            page = addr + (next_page + i) * PAGE_SIZE
            bodies.append({"addr": f"{page:#x}", "access": "write"})
        next_page += per_block
        order = list(ENDPOINTS)
        order = order[r % len(order) :] + order[: r % len(order)]  # rotate who goes first
        for name in order:
            path = ENDPOINTS[name].format(pid=pid)
            requests = [post(path, b) for b in bodies]
            cpu0 = server_cpu_s(server_pid)
            rate = run_block(port, requests, connections)
            used = server_cpu_s(server_pid) - cpu0
            if r:
                rates[name].append(rate)
                cpu[name].append(used / per_block * 1e6)
    with httpx.Client(base_url=base, timeout=60) as http:
        stat = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]
        http.delete(f"/processes/{pid}")
    expected = 1 + (rounds + 1) * per_block
    if stat["events"]["vma_lock_success"] != expected or stat["rss"]["anon"] != expected:
        raise SystemExit(f"unexpected fault counts: {stat['events']}, rss {stat['rss']}")
    return rates, cpu


def batch_rates(base: str, runs: int, touch_pages: int, fault_ops: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"touch": [], "fault_ops": [], "engine": []}
    mmap = {"prot": ["PROT_READ", "PROT_WRITE"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
    with httpx.Client(base_url=base, timeout=600) as http:
        pid = http.post("/processes", json={"name": "batch"}).json()["pid"]
        for run in range(runs + 1):  # run 0 is the warm-up
            for kind, pages in (("touch", touch_pages), ("fault_ops", fault_ops)):
                length = pages * PAGE_SIZE
                r = http.post(f"/processes/{pid}/mmap", json={"length": length, **mmap})
                addr = int(r.json()["addr"], 16)
                if kind == "touch":
                    ops: list[dict[str, Any]] = [{"op": "touch", "addr": addr, "length": length}]
                else:
                    ops = [
                        {"op": "fault", "addr": addr + i * PAGE_SIZE, "access": "write"}
                        for i in range(pages)
                    ]
                payload = json.dumps({"ops": ops}).encode()
                headers = {"content-type": "application/json"}
                t0 = time.perf_counter()
                r = http.post(f"/processes/{pid}/syscalls", content=payload, headers=headers)
                result = r.json()
                elapsed = time.perf_counter() - t0
                if r.status_code != 200 or result["failed"]:
                    raise SystemExit(f"batch failed: {r.status_code} {r.text[:300]}")
                if kind == "touch":
                    done = result["results"][0]["touch"]
                    if (done["faults"], done["ok"], done["vma_lock"]) != (pages, pages, pages):
                        raise SystemExit(f"unexpected touch result {done}")
                elif result["completed"] != pages:
                    raise SystemExit(f"{result['completed']} of {pages} fault ops completed")
                http.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": length})
                if run:
                    out[kind].append(pages / elapsed)
                if run and kind == "touch":
                    # Right after: the engine alone, same faults, same machine load.
                    out["engine"] += engine_rate(pages, 1)
        http.delete(f"/processes/{pid}")
    return out


def engine_rate(pages: int, runs: int) -> list[float]:
    """The same anonymous write faults, ``mm.fault`` in a loop here (no server)."""
    rates = []
    mm = Kernel().spawn().mm
    for _ in range(runs):
        addr = mm.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        fault = mm.fault
        t0 = time.perf_counter()
        for a in range(addr, addr + pages * PAGE_SIZE, PAGE_SIZE):
            fault(a, "write")
        rates.append(pages / (time.perf_counter() - t0))
        mm.munmap(addr, pages * PAGE_SIZE)
    return rates


def _fmt(rates: list[float]) -> str:
    return f"median {statistics.median(rates):>10,.0f}/s   best {max(rates):>10,.0f}/s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=25, help="timed rounds per endpoint")
    p.add_argument("--requests", type=int, default=400, help="requests per round")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--batch-runs", type=int, default=5)
    p.add_argument("--touch-pages", type=int, default=100_000)
    p.add_argument("--fault-ops", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="3 rounds of 500, smaller batches")
    p.add_argument("--no-batch", action="store_true", help="(a) only, skip the batch runs (b)")
    p.add_argument("--json", nargs="?", const=str(DEFAULT_JSON), help="write results here")
    p.add_argument("--port", type=int, help="the server's port (default: a free one)")
    args = p.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    if args.quick:
        args.rounds, args.requests, args.batch_runs = 3, 500, 2
        args.touch_pages, args.fault_ops = 20_000, 2_000
    port = args.port if args.port is not None else free_port()
    print(
        f"bench_rest: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    server = start_server(port)
    try:
        base = f"http://127.0.0.1:{port}"
        faults, cpu = fault_rates(
            base, port, args.rounds, args.requests, args.connections, server.pid
        )
        batch: dict[str, list[float]] = {"touch": [], "fault_ops": [], "engine": []}
        if not args.no_batch:
            batch = batch_rates(base, args.batch_runs, args.touch_pages, args.fault_ops)
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = batch["engine"]

    print(
        f"(a) {args.rounds} rounds x {args.requests} requests per endpoint, "
        f"{args.connections} keep-alive connections, rounds alternate the endpoints"
    )
    for name in ENDPOINTS:
        print(f"  POST {name:<11} {_fmt(faults[name])}")
    med = {k: statistics.median(v) for k, v in faults.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    for bare in ("shape", "bare", "bare_model"):
        pairs = statistics.median(f / b for f, b in zip(faults["fault"], faults[bare], strict=True))
        by_cpu = cpu_med[bare] / cpu_med["fault"]
        line = (
            f"  fault / {bare + ':':<11} {med['fault'] / med[bare]:.2f} (medians), "
            f"{pairs:.2f} (median of per-round ratios), {by_cpu:.2f} (server CPU)"
        )
        if bare == "shape":  # by CPU: on a loaded machine the wall clock shows the load
            line += f"   target >= 0.9 (server CPU): {'met' if by_cpu >= 0.9 else 'NOT met'}"
        print(line)
    print("  server CPU per request (user + system, all threads; 10 ms ticks / block):")
    for name in ENDPOINTS:
        print(
            f"    {name:<11} median {cpu_med[name]:7.0f} us   "
            f"(CPU-bound rate {1e6 / cpu_med[name]:,.0f}/s)"
        )
    if args.no_batch:
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
        return 0
    print(f"(b) batch endpoint, {args.batch_runs} runs each")
    print(f"  1 touch op of {args.touch_pages:,} pages     {_fmt(batch['touch'])} faults")
    print(f"  {args.fault_ops:,} fault ops              {_fmt(batch['fault_ops'])} faults")
    print(f"  engine alone (mm.fault loop)  {_fmt(engine)} faults  (after each touch run)")
    pairs = statistics.median(t / e for t, e in zip(batch["touch"], engine, strict=True))
    print(f"  touch batch / engine alone: {pairs:.2f} (median of per-run ratios)")
    touch_med = statistics.median(batch["touch"])
    verdict = "met" if touch_med >= 100_000 else "NOT met"
    print(f"  touch batch: {touch_med:,.0f} faults/s   target >= 100,000/s: {verdict}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "args": vars(args),
                    "requests_per_s": faults,
                    "server_cpu_us_per_request": cpu,
                    "batch": batch,
                    "engine": engine,
                    "load_average": os.getloadavg(),
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
