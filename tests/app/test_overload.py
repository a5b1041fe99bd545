"""Admission limits: a full service answers at once (503/429 + Retry-After) instead of
queueing; the other limits (body 413, batch 413, processes 409, resident pages 409)
answer with a problem naming their setting.

Capacity is held deterministically: a munmap request is parked at the engine's
``munmap:before_clear`` pause point (with ``mmap_lock`` held for write), and a maps
stream waits an hour between snapshots; each test releases what it holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from app.deployment import Deployment
from app.limits import AdmissionControl
from app.main import create_app
from app.service import Service
from app.settings import Settings
from tests.app.live import Running, serve
from tests.concurrency import Worker, spawn, wait_until

HELD = 120.0
"""Seconds a parked request may stay parked: far longer than any refusal takes, even on
a loaded machine, so "answered while the slot was still held" is an ordering the test
can check (never a race with the hold's timeout)."""


def _admission(running: Running) -> AdmissionControl:
    control: AdmissionControl = running.app.state.admission
    return control


@pytest.fixture(scope="module")
def small() -> Iterator[Running]:
    settings = Settings(max_batch=4, max_body_bytes=4096, max_processes=8, max_resident_pages=4)
    app = create_app(settings, deployment=Deployment(max_inflight=1, max_streams=1, retry_after=7))
    with serve(app) as running:
        yield running


@pytest.fixture
def client(small: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=small.url, timeout=20) as c:
        yield c


@pytest.fixture
def pid(client: httpx.Client) -> Iterator[int]:
    response = client.post("/processes", json={"name": "overload"})
    assert response.status_code == 201, response.text
    value: int = response.json()["pid"]
    yield value
    client.delete(f"/processes/{value}")


def _busy_munmap(
    client: httpx.Client, service: Service, pid: int
) -> tuple[Worker[httpx.Response], threading.Event]:
    """A munmap that is *running* (not waiting) until the returned event is set: an
    action at ``munmap:before_clear`` that blocks its thread without parking it."""
    mm = service.kernel.get(pid).mm
    addr = client.post(
        f"/processes/{pid}/mmap",
        json={"length": 8192, "prot": ["PROT_READ"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]},
    ).json()["addr"]
    inside, go = threading.Event(), threading.Event()

    def busy(_info: object) -> None:
        inside.set()
        go.wait(HELD)

    mm.pauses.arm("munmap:before_clear", hold=False, action=busy)
    held = spawn(
        lambda: client.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": 4096})
    )
    assert inside.wait(20), "the munmap never reached its pause point"
    return held, go


def test_full_service_answers_503_at_once(small: Running, client: httpx.Client, pid: int) -> None:
    service: Service = small.app.state.service
    held, go = _busy_munmap(client, service, pid)
    try:
        assert _admission(small).statistics().in_flight == 1
        with httpx.Client(base_url=small.url, timeout=20) as other:
            refused = other.get("/processes")
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "7"
            assert refused.headers["content-type"] == "application/problem+json"
            assert "VMASIM_MAX_INFLIGHT=1" in refused.json()["detail"]
            # Answered at once, not queued: the request holding the only slot is still
            # running (a queued request would have waited for its release).
            assert not go.is_set() and not held.finished.is_set()
            # Liveness is never refused.
            assert other.get("/healthz").status_code == 200
        assert _admission(small).statistics().refused_busy >= 1
    finally:
        go.set()
    assert held.result().status_code == 204
    wait_until(lambda: _admission(small).statistics().in_flight == 0, what="slot freed")
    assert client.get("/processes").status_code == 200
    _admission(small)._check()


def test_a_held_request_takes_no_slot(small: Running, client: httpx.Client, pid: int) -> None:
    """Issue 18 item 6: a request parked at a pause point (for up to 300 s) is not in
    flight for the limit: with VMASIM_MAX_INFLIGHT=1 others are still served."""
    service: Service = small.app.state.service
    mm = service.kernel.get(pid).mm
    addr = client.post(
        f"/processes/{pid}/mmap",
        json={"length": 8192, "prot": ["PROT_READ"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]},
    ).json()["addr"]
    mm.pauses.arm("munmap:before_clear", timeout=300)
    held = spawn(
        lambda: client.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": 4096})
    )
    try:
        mm.pauses.wait_for_hold("munmap:before_clear")
        wait_until(lambda: _admission(small).statistics().waiting == 1, what="held: waiting")
        with httpx.Client(base_url=small.url, timeout=20) as other:
            for _ in range(3):
                assert other.get("/processes").status_code == 200
        assert _admission(small).statistics().in_flight >= 1  # still counted as a request
    finally:
        mm.pauses.reset()
    assert held.result().status_code == 204
    wait_until(lambda: _admission(small).statistics().in_flight == 0, what="slot freed")
    _admission(small)._check()


def test_stream_limit_answers_429(small: Running, pid: int) -> None:
    with httpx.Client(base_url=small.url, timeout=20) as c:
        url = f"/processes/{pid}/maps/stream"
        with c.stream("GET", url, params={"interval": 3600, "count": 2}) as first:
            assert first.status_code == 200
            lines = first.iter_lines()  # kept: closing this iterator closes the response
            next(lines)  # the first snapshot arrived: the stream is open
            assert _admission(small).statistics().streams == 1
            second = c.get(url, params={"count": 1})
            assert second.status_code == 429, second.text
            assert second.headers["retry-after"] == "7"
            assert "VMASIM_MAX_STREAMS=1" in second.json()["detail"]
            # Answered while the first stream still runs: refused, not queued.
            assert _admission(small).statistics().streams == 1
            sse = c.get(f"/processes/{pid}/maps/events", params={"count": 1})
            assert sse.status_code == 429
            # Streams do not take request slots.
            assert c.get(f"/processes/{pid}").status_code == 200
    wait_until(lambda: _admission(small).statistics().streams == 0, what="stream closed")
    with httpx.Client(base_url=small.url, timeout=20) as c:
        again = c.get(f"/processes/{pid}/maps/stream", params={"count": 1})
        assert again.status_code == 200 and again.text.count("\n") == 1


def test_body_limit_413(client: httpx.Client, pid: int) -> None:
    response = client.post("/processes", json={"maps": "x" * 5000})
    assert response.status_code == 413
    assert response.json()["setting"] == "VMASIM_MAX_BODY_BYTES"


def test_batch_limit_413(client: httpx.Client, pid: int) -> None:
    ops = [{"op": "brk", "addr": 0}] * 5
    response = client.post(f"/processes/{pid}/syscalls", json={"ops": ops})
    assert response.status_code == 413, response.text
    assert response.json()["setting"] == "VMASIM_MAX_BATCH"


def test_process_limit_409(client: httpx.Client, pid: int) -> None:
    made = []
    try:
        while True:
            response = client.post("/processes", json={"name": "filler"})
            if response.status_code != 201:
                break
            made.append(response.json()["pid"])
            assert len(made) <= 8
        assert response.status_code == 409
        assert response.json()["setting"] == "VMASIM_MAX_PROCESSES"
    finally:
        for p in made:
            client.delete(f"/processes/{p}")


def test_resident_page_limit(small: Running, client: httpx.Client, pid: int) -> None:
    """The engine's out-of-memory model: a fault needing a fifth page fails, nothing
    changes, the process stays usable."""
    service: Service = small.app.state.service
    assert service.kernel.max_resident_pages == 4
    addr = client.post(
        f"/processes/{pid}/mmap",
        json={
            "length": 8 * 4096,
            "prot": ["PROT_READ", "PROT_WRITE"],
            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"],
        },
    ).json()["addr"]
    mm = service.kernel.get(pid).mm
    base = int(addr, 16)
    for i in range(4):
        mm.fault(base + i * 4096, "write")
    assert mm.get_rss() == 4
    with pytest.raises(MemoryError, match="limit of 4 resident pages"):
        mm.fault(base + 4 * 4096, "write")
    assert mm.get_rss() == 4
    mm._check()


def test_machine_ram_bound_is_a_409_naming_ram_pages() -> None:
    """Issue 18 item 8: the machine's RAM bounds resident pages across processes; the
    fault that finds it full is a 409 naming ``ram_pages`` and maps nothing."""
    app = create_app(Settings(), deployment=Deployment())
    service: Service = app.state.service
    service.kernel.configure(ram_pages=6, overcommit_memory=1)
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=60) as c:
        pids = [c.post("/processes", json={}).json()["pid"] for _ in range(2)]
        anon = {"prot": ["PROT_READ", "PROT_WRITE"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
        addrs = [
            c.post(f"/processes/{p}/mmap", json={"length": 4 * 4096, **anon}).json()["addr"]
            for p in pids
        ]
        touch = {"op": "touch", "addr": addrs[0], "length": 4 * 4096, "access": "write"}
        assert c.post(f"/processes/{pids[0]}/syscalls", json={"ops": [touch]}).status_code == 200
        base = int(addrs[1], 16)
        for i in range(2):
            ok = c.post(
                f"/processes/{pids[1]}/faults", json={"addr": base + i * 4096, "access": "write"}
            )
            assert ok.status_code == 200, ok.text
        full = c.post(
            f"/processes/{pids[1]}/faults", json={"addr": base + 2 * 4096, "access": "write"}
        )
        assert full.status_code == 409, full.text
        assert (full.json()["setting"], full.json()["limit"]) == ("ram_pages", 6)
        assert service.kernel.resident == [6]
        service.kernel._check()
