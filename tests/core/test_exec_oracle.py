"""execve against the running kernel: the address space at the first instruction.

For each program the real kernel runs it under ptrace (``exec_stop.c``: PTRACE_TRACEME,
execve, the exec SIGTRAP stop) with ``ADDR_NO_RANDOMIZE`` (what ``setarch -R`` sets) and a
fixed environment, and prints ``/proc/PID/maps``, ``stat`` and the ``Vm*`` lines of
``status``; the simulator builds the same program with :meth:`core.Kernel.spawn_exec`. The
maps texts must be identical line for line, device and inode aside (on overlay or other
stacked file systems ``stat`` and maps name different devices), and so must the mm fields
``stat`` shows (start/end of code and data, break, stack pointer, argument and environment
bounds) and VmSize, VmData, VmStk, VmExe, VmLib, VmRSS.

The programs: C programs compiled here in every linking mode (dynamic PIE, dynamic
non-PIE, static, static PIE, 2 MiB-aligned segments, executable stack, a large bss),
``#!`` scripts (with an argument, nested, through env), the dynamic loader and libc run
directly, and the system's ls, python3, perl, bash, sort, env, gcc, strace, node and java
when installed; then the errors execve returns for bad paths and files.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from core import Kernel, SyscallError
from core.smaps import render_status_memory
from tests.differential.realkernel import find_compiler, unsupported_reason

HERE = Path(__file__).parent
ENV = ["PATH=/usr/bin:/bin", "HOME=/root", "LANG=C"]
STATUS_KEYS = ("VmSize", "VmData", "VmStk", "VmExe", "VmLib", "VmRSS")
# /proc/PID/stat fields after the comm, 0-based from the state field (proc(5) numbers - 3).
STAT_FIELDS = {
    "start_code": 23,
    "end_code": 24,
    "start_stack": 25,
    "start_data": 42,
    "end_data": 43,
    "start_brk": 44,
    "arg_start": 45,
    "arg_end": 46,
    "env_start": 47,
    "env_end": 48,
}

PROGRAM = r"""
#include <stdio.h>
static char bss[BSS];
int data = 5;
int main(int argc, char **argv) {
    bss[argc] = 1;
    printf("%d %s\n", data + bss[1], argv[0]);
    return 0;
}
"""
#: name -> (gcc flags, bss bytes)
BUILDS: dict[str, tuple[list[str], int]] = {
    "dyn_pie": ([], 64),
    "dyn_nopie": (["-no-pie"], 64),
    "static_nopie": (["-static"], 64),
    "static_pie": (["-static-pie"], 3 << 20),
    "static_pie_2m": (["-static-pie", "-Wl,-z,max-page-size=0x200000"], 64),
    "dyn_pie_2m": (["-Wl,-z,max-page-size=0x200000"], 64),
    "nopie_2m": (["-no-pie", "-Wl,-z,max-page-size=0x200000"], 64),
    "execstack": (["-z", "execstack"], 64),
    "bigbss": ([], 3 << 20),
}


@dataclass(frozen=True)
class Observed:
    maps: list[str]
    status: dict[str, str]
    fields: dict[str, int]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled ``exec_stop`` helper and test programs (skips where the kernel
    cannot be asked)."""
    reason = unsupported_reason()
    if reason is not None:
        pytest.skip(f"execve oracle: {reason}")
    cc = find_compiler()
    assert cc is not None
    out = tmp_path_factory.mktemp("exec")
    run = subprocess.run(
        [cc, "-O2", "-Wall", "-Werror", "-o", str(out / "exec_stop"), str(HERE / "exec_stop.c")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    probe = subprocess.run(
        [str(out / "exec_stop"), "-R", "--", "/bin/true", "true"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if probe.returncode != 0:
        pytest.skip(f"execve oracle: ptrace stop at exec unavailable ({probe.stderr.strip()})")

    def build(name: str) -> str:
        flags, bss = BUILDS[name]
        src = out / f"{name}.c"
        src.write_text(PROGRAM.replace("BSS", str(bss)))
        res = subprocess.run(
            [cc, "-O1", *flags, "-o", str(out / name), str(src)],
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
        )
        return "" if res.returncode == 0 else f"{name}: {res.stderr[-300:]}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [e for e in pool.map(build, BUILDS) if e]
    # A static build needs libc.a (Debian: libc6-dev); do without rather than fail.
    for name in list(BUILDS):
        if not (out / name).exists():
            assert "-static" in " ".join(BUILDS[name][0]), failures
    scripts = {
        "script.sh": "#!/bin/sh\necho hi\n",
        "arg.pl": "#!/usr/bin/perl -w   \nprint 1;\n",
        "nested": f"#! {out}/script.sh  two words\n",
        "env.py": "#!/usr/bin/env python3\nprint(1)\n",
        "text.x": "hello\n",
        "noint.sh": "#!/nonexistent/interp\n",
        "empty.sh": "#!\n",
        "loopa": f"#!{out}/loopb\n",
        "loopb": f"#!{out}/loopa\n",
        "fakeld": "junk\n",
        "longld": "junk " * 40 + "\n",
    }
    for name, text in scripts.items():
        path = out / name
        path.write_text(text)
        path.chmod(0o755)
    (out / "plain.txt").write_text("not executable\n")
    for name, ld in (("badinterp", "/nonexistent/ld.so"), ("eio", out / "fakeld")):
        _link(cc, out, name, [f"-Wl,--dynamic-linker={ld}"])
    _link(cc, out, "elibbad", [f"-Wl,--dynamic-linker={out / 'longld'}"])
    obj = out / "obj.o"
    subprocess.run([cc, "-c", "-o", str(obj), str(out / "dyn_pie.c")], check=True, timeout=120)
    obj.chmod(0o755)
    return out


def _link(cc: str, out: Path, name: str, flags: list[str]) -> None:
    subprocess.run(
        [cc, "-O1", *flags, "-o", str(out / name), str(out / "dyn_pie.c")],
        check=True,
        timeout=120,
        capture_output=True,
    )


def real(oracle: Path, argv: list[str], path: str | None = None) -> Observed | int:
    """The running kernel's view at the first instruction, or the errno execve gave."""
    cmd = [str(oracle / "exec_stop"), "-R"]
    for e in ENV:
        cmd += ["-e", e]
    run = subprocess.run(
        [*cmd, "--", path or argv[0], *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    lines = run.stdout.splitlines()
    for line in lines:
        if line.startswith("#errno "):
            return int(line.split()[1])
    assert run.returncode == 0, run.stderr
    stat_line = next(line for line in lines if line.startswith("#stat "))
    after = stat_line[stat_line.rindex(")") + 2 :].split()
    return Observed(
        [line for line in lines if not line.startswith("#")],
        {
            line.split(":")[0][len("#status ") :]: line.split()[2]
            for line in lines
            if line.startswith("#status ")
        },
        {name: int(after[i]) for name, i in STAT_FIELDS.items()},
    )


def simulated(argv: list[str], path: str | None = None) -> Observed:
    proc, _ = Kernel().spawn_exec(path or argv[0], argv, ENV)
    mm = proc.mm
    mm._check()
    status = {line.split(":")[0]: line.split()[1] for line in render_status_memory(mm).splitlines()}
    return Observed(
        mm.maps().splitlines(), status, {name: getattr(mm, name) for name in STAT_FIELDS}
    )


def _without_device(line: str) -> str:
    fields = line.split(None, 5)
    return " ".join(fields[:3] + fields[5:])


def _programs(oracle: Path) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for name in BUILDS:
        if (oracle / name).exists():
            out.append((name, [str(oracle / name), "x"]))
    out += [
        ("script.sh", [str(oracle / "script.sh")]),
        ("arg.pl", [str(oracle / "arg.pl"), "a"]),
        ("nested", [str(oracle / "nested"), "z"]),
        ("env.py", [str(oracle / "env.py")]),
        ("empty argv", []),
        ("long argv", ["/usr/bin/true", *(f"argument-{i:04d}" for i in range(600))]),
        ("ld.so", ["/lib64/ld-linux-x86-64.so.2", "/usr/bin/true"]),
        ("libc.so.6", ["/usr/lib/x86_64-linux-gnu/libc.so.6"]),
    ]
    for path, args in (
        ("/usr/bin/ls", ["-l"]),
        ("/usr/bin/python3", ["-c", "1"]),
        ("/usr/bin/perl", ["-e", "1"]),
        ("/usr/bin/bash", []),
        ("/usr/bin/sort", []),
        ("/usr/bin/env", []),
        ("/usr/bin/gcc", []),
        ("/usr/bin/strace", []),
        ("/usr/bin/node", []),
        ("/usr/bin/java", ["-version"]),
    ):
        if os.access(path, os.X_OK):
            out.append((os.path.basename(path), [path, *args]))
    return out


def test_execve_image_matches_the_kernel(oracle: Path) -> None:
    programs = _programs(oracle)
    assert len(programs) >= 20, [name for name, _ in programs]
    mismatches = []
    for name, argv in programs:
        path = "/usr/bin/true" if name == "empty argv" else None
        want = real(oracle, argv, path)
        assert isinstance(want, Observed), (name, want)
        got = simulated(argv, path)
        a = [_without_device(line) for line in want.maps]
        b = [_without_device(line) for line in got.maps]
        if a != b:
            mismatches.append(f"{name}: maps\n  real {a}\n  sim  {b}")
        for key in STATUS_KEYS:
            if want.status[key] != got.status[key]:
                mismatches.append(f"{name}: {key} real {want.status[key]} sim {got.status[key]}")
        if want.fields != got.fields:
            diff = {
                k: (hex(v), hex(got.fields[k]))
                for k, v in want.fields.items()
                if got.fields[k] != v
            }
            mismatches.append(f"{name}: mm fields (real, sim) {diff}")
    assert not mismatches, "\n".join(mismatches)


ERRORS = [
    ("missing file", "/nonexistent/program"),
    ("a directory", "/tmp"),
    ("not executable", "plain.txt"),
    ("text, no #!", "text.x"),
    ("relocatable object", "obj.o"),
    ("missing interpreter", "badinterp"),
    ("interpreter shorter than an ELF header", "eio"),
    ("interpreter not ELF", "elibbad"),
    ("script's interpreter missing", "noint.sh"),
    ("#! with no name", "empty.sh"),
    ("a file as a directory", "/usr/bin/env/x"),
    ("#! loop", "loopa"),
]


@pytest.mark.parametrize(("what", "name"), ERRORS, ids=[e[0] for e in ERRORS])
def test_execve_errors_match_the_kernel(oracle: Path, what: str, name: str) -> None:
    path = name if name.startswith("/") else str(oracle / name)
    want = real(oracle, [path])
    assert isinstance(want, int), f"{what}: the kernel ran {path}"
    kernel = Kernel()
    with pytest.raises(SyscallError) as info:
        kernel.spawn_exec(path, [path], ENV)
    assert info.value.errno == want, (what, errno.errorcode[want], info.value)
    assert kernel.processes() == []  # nothing left behind


def test_too_long_arguments_are_e2big_like_the_kernel() -> None:
    if unsupported_reason() is not None or shutil.which("true") is None:
        pytest.skip("needs the x86-64 Linux kernel this simulates")
    cases = [["true", "x" * (33 * 4096)], ["true", *(["y" * 100_000] * 25)]]
    for argv in cases:
        with pytest.raises(OSError, match="Argument list too long") as real_error:
            subprocess.run(argv, executable="/usr/bin/true", check=False, timeout=60)
        with pytest.raises(SyscallError) as sim_error:
            Kernel().spawn_exec("/usr/bin/true", argv)
        assert real_error.value.errno == sim_error.value.errno == errno.E2BIG


def test_fixture_files_are_what_the_cases_say(oracle: Path) -> None:
    # The error cases are only meaningful if the files are as described.
    assert not os.access(oracle / "plain.txt", os.X_OK)
    assert stat.S_ISDIR(os.stat("/tmp").st_mode)
    assert (oracle / "fakeld").stat().st_size < 64 <= (oracle / "longld").stat().st_size
