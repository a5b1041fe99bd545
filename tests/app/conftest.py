"""Fixtures for the service tests: a live uvicorn server on a free loopback port
(session-scoped, in a thread, httpx's ``serve_in_thread`` pattern) and clients.

The live server owns one :class:`core.Kernel` for the whole session; tests create
their own processes and never assume the table is empty. Tests that need other
settings (small limits) build their own app and talk to it in-process.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from app.main import create_app
from app.service import Service
from app.settings import Settings
from client.api import VmasimClient
from tests.concurrency import wait_until

CLIENT_TIMEOUT = 30.0
"""Seconds the session clients wait for an answer: generous, for a busy machine."""


@dataclass
class LiveServer:
    """A running service: its base URL and its :class:`Service` (for white-box checks)."""

    url: str
    service: Service


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    app = create_app(Settings())
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is
    # IPPROTO_TCP, and accepted sockets inherit proto 0 from socket.socket()'s default,
    # which costs every request a 40 ms Nagle/delayed-ACK stall.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    # uvicorn installs no signal handlers outside the main thread (Server.capture_signals).
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
    )
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), what="uvicorn started")
        assert server.started, "uvicorn exited during start-up"
        yield LiveServer(f"http://127.0.0.1:{port}", app.state.service)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    """One client for the session (building an httpx client loads a CA bundle: ~0.2 s)."""
    with httpx.Client(base_url=live_server.url, timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.fixture(scope="session")
def api(live_server: LiveServer) -> Iterator[VmasimClient]:
    with VmasimClient(live_server.url, timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.fixture
def pid(http: httpx.Client) -> Iterator[int]:
    """A fresh empty process, deleted afterwards (if the test did not)."""
    response = http.post("/processes", json={"name": "test"})
    assert response.status_code == 201, response.text
    value: int = response.json()["pid"]
    yield value
    http.delete(f"/processes/{value}")
