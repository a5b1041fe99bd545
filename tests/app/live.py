"""A live uvicorn serving a given app in a thread, for tests that need their own
settings (the session-wide fixture in ``conftest.py`` has the defaults).

:class:`~app.lifecycle.GracefulServer` so that stopping it runs the service's graceful
shutdown exactly as SIGTERM does in production.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import httpx
from fastapi import FastAPI
from uvicorn import Config

from app.lifecycle import GracefulServer
from tests.concurrency import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Running:
    """A server started by :func:`serve`: its URL, app, server and thread."""

    url: str
    app: FastAPI
    server: GracefulServer
    thread: threading.Thread

    def stop(self, timeout: float = 20) -> None:
        """Begin uvicorn's shutdown and wait for the thread to end."""
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "uvicorn did not stop"


@contextmanager
def serve(app: FastAPI, *, start_timeout: float = 30.0, **config: Any) -> Iterator[Running]:
    """Serve ``app`` on a free loopback port until the block ends. ``config`` goes to
    ``uvicorn.Config`` (default: warnings only, no access log); ``start_timeout``
    bounds the start-up (the app's lifespan included: a cluster front end connects to
    Ray there, which takes longer on a loaded machine)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "on", "access_log": False}
    options.update(config)
    server = GracefulServer(Config(app, **options))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True
    )
    thread.start()
    running = Running(f"http://127.0.0.1:{port}", app, server, thread)
    try:
        wait_until(
            lambda: server.started or not thread.is_alive(),
            timeout=start_timeout,
            what="uvicorn started",
        )
        assert server.started, "uvicorn exited during start-up"
        yield running
    finally:
        if thread.is_alive():
            running.stop()
        sock.close()


@dataclass
class Subprocess:
    """A uvicorn serving ``app.main:app`` in a child process (see :func:`uvicorn_process`)."""

    url: str
    proc: subprocess.Popen[bytes]
    #: The child's stdout and stderr: a file, not a pipe. Nobody reads a pipe while the
    #: test runs, and uvicorn's access log fills its 64 KiB after a few hundred
    #: requests; the child then blocks in write() and stops serving (seen: a load test
    #: whose server made no progress for 20 s).
    log: IO[bytes]

    def output(self) -> str:
        """Everything the child wrote (waits for it to exit)."""
        self.proc.wait(timeout=60)
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def uvicorn_process(env: dict[str, str], wait: bool = True) -> Iterator[Subprocess]:
    """``python -m uvicorn app.main:app`` on a free port with ``env`` added to the
    environment; waits for ``/healthz`` (unless ``wait`` is false) and kills the child
    at the end if it still runs."""
    port = free_port()
    full = {**os.environ, **env}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--log-level",
                "info",
            ],
            cwd=ROOT,
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        child = Subprocess(f"http://127.0.0.1:{port}", proc, log)
        try:
            if wait:

                def healthy() -> bool:
                    if proc.poll() is not None:
                        return True
                    try:
                        return httpx.get(child.url + "/healthz", timeout=5).status_code == 200
                    except httpx.TransportError:
                        return False

                # Generous: its imports alone took 30 s on a loaded machine.
                wait_until(healthy, timeout=90, what="uvicorn subprocess healthy")
                assert proc.poll() is None, child.output()
            yield child
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
