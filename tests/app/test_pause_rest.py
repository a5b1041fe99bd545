"""Pause points over REST, and the split-before-unmap race reproduced entirely over
HTTP: a munmap held after its splits, read with each maps reader, released.

Orderings are forced, never slept for: a request that must block runs in a thread,
and the test polls the held-operations endpoint (or the lock's statistics) until the
request is where it should be.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.routes.pause import GATE, ArmGateStatistics
from app.settings import Settings
from core.pause import KNOWN_POINTS
from tests.app.conftest import LiveServer
from tests.concurrency import Worker, spawn, wait_until

RW = ["PROT_READ", "PROT_WRITE"]
ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
PG = 4096


def _held(http: httpx.Client, pid: int) -> list[dict[str, Any]]:
    held: list[dict[str, Any]] = http.get(f"/processes/{pid}/pause-points").json()["held"]
    return held


def _in_thread(url: str, method: str, path: str, **kwargs: Any) -> Worker[httpx.Response]:
    def call() -> httpx.Response:
        with httpx.Client(base_url=url, timeout=20) as c:
            return c.request(method, path, **kwargs)

    return spawn(call, name=f"{method} {path}")


def test_known_points_are_listed(http: httpx.Client) -> None:
    points = http.get("/pause-points").json()["points"]
    assert [p["name"] for p in points] == sorted(KNOWN_POINTS)
    assert all(p["description"] == KNOWN_POINTS[p["name"]] for p in points)
    assert "munmap:before_clear" in {p["name"] for p in points}


def test_arm_list_disarm(http: httpx.Client, pid: int) -> None:
    r = http.post(f"/processes/{pid}/pause-points", json={"name": "mprotect:between_vmas"})
    assert r.status_code == 201
    state = r.json()
    assert state["pid"] == pid and state["limit"] == Settings().max_pause_points
    assert state["points"] == [
        {
            "name": "mprotect:between_vmas",
            "armed": True,
            "hits": 0,
            "holds": 0,
            "timeouts": 0,
            "held": 0,
        }
    ]
    assert http.delete(f"/processes/{pid}/pause-points/mprotect:between_vmas").status_code == 204
    assert http.get(f"/processes/{pid}/pause-points").json()["points"] == []
    # Disarming again is not an error.
    assert http.delete(f"/processes/{pid}/pause-points/mprotect:between_vmas").status_code == 204


def test_a_hold_times_out_by_itself(http: httpx.Client, pid: int, live_server: LiveServer) -> None:
    addr = int(
        http.post(
            f"/processes/{pid}/mmap", json={"length": 2 * PG, "prot": RW, "flags": ANON}
        ).json()["addr"],
        16,
    )
    body = {"name": "munmap:before_clear", "timeout": 0.05}
    assert http.post(f"/processes/{pid}/pause-points", json=body).status_code == 201
    # Nobody releases it: the munmap continues after its timeout.
    r = http.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": PG})
    assert r.status_code == 204
    state = http.get(f"/processes/{pid}/pause-points").json()
    assert state["timeouts"] == 1 and state["held"] == []
    assert state["points"][0]["holds"] == 1 and state["points"][0]["armed"] is False


def test_split_before_unmap_race_over_http(
    live_server: LiveServer, http: httpx.Client, pid: int
) -> None:
    """munmap of the middle page of a three-page VMA, held at ``munmap:before_clear``
    (the VMA already split in three, the middle piece detached but still in the tree,
    ``mmap_lock`` held for write). Meanwhile:

    * seqcount finds the count odd on every attempt, falls back to ``mmap_lock`` and
      waits; its text is the layout after the munmap, consistent;
    * per_vma prints the lines below the split VMA (read while the writer is inside
      its cycle: marked torn), finds the split VMA write-locked, falls back and waits;
    * mmap_lock waits.
    After the release, the munmap returns 204 and all three return the final layout.
    """
    mm = live_server.service.kernel.get(pid).mm
    low = http.post(
        f"/processes/{pid}/mmap", json={"length": PG, "prot": ["PROT_READ"], "flags": ANON}
    )
    assert low.status_code == 200
    r = http.post(f"/processes/{pid}/mmap", json={"length": 3 * PG, "prot": RW, "flags": ANON})
    addr = int(r.json()["addr"], 16)
    before = http.get(f"/processes/{pid}/maps").text

    r = http.post(f"/processes/{pid}/pause-points", json={"name": "munmap:before_clear"})
    assert r.status_code == 201
    munmap = _in_thread(
        live_server.url, "POST", f"/processes/{pid}/munmap", json={"addr": addr + PG, "length": PG}
    )
    wait_until(lambda: _held(http, pid), what="munmap held")
    (held,) = _held(http, pid)
    assert (held["point"], held["op"]) == ("munmap:before_clear", "munmap")
    assert not munmap.finished.is_set()

    readers = {}
    for n, reader in enumerate(["seqcount", "per_vma", "mmap_lock"], start=1):
        readers[reader] = _in_thread(
            live_server.url,
            "GET",
            f"/processes/{pid}/maps.json",
            params={"reader": reader, "max_retries": 2},
        )

        def waiting(n: int = n) -> bool:
            return mm.mmap_lock.statistics().rwsem.waiting_readers == n

        wait_until(waiting, what=f"{reader} waits for mmap_lock")
    assert not any(w.finished.is_set() for w in readers.values())

    r = http.post(f"/processes/{pid}/pause-points/release", json={"hold_id": held["hold_id"]})
    assert r.json() == {"released": 1}
    assert munmap.result().status_code == 204
    after = http.get(f"/processes/{pid}/maps").text
    assert after != before
    starts = [int(line.split("-")[0], 16) for line in after.splitlines()]
    assert addr in starts and addr + 2 * PG in starts and addr + PG not in starts

    out = {reader: w.result().json() for reader, w in readers.items()}
    for reader, body in out.items():
        assert [v["addr"] for v in body["vmas"]] == [
            line.split()[0] for line in after.splitlines()
        ], reader
        assert body["snapshot"]["fell_back"] is (reader != "mmap_lock")
        assert body["snapshot"]["hold"]["mmap_lock_wait_ns"] > 0, reader
    seq = out["seqcount"]["snapshot"]
    assert (seq["attempts"], seq["consistent"]) == (3, True)
    assert all("write-locked" in reason for reason in seq["retry_reasons"])
    per_vma = out["per_vma"]["snapshot"]
    assert per_vma["torn_at"][0] == 0 and per_vma["consistent"] is False
    assert per_vma["seq_begin"] % 2 == 1  # began inside the munmap's write cycle
    assert any("write-locked" in reason for reason in per_vma["retry_reasons"])
    assert http.get(f"/processes/{pid}/pause-points").json()["held"] == []


def test_per_vma_shows_a_torn_intermediate_state_over_http(
    live_server: LiveServer, http: httpx.Client, pid: int
) -> None:
    """Hold a per_vma read right after it printed a three-page VMA A; unmap A's middle
    page and make the VMA B above it PROT_NONE (the reader holds no lock these writers
    need); release. The text shows A whole although its middle page is gone, and B as
    changed: neither the layout before nor the one after, a permitted tear
    (proc.rst), and the header marks it."""
    r = http.post(
        f"/processes/{pid}/mmap", json={"length": PG, "prot": ["PROT_READ"], "flags": ANON}
    )
    b = int(r.json()["addr"], 16)
    r = http.post(f"/processes/{pid}/mmap", json={"length": 3 * PG, "prot": RW, "flags": ANON})
    a = int(r.json()["addr"], 16)
    assert a + 3 * PG == b  # top-down: A right below B
    before = http.get(f"/processes/{pid}/maps").text.splitlines()
    index = next(i for i, line in enumerate(before) if line.startswith(f"{a:x}-"))
    body = {"name": "maps:per_vma_between_vmas", "hit": index + 1}
    assert http.post(f"/processes/{pid}/pause-points", json=body).status_code == 201
    reader = _in_thread(
        live_server.url, "GET", f"/processes/{pid}/maps", params={"reader": "per_vma"}
    )
    wait_until(lambda: _held(http, pid), what="reader held")
    assert _held(http, pid)[0]["op"] == "maps"
    r = http.post(f"/processes/{pid}/munmap", json={"addr": a + PG, "length": PG})
    assert r.status_code == 204
    r = http.post(f"/processes/{pid}/mprotect", json={"addr": b, "length": PG, "prot": []})
    assert r.status_code == 204
    after = http.get(f"/processes/{pid}/maps").text.splitlines()
    assert http.post(f"/processes/{pid}/pause-points/release", json={}).json() == {"released": 1}
    r = reader.result()
    torn = r.text.splitlines()
    assert torn[index] == before[index]  # A whole, as it was
    b_line = next(line for line in after if line.startswith(f"{b:x}-"))
    assert " ---p " in b_line and torn[index + 1] == b_line  # B as it is now
    assert torn not in (before, after)
    assert r.headers["x-vmasim-consistent"] == "false"
    assert str(index + 1) in r.headers["x-vmasim-torn-at"].split(",")


def test_armed_points_are_bounded(http: httpx.Client, pid: int) -> None:
    limit = Settings().max_pause_points
    names = sorted(KNOWN_POINTS)[:limit]
    for name in names:
        r = http.post(f"/processes/{pid}/pause-points", json={"name": name})
        assert r.status_code == 201, r.text
    extra = sorted(KNOWN_POINTS)[limit]
    refused = GATE.statistics().refused
    r = http.post(f"/processes/{pid}/pause-points", json={"name": extra})
    assert r.status_code == 409
    assert GATE.statistics() == ArmGateStatistics(GATE.arms, refused + 1, False)
    problem = r.json()
    assert (problem["setting"], problem["limit"], problem["value"]) == (
        "VMASIM_MAX_PAUSE_POINTS",
        limit,
        limit + 1,
    )
    state = http.get(f"/processes/{pid}/pause-points").json()
    assert sorted(p["name"] for p in state["points"] if p["armed"]) == names  # unchanged
    assert http.delete(f"/processes/{pid}/pause-points").status_code == 204
    assert http.get(f"/processes/{pid}/pause-points").json()["points"] == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "munmap:typo"}, "munmap:typo"),
        ({"name": "munmap:before_clear", "hit": 0}, "body.hit"),
        ({"name": "munmap:before_clear", "timeout": 0}, "body.timeout"),
        ({"name": "munmap:before_clear", "timeout": 301}, "body.timeout"),
        ({"name": "munmap:before_clear", "nth": 2}, "body.nth"),
        ({}, "body.name"),
    ],
)
def test_bad_arm_requests_are_422_and_change_nothing(
    http: httpx.Client, pid: int, body: dict[str, Any], needle: str
) -> None:
    r = http.post(f"/processes/{pid}/pause-points", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert needle in r.text
    assert http.get(f"/processes/{pid}/pause-points").json()["points"] == []


def test_arming_twice_is_422(http: httpx.Client, pid: int) -> None:
    body = {"name": "brk:before_expand"}
    assert http.post(f"/processes/{pid}/pause-points", json=body).status_code == 201
    r = http.post(f"/processes/{pid}/pause-points", json=body)
    assert r.status_code == 422 and "already armed" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"hold_id": 1, "name": "munmap:before_clear"}, "not both"),
        ({"hold_id": 0}, "body.hold_id"),
        ({"name": "nope:nope"}, "nope:nope"),
        ({"all": True}, "body.all"),
    ],
)
def test_bad_release_requests_are_422(
    http: httpx.Client, pid: int, body: dict[str, Any], needle: str
) -> None:
    r = http.post(f"/processes/{pid}/pause-points/release", json=body)
    assert r.status_code == 422 and needle in r.text


def test_unknown_name_on_delete_is_422(http: httpx.Client, pid: int) -> None:
    r = http.delete(f"/processes/{pid}/pause-points/split:nowhere")
    assert r.status_code == 422 and "split:nowhere" in r.json()["detail"]


def test_releasing_nothing_releases_nothing(http: httpx.Client, pid: int) -> None:
    for body in ({}, {"hold_id": 12345}, {"name": "munmap:before_clear"}):
        r = http.post(f"/processes/{pid}/pause-points/release", json=body)
        assert r.json() == {"released": 0}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "pause-points", None),
        ("POST", "pause-points", {"name": "munmap:before_clear"}),
        ("POST", "pause-points/release", {}),
        ("DELETE", "pause-points/munmap:before_clear", None),
        ("DELETE", "pause-points", None),
    ],
)
def test_missing_process_is_404(
    http: httpx.Client, method: str, path: str, body: dict[str, Any] | None
) -> None:
    r = http.request(method, f"/processes/999996/{path}", json=body)
    assert r.status_code == 404 and r.json()["pid"] == 999996


def test_delete_of_release_is_a_405_not_a_disarm(http: httpx.Client, pid: int) -> None:
    """``release`` is a POST-only resource, not a point named "release" (found by
    schemathesis: DELETE of it was the 422 of an unknown point)."""
    r = http.delete(f"/processes/{pid}/pause-points/release")
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == "POST"
    r = http.delete(f"/processes/{pid}/pause-points/releases")
    assert r.status_code == 422 and "unknown pause point" in r.json()["detail"], r.text
