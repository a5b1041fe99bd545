"""Locust load test of the vmasim REST service: a realistic mix with thresholds.

Run it with ``scripts/loadtest`` (a local uvicorn on 127.0.0.1, headless, 30 s) or the
compose file in ``docker/`` (a master and scalable workers); by hand::

    locust -f bench/load/locustfile.py --headless -u 20 -r 10 -t 30s \\
        --host http://127.0.0.1:8000 --csv reports/run --html reports/report.html

Users
    :class:`ProcessUser` (weight 4) owns one process: it spawns it with the typical
    layout, opens a file, then maps (anonymous and file), unmaps, protects, remaps,
    moves the break, sends batches, faults pages (one at a time and in ``touch``
    bursts), reads its maps (text and JSON, with each ``reader``; short snapshot
    streams), asks PROCMAP_QUERY point queries, and now and then exits and respawns.
    It tracks what it mapped, so every request must succeed: the process is its own
    and nobody else changes it. :class:`MapsReader` (weight 1) reads the maps of processes
    other users are changing at that moment (readers racing writers on one
    ``mmap_lock``); an owner waits for in-flight readers before it exits its process,
    so a reader never sees a legitimate 404.

Request types and thresholds
    :data:`TASKS` lists every task: its request type (``"METHOD /path"``, the name in
    Locust's statistics), the query parameter or batch op it needs, and its weight.
    Weight 0 disables a task (e.g. while its route is being changed); enabling it is
    changing that one number. Before a run the master
    checks the service's ``/openapi.json`` and refuses to start when an enabled task's
    route, query parameter or batch op is missing, and any unexpected status (a 404
    included) is a failed request.

    :data:`P95_MS` bounds each request type's 95th percentile (milliseconds), well
    above what the default run (10 users, server and Locust sharing a 2-core machine)
    measures even on a busy machine, so they catch a regression (a lock held too long,
    a quadratic path) without flaking. ``VMASIM_LOAD_P95_FACTOR`` scales them all
    (e.g. 2 on a slower machine, or with many more users). At the end the run fails
    (exit code 1) on any failed request, any p95 over its bound, or no request at all;
    the verdict is printed and, with ``--csv PREFIX``, written to
    ``PREFIX_thresholds.json`` next to Locust's CSV files.

Distributed runs (``docker/docker-compose.yml``): the master decides the end. It
computes the verdict and exit code; each worker, told to quit, lingers until the master
has exited (:func:`_linger_until_master_exits`), so ``--exit-code-from master`` reports
the master's own verdict.

When ``VMASIM_TOKEN`` is set (the service's bearer token), every request carries it.
The file imports only Locust and the standard library: the official Locust image runs
it without the project installed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, between, events
from locust.clients import ResponseContextManager
from locust.env import Environment
from locust.runners import WorkerRunner

log = logging.getLogger("vmasim.load")

PAGE = 4096
# Per-user mapping budget: keeps map_count (and maps reads) bounded over long runs.
MAX_REGIONS = 48
# A private arena for MAP_FIXED batches: free in the typical layout (the program sits
# at 0x555555554000, mmap allocates top-down below 0x7ffff7fff000).
ARENA = 0x100000000000
ARENA_PAGES = 16

# name -> (request type, what it needs beyond the route, weight). The need is "", a
# query parameter ("reader") or a batch op ("op:touch") the service must document.
# Weight 0: disabled until the service has it; enable a task by giving it a weight.
TASKS: dict[str, tuple[str, str, int]] = {
    "mmap_anon": ("POST /processes/{pid}/mmap", "", 12),
    "mmap_file": ("POST /processes/{pid}/mmap", "", 3),
    "munmap": ("POST /processes/{pid}/munmap", "", 8),
    "mprotect": ("POST /processes/{pid}/mprotect", "", 8),
    "mremap": ("POST /processes/{pid}/mremap", "", 3),
    "brk": ("POST /processes/{pid}/brk", "", 3),
    "batch": ("POST /processes/{pid}/syscalls", "", 5),
    "maps_text": ("GET /processes/{pid}/maps", "", 6),
    "maps_json": ("GET /processes/{pid}/maps.json", "", 4),
    "maps_reader": ("GET /processes/{pid}/maps", "reader", 4),
    "inspect": ("GET /processes/{pid}", "", 3),
    "list": ("GET /processes", "", 1),
    "respawn": ("DELETE /processes/{pid}", "", 1),
    "faults": ("POST /processes/{pid}/faults", "", 4),
    "fault_burst": ("POST /processes/{pid}/syscalls", "op:touch", 2),
    "maps_stream": ("GET /processes/{pid}/maps/stream", "", 2),
    "vma_query": ("GET /processes/{pid}/vma", "addr", 4),
}

# MapsReader's tasks: reads of processes owned by other users.
READER_TASKS: dict[str, tuple[str, str, int]] = {
    "shared_maps_text": ("GET /processes/{pid}/maps", "", 3),
    "shared_maps_json": ("GET /processes/{pid}/maps.json", "", 1),
    "shared_maps_reader": ("GET /processes/{pid}/maps", "reader", 2),
    "shared_maps_stream": ("GET /processes/{pid}/maps/stream", "", 1),
}

# p95 bound per request type (statistics name), in milliseconds. scripts/loadtest's
# default run (10 users, ~80 req/s, server and Locust on one 2-core machine) measures
# p95 of 5-40 ms for syscalls, faults and reads, ~75 ms for a 3-snapshot stream, and
# 90-330 ms for every type when other jobs load the machine (load average 7). The
# bounds sit above the busy figures and 10-30x above the quiet ones: a run fails on a
# real regression (a lock held across requests, a quadratic path), not on noise.
P95_MS: dict[str, float] = {
    "POST /processes": 500,
    "DELETE /processes/{pid}": 400,
    "GET /processes": 300,
    "GET /processes/{pid}": 250,
    "POST /processes/{pid}/files": 250,
    "POST /processes/{pid}/mmap": 300,
    "POST /processes/{pid}/munmap": 300,
    "POST /processes/{pid}/mprotect": 300,
    "POST /processes/{pid}/mremap": 300,
    "POST /processes/{pid}/brk": 300,
    "POST /processes/{pid}/syscalls": 400,
    "GET /processes/{pid}/maps": 300,
    "GET /processes/{pid}/maps.json": 400,
    "GET /processes/{pid}/maps [shared]": 300,
    "GET /processes/{pid}/maps.json [shared]": 400,
    "POST /processes/{pid}/faults": 300,
    "POST /processes/{pid}/syscalls [touch]": 600,
    "GET /processes/{pid}/maps?reader": 300,
    "GET /processes/{pid}/maps?reader [shared]": 300,
    "GET /processes/{pid}/maps/stream": 400,
    "GET /processes/{pid}/maps/stream [shared]": 400,
    "GET /processes/{pid}/vma?addr": 250,
}
DEFAULT_P95_MS = 500.0

READERS = ("seqcount", "per_vma", "mmap_lock")
# A maps stream in the mix: a few snapshots, close together, then it ends.
STREAM_SNAPSHOTS = 3
STREAM_QUERY = f"count={STREAM_SNAPSHOTS}&interval=0.02"
_HEX = re.compile(r"0x[0-9a-f]+")


def stat_name(task: tuple[str, str, int], shared: bool = False) -> str:
    """The statistics name of a task's requests: its request type, ``?param`` when it
    needs a query parameter, `` [op]`` for a batch op, `` [shared]`` for reads of
    another user's process."""
    kind, need, _ = task
    if need.startswith("op:"):
        kind += f" [{need[3:]}]"
    elif need:
        kind += f"?{need}"
    return kind + (" [shared]" if shared else "")


