"""Syscall semantics: each reachable row of the errno table (the man pages' ERRORS sections) and the
appendix A experiments that the host kernel confirmed. The differential tests in
tests/differential/ compare the same behaviour against the running kernel."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_SYNC,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    O_RDONLY,
    O_RDWR,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    InvalidArgument,
    Kernel,
    Mm,
    Process,
    SyscallError,
    UseAfterFree,
)
from core.vma import POISON_ADDR, check_live
from tests.engines import PYTHON_ENGINE_ONLY

PG = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
BASE = 0x100000000000


@pytest.fixture
def proc() -> Process:
    return Kernel().spawn()


def lines(mm: Mm) -> list[str]:
    return mm.maps().splitlines()[:-1]  # without the [vsyscall] gate line


def expect_errno(name: str, call: Callable[[], object]) -> SyscallError:
    with pytest.raises(SyscallError) as info:
        call()
    assert info.value.name == name, str(info.value)
    assert info.value.errno == getattr(errno, name)
    return info.value


ERRNO_ROWS: list[tuple[str, str, Callable[[Process], object]]] = [
    ("mmap len 0", "EINVAL", lambda p: p.mm.mmap(0, 0, PROT_READ, ANON)),
    ("mmap no type", "EINVAL", lambda p: p.mm.mmap(0, PG, PROT_READ, MAP_ANONYMOUS)),
    ("mmap len -1", "ENOMEM", lambda p: p.mm.mmap(0, -1, PROT_READ, ANON)),
    ("mmap len -PG", "ENOMEM", lambda p: p.mm.mmap(0, -PG, PROT_READ, ANON)),
    ("mmap len 2^47", "ENOMEM", lambda p: p.mm.mmap(0, 1 << 47, PROT_READ, ANON)),
    ("fixed at 2^47", "ENOMEM", lambda p: p.mm.mmap(1 << 47, PG, PROT_READ, ANON | MAP_FIXED)),
    (
        "fixed past TASK_SIZE",
        "ENOMEM",
        lambda p: p.mm.mmap((1 << 47) - PG, 2 * PG, PROT_READ, ANON | MAP_FIXED),
    ),
    ("fixed unaligned", "EINVAL", lambda p: p.mm.mmap(BASE + 1, PG, PROT_READ, ANON | MAP_FIXED)),
    (
        "noreplace unaligned",
        "EINVAL",
        lambda p: p.mm.mmap(BASE + 1, PG, PROT_READ, ANON | MAP_FIXED_NOREPLACE),
    ),
    ("fixed below mmap_min_addr", "EPERM", lambda p: p.mm.mmap(0, PG, PROT_READ, ANON | MAP_FIXED)),
    ("bad fd", "EBADF", lambda p: p.mm.mmap(0, PG, PROT_READ, MAP_PRIVATE, 77, 0)),
    ("unaligned offset", "EINVAL", lambda p: p.mm.mmap(0, PG, PROT_READ, MAP_PRIVATE, 3, 1)),
    ("munmap len 0", "EINVAL", lambda p: p.mm.munmap(BASE, 0)),
    ("munmap unaligned", "EINVAL", lambda p: p.mm.munmap(BASE + 1, PG)),
    ("munmap above TASK_SIZE", "EINVAL", lambda p: p.mm.munmap(1 << 47, PG)),
    ("mprotect unaligned", "EINVAL", lambda p: p.mm.mprotect(BASE + 1, PG, PROT_READ)),
    ("mprotect unmapped", "ENOMEM", lambda p: p.mm.mprotect(BASE + 100 * PG, PG, PROT_READ)),
    ("mprotect bad bits", "EINVAL", lambda p: p.mm.mprotect(BASE, PG, 0x10000)),
    ("mremap new_len 0", "EINVAL", lambda p: p.mm.mremap(BASE, PG, 0, MREMAP_MAYMOVE)),
    ("mremap unaligned", "EINVAL", lambda p: p.mm.mremap(BASE + 1, PG, PG, MREMAP_MAYMOVE)),
    (
        "mremap unmapped",
        "EFAULT",
        lambda p: p.mm.mremap(BASE + 100 * PG, PG, 2 * PG, MREMAP_MAYMOVE),
    ),
    ("mremap fixed w/o maymove", "EINVAL", lambda p: p.mm.mremap(BASE, PG, 2 * PG, MREMAP_FIXED)),
    ("mremap unknown flag", "EINVAL", lambda p: p.mm.mremap(BASE, PG, PG, 8)),
    (
        "mremap dontunmap resize",
        "EINVAL",
        lambda p: p.mm.mremap(BASE, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, BASE + 50 * PG),
    ),
]


@pytest.mark.parametrize(("case", "name", "call"), ERRNO_ROWS, ids=[r[0] for r in ERRNO_ROWS])
def test_errno_table(
    proc: Process, case: str, name: str, call: Callable[[Process], object]
) -> None:
    fd = proc.open("/data/testfile.bin", O_RDONLY, size=8 * PG)
    assert fd == 3
    proc.mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    before = proc.mm.maps()
    expect_errno(name, lambda: call(proc))
    assert proc.mm.maps() == before, f"{case}: a failed call changed the address space"
    proc.mm._check()


def test_successful_edge_cases(proc: Process) -> None:
    mm = proc.mm
    c = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    mm.munmap(c + 100 * PG, PG)  # nothing mapped there: success, no-op
    mm.mprotect(c, 0, PROT_READ)  # len 0: success
    mm.mprotect(c + PG, 3 * PG, PROT_READ)
    assert lines(mm) == [
        "100000000000-100000001000 rw-p 00000000 00:00 0 ",
        "100000001000-100000004000 r--p 00000000 00:00 0 ",
    ]


def test_file_permission_errnos(proc: Process) -> None:
    ro = proc.open("/data/ro", O_RDONLY, size=4 * PG)
    expect_errno("EACCES", lambda: proc.mm.mmap(0, PG, RW, MAP_SHARED, ro, 0))
    addr = proc.mm.mmap(0, PG, RW, MAP_PRIVATE, ro, 0)  # private copy: allowed
    shared = proc.mm.mmap(0, PG, PROT_READ, MAP_SHARED, ro, 0)
    assert " r--s " in proc.mm.maps()
    # VM_MAYWRITE was cleared for the read-only shared mapping.
    expect_errno("EACCES", lambda: proc.mm.mprotect(shared, PG, RW))
    proc.mm.mprotect(addr, PG, PROT_READ | PROT_EXEC)
    expect_errno("EOPNOTSUPP", lambda: proc.mm.mmap(0, PG, PROT_READ, MAP_SHARED | MAP_SYNC, ro, 0))
    expect_errno(
        "EOPNOTSUPP", lambda: proc.mm.mmap(0, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x800000, ro, 0)
    )
    proc.mm.mmap(0, PG, PROT_READ, MAP_SHARED | 0x40000000, ro, 0)  # legacy bits ignored


@PYTHON_ENGINE_ONLY
def test_non_integer_arguments_are_rejected_before_locking(proc: Process) -> None:
    with pytest.raises(InvalidArgument, match=r"^length '4096' is not an integer$"):
        proc.mm.mmap(0, "4096", RW, ANON)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgument, match=r"^addr 0x10000000000000000 does not fit in 64 bits$"
    ):
        proc.mm.munmap(1 << 64, PG)
    assert proc.mm.mmap_lock.statistics().rwsem.write_acquisitions == 0


def test_appendix_a_merge_split_and_fixed(proc: Process) -> None:
    mm = proc.mm
    # Host experiment 3: adjacent anonymous rw mappings merge; r-- does not; mprotect merges it.
    m1 = mm.mmap(BASE + 2 * PG, 2 * PG, RW, ANON | MAP_FIXED)
    mm.mmap(m1 + 2 * PG, 2 * PG, RW, ANON | MAP_FIXED)
    mm.mmap(m1 + 4 * PG, 2 * PG, PROT_READ, ANON | MAP_FIXED)
    assert lines(mm) == [
        "100000002000-100000006000 rw-p 00000000 00:00 0 ",
        "100000006000-100000008000 r--p 00000000 00:00 0 ",
    ]
    mm.mprotect(m1 + 4 * PG, 2 * PG, RW)
    assert lines(mm) == ["100000002000-100000008000 rw-p 00000000 00:00 0 "]
    # Experiment 4: mprotect of the middle splits in three, and back merges again.
    mm.mprotect(m1 + 2 * PG, 2 * PG, PROT_READ)
    assert len(lines(mm)) == 3
    mm.mprotect(m1 + 2 * PG, 2 * PG, RW)
    assert lines(mm) == ["100000002000-100000008000 rw-p 00000000 00:00 0 "]
    # Experiment 5: munmap of the middle leaves two; MAP_FIXED over the hole merges them back.
    mm.munmap(m1 + 2 * PG, 2 * PG)
    assert len(lines(mm)) == 2
    mm.mmap(m1 + 2 * PG, 2 * PG, RW, ANON | MAP_FIXED)
    assert lines(mm) == ["100000002000-100000008000 rw-p 00000000 00:00 0 "]
    # Experiment 6: NOREPLACE over any part fails; MAP_FIXED replaces without a hole.
    expect_errno("EEXIST", lambda: mm.mmap(m1 + PG, 2 * PG, PROT_READ, ANON | MAP_FIXED_NOREPLACE))
    assert mm.mmap(m1 + PG, PG, PROT_READ, ANON | MAP_FIXED) == m1 + PG
    assert lines(mm) == [
        "100000002000-100000003000 rw-p 00000000 00:00 0 ",
        "100000003000-100000004000 r--p 00000000 00:00 0 ",
        "100000004000-100000008000 rw-p 00000000 00:00 0 ",
    ]
    mm._check()


def test_mprotect_over_hole_changes_first_vma_then_fails(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, PG, RW, ANON | MAP_FIXED)
    mm.mmap(BASE + 2 * PG, PG, RW, ANON | MAP_FIXED)
    expect_errno("ENOMEM", lambda: mm.mprotect(BASE, 3 * PG, PROT_READ))
    # Host experiment 7b: the first VMA was already changed when the hole was found.
    assert lines(mm) == [
        "100000000000-100000001000 r--p 00000000 00:00 0 ",
        "100000002000-100000003000 rw-p 00000000 00:00 0 ",
    ]


def test_two_opens_never_merge_one_fd_twice_does(proc: Process) -> None:
    mm = proc.mm
    a = proc.open("/data/f", O_RDWR, size=16 * PG)
    b = proc.open("/data/f", O_RDWR)
    mm.mmap(BASE, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, a, 0)
    mm.mmap(BASE + 2 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, b, 2 * PG)
    mm.mmap(BASE + 4 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, b, 4 * PG)
    mm.mmap(BASE + 6 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, b, 10 * PG)
    assert lines(mm) == [
        f"{'100000000000-100000002000 r--p 00000000 fe:00 1000':<72} /data/f",
        f"{'100000002000-100000006000 r--p 00002000 fe:00 1000':<72} /data/f",
        f"{'100000006000-100000008000 r--p 0000a000 fe:00 1000':<72} /data/f",
    ]
    assert all(line.index("/data/f") == 73 for line in lines(mm))
    proc.unlink("/data/f")
    assert lines(mm)[0].endswith("/data/f (deleted)")


def test_shared_anonymous_is_dev_zero_deleted(proc: Process) -> None:
    proc.mm.mmap(BASE, 2 * PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    (line,) = lines(proc.mm)
    assert line.startswith("100000000000-100000002000 r--s 00000000 00:01 ")
    assert line.index("/dev/zero (deleted)") == 73
    assert line.endswith("/dev/zero (deleted)")


def test_top_down_allocation_and_thp_alignment(proc: Process) -> None:
    mm = proc.mm
    a = mm.mmap(0, 3 * PG, RW, ANON)
    assert a == mm.mmap_base - 3 * PG
    b = mm.mmap(0, PG, PROT_READ, ANON)  # different flags: below, unmerged
    assert b == a - PG
    huge = mm.mmap(0, 2 << 20, RW, ANON)
    assert huge % (2 << 20) == 0
    odd = mm.mmap(0, (2 << 20) + PG, RW, ANON)
    assert odd % (2 << 20) != 0
    # A hint into a free range is honoured (rounded down); an occupied one is not.
    assert mm.mmap(BASE + 5, PG, RW, ANON) == BASE
    assert mm.mmap(BASE, PG, PROT_READ, ANON) != BASE


def test_growsdown_guard_gap_moves_hints(proc: Process) -> None:
    mm = proc.mm
    stack = mm.mmap(BASE + 1024 * PG, 4 * PG, RW, ANON | MAP_FIXED | MAP_GROWSDOWN)
    hinted = mm.mmap(stack - 2 * PG, PG, RW, ANON)
    assert hinted != stack - 2 * PG  # inside the 256-page guard gap: hint refused
    assert mm.mmap(stack - 300 * PG, PG, RW, ANON) == stack - 300 * PG


def test_max_map_count_limits() -> None:
    kernel = Kernel(max_map_count=10)
    mm = kernel.spawn().mm
    for i in range(10):  # alternate protections so nothing merges
        mm.mmap(BASE + 2 * i * PG, PG, PROT_READ if i % 2 else RW, ANON | MAP_FIXED)
    assert mm.map_count == 10
    # do_mmap fails only when map_count > max: one more mapping is allowed.
    mm.mmap(BASE + 100 * PG, 3 * PG, RW, ANON | MAP_FIXED)
    assert mm.map_count == 11
    expect_errno("ENOMEM", lambda: mm.mmap(BASE + 200 * PG, PG, RW, ANON | MAP_FIXED))
    # munmap needing two splits fails; at an edge (one split) it is allowed.
    expect_errno("ENOMEM", lambda: mm.munmap(BASE + 101 * PG, PG))
    mm.munmap(BASE + 102 * PG, PG)
    # split_vma refuses at map_count >= max; mprotect's first split may stay.
    kernel.max_map_count = 100
    mm.mmap(BASE + 300 * PG, 4 * PG, RW, ANON | MAP_FIXED)
    count = mm.map_count
    kernel.max_map_count = count + 1
    expect_errno("ENOMEM", lambda: mm.mprotect(BASE + 301 * PG, PG, PROT_READ))
    assert mm.map_count == count + 1  # the front split persisted
    assert f"{BASE + 301 * PG:x}-{BASE + 304 * PG:x} rw-p" in mm.maps()
    mm._check()


def test_mremap_grow_shrink_move(proc: Process) -> None:
    mm = proc.mm
    a = mm.mmap(BASE, 2 * PG, RW, ANON | MAP_FIXED)
    assert mm.mremap(a, 2 * PG, 4 * PG, 0) == a  # grow in place
    mm.mmap(a + 4 * PG, PG, PROT_READ, ANON | MAP_FIXED)  # blocker
    expect_errno("ENOMEM", lambda: mm.mremap(a, 4 * PG, 6 * PG, 0))
    moved = mm.mremap(a, 4 * PG, 6 * PG, MREMAP_MAYMOVE)
    assert moved != a
    assert lines(mm)[0] == "100000004000-100000005000 r--p 00000000 00:00 0 "
    assert mm.mremap(moved, 6 * PG, 2 * PG, 0) == moved  # shrink
    expect_errno("EFAULT", lambda: mm.mremap(BASE + 4 * PG, 2 * PG, 3 * PG, MREMAP_MAYMOVE))
    # An unfaulted anonymous VMA moved next to a compatible one merges (pgoff reset).
    x = mm.mmap(BASE + 64 * PG, 2 * PG, RW, ANON | MAP_FIXED)
    y = mm.mmap(BASE + 128 * PG, 2 * PG, RW, ANON | MAP_FIXED)
    assert mm.mremap(y, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, x + 2 * PG) == x + 2 * PG
    assert "100000040000-100000044000 rw-p" in mm.maps()
    mm._check()


def test_brk_grows_shrinks_and_never_fails_with_errno() -> None:
    proc = Kernel().spawn(layout="typical")
    mm = proc.mm
    start = mm.brk(0)
    assert start == mm.cur_brk
    grown = mm.brk(start + 5 * PG)
    assert grown == start + 5 * PG
    heap = [line for line in lines(mm) if line.endswith("[heap]")]
    assert heap == [f"555555560000-{start + 5 * PG:x} rw-p 00000000 00:00 0{' ' * 26}[heap]"]
    assert mm.brk(1) == grown  # below start_brk: unchanged, no errno
    assert mm.brk(start) == start
    mm._check()


def test_exit_frees_everything_after_a_grace_period() -> None:
    kernel = Kernel()
    proc = kernel.spawn(layout="typical")
    vmas = proc.mm.vmas()
    kernel.exit(proc.pid)
    kernel.rcu.barrier()
    for vma in vmas:
        assert vma.freed and vma.vm_start == vma.vm_end == POISON_ADDR
        with pytest.raises(UseAfterFree, match="use after free"):
            check_live(vma, "a test")
    assert proc.mm.map_count == 0
    assert proc.mm.maps().count("\n") == 1


def test_prot_none_and_exec_perms_strings(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, PG, PROT_NONE, ANON | MAP_FIXED)
    mm.mmap(BASE + PG, PG, PROT_READ | PROT_EXEC, ANON | MAP_FIXED)
    mm.mmap(BASE + 2 * PG, PG, PROT_WRITE, ANON | MAP_FIXED)
    assert [line.split()[1] for line in lines(mm)] == ["---p", "r-xp", "-w-p"]
