"""Concurrency: engine calls never block the event loop, there is no global engine
lock, and the process limit holds under racing creates. Orderings are forced with
the engine's lock statistics and Events (tests/concurrency.py), never sleeps."""

from __future__ import annotations

import threading

import httpx
import pytest

from app.errors import ProcessLimitReached
from app.service import Service
from app.settings import Settings
from core import Kernel, Process
from tests.app.conftest import LiveServer
from tests.concurrency import spawn, wait_until


def test_a_blocked_syscall_holds_neither_the_event_loop_nor_other_processes(
    live_server: LiveServer, http: httpx.Client
) -> None:
    blocked = http.post("/processes", json={"name": "blocked"}).json()["pid"]
    other = http.post("/processes", json={"name": "other"}).json()["pid"]
    mm = live_server.service.kernel.get(blocked).mm
    body = {"length": 4096, "prot": ["PROT_READ"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}

    def post_mmap() -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=20) as client:
            return client.post(f"/processes/{blocked}/mmap", json=body)

    assert mm.mmap_lock.write_lock(timeout=5)  # the test thread holds mmap_lock for write
    try:
        worker = spawn(post_mmap, name="mmap-client")
        wait_until(
            lambda: mm.mmap_lock.statistics().rwsem.waiting_writers == 1,
            what="the service's mmap waits for mmap_lock",
        )
        # The event loop still serves, and another process's syscalls are not held up.
        assert http.get("/healthz").json()["status"] == "ok"
        assert blocked in [p["pid"] for p in http.get("/processes").json()["processes"]]
        assert http.post(f"/processes/{other}/mmap", json=body).status_code == 200
        assert http.get(f"/processes/{blocked}").json()["map_count"] == 0
        assert not worker.finished.is_set()
    finally:
        mm.mmap_lock.write_unlock()
    response = worker.result()
    assert response.status_code == 200, response.text
    assert http.get(f"/processes/{blocked}").json()["map_count"] == 1
    for pid in (blocked, other):
        http.delete(f"/processes/{pid}")


class GatedKernel(Kernel):
    """A kernel whose spawns stop half-way until ``gate`` is set (the process is in the
    table, its layout not yet built): the window a concurrent create must not slip
    through."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def spawn(self, name: str = "sim", layout: str = "empty") -> Process:
        proc = super().spawn(name, layout)
        self.entered.set()
        assert self.gate.wait(timeout=10), "gate never opened"
        return proc


def test_process_limit_holds_while_a_spawn_is_in_flight() -> None:
    kernel = GatedKernel()
    service = Service(Settings(max_processes=2), kernel)
    kernel.gate.set()
    service.spawn("first", None, None)
    kernel.gate.clear()
    kernel.entered.clear()
    slow = spawn(service.spawn, "second", None, None, name="slow-spawn")
    assert kernel.entered.wait(timeout=10)
    stats = service.statistics()
    assert (stats.processes, stats.reserved) == (2, 1)  # counted twice: conservative
    with pytest.raises(ProcessLimitReached, match=r"^processes: 4 exceeds VMASIM_MAX_PROCESSES=2$"):
        service.spawn("third", None, None)
    kernel.gate.set()
    slow.result()
    stats = service.statistics()
    assert (stats.processes, stats.reserved, stats.spawned, stats.rejected) == (2, 0, 2, 1)
    service._check()
    with pytest.raises(ProcessLimitReached):
        service.spawn("fourth", None, None)


def test_delete_during_a_batch_ends_the_batch(live_server: LiveServer, http: httpx.Client) -> None:
    pid = http.post("/processes", json={"name": "dying"}).json()["pid"]
    mm = live_server.service.kernel.get(pid).mm
    op = {"op": "mmap", "length": 4096, "prot": [], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}

    def request(method: str, url: str, body: object = None) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=20) as client:
            return client.request(method, url, json=body)

    assert mm.mmap_lock.write_lock(timeout=5)
    try:
        batch = spawn(request, "POST", f"/processes/{pid}/syscalls", {"ops": [op, op]})
        wait_until(lambda: mm.mmap_lock.statistics().rwsem.waiting_writers == 1, what="op 0 waits")
        delete = spawn(request, "DELETE", f"/processes/{pid}")
        # exit() takes the pid out of the table first, then queues for mmap_lock.
        wait_until(lambda: mm.mmap_lock.statistics().rwsem.waiting_writers == 2, what="exit waits")
    finally:
        mm.mmap_lock.write_unlock()
    assert delete.result().status_code == 204
    out = batch.result().json()
    assert [r["ok"] for r in out["results"]] == [True, False]
    assert out["results"][1]["error"] == "NoSuchProcess"
    assert out["results"][1]["detail"] == f"no process with pid {pid}"
    assert mm.map_count == 0  # exit_mmap ran after op 0 and nothing was mapped after it
