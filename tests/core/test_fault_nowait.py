"""``Mm.fault_nowait`` (:func:`core.fault.do_user_addr_fault_nowait`): the fault entry
that never waits, which the service runs on its event loop.

Its contract, pinned here on both engines: when it completes a fault, the result and
the whole machine afterwards (pages, RSS, every vmstat and fault counter: the
checkpoint document) are exactly those of :meth:`Mm.fault` on a twin machine; when it
declines (None), nothing changed and nothing was counted, so the full fault that
follows counts everything once and the machine again equals the twin's. Each reason
to decline is forced deterministically (a held lock, an armed pause point, a profile's
hooks), never by timing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_GROWSDOWN,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    ResidentLimitExceeded,
)
from core.checkpoint import _events_dict, dump_kernel
from core.fault import Access, FaultPath, FaultResult
from core.mm import Mm
from core.vma_lock import vma_start_write
from tests.concurrency import spawn

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
BASE = 0x100000000000


def state(kernel: Kernel) -> dict[str, Any]:
    """The whole machine as its checkpoint holds it, without the time it was taken."""
    doc: dict[str, Any] = json.loads(json.dumps(dump_kernel(kernel)))
    doc.pop("saved_at")
    return doc


# -- scenarios: (build the machine's mm, address, access, completes without waiting) ------


def _anon(mm: Mm, prot: int = RW, flags: int = 0, pages: int = 4) -> None:
    mm.mmap(BASE, pages * PAGE_SIZE, prot, ANON | flags)


def _anon_prepared(mm: Mm) -> None:
    _anon(mm)
    mm.fault(BASE, "write")  # the anon_vma is prepared by the first write


def _limit_reached(mm: Mm) -> None:
    _anon_prepared(mm)
    mm.kernel.max_resident_pages = 1


def _file(mm: Mm, shared: bool) -> None:
    proc = mm.kernel.processes()[0]
    fd = proc.open("/tmp/nowait-file", O_RDWR, size=4 * PAGE_SIZE)
    flags = (MAP_SHARED if shared else MAP_PRIVATE) | MAP_FIXED
    mm.mmap(BASE, 4 * PAGE_SIZE, RW, flags, fd)


SCENARIOS: dict[str, tuple[Callable[[Mm], None], int, Access, bool]] = {
    "anon write, new page": (_anon_prepared, BASE + PAGE_SIZE, "write", True),
    "anon write, exclusive populated page": (
        lambda mm: _anon(mm, flags=MAP_POPULATE),
        BASE + PAGE_SIZE,
        "write",
        True,
    ),
    "write to a read-only VMA": (lambda mm: _anon(mm, PROT_READ), BASE, "write", True),
    "read of PROT_NONE": (lambda mm: _anon(mm, PROT_NONE), BASE, "read", True),
    "exec of a non-exec present page": (_anon_prepared, BASE, "exec", True),
    "not a user address": (_anon, 1 << 47, "read", True),
    "first write (no anon_vma)": (_anon, BASE, "write", False),
    "write to a present page": (_anon_prepared, BASE, "write", False),
    "read (the zero page)": (_anon_prepared, BASE + PAGE_SIZE, "read", False),
    "exec of an exec VMA": (lambda mm: _anon(mm, PROT_READ | PROT_EXEC), BASE, "exec", False),
    "a hole": (_anon, BASE + 8 * PAGE_SIZE, "read", False),
    "below a MAP_GROWSDOWN VMA": (
        lambda mm: _anon(mm, flags=MAP_GROWSDOWN),
        BASE - PAGE_SIZE,
        "write",
        False,
    ),
    "resident limit": (_limit_reached, BASE + PAGE_SIZE, "write", False),
    "private file write": (lambda mm: _file(mm, False), BASE, "write", False),
    "shared file read": (lambda mm: _file(mm, True), BASE, "read", False),
}


def _machine(setup: Callable[[Mm], None]) -> tuple[Kernel, Mm]:
    kernel = Kernel()
    mm = kernel.spawn().mm
    setup(mm)
    return kernel, mm


def _full(mm: Mm, addr: int, access: Access) -> FaultResult | str:
    try:
        return mm.fault(addr, access)
    except ResidentLimitExceeded as exc:
        return f"ResidentLimitExceeded: {exc}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_nowait_equals_the_full_fault(name: str) -> None:
    """Completed: the twin's result and machine. Declined: nothing changed or counted,
    and the full fault after it leaves the twin's machine."""
    setup, addr, access, completes = SCENARIOS[name]
    kernel, mm = _machine(setup)
    twin, twin_mm = _machine(setup)
    assert state(kernel) == state(twin)  # the machines are deterministic
    expected = _full(twin_mm, addr, access)
    before = state(kernel)
    got = mm.fault_nowait(addr, access)
    if completes:
        assert got is not None
        assert got == expected
    else:
        assert got is None
        assert state(kernel) == before  # nothing changed, nothing counted
        assert _full(mm, addr, access) == expected
    assert state(kernel) == state(twin)


