"""mseal(2) (core/mseal.py): what sealing refuses, where, and the partial effects the
6.18 host showed for each (tests/differential's ``mseal`` fixed traces replay the same
experiments on the running kernel)."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    O_RDONLY,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    VM_SEALED,
    Kernel,
    Mm,
    Process,
    SyscallError,
    render_smaps,
)
from core.mseal import can_modify_vma_madvise, is_madv_discard

PG = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
FIXED = ANON | MAP_FIXED
BASE = 0x100000000000
MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK = 4, 8, 9, 10, 11
MADV_WIPEONFORK, MADV_DONTNEED_LOCKED, MADV_GUARD_INSTALL, MADV_HUGEPAGE = 18, 24, 102, 14


@pytest.fixture
def proc() -> Process:
    return Kernel().spawn()


def expect_errno(name: str, call: Callable[[], object]) -> None:
    with pytest.raises(SyscallError) as info:
        call()
    assert info.value.name == name and info.value.errno == getattr(errno, name), str(info.value)


def layout(mm: Mm) -> list[tuple[int, int, str, bool]]:
    """(start page, end page, perms, sealed) per VMA, relative to BASE."""
    mm._check()
    return [
        (
            (v.vm_start - BASE) // PG,
            (v.vm_end - BASE) // PG,
            "".join(c if v.vm_flags & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4))),
            bool(v.vm_flags & VM_SEALED),
        )
        for v in mm.vmas()
    ]


def test_seal_splits_shows_sl_and_merges_with_sealed_neighbours(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mseal(BASE + 4 * PG, 2 * PG)
    assert layout(mm) == [(0, 4, "rw-", False), (4, 6, "rw-", True), (6, 16, "rw-", False)]
    assert "VmFlags: rd wr mr mw me ac sl \n" in render_smaps(mm)
    mm.mseal(BASE + 6 * PG, PG)  # same flags once sealed: merges
    assert layout(mm)[1] == (4, 7, "rw-", True)
    mm.mseal(BASE + 4 * PG, 2 * PG)  # sealing again changes nothing
    mm.mmap(BASE + 16 * PG, PG, RW, FIXED)  # a new neighbour does not merge with it...
    mm.mseal(BASE + 16 * PG, PG)
    assert layout(mm)[-1] == (16, 17, "rw-", True)  # ...until sealed, unlike here (gap)


def test_seal_errors_change_nothing(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mmap(BASE + 8 * PG, 4 * PG, RW, FIXED)
    before = layout(mm)
    expect_errno("EINVAL", lambda: mm.mseal(BASE, PG, 1))
    expect_errno("EINVAL", lambda: mm.mseal(BASE + 1, PG))
    expect_errno("EINVAL", lambda: mm.mseal(BASE, -PG + 1))  # rounds up to 0: wraps
    expect_errno("ENOMEM", lambda: mm.mseal(BASE, 12 * PG))  # a hole in the middle
    expect_errno("ENOMEM", lambda: mm.mseal(BASE + 20 * PG, PG))  # nothing there
    expect_errno("ENOMEM", lambda: mm.mseal(BASE + 8 * PG, 8 * PG))  # a hole at the end
    mm.mseal(BASE, 0)
    assert layout(mm) == before


def test_munmap_refused_keeps_the_start_split(proc: Process) -> None:
    # vms_gather_munmap_vmas(): the first VMA is split before the sealed one is met.
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mseal(BASE + 4 * PG, 2 * PG)
    expect_errno("EPERM", lambda: mm.munmap(BASE + 4 * PG, PG))
    expect_errno("EPERM", lambda: mm.munmap(BASE + 2 * PG, 4 * PG))
    assert layout(mm) == [
        (0, 2, "rw-", False),
        (2, 4, "rw-", False),
        (4, 6, "rw-", True),
        (6, 16, "rw-", False),
    ]
    # A sealed first VMA is checked before its split: nothing changes.
    expect_errno("EPERM", lambda: mm.munmap(BASE + 5 * PG, 4 * PG))
    assert len(layout(mm)) == 4
    # MAP_FIXED over it goes through the same gather.
    expect_errno("EPERM", lambda: mm.mmap(BASE + 3 * PG, 2 * PG, PROT_READ, FIXED))
    mm.munmap(BASE + 6 * PG, 10 * PG)  # the rest can go


def test_mprotect_refused_after_earlier_vmas_changed(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mseal(BASE + 8 * PG, 2 * PG)
    expect_errno("EPERM", lambda: mm.mprotect(BASE, 16 * PG, PROT_READ))
    assert layout(mm) == [(0, 8, "r--", False), (8, 10, "rw-", True), (10, 16, "rw-", False)]
    # Even a protection it already has is refused (checked before "nothing changes").
    expect_errno("EPERM", lambda: mm.mprotect(BASE + 8 * PG, PG, RW))
    expect_errno("EPERM", lambda: mm.mprotect(BASE + 8 * PG, PG, RW | PROT_EXEC))


def test_mprotect_checks_access_before_the_seal(proc: Process) -> None:
    mm = proc.mm
    fd = proc.open("/tmp/f", O_RDONLY, size=4 * PG)
    mm.mmap(BASE, 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd)
    mm.mseal(BASE, 2 * PG)
    expect_errno("EACCES", lambda: mm.mprotect(BASE, 2 * PG, RW))
    expect_errno("EPERM", lambda: mm.mprotect(BASE, 2 * PG, PROT_READ | PROT_EXEC))


def test_mremap_refused_for_sealed_sources_and_destinations(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 2 * PG, RW, FIXED)
    mm.mmap(BASE + 2 * PG, 2 * PG, PROT_READ, FIXED)
    mm.mseal(BASE + 2 * PG, 2 * PG)
    move = MREMAP_MAYMOVE | MREMAP_FIXED
    expect_errno("EPERM", lambda: mm.mremap(BASE + 2 * PG, 2 * PG, 4 * PG, MREMAP_MAYMOVE))
    expect_errno("EPERM", lambda: mm.mremap(BASE + 2 * PG, 4 * PG, PG, 0))  # shrink too
    expect_errno("EPERM", lambda: mm.mremap(BASE, 2 * PG, 2 * PG, move, BASE + 2 * PG))
    # A multi-VMA move moves the VMAs before the sealed one (check_prep_vma per VMA).
    expect_errno("EPERM", lambda: mm.mremap(BASE, 4 * PG, 4 * PG, move, BASE + 64 * PG))
    assert layout(mm) == [(2, 4, "r--", True), (64, 66, "rw-", False)]


def test_brk_cannot_shrink_over_a_sealed_heap(proc: Process) -> None:
    mm = proc.mm
    start = mm.cur_brk
    assert mm.brk(start + 4 * PG) == start + 4 * PG
    mm.mseal(start, 4 * PG)
    assert mm.brk(start) == start + 4 * PG  # refused: the old break
    assert mm.brk(start + 8 * PG) == start + 8 * PG  # growth is fine (a new VMA)
    assert [bool(v.vm_flags & VM_SEALED) for v in mm.vmas()] == [True, False]


def test_lock_name_and_fork_are_not_restricted(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mseal(BASE, 4 * PG)
    mm.mlock(BASE, 4 * PG)
    mm.munlock(BASE, 2 * PG)
    mm.set_anon_name(BASE, PG, "sealed")
    child = proc.fork()
    assert [bool(v.vm_flags & VM_SEALED) for v in child.mm.vmas()] == [True, True, True]
    expect_errno("EPERM", lambda: child.mm.munmap(BASE, PG))
    child.mm._check()


@pytest.mark.parametrize(
    ("advice", "discards"),
    [
        (MADV_DONTNEED, True),
        (MADV_FREE, True),
        (MADV_REMOVE, True),
        (MADV_DONTFORK, True),
        (MADV_WIPEONFORK, True),
        (MADV_DONTNEED_LOCKED, True),
        (MADV_GUARD_INSTALL, True),
        (MADV_DOFORK, False),
        (MADV_HUGEPAGE, False),
    ],
)
def test_madvise_hook_follows_can_madvise_modify(
    proc: Process, advice: int, discards: bool
) -> None:
    mm = proc.mm
    mm.mmap(BASE, PG, PROT_READ, FIXED)  # read-only anonymous
    mm.mmap(BASE + PG, PG, RW, FIXED | MAP_PRIVATE)  # writable anonymous
    mm.mmap(BASE + 2 * PG, PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)  # shmem
    ro, rw, shm = mm.vmas()
    assert is_madv_discard(advice) is discards
    for vma in (ro, rw, shm):
        assert can_modify_vma_madvise(vma, advice)  # not sealed: always
    mm.mseal(BASE, 3 * PG)
    ro, rw, shm = mm.vmas()
    assert can_modify_vma_madvise(ro, advice) is not discards  # only this one refuses
    assert can_modify_vma_madvise(rw, advice)  # the caller could write it anyway
    assert can_modify_vma_madvise(shm, advice)  # not anonymous: permitted


def test_split_for_a_seal_refused_at_max_map_count(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 8 * PG, RW, FIXED)
    proc.kernel.max_map_count = mm.map_count
    expect_errno("ENOMEM", lambda: mm.mseal(BASE + PG, PG))
    mm.mseal(BASE, 8 * PG)  # no split needed
    assert layout(mm) == [(0, 8, "rw-", True)]
