"""Issue 18, items 6 and 7: held operations starve nobody, and deleting a process
releases its holds.

Operations parked at pause points (holds of up to 300 s), and requests queued behind
them on the held process's ``mmap_lock``, take no running slot of the worker pool
(``VMASIM_WORKER_THREADS``, small here) and no in-flight slot: every other process is
served at once, with and without the journal (whose sequencer a held operation leaves).
Orderings are forced with the pause registry and the pool's statistics, never slept
for; the holds' 300 s timeout is far past every test's deadline, so a request that
waited for them fails the test (its client times out first).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.deployment import Deployment
from app.main import create_app
from app.service import Service
from app.settings import Settings
from tests.app.live import Running, serve
from tests.concurrency import ConditionTimeout, Worker, spawn, wait_until

PAGE = 4096
ANON = {"prot": ["PROT_READ", "PROT_WRITE"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
THREADS = 4
FAST = 15.0  # client timeout for requests that must not wait for a hold (300 s)


@pytest.fixture(params=["plain", "journal"])
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    deployment = Deployment()
    if request.param == "journal":
        deployment = Deployment(state_file=str(tmp_path / "state.json"), state_interval=0)
    app = create_app(Settings(worker_threads=THREADS), deployment=deployment)
    with serve(app) as server:
        yield server


def _service(running: Running) -> Service:
    service: Service = running.app.state.service
    return service


def _call(url: str, method: str, path: str, **kwargs: Any) -> Worker[httpx.Response]:
    def call() -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as c:
            return c.request(method, path, **kwargs)

    return spawn(call, name=f"{method} {path}")


def _process_with_mapping(c: httpx.Client) -> tuple[int, str]:
    pid = c.post("/processes", json={"name": "held"}).json()["pid"]
    addr = c.post(f"/processes/{pid}/mmap", json={"length": 4 * PAGE, **ANON}).json()["addr"]
    return pid, addr


def test_held_operations_do_not_exhaust_the_workers(running: Running) -> None:
    service = _service(running)
    with httpx.Client(base_url=running.url, timeout=FAST) as c:
        held: list[Worker[httpx.Response]] = []
        pids, addrs = [], []
        # Twice as many holds as running slots, each on its own process, plus requests
        # queued behind one hold on that process's mmap_lock.
        for _ in range(2 * THREADS):
            pid, addr = _process_with_mapping(c)
            pids.append(pid)
            addrs.append(addr)
            c.post(f"/processes/{pid}/pause-points", json={"name": "munmap:before_clear",
                                                          "timeout": 300})  # fmt: skip
            held.append(
                _call(
                    running.url,
                    "POST",
                    f"/processes/{pid}/munmap",
                    json={"addr": addr, "length": PAGE},
                )  # fmt: skip
            )
            service.kernel.get(pid).mm.pauses.wait_for_hold("munmap:before_clear")
        queued = [
            _call(
                running.url,
                "POST",
                f"/processes/{pids[0]}/mprotect",
                json={"addr": int(addrs[0], 16) + PAGE, "length": PAGE, "prot": []},
            )  # fmt: skip
            for _ in range(THREADS)
        ]
        wait_until(
            lambda: service.pool.statistics().waiting == 3 * THREADS,
            what="every hold and queued request waiting",
        )
        # An unrelated process: created, changed, faulted and read, all at once.
        other = c.post("/processes", json={"layout": "typical"})
        assert other.status_code == 201, other.text
        opid = other.json()["pid"]
        addr = c.post(f"/processes/{opid}/mmap", json={"length": PAGE, **ANON}).json()["addr"]
        assert c.post(f"/processes/{opid}/faults", json={"addr": addr, "access": "write"}).json()[
            "ok"
        ]
        assert c.get(f"/processes/{opid}/maps").status_code == 200
        assert c.get(f"/processes/{opid}/smaps").status_code == 200
        assert c.get(f"/processes/{opid}/vma", params={"addr": addr}).status_code == 200
        stats = service.pool.statistics()
        assert stats.running <= stats.slots, stats
        # The holds are still there: nothing above waited for them.
        assert all(not w.finished.is_set() for w in held + queued)
        for pid in pids:
            assert c.post(f"/processes/{pid}/pause-points/release", json={}).json()["released"]
        for worker in held:
            assert worker.result().status_code == 204
        for worker in queued:
            assert worker.result().status_code == 204
    wait_until(lambda: service.pool.statistics().waiting == 0, what="no waiter left")
    service.pool._check()


def test_delete_releases_the_holds_of_the_process(running: Running) -> None:
    service = _service(running)
    with httpx.Client(base_url=running.url, timeout=FAST) as c:
        pid, addr = _process_with_mapping(c)
        arm = {"name": "munmap:before_clear", "timeout": 300}
        assert c.post(f"/processes/{pid}/pause-points", json=arm).status_code == 201
        munmap = _call(
            running.url, "POST", f"/processes/{pid}/munmap", json={"addr": addr, "length": PAGE}
        )
        hold = service.kernel.get(pid).mm.pauses.wait_for_hold("munmap:before_clear")
        # The pause points are reachable while the hold lasts.
        assert c.get(f"/processes/{pid}/pause-points").json()["held"][0]["hold_id"] == (
            hold.hold_id
        )
        response = c.delete(f"/processes/{pid}")  # main: waits for the 300 s hold
        assert response.status_code == 204, response.text
        assert munmap.result().status_code == 204  # released, it completed first
        assert c.get(f"/processes/{pid}").status_code == 404
        assert c.delete(f"/processes/{pid}").status_code == 404


def test_no_arm_on_a_process_being_deleted(running: Running) -> None:
    service = _service(running)
    with httpx.Client(base_url=running.url, timeout=FAST) as c:
        pid, _ = _process_with_mapping(c)
        service.exiting.add(pid)  # what DELETE does first
        try:
            r = c.post(f"/processes/{pid}/pause-points", json={"name": "munmap:before_clear"})
            assert r.status_code == 404, r.text
            assert not service.kernel.get(pid).mm.pauses.is_armed("munmap:before_clear")
        finally:
            service.exiting.discard(pid)


@pytest.mark.timeout(240)
def test_per_process_limit_bounds_the_waiters_of_one_process(tmp_path: Path) -> None:
    app = create_app(
        Settings(worker_threads=THREADS), deployment=Deployment(max_process_inflight=3)
    )
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=FAST) as c:
        service = _service(running)
        pid, addr = _process_with_mapping(c)
        other, _ = _process_with_mapping(c)
        c.post(
            f"/processes/{pid}/pause-points", json={"name": "munmap:before_clear", "timeout": 300}
        )
        waiters = [
            _call(
                running.url, "POST", f"/processes/{pid}/munmap", json={"addr": addr, "length": PAGE}
            )  # fmt: skip
            for _ in range(3)
        ]
        # Generous: on a machine loaded by other work, three requests' threads, the
        # server and the test share one interpreter (one of the suite's runs took 15 min).
        try:
            wait_until(lambda: service.pool.statistics().waiting == 3, timeout=120)
        except ConditionTimeout as exc:
            done = [w.outcome() for w in waiters if w.finished.is_set()]
            stats = service.pool.statistics()
            raise AssertionError(f"3 waiters: {stats}, answered: {done}") from exc
        refused = c.get(f"/processes/{pid}")
        assert refused.status_code == 503, refused.text
        assert "VMASIM_MAX_PROCESS_INFLIGHT=3" in refused.json()["detail"]
        assert c.get(f"/processes/{other}").status_code == 200  # others are served
        # What ends the waits is never refused: the pause points are reachable.
        assert len(c.get(f"/processes/{pid}/pause-points").json()["held"]) == 1
        assert c.delete(f"/processes/{pid}/pause-points").status_code == 204
        for worker in waiters:
            assert worker.result().status_code == 204