def test_a_completed_fault_counts_what_the_full_fast_path_counts() -> None:
    """The counters themselves, not only their equality with the twin's: one
    ``vma_lock_success``, one ``pgfault``, one minor fault, one page of RSS."""
    kernel, mm = _machine(_anon_prepared)
    before = state(kernel)["processes"][0]["mm"]
    r = mm.fault_nowait(BASE + PAGE_SIZE, "write")
    assert r is not None and (r.outcome, r.path, r.page, r.misses) == ("ok", "vma_lock", "anon", 0)
    after = state(kernel)["processes"][0]["mm"]
    for event in ("vma_lock_success", "pgfault"):
        assert after["vm_events"].get(event, 0) == before["vm_events"].get(event, 0) + 1
    for event in ("vma_lock_abort", "vma_lock_miss", "vma_lock_retry"):
        assert after["vm_events"].get(event, 0) == before["vm_events"].get(event, 0) == 0
    assert mm.min_flt == 2 and mm.maj_flt == 0
    assert mm.get_rss() == 2


def test_invalid_input_is_declined_for_the_full_fault_to_report() -> None:
    kernel, mm = _machine(_anon_prepared)
    before = state(kernel)
    for addr, access in ((-1, "write"), (1 << 64, "write"), (True, "write"), (BASE, "jump")):
        assert mm.fault_nowait(addr, access) is None  # type: ignore[arg-type]
    assert state(kernel) == before


# -- declining what would wait -------------------------------------------------------------


def test_an_armed_pause_point_declines_and_the_full_fault_stops_there() -> None:
    """Armed ``fault:after_vma_lock``: the entry declines without passing the point (no
    hit counted), and the full fault then parks at it, as a test arming it expects."""
    point = "fault:after_vma_lock"
    kernel, mm = _machine(_anon_prepared)
    twin, twin_mm = _machine(_anon_prepared)
    expected = twin_mm.fault(BASE + PAGE_SIZE, "write")
    mm.pauses.arm(point, timeout=30)
    before = state(kernel)
    assert mm.fault_nowait(BASE + PAGE_SIZE, "write") is None
    assert state(kernel) == before
    assert mm.pauses.statistics().points[point].hits == 0
    fault = spawn(mm.fault, BASE + PAGE_SIZE, "write")
    mm.pauses.wait_for_hold(point, timeout=30)
    assert not fault.finished.is_set()
    mm.pauses.release_all()
    assert fault.result() == expected
    assert mm.pauses.statistics().points[point].hits == 1
    assert state(kernel) == state(twin)


def test_a_held_page_lock_declines_without_counting_contention() -> None:
    """Another thread in the page lock (a long holder: a checkpoint, a fork's copy):
    the entry declines instead of waiting for it, and does not count as contended."""
    kernel, mm = _machine(_anon_prepared)
    lock = kernel.page_lock
    holder = spawn(lock.acquire)  # another thread holds it
    holder.join()
    try:
        before = _fault_state(mm)
        contended = lock.statistics().contended
        assert mm.fault_nowait(BASE + PAGE_SIZE, "write") is None
        assert lock.statistics().contended == contended
        assert _fault_state(mm) == before
    finally:
        lock.release()
    assert mm.fault_nowait(BASE + PAGE_SIZE, "write") is not None
    assert _fault_state(mm) != before


def _fault_state(mm: Mm) -> tuple[Any, ...]:
    # What a fault changes, read without the locks a test holds (dump_kernel takes
    # every mmap_lock for read and the page lock).
    vma = mm.vma_lookup(BASE)
    assert vma is not None
    return (dict(vma.pages or {}), mm.min_flt, mm.get_rss(), _events_dict(mm.vm_events))


def test_a_write_locked_vma_declines_without_counting_an_abort() -> None:
    """A writer holds ``mmap_lock`` and has write-locked the VMA (``vma_start_write``):
    :func:`lock_vma_under_rcu` would count ``vma_lock_abort`` and fall back to the
    ``mmap_lock`` the writer holds; the entry declines, counting nothing."""
    kernel, mm = _machine(_anon_prepared)
    twin, twin_mm = _machine(_anon_prepared)
    expected = twin_mm.fault(BASE + PAGE_SIZE, "write")
    vma = mm.vma_lookup(BASE)
    assert vma is not None
    lock = mm.mmap_lock
    lock.write_lock()
    try:
        vma_start_write(lock, vma)
        before = _fault_state(mm)
        assert mm.fault_nowait(BASE + PAGE_SIZE, "write") is None
        assert _fault_state(mm) == before
    finally:
        lock.write_unlock()
    assert mm.fault_nowait(BASE + PAGE_SIZE, "write") == expected
    assert state(kernel) == state(twin)


class _Hooks:
    """A profile that records what it is told (core.hooks.ProfileHooks)."""

    per_vma_faults = True
    maps_reader: Any = None

    def __init__(self) -> None:
        self.calls: list[str] = []

    def fault_started(self) -> None:
        self.calls.append("started")

    def fault_page_work(self) -> None:
        self.calls.append("page_work")

    def fault_finished(self, path: FaultPath) -> None:
        self.calls.append(f"finished {path}")

    def maps_line(self, vma: object) -> None:
        pass

    def smaps_walk(self, vma: object, pages: int) -> None:
        pass


def test_a_profile_declines_and_its_hooks_are_told_once() -> None:
    """A lab profile charges costs in its hooks (or sleeps): the entry declines, so the
    profile hears of the fault once, from the full fault."""
    kernel, mm = _machine(_anon_prepared)
    hooks = _Hooks()
    mm.hooks = hooks
    assert mm.fault_nowait(BASE + PAGE_SIZE, "write") is None
    assert hooks.calls == []
    assert mm.fault(BASE + PAGE_SIZE, "write").ok
    assert hooks.calls == ["started", "page_work", "finished vma_lock"]
