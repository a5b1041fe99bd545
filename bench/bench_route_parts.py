"""Benchmark: what a fault request costs beyond the shape route, part by part.

Run from the repository root::

    VMASIM_ENGINE=compiled .venv/bin/python bench/bench_route_parts.py              # CPU time
    VMASIM_ENGINE=compiled .venv/bin/python bench/bench_route_parts.py --callgrind  # instructions

Issue 19 compares ``POST /processes/{pid}/faults`` with the shape route of
``bench/bench_rest.py`` (same path shape, body and answer length, no work). Here the
service's own ``create_app()`` gets one variant at a time of the shape route, each
adding one part of the fault route, at the shape route's place in the route table (right
before the fault route's router), and every request is an in-process ASGI call through
the full middleware stack, one at a time (no HTTP server: what uvicorn and h11 cost is
the same for every route):

* ``shape``: ``pid: int``, the body parsed into ``FaultIn``, a constant answer;
* ``json``: the same with the strict JSON reader (``app.jsonbody.JsonRoute``);
* ``emptydep``: and a dependency that takes nothing (FastAPI's cost of one solve);
* ``dep``: the fault route's dependency (``app.deps.TargetDep``) instead of ``pid``;
* ``engine``: and the engine's fault (``Mm.fault_nowait``), the answer still constant;
* ``apply``: ``Service.apply`` instead (the fault as the route runs it, ``FaultOut``
  built), the answer still constant;
* ``fault``: the fault route itself (its answer serialised; the per-process admission
  count applies to its path only).

Every request faults a new page of one anonymous mapping (the shape variants fault
nothing). Default: CPU time per request (``time.process_time``, medians of rounds that
alternate the variants). ``--callgrind``: each variant in a process of its own under
``valgrind --tool=callgrind``, once with ``--requests`` and once with three times as
many; the difference of the instruction counts per extra request, which the machine's
load does not move.

``--server PORT``: the same comparison through HTTP, the verdict's own setting: the
server of ``bench/bench_rest.py`` (uvicorn, the service and its bench routes) under
callgrind, three runs, sending over one keep-alive connection, after the same set-up
and 50 warm-ups of each route, (shape, fault) requests of (N, N), (4N, N) and (N, 4N);
then SIGTERM, and the server's instruction count at its exit. Per request: the
difference of two runs over 3N. The start is awaited by TCP connect alone (a health
request per poll would differ between runs).

``--pieces NAMES``: instructions per call of small pieces of the fault request (see
:data:`PIECES`), each a loop of N and of 3N iterations in one process under callgrind,
which dumps its counts around every ``itertools.starmap`` step (each loop runs as one);
per iteration the difference over 2N, minus nothing (an empty loop's iteration, the
piece ``none``, is about 200).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Annotated, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi import APIRouter, Depends, FastAPI, Response  # noqa: E402

from app import deps, limits  # noqa: E402
from app.deps import TargetDep  # noqa: E402
from app.jsonbody import JsonRequest, JsonRoute, is_json  # noqa: E402
from app.main import create_app  # noqa: E402
from app.routes import faults  # noqa: E402
from app.schemas.faults import FaultIn  # noqa: E402
from bench.bench_rest import ENDPOINTS, SHAPE_ANSWER, post, run_block  # noqa: E402
from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE  # noqa: E402

VARIANTS = ("shape", "json", "emptydep", "dep", "engine", "apply", "fault")


async def _nothing() -> None:
    return None


def _answer() -> Response:
    return Response(SHAPE_ANSWER, media_type="application/json")


def variant(kind: str) -> tuple[FastAPI, str]:
    """The app with variant ``kind`` in place, and its path (``{pid}`` to fill)."""
    app = create_app()
    if kind == "fault":
        return app, "/processes/{pid}/faults"
    if kind == "shape":
        router = APIRouter(prefix="/bench")
    else:
        router = APIRouter(prefix="/bench", route_class=JsonRoute)
    post = router.post("/processes/{pid}/faults")
    if kind in ("shape", "json"):

        async def plain(pid: int, body: FaultIn) -> Response:
            return _answer()

        post(plain)
    elif kind == "emptydep":

        async def empty(pid: int, body: FaultIn, _: Annotated[None, Depends(_nothing)]) -> Response:
            return _answer()

        post(empty)
    elif kind == "dep":

        async def dep(target: TargetDep, body: FaultIn) -> Response:
            return _answer()

        post(dep)
    elif kind == "engine":

        async def engine(target: TargetDep, body: FaultIn) -> Response:
            target.proc.mm.fault_nowait(body.addr, body.access)
            return _answer()

        post(engine)
    elif kind == "apply":

        async def apply(target: TargetDep, body: FaultIn) -> Response:
            await target.service.apply(target.proc, "fault", body)
            return _answer()

        post(apply)
    else:
        raise SystemExit(f"no variant {kind!r}: one of {', '.join(VARIANTS)}")
    routes = app.router.routes
    app.include_router(router)
    ours = routes.pop()
    place = next(
        i for i, r in enumerate(routes) if getattr(r, "original_router", None) is faults.router
    )
    routes.insert(place, ours)
    app.router._mark_routes_changed()  # FastAPI caches its effective route table
    return app, "/bench/processes/{pid}/faults"


async def call(app: FastAPI, path: str, data: bytes) -> int:
    """One POST through the whole ASGI stack; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        await asyncio.Event().wait()  # never: the app reads one body
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


