"""Races between the two sides of a fork that share populated memory as runs
(core/pages.py ``RunGroup``): one mm's COW fault, parked under its VMA lock
(``fault:after_vma_lock``), against the other mm's munmap or exit, or its own write
fault on the same page; and a munmap parked after gathering its VMAs
(``munmap:before_clear``) against the other side's COW fault.

Each mm has its own locks, so nothing orders the two but the machine's page lock, held
for a few dict operations at a time (mm/memory.c ``do_wp_page`` under the PTE lock,
``wp_can_reuse_anon_folio``): a write fault reuses a folio nobody else maps any more and
copies one still mapped elsewhere. Each test checks the fault's outcome, the machine's
resident pages, both sides' smaps_rollup and ``Kernel._check()``. Waits go through the
pause registry; every join has a deadline (tests.concurrency).
"""

from __future__ import annotations

from core import (
    MAP_ANONYMOUS,
    MAP_POPULATE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Process,
    render_smaps_rollup,
)
from tests.concurrency import spawn

PG = PAGE_SIZE
N = 64
KB = N * PG // 1024


def _field(text: str, name: str) -> int:
    return sum(int(line.split()[1]) for line in text.splitlines() if line.startswith(name + ":"))


def _forked_heap() -> tuple[Kernel, Process, Process, int]:
    """A parent with ``N`` populated pages (one run) and its child sharing them."""
    kernel = Kernel()
    parent = kernel.spawn()
    base = parent.mm.mmap(
        0, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE
    )
    child = kernel.fork(parent.pid)
    assert kernel.resident[0] == N and _field(render_smaps_rollup(child.mm), "Shared_Dirty") == KB
    return kernel, parent, child, base


def _private(proc: Process, kb: int) -> None:
    """Every page of ``proc`` is mapped once (Private_Dirty, Pss = Rss = ``kb``)."""
    rollup = render_smaps_rollup(proc.mm)
    assert (_field(rollup, "Rss"), _field(rollup, "Pss")) == (kb, kb), rollup
    assert (_field(rollup, "Private_Dirty"), _field(rollup, "Shared_Dirty")) == (kb, 0), rollup


def test_a_parked_cow_fault_reuses_the_page_after_the_other_side_exits() -> None:
    kernel, parent, child, base = _forked_heap()
    child.mm.pauses.arm("fault:after_vma_lock")
    fault = spawn(child.mm.fault, base + 5 * PG, "write")
    child.mm.pauses.wait_for_hold("fault:after_vma_lock")
    kernel.exit(parent.pid)  # the folios are the child's alone now (mapcount 1)
    child.mm.pauses.release("fault:after_vma_lock")
    r = fault.result()
    assert (r.describe(), r.page) == ("ok", "anon")  # wp_can_reuse_anon_folio: no copy
    assert kernel.resident[0] == N
    _private(child, KB)
    kernel._check()


def test_a_parked_cow_fault_reuses_the_page_after_the_other_side_unmaps_it() -> None:
    kernel, parent, child, base = _forked_heap()
    parent.mm.pauses.arm("fault:after_vma_lock")
    fault = spawn(parent.mm.fault, base + 7 * PG, "write")
    parent.mm.pauses.wait_for_hold("fault:after_vma_lock")
    child.mm.munmap(base + 4 * PG, 8 * PG)  # the child's share of pages 4..11 goes
    parent.mm.pauses.release("fault:after_vma_lock")
    r = fault.result()
    assert (r.describe(), r.page) == ("ok", "anon")
    assert kernel.resident[0] == N
    rollup = render_smaps_rollup(parent.mm)
    assert _field(rollup, "Private_Dirty") == 8 * 4 and _field(rollup, "Shared_Dirty") == KB - 32
    child_rollup = render_smaps_rollup(child.mm)
    assert _field(child_rollup, "Rss") == KB - 32 and _field(child_rollup, "Private_Dirty") == 0
    kernel._check()


def test_the_second_writer_of_a_shared_page_reuses_what_the_first_left() -> None:
    kernel, parent, child, base = _forked_heap()
    addr = base + 9 * PG
    parent.mm.pauses.arm("fault:after_vma_lock")
    fault = spawn(parent.mm.fault, addr, "write")
    parent.mm.pauses.wait_for_hold("fault:after_vma_lock")
    first = child.mm.fault(addr, "write")
    assert first.page == "cow" and kernel.resident[0] == N + 1  # still mapped twice: copy
    parent.mm.pauses.release("fault:after_vma_lock")
    r = fault.result()
    assert (r.describe(), r.page) == ("ok", "anon")  # the old folio is the parent's alone
    assert kernel.resident[0] == N + 1
    for proc in (parent, child):
        rollup = render_smaps_rollup(proc.mm)
        assert _field(rollup, "Private_Dirty") == 4 and _field(rollup, "Shared_Dirty") == KB - 4
    kernel._check()


def test_a_cow_fault_during_the_other_sides_parked_munmap_copies() -> None:
    kernel, parent, child, base = _forked_heap()
    parent.mm.pauses.arm("munmap:before_clear")
    unmap = spawn(parent.mm.munmap, base, N * PG)
    parent.mm.pauses.wait_for_hold("munmap:before_clear")
    # The parent's VMA is detached but its PTEs still map every folio: mapcount 2.
    r = child.mm.fault(base + 3 * PG, "write")
    assert (r.describe(), r.page) == ("ok", "cow") and kernel.resident[0] == N + 1
    parent.mm.pauses.release("munmap:before_clear")
    unmap.result()
    assert kernel.resident[0] == N  # the copied page's old folio went with the zap
    _private(child, KB)
    assert parent.mm.get_rss() == 0
    kernel._check()
