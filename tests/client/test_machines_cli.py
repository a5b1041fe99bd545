"""Issue 21, machines: the typed client's ``machine`` and the CLI's ``--machine`` and
``machines`` command, against the live server."""

from __future__ import annotations

import io
import json

import pytest

from client.api import ApiError, VmasimClient
from client.cli import EXIT_OK, EXIT_REFUSED, main
from tests.app.conftest import LiveServer


def run(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--url", url, *argv], out=out)
    return code, out.getvalue()


def test_client_acts_on_its_machine(live_server: LiveServer) -> None:
    with VmasimClient(live_server.url, timeout=30) as api:
        made = api.create_machine("client-a", ram_pages=1 << 18, overcommit_memory=2)
        assert (made.id, made.settings.ram_pages, made.settings.overcommit_memory) == (
            "client-a",
            1 << 18,
            2,
        )
        try:
            other = api.on("client-a")
            assert other.machine == "client-a"
            proc = other.create_process(name="in-a")
            other.mmap(proc.pid, 0, 8192, ["PROT_READ"], ["MAP_PRIVATE", "MAP_ANONYMOUS"])
            assert [p.pid for p in other.list_processes().processes] == [proc.pid]
            assert other.get_machine().processes == 1
            # The default client does not see machine client-a's process.
            assert proc.pid not in {
                p.pid for p in api.list_processes().processes if p.name == "in-a"
            }
            assert "client-a" in {m.id for m in api.list_machines().machines}
        finally:
            api.delete_machine("client-a")
        with pytest.raises(ApiError) as exc:
            api.get_machine("client-a")
        assert exc.value.status == 404 and exc.value.problem["machine"] == "client-a"


def test_cli_machines_and_machine_option(live_server: LiveServer) -> None:
    url = live_server.url
    code, out = run(url, "machines", "create", "cli-m", "--set", "swap_pages=0x10")
    assert (code, out) == (EXIT_OK, "cli-m\n")
    try:
        code, out = run(url, "--machine", "cli-m", "spawn", "--name", "onm")
        assert code == EXIT_OK
        pid = int(out)
        code, out = run(url, "--machine", "cli-m", "ps")
        assert code == EXIT_OK and f"{pid:>7}" in out and "onm" in out
        code, out = run(url, "machines", "show", "cli-m")
        shown = json.loads(out)
        assert (shown["processes"], shown["settings"]["swap_pages"]) == (1, 16)
        code, out = run(url, "machines")
        assert code == EXIT_OK
        assert [line.split()[0] for line in out.splitlines()[1:]][:1] == ["default"]
        assert "cli-m" in [line.split()[0] for line in out.splitlines()[1:]]
    finally:
        code, _ = run(url, "machines", "delete", "cli-m")
        assert code == EXIT_OK
    code, _ = run(url, "--machine", "cli-m", "ps")
    assert code == EXIT_REFUSED
    with pytest.raises(SystemExit):
        run(url, "machines", "delete")
