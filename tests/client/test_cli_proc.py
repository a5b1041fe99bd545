"""``vmasim smaps`` and ``vmasim status`` against the live server: the engine's texts
byte for byte, written as they arrive; a terabyte heap on its own machine."""

from __future__ import annotations

import io

import pytest

from client.api import VmasimClient
from client.cli import EXIT_OK, EXIT_REFUSED, main
from core import PAGE_SIZE
from core.maps_reader import read_smaps, read_smaps_rollup
from core.smaps import render_statm, render_status_memory
from tests.app.conftest import LiveServer

TIB = 1 << 40
RW: list[str | int] = ["PROT_READ", "PROT_WRITE"]


def run(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--url", url, *argv], out=out)
    return code, out.getvalue()


def test_smaps_and_status_print_the_engines_texts(
    live_server: LiveServer, api: VmasimClient, capsys: pytest.CaptureFixture[str]
) -> None:
    url = live_server.url
    pid = api.create_process(name="cli-smaps", layout="typical").pid
    addr = api.mmap(pid, 0, 64 * PAGE_SIZE, RW, ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_POPULATE"])
    api.munmap(pid, addr + 8 * PAGE_SIZE, PAGE_SIZE)  # two VMAs
    mm = live_server.service.kernel.get(pid).mm
    try:
        for reader in ("mmap_lock", "per_vma"):
            code, out = run(url, "smaps", str(pid), "--reader", reader, "--headers")
            assert code == EXIT_OK and out == read_smaps(mm, reader).text
            assert f"# reader: {reader}\n" in capsys.readouterr().err
            code, out = run(url, "smaps", str(pid), "--rollup", "--reader", reader)
            assert code == EXIT_OK and out == read_smaps_rollup(mm, reader).text
            assert "[rollup]" in out.splitlines()[0]
        assert run(url, "status", str(pid)) == (EXIT_OK, render_status_memory(mm))
        assert run(url, "status", str(pid), "--statm") == (EXIT_OK, render_statm(mm))
        with pytest.raises(SystemExit) as exc:  # refused before any request
            run(url, "smaps", str(pid), "--reader", "rcu")
        assert exc.value.code == 2 and "invalid choice: 'rcu'" in capsys.readouterr().err
    finally:
        api.delete_process(pid)
    assert run(url, "smaps", str(pid)) == (EXIT_REFUSED, "")
    assert f"HTTP 404: no process with pid {pid}" in capsys.readouterr().err


def test_a_terabyte_heap_from_the_cli(live_server: LiveServer, api: VmasimClient) -> None:
    big = api.on("cli-big")
    api.create_machine("cli-big", ram_pages=1 << 30, overcommit_memory=1)  # 4 TiB of RAM
    try:
        pid = big.create_process(name="heap").pid
        big.mmap(pid, 0, 2 * TIB, RW, ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_POPULATE"])
        code, out = run(live_server.url, "--machine", "cli-big", "smaps", str(pid), "--rollup")
        assert code == EXIT_OK and "Rss:            2147483648 kB\n" in out
        code, out = run(live_server.url, "--machine", "cli-big", "status", str(pid))
        assert code == EXIT_OK and "VmRSS:\t2147483648 kB\n" in out
    finally:
        api.delete_machine("cli-big")
