"""``/processes``: create (empty, typical, imported), list, inspect, delete, limit."""

from __future__ import annotations

import anyio
import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from core import Kernel
from tests.app.conftest import LiveServer


def test_create_empty_process(http: httpx.Client) -> None:
    r = http.post("/processes", json={"name": "empty-one"})
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"] == f"/processes/{body['pid']}"
    assert body["name"] == "empty-one"
    assert body["map_count"] == 0
    assert body["files"] == []
    assert body["brk"] == body["start_brk"] == "0x555555559000"
    assert http.delete(f"/processes/{body['pid']}").status_code == 204


def test_create_typical_matches_engine(http: httpx.Client) -> None:
    r = http.post("/processes", json={"name": "demo", "layout": "typical"})
    assert r.status_code == 201
    pid = r.json()["pid"]
    local = Kernel().spawn("demo", layout="typical")
    assert r.json()["map_count"] == local.mm.map_count > 0
    assert r.json()["total_vm"] == local.mm.total_vm
    assert http.get(f"/processes/{pid}/maps").text == local.mm.maps()
    http.delete(f"/processes/{pid}")


def test_create_from_maps_text_round_trips(http: httpx.Client) -> None:
    source = Kernel().spawn(layout="typical").mm.maps()
    r = http.post("/processes", json={"name": "imported", "maps": source})
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    assert http.get(f"/processes/{pid}/maps").text == source
    http.delete(f"/processes/{pid}")


def test_bad_maps_text_is_a_layout_error_and_leaves_no_process(http: httpx.Client) -> None:
    before = http.get("/processes").json()["count"]
    r = http.post("/processes", json={"maps": "this is not a maps line\n"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:vmasim:problem:layout-error"
    assert "this is not a maps line" in r.json()["detail"]
    assert http.get("/processes").json()["count"] == before


def test_layout_and_maps_together_are_refused(http: httpx.Client) -> None:
    r = http.post("/processes", json={"layout": "typical", "maps": ""})
    assert r.status_code == 422
    assert 'either layout ("typical") or maps' in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "body.name"),
        ({"name": "x" * 16}, "body.name"),
        ({"layout": "weird"}, "body.layout"),
        ({"nmae": "typo"}, "body.nmae"),
    ],
)
def test_create_validation(http: httpx.Client, body: dict[str, object], field: str) -> None:
    r = http.post("/processes", json=body)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_list_get_delete(http: httpx.Client, pid: int) -> None:
    listing = http.get("/processes").json()
    assert listing["limit"] == Settings().max_processes
    assert pid in [p["pid"] for p in listing["processes"]]
    assert listing["count"] == len(listing["processes"])
    assert [p["pid"] for p in listing["processes"]] == sorted(
        p["pid"] for p in listing["processes"]
    )
    assert http.get(f"/processes/{pid}").json()["pid"] == pid
    assert http.delete(f"/processes/{pid}").status_code == 204
    r = http.get(f"/processes/{pid}")
    assert r.status_code == 404
    assert r.json()["pid"] == pid
    assert http.delete(f"/processes/{pid}").status_code == 404
    assert pid not in [p["pid"] for p in http.get("/processes").json()["processes"]]


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "4194304"])
def test_bad_pid_is_a_validation_error(http: httpx.Client, bad: str) -> None:
    r = http.get(f"/processes/{bad}")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "path.pid"


def test_process_limit_is_enforced_and_reported() -> None:
    app = create_app(Settings(max_processes=2))
    service = app.state.service

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            out = [await c.post("/processes", json={}) for _ in range(3)]
            await c.delete(f"/processes/{out[0].json()['pid']}")
            out.append(await c.post("/processes", json={}))
            return out

    first, second, third, again = anyio.run(main)
    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 409]
    problem = third.json()
    assert problem["setting"] == "VMASIM_MAX_PROCESSES"
    assert problem["limit"] == 2
    assert "VMASIM_MAX_PROCESSES=2" in problem["detail"]
    assert again.status_code == 201  # a slot freed by DELETE is reusable
    stats = service.statistics()
    assert (stats.processes, stats.reserved, stats.rejected, stats.spawned) == (2, 0, 1, 3)
    service._check()


def test_service_statistics_on_live_server(live_server: LiveServer, pid: int) -> None:
    stats = live_server.service.statistics()
    assert stats.processes >= 1
    assert stats.reserved == 0
    assert not stats.table_lock_held
    live_server.service._check()
