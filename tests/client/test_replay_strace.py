"""``vmasim replay``: strace output of a real program replayed into a simulated
process reproduces that program's real ``/proc/<pid>/maps`` on the ranges the trace
mapped; the project's trace format replays like the engine runs it; bad input is a
usage error naming the line."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.cli import EXIT_OK, EXIT_USAGE, main
from client.replay import clip, coalesce, plan_strace
from core import Kernel
from core.smaps import render_smaps
from tests.app.conftest import LiveServer
from tests.differential.annotated import parse_annotated
from tests.differential.compare import normalise_maps
from tests.differential.fixed_traces import FIXED_TRACES
from tests.differential.simrun import SIM_FILEDIR, _arena_lines, run_sim

# A small real program: the dynamic loader maps libc (file mappings, MAP_FIXED
# overlays, RELRO mprotect, munmap of ld.so.cache), then the program splits, unmaps,
# moves and maps a file itself, and prints its own /proc/self/maps with no further
# memory call (a static buffer, raw syscalls).
PROGRAM = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
static char buf[1 << 20];
int main(int argc, char **argv) {
    char *p = mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p + 4096, 4096, PROT_READ);
    munmap(p + 3 * 4096, 4096);
    mremap(p + 4 * 4096, 2 * 4096, 5 * 4096, MREMAP_MAYMOVE);
    int fd = open(argv[0], O_RDONLY);
    char *q = mmap(0, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    mprotect(q, 4096, PROT_READ | PROT_WRITE);
    close(fd);
    fd = open("/proc/self/maps", O_RDONLY);
    long n, total = 0;
    while ((n = syscall(SYS_read, fd, buf + total, sizeof buf - total)) > 0) total += n;
    syscall(SYS_write, 1, buf, total);
    return 0;
}
"""


def run_cli(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["--url", url, *argv], out=out), out.getvalue()


