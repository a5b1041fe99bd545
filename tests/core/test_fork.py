"""fork(): copy-on-write, shared mappings, counters and anon_vma inheritance
(kernel/fork.c ``dup_mmap``, mm/vma.c ``is_mergeable_anon_vma``)."""

from __future__ import annotations

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    NoSuchProcess,
)
from core.constants import VM_DONTCOPY, VM_WIPEONFORK
from core.pages import MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, Page
from core.vma_lock import vma_start_write

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
BASE = 0x200000000000


def _page(mm: Mm, addr: int) -> Page | None:
    vma = mm.vma_lookup(addr)
    return None if vma is None or vma.pages is None else vma.pages.get(addr)


def test_private_pages_become_cow_in_both():
    kernel = Kernel()
    parent = kernel.spawn()
    a = parent.mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    parent.mm.fault(a, "write")
    parent.mm.fault(a + PG, "write")
    child = parent.fork()
    assert child.pid != parent.pid and child.mm.maps() == parent.mm.maps()
    shared = _page(parent.mm, a)
    assert shared is not None and shared is _page(child.mm, a) and shared.mapcount == 2
    assert child.mm.rss_stat[MM_ANONPAGES] == 2
    r = child.mm.fault(a, "write")
    assert r.page == "cow"  # the child copies
    assert _page(child.mm, a) is not shared and shared.mapcount == 1
    assert parent.mm.fault(a, "write").page == "anon"  # the parent's is exclusive again
    assert parent.mm.fault(a + PG, "write").page == "cow"
    assert child.mm.fault(a + PG, "write").page == "anon"
    assert parent.mm.rss_stat[MM_ANONPAGES] == child.mm.rss_stat[MM_ANONPAGES] == 2
    parent.mm._check()
    child.mm._check()


def test_shared_mappings_stay_shared_and_are_not_copied():
    kernel = Kernel()
    parent = kernel.spawn()
    s = parent.mm.mmap(BASE, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    fd = parent.open("/data/f", O_RDWR, size=2 * PG)
    f = parent.mm.mmap(BASE + 16 * PG, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0)
    parent.mm.fault(s, "write")
    parent.mm.fault(f, "read")
    child = parent.fork()
    # vma_needs_copy(): no anon_vma -> no page tables copied; the child faults lazily.
    assert child.mm.get_rss() == 0
    assert child.mm.fault(s, "read").page == "shmem"
    assert _page(child.mm, s) is _page(parent.mm, s)  # the same shmem page
    assert child.mm.fault(f, "read").page == "file"
    assert _page(child.mm, f).mapcount == 2  # type: ignore[union-attr]
    assert (child.mm.rss_stat[MM_SHMEMPAGES], child.mm.rss_stat[MM_FILEPAGES]) == (1, 2)
    assert child.files.items()[0][1] is parent.files.items()[0][1]  # fd table copied
    child.mm._check()


def test_counters_and_high_water_marks_after_fork():
    kernel = Kernel()
    parent = kernel.spawn()
    a = parent.mm.mmap(BASE, 8 * PG, RW, ANON | MAP_FIXED)
    for i in range(8):
        parent.mm.fault(a + i * PG, "write")
    parent.mm.munmap(a, 6 * PG)
    child = parent.fork()
    assert (child.mm.total_vm, child.mm.data_vm) == (parent.mm.total_vm, parent.mm.data_vm)
    assert parent.mm.hiwater_rss == 8 and child.mm.hiwater_rss == 2  # dup_mm() resets
    assert child.mm.map_count == 1 and child.mm.min_flt == 0


def test_dontcopy_and_wipeonfork():
    kernel = Kernel()
    parent = kernel.spawn()
    mm = parent.mm
    d = mm.mmap(BASE, 2 * PG, RW, ANON | MAP_FIXED)
    w = mm.mmap(BASE + 16 * PG, 2 * PG, RW, ANON | MAP_FIXED)
    mm.fault(d, "write")
    mm.fault(w, "write")
    mm.mmap_lock.write_lock()  # what madvise(MADV_DONTFORK / MADV_WIPEONFORK) does
    for addr, flag in ((d, VM_DONTCOPY), (w, VM_WIPEONFORK)):
        vma = mm.vma_lookup(addr)
        assert vma is not None
        vma_start_write(mm.mmap_lock, vma)
        vma.set_flags(vma.vm_flags | flag)
    mm.mmap_lock.write_unlock()
    child = parent.fork()
    assert child.mm.vma_lookup(d) is None and child.mm.total_vm == 2
    wiped = child.mm.vma_lookup(w)
    assert wiped is not None and wiped.pages is None and wiped.anon_vma is None
    assert child.mm.get_rss() == 0
    child.mm._check()


def test_merges_after_fork_follow_uncowed_parents_rule():
    # Checked on the 6.18 host (Python + ctypes): in the child a new VMA next to an
    # inherited faulted VMA does not merge; in the parent it does (``is_mergeable_anon_vma``).
    kernel = Kernel()
    parent = kernel.spawn()
    a = parent.mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    parent.mm.fault(a, "write")
    child = parent.fork()
    for proc, expected in ((child, 2), (parent, 1)):
        mm = proc.mm
        mm.mmap(BASE + 4 * PG, 2 * PG, RW, ANON | MAP_FIXED)
        assert mm.map_count == expected
        mm.mmap(BASE + 6 * PG, 2 * PG, RW | PROT_EXEC, ANON | MAP_FIXED)
        mm.fault(BASE + 6 * PG, "write")
        mm.mprotect(BASE + 6 * PG, 2 * PG, RW)
        mm._check()
    assert child.mm.maps().splitlines()[:2] == [
        "200000000000-200000004000 rw-p 00000000 00:00 0 ",
        "200000004000-200000008000 rw-p 00000000 00:00 0 ",
    ]
    assert parent.mm.maps().splitlines()[0] == "200000000000-200000008000 rw-p 00000000 00:00 0 "
    # A VMA faulted in the child next to the inherited one gets its own anon_vma.
    inherited = child.mm.vma_lookup(a)
    assert inherited is not None and inherited.anon_vma is not None and inherited.anon_vma.forked


def test_fork_of_missing_process():
    with pytest.raises(NoSuchProcess, match=r"^no process with pid 4242$"):
        Kernel().fork(4242)
