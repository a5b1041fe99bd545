"""``POST /processes/{pid}/fork``: the child's address space is the parent's, private
pages are shared copy-on-write, and the process limit holds."""

from __future__ import annotations

import anyio
import httpx

from app.main import create_app
from app.settings import Settings
from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel
from core.smaps import render_smaps


def test_fork_copies_layout_and_shares_pages_cow(http: httpx.Client) -> None:
    parent = http.post("/processes", json={"name": "parent", "layout": "typical"}).json()["pid"]
    kernel = Kernel()
    local = kernel.spawn("parent", layout="typical")
    flags = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
    body = {"length": 2 * PAGE_SIZE, "prot": ["PROT_READ", "PROT_WRITE"], "flags": flags}
    addr = int(http.post(f"/processes/{parent}/mmap", json=body).json()["addr"], 16)
    rw = PROT_READ | PROT_WRITE
    assert local.mm.mmap(0, 2 * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS) == addr
    http.post(f"/processes/{parent}/faults", json={"addr": addr, "access": "write"})
    local.mm.fault(addr, "write")

    r = http.post(f"/processes/{parent}/fork")
    assert r.status_code == 201, r.text
    child = r.json()
    assert r.headers["location"] == f"/processes/{child['pid']}"
    assert child["pid"] != parent and child["name"] == "parent"
    local_child = local.fork()
    try:
        parent_maps = http.get(f"/processes/{parent}/maps").text
        assert http.get(f"/processes/{child['pid']}/maps").text == parent_maps
        # The written page is mapped by both: Pss halves, the smaps text is the engine's.
        assert http.get(f"/processes/{child['pid']}/smaps").text == render_smaps(local_child.mm)
        # A write in the child copies the page (cow); the parent keeps its own.
        r = http.post(f"/processes/{child['pid']}/faults", json={"addr": addr, "access": "write"})
        assert r.json()["page"] == "cow" == local_child.mm.fault(addr, "write").page
        assert http.get(f"/processes/{parent}/smaps").text == render_smaps(local.mm)
    finally:
        http.delete(f"/processes/{child['pid']}")
        http.delete(f"/processes/{parent}")


def test_fork_name_and_bad_input(http: httpx.Client, pid: int) -> None:
    r = http.post(f"/processes/{pid}/fork", json={"name": "kid"})
    assert r.status_code == 201 and r.json()["name"] == "kid"
    http.delete(f"/processes/{r.json()['pid']}")
    before = len(http.get("/processes").json()["processes"])
    for body, field, value in [
        ({"name": "x" * 16}, "body.name", "x" * 16),
        ({"name": ""}, "body.name", ""),
        ({"nmae": "kid"}, "body.nmae", "kid"),
    ]:
        r = http.post(f"/processes/{pid}/fork", json=body)
        assert r.status_code == 422, r.text
        err = r.json()["errors"][0]
        assert (err["field"], err["value"]) == (field, value)
    assert len(http.get("/processes").json()["processes"]) == before
    r = http.post("/processes/4000000/fork")
    assert r.status_code == 404 and r.json()["pid"] == 4000000


def test_fork_respects_process_limit() -> None:
    app = create_app(Settings(max_processes=2))

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            pid = (await c.post("/processes", json={})).json()["pid"]
            first = await c.post(f"/processes/{pid}/fork")
            second = await c.post(f"/processes/{pid}/fork")
            listing = await c.get("/processes")
            return [first, second, listing]

    first, second, listing = anyio.run(main)
    assert first.status_code == 201
    assert second.status_code == 409
    assert (second.json()["setting"], second.json()["limit"], second.json()["value"]) == (
        "VMASIM_MAX_PROCESSES",
        2,
        3,
    )
    assert listing.json()["count"] == 2
    service = app.state.service
    assert service.statistics().rejected == 1
    service._check()
