"""execve in the engine, without the kernel oracle: #! parsing, argument limits, what
an exec replaces and keeps, ASLR draws, and the fields an exec'd process carries
through fork and checkpoints. (tests/core/test_exec_oracle.py compares with the
running kernel.)"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from core import Kernel, SyscallError, dump_kernel, load_kernel
from core.binfmt_script import parse_shebang
from core.constants import (
    E2BIG,
    ELF_ET_DYN_BASE,
    ENOENT,
    ENOEXEC,
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_READ,
    STACK_RND_MASK,
    TASK_SIZE,
)
from core.errors import InvalidArgument
from core.smaps import render_statm, render_status_memory
from core.x86_layout import MIN_GAP
from tests.engines import PYTHON_ENGINE_ONLY

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.access("/usr/bin/true", os.X_OK),
    reason="needs the x86-64 Linux programs /usr/bin/true and its loader",
)
TRUE = "/usr/bin/true"


@pytest.mark.parametrize(
    ("line", "name", "arg"),
    [
        (b"#!/bin/sh\n", b"/bin/sh", None),
        (b"#! /bin/sh\n", b"/bin/sh", None),
        (b"#!/usr/bin/perl -w   \n", b"/usr/bin/perl", b"-w"),
        (b"#!/usr/bin/env python3 -u -O\n", b"/usr/bin/env", b"python3 -u -O"),  # one argument
        (b"#!\t/bin/sh\targ\n", b"/bin/sh", b"arg"),
        (b"#!/bin/sh", b"/bin/sh", None),  # no newline: NUL padding ends the name
        (b"#!/bin/sh\0junk\n", b"/bin/sh", None),
    ],
)
def test_shebang_lines_parse_as_load_script_does(
    line: bytes, name: bytes, arg: bytes | None
) -> None:
    assert parse_shebang(line) == (name, arg)


@pytest.mark.parametrize(
    "line",
    [b"#!\n", b"#!   \n", b"#!" + b" " * 300, b"#!/" + b"x" * 300],
    ids=["empty", "spaces", "only spaces, no newline", "truncated path"],
)
def test_unusable_shebang_lines_are_enoexec(line: bytes) -> None:
    with pytest.raises(SyscallError) as info:
        parse_shebang(line)
    assert info.value.errno == ENOEXEC


def test_a_long_argument_after_the_name_is_only_truncated() -> None:
    assert parse_shebang(b"#!/bin/sh " + b"a" * 400) == (b"/bin/sh", b"a" * 245)


def test_exec_replaces_the_address_space_and_keeps_the_files() -> None:
    kernel = Kernel()
    proc = kernel.spawn("before")
    proc.mm.mmap(0, 3 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    fd = proc.open("/tmp/kept", os.O_RDWR, size=PAGE_SIZE)
    old_mm, generation = proc.mm, proc.mm.generation
    image = proc.execve(TRUE, ["true"], {"A": "1"})
    mm = proc.mm
    assert mm is not old_mm and old_mm.map_count == 0  # the old mm was torn down
    assert mm.generation > generation  # a watcher sees the change
    assert proc.name == "true" and image.argv == ("true",)
    assert proc.files.get(fd, "mmap").inode.path == "/tmp/kept"
    names = {line.split()[-1] for line in mm.maps().splitlines()}
    assert {os.path.realpath(TRUE), "[stack]", "[vdso]", "[vvar]", "[vsyscall]"} <= names
    assert image.interpreter is not None and image.interpreter in names
    mm._check()


def test_proc_self_exe_runs_the_program_the_process_runs() -> None:
    """procfs's magic link (proc_exe_link: mm->exe_file), what Chromium's zygote, runc
    and Go's reexec execute; on the engine's machine the path would name the server's
    own executable. The stack's file name and comm stay the path given ("exe")."""
    kernel = Kernel()
    proc, first = kernel.spawn_exec(TRUE, ["true"])
    child = proc.fork()
    image = child.execve("/proc/self/exe", ["/proc/self/exe", "--type=utility"])
    assert image.executable == first.executable == os.path.realpath(TRUE)
    assert image.filename == "/proc/self/exe" and child.name == "exe"
    program = [line for line in child.mm.maps().splitlines() if line.endswith(image.executable)]
    assert program and len(program) == len(
        [line for line in proc.mm.maps().splitlines() if line.endswith(first.executable)]
    )
    # Another simulated pid's link; a process that never ran a program has none.
    again = kernel.spawn("x")
    assert again.execve(f"/proc/{proc.pid}/exe", ["x"]).executable == first.executable
    empty = kernel.spawn("empty")
    for path in ("/proc/self/exe", f"/proc/{empty.pid}/task/{empty.pid}/exe", "/proc/99999/exe"):
        with pytest.raises(SyscallError) as info:
            kernel.spawn("y").execve(path, ["y"])
        assert info.value.errno == ENOENT, path


def test_a_failed_exec_before_the_point_of_no_return_changes_nothing() -> None:
    kernel = Kernel()
    proc = kernel.spawn("keep")
    proc.mm.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    before = proc.mm.maps()
    with pytest.raises(SyscallError) as info:
        proc.execve("/nonexistent/program", ["x"])
    assert info.value.errno == ENOENT and info.value.syscall == "execve"
    assert proc.mm.maps() == before and proc.alive and proc.name == "keep"


