"""strace's output options do not change what a replay does: one program recorded with
``-T``, ``-t``, ``-tt``, ``-ttt``, ``-r``, ``-X verbose``, ``-X raw``, ``-s 10`` and
``-ff`` (per-pid files) plans the same operations as the plain recording; a recording
with ASLR falls back to replaying without the exec image; and the call table can be
extended one entry at a time."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from client import replay
from client.api import VmasimClient
from client.cli import EXIT_OK, main
from client.replay import StracePlan, plan_strace, read_sources
from client.strace import Call, Source
from tests.app.conftest import LiveServer
from tests.client.corpus import TRACE_SET

# Maps, protects, unmaps, moves, maps a file, grows the break, then forks a child that
# runs /usr/bin/true: one process and its copy-turned-program, deterministic under
# setarch -R (no threads, whose interleaving would vary between recordings).
PROGRAM = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char *p = mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p + 4096, 4096, PROT_READ);
    munmap(p + 3 * 4096, 4096);
    mremap(p + 4 * 4096, 2 * 4096, 5 * 4096, MREMAP_MAYMOVE);
    int fd = open(argv[0], O_RDONLY);
    mmap(0, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    sbrk(5 * 4096);
    pid_t child = fork();
    if (child == 0) {
        execl("/usr/bin/true", "true", "an argument longer than ten bytes", (char *)0);
        _exit(1);
    }
    waitpid(child, 0, 0);
    return 0;
}
"""
VARIANTS = {
    "-T": ["-T"],
    "-t": ["-t"],
    "-tt": ["-tt"],
    "-ttt": ["-ttt"],
    "-r": ["-r"],
    "-X verbose": ["-X", "verbose"],
    "-X raw": ["-X", "raw"],
    "-s 10": ["-s", "10"],
}


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all(shutil.which(t) for t in ("strace", "setarch", "cc")):
        pytest.skip("needs strace, setarch and a C compiler")
    tmp = tmp_path_factory.mktemp("variants")
    (tmp / "prog.c").write_text(PROGRAM)
    subprocess.run(
        ["cc", "-O1", "-o", str(tmp / "prog"), str(tmp / "prog.c")], check=True, timeout=120
    )
    probe = subprocess.run(
        ["strace", "-f", "-o", "/dev/null", "true"], capture_output=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr.decode()[-200:]}")
    return tmp / "prog"


def record(prog: Path, out: Path, *options: str, aslr: bool = False) -> None:
    cmd = [] if aslr else ["setarch", "-R"]
    cmd += ["strace", "-f", "-y", "-v", "-s", "4096", *options, "-e", f"trace={TRACE_SET}"]
    cmd += ["-o", str(out), str(prog)]
    subprocess.run(cmd, check=True, timeout=60, capture_output=True, cwd=prog.parent)


def by_space(plan: StracePlan) -> list[list[dict[str, Any]]]:
    """Each address space's operations, spaces in the order the plan created them."""
    out: dict[int, list[dict[str, Any]]] = {}
    for op in plan.ops:
        out.setdefault(op.space, []).append(op.op)
    return [out[k] for k in sorted(out)]


def test_output_options_plan_the_same_operations(program: Path, tmp_path: Path) -> None:
    record(program, tmp_path / "plain")
    want = by_space(plan_strace((tmp_path / "plain").read_text()))
    assert len(want) == 2  # the program, and its fork's execve of true (the copy makes no call)
    assert sum(len(ops) for ops in want) > 20
    for name, options in VARIANTS.items():
        trace = tmp_path / name.replace(" ", "_")
        record(program, trace, *options)
        plan = plan_strace(trace.read_text())
        assert by_space(plan) == want, name
        if name == "-s 10":
            assert any("cut" in note for note in plan.notes)


def test_per_pid_files_merge_by_timestamp(program: Path, tmp_path: Path) -> None:
    record(program, tmp_path / "plain")
    want = by_space(plan_strace((tmp_path / "plain").read_text()))
    record(program, tmp_path / "ff", "-ff", "-ttt")
    files = sorted(str(p) for p in tmp_path.glob("ff.*"))
    assert len(files) == 2
    sources = read_sources(files, lambda path: Path(path).read_text())
    plan = plan_strace(sources)
    assert by_space(plan) == want and not plan.notes
    record(program, tmp_path / "untimed", "-ff")
    untimed = sorted(str(p) for p in tmp_path.glob("untimed.*"))
    plan = plan_strace(read_sources(untimed, lambda path: Path(path).read_text()))
    assert any("without timestamps" in note for note in plan.notes)


def test_cli_replays_per_pid_files(
    program: Path, tmp_path: Path, live_server: LiveServer, api: VmasimClient
) -> None:
    record(program, tmp_path / "ff", "-ff", "-ttt")
    files = sorted(str(p) for p in tmp_path.glob("ff.*"))
    out = io.StringIO()
    assert main(["--url", live_server.url, "replay", *files, "--all-maps"], out=out) == EXIT_OK
    lines = out.getvalue().splitlines()
    summary = json.loads(lines[0])
    assert (summary["failed"], summary["outside_trace"]) == (0, 0), summary
    procs = summary["processes"]
    assert [p["exe"].rsplit("/", 1)[1] for p in procs] == ["prog", "true"]
    assert all(p["image"] for p in procs)
    assert sum(line.startswith("# pid ") for line in lines) == 2
    assert "skipped_by_thread" in summary  # wait4 at least, by the parent
    for p in procs:
        api.delete_process(p["pid"])


def test_a_trace_recorded_with_aslr_replays_without_the_image(
    program: Path, tmp_path: Path, api: VmasimClient
) -> None:
    record(program, tmp_path / "aslr", aslr=True)
    plan = plan_strace((tmp_path / "aslr").read_text())
    outcome = replay.run_strace(api, plan)
    summary = outcome.summary("strace")
    assert any("ASLR" in note for note in summary["notes"]), summary
    assert summary["failed"] == 0, summary["failures"]
    assert summary["outside_trace"] >= 1  # the loader's RELRO mprotect of the program
    assert not any(p["image"] for p in summary["processes"])
    for p in summary["processes"]:
        api.delete_process(p["pid"])


def test_the_call_table_takes_one_entry_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "1 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "1 madvise(0x7f0000000000, 4096, MADV_DONTNEED) = 0\n"
        "1 mlock(0x7f0000000000, 4096) = 0\n"
        "1 getpid() = 1\n"
    )
    plan = plan_strace(text)
    assert [op.op["op"] for op in plan.ops] == ["mmap", "madvise", "mlock"]
    assert plan.skipped == {"getpid": 1}
    assert {"madvise", "mlock", "mlock2", "munlock", "mlockall", "mseal", "prctl"} <= set(
        replay.CALLS
    )

    def getpid(p: Any, call: Call, task: Any) -> None:
        space = p.space_of(task, call.where)
        op = {"op": "getpid"}
        p.plan.steps.append(replay.Op(space.id, op, call.where, call.tid))

    monkeypatch.setitem(replay.CALLS, "getpid", getpid)
    plan = plan_strace([Source(text)])
    assert [op.op["op"] for op in plan.ops] == ["mmap", "madvise", "mlock", "getpid"]
    assert plan.skipped == {}
