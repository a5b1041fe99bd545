"""State that survives restarts (``VMASIM_STATE_FILE``): restored on start, saved
periodically and on shutdown, atomically; a SIGKILL mid-load leaves the last checkpoint
loadable and consistent; a bad file stops the start-up with a clear error."""

from __future__ import annotations

import collections
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.deployment import Deployment
from app.main import create_app
from app.persistence import StateKeeper
from app.settings import Settings, SettingsError
from core.checkpoint import load_state
from core.errors import StateError
from tests.app.live import serve, uvicorn_process
from tests.concurrency import Record, wait_until

PAGE = 4096
ANON = {"prot": ["PROT_READ", "PROT_WRITE"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}


def _populate(c: httpx.Client) -> list[int]:
    pids = []
    typical = c.post("/processes", json={"layout": "typical", "name": "typ"}).json()["pid"]
    pids.append(typical)
    fd = c.post(f"/processes/{typical}/files", json={"path": "/srv/db", "size": 8 * PAGE})
    assert fd.status_code == 201, fd.text
    ops = [
        {"op": "mmap", "length": 16 * PAGE, **ANON},
        {"op": "mmap", "length": 4 * PAGE, "prot": ["PROT_READ", "PROT_WRITE"],
         "flags": ["MAP_SHARED"], "fd": fd.json()["fd"], "offset": 0},
    ]  # fmt: skip
    results = c.post(f"/processes/{typical}/syscalls", json={"ops": ops}).json()["results"]
    anon, shared = (int(r["addr"], 16) for r in results)
    for addr, access in ((anon, "write"), (anon + PAGE, "read"), (shared, "write")):
        r = c.post(f"/processes/{typical}/faults", json={"addr": addr, "access": access})
        assert r.status_code == 200, r.text
    c.post(f"/processes/{typical}/mprotect", json={"addr": anon, "length": PAGE, "prot": []})
    c.post(f"/processes/{typical}/brk", json={"addr": 0x555555581000 + 2 * PAGE})
    pids.append(c.post("/processes", json={"name": "empty"}).json()["pid"])
    return pids


def _view(c: httpx.Client, pids: list[int]) -> dict[int, Any]:
    return {
        pid: (c.get(f"/processes/{pid}").json(), c.get(f"/processes/{pid}/maps").text)
        for pid in pids
    }


def test_restart_restores_every_process(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    deployment = Deployment(state_file=str(path), state_interval=0)
    app = create_app(Settings(), deployment=deployment)
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=20) as c:
        pids = _populate(c)
        before = _view(c, pids)
        assert not path.exists()  # interval 0: saved on shutdown only
    keeper: StateKeeper = app.state.state_keeper
    assert keeper.statistics().saves == 1 and path.exists()

    again = create_app(Settings(), deployment=deployment)
    with serve(again) as running, httpx.Client(base_url=running.url, timeout=20) as c:
        assert [p["pid"] for p in c.get("/processes").json()["processes"]] == pids
        assert _view(c, pids) == before
        new = c.post("/processes", json={"name": "new"}).json()["pid"]
        assert new > max(pids)
        for proc in again.state.service.kernel.processes():
            proc.mm._check()
    assert again.state.state_keeper.statistics().restored_processes == len(pids)
    assert len(load_state(path).processes()) == len(pids) + 1


def test_periodic_saves(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    app = create_app(Settings(), deployment=Deployment(state_file=str(path), state_interval=1))
    keeper: StateKeeper = app.state.state_keeper
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=20) as c:
        pid = c.post("/processes", json={"layout": "typical"}).json()["pid"]
        wait_until(lambda: keeper.statistics().saves >= 1, timeout=30, what="a periodic save")
        assert [p.pid for p in load_state(path).processes()] == [pid]
        assert keeper.statistics().failures == 0


def test_without_state_file_nothing_is_written(tmp_path: Path) -> None:
    app = create_app(Settings(), deployment=Deployment())
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=20) as c:
        c.post("/processes", json={"name": "x"})
    assert app.state.state_keeper.statistics().saves == 0
    assert os.listdir(tmp_path) == []


def test_state_settings_from_environment() -> None:
    d = Deployment.from_env(
        {"VMASIM_STATE_FILE": "/var/lib/vmasim/state.json", "VMASIM_STATE_INTERVAL": "5"}
    )
    assert (d.state_file, d.state_interval) == ("/var/lib/vmasim/state.json", 5)
    with pytest.raises(SettingsError, match=r"^VMASIM_STATE_INTERVAL=-1 must be an integer"):
        Deployment.from_env({"VMASIM_STATE_INTERVAL": "-1"})
    with pytest.raises(SettingsError, match=r"^VMASIM_MAX_INFLIGHT='lots' is not an integer"):
        Deployment.from_env({"VMASIM_MAX_INFLIGHT": "lots"})