def p95_factor(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    """``VMASIM_LOAD_P95_FACTOR`` (default 1): a positive number scaling every bound."""
    raw = environ.get("VMASIM_LOAD_P95_FACTOR", "1")
    try:
        factor = float(raw)
    except ValueError:
        raise ValueError(f"VMASIM_LOAD_P95_FACTOR={raw!r} is not a number") from None
    if not 0 < factor < float("inf"):
        raise ValueError(f"VMASIM_LOAD_P95_FACTOR={raw!r} must be a positive number")
    return factor


# Read once, at start-up: a bad value stops Locust before any request.
P95_FACTOR = p95_factor()


def p95_bound(name: str) -> float:
    """The p95 bound of request type ``name`` in ms, scaled by VMASIM_LOAD_P95_FACTOR."""
    return P95_MS.get(name, DEFAULT_P95_MS) * P95_FACTOR


# -- shared registry of live processes (per Locust process; gevent is cooperative) -----


class Registry:
    """Processes that readers may read: pid -> reads in flight. An owner retires its
    pid before exiting the process and waits until no read of it is in flight.

    No lock: gevent switches only at I/O or sleep, and no method does either between
    reading and writing a count. ``pin`` is O(n) in live pids, the rest O(1)."""

    def __init__(self) -> None:
        self.pins: dict[int, int] = {}
        self.retiring: dict[int, int] = {}

    def publish(self, pid: int) -> None:
        self.pins[pid] = 0

    def pin(self) -> int | None:
        if not self.pins:
            return None
        pid = random.choice(list(self.pins))
        self.pins[pid] += 1
        return pid

    def unpin(self, pid: int) -> None:
        if pid in self.pins:
            self.pins[pid] -= 1
        else:
            self.retiring[pid] -= 1

    def _check(self) -> None:
        """O(n): counts are non-negative and no pid is both live and retiring."""
        assert all(n >= 0 for n in self.pins.values()), self.pins
        assert all(n >= 0 for n in self.retiring.values()), self.retiring
        assert not self.pins.keys() & self.retiring.keys(), (self.pins, self.retiring)

    def retire(self, pid: int, timeout: float = 10.0) -> None:
        """Stop handing out ``pid`` and wait (bounded) for its in-flight reads."""
        self.retiring[pid] = self.pins.pop(pid, 0)
        waited = 0.0
        while self.retiring[pid] > 0 and waited < timeout:
            gevent.sleep(0.005)
            waited += 0.005
        del self.retiring[pid]
        if __debug__ and random.random() < 0.01:
            self._check()


REGISTRY = Registry()


# -- response checks ---------------------------------------------------------------------


def fail(resp: ResponseContextManager, message: str) -> None:
    """Mark the request failed with ``message`` (Locust's failure() is untyped)."""
    resp.failure(message)  # type: ignore[no-untyped-call]


def expect(resp: ResponseContextManager, status: int, what: str) -> Any:
    """Mark ``resp`` failed unless its status is ``status``; return its JSON (or None).
    A 404 of a route that does not exist is a failure like any other status."""
    if resp.status_code != status:
        # Status 0: no response at all; the error says why (refused, reset, timeout).
        body = (resp.text or "")[:300] if resp.status_code else repr(resp.error)
        fail(resp, f"{what}: expected {status}, got {resp.status_code}: {body}")
        return None
    if status == 204 or not resp.text:
        return {}
    media_type = resp.headers.get("content-type", "").split(";")[0].strip()
    if media_type not in ("application/json", "application/problem+json"):
        return resp.text  # the maps text, JSON Lines
    try:
        return resp.json()
    except ValueError:
        fail(resp, f"{what}: response is not JSON: {resp.text[:200]!r}")
        return None


def check_maps_text(resp: ResponseContextManager, what: str) -> None:
    text = expect(resp, 200, what)
    if isinstance(text, str) and not text.endswith("[vsyscall]\n"):
        fail(resp, f"{what}: maps text does not end with the [vsyscall] line")


def check_stream(resp: ResponseContextManager, what: str) -> None:
    """A short stream (``STREAM_QUERY``): exactly its snapshots, each a JSON object."""
    text = expect(resp, 200, what)
    if not isinstance(text, str):
        return
    lines = text.splitlines()
    try:
        docs = [json.loads(line) for line in lines]
    except ValueError:
        fail(resp, f"{what}: a line is not JSON: {text[:200]!r}")
        return
    if len(docs) != STREAM_SNAPSHOTS or not all(d.get("count") for d in docs):
        fail(resp, f"{what}: {len(docs)} snapshots, expected {STREAM_SNAPSHOTS}: {text[:200]!r}")


def check_maps_json(resp: ResponseContextManager, what: str) -> None:
    doc = expect(resp, 200, what)
    if doc and (doc.get("count") != len(doc.get("vmas", ())) or not doc["count"]):
        fail(resp, f"{what}: count {doc.get('count')} does not match the VMAs listed")


def query(task: str, need: str) -> str:
    """The query string of a read task: a random ``reader`` when it needs one, the
    stream's bounds for a stream."""
    params = []
    if task.endswith("stream"):
        params.append(STREAM_QUERY)
    if need == "reader" or task.endswith("stream"):
        params.append(f"reader={random.choice(READERS)}")
    return "?" + "&".join(params) if params else ""


# -- the process owner -------------------------------------------------------------------


@dataclass
class Region:
    """A range this user mapped. ``pristine``: never mprotected, so inside one VMA, as
    mremap needs (EFAULT across VMAs). A region mprotected back to one protection may
    still be two VMAs: the kernel keeps hidden flags (VM_ACCOUNT once a private mapping
    was writable) that stop the merge."""

    addr: int
    pages: int
    pristine: bool = True


@dataclass
class OwnedProcess:
    pid: int
    fd: int
    start_brk: int
    brk: int
    regions: list[Region] = field(default_factory=list)


def auth_headers(environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, str]:
    """``Authorization: Bearer $VMASIM_TOKEN`` when the service requires a token."""
    token = environ.get("VMASIM_TOKEN", "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


class ProcessUser(FastHttpUser):
    """Owns one simulated process and runs syscalls on it; see the module docstring."""

    weight = 4
    wait_time = between(0.02, 0.2)
    default_headers = auth_headers()
    proc: OwnedProcess | None = None

    def on_start(self) -> None:
        self.spawn()

    def on_stop(self) -> None:
        self.exit_process()

    # lifecycle

    def spawn(self) -> None:
        name = f"load{random.randrange(1 << 20):x}"
        with self.client.post(
            "/processes",
            json={"name": name, "layout": "typical"},
            name="POST /processes",
            catch_response=True,
        ) as resp:
            doc = expect(resp, 201, "spawn")
        if not doc:
            return
        pid = int(doc["pid"])
        brk = int(doc["brk"], 16)
        with self.client.post(
            f"/processes/{pid}/files",
            json={"path": f"/tmp/{name}.bin", "flags": ["O_RDWR"], "size": 64 * PAGE},
            name="POST /processes/{pid}/files",
            catch_response=True,
        ) as resp:
            fdoc = expect(resp, 201, "open")
        fd = int(fdoc["fd"]) if fdoc else -1
        self.proc = OwnedProcess(pid, fd, int(doc["start_brk"], 16), brk)
        REGISTRY.publish(pid)

    def exit_process(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        REGISTRY.retire(proc.pid)
        with self.client.delete(
            f"/processes/{proc.pid}", name="DELETE /processes/{pid}", catch_response=True
        ) as resp:
            expect(resp, 204, "exit")

    def post(self, task: str, body: dict[str, Any], status: int = 200) -> Any:
        """POST ``body`` to the task's route of the owned process; the JSON or None."""
        assert self.proc is not None
        kind = TASKS[task][0]
        path = kind.split(" ", 1)[1].replace("{pid}", str(self.proc.pid))
        with self.client.post(path, json=body, name=kind, catch_response=True) as resp:
            return expect(resp, status, task)

    def get(self, task: str, check: Callable[[ResponseContextManager, str], None]) -> None:
        assert self.proc is not None
        kind, param, _ = TASKS[task]
        path = kind.split(" ", 1)[1].replace("{pid}", str(self.proc.pid))
        path += query(task, param)
        with self.client.get(path, name=stat_name(TASKS[task]), catch_response=True) as resp:
            check(resp, task)

    def region(self) -> Region | None:
        assert self.proc is not None
        return random.choice(self.proc.regions) if self.proc.regions else None


def _ready(fn: Callable[[ProcessUser], None]) -> Callable[[ProcessUser], None]:
    """Run the task only while the user owns a process (a failed spawn retries)."""

    def task(user: ProcessUser) -> None:
        if user.proc is None:
            user.spawn()
            return
        fn(user)

    task.__name__ = fn.__name__
    return task


@_ready
def mmap_anon(user: ProcessUser) -> None:
    assert user.proc is not None
    if len(user.proc.regions) >= MAX_REGIONS:
        munmap(user)
        return
    pages = random.choice((1, 2, 4, 8, 16, 64))
    doc = user.post(
        "mmap_anon",
        {
            "length": pages * PAGE,
            "prot": ["PROT_READ", "PROT_WRITE"],
            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"],
        },
    )
    if doc:
        user.proc.regions.append(Region(int(doc["addr"], 16), pages))


@_ready
def mmap_file(user: ProcessUser) -> None:
    assert user.proc is not None
    if len(user.proc.regions) >= MAX_REGIONS or user.proc.fd < 0:
        munmap(user)
        return
    pages = random.choice((1, 4, 16))
    offset = random.randrange(0, 64 - pages + 1) * PAGE
    doc = user.post(
        "mmap_file",
        {
            "length": pages * PAGE,
            "prot": ["PROT_READ"],
            "flags": [random.choice(("MAP_PRIVATE", "MAP_SHARED"))],
            "fd": user.proc.fd,
            "offset": offset,
        },
    )
    if doc:
        user.proc.regions.append(Region(int(doc["addr"], 16), pages))


@_ready
def munmap(user: ProcessUser) -> None:
    assert user.proc is not None
    r = user.region()
    if r is None:
        return
    # Unmap the whole region, or only its tail (a split).
    keep = random.randrange(r.pages) if r.pages > 1 and random.random() < 0.3 else 0
    user.post(
        "munmap",
        {"addr": f"{r.addr + keep * PAGE:#x}", "length": (r.pages - keep) * PAGE},
        204,
    )
    if keep:
        r.pages = keep
    else:
        user.proc.regions.remove(r)


@_ready
def mprotect(user: ProcessUser) -> None:
    r = user.region()
    if r is None:
        return
    # Half the time the whole region, else a part of it (a split).
    whole = random.random() < 0.5
    first = 0 if whole else random.randrange(r.pages)
    count = r.pages if whole else random.randint(1, r.pages - first)
    prot = random.choice((["PROT_READ"], ["PROT_READ", "PROT_WRITE"], ["PROT_NONE"]))
    doc = user.post(
        "mprotect",
        {"addr": f"{r.addr + first * PAGE:#x}", "length": count * PAGE, "prot": prot},
        204,
    )
    if doc is not None:
        r.pristine = False


@_ready
def mremap(user: ProcessUser) -> None:
    assert user.proc is not None
    candidates = [r for r in user.proc.regions if r.pristine]
    if not candidates:
        return
    r = random.choice(candidates)
    new_pages = max(1, r.pages * 2 if r.pages < 32 and random.random() < 0.6 else r.pages // 2)
    doc = user.post(
        "mremap",
        {
            "old_addr": f"{r.addr:#x}",
            "old_len": r.pages * PAGE,
            "new_len": new_pages * PAGE,
            "flags": ["MREMAP_MAYMOVE"],
        },
    )
    if doc:
        r.addr, r.pages = int(doc["addr"], 16), new_pages


@_ready
def brk(user: ProcessUser) -> None:
    assert user.proc is not None
    proc = user.proc
    # Grow the heap by up to 32 pages, or shrink it back towards start_brk.
    if proc.brk - proc.start_brk > 256 * PAGE or random.random() < 0.4:
        target = max(proc.start_brk, proc.brk - random.randint(1, 32) * PAGE)
    else:
        target = proc.brk + random.randint(1, 32) * PAGE
    doc = user.post("brk", {"addr": f"{target:#x}"})
    if doc:
        proc.brk = int(doc["brk"], 16)


@_ready
def batch(user: ProcessUser) -> None:
    """Map the arena fixed, split it with mprotect, merge it back, unmap it: one batch
    of five syscalls, every one of which must succeed."""
    n = ARENA_PAGES
    ops: list[dict[str, Any]] = [
        {
            "op": "mmap",
            "addr": f"{ARENA:#x}",
            "length": n * PAGE,
            "prot": ["PROT_READ", "PROT_WRITE"],
            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
        },
        {"op": "mprotect", "addr": f"{ARENA + 4 * PAGE:#x}", "length": 4 * PAGE, "prot": []},
        {
            "op": "mprotect",
            "addr": f"{ARENA + 4 * PAGE:#x}",
            "length": 4 * PAGE,
            "prot": ["PROT_READ", "PROT_WRITE"],
        },
        {"op": "brk", "addr": 0},
        {"op": "munmap", "addr": f"{ARENA:#x}", "length": n * PAGE},
    ]
    assert user.proc is not None
    kind = TASKS["batch"][0]
    path = f"/processes/{user.proc.pid}/syscalls"
    with user.client.post(path, json={"ops": ops}, name=kind, catch_response=True) as resp:
        doc = expect(resp, 200, "batch")
        if doc and (doc.get("completed") != len(ops) or doc.get("failed")):
            fail(resp, f"batch: {doc.get('failed')} of {doc.get('completed')} ops failed")


@_ready
def maps_text(user: ProcessUser) -> None:
    user.get("maps_text", check_maps_text)


@_ready
def maps_json(user: ProcessUser) -> None:
    user.get("maps_json", check_maps_json)


@_ready
def inspect(user: ProcessUser) -> None:
    assert user.proc is not None
    with user.client.get(
        f"/processes/{user.proc.pid}", name=TASKS["inspect"][0], catch_response=True
    ) as resp:
        doc = expect(resp, 200, "inspect")
        if doc and doc.get("pid") != user.proc.pid:
            fail(resp, f"inspect: pid {doc.get('pid')} is not {user.proc.pid}")


def list_processes(user: ProcessUser) -> None:
    with user.client.get("/processes", name=TASKS["list"][0], catch_response=True) as resp:
        expect(resp, 200, "list")


@_ready
def respawn(user: ProcessUser) -> None:
    """Exit the process (unmapping everything) and start a fresh typical one."""
    user.exit_process()
    user.spawn()


@_ready
def faults(user: ProcessUser) -> None:
    """One page fault in a region (app/schemas.FaultIn). A fault on a PROT_NONE page
    is a SIGSEGV outcome, still a 200."""
    r = user.region()
    if r is None:
        return
    addr = r.addr + random.randrange(r.pages) * PAGE + random.randrange(0, PAGE, 8)
    user.post("faults", {"addr": f"{addr:#x}", "access": random.choice(("read", "write"))})


@_ready
def fault_burst(user: ProcessUser) -> None:
    """A burst: one batch touching every page of a region (a loop writing one byte a
    page), through the batch op ``touch``."""
    assert user.proc is not None
    r = user.region()
    if r is None:
        return
    ops = [{"op": "touch", "addr": f"{r.addr:#x}", "length": r.pages * PAGE, "access": "write"}]
    path = f"/processes/{user.proc.pid}/syscalls"
    name = stat_name(TASKS["fault_burst"])
    with user.client.post(path, json={"ops": ops}, name=name, catch_response=True) as resp:
        doc = expect(resp, 200, "fault_burst")
        if doc and doc.get("completed") != 1:
            fail(resp, f"fault_burst: {doc.get('completed')} of 1 ops completed")


@_ready
def maps_reader(user: ProcessUser) -> None:
    user.get("maps_reader", check_maps_text)


@_ready
def maps_stream(user: ProcessUser) -> None:
    user.get("maps_stream", check_stream)


@_ready
def vma_query(user: ProcessUser) -> None:
    """PROCMAP_QUERY at a page of one of the user's regions: that VMA must cover it."""
    r = user.region()
    if r is None or user.proc is None:
        return
    addr = r.addr + random.randrange(r.pages) * PAGE
    path = f"/processes/{user.proc.pid}/vma?addr={addr}"
    with user.client.get(path, name=stat_name(TASKS["vma_query"]), catch_response=True) as resp:
        doc = expect(resp, 200, "vma_query")
        if doc and not int(doc["start"], 16) <= addr < int(doc["end"], 16):
            fail(resp, f"vma_query: {doc['start']}-{doc['end']} does not cover {addr:#x}")


_PROCESS_TASKS: dict[str, Callable[[ProcessUser], None]] = {
    "mmap_anon": mmap_anon,
    "mmap_file": mmap_file,
    "munmap": munmap,
    "mprotect": mprotect,
    "mremap": mremap,
    "brk": brk,
    "batch": batch,
    "maps_text": maps_text,
    "maps_json": maps_json,
    "inspect": inspect,
    "list": list_processes,
    "respawn": respawn,
    "faults": faults,
    "fault_burst": fault_burst,
    "maps_reader": maps_reader,
    "maps_stream": maps_stream,
    "vma_query": vma_query,
}
# Locust picks uniformly from the list: a task with weight w appears w times.
ProcessUser.tasks = [_PROCESS_TASKS[name] for name, t in TASKS.items() for _ in range(t[2])]


# -- readers of other users' processes ---------------------------------------------------


class MapsReader(FastHttpUser):
    """Reads the maps of processes that their owners are changing right now."""

    weight = 1
    wait_time = between(0.02, 0.2)
    default_headers = auth_headers()

    def read(self, task: str, check: Callable[[ResponseContextManager, str], None]) -> None:
        pid = REGISTRY.pin()
        if pid is None:
            return
        try:
            kind, param, _ = READER_TASKS[task]
            path = kind.split(" ", 1)[1].replace("{pid}", str(pid)) + query(task, param)
            name = stat_name(READER_TASKS[task], shared=True)
            with self.client.get(path, name=name, catch_response=True) as resp:
                check(resp, task)
        finally:
            REGISTRY.unpin(pid)


def _reader_task(name: str, check: Callable[[ResponseContextManager, str], None]) -> Any:
    def task(user: MapsReader) -> None:
        user.read(name, check)

    task.__name__ = name
    return task


_READER_CHECKS: dict[str, Callable[[ResponseContextManager, str], None]] = {
    "shared_maps_text": check_maps_text,
    "shared_maps_json": check_maps_json,
    "shared_maps_reader": check_maps_text,
    "shared_maps_stream": check_stream,
}
MapsReader.tasks = [
    task
    for name, t in READER_TASKS.items()
    if t[2] > 0
    for task in [_reader_task(name, _READER_CHECKS[name])] * t[2]
]


# -- preflight and thresholds ------------------------------------------------------------

_preflight_errors: list[str] = []


def missing_routes(openapi: dict[str, Any]) -> list[str]:
    """The enabled tasks whose route, query parameter or batch op the service does not
    document."""
    missing = []
    paths = openapi.get("paths", {})
    ops = {
        prop.get("const", (prop.get("enum") or [None])[0])
        for schema in openapi.get("components", {}).get("schemas", {}).values()
        if (prop := schema.get("properties", {}).get("op")) is not None
    }
    for name, (kind, param, weight) in {**TASKS, **READER_TASKS}.items():
        if weight <= 0:
            continue
        method, path = kind.split(" ", 1)
        op = paths.get(path, {}).get(method.lower())
        if op is None:
            missing.append(f"{name}: {kind} is not a route of the service")
        elif param.startswith("op:"):
            if param[3:] not in ops:
                missing.append(f"{name}: {kind} has no batch op {param[3:]!r}")
        elif param and param not in {p.get("name") for p in op.get("parameters", ())}:
            missing.append(f"{name}: {kind} has no query parameter {param!r}")
    return missing


def _check_routes(environment: Environment, **_kw: Any) -> None:
    """At start-up, on the master (or a local run): read the service's OpenAPI document
    and note every enabled task it lacks (:data:`_preflight_errors`).

    At ``init``, before any run clock starts: the service generates the document on its
    first request, which takes seconds on a busy machine, and would otherwise eat into a
    short run (a 2 s run could end before its first request)."""
    if isinstance(environment.runner, WorkerRunner) or not environment.host:
        return
    import urllib.request

    try:
        with urllib.request.urlopen(
            environment.host.rstrip("/") + "/openapi.json", timeout=30
        ) as f:
            openapi = json.load(f)
    except OSError as exc:
        _preflight_errors.append(f"cannot read {environment.host}/openapi.json: {exc}")
    else:
        _preflight_errors.extend(missing_routes(openapi))


def _preflight(environment: Environment, **_kw: Any) -> None:
    """When a run starts: refuse to load a service that lacks an enabled route, instead
    of reporting its 404s as a latency figure."""
    if isinstance(environment.runner, WorkerRunner) or not _preflight_errors:
        return
    for err in _preflight_errors:
        log.error("preflight: %s", err)
    if environment.runner is not None:
        gevent.spawn_later(0.1, environment.runner.quit)


@dataclass
class Verdict:
    """One request type's figures against its bound."""

    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    p95_bound_ms: float

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.p95_ms <= self.p95_bound_ms


def verdicts(environment: Environment) -> list[Verdict]:
    """Per request type figures from Locust's statistics, sorted by name."""
    out = []
    for entry in environment.stats.entries.values():
        if not entry.num_requests and not entry.num_failures:
            continue
        out.append(
            Verdict(
                name=entry.name,
                requests=entry.num_requests,
                failures=entry.num_failures,
                rps=round(entry.total_rps, 2),
                p50_ms=entry.get_response_time_percentile(0.50) or 0.0,
                p95_ms=entry.get_response_time_percentile(0.95) or 0.0,
                p99_ms=entry.get_response_time_percentile(0.99) or 0.0,
                p95_bound_ms=p95_bound(entry.name),
            )
        )
    return sorted(out, key=lambda v: v.name)


_verdict_given: list[bool] = []


def _thresholds(environment: Environment, **_kw: Any) -> None:
    """Check the thresholds once, where the statistics are complete (the master or a
    local runner), print the verdict and set Locust's exit code. Once per process: a
    SIGTERM during the wrap-up runs Locust's shutdown (and this listener) a second
    time, which must neither print a second verdict nor change the first."""
    if isinstance(environment.runner, WorkerRunner) or _verdict_given:
        return
    _verdict_given.append(True)
    total = environment.stats.total
    rows = verdicts(environment)
    problems = list(_preflight_errors)
    if total.num_requests == 0:
        problems.append("no request was made")
    if total.num_failures:
        problems.append(f"{total.num_failures} of {total.num_requests} requests failed")
    problems += [
        f"{v.name}: p95 {v.p95_ms:.0f} ms > {v.p95_bound_ms:.0f} ms"
        for v in rows
        if v.p95_ms > v.p95_bound_ms
    ]
    passed = not problems
    lines = [
        f"{'request type':48} {'reqs':>7} {'fail':>5} {'req/s':>7} "
        f"{'p50':>5} {'p95':>5} {'p99':>5} {'p95 max':>7}"
    ]
    for v in rows:
        lines.append(
            f"{v.name:48} {v.requests:7d} {v.failures:5d} {v.rps:7.1f} {v.p50_ms:5.0f} "
            f"{v.p95_ms:5.0f} {v.p99_ms:5.0f} {v.p95_bound_ms:7.0f}{'' if v.ok else '  FAIL'}"
        )
    lines.append(f"throughput {total.total_rps:.1f} req/s, {total.num_requests} requests")
    lines.append("thresholds: PASS" if passed else "thresholds: FAIL: " + "; ".join(problems))
    log.info("\n%s", "\n".join(lines))
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        summary = {
            "passed": passed,
            "problems": problems,
            "requests": total.num_requests,
            "failures": total.num_failures,
            "rps": round(total.total_rps, 2),
            "p95_factor": P95_FACTOR,
            "types": [{**v.__dict__, "ok": v.ok} for v in rows],
        }
        with open(f"{prefix}_thresholds.json", "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
    environment.process_exit_code = 0 if passed else 1


# -- the end of a distributed run -------------------------------------------------------

# The longest a worker waits for the master to exit after its quit message: the
# master's wrap-up (users' stop timeout, statistics, reports, verdict) takes seconds.
WORKER_LINGER_S = 60.0


def _linger_until_master_exits(environment: Environment, **_kw: Any) -> None:
    """On a worker, at its shutdown: return once the master has exited (its port refuses
    connections or its name no longer resolves), after ``WORKER_LINGER_S`` at most.

    The master decides the end. It sends ``quit`` to the workers and then wraps up; a
    worker that exited at once would be the first container to stop, and
    ``docker compose up --exit-code-from master`` (``--abort-on-container-exit``) would
    then stop the master in the middle of its wrap-up: a cut-off log, a verdict printed
    twice, exit code 137 when the wrap-up outlasts the stop timeout. Lingering makes the
    master's exit the first, so its verdict and exit code are the run's."""
    options = environment.parsed_options
    if not isinstance(environment.runner, WorkerRunner) or options is None:
        return
    address = (options.master_host, options.master_port)
    deadline = time.monotonic() + WORKER_LINGER_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(address, timeout=1):
                pass
        except OSError:
            return
        gevent.sleep(0.2)
    log.warning("the master at %s:%s still runs %.0f s after quit", *address, WORKER_LINGER_S)


def _fresh_clock(environment: Environment, **_kw: Any) -> None:
    """Refresh the gevent loop's cached time before Locust arms ``--run-time``.

    Locust arms the run-time limit with ``gevent.spawn_later``, which counts from the
    loop's cached "now"; the loop has not run since start-up (nor during the blocking
    :func:`_check_routes`), so on a busy machine that time is seconds old (3.5 s
    measured under ``stress-ng --cpu 2``) and a short run ended before its first
    request. ``init`` fires just before the limit is armed; this listener comes last."""
    gevent.get_hub().loop.update_now()


__all__ = ["MapsReader", "ProcessUser"]


events.init.add_listener(_check_routes)  # type: ignore[no-untyped-call]
events.init.add_listener(_fresh_clock)  # type: ignore[no-untyped-call]  # after the check
events.test_start.add_listener(_preflight)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_thresholds)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_linger_until_master_exits)  # type: ignore[no-untyped-call]
