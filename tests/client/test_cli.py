"""The ``vmasim`` CLI against the live server (and ``serve`` in a subprocess)."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from app import VERSION_TEXT
from client.cli import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    build_parser,
    listen_address,
    main,
)
from core import Kernel
from core.smaps import render_smaps
from tests import scripts_venv
from tests.app.conftest import LiveServer
from tests.concurrency import wait_until

COMMANDS = [
    "serve",
    "spawn",
    "ps",
    "maps",
    "mmap",
    "munmap",
    "madvise",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "mseal",
    "anon-name",
]
ROOT = scripts_venv.ROOT


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


def test_version_is_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version("vmasim") == declared
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"vmasim {VERSION_TEXT}\n"
    assert VERSION_TEXT.startswith(f"{declared} (engine: ")


def test_installed_console_script_runs() -> None:
    """``[project.scripts] vmasim`` is installed next to the interpreter."""
    script = Path(sysconfig.get_path("scripts")) / "vmasim"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, f"vmasim {VERSION_TEXT}\n"), done.stderr


@pytest.mark.skipif(not scripts_venv.current(), reason=scripts_venv.SKIP_REASON)
def test_scripts_vmasim_runs_the_cli() -> None:
    done = subprocess.run(
        [ROOT / "scripts" / "vmasim", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, f"vmasim {VERSION_TEXT}\n"), done.stderr


def _serve_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = sub.choices["serve"]
    return parser


def test_serve_help_describes_each_option(capsys: pytest.CaptureFixture[str]) -> None:
    options = [a for a in _serve_parser()._actions if a.dest != "help"]
    assert {a.dest for a in options} == {"host", "port"}
    for action, var, default in (
        (options[0], "VMASIM_HOST", "127.0.0.1"),
        (options[1], "VMASIM_PORT", "8000"),
    ):
        assert action.help and f"(default: ${var} if set, else {default})" in action.help
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("usage: vmasim serve [-h] [--host HOST] [--port PORT] [UVICORN OPTION")
    assert "one worker" in text
    assert "--host HOST address to listen on; 0.0.0.0 for every interface" in text
    assert "(default: $VMASIM_PORT if set, else 8000)" in text
    assert "vmasim serve --port 9000 --log-level debug" in text  # uvicorn options pass through


def test_listen_address_precedence() -> None:
    env = {"VMASIM_HOST": "0.0.0.0", "VMASIM_PORT": "9001"}
    assert listen_address(None, None, {}) == ("127.0.0.1", 8000)
    assert listen_address(None, None, env) == ("0.0.0.0", 9001)
    assert listen_address("::1", 9002, env) == ("::1", 9002)
    assert listen_address(None, None, {"VMASIM_HOST": "", "VMASIM_PORT": ""}) == (
        "127.0.0.1",
        8000,
    )
    with pytest.raises(ValueError, match=r"VMASIM_PORT='http' is not a TCP port"):
        listen_address(None, None, {"VMASIM_PORT": "http"})
    with pytest.raises(ValueError, match=r"VMASIM_PORT='65536'"):
        listen_address(None, None, {"VMASIM_PORT": "65536"})


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["serve", "--workers", "2"], {}, "--workers is refused"),
        (["serve", "--workers=1"], {}, "--workers is refused"),
        (["serve"], {"VMASIM_PORT": "eighty"}, "VMASIM_PORT='eighty' is not a TCP port"),
        (["serve", "--port", "70000"], {}, "'70000' is not a TCP port"),
        (["ps", "--log-level", "debug"], {}, "unrecognized arguments: --log-level debug"),
    ],
)
def test_serve_usage_errors_start_nothing(
    argv: list[str],
    env: dict[str, str],
    needle: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code  # type: ignore[assignment]
    assert code == EXIT_USAGE
    assert needle in capsys.readouterr().err


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


def test_lock_seal_and_name_commands(live_server: LiveServer) -> None:
    """Each locking, sealing and naming command against the live service, mirrored on
    a local engine: the same maps and smaps after every step."""
    url = live_server.url
    pid = int(run(url, "spawn", "--name", "locks")[1])
    mm = Kernel().spawn("locks").mm
    addr = int(run(url, "mmap", str(pid), "0x10000")[1], 16)
    assert addr == mm.mmap(0, 0x10000, 3, 0x22)
    steps: list[tuple[list[str], Callable[[], None]]] = [
        (["mlock", hex(addr + 0x1000), "0x2000"], lambda: mm.mlock(addr + 0x1000, 0x2000)),
        (
            ["mlock2", hex(addr + 0x4000), "4096", "--flags", "onfault"],
            lambda: mm.mlock2(addr + 0x4000, 4096, 1),
        ),
        (["munlock", hex(addr + 0x2000), "4096"], lambda: mm.munlock(addr + 0x2000, 4096)),
        (["mlockall", "current,MCL_FUTURE"], lambda: mm.mlockall(3)),
        (["munlockall"], mm.munlockall),
        (["mseal", hex(addr + 0x8000), "0x2000"], lambda: mm.mseal(addr + 0x8000, 0x2000)),
        (
            ["anon-name", hex(addr + 0xC000), "4096", "jit"],
            lambda: mm.set_anon_name(addr + 0xC000, 4096, "jit"),
        ),
        (
            ["madvise", hex(addr + 0xE000), "0x2000", "dontfork"],
            lambda: mm.madvise(addr + 0xE000, 0x2000, 10),
        ),
    ]
    for argv, local in steps:
        command, *rest = argv
        assert run(url, command, str(pid), *rest) == (EXIT_OK, ""), argv
        local()
        assert run(url, "maps", str(pid))[1] == mm.maps(), argv
        assert render_smaps(live_server.service.kernel.get(pid).mm) == render_smaps(mm), argv
    assert "[anon:jit]" in mm.maps() and " sl " in render_smaps(mm)
    assert run(url, "anon-name", str(pid), hex(addr + 0xC000), "4096") == (EXIT_OK, "")
    assert "[anon:" not in run(url, "maps", str(pid))[1]
    assert run(url, "munmap", str(pid), hex(addr + 0x8000), "4096")[0] == EXIT_REFUSED  # EPERM
    assert run(url, "mlockall", str(pid), "onfault")[0] == EXIT_REFUSED  # EINVAL


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
@pytest.mark.parametrize("command", ["python -m client serve", "scripts/serve"])
def test_serve_starts_the_service(command: str) -> None:
    """The port from VMASIM_PORT, a uvicorn option passed through (a response header)."""
    if command == "scripts/serve" and not scripts_venv.current():
        pytest.skip(scripts_venv.SKIP_REASON)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = (
        [sys.executable, "-m", "client", "serve"]
        if command.startswith("python")
        else [str(ROOT / "scripts" / "serve")]
    )
    proc = subprocess.Popen(
        [*argv, "--header", "x-vmasim-test:passed-through"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "VMASIM_MAX_PROCESSES": "5", "VMASIM_PORT": str(port)},
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
        response = httpx.get(f"http://127.0.0.1:{port}/processes", timeout=30)
        assert response.json()["limit"] == 5  # settings come from the environment
        assert response.headers["x-vmasim-test"] == "passed-through"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err.decode()
