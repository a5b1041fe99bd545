"""A terabyte process through the REST API (issue 15 §1): a machine whose RAM setting
allows it populates 2 TiB of anonymous memory in one ``mmap`` request, serves its
smaps_rollup, status and statm at once, and gets it back after a restart (the state
file stores the heap as one run, core/pages.py)."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.deployment import Deployment
from app.main import create_app
from app.settings import Settings
from tests.app.live import serve

TIMEOUT = 60.0
TIB = 1 << 40
RW = ["PROT_READ", "PROT_WRITE"]


def _views(c: httpx.Client, pid: int) -> dict[str, str]:
    out = {}
    for name in ("smaps_rollup", "status", "statm", "smaps"):
        r = c.get(f"/machines/big/processes/{pid}/{name}")
        assert r.status_code == 200, r.text
        out[name] = r.text
    return out


def test_a_two_tib_heap_through_the_api_survives_a_restart(tmp_path: Path) -> None:
    deployment = Deployment(state_file=str(tmp_path / "state.json"), state_interval=0)
    settings = {"ram_pages": 1 << 30, "overcommit_memory": 1}  # 4 TiB of RAM
    with (
        serve(create_app(Settings(), deployment=deployment)) as running,
        httpx.Client(base_url=running.url, timeout=TIMEOUT) as c,
    ):
        assert c.post("/machines", json={"id": "big", "settings": settings}).status_code == 201
        pid = c.post("/machines/big/processes", json={"name": "heap"}).json()["pid"]
        r = c.post(
            f"/machines/big/processes/{pid}/mmap",
            json={
                "length": 2 * TIB,
                "prot": RW,
                "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_POPULATE"],
            },
        )
        assert r.status_code == 200, r.text
        views = _views(c, pid)
        assert "Rss:            2147483648 kB" in views["smaps_rollup"]
        assert "VmRSS:\t2147483648 kB" in views["status"]
        assert views["statm"].split()[1] == str(1 << 29)
        # No per-process cap: the environment sets none, the RAM bounds the machine.
        assert c.get("/machines/big").json()["settings"]["max_resident_pages"] is None
    with (
        serve(create_app(Settings(), deployment=deployment)) as running,
        httpx.Client(base_url=running.url, timeout=TIMEOUT) as c,
    ):
        assert _views(c, pid) == views
