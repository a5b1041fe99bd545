"""The ``vmasim`` CLI against the live server (and ``serve`` in a subprocess)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from app.cli import EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, main
from core import Kernel
from tests.app.conftest import LiveServer
from tests.concurrency import wait_until

COMMANDS = ["serve", "spawn", "ps", "maps", "mmap", "munmap"]


def run(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--url", url, *argv], out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"] if command else ["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: vmasim")
    if command is None:
        for name in COMMANDS:
            assert name in text


def test_client_commands(live_server: LiveServer) -> None:
    url = live_server.url
    code, out = run(url, "spawn", "--layout", "typical", "--name", "cli")
    assert code == EXIT_OK
    pid = int(out)
    local = Kernel().spawn("cli", layout="typical")

    code, out = run(url, "ps")
    assert code == EXIT_OK
    assert out.splitlines()[0].split() == ["PID", "VMAS", "NAME"]
    assert [str(pid), str(local.mm.map_count), "cli"] in [line.split() for line in out.splitlines()]

    code, out = run(
        url, "mmap", str(pid), "0x3000", "--prot", "read", "--flags", "private,ANONYMOUS"
    )
    assert code == EXIT_OK
    addr = int(out, 16)
    assert addr == local.mm.mmap(0, 0x3000, 1, 0x22)

    code, out = run(url, "munmap", str(pid), hex(addr), "4096")
    assert (code, out) == (EXIT_OK, "")
    local.mm.munmap(addr, 4096)

    code, maps = run(url, "maps", str(pid))
    assert code == EXIT_OK
    assert maps == local.mm.maps() == live_server.service.kernel.get(pid).mm.maps()
    code, out = run(url, "maps", str(pid), "--json")
    assert json.loads(out)["count"] == len(maps.splitlines())
    assert run(url, "munmap", str(pid), "0", "0")[0] == EXIT_REFUSED  # EINVAL


def test_refused_and_unreachable(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(live_server.url, "maps", "999999")
    assert code == EXIT_REFUSED
    assert "no process with pid 999999" in capsys.readouterr().err
    pid = int(run(live_server.url, "spawn")[1])
    code, _ = run(live_server.url, "mmap", str(pid), "4096", "--prot", "bogus")
    assert code == EXIT_REFUSED
    assert "PROT_BOGUS" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, _ = run(closed, "ps")
    assert code == EXIT_UNREACHABLE
    assert "cannot reach" in capsys.readouterr().err


@pytest.mark.timeout(180)  # a server process: slow to start when the machine is busy
def test_serve_starts_the_service() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "VMASIM_MAX_PROCESSES": "5"},
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                assert proc.poll() is None, "vmasim serve exited"
                return False

        # Generous: its imports alone took 30 s on a loaded machine.
        wait_until(up, timeout=90, what="vmasim serve answers /healthz")
        listing = httpx.get(f"http://127.0.0.1:{port}/processes", timeout=30).json()
        assert listing["limit"] == 5  # settings come from the environment
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err.decode()
