"""MAP_HUGETLB on a machine with empty huge page pools (core/mmap.py): the failures the
6.18 host gives (the fixed trace ``hugetlb_empty_pool`` of tests/differential/fixed_traces.py
compares them op by op), and the one success the simulator refuses instead."""

from __future__ import annotations

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    O_RDWR,
    PROT_READ,
    PROT_WRITE,
    InvalidArgument,
    Kernel,
    Process,
)
from tests.core.test_mlock import expect_errno

PG = 4096
HUGE = 2 << 20
MAP_HUGETLB = 0x40000
MAP_HUGE_1GB = 30 << 26
RW = PROT_READ | PROT_WRITE
ANON_HUGE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB
BASE = 0x100000000000


@pytest.fixture
def proc() -> Process:
    return Kernel().spawn()


def test_an_empty_pool_is_enomem_and_a_fixed_call_leaves_a_hole(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    # The length is rounded up to 2 MiB; the old pages go before the hook fails.
    expect_errno("ENOMEM", lambda: mm.mmap(BASE, PG, RW, ANON_HUGE | MAP_FIXED))
    assert mm.vma_lookup(BASE) is None
    expect_errno("ENOMEM", lambda: mm.mmap(0, HUGE, RW, ANON_HUGE | MAP_HUGE_1GB))
    mm._check()


@pytest.mark.parametrize(
    ("addr", "flags", "offset"),
    [
        (BASE + PG, ANON_HUGE | MAP_FIXED, 0),  # not huge-page aligned
        (0, ANON_HUGE | (19 << 26), 0),  # no 512 KiB huge pages
        (BASE, ANON_HUGE | MAP_FIXED, PG),  # offset not huge-page aligned
    ],
)
def test_unaligned_or_unknown_sizes_are_einval(
    proc: Process, addr: int, flags: int, offset: int
) -> None:
    expect_errno("EINVAL", lambda: proc.mm.mmap(addr, HUGE, RW, flags, -1, offset))


def test_map_hugetlb_on_a_regular_file_is_einval(proc: Process) -> None:
    fd = proc.open("/tmp/not-hugetlbfs", O_RDWR, size=HUGE)
    expect_errno("EINVAL", lambda: proc.mm.mmap(0, HUGE, RW, MAP_PRIVATE | MAP_HUGETLB, fd))


def test_noreserve_would_map_a_hugetlbfs_vma_and_is_refused_changing_nothing(
    proc: Process,
) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    before = mm.maps()
    with pytest.raises(InvalidArgument, match="hugetlbfs VMA"):
        mm.mmap(BASE, HUGE, RW, ANON_HUGE | MAP_FIXED | MAP_NORESERVE)
    assert mm.maps() == before
    mm._check()