class Target:
    """A variant's app, running, with a process and a mapping to fault in."""

    def __init__(self, app: FastAPI, path: str, pages: int) -> None:
        self.app = app
        self.path = path
        self.pages = pages
        self.next = 0
        self.addr = 0

    def start(self) -> None:
        proc = self.app.state.service.kernel.spawn()
        length = self.pages * PAGE_SIZE
        self.addr = proc.mm.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        proc.mm.fault(self.addr, "write")  # the anon_vma: later faults take the fast path
        self.next = 1
        self.path = self.path.format(pid=proc.pid)

    def bodies(self, n: int) -> list[bytes]:
        first, self.next = self.next, self.next + n
        return [
            json.dumps({"addr": hex(self.addr + (first + i) * PAGE_SIZE), "access": "write"})
            .replace(" ", "")
            .encode()
            for i in range(n)
        ]

    async def run(self, bodies: list[bytes]) -> None:
        for data in bodies:
            status = await call(self.app, self.path, data)
            if status != 200:
                raise SystemExit(f"{self.path}: {status}")


async def _running(
    kinds: list[str], pages: int, body: Callable[[list[Target]], Awaitable[None]]
) -> None:
    targets = [Target(*variant(kind), pages) for kind in kinds]
    contexts = [t.app.router.lifespan_context(t.app) for t in targets]
    for ctx in contexts:
        await ctx.__aenter__()
    try:
        for t in targets:
            t.start()
        await body(targets)
    finally:
        for ctx in reversed(contexts):
            await ctx.__aexit__(None, None, None)


def timed(kinds: list[str], rounds: int, requests: int) -> dict[str, list[float]]:
    """CPU microseconds per request, per round, the variants alternating."""
    out: dict[str, list[float]] = {k: [] for k in kinds}

    async def body(targets: list[Target]) -> None:
        for r in range(rounds + 1):  # round 0 warms up
            order = targets[r % len(targets) :] + targets[: r % len(targets)]
            for t, kind in ((t, kinds[targets.index(t)]) for t in order):
                bodies = t.bodies(requests)
                t0 = time.process_time()
                await t.run(bodies)
                if r:
                    out[kind].append((time.process_time() - t0) / requests * 1e6)

    asyncio.run(_running(kinds, (rounds + 1) * requests + 2, body))
    return out


def _serve_count(kind: str, requests: int) -> None:
    """(Child of --callgrind) ``requests`` faults of variant ``kind`` after 100 warm-ups."""

    async def body(targets: list[Target]) -> None:
        await targets[0].run(targets[0].bodies(100 + requests))

    asyncio.run(_running([kind], requests + 102, body))


