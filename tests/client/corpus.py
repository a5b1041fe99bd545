"""The replay corpus: real programs recorded on this machine, and their real maps.

``python -m tests.client.corpus record [NAME ...]`` (or ``scripts/record_corpus``) runs
each program of :data:`PROGRAMS` under

    setarch -R strace -f -y -v -s 4096 -e trace=<TRACE_SET> \\
        -e inject=exit_group:delay_enter=300000 -o trace.strace PROGRAM

and, while every traced process sits in the 0.3 s strace holds it at the entry of
``exit_group`` (its address space still whole), reads its ``/proc/PID/maps`` and the
``VmFlags`` of its ``smaps``: the *final* maps of each process (thread group). A
watcher thread polls the processes below strace (``/proc/*/stat``) and their threads'
``/proc/TID/syscall``; the process is stopped by strace for the whole delay, so no read
races with a change. Each program's directory under ``tests/client/data/corpus`` holds
``trace.strace``, ``maps/PID`` and ``vmflags/PID`` for every process captured, and
``meta.json`` (the command, environment, kernel and strace versions, and the sha256 of
every program the trace executes, so a replay on another machine can tell whether its
files are the recorded ones).

:func:`compare` is the test's judgement: the replayed maps of each captured process
equal the real ones line for line (device and inode aside: the simulated files have
the simulator's numbers), except that the real ``[stack]`` may have grown down by page
faults, which no trace shows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "data" / "corpus"
SOURCES = CORPUS / "src"
WORK = Path("/tmp/vmasim-corpus")
"""Where the corpus's own programs and inputs live (a fixed path: the trace names it)."""
TRACE_SET = (
    "%memory,%process,openat,open,creat,close,dup,dup2,dup3,fcntl,unlink,unlinkat,"
    "ftruncate,truncate,prctl"
)
EXIT_DELAY_US = 300_000
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C"}
SYS_EXIT_GROUP = 231


