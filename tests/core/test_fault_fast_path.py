"""The fault fast path after its speed-ups keeps its contracts.

What changed (core/fault.py, core/rcu.py, core/vma_lock.py, core/pages.py) and what
each test pins down: ``RcuDomain.read_lock`` returns the thread's slot and
``read_unlock(slot)`` ends the section that ``synchronize()`` waits for; the per-VMA
lock refcount is still changed under ``vma_atomic`` (a writer waiting for a fast-path
reader is woken by its ``vma_end_read``); ``AnonPage`` still takes no arguments; the
write fast path's result equals the one the generic path builds; the NX refault of an
exec fault still happens exactly once.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest

from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel
from core.fault import FaultResult, _result
from core.pages import MM_ANONPAGES, AnonPage, Page, PageKind
from core.rcu import RcuDomain
from tests.concurrency import spawn, wait_until
from tests.engines import COMPILED

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


def test_read_unlock_with_the_returned_slot_ends_the_section_synchronize_waits_for():
    rcu = RcuDomain()
    entered = threading.Event()
    leave = threading.Event()

    def reader() -> None:
        slot = rcu.read_lock()
        entered.set()
        assert leave.wait(10)
        rcu.read_unlock(slot)

    worker = spawn(reader)
    assert entered.wait(10)
    gp = spawn(rcu.synchronize)
    wait_until(lambda: rcu.statistics().readers_blocking_gp == 1, what="gp waits for reader")
    assert not gp.finished.is_set()
    leave.set()
    gp.join()
    worker.join()
    assert rcu.statistics().readers_in_section == 0
    assert rcu.statistics().grace_periods == 1


def test_read_unlock_without_read_lock_raises_and_nesting_is_kept():
    rcu = RcuDomain()
    with pytest.raises(RuntimeError, match="without a matching read_lock"):
        rcu.read_unlock()  # this thread never registered
    outer = rcu.read_lock()
    inner = rcu.read_lock()
    assert inner is outer
    rcu.read_unlock(inner)
    assert rcu.in_read_section()
    rcu.read_unlock(outer)
    assert not rcu.in_read_section()
    with pytest.raises(RuntimeError, match="without a matching read_lock"):
        rcu.read_unlock(outer)
    assert outer.nesting == 0 and outer.ctr == 0


def test_fast_path_reader_wakes_a_writer_waiting_on_the_vma():
    mm = Kernel().spawn().mm
    addr = mm.mmap(0, 4 * PAGE_SIZE, RW, ANON)
    mm.fault(addr, "write")  # anon_vma prepared: the next faults take the fast path
    mm.pauses.arm("fault:after_vma_lock")
    faulting = spawn(mm.fault, addr + PAGE_SIZE, "write")
    held = mm.pauses.wait_for_hold("fault:after_vma_lock")
    # mprotect must write-lock the VMA, i.e. wait for the reader's vma_end_read.
    writer = spawn(mm.mprotect, addr, 4 * PAGE_SIZE, PROT_READ)
    vma = mm.vma_lookup(addr)
    assert vma is not None
    wait_until(lambda: vma.vm_refcnt > 0x40000000, what="writer excluding readers")
    assert not writer.finished.is_set()
    assert mm.pauses.release(held) == 1
    result = faulting.result()
    writer.join()
    assert result.ok and result.path == "vma_lock" and result.page == "anon"
    assert vma.vm_refcnt == 0 or vma.vm_refcnt == 1
    mm._check()


def test_anon_page_takes_no_arguments_and_keeps_its_defaults():
    """Both engines' AnonPage (object's __init__ over class defaults interpreted, its
    own __init__ compiled: core/pages.py) hold the same fields and refuse arguments."""
    page = AnonPage()
    fields = {
        "kind": PageKind.ANON,
        "rss_counter": MM_ANONPAGES,
        "mapcount": 0,
        "dirty": True,
        "index": -1,
        "referenced": False,
        "active": False,
        "folio_dirty": False,
        "lazyfree": False,
        "batched": False,
        "mlock_count": 0,
        "unevictable": False,
    }
    assert {name: getattr(page, name) for name in fields} == fields
    general = Page(PageKind.ANON, dirty=True)
    assert {name: getattr(general, name) for name in fields} == fields
    if not COMPILED:  # every field a Page has (a native object has no __dict__)
        assert set(vars(general)) == set(fields)
    with pytest.raises(TypeError, match="takes no arguments|takes at most 0 arguments"):
        AnonPage(1)  # type: ignore[call-arg]


def test_fast_path_result_equals_the_generic_result():
    mm = Kernel().spawn().mm
    addr = mm.mmap(0, 3 * PAGE_SIZE, RW, ANON)
    first = mm.fault(addr, "write")  # prepares the anon_vma (generic path)
    fast = mm.fault(addr + PAGE_SIZE + 5, "write")
    expected = _result(
        addr + PAGE_SIZE + 5, "write", 0, "vma_lock", 0, (addr, addr + 3 * PAGE_SIZE), False, "anon"
    )
    assert type(fast) is FaultResult
    assert fast == expected and hash(fast) == hash(expected)
    # Every field, in order (the compiled engine's native FaultResult has no __dict__).
    assert dataclasses.astuple(fast) == dataclasses.astuple(expected)
    assert first.page == "anon" and mm.min_flt == 2 and mm.get_rss() == 2
    ev = mm.vm_events.statistics()
    assert (ev.vma_lock_success, ev.pgfault) == (2, 2)


def test_exec_fault_on_a_non_exec_vma_refaults_once():
    mm = Kernel().spawn().mm
    addr = mm.mmap(0, PAGE_SIZE, RW, ANON)
    result = mm.fault(addr, "exec")
    assert result.describe() == "SIGSEGV SEGV_ACCERR"
    # Two faults: the not-present one maps the page, the retried fetch is refused.
    assert mm.vm_events.statistics().pgfault == 1  # an access error is not accounted
    assert mm.vm_events.statistics().vma_lock_success == 2