def instructions(kind: str, requests: int) -> float:
    """Instructions per request of variant ``kind`` (see the module note)."""
    counts = []
    for n in (requests, 3 * requests):
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
            + [sys.executable, __file__, "--child", kind, str(n)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        line = next(x for x in out.stderr.splitlines() if "I   refs:" in x)
        counts.append(int(line.split(":")[1].replace(",", "")))
    return (counts[1] - counts[0]) / (2 * requests)


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _http(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request on a connection of its own; the decoded answer (2xx only)."""
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
    head += f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
        s.sendall(head.encode() + data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    status = int(answer[9:12])
    if not 200 <= status < 300:
        raise SystemExit(f"{method} {path}: {answer!r}")
    text = answer.split(b"\r\n\r\n", 1)[1]
    return json.loads(text) if text else None


def server_instructions(port: int, shape: int, fault: int) -> int:
    """Instructions of one bench_rest server under callgrind, from its start to its
    exit, having served the set-up, 50 warm-ups of each route, then ``shape`` requests
    of the shape route and ``fault`` of the fault route (module note)."""
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        + [sys.executable, str(ROOT / "bench" / "bench_rest.py"), "--serve", str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 1200
        while not _connects(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start (exit {server.returncode})")
            time.sleep(0.5)
        pid = _http(port, "POST", "/processes", {"name": "bench"})["pid"]
        pages = 2 + 100 + shape + fault
        mapping = {
            "length": pages * PAGE_SIZE,
            "prot": ["PROT_READ", "PROT_WRITE"],
            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"],
        }
        addr = int(_http(port, "POST", f"/processes/{pid}/mmap", mapping)["addr"], 16)
        _http(port, "POST", f"/processes/{pid}/faults", {"addr": addr, "access": "write"})
        page = 1
        for name, n in (("shape", 50), ("fault", 50), ("shape", shape), ("fault", fault)):
            path = ENDPOINTS[name].format(pid=pid)
            bodies = [
                {"addr": f"{addr + (page + i) * PAGE_SIZE:#x}", "access": "write"} for i in range(n)
            ]
            page += n
            run_block(port, [post(path, b) for b in bodies], 1)
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=600)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    line = next(x for x in err.splitlines() if "I   refs:" in x)
    return int(line.split(":")[1].replace(",", ""))


PIECES = {
    "none": "an empty loop",
    "machine_of": "app.deps.machine_of of a default-machine request",
    "get_target": "app.deps.get_target's coroutine, driven to its end",
    "request": "a Request as FastAPI's request_response makes it, and its Content-Type read",
    "jsonrequest": "the same, then made a JsonRequest as JsonRoute does, and is_json",
    "process_fault": "app.limits.process_of of the fault route's path",
    "process_shape": "app.limits.process_of of the shape route's path",
    "cache_key": "FastAPI's dependency cache key of TargetDep's dependant, per request",
    "pid": "a pid's text validated as app.deps.Pid",
    "target": "an app.deps.Target built",
}
"""The pieces of ``--pieces`` (each iteration does what it says once)."""


def _piece_loop(prepared: tuple[FastAPI, Any], name: str, n: int) -> None:
    """``n`` iterations of piece ``name`` (:data:`PIECES`) in the ``prepared`` app and
    process (:func:`_pieces_child`); what a branch prepares costs the same for N as for
    3N, so the difference does not count it."""
    from typing import get_args

    from fastapi.dependencies.models import _get_cache_key
    from fastapi.dependencies.utils import get_dependant
    from pydantic import TypeAdapter
    from starlette.requests import Request

    app, proc = prepared
    service = app.state.service
    path = f"/processes/{proc.pid}/faults"
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"x"), (b"content-type", b"application/json")],
        "app": app,
        "path_params": {"pid": str(proc.pid)},
        "root_path": "",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    request = Request(scope, receive)
    if name == "none":
        for _ in range(n):
            pass
    elif name == "machine_of":
        for _ in range(n):
            deps.machine_of(request)
    elif name == "get_target":
        for _ in range(n):
            try:
                deps.get_target(proc.pid, request).send(None)
            except StopIteration:
                pass
    elif name == "request":
        for _ in range(n):
            Request(scope, receive).headers.get("content-type")
    elif name == "jsonrequest":
        for _ in range(n):
            r = Request(scope, receive)
            r.__class__ = JsonRequest
            is_json(r.headers.get("content-type"))
    elif name in ("process_fault", "process_shape"):
        s = scope if name == "process_fault" else {**scope, "path": "/bench" + path}
        for _ in range(n):
            limits.process_of(s)
    elif name == "cache_key":
        depends = get_args(TargetDep)[1]
        d = get_dependant(path=path, call=depends.dependency, scope=depends.scope)
        for _ in range(n):
            _get_cache_key(dependant=d, uses_scopes_cache={})
    elif name == "pid":
        validate = TypeAdapter(deps.Pid).validate_python
        for _ in range(n):
            validate("1234")
    elif name == "target":
        for _ in range(n):
            deps.Target(service, proc)
    else:
        raise SystemExit(f"no piece {name!r}: one of {', '.join(PIECES)}")


def pieces(names: list[str], n: int) -> dict[str, float]:
    """Instructions per iteration of each piece (module note)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/cg.out"]
            + ["--dump-before=starmap_next", "--dump-after=starmap_next"]
            + [sys.executable, __file__, "--pieces-child", ",".join(names), str(n)],
            capture_output=True,
            check=True,
            cwd=ROOT,
        )
        after = []
        for f in sorted(glob.glob(f"{d}/cg.out.*"), key=lambda f: int(f.rsplit(".", 1)[1])):
            lines = Path(f).read_text().splitlines()
            if any(x.startswith("desc: Trigger") and "after" in x.lower() for x in lines):
                after.append(int(next(x for x in lines if x.startswith("totals:")).split()[1]))
    loops = after[0::2]  # each list() steps its starmap twice; the second ends it
    if len(loops) != 2 * len(names):
        raise SystemExit(f"callgrind dumps: {len(loops)} loops for {len(names)} pieces")
    return {x: (loops[2 * i + 1] - loops[2 * i]) / (2 * n) for i, x in enumerate(names)}


def _pieces_child(names: list[str], n: int) -> None:
    app = create_app()
    prepared = (app, app.state.service.kernel.spawn())
    for name in names:
        _piece_loop(prepared, name, 50)  # first-call costs (imports, caches) outside the loops
    for name in names:
        for k in (n, 3 * n):
            list(itertools.starmap(_piece_loop, [(prepared, name, k)]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--requests", type=int, default=1000, help="per round (--callgrind: 100)")
    p.add_argument("--callgrind", action="store_true", help="count instructions instead")
    p.add_argument("--server", type=int, metavar="PORT", help="through HTTP (module note)")
    p.add_argument("--pieces", metavar="NAMES", help=f"comma-separated: {', '.join(PIECES)}")
    p.add_argument("--pieces-child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _serve_count(args.child[0], int(args.child[1]))
        return 0
    if args.pieces_child:
        _pieces_child(args.pieces_child[0].split(","), int(args.pieces_child[1]))
        return 0
    kinds = args.variants.split(",")
    print(
        f"bench_route_parts: engine {os.environ.get('VMASIM_ENGINE', 'default')}, "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    if args.pieces:
        for name, count in pieces(args.pieces.split(","), args.requests).items():
            print(f"  {name:<14} {count:10,.0f} instructions per iteration   {PIECES[name]}")
    elif args.server is not None:
        n = 100 if args.requests == 1000 else args.requests
        both = server_instructions(args.server, n, n)
        shape = (server_instructions(args.server, 4 * n, n) - both) / (3 * n)
        fault = (server_instructions(args.server, n, 4 * n) - both) / (3 * n)
        print(f"  server: shape {shape:12,.0f}  fault {fault:12,.0f} instructions per request")
        print(f"  shape / fault: {shape / fault:.3f}")
    elif args.callgrind:
        requests = 100 if args.requests == 1000 else args.requests
        base = None
        for kind in kinds:
            n = instructions(kind, requests)
            base = n if base is None else base
            print(f"  {kind:<9} {n:12,.0f} instructions per request   {n - base:+10,.0f}")
    else:
        cpu = timed(kinds, args.rounds, args.requests)
        base_us = statistics.median(cpu[kinds[0]])
        for kind in kinds:
            med = statistics.median(cpu[kind])
            low = min(cpu[kind])
            print(f"  {kind:<9} median {med:7.1f} us   min {low:7.1f}   {med - base_us:+7.1f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