@dataclass(frozen=True)
class Program:
    """One corpus entry: the command (run in :data:`WORK`), the C source it needs
    built first (``SOURCES/<name>.c`` to ``WORK/bin/<name>``) and the files it needs."""

    name: str
    argv: list[str]
    build: str | None = None
    needs: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` atomically (another test run may be reading it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def _sort_input(work: Path) -> None:
    lines = [f"{(i * 7919) % 100003} line {i}\n" for i in range(60000)]
    _write(work / "numbers.txt", "".join(lines))


def _hello_c(work: Path) -> None:
    _write(work / "hello.c", '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')


def _script(work: Path) -> None:
    _write(work / "bin" / "script.sh", "#!/bin/sh\ntrue\nexit 0\n", 0o755)


PROGRAMS = [
    Program("ls", ["/usr/bin/ls", "-la", "/usr/lib/x86_64-linux-gnu"]),
    Program(
        "python3",
        [
            "/usr/bin/python3",
            "-c",
            "import json, collections; x = [list(range(1000)) for _ in range(300)]; "
            "print(len(json.dumps(x)), collections.Counter('abracadabra'))",
        ],
    ),
    Program("gcc", ["/usr/bin/gcc", "-O1", "-o", "hello", "hello.c"], setup=_hello_c),
    Program(
        "perl",
        ["/usr/bin/perl", "-e", "my %h; $h{$_} = $_ x 10 for 1..50000; print scalar(keys %h)"],
    ),
    Program("sort", ["/usr/bin/sort", "-n", "numbers.txt"], setup=_sort_input),
    Program("pthreads", [str(WORK / "bin" / "pthreads")], build="pthreads"),
    Program("realloc", [str(WORK / "bin" / "realloc")], build="realloc"),
    Program("files", [str(WORK / "bin" / "files")], build="files"),
    Program("script", [str(WORK / "bin" / "script.sh")], setup=_script),
    Program("memlock", [str(WORK / "bin" / "memlock")], build="memlock"),
    Program("bash", ["/usr/bin/bash", "-c", "for i in 1 2 3; do echo $i; done | /usr/bin/cat"]),
    Program("java", ["/usr/bin/java", "-Xmx64m", "-version"], needs=("/usr/bin/java",)),
    # A static Go 1.24 program: its runtime maps the vDSO getrandom() state with
    # MAP_DROPPABLE (strace 6.1 prints "0x8 /* MAP_??? */").
    Program("docker", ["/usr/local/bin/docker", "--version"], needs=("/usr/local/bin/docker",)),
    Program(
        "node",
        ["/usr/bin/node", "-e", "const a = []; for (let i = 0; i < 100000; i++) a.push({i});"],
        needs=("/usr/bin/node",),
    ),
]
BY_NAME = {p.name: p for p in PROGRAMS}


# -- building ---------------------------------------------------------------------------


def build(name: str) -> Path:
    """Compile ``SOURCES/<name>.c`` to ``WORK/bin/<name>`` (atomically: another run may
    be building it too). gcc's output is deterministic, so the file matches the one
    recorded when the compiler is the same."""
    out = WORK / "bin" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}")
    subprocess.run(
        ["gcc", "-O1", "-pthread", "-o", str(tmp), str(SOURCES / f"{name}.c")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    tmp.replace(out)
    return out


def prepare(program: Program) -> None:
    (WORK / "bin").mkdir(parents=True, exist_ok=True)
    if program.build is not None:
        build(program.build)
    if program.setup is not None:
        program.setup(WORK)


def sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def executed_files(trace: str) -> dict[str, str | None]:
    """The sha256 of every program a trace executes and of their interpreters."""
    from client.replay import plan_strace
    from client.strace import Source
    from core.binfmt_elf import read_elf

    plan = plan_strace([Source(trace)], cwd=str(WORK))
    paths = {s.exe for s in plan.spaces.values() if s.exe}
    out: dict[str, str | None] = {}
    for path in sorted(paths):
        real = os.path.realpath(path)
        out[path] = sha256(real)
        try:
            with open(real, "rb") as f:
                head = f.read(2)
                if head == b"#!":
                    continue
                interp = read_elf(f, real).interp
        except Exception:
            continue
        if interp is not None:
            out[interp] = sha256(os.path.realpath(interp))
    return out


# -- recording --------------------------------------------------------------------------


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _in_exit_group(pid: int) -> bool:
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                if f.read().split(" ", 1)[0] == str(SYS_EXIT_GROUP):
                    return True
        except OSError:
            continue
    return False


def _vmflags(smaps: str) -> str:
    out = []
    rng = ""
    for line in smaps.splitlines():
        if line[:1] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:
            rng = line.split(" ", 1)[0]
        elif line.startswith("VmFlags:"):
            out.append(f"{rng} {line.split(':', 1)[1].strip()}\n")
    return "".join(out)


@dataclass
class Capture:
    """The final maps (and VmFlags) of each process, read at its exit_group."""

    maps: dict[int, str] = field(default_factory=dict)
    vmflags: dict[int, str] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)


def _watch(root: int, done: threading.Event, capture: Capture) -> None:
    known: set[int] = set()
    last_scan = 0.0
    while not done.is_set():
        now = time.monotonic()
        if now - last_scan > 0.02:
            known = (known | _descendants(root)) - set(capture.maps)
            capture.seen |= known
            last_scan = now
        for pid in list(known):
            if pid in capture.maps or not _in_exit_group(pid):
                continue
            try:
                with open(f"/proc/{pid}/maps") as f:
                    maps = f.read()
                with open(f"/proc/{pid}/smaps") as f:
                    smaps = f.read()
            except OSError:
                continue
            if maps:
                capture.maps[pid] = maps
                capture.vmflags[pid] = _vmflags(smaps)
        time.sleep(0.002)


def strace_command(trace: Path) -> list[str]:
    return [
        "setarch",
        "-R",
        "strace",
        "-f",
        "-y",
        "-v",
        "-s",
        "4096",
        "-e",
        f"trace={TRACE_SET}",
        "-e",
        f"inject=exit_group:delay_enter={EXIT_DELAY_US}",
        "-o",
        str(trace),
        "--",
    ]


def record(program: Program, outdir: Path, timeout: float = 120) -> dict[str, Any]:
    """Record ``program`` into ``outdir`` (trace, maps/, vmflags/, meta.json). Returns
    the meta document. Raises RuntimeError when strace fails or the program times out."""
    prepare(program)
    outdir.mkdir(parents=True, exist_ok=True)
    for sub in ("maps", "vmflags"):
        shutil.rmtree(outdir / sub, ignore_errors=True)
        (outdir / sub).mkdir()
    trace = outdir / "trace.strace"
    cmd = strace_command(trace) + program.argv
    proc = subprocess.Popen(
        cmd,
        cwd=WORK,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    capture = Capture()
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc.pid, done, capture), daemon=True)
    watcher.start()
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"{program.name}: no exit within {timeout} s") from None
    finally:
        done.set()
        watcher.join(timeout=10)
    if proc.returncode != 0:
        raise RuntimeError(f"{program.name}: strace exited {proc.returncode}: {err[-500:]!r}")
    text = trace.read_text()
    for pid, maps in capture.maps.items():
        (outdir / "maps" / str(pid)).write_text(maps)
        (outdir / "vmflags" / str(pid)).write_text(capture.vmflags[pid])
    meta = {
        "name": program.name,
        "argv": program.argv,
        "env": ENV,
        "cwd": str(WORK),
        "command": " ".join(cmd[: cmd.index("-o")] + ["-o", "trace.strace", "--"] + program.argv),
        "kernel": platform.release(),
        "strace": subprocess.run(
            ["strace", "-V"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0],
        "captured": sorted(capture.maps),
        "files": executed_files(text),
        "sources": {program.build: sha256(str(SOURCES / f"{program.build}.c"))}
        if program.build
        else {},
    }
    (outdir / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


# -- judging a replay ----------------------------------------------------------------------


def _fields(line: str) -> tuple[str, str, str, str]:
    f = line.split(None, 5)
    return f[0], f[1], f[2], f[5] if len(f) > 5 else ""


def compare(real: str, sim: str) -> list[str]:
    """The differences between a real maps text and the replayed one (empty: equal):
    every line equal, device and inode aside, the real ``[stack]`` allowed to start
    lower (grown by faults no trace shows)."""
    a = [_fields(line) for line in real.splitlines()]
    b = [_fields(line) for line in sim.splitlines()]
    stack_a = next((i for i, x in enumerate(a) if x[3] == "[stack]"), None)
    stack_b = next((i for i, x in enumerate(b) if x[3] == "[stack]"), None)
    if stack_a is not None and stack_b is not None:
        ra, rb = a[stack_a][0].split("-"), b[stack_b][0].split("-")
        if ra[1] == rb[1] and int(ra[0], 16) <= int(rb[0], 16):
            b[stack_b] = a[stack_a]
    if a == b:
        return []
    import difflib

    return [
        d
        for d in difflib.unified_diff([" ".join(x) for x in a], [" ".join(x) for x in b], n=0)
        if d[:1] in "+-" and not d.startswith(("+++", "---"))
    ]


LOCK_FLAGS = frozenset({"lo", "lf", "sl", "dc", "wf", "dd"})
"""The VmFlags of mlock, mlock2(MLOCK_ONFAULT)/MCL_ONFAULT, mseal and madvise (DONTFORK,
WIPEONFORK, DONTDUMP): the judgement compares them on every line."""


def lock_flags(vmflags: str) -> dict[str, frozenset[str]]:
    """``range -> the LOCK_FLAGS in its VmFlags`` from a vmflags file."""
    out = {}
    for line in vmflags.splitlines():
        rng, _, flags = line.partition(" ")
        out[rng] = LOCK_FLAGS.intersection(flags.split())
    return out


def mw_flags(vmflags: str) -> dict[str, bool]:
    """``range -> whether VmFlags has mw`` from a vmflags file."""
    out = {}
    for line in vmflags.splitlines():
        rng, _, flags = line.partition(" ")
        out[rng] = "mw" in flags.split()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="record_corpus", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["record"])
    parser.add_argument("names", nargs="*", help=f"programs (default: all of {list(BY_NAME)})")
    parser.add_argument("--out", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    names = args.names or list(BY_NAME)
    for name in names:
        program = BY_NAME[name]
        missing = [path for path in program.needs if not os.access(path, os.X_OK)]
        if missing:
            sys.stderr.write(f"{name}: skipped, {missing} not installed\n")
            continue
        meta = record(program, args.out / name)
        sys.stderr.write(f"{name}: {len(meta['captured'])} processes captured\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())


@dataclass
class Judgement:
    """One recorded program replayed: the summary, and per captured process the maps
    differences and the file mappings whose ``mw`` (VmFlags) differs."""

    summary: dict[str, Any]
    diffs: dict[int, list[str]]
    mw: dict[int, list[str]]
    compared: int
    locks: dict[int, list[str]] = field(default_factory=dict)
    """Per process, the ranges whose lock, seal and advice flags (:data:`LOCK_FLAGS`)
    differ."""


def judge(api: Any, directory: Path) -> Judgement:
    """Replay ``directory``'s trace through ``api`` and compare every captured process's
    final maps. The replayed processes are deleted afterwards."""
    from client.replay import plan_strace, run_strace
    from client.strace import Source

    meta = json.loads((directory / "meta.json").read_text())
    plan = plan_strace([Source((directory / "trace.strace").read_text())], cwd=meta["cwd"])
    outcome = run_strace(api, plan)
    summary = outcome.summary("strace")
    last = {p["trace_pid"]: p["pid"] for p in outcome.processes}
    diffs: dict[int, list[str]] = {}
    mw: dict[int, list[str]] = {}
    locks: dict[int, list[str]] = {}
    compared = 0
    try:
        for pid in meta["captured"]:
            real = (directory / "maps" / str(pid)).read_text()
            sim_pid = last.get(pid)
            if sim_pid is None:
                diffs[pid] = ["no replayed process"]
                continue
            sim = api.maps(sim_pid)
            compared += len(real.splitlines())
            diff = compare(real, sim)
            if diff:
                diffs[pid] = diff
            real_flags = (directory / "vmflags" / str(pid)).read_text()
            sim_flags = _vmflags(api.proc_text(sim_pid, "smaps"))
            real_locks, sim_locks = lock_flags(real_flags), lock_flags(sim_flags)
            locks[pid] = [
                f"{r} {sorted(real_locks[r])} != {sorted(sim_locks.get(r, ()))}"
                for r in sorted(real_locks)
                if r in sim_locks and real_locks[r] != sim_locks[r]
            ]
            real_mw, sim_mw = mw_flags(real_flags), mw_flags(sim_flags)
            files = {
                line.split()[0]
                for line in real.splitlines()
                if len(line.split()) > 5 and line.split()[5].startswith("/")
            }
            bad = [r for r in sorted(files) if r in sim_mw and real_mw.get(r) != sim_mw[r]]
            if bad:
                mw[pid] = bad
    finally:
        for proc in {p["pid"] for p in outcome.processes}:
            try:
                api.delete_process(proc)
            except Exception:
                pass
    return Judgement(summary, diffs, mw, compared, {k: v for k, v in locks.items() if v})
