"""Issue 21, machines (embedded backend): ``/machines`` and every process route under
``/machines/{machine}``.

Machines are independent (the same pids in two machines, different maps, their own
kernel settings, pause points and counters); the routes without the prefix are the
machine ``default``, unchanged; the bound and the refusals change nothing; deleting a
machine releases its holds and removes its state; a restart restores every machine
from its own checkpoint and journal; two machines serve at once while one is held.
Orderings are forced with pause points and the pool's statistics, never slept for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.deployment import Deployment
from app.errors import NoSuchMachine
from app.machines import EmbeddedMachines, MachineBackend, machines_dir
from app.main import Vmasim, create_app
from app.persistence import StateKeeper
from app.schemas.machines import KernelSettingsIn, KernelSettingsOut
from app.service import Service
from app.settings import Settings
from core import Kernel
from core.kernel import SETTINGS
from tests.app.live import Running, serve
from tests.concurrency import spawn, wait_until

PAGE = 4096
RW = ["PROT_READ", "PROT_WRITE"]
ANON = {"prot": RW, "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
TIMEOUT = 30.0


def _machines(running: Running) -> EmbeddedMachines:
    assert isinstance(running.app, Vmasim)
    machines = running.app.machines
    assert isinstance(machines, EmbeddedMachines)
    return machines


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    deployment = Deployment(state_file=str(tmp_path / "state.json"), state_interval=0)
    app = create_app(Settings(max_machines=4), deployment=deployment)
    with serve(app) as server:
        yield server


@pytest.fixture
def c(running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url, timeout=TIMEOUT) as client:
        yield client


def _populate(c: httpx.Client, prefix: str, pages: int) -> tuple[int, str]:
    """A process with one anonymous mapping of ``pages`` pages, one page touched."""
    r = c.post(f"{prefix}/processes", json={"name": "worker"})
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    assert r.headers["location"] == f"{prefix}/processes/{pid}"
    r = c.post(f"{prefix}/processes/{pid}/mmap", json={"length": pages * PAGE, **ANON})
    assert r.status_code == 200, r.text
    addr = r.json()["addr"]
    r = c.post(f"{prefix}/processes/{pid}/faults", json={"addr": addr, "access": "write"})
    assert r.status_code == 200, r.text
    return pid, addr


def test_kernel_settings_schema_names_what_the_kernel_accepts() -> None:
    """One home: the request and response models have one field per
    ``Kernel.configure`` setting, no more, no fewer."""
    assert set(KernelSettingsIn.model_fields) == set(SETTINGS)
    assert set(KernelSettingsOut.model_fields) == set(SETTINGS)


def test_machines_are_independent(c: httpx.Client, running: Running) -> None:
    for name in ("a", "b"):
        r = c.post("/machines", json={"id": name})
        assert r.status_code == 201, r.text
        assert r.headers["location"] == f"/machines/{name}"
        assert r.json()["processes"] == 0
    pid_a, addr_a = _populate(c, "/machines/a", 4)
    pid_b, addr_b = _populate(c, "/machines/b", 16)
    assert pid_a == pid_b  # each machine has its own pid space
    maps_a = c.get(f"/machines/a/processes/{pid_a}/maps").text
    maps_b = c.get(f"/machines/b/processes/{pid_b}/maps").text
    assert maps_a != maps_b
    assert f"{int(addr_a, 16):x}-" in maps_a and f"{int(addr_b, 16):x}-" in maps_b
    # Counters are per machine: machine b's fault is not machine a's.
    vm_a = c.get("/machines/a/vmstat").json()
    vm_b = c.get("/machines/b/vmstat").json()
    assert [p["pid"] for p in vm_a["processes"]] == [pid_a]
    assert [p["pid"] for p in vm_b["processes"]] == [pid_b]
    # Files are per machine: the file a sized is another (empty) file in b.
    r = c.post(f"/machines/a/processes/{pid_a}/files", json={"path": "/tmp/only-a", "size": 8192})
    assert r.status_code == 201 and r.json()["size"] == 8192, r.text
    opened = {"path": "/tmp/only-a", "flags": ["O_RDONLY"]}
    r = c.post(f"/machines/b/processes/{pid_b}/files", json=opened)
    assert r.status_code == 201 and r.json()["size"] == 0, r.text
    r = c.post(f"/machines/a/processes/{pid_a}/files", json=opened)
    assert r.status_code == 201 and r.json()["size"] == 8192, r.text
    # An exit in one machine leaves the other's process alone.
    assert c.delete(f"/machines/a/processes/{pid_a}").status_code == 204
    assert c.get(f"/machines/a/processes/{pid_a}").status_code == 404
    assert c.get(f"/machines/b/processes/{pid_b}/maps").text == maps_b
    machines = _machines(running)
    machines._check()
    for machine in machines.machines():
        machine.service._check()
        for proc in machine.service.kernel.processes():
            proc.mm._check()


def test_default_routes_are_the_default_machine(c: httpx.Client) -> None:
    pid, _ = _populate(c, "", 2)
    assert (
        c.get(f"/machines/default/processes/{pid}/maps").text
        == c.get(f"/processes/{pid}/maps").text
    )
    assert c.get("/processes").json() == c.get("/machines/default/processes").json()
    listed = c.get("/machines").json()
    assert [m["id"] for m in listed["machines"]] == ["default"]
    assert listed["machines"][0]["default"] is True
    assert listed["machines"][0]["processes"] == 1
    assert (listed["count"], listed["limit"]) == (1, 4)
    # The machine a path names is the only one it reaches.
    r = c.post("/machines", json={"id": "other"})
    assert r.status_code == 201, r.text
    assert c.get(f"/machines/other/processes/{pid}").status_code == 404


def test_kernel_settings_are_the_machines_own(c: httpx.Client) -> None:
    """Overcommit never (mode 2) on 1 MiB of RAM and no swap refuses a 64 MiB private
    writable mapping with ENOMEM, as __vm_enough_memory does; the default machine,
    heuristic overcommit on the host's RAM, maps it."""
    settings = {"ram_pages": 256, "swap_pages": 0, "overcommit_memory": 2, "max_map_count": 100}
    r = c.post("/machines", json={"id": "tiny", "settings": settings})
    assert r.status_code == 201, r.text
    out = r.json()["settings"]
    assert {k: out[k] for k in settings} == settings
    assert out["max_resident_pages"] == Settings().resident_cap  # the environment's (none)
    big = {"length": 64 << 20, **ANON}
    for prefix, status in (("/machines/tiny", 422), ("", 200)):
        pid = c.post(f"{prefix}/processes", json={}).json()["pid"]
        r = c.post(f"{prefix}/processes/{pid}/mmap", json=big)
        assert r.status_code == status, r.text
        if status == 422:
            assert r.json()["errno_name"] == "ENOMEM"


