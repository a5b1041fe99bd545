"""The machine's RAM bounds its resident pages across every process (issue 18 item 8).

``Kernel.resident`` counts the pages at least one PTE maps (``core.pages``: mapcount
0 -> 1 and back), so a page shared by fork or a file page mapped by two processes
counts once, as physical memory does. A fault that needs a new page when the machine's
``ram_pages`` are all resident raises ``ResidentLimitExceeded`` (``machine`` True)
before anything changes. ``Kernel._check()`` recounts the distinct pages after each
step.
"""

from __future__ import annotations

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
)
from core.errors import ResidentLimitExceeded

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

pytestmark = pytest.mark.timeout(60)


def _machine(ram_pages: int) -> Kernel:
    kernel = Kernel()
    # Always overcommit: the test is about resident pages, not the commit charge.
    kernel.configure(ram_pages=ram_pages, overcommit_memory=1)
    return kernel


def test_ram_bounds_resident_pages_across_processes() -> None:
    kernel = _machine(6)
    one, two = kernel.spawn(), kernel.spawn()
    a = one.mm.mmap(0, 4 * PG, RW, ANON)
    b = two.mm.mmap(0, 4 * PG, RW, ANON)
    for i in range(4):
        one.mm.fault(a + i * PG, "write")
    two.mm.fault(b, "write")
    two.mm.fault(b + PG, "write")
    assert kernel.resident == [6]
    kernel._check()
    before = (list(two.mm.rss_stat), two.mm.min_flt, two.mm.maps())
    with pytest.raises(ResidentLimitExceeded, match=r"machine's RAM of 6 pages") as info:
        two.mm.fault(b + 2 * PG, "write")
    assert info.value.machine and info.value.limit == 6
    assert (list(two.mm.rss_stat), two.mm.min_flt, two.mm.maps()) == before
    assert two.mm.fault(b + 3 * PG, "read").page == "zero"  # the zero page is free
    # Unmapping frees pages: the other process can fault again.
    one.mm.munmap(a, 2 * PG)
    assert kernel.resident == [4]
    two.mm.fault(b + 2 * PG, "write")
    kernel.exit(one.pid)
    assert kernel.resident == [3]
    kernel._check()


def test_fork_shares_pages_and_cow_allocates() -> None:
    kernel = _machine(5)
    parent = kernel.spawn()
    a = parent.mm.mmap(0, 4 * PG, RW, ANON)
    for i in range(4):
        parent.mm.fault(a + i * PG, "write")
    child = kernel.fork(parent.pid)
    assert kernel.resident == [4]  # shared by both: resident once
    child.mm.fault(a, "write")  # a COW break: one new page
    assert kernel.resident == [5]
    with pytest.raises(ResidentLimitExceeded) as info:
        child.mm.fault(a + PG, "write")
    assert info.value.machine
    # The parent's write to a page the child still shares copies too: also refused;
    # once the child exits, the parent's pages are its own again (reused, no copy).
    with pytest.raises(ResidentLimitExceeded):
        parent.mm.fault(a + PG, "write")
    kernel.exit(child.pid)
    assert kernel.resident == [4]
    parent.mm.fault(a + PG, "write")
    assert kernel.resident == [4]
    kernel._check()


def test_file_pages_count_once_and_fault_around_stops_at_ram() -> None:
    kernel = _machine(3)
    procs = [kernel.spawn(), kernel.spawn()]
    addrs = []
    for proc in procs:
        fd = proc.open("/data", O_RDWR, size=16 * PG)
        addrs.append(proc.mm.mmap(0, 16 * PG, RW, MAP_SHARED, fd=fd))
    procs[0].mm.fault(addrs[0], "read")  # fault-around maps what fits: 3 pages
    assert procs[0].mm.get_rss() == 3 and kernel.resident == [3]
    procs[1].mm.fault(addrs[1], "read")  # the same cached pages: nothing new
    assert procs[1].mm.get_rss() == 3 and kernel.resident == [3]
    kernel._check()
    with pytest.raises(ResidentLimitExceeded):
        procs[1].mm.fault(addrs[1] + 8 * PG, "read")
    kernel._check()


def test_ram_setting_is_validated_and_checkpointed(tmp_path: object) -> None:
    from core.checkpoint import dump_kernel, load_kernel

    kernel = _machine(64)
    proc = kernel.spawn()
    a = proc.mm.mmap(0, 8 * PG, RW, ANON)
    for i in range(8):
        proc.mm.fault(a + i * PG, "write")
    kernel.fork(proc.pid)
    again = load_kernel(dump_kernel(kernel))
    assert again.resident == kernel.resident == [8]
    again._check()