def test_spawn_exec_leaves_no_process_behind_on_failure() -> None:
    kernel = Kernel()
    with pytest.raises(SyscallError):
        kernel.spawn_exec("/etc/hostname", ["x"])  # not executable: EACCES
    assert kernel.processes() == []


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["true", "x" * (32 * PAGE_SIZE)], "one string longer than MAX_ARG_STRLEN"),
        (["true", *(["y" * 65536] * 40)], "more than a quarter of the 8 MiB stack limit"),
    ],
)
def test_too_long_arguments_are_e2big(argv: list[str], why: str) -> None:
    with pytest.raises(SyscallError) as info:
        Kernel().spawn_exec(TRUE, argv)
    assert info.value.errno == E2BIG, why


def test_arguments_decide_the_stack_size() -> None:
    def stack_pages(argv: list[str]) -> int:
        mm = Kernel().spawn_exec(TRUE, argv)[0].mm
        stack = next(v for v in mm.vmas() if v.vm_end == TASK_SIZE)
        return (stack.vm_end - stack.vm_start) // PAGE_SIZE

    # One page of strings plus the 128 KiB setup_arg_pages adds below them.
    assert stack_pages(["true"]) == 33
    assert stack_pages(["true", "z" * 3 * PAGE_SIZE]) == 36


@pytest.mark.parametrize("bad", ["relative/path", 7, "/usr/bin/true\0x"])
@PYTHON_ENGINE_ONLY
def test_bad_paths_are_invalid_arguments(bad: object) -> None:
    with pytest.raises(InvalidArgument):
        Kernel().spawn_exec(bad, ["x"])  # type: ignore[arg-type]


def test_bad_argv_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        Kernel().spawn_exec(TRUE, "true")


def test_aslr_is_reproducible_per_seed_and_spread_like_the_kernel() -> None:
    def layout(seed: int) -> tuple[str, int, int, int]:
        proc, image = Kernel().spawn_exec(TRUE, ["true"], aslr=True, seed=seed)
        mm = proc.mm
        return mm.maps(), mm.mmap_base, image.load_bias, mm.start_brk

    assert layout(7) == layout(7)
    seen = [layout(seed) for seed in range(12)]
    assert len({maps for maps, *_ in seen}) == 12
    for _, mmap_base, load_bias, start_brk in seen:
        # arch_mmap_rnd(): 28 bits of pages below/above the unrandomised bases.
        assert mmap_base >= TASK_SIZE - (16 << 30) - (1 << 40) - MIN_GAP
        assert mmap_base <= TASK_SIZE - (STACK_RND_MASK << 12) - (9 << 20)
        assert ELF_ET_DYN_BASE & ~0xFFF <= load_bias < ELF_ET_DYN_BASE + (1 << 40)
        assert start_brk > load_bias  # past the program, at most 1 GiB further
    _, image = Kernel().spawn_exec(TRUE, ["true"], aslr=True)
    assert image.aslr and image.seed is not None  # a drawn seed is reported


def test_exec_fields_survive_fork_and_checkpoint() -> None:
    kernel = Kernel()
    proc, _ = kernel.spawn_exec(TRUE, ["true"])
    child = proc.fork()
    restored = load_kernel(dump_kernel(kernel))
    for mm in (child.mm, restored.get(proc.pid).mm):
        assert (mm.start_code, mm.end_code) == (proc.mm.start_code, proc.mm.end_code)
        assert mm.maps() == proc.mm.maps()
        assert render_statm(mm).split()[3] == render_statm(proc.mm).split()[3] != "0"
    # VmExe: the program's r-x mapping; its other executable pages (ld.so, vDSO) are VmLib.
    real = os.path.realpath(TRUE)
    text = sum(
        v.vm_end - v.vm_start
        for v in proc.mm.vmas()
        if v.vm_file is not None and v.vm_file.inode.path == real and v.vm_flags & 4
    )
    status = dict(line.split(":\t") for line in render_status_memory(proc.mm).splitlines())
    assert int(status["VmExe"].split()[0]) == text // 1024 > 0


def test_a_failure_after_the_point_of_no_return_ends_the_process(tmp_path: Path) -> None:
    # A PT_LOAD whose file offset and address disagree within the page: elf_map's
    # vm_mmap fails with EINVAL after begin_new_exec, and the kernel kills the process.
    data = bytearray(Path(TRUE).read_bytes())
    phoff = int.from_bytes(data[32:40], "little")
    for i in range(int.from_bytes(data[56:58], "little")):
        at = phoff + i * 56
        if int.from_bytes(data[at : at + 4], "little") == 1:  # the first PT_LOAD
            offset = int.from_bytes(data[at + 8 : at + 16], "little")
            data[at + 8 : at + 16] = (offset + 8).to_bytes(8, "little")
            break
    bad = tmp_path / "misaligned"
    bad.write_bytes(bytes(data))
    bad.chmod(0o755)
    kernel = Kernel()
    proc = kernel.spawn("victim")
    with pytest.raises(SyscallError) as info:
        proc.execve(str(bad), ["misaligned"])
    assert info.value.errno == errno.EINVAL
    assert not proc.alive and kernel.processes() == []