def test_refusals_change_nothing(c: httpx.Client, running: Running) -> None:
    r = c.post("/machines", json={"id": "x", "settings": {"ram_pages": 0}})
    assert r.status_code == 422, r.text
    assert "ram_pages" in r.json()["detail"]
    r = c.post("/machines", json={"id": "Bad_Id"})
    assert r.status_code == 422, r.text
    r = c.post("/machines", json={"id": "x", "settings": {"overcommit_memory": 3}})
    assert r.status_code == 422, r.text
    assert [m["id"] for m in c.get("/machines").json()["machines"]] == ["default"]
    root = machines_dir(str(Path(running.app.state.state_keeper.path)))
    assert not os.path.exists(root) or os.listdir(root) == []
    # An id chosen by the service, then a taken id, then the bound (4, default included).
    r = c.post("/machines", json={})
    assert r.status_code == 201 and r.json()["id"] == "machine-1", r.text
    r = c.post("/machines", json={"id": "machine-1"})
    assert r.status_code == 409 and r.json()["machine"] == "machine-1", r.text
    assert c.post("/machines", json={"id": "m2"}).status_code == 201
    assert c.post("/machines", json={"id": "m3"}).status_code == 201
    r = c.post("/machines", json={"id": "m4"})
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith(":machine-limit")
    assert (problem["setting"], problem["limit"], problem["value"]) == ("VMASIM_MAX_MACHINES", 4, 5)
    assert c.get("/machines").json()["count"] == 4
    # Unknown machines: 404 on the resource and on every route under it.
    assert c.get("/machines/nope").status_code == 404
    r = c.get("/machines/nope/processes")
    assert r.status_code == 404 and r.json()["machine"] == "nope", r.text
    assert c.delete("/machines/nope").status_code == 404
    r = c.delete("/machines/default")
    assert r.status_code == 409 and r.json()["type"].endswith(":default-machine"), r.text
    _machines(running)._check()


