"""Issue 18, item 5: a client that sends slowly starves nobody.

Requests whose body has not arrived do not count against ``VMASIM_MAX_INFLIGHT`` and
get a 408 after ``VMASIM_BODY_TIMEOUT``; a connection whose request head does not
arrive within ``VMASIM_HEADER_TIMEOUT`` is answered 408 and closed
(:class:`app.http.BoundedH11Protocol`, what ``vmasim serve`` runs).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn.importer

from app.deployment import Deployment
from app.http import PROTOCOL, BoundedH11Protocol
from app.main import create_app
from app.settings import Settings
from client.cli import HTTP_PROTOCOL
from tests.app.live import Running, serve
from tests.concurrency import wait_until


class FastHeads(BoundedH11Protocol):
    header_timeout = 1.0


@contextmanager
def _server(body_timeout: int = 2) -> Iterator[Running]:
    deployment = Deployment(body_timeout=body_timeout)  # VMASIM_MAX_INFLIGHT 64, the default
    app = create_app(Settings(), deployment=deployment)
    with serve(app, http=FastHeads, timeout_keep_alive=30) as running:
        yield running


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (30 s at most)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_bodies_that_never_come_hold_no_slot_and_time_out() -> None:
    with _server() as running, ExitStack() as stack:
        slow = []
        for _ in range(70):  # more than VMASIM_MAX_INFLIGHT=64
            sock = stack.enter_context(_connect(running.url))
            sock.sendall(
                b"POST /processes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n"
            )
            slow.append(sock)
        with httpx.Client(base_url=running.url, timeout=20) as c:
            for _ in range(5):
                r = c.post("/processes", json={"name": "fast"})
                assert r.status_code == 201, r.text  # main: 503 while the bodies are awaited
        admission = running.app.state.admission
        assert admission.statistics().refused_busy == 0
        # The slow requests never counted: once the fast ones finished, nothing is in flight.
        wait_until(lambda: admission.statistics().in_flight == 0, what="fast requests done")
        for sock in slow:
            answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert b"VMASIM_BODY_TIMEOUT=2 s (0 bytes received)" in answer
            assert b"connection: close" in answer.lower()
        assert running.app.state.service.statistics().processes == 5


def test_heads_that_never_complete_are_closed() -> None:
    with _server() as running, ExitStack() as stack:
        idle = stack.enter_context(_connect(running.url))  # sends nothing at all
        partial = stack.enter_context(_connect(running.url))
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # no blank line: no end
        with httpx.Client(base_url=running.url, timeout=20) as c:
            assert c.get("/healthz").status_code == 200
        for sock in (idle, partial):
            answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
            assert b"VMASIM_HEADER_TIMEOUT" in answer


def test_a_kept_connection_serves_request_after_request() -> None:
    """The head deadline armed when the connection opened ends with the first head."""
    with _server() as running, _connect(running.url) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            answer = b""
            while b'{"status":"ok"' not in answer:
                chunk = sock.recv(65536)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 "), answer


def test_vmasim_serve_runs_the_bounded_protocol() -> None:
    assert HTTP_PROTOCOL == PROTOCOL
    assert uvicorn.importer.import_from_string(PROTOCOL) is BoundedH11Protocol


@pytest.mark.parametrize("value", ["0", "x"])
def test_timeouts_are_checked_settings(value: str) -> None:
    from app.settings import SettingsError

    with pytest.raises(SettingsError, match="VMASIM_BODY_TIMEOUT"):
        Deployment.from_env({"VMASIM_BODY_TIMEOUT": value})
