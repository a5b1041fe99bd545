"""Graceful shutdown: in-flight requests finish, armed pause points are released,
streams end cleanly, new requests are refused, and the process exits promptly.

A held operation would otherwise wait its hold timeout and a stream with an hour
between snapshots would keep uvicorn waiting for ever. The tests make both waits far
longer than the bound they give the stop (a thread join or ``wait()`` timeout), so a
stop that ends in time can only be the shutdown's doing; they never time the stop,
which a loaded machine may slow down.
"""

from __future__ import annotations

import signal

import httpx
import pytest

from app.deployment import Deployment
from app.lifecycle import Lifecycle
from app.limits import AdmissionControl
from app.main import create_app
from app.service import Service
from app.settings import Settings
from app.streams import streams_for
from tests.app.live import serve, uvicorn_process
from tests.concurrency import spawn, wait_until

HELD = 600.0
"""Seconds a parked operation waits for its release: far beyond any stop's bound."""
STOP = 30.0
"""Seconds a stop may take: generous on a loaded machine, far below :data:`HELD`."""


def test_stop_releases_pauses_and_finishes_in_flight_requests() -> None:
    app = create_app(Settings(), deployment=Deployment())
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=30) as c:
        pid = c.post("/processes", json={"name": "held"}).json()["pid"]
        addr = c.post(
            f"/processes/{pid}/mmap",
            json={"length": 8192, "prot": ["PROT_READ"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]},
        ).json()["addr"]
        service: Service = app.state.service
        mm = service.kernel.get(pid).mm
        mm.pauses.arm("munmap:before_clear", timeout=HELD)
        mm.pauses.arm("mprotect:between_vmas")  # armed, never hit: disarmed by shutdown
        held = spawn(
            lambda: c.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": 4096})
        )
        mm.pauses.wait_for_hold("munmap:before_clear")
        running.stop(timeout=STOP)  # only a released hold lets it end within STOP
        assert held.result().status_code == 204  # finished, not cut off
        lifecycle: Lifecycle = app.state.lifecycle
        stats = lifecycle.statistics()
        assert stats.shutting_down and stats.pause_holds_released == 1
        assert app.state.shutting_down.is_set()
        assert mm.pauses.statistics().recent_timeouts == ()
        assert not mm.pauses.is_armed("mprotect:between_vmas")
        mm._check()
        assert "7ffff7ffe000-7ffff7fff000" in mm.maps()  # the munmap took effect


def test_stop_ends_streams_cleanly() -> None:
    app = create_app(Settings(), deployment=Deployment())
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=30) as c:
        pid = c.post("/processes", json={"layout": "typical"}).json()["pid"]
        lines: list[str] = []
        with c.stream(
            "GET", f"/processes/{pid}/maps/stream", params={"interval": 3600, "count": 5}
        ) as stream:
            assert stream.status_code == 200
            it = stream.iter_lines()
            lines.append(next(it))
            stopper = spawn(running.stop)
            # The body ends (a clean chunked terminator: no RemoteProtocolError).
            lines.extend(it)
            stopper.result()
        assert len(lines) == 1 and '"index":0' in lines[0]
        control: AdmissionControl = app.state.admission
        assert control.statistics().streams_ended == 1
        assert control.statistics().streams == 0
        registry = streams_for(app.state.service)
        wait_until(lambda: registry.statistics().live == 0, what="stream generator finished")


def test_requests_after_shutdown_began_are_refused() -> None:
    app = create_app(Settings(), deployment=Deployment(retry_after=3))
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=30) as c:
        assert c.get("/processes").status_code == 200
        lifecycle: Lifecycle = app.state.lifecycle
        lifecycle.shutdown.event.set()  # as begin_shutdown does first (no waiter here)
        response = c.get("/processes")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "3"
        assert response.headers["connection"] == "close"
        assert response.json()["type"] == "urn:vmasim:problem:shutting-down"
        assert c.get("/healthz").status_code == 200  # liveness still answers
        assert app.state.admission.statistics().refused_stopping == 1


@pytest.mark.timeout(180)  # a server process: slow to start when the machine is busy
def test_sigterm_on_a_real_server_ends_streams_and_saves(tmp_path) -> None:
    """``uvicorn app.main:app`` as in production: SIGTERM with a stream open. Without the
    chained handler uvicorn would wait for the stream (no graceful timeout given)."""
    state = tmp_path / "state.json"
    env = {"VMASIM_STATE_FILE": str(state), "VMASIM_STATE_INTERVAL": "0"}
    with uvicorn_process(env) as child, httpx.Client(base_url=child.url, timeout=30) as c:
        pid = c.post("/processes", json={"layout": "typical"}).json()["pid"]
        with c.stream(
            "GET", f"/processes/{pid}/maps/stream", params={"interval": 3600, "count": 5}
        ) as stream:
            it = stream.iter_lines()
            first = next(it)
            child.proc.send_signal(signal.SIGTERM)
            rest = list(it)
        assert '"index":0' in first and rest == []
        # uvicorn re-raises the signal it caught once it has shut down (default action).
        # Exits within STOP, not after the next snapshot an hour from now.
        assert child.proc.wait(STOP) in (0, -signal.SIGTERM)
        output = child.output()
        assert "graceful shutdown" in output or "Shutting down" in output, output
        assert state.exists()
        from core.checkpoint import load_state

        restored = load_state(state)
        assert [p.pid for p in restored.processes()] == [pid]