def test_delete_releases_holds_and_removes_state(c: httpx.Client, running: Running) -> None:
    assert c.post("/machines", json={"id": "gone"}).status_code == 201
    pid, addr = _populate(c, "/machines/gone", 4)
    directory = Path(machines_dir(running.app.state.state_keeper.path)) / "gone"
    assert (directory / "machine.json").exists()
    r = c.post(
        f"/machines/gone/processes/{pid}/pause-points",
        json={"name": "munmap:before_clear", "timeout": 300},
    )
    assert r.status_code in (200, 201), r.text
    machine = _machines(running).get("gone")
    proc = machine.service.kernel.get(pid)

    def munmap() -> httpx.Response:
        with httpx.Client(base_url=running.url, timeout=TIMEOUT) as other:
            return other.post(
                f"/machines/gone/processes/{pid}/munmap", json={"addr": addr, "length": PAGE}
            )

    held = spawn(munmap, name="held munmap")
    proc.mm.pauses.wait_for_hold("munmap:before_clear", timeout=TIMEOUT)
    assert c.delete("/machines/gone").status_code == 204
    # The held munmap was released and completed (acknowledged before the delete ended).
    assert held.result(TIMEOUT).status_code == 204
    assert c.get("/machines/gone").status_code == 404
    assert not proc.alive  # its processes exited (their streams end)
    assert c.get(f"/machines/gone/processes/{pid}").status_code == 404
    assert not directory.exists()
    # The id is free again: a new, empty machine.
    assert c.post("/machines", json={"id": "gone"}).status_code == 201
    assert c.get("/machines/gone/processes").json()["count"] == 0


def _view(c: httpx.Client, prefix: str) -> dict[int, str]:
    procs = c.get(f"{prefix}/processes").json()["processes"]
    return {p["pid"]: c.get(f"{prefix}/processes/{p['pid']}/maps").text for p in procs}


def test_restart_restores_every_machine(tmp_path: Path) -> None:
    deployment = Deployment(state_file=str(tmp_path / "state.json"), state_interval=0)
    settings = {"ram_pages": 1 << 20, "overcommit_memory": 1, "max_map_count": 500}
    views: dict[str, dict[int, str]] = {}
    app = create_app(Settings(), deployment=deployment)
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=TIMEOUT) as c:
        assert c.post("/machines", json={"id": "a", "settings": settings}).status_code == 201
        assert c.post("/machines", json={"id": "b"}).status_code == 201
        assert c.post("/machines", json={"id": "dropped"}).status_code == 201
        _populate(c, "", 3)
        _populate(c, "/machines/a", 5)
        _populate(c, "/machines/a", 6)
        _populate(c, "/machines/b", 7)
        _populate(c, "/machines/dropped", 1)
        assert c.delete("/machines/dropped").status_code == 204
        for prefix in ("", "/machines/a", "/machines/b"):
            views[prefix] = _view(c, prefix)
        # Acknowledged means kept before any checkpoint: machine a's journal alone
        # rebuilds it (a second keeper reads the files while the server runs).
        machine = _machines(running).get("a")
        again = Service(Settings(), kernel_settings=settings, machine="a")
        keeper = StateKeeper(again, machine.keeper.path, 0, "journal")
        try:
            assert keeper.restore()
            assert sorted(p.pid for p in again.kernel.processes()) == sorted(views["/machines/a"])
            assert keeper.replayed.records > 0 and keeper.replayed.diverged == 0
            assert again.kernel.settings()["overcommit_memory"] == 1
        finally:
            keeper.close()
    app = create_app(Settings(), deployment=deployment)
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=TIMEOUT) as c:
        listed = c.get("/machines").json()["machines"]
        assert [m["id"] for m in listed] == ["default", "a", "b"]
        a = next(m for m in listed if m["id"] == "a")
        assert {k: a["settings"][k] for k in settings} == settings
        for prefix, view in views.items():
            assert _view(c, prefix) == view, prefix
        for machine in _machines(running).machines():
            for proc in machine.service.kernel.processes():
                proc.mm._check()
        assert _machines(running).statistics().restored == 2


def test_a_hold_in_one_machine_delays_no_other(c: httpx.Client, running: Running) -> None:
    """Machine a's munmap is held at a pause point, and more of a's writers queue
    behind it on that mm's mmap_lock; machine b, whose pids are the same numbers,
    creates, maps, faults and reads meanwhile, from several threads at once."""
    for name in ("a", "b"):
        assert c.post("/machines", json={"id": name}).status_code == 201
    pid, addr = _populate(c, "/machines/a", 4)
    c.post(
        f"/machines/a/processes/{pid}/pause-points",
        json={"name": "munmap:before_clear", "timeout": 300},
    )
    proc = _machines(running).get("a").service.kernel.get(pid)

    def call(path: str, body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=running.url, timeout=120) as other:
            return other.post(path, json=body)

    held = spawn(
        call, f"/machines/a/processes/{pid}/munmap", {"addr": addr, "length": PAGE}, name="held"
    )
    proc.mm.pauses.wait_for_hold("munmap:before_clear", timeout=TIMEOUT)
    queued = spawn(
        call,
        f"/machines/a/processes/{pid}/mprotect",
        {"addr": int(addr, 16) + PAGE, "length": PAGE, "prot": []},
        name="queued",
    )
    pool = _machines(running).get("a").service.pool
    wait_until(lambda: pool.statistics().waiting == 2, what="a's two writers waiting")

    def load(i: int) -> list[int]:
        with httpx.Client(base_url=running.url, timeout=TIMEOUT) as other:
            pids = [_populate(other, "/machines/b", 1 + i)[0] for _ in range(3)]
            for p in pids:
                assert other.get(f"/machines/b/processes/{p}/maps").status_code == 200
            return pids

    workers = [spawn(load, i, name=f"b-{i}") for i in range(3)]
    created = sorted(p for w in workers for p in w.result(TIMEOUT))
    assert created == list(range(1000, 1009))  # b's own pid space, from 1000
    assert held.is_alive() and queued.is_alive()  # a is still held throughout
    c.delete(f"/machines/a/processes/{pid}/pause-points")
    assert held.result(TIMEOUT).status_code == 204
    assert queued.result(TIMEOUT).status_code == 204
    for machine in _machines(running).machines():
        for p in machine.service.kernel.processes():
            p.mm._check()


