"""Deterministic races of the fault fast path (``lock_vma_under_rcu``, ``vmf_anon_prepare``).

Each test parks a fault at a named pause point (``mm.pauses``), makes the conflicting
change from the test thread, releases the fault and checks where it completed and the
exact ``vma_lock_*`` counters. Waits go through the pause registry or
``tests.concurrency.wait_until`` on a lock's ``statistics()``: no sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel
from core.vma_lock import vma_start_write
from tests.concurrency import spawn, wait_until

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
BASE = 0x7C0000000000


@pytest.fixture
def mm() -> Iterator[object]:
    mm = Kernel().spawn().mm
    yield mm
    mm.pauses.reset()


def _counts(mm) -> tuple[int, int, int, int]:
    ev = mm.vm_events.statistics()
    return ev.vma_lock_success, ev.vma_lock_abort, ev.vma_lock_retry, ev.vma_lock_miss


def test_miss_then_retry_finds_the_replacement(mm):
    a = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    mm.pauses.arm("fault:after_rcu_walk")
    worker = spawn(mm.fault, a + PG, "write")
    mm.pauses.wait_for_hold("fault:after_rcu_walk")
    old = mm.vma_lookup(a)
    mm.munmap(a, 4 * PG)  # detaches the VMA the fault found
    mm.mmap(a, 4 * PG, RW, ANON | MAP_FIXED)  # a new VMA in its place
    assert old is not None and old.vm_refcnt == 0
    mm.pauses.release("fault:after_rcu_walk")
    r = worker.result()
    assert (r.describe(), r.path, r.misses) == ("ok", "vma_lock", 1)
    assert _counts(mm) == (1, 0, 0, 1)
    mm._check()


def test_miss_then_gap_aborts_to_maperr(mm):
    a = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    mm.pauses.arm("fault:after_rcu_walk")
    worker = spawn(mm.fault, a, "read")
    mm.pauses.wait_for_hold("fault:after_rcu_walk")
    mm.munmap(a, 4 * PG)
    mm.pauses.release("fault:after_rcu_walk")
    r = worker.result()
    assert (r.describe(), r.path, r.misses) == ("SIGSEGV SEGV_MAPERR", "mmap_lock", 1)
    assert _counts(mm) == (0, 1, 0, 1)


def test_write_locked_vma_aborts_and_falls_back_to_mmap_lock(mm):
    a = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    mm.fault(a, "write")  # anon_vma exists: no RETRY involved
    before = _counts(mm)
    mm.pauses.arm("fault:after_rcu_walk")
    worker = spawn(mm.fault, a + PG, "write")
    mm.pauses.wait_for_hold("fault:after_rcu_walk")
    # Act as a writer in the middle of a syscall: mmap_lock for write, VMA write-locked.
    mm.mmap_lock.write_lock()
    vma = mm.vma_lookup(a)
    vma_start_write(mm.mmap_lock, vma)
    mm.pauses.release("fault:after_rcu_walk")
    wait_until(
        lambda: mm.mmap_lock.statistics().rwsem.waiting_readers == 1,
        what="the fault queues on mmap_lock",
    )
    assert _counts(mm) == (before[0], before[1] + 1, 0, 0)
    mm.mmap_lock.write_unlock()
    r = worker.result()
    assert (r.describe(), r.path, r.page) == ("ok", "mmap_lock", "anon")
    assert _counts(mm) == (before[0], before[1] + 1, 0, 0)  # no success on the fallback
    mm._check()


def test_vma_shrunk_between_walk_and_lock_aborts(mm):
    a = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    mm.pauses.arm("fault:after_rcu_walk")
    worker = spawn(mm.fault, a, "read")
    mm.pauses.wait_for_hold("fault:after_rcu_walk")
    # __split_vma(new_below) gives the lower half to a new VMA and shrinks the original
    # object in place: the VMA the walk found no longer covers the address.
    mm.mprotect(a + 2 * PG, 2 * PG, PROT_READ)
    mm.pauses.release("fault:after_rcu_walk")
    r = worker.result()
    assert (r.describe(), r.path, r.vma_start, r.vma_end) == ("ok", "mmap_lock", a, a + 2 * PG)
    assert _counts(mm) == (0, 1, 0, 0)


def test_anon_vma_prepare_retries_when_mmap_lock_is_held(mm):
    a = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    # Another thread holds mmap_lock for write (without touching this VMA): the fault
    # locks the VMA, but anon_vma_prepare's mmap_read_trylock fails -> VM_FAULT_RETRY.
    mm.mmap_lock.write_lock()
    worker = spawn(mm.fault, a, "write")
    wait_until(
        lambda: mm.mmap_lock.statistics().rwsem.waiting_readers == 1,
        what="the retried fault queues on mmap_lock",
    )
    assert _counts(mm) == (0, 0, 1, 0)
    vma = mm.vma_lookup(a)
    assert vma is not None and vma.anon_vma is None and vma.vm_refcnt == 1  # lock dropped
    mm.mmap_lock.write_unlock()
    r = worker.result()
    assert (r.describe(), r.path, r.page, r.major) == ("ok", "retried", "anon", False)
    assert _counts(mm) == (0, 0, 1, 0)
    assert vma.anon_vma is not None and mm.min_flt == 1
    mm._check()


def test_anon_vma_trylock_succeeds_when_only_readers_hold_mmap_lock(mm):
    a = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    mm.pauses.arm("fault:before_anon_trylock")
    worker = spawn(mm.fault, a, "write")
    mm.pauses.wait_for_hold("fault:before_anon_trylock")
    mm.mmap_lock.read_lock()  # a reader (maps) does not make the trylock fail
    mm.pauses.release("fault:before_anon_trylock")
    r = worker.result()
    mm.mmap_lock.read_unlock()
    assert (r.path, r.page) == ("vma_lock", "anon")
    assert _counts(mm) == (1, 0, 0, 0)


def test_writer_waits_for_the_faults_vma_lock(mm):
    # vma_start_write() waits for the reader: munmap cannot detach a VMA a fault holds.
    a = mm.mmap(BASE, 4 * PG, RW, ANON | MAP_FIXED)
    mm.pauses.arm("fault:after_vma_lock")
    worker = spawn(mm.fault, a, "read")
    mm.pauses.wait_for_hold("fault:after_vma_lock")
    unmapper = spawn(mm.munmap, a, 4 * PG)
    wait_until(lambda: mm.mmap_lock.statistics().write_locked, what="munmap holds mmap_lock")
    vma = mm.vma_lookup(a)
    wait_until(lambda: vma is None or vma.vm_refcnt > 0x40000000, what="munmap waits")
    assert not unmapper.finished.is_set()
    mm.pauses.release("fault:after_vma_lock")
    r = worker.result()
    unmapper.join()
    assert (r.describe(), r.path) == ("ok", "vma_lock")
    assert _counts(mm) == (1, 0, 0, 0)
    assert mm.get_rss() == 0
    mm._check()