@pytest.mark.timeout(150)
def test_bad_state_file_stops_startup(tmp_path: Path) -> None:
    """The real server process: the lifespan raises, uvicorn exits non-zero."""
    path = tmp_path / "state.json"
    content = b'{"format": "vmasim-state", "version": 99}'
    message = "state.version=99 is unknown"
    path.write_bytes(content)
    env = {"VMASIM_STATE_FILE": str(path)}
    with uvicorn_process(env, wait=False) as child:
        assert child.proc.wait(120) != 0  # imports alone took 30 s on a loaded machine
        output = child.output()
    assert "StateError" in output and message in output and str(path) in output, output
    assert "Application startup failed" in output
    assert path.read_bytes() == content  # never overwritten by a half-loaded engine


def test_torn_state_file_is_refused_before_serving(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b'{"format": "vmasim-state", "vers')
    app = create_app(Settings(), deployment=Deployment(state_file=str(path)))
    kernel = app.state.service.kernel
    with pytest.raises(StateError, match=r"state\.json' is not valid JSON"):
        app.state.state_keeper.restore()
    assert app.state.service.kernel is kernel  # nothing replaced, nothing half-loaded


def test_unwritable_state_directory_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "state.json"
    app = create_app(Settings(), deployment=Deployment(state_file=str(path)))
    with pytest.raises(StateError, match=r"directory '.*missing' is missing or not writable"):
        app.state.state_keeper.restore()


LIVE_PER_WORKER = 4
"""Processes each load thread keeps alive: it ends its oldest before it holds more, so
the load stays far below ``VMASIM_MAX_PROCESSES`` however long it runs (a slow save, a
busy machine) and every checkpoint has about the same size."""


class _Saves:
    """Counts the checkpoints the server writes to ``path``, seen from outside: every
    save ends with ``os.replace`` of a new file, so the inode (and mtime) of ``path``
    changes once per save. A poll that misses a save only undercounts, which delays
    the waiter by one period, never ends it early."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._last = self._identity()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def poll(self) -> int:
        now = self._identity()
        if now != self._last:
            self._last = now
            self.count += 1
        return self.count


@pytest.mark.timeout(240)
def test_sigkill_mid_load_leaves_a_consistent_checkpoint(tmp_path: Path) -> None:
    """A live server under load saving every second is SIGKILLed; the file it leaves
    (whichever save was last) loads, passes every _check, and holds the processes of
    every load thread.

    Deterministic in what it waits for: every load thread has finished a round, then
    two more saves landed, so the last one began after the load was under way. Bounded
    in what it creates: each thread keeps at most :data:`LIVE_PER_WORKER` processes."""
    path = tmp_path / "state.json"
    env = {"VMASIM_STATE_FILE": str(path), "VMASIM_STATE_INTERVAL": "1"}
    killing = threading.Event()
    failures = Record()  # anything unexpected in a load thread, asserted below
    workers = 3
    rounds = [0] * workers  # slot i is written by load thread i only
    ops = [{"op": "mmap", "length": 8 * PAGE, **ANON} for _ in range(20)]
    ops += [{"op": "munmap", "addr": "0x7ffff7dd2000", "length": PAGE}]

    def expect(r: httpx.Response, code: int) -> httpx.Response:
        if r.status_code != code:
            raise AssertionError(
                f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
            )
        return r

    with uvicorn_process(env) as child:

        def load(i: int) -> None:
            live: collections.deque[int] = collections.deque()
            try:
                with httpx.Client(base_url=child.url, timeout=30) as c:
                    while True:
                        pid = expect(c.post("/processes", json={"layout": "typical"}), 201)
                        live.append(pid.json()["pid"])
                        expect(c.post(f"/processes/{live[-1]}/syscalls", json={"ops": ops}), 200)
                        fault = {"addr": "0x555555560000", "access": "write"}
                        expect(c.post(f"/processes/{live[-1]}/faults", json=fault), 200)
                        if len(live) > LIVE_PER_WORKER:
                            expect(c.delete(f"/processes/{live.popleft()}"), 204)
                        rounds[i] += 1
            except httpx.TransportError as exc:
                if not killing.is_set():  # the server was not killed yet: a real failure
                    failures.append(f"load thread {i}: {exc!r}")
            except BaseException as exc:
                failures.append(f"load thread {i}: {exc!r}")

        threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(workers)]
        for t in threads:
            t.start()
        wait_until(lambda: all(rounds) or len(failures), 30, what="a round by every thread")
        assert not failures.snapshot()
        saves = _Saves(path)
        wait_until(lambda: saves.poll() >= 2 or len(failures), 30, what="two periodic saves")
        assert not failures.snapshot()
        killing.set()
        child.proc.send_signal(signal.SIGKILL)
        assert child.proc.wait(10) == -signal.SIGKILL
        for t in threads:
            t.join(30)
            assert not t.is_alive(), "a load thread did not notice the killed server"
    assert not failures.snapshot()
    kernel = load_state(path)  # validates and runs Mm._check() on every process
    procs = kernel.processes()
    # Each thread had a live process from its first round on, before both saves.
    assert len(procs) >= workers, [p.pid for p in procs]
    for proc in procs:
        proc.mm._check()
        assert "[stack]" in proc.mm.maps()
    doc = json.loads(path.read_bytes())
    assert doc["kernel"]["next_pid"] > max(p.pid for p in procs)
