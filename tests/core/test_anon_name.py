"""prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) (core/anon_name.py). This host's kernel is
built without CONFIG_ANON_VMA_NAME, so everything but the EINVAL of that configuration
follows the source (kernel/sys.c prctl_set_vma, mm/madvise.c madvise_set_anon_name);
see docs/kernel-differences.md."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    Process,
    SyscallError,
    procmap_query,
)

PG = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
FIXED = ANON | MAP_FIXED
BASE = 0x100000000000


@pytest.fixture
def proc() -> Process:
    return Kernel().spawn()


def expect_errno(name: str, call: Callable[[], object]) -> None:
    with pytest.raises(SyscallError) as info:
        call()
    assert info.value.name == name and info.value.errno == getattr(errno, name), str(info.value)


def name(proc: Process, addr: int, size: int, value: str | bytes | None) -> int:
    return proc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, size, value)


def lines(mm: Mm) -> list[str]:
    mm._check()
    return [line for line in mm.maps().splitlines() if line.startswith("1000")]


def test_names_show_split_and_merge(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 8 * PG, RW, FIXED)
    assert name(proc, BASE + 2 * PG, 2 * PG, "arena 1") == 0
    assert lines(mm) == [
        "100000000000-100000002000 rw-p 00000000 00:00 0 ",
        "100000002000-100000004000 rw-p 00000000 00:00 0" + " " * 26 + "[anon:arena 1]",
        "100000004000-100000008000 rw-p 00000000 00:00 0 ",
    ]
    name(proc, BASE + 4 * PG, 2 * PG, b"arena 1")  # equal names merge
    assert [ln.split()[0] for ln in lines(mm)] == [
        "100000000000-100000002000",
        "100000002000-100000006000",
        "100000006000-100000008000",
    ]
    name(proc, BASE, 8 * PG, None)  # NULL clears: all one VMA again
    assert lines(mm) == ["100000000000-100000008000 rw-p 00000000 00:00 0 "]
    name(proc, BASE, PG, "")  # the empty name is a name
    assert lines(mm)[0].endswith(" [anon:]")


def test_shared_anonymous_memory_and_file_mappings(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    fd = proc.open("/tmp/f", O_RDWR, size=4 * PG)
    mm.mmap(BASE + 2 * PG, 2 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd)
    mm.mmap(BASE + 4 * PG, 2 * PG, RW, FIXED)
    name(proc, BASE, PG, "shm")
    assert lines(mm)[0].endswith(" [anon_shmem:shm]")
    # A file VMA stops the walk with EBADF after the VMAs before it were named.
    expect_errno("EBADF", lambda: name(proc, BASE + PG, 5 * PG, "x"))
    assert lines(mm)[1].endswith(" [anon_shmem:x]")
    assert lines(mm)[-1] == "100000004000-100000006000 rw-p 00000000 00:00 0 "
    query = procmap_query(mm, BASE, 0)
    assert query.vma_name == "[anon_shmem:shm]"


def test_holes_are_enomem_after_naming_what_is_mapped(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 2 * PG, RW, FIXED)
    mm.mmap(BASE + 4 * PG, 2 * PG, RW, FIXED)
    expect_errno("ENOMEM", lambda: name(proc, BASE, 8 * PG, "n"))
    assert all(line.endswith("[anon:n]") for line in lines(mm))
    expect_errno("ENOMEM", lambda: name(proc, BASE + 16 * PG, PG, "n"))


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("x" * 79, True),
        ("x" * 80, False),  # strndup_user(..., 80): 80 bytes and the NUL do not fit
        ("tab\there", False),
        ("new\nline", False),
        ("back\\slash", False),
        ("back`tick", False),
        ("dollar$", False),
        ("[bracket", False),
        ("bracket]", False),
        ("café", False),  # bytes above 0x7e
        ("~!@#%^&*()_+{}|:\"<>?,./;'=- ", True),
        ("cut\0here[", True),  # C stops at the NUL: "cut"
    ],
)
def test_name_validation(proc: Process, value: str, ok: bool) -> None:
    mm = proc.mm
    mm.mmap(BASE, PG, RW, FIXED)
    before = lines(mm)
    if ok:
        name(proc, BASE, PG, value)
        shown = value.split("\0")[0]
        assert lines(mm)[0].endswith(f"[anon:{shown}]")
    else:
        expect_errno("EINVAL", lambda: name(proc, BASE, PG, value))
        assert lines(mm) == before


def test_range_and_option_errors(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, PG, RW, FIXED)
    expect_errno("EINVAL", lambda: name(proc, BASE + 1, PG, "x"))
    expect_errno("EINVAL", lambda: name(proc, BASE, -PG + 1, "x"))
    assert name(proc, BASE, 0, "x") == 0
    expect_errno("EINVAL", lambda: proc.prctl(PR_SET_VMA, 1, BASE, PG, "x"))
    expect_errno("EINVAL", lambda: proc.prctl(15, 0, 0, 0, None))  # PR_SET_NAME: not here
    # The name is checked before the range.
    expect_errno("EINVAL", lambda: name(proc, BASE + 16 * PG, PG, "a$"))


def test_this_hosts_kernel_refuses_every_call(proc: Process) -> None:
    proc.kernel.config_anon_vma_name = False  # CONFIG_ANON_VMA_NAME is not set here
    mm = proc.mm
    mm.mmap(BASE, PG, RW, FIXED)
    expect_errno("EINVAL", lambda: name(proc, BASE, PG, "x"))
    expect_errno("EINVAL", lambda: name(proc, BASE, PG, None))
    assert lines(mm) == ["100000000000-100000001000 rw-p 00000000 00:00 0 "]


def test_heap_wins_and_names_survive_fork_mremap_and_split_limits(proc: Process) -> None:
    mm = proc.mm
    start = mm.cur_brk
    mm.brk(start + 2 * PG)
    name(proc, start, 2 * PG, "malloc")
    heap = [line for line in mm.maps().splitlines() if line.startswith(f"{start:x}")]
    assert heap[0].endswith(" [heap]")
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    name(proc, BASE, 4 * PG, "kept")
    child = proc.fork()
    assert lines(child.mm) == lines(mm)
    mm.mremap(BASE, 4 * PG, 8 * PG, 0)
    assert lines(mm) == [
        "100000000000-100000008000 rw-p 00000000 00:00 0" + " " * 26 + "[anon:kept]"
    ]
    proc.kernel.max_map_count = mm.map_count + 1
    # madvise converts the split's ENOMEM to EAGAIN; the first split stays.
    expect_errno("EAGAIN", lambda: name(proc, BASE + 2 * PG, PG, "mid"))
    assert len(lines(mm)) == 2
