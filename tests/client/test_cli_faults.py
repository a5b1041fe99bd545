"""The client methods and CLI commands of the fault/fork/query/statistics routes,
against the live server."""

from __future__ import annotations

import io
import json

import pytest

from client.api import ApiError, VmasimClient
from client.cli import EXIT_OK, EXIT_REFUSED, main
from core import PAGE_SIZE
from tests.app.conftest import LiveServer


def run(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--url", url, *argv], out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("command", ["fault", "fork"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: vmasim {command}")
    assert "--name" in text if command == "fork" else "--access" in text


def test_fault_and_fork_commands(live_server: LiveServer, api: VmasimClient) -> None:
    url = live_server.url
    pid = api.create_process(name="cli").pid
    addr = api.mmap(
        pid, 0, 2 * PAGE_SIZE, ["PROT_READ", "PROT_WRITE"], ["MAP_PRIVATE", "MAP_ANONYMOUS"]
    )
    code, out = run(url, "fault", str(pid), hex(addr), "--access", "write")
    assert code == EXIT_OK
    assert out == f"ok vma_lock {addr:#x}-{addr + 2 * PAGE_SIZE:#x} anon\n"
    code, out = run(url, "fault", str(pid), hex(addr - PAGE_SIZE))
    assert (code, out) == (EXIT_OK, "SIGSEGV SEGV_MAPERR mmap_lock no-vma -\n")
    code, out = run(url, "fault", str(pid), str(addr + PAGE_SIZE), "--json")
    assert json.loads(out)["page"] == "zero"

    code, out = run(url, "fork", str(pid), "--name", "clichild")
    assert code == EXIT_OK
    child = int(out)
    assert api.get_process(child).name == "clichild"
    assert api.maps(child) == api.maps(pid)

    code, out = run(url, "fault", "4000000", "0")
    assert code == EXIT_REFUSED
    with pytest.raises(SystemExit) as exc:
        main(["--url", url, "fault", str(pid), "0", "--access", "jump"])
    assert exc.value.code == 2
    api.delete_process(child)
    api.delete_process(pid)


def test_client_methods(api: VmasimClient) -> None:
    proc = api.create_process(layout="typical")
    try:
        heap = next(v for v in api.maps_json(proc.pid).vmas if v.path == "[heap]")
        vma = api.query_vma(proc.pid, heap.start)
        assert (vma.start, vma.end, vma.name) == (heap.start, heap.end, "[heap]")
        with pytest.raises(ApiError) as exc:
            api.query_vma(proc.pid, 0x1000)
        assert (exc.value.status, exc.value.errno_name) == (404, "ENOENT")
        batch = api.query_vma_batch(proc.pid, [heap.start, 0x1000], ["VMA_WRITABLE"])
        assert batch.index == [0, None] and batch.vmas[0].start == heap.start
        result = api.fault(proc.pid, heap.start, "write")
        assert result.ok and result.page == "anon"
        assert api.proc_text(proc.pid, "statm").split()[1] != "0"
        assert "[heap]" in api.proc_text(proc.pid, "smaps")
        stat = api.vmstat(proc.pid)
        assert [p.pid for p in stat.processes] == [proc.pid]
        assert stat.processes[0].events.vma_lock_success == 1
        assert f'pid="{proc.pid}"' in api.metrics()
        child = api.fork(proc.pid)
        assert child.map_count == proc.map_count and child.name == proc.name
        api.delete_process(child.pid)
    finally:
        api.delete_process(proc.pid)