def replay_cleanly(url: str, tmp_path: Path, text: str) -> dict[str, Any]:
    """``vmasim replay`` of strace ``text`` into the server at ``url``: its JSON summary,
    checked to have no failure."""
    path = tmp_path / "trace.strace"
    path.write_text(text)
    code, out = run_cli(url, "replay", str(path))
    summary: dict[str, Any] = json.loads(out)
    assert (code, summary["failed"], summary["failures"]) == (EXIT_OK, 0, []), out
    return summary


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(strace output, the program's own /proc/self/maps)."""
    if shutil.which("strace") is None or shutil.which("cc") is None:
        pytest.skip("needs strace and a C compiler (apt-get install strace gcc)")
    tmp = tmp_path_factory.mktemp("strace")
    (tmp / "prog.c").write_text(PROGRAM)
    subprocess.run(["cc", "-O1", "-o", str(tmp / "prog"), str(tmp / "prog.c")], check=True)
    trace = tmp / "trace.txt"
    result = subprocess.run(
        [
            "strace",
            "-f",
            "-y",
            "-e",
            "trace=memory,openat,close",
            "-o",
            str(trace),
            str(tmp / "prog"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        pytest.skip(f"strace cannot trace here: {result.stderr.strip()[:200]}")
    return trace.read_text(), result.stdout


def test_without_execve_the_replay_matches_on_the_traced_ranges(
    live_server: LiveServer, http: httpx.Client, traced: tuple[str, str], tmp_path: Path
) -> None:
    """A trace recorded without %process (no execve line) replays into an empty
    process: equal on the ranges the trace mapped, the loader's RELRO mprotects of the
    program and ld.so counted apart."""
    text, real_maps = traced
    path = tmp_path / "trace.txt"
    path.write_text(text)
    code, out = run_cli(live_server.url, "replay", str(path))
    assert code == EXIT_OK, out
    summary = json.loads(out.splitlines()[0])
    assert summary["format"] == "strace"
    pid = summary["pid"]
    plan = plan_strace(text)
    sent = [op for op in plan.ops if op.op["op"] != "brk"]  # brk needs the exec image
    assert summary["ops"] == len(sent) >= 10
    assert summary["skipped"]["brk (no exec image: the break is unknown)"] >= 1
    assert (summary["failed"], summary["failures"]) == (0, [])
    assert summary["outside_trace"] == 2, summary
    for call in summary["outside_trace_calls"]:
        assert (call["op"], call["errno_name"]) == ("mprotect", "ENOMEM"), call
    assert any("outside_trace" in note for note in summary["notes"])
    sim_maps = http.get(f"/processes/{pid}/maps").text
    real = clip(real_maps, plan.covered())
    # Page by page: where the kernel and the simulator put VMA boundaries can differ
    # (docs/kernel-differences.md, "mremap move next to a faulted neighbour").
    assert coalesce(real) == coalesce(clip(sim_maps, plan.covered()))
    paths = {p for _, _, _, p in real}
    assert any(p.endswith("/libc.so.6") for p in paths)
    assert any(p.endswith("/prog") for p in paths)
    assert {"r--p", "r-xp", "rw-p"} <= {perm for _, perm, _, _ in real}
    http.delete(f"/processes/{pid}")


def test_covered_output_prints_the_clipped_layout(
    live_server: LiveServer, http: httpx.Client, traced: tuple[str, str], tmp_path: Path
) -> None:
    text, real_maps = traced
    path = tmp_path / "trace.txt"
    path.write_text(text)
    code, out = run_cli(live_server.url, "replay", str(path), "--covered")
    assert code == EXIT_OK
    lines = out.splitlines()
    pid = json.loads(lines[0])["pid"]
    covered = plan_strace(text).covered()
    sim = clip(http.get(f"/processes/{pid}/maps").text, covered)
    assert lines[1:] == [f"{r} {perms} {off} {p}".rstrip() for r, perms, off, p in sim]
    assert coalesce(sim) == coalesce(clip(real_maps, covered))
    http.delete(f"/processes/{pid}")


def test_strace_syntax_variants() -> None:
    """Pid prefixes of both kinds, an unfinished/resumed pair, a failed call, another
    pid (no clone line: undecidable), signals and exit lines."""
    text = (
        "[pid  100] mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0"
        " <unfinished ...>\n"
        "[pid  100] <... mmap resumed>) = 0x7f0000000000\n"
        "100 --- SIGCHLD {si_signo=SIGCHLD} ---\n"
        "101 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000100000\n"
        "100 mprotect(0x7f0000000000, 4096, PROT_NONE) = 0\n"
        "100 munmap(0x7f0000001000, 4096) = -1 EINVAL (Invalid argument)\n"
        "100 madvise(0x7f0000000000, 4096, MADV_DONTNEED) = 0\n"
        "100 madvise(0x7f0000000000, 4096, MADV_SOFT_OFFLINE) = 0\n"
        "100 mremap(0x7f0000000000, 8192, 16384, MREMAP_MAYMOVE) = 0x7f0000200000\n"
        "100 +++ exited with 0 +++\n"
    )
    plan = plan_strace(text)
    ops = [op.op for op in plan.ops]
    assert [op["op"] for op in ops] == ["mmap", "mmap", "mprotect", "madvise", "mremap"]
    assert ops[0]["addr"] == 0x7F0000000000 and ops[0]["flags"] == [0x32]  # FIXED added
    assert ops[2]["prot"] == [0]
    assert ops[3]["advice"] == 4
    assert ops[4]["new_addr"] == 0x7F0000200000 and ops[4]["flags"] == [3]  # MAYMOVE|FIXED
    assert plan.skipped == {
        "madvise (MADV_SOFT_OFFLINE not simulated)": 1,
        "munmap (failed in the trace)": 1,
    }
    assert plan.skipped_by_thread == {"100": plan.skipped}
    assert plan.covered() == [
        (0x7F0000000000, 0x7F0000002000),
        (0x7F0000100000, 0x7F0000101000),  # pid 101, as a thread of 100
        (0x7F0000200000, 0x7F0000204000),
    ]
    assert plan.undecided == {101} and "cannot tell threads from processes" in plan.notes[0]
    assert [op.op["addr"] for op in plan_strace(text, only_pid=101).ops] == [0x7F0000100000]
    apart = plan_strace(text, unknown_pids="processes")
    assert len(apart.spaces) == 2
    assert [op.op["op"] for op in plan_strace(text, unknown_pids="ignore").ops] == [
        "mmap",
        "mprotect",
        "madvise",
        "mremap",
    ]


# `strace -f -y -e trace=memory,openat,close -o true.strace /bin/true` on Debian 12
# (glibc 2.36): ld.so maps libc, protects libc's RELRO (mapped in the trace), then the
# program's and its own (lines 15, 16: mapped by execve, not in the trace), and unmaps
# ld.so.cache.
TRUE_TRACE = (Path(__file__).parent / "data" / "true.strace").read_text()


def test_calls_on_ranges_the_trace_never_mapped_are_marked() -> None:
    """The program's and ld.so's RELRO mprotects (lines 15, 16) touch memory execve
    mapped; libc's RELRO mprotect and the munmap of ld.so.cache touch traced ranges."""
    plan = plan_strace(TRUE_TRACE)
    outside = [op for op in plan.ops if op.outside]
    assert [op.where for op in outside] == ["line 15", "line 16"]
    assert {op.op["op"] for op in outside} == {"mprotect"}
    assert [op.op["op"] for op in plan.ops].count("mprotect") == 3
    # One range past a mapping's end, or straddling a hole, is outside too; inside a
    # mapping made of two adjacent ones is not.
    text = (
        "1 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000002000\n"
        "1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000004000\n"
        "1 mprotect(0x7f0000000000, 12288, PROT_NONE) = 0\n"
        "1 mprotect(0x7f0000002000, 8192, PROT_NONE) = 0\n"
        "1 munmap(0x7f0000004000, 8192) = 0\n"
        "1 mremap(0x7f0000000000, 4096, 8192, MREMAP_MAYMOVE) = 0x7f0000010000\n"
        "1 mremap(0x7f0000005000, 4096, 8192, MREMAP_MAYMOVE) = 0x7f0000020000\n"
    )
    plan = plan_strace(text)
    assert [op.where for op in plan.ops if op.outside] == ["line 5", "line 6", "line 8"]
    assert plan.covered() == [
        (0x7F0000000000, 0x7F0000003000),
        (0x7F0000004000, 0x7F0000005000),
        (0x7F0000010000, 0x7F0000012000),
        (0x7F0000020000, 0x7F0000022000),
    ]


def test_replay_counts_failures_outside_the_trace_apart(
    live_server: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    path = tmp_path / "true.trace"
    path.write_text(TRUE_TRACE)
    code, out = run_cli(live_server.url, "replay", str(path))
    assert code == EXIT_OK, out
    summary = json.loads(out)
    # 12 memory calls, and the closes of the 2 files they mapped (ld.so.cache, libc).
    assert (summary["ops"], summary["failed"], summary["failures"]) == (14, 0, [])
    assert summary["outside_trace"] == 2
    assert [(c["line"], c["op"], c["errno_name"]) for c in summary["outside_trace_calls"]] == [
        (15, "mprotect", "ENOMEM"),
        (16, "mprotect", "ENOMEM"),
    ]
    assert summary["notes"][-1].startswith("2 calls touched memory the trace never mapped")
    http.delete(f"/processes/{summary['pid']}")
    # A call on a range the trace did map that fails here is still a plain failure:
    # unmap libc's data segment first, then its RELRO mprotect (line 15 of the new
    # text) has nothing there.
    lines = TRUE_TRACE.splitlines(keepends=True)
    lines.insert(13, "18763 munmap(0x7f1602345000, 16384) = 0\n")
    path.write_text("".join(lines))
    code, out = run_cli(live_server.url, "replay", str(path))
    summary = json.loads(out)
    assert (code, summary["failed"], summary["outside_trace"]) == (EXIT_OK, 1, 2)
    assert [(f["line"], f["op"], f["errno_name"]) for f in summary["failures"]] == [
        (15, "mprotect", "ENOMEM")
    ]
    http.delete(f"/processes/{summary['pid']}")


@pytest.mark.parametrize("name", ["files", "mremap", "errnos", "touch_signals"])
def test_trace_format_replays_like_the_engine(
    live_server: LiveServer, http: httpx.Client, name: str, tmp_path: Path
) -> None:
    trace, _ = parse_annotated(FIXED_TRACES[name])
    path = tmp_path / "t.trace"
    path.write_text(trace.text())
    filedir = f"/tmp/vmasim-cli-replay-{name}"
    code, out = run_cli(live_server.url, "replay", str(path), "--filedir", filedir)
    assert code == EXIT_OK, out
    summary = json.loads(out)
    assert summary["format"] == "trace"
    sim = run_sim(trace)
    errors = [s.result for s in sim.steps if s.result.startswith("!")]
    assert summary["failed"] == len(errors)
    assert ["! " + f["errno_name"] for f in summary["failures"]] == errors[:20]  # in order
    rest = _arena_lines(http.get(f"/processes/{summary['pid']}/maps").text, trace)
    sim_maps = [line for line in sim.steps[-1].maps if not line.startswith("~")]  # smaps
    assert normalise_maps(rest, filedir) == normalise_maps(sim_maps, SIM_FILEDIR)
    http.delete(f"/processes/{summary['pid']}")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("arena 0x100000000000 16\nmmap 0x0 4096 rw-\n", "line 2"),
        ("arena 0x100000000000 16\ntouch 0x100000000000 q\n", "bad touch access 'q'"),
        ("mmap(NULL, 4096, PROT_READ) = 0x7f0000000000\n", "line 1"),
        ('write(1, "hi", 2) = 2\n', "no replayable"),
        ("1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f0000000000\n", "-y"),
    ],
)
def test_bad_input_is_a_usage_error_naming_the_line(
    live_server: LiveServer,
    tmp_path: Path,
    content: str,
    needle: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content)
    code, out = run_cli(live_server.url, "replay", str(path))
    assert (code, out) == (EXIT_USAGE, "")
    assert needle in capsys.readouterr().err


# The locking, sealing and naming calls as strace prints them: strace 6.1 (Debian 12)
# names mseal by number, later versions by name; -X raw prints numbers, -X verbose
# numbers with the names in comments.
LOCK_TRACE = (
    "7 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
    "7 mlock(0x7f0000001000, 8192) = 0\n"
    "7 mlock2(0x7f0000004000, 4096, MLOCK_ONFAULT) = 0\n"
    "7 mlock2(0x7f0000005000, 4096, 0x1) = 0\n"
    "7 munlock(0x7f0000002000, 4096) = 0\n"
    "7 syscall_0x1ce(0x7f0000008000, 0x2000, 0, 0x555555556004, 0, 0x7fffffffe828) = 0\n"
    "7 mseal(0x7f000000a000, 4096, 0) = 0\n"
    "7 munmap(0x7f0000008000, 4096) = -1 EPERM (Operation not permitted)\n"
    '7 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7f000000c000, 8192, "jit") = 0\n'
    "7 prctl(0x53564d41 /* PR_SET_VMA */, 0 /* PR_SET_VMA_ANON_NAME */, 0x7f000000c000, "
    "4096, NULL) = 0\n"
    '7 prctl(PR_SET_NAME, "worker") = 0\n'
    "7 mlockall(MCL_CURRENT|MCL_FUTURE) = 0\n"
    "7 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000100000\n"
    "7 munlockall() = 0\n"
    "7 mlockall(0x6 /* MCL_FUTURE|MCL_ONFAULT */) = 0\n"
    "7 mlock2(0x7f0000000000, 4096, 0x8) = -1 EINVAL (Invalid argument)\n"
    "7 madvise(0x7f000000e000, 8192, MADV_DONTFORK) = 0\n"
    "7 madvise(0x7f000000f000, 4096, 0x13 /* MADV_KEEPONFORK */) = 0\n"
)


def test_lock_seal_and_name_calls_replay_as_traced(
    live_server: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    plan = plan_strace(LOCK_TRACE)
    ops = [op.op for op in plan.ops]
    assert [op["op"] for op in ops] == [
        "mmap",
        "mlock",
        "mlock2",
        "mlock2",
        "munlock",
        "mseal",
        "mseal",
        "prctl",
        "prctl",
        "mlockall",
        "mmap",
        "munlockall",
        "mlockall",
        "madvise",
        "madvise",
    ]
    assert (ops[13]["advice"], ops[14]["advice"]) == (10, 19)
    assert ops[2]["flags"] == ops[3]["flags"] == [1]
    assert ops[5] == {"op": "mseal", "addr": 0x7F0000008000, "length": 0x2000, "flags": 0}
    assert (ops[7]["name"], ops[8]["name"], ops[8]["size"]) == ("jit", None, 4096)
    assert ops[9]["flags"] == [3] and ops[12]["flags"] == [6]
    assert plan.skipped == {
        "munmap (failed in the trace)": 1,
        "prctl (PR_SET_NAME)": 1,
        "mlock2 (failed in the trace)": 1,
    }
    assert not any(op.outside for op in plan.ops)

    summary = replay_cleanly(live_server.url, tmp_path, LOCK_TRACE)
    # The same calls on the engine directly.
    proc = Kernel().spawn()
    mm = proc.mm
    base = 0x7F0000000000
    mm.mmap(base, 65536, 3, 0x32)
    mm.mlock(base + 0x1000, 8192)
    mm.mlock2(base + 0x4000, 4096, 1)
    mm.mlock2(base + 0x5000, 4096, 1)
    mm.munlock(base + 0x2000, 4096)
    mm.mseal(base + 0x8000, 0x2000)
    mm.mseal(base + 0xA000, 4096)
    mm.set_anon_name(base + 0xC000, 8192, "jit")
    mm.set_anon_name(base + 0xC000, 4096, None)
    mm.mlockall(3)
    mm.mmap(0x7F0000100000, 4096, 1, 0x32)
    mm.munlockall()
    mm.mlockall(6)
    mm.madvise(base + 0xE000, 8192, 10)
    mm.madvise(base + 0xF000, 4096, 19)
    pid = summary["pid"]
    assert http.get(f"/processes/{pid}/maps").text == mm.maps()
    assert "[anon:jit]" in mm.maps()
    assert http.get(f"/processes/{pid}/smaps").text == render_smaps(mm)
    assert http.get(f"/processes/{pid}").json()["locked_vm"] == mm.locked_vm
    http.delete(f"/processes/{pid}")


# shm_open, ftruncate, shm_unlink, then mmap (what Chromium does with /dev/shm): the
# file is unlinked before its first mapping; and the getrandom() state of Go 1.24 and
# glibc 2.41, a MAP_DROPPABLE mapping that strace 6.1 prints as a number.
UNLINK_BEFORE_MAP_TRACE = (
    '7 openat(AT_FDCWD</tmp>, "/dev/shm/.vmasim.x1", O_RDWR|O_CREAT|O_EXCL, 0600)'
    " = 5</dev/shm/.vmasim.x1>\n"
    "7 ftruncate(5</dev/shm/.vmasim.x1>, 8192) = 0\n"
    '7 unlink("/dev/shm/.vmasim.x1") = 0\n'
    "7 mmap(0x7f0000000000, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED,"
    " 5</dev/shm/.vmasim.x1>(deleted), 0) = 0x7f0000000000\n"
    "7 close(5</dev/shm/.vmasim.x1>(deleted)) = 0\n"
    "7 mmap(0x7f0000010000, 4096, PROT_READ|PROT_WRITE,"
    " 0x8 /* MAP_??? */|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x7f0000010000\n"
)


def test_a_file_unlinked_before_its_first_mapping_is_mapped_deleted(
    live_server: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    plan = plan_strace(UNLINK_BEFORE_MAP_TRACE)
    # The simulated open (not an op) comes first, then the unlink, then the mapping.
    assert [op.op["op"] for op in plan.ops] == ["unlink", "mmap", "close", "mmap"]
    assert plan.skipped == {}
    summary = replay_cleanly(live_server.url, tmp_path, UNLINK_BEFORE_MAP_TRACE)
    maps = http.get(f"/processes/{summary['pid']}/maps").text.splitlines()
    shm = next(line for line in maps if line.startswith("7f0000000000-7f0000002000 rw-s "))
    assert shm.endswith("/dev/shm/.vmasim.x1 (deleted)"), shm
    assert any(line.startswith("7f0000010000-7f0000011000 rw-p 00000000 00:00 0") for line in maps)
    smaps = http.get(f"/processes/{summary['pid']}/smaps").text
    assert "VmFlags: rd wr mr mw me nr wf dd dp" in smaps
    http.delete(f"/processes/{summary['pid']}")


# stress-ng's madvise stressor: a file created, unlinked, written to 3 pages, mapped
# with MAP_POPULATE and populated; an lseek, a pwrite64 and a fallocate that keeps the
# size move another file; stdout is not a file the trace opened.
WRITTEN_THEN_MAPPED_TRACE = (
    '9 openat(AT_FDCWD</tmp>, "/tmp/.vmasim.w1", O_RDWR|O_CREAT, 0600) = 3</tmp/.vmasim.w1>\n'
    '9 unlink("/tmp/.vmasim.w1") = 0\n'
    '9 write(3</tmp/.vmasim.w1>(deleted), "\\0\\0\\0"..., 8192) = 8192\n'
    '9 write(3</tmp/.vmasim.w1>(deleted), "\\0\\0\\0"..., 4096) = 4096\n'
    "9 mmap(0x7f0000000000, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_POPULATE,"
    " 3</tmp/.vmasim.w1>(deleted), 0) = 0x7f0000000000\n"
    "9 madvise(0x7f0000000000, 12288, MADV_POPULATE_READ) = 0\n"
    '9 openat(AT_FDCWD</tmp>, "/tmp/.vmasim.w2", O_RDWR|O_CREAT|O_TRUNC, 0600)'
    " = 4</tmp/.vmasim.w2>\n"
    "9 lseek(4</tmp/.vmasim.w2>, 8192, SEEK_SET) = 8192\n"
    '9 write(4</tmp/.vmasim.w2>, "x", 1) = 1\n'
    '9 pwrite64(4</tmp/.vmasim.w2>, "y", 1, 12288) = 1\n'
    "9 fallocate(4</tmp/.vmasim.w2>, FALLOC_FL_KEEP_SIZE, 0, 65536) = 0\n"
    "9 mmap(0x7f0000010000, 16384, PROT_READ, MAP_SHARED|MAP_FIXED, 4</tmp/.vmasim.w2>, 0)"
    " = 0x7f0000010000\n"
    "9 madvise(0x7f0000010000, 16384, MADV_POPULATE_READ) = 0\n"
    '9 write(1</dev/pts/0>, "done\\n", 5) = 5\n'
)


def test_a_file_written_then_mapped_has_the_size_the_writes_gave_it(
    live_server: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    plan = plan_strace(WRITTEN_THEN_MAPPED_TRACE)
    assert plan.skipped == {"write (not a file the trace opened)": 1}
    # Without the writes the file would be empty: MAP_POPULATE's and MADV_POPULATE_READ's
    # faults past its end are SIGBUS, the madvise EFAULT.
    summary = replay_cleanly(live_server.url, tmp_path, WRITTEN_THEN_MAPPED_TRACE)
    smaps = http.get(f"/processes/{summary['pid']}/smaps").text
    rss = dict(re.findall(r"^([0-9a-f]+-[0-9a-f]+) [^\n]*\n(?:.*\n)*?Rss:\s+(\d+) kB", smaps, re.M))
    assert rss["7f0000000000-7f0000003000"] == "12"
    assert rss["7f0000010000-7f0000014000"] == "16"  # 12,289 bytes: the fourth page too
    http.delete(f"/processes/{summary['pid']}")
