"""MAP_DROPPABLE (core/mmap.py ``do_mmap``): private anonymous memory the kernel may drop
instead of swapping, what glibc 2.41 and Go 1.24 map for the vDSO ``getrandom()`` state.
Every expectation was first seen on the 6.18 host (the fixed trace ``droppable`` of
tests/differential/madvise_fixed.py compares the same cases op by op with the kernel);
these run without it, in both engines, and name the kernel function that decides."""

from __future__ import annotations

import re

import pytest

from core import (
    MADV_DODUMP,
    MADV_DONTNEED,
    MADV_FREE,
    MADV_KEEPONFORK,
    MADV_MERGEABLE,
    MADV_PAGEOUT,
    MAP_ANONYMOUS,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_GROWSDOWN,
    MAP_LOCKED,
    MAP_PRIVATE,
    MAP_SHARED,
    MCL_CURRENT,
    MCL_FUTURE,
    O_RDWR,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    Process,
    render_smaps,
    render_status_memory,
)
from tests.core.test_mlock import expect_errno

PG = 4096
RW = PROT_READ | PROT_WRITE
DROP = MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED
PRIV = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
BASE = 0x100000000000
DROP_FLAGS = "rd wr mr mw me nr wf dd dp"


@pytest.fixture
def proc() -> Process:
    return Kernel().spawn()


def vmas(mm: Mm) -> list[tuple[int, int, str, dict[str, int]]]:
    """(start page, end page, VmFlags, the kB fields) per VMA of the arena."""
    out = []
    for block in re.split(r"\n(?=[0-9a-f]+-)", render_smaps(mm)):
        start, end = (int(x, 16) for x in block.split(" ", 1)[0].split("-"))
        if not BASE <= start < 1 << 47:
            continue
        fields = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", block, re.M)}
        flags = re.search(r"^VmFlags: (.*?) ?$", block, re.M)
        assert flags is not None
        out.append(((start - BASE) // PG, (end - BASE) // PG, flags.group(1), fields))
    mm._check()
    return out


def test_a_droppable_mapping_is_private_anonymous_never_charged_wiped_and_not_dumped(
    proc: Process,
) -> None:
    mm = proc.mm
    committed = mm.kernel.commit.committed
    assert mm.mmap(BASE, 4 * PG, RW, DROP) == BASE
    assert mm.mmap(BASE + 4 * PG, 4 * PG, RW, DROP) == BASE + 4 * PG  # merges
    mm.mmap(BASE + 8 * PG, 2 * PG, RW, PRIV)  # other flags: a VMA of its own
    assert [(s, e, f) for s, e, f, _ in vmas(mm)] == [
        (0, 8, DROP_FLAGS),
        (8, 10, "rd wr mr mw me ac"),
    ]
    assert "100000000000-100000008000 rw-p 00000000 00:00 0" in mm.maps()
    # VM_NORESERVE: only the private mapping is charged.
    assert mm.kernel.commit.committed - committed == 2


@pytest.mark.parametrize(
    ("flags", "why"),
    [
        (DROP | MAP_LOCKED, "MAP_LOCKED"),
        (DROP | MAP_GROWSDOWN, "MAP_GROWSDOWN"),
        (DROP | MAP_SHARED, "type 0x9"),
    ],
)
def test_droppable_memory_cannot_be_locked_grow_down_or_shared(
    proc: Process, flags: int, why: str
) -> None:
    expect_errno("EINVAL", lambda: proc.mm.mmap(BASE, PG, RW, flags))
    assert vmas(proc.mm) == [], why


def test_a_droppable_file_mapping_is_einval(proc: Process) -> None:
    # do_mmap(): MAP_DROPPABLE is a mapping type of anonymous memory only.
    fd = proc.open("/tmp/droppable", O_RDWR, size=PG)
    expect_errno("EINVAL", lambda: proc.mm.mmap(BASE, PG, RW, MAP_DROPPABLE | MAP_FIXED, fd))
    assert vmas(proc.mm) == []


def test_mlock_populates_droppable_memory_but_never_locks_it(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, DROP)
    mm.mlock(BASE, 4 * PG)  # mlock_fixup(): !vma_supports_mlock(); the populate runs
    ((_, _, flags, fields),) = vmas(mm)
    assert flags == DROP_FLAGS
    assert (fields["Rss"], fields["Private_Dirty"], fields["Locked"]) == (16, 16, 0)
    assert mm.locked_vm == 0


def test_under_mcl_future_droppable_mappings_are_populated_unlocked_and_unmerged(
    proc: Process,
) -> None:
    """__mmap_region() tries the merge with MCL_FUTURE's VM_LOCKED, which no droppable
    VMA has; __mmap_complete() then drops VM_LOCKED again, uncounted."""
    mm = proc.mm
    mm.mlockall(MCL_CURRENT | MCL_FUTURE)
    mm.mmap(BASE, 2 * PG, RW, DROP)
    mm.mmap(BASE + 2 * PG, 2 * PG, RW, DROP)
    assert [(s, e, f, fl["Rss"]) for s, e, f, fl in vmas(mm)] == [
        (0, 2, DROP_FLAGS, 8),
        (2, 4, DROP_FLAGS, 8),
    ]
    assert re.search(r"^VmLck:\s+0 kB", render_status_memory(mm), re.M)
    mm.munlockall()
    mm.mmap(BASE + 4 * PG, 2 * PG, RW, DROP)  # without VM_LOCKED it merges
    assert [(s, e) for s, e, _, _ in vmas(mm)] == [(0, 2), (2, 6)]


def test_keeponfork_and_dodump_are_einval_and_mergeable_is_ignored(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, DROP)
    expect_errno("EINVAL", lambda: mm.madvise(BASE, 4 * PG, MADV_KEEPONFORK))
    expect_errno("EINVAL", lambda: mm.madvise(BASE, 4 * PG, MADV_DODUMP))
    mm.madvise(BASE, 4 * PG, MADV_MERGEABLE)  # vma_ksm_compatible() refuses: no "mg"
    assert [f for _, _, f, _ in vmas(mm)] == [DROP_FLAGS]


def test_droppable_pages_are_never_swap_backed(proc: Process) -> None:
    """folio_add_new_anon_rmap() leaves them without PG_swapbacked: MADV_FREE makes a
    page LazyFree at once (no lru_lazyfree batch to drain), reclaim drops dirty ones."""
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, DROP)
    for page in range(4):
        assert mm.fault(BASE + page * PG, "write").ok
    mm.madvise(BASE, PG, MADV_FREE)
    ((_, _, _, fields),) = vmas(mm)
    assert (fields["Rss"], fields["LazyFree"], fields["Private_Clean"]) == (16, 4, 4)
    mm.madvise(BASE + PG, PG, MADV_PAGEOUT)  # dirty, yet dropped: no swap needed
    ((_, _, _, fields),) = vmas(mm)
    assert (fields["Rss"], fields["Swap"], fields["LazyFree"]) == (12, 0, 4)
    mm.madvise(BASE, 4 * PG, MADV_DONTNEED)
    assert vmas(mm)[0][3]["Rss"] == 0


def test_a_fork_child_gets_droppable_memory_empty(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 2 * PG, RW, DROP)
    assert mm.fault(BASE, "write").ok
    child = proc.fork()
    assert [(s, e, f, fl["Rss"]) for s, e, f, fl in vmas(child.mm)] == [(0, 2, DROP_FLAGS, 0)]
    assert vmas(mm)[0][3]["Rss"] == 4