def test_kernel_configure_is_checked_before_anything_is_built() -> None:
    """``Service`` applies the machine's settings through ``Kernel.configure``: a bad
    one raises the kernel's own error."""
    from core import InvalidArgument

    with pytest.raises(InvalidArgument, match="overcommit_memory"):
        Service(Settings(), kernel_settings={"overcommit_memory": 7})
    with pytest.raises(InvalidArgument, match="unknown kernel setting"):
        Service(Settings(), kernel_settings={"vm_swappiness": 7})
    assert Service(Settings(), Kernel(), {"swap_pages": 9}).kernel.swap_pages == 9


def test_delete_ends_the_streams_of_the_machine(c: httpx.Client, running: Running) -> None:
    """A maps stream open on a machine's process ends with ``exited`` when the machine
    is deleted (it does not live on for its max_duration)."""
    assert c.post("/machines", json={"id": "streamed"}).status_code == 201
    pid, _ = _populate(c, "/machines/streamed", 2)
    url = f"/machines/streamed/processes/{pid}/maps/events"
    params: dict[str, float | str] = {
        "interval": 0.05,
        "count": 100000,
        "max_duration": 600,
        "only_changes": "true",
    }
    with (
        httpx.Client(base_url=running.url, timeout=TIMEOUT) as reader,
        reader.stream("GET", url, params=params) as stream,
    ):
        assert stream.status_code == 200
        events = stream.iter_lines()
        first = next(line for line in events if line.startswith("event:"))
        assert first == "event: snapshot"
        assert c.delete("/machines/streamed").status_code == 204
        rest = list(events)
    ends = [i for i, line in enumerate(rest) if line == "event: end"]
    assert ends, rest[-5:]
    assert json.loads(rest[ends[-1] + 1].removeprefix("data:"))["reason"] == "exited"


def test_the_embedded_backend_is_a_machine_backend() -> None:
    """The seam a cluster backend plugs into: mypy checks the assignment, the test
    that the protocol's lookups answer as the routes need."""
    backend: MachineBackend = EmbeddedMachines(Settings(), Deployment())
    assert backend.default.is_default and backend.get("default") is backend.default
    assert [m.name for m in backend.machines()] == ["default"]
    assert backend.services() == [backend.default.service]
    with pytest.raises(NoSuchMachine):
        backend.get("absent")
    assert backend.statistics().machines == 1


def test_experiment_links_stay_on_the_machine(c: httpx.Client) -> None:
    """A machine's experiment job links to its plot and CSV under the machine's prefix,
    as its ``Location`` does; the default machine's routes stay unprefixed."""
    pytest.importorskip("matplotlib")
    assert c.post("/machines", json={"id": "lab"}).status_code == 201
    body = {"name": "fault-scaling", "cell_seconds": 0.05, "seed": 4}
    r = c.post("/machines/lab/experiments", json={**body, "cost": {"syscall_s": 0}})
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    assert r.headers["location"] == f"/machines/lab/experiments/{job}"
    state: dict[str, Any] = {}

    def finished() -> bool:
        state.update(c.get(f"/machines/lab/experiments/{job}").json())
        return state["state"] in ("done", "failed", "cancelled")

    wait_until(finished, timeout=60, what="the machine's experiment job finished")
    assert state["state"] == "done", state["error"]
    assert state["plot_url"] == f"/machines/lab/experiments/{job}/plot"
    assert state["csv_url"] == f"/machines/lab/experiments/{job}/csv"
    assert c.get(state["csv_url"]).text.startswith("# experiment: fault-scaling")
    listed = c.get("/machines/lab/experiments").json()
    assert [j["plot_url"] for j in listed] == [state["plot_url"]]
    assert c.get("/experiments").json() == []  # the default machine's jobs are its own
