"""Locking profiles and the cost model: which lock each cost is charged under, and bad
input. Deterministic: costs are recorded instead of slept, lock states are read from
``statistics()``, and threads are ordered by waiting on those statistics."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel
from core.errors import InvalidArgument
from core.hooks import default_maps_reader
from core.maps_reader import MapsFile, Reader
from lab import (
    DEFAULT_COST,
    CostModel,
    apply_profile,
    high_priority,
    low_priority,
    profiles,
)
from tests.concurrency import spawn, wait_until

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


def _recording(locking: Any, mm: Any) -> list[tuple[float, int, int]]:
    """Replace the profile's sleep by a recorder of (duration, mmap_lock readers,
    refcount of the first VMA) at the moment the cost is charged."""
    seen: list[tuple[float, int, int]] = []

    def record(seconds: float) -> None:
        vma = mm.vmas()[0]
        seen.append((seconds, mm.mmap_lock.statistics().rwsem.readers, vma.vm_refcnt))

    locking._sleep = record
    return seen


@pytest.mark.parametrize(
    ("profile", "path", "readers", "refcnt"),
    [("mmap_lock", "mmap_lock", 1, 1), ("per_vma", "vma_lock", 0, 2)],
)
def test_fault_cost_is_charged_under_the_faults_lock(
    profile: str, path: str, readers: int, refcnt: int
) -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    addr = mm.mmap(0, 4 * PAGE_SIZE, RW, ANON)
    mm.fault(addr, "write")  # anon_vma prepared: the next faults need no mmap_lock
    cost = CostModel(fault_page_s=0.25)
    locking = apply_profile(proc, profile, cost)
    seen = _recording(locking, mm)
    result = mm.fault(addr + PAGE_SIZE, "write")
    assert result.ok
    assert result.path == path
    # mmap_lock profile: mmap_lock read-held; per-VMA: the VMA's refcount is 1 + reader.
    assert seen == [(0.25, readers, refcnt)]
    stats = locking.statistics()
    assert stats.faults == 1
    assert (stats.faults_vma_lock, stats.faults_mmap_lock) == (
        (1, 0) if profile == "per_vma" else (0, 1)
    )


def test_mmap_lock_profile_counts_no_per_vma_events() -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    addr = mm.mmap(0, 2 * PAGE_SIZE, RW, ANON)
    apply_profile(proc, "mmap_lock", CostModel(fault_page_s=0.0))
    before = mm.vm_events.statistics()
    assert mm.fault(addr, "write").path == "mmap_lock"
    after = mm.vm_events.statistics()
    assert after.vma_lock_success == before.vma_lock_success
    assert after.vma_lock_abort == before.vma_lock_abort
    assert after.pgfault == before.pgfault + 1


@pytest.mark.parametrize(("reader", "readers", "refcnt"), [("mmap_lock", 1, 1), ("per_vma", 0, 2)])
def test_maps_line_cost_is_charged_holding_the_readers_lock(
    reader: Reader, readers: int, refcnt: int
) -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    mm.mmap(0, PAGE_SIZE, RW, ANON)
    locking = apply_profile(proc, "per_vma_maps", CostModel(maps_line_s=0.125), reader)
    seen = _recording(locking, mm)
    text = MapsFile(mm, locking.maps_reader).read_all()
    assert text == mm.maps()
    assert seen == [(0.125, readers, refcnt)]  # one VMA line; the gate line is not a VMA
    assert locking.statistics().maps_lines == 1


@pytest.mark.parametrize(("reader", "readers"), [("seqcount", 0), ("mmap_lock", 1), ("per_vma", 0)])
def test_whole_file_reads_charge_every_line(reader: Reader, readers: int) -> None:
    """``read_maps`` (one walk of the whole file) of a profiled process passes every
    line's cost hook, under the lock its reader holds, as its chunked reads do: the
    unprofiled whole walk's cached-line fast path calls no hook."""
    from core.maps_reader import read_maps

    proc = Kernel().spawn()
    mm = proc.mm
    for i in range(3):  # alternating protections: three VMAs
        mm.mmap(0x10_0000_0000 + i * PAGE_SIZE, PAGE_SIZE, RW if i % 2 else PROT_READ, ANON)
    count = len(mm.vmas())
    locking = apply_profile(proc, "per_vma_maps", CostModel(maps_line_s=0.125), reader)
    seen = _recording(locking, mm)
    snap = read_maps(mm, reader)
    assert "".join(snap.lines) == mm.maps() and not snap.fell_back
    assert [(s, r) for s, r, _ in seen] == [(0.125, readers)] * count
    assert locking.statistics().maps_lines == count


def test_profile_implies_the_default_maps_reader() -> None:
    kernel = Kernel()
    plain = kernel.spawn()
    assert default_maps_reader(plain.mm) == "seqcount"
    for profile, reader in (("mmap_lock", "mmap_lock"), ("per_vma", "mmap_lock"),
                            ("per_vma_maps", "per_vma")):  # fmt: skip
        proc = kernel.spawn()
        apply_profile(proc, profile)
        assert default_maps_reader(proc.mm) == reader
    proc = kernel.spawn()
    apply_profile(proc, "mmap_lock", reader="seqcount")
    assert default_maps_reader(proc.mm) == "seqcount"


def test_syscall_cost_is_charged_under_the_write_lock() -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    locking = apply_profile(proc, "per_vma", CostModel(syscall_s=0.5))
    seen: list[tuple[float, bool]] = []
    locking._sleep = lambda s: seen.append((s, mm.mmap_lock.is_write_locked()))
    addr = mm.mmap(0, PAGE_SIZE, RW, ANON)
    mm.munmap(addr, PAGE_SIZE)
    assert seen == [(0.5, True), (0.5, True)]


def test_a_low_priority_reader_woken_with_the_lock_is_preempted_holding_it() -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    locking = apply_profile(proc, "per_vma", CostModel(preempt_s=0.01, syscall_s=0.0))
    lock = mm.mmap_lock
    assert lock.observer is locking and mm.hooks is locking  # the seam, no subclass
    seen: list[tuple[float, int]] = []
    locking._sleep = lambda s: seen.append((s, lock.statistics().rwsem.readers))
    # Uncontended: no preemption.
    with low_priority(3):
        lock.read_lock()
    lock.read_unlock()
    assert seen == []
    lock.write_lock()
    got = threading.Event()

    def scanner() -> None:
        with low_priority(3):
            lock.read_lock()
        got.set()
        lock.read_unlock()

    worker = spawn(scanner, name="scanner")
    wait_until(lambda: lock.statistics().rwsem.waiting_readers == 1, what="scanner queued")
    lock.write_unlock()
    worker.join()
    assert got.is_set()
    # Woken alone: preempted once, for one preempt_s, holding the lock.
    assert len(seen) == 1
    assert seen[0][0] == pytest.approx(0.01)
    assert seen[0][1] == 1
    assert locking.statistics().preemptions == 1


def test_readers_woken_together_wait_for_the_cpu_one_after_another() -> None:
    proc = Kernel().spawn()
    lock = proc.mm.mmap_lock
    locking = apply_profile(proc, "per_vma", CostModel(preempt_s=0.01, syscall_s=0.0))
    seen: list[float] = []
    both = threading.Event()

    def record(seconds: float) -> None:
        # Hold each wake-up wait until both readers are in theirs (they overlap).
        seen.append(seconds)
        if len(seen) == 2:
            both.set()
        assert both.wait(10)

    locking._sleep = record

    def scanner() -> None:
        with low_priority(10):
            lock.read_lock()
        lock.read_unlock()

    lock.write_lock()
    workers = [spawn(scanner, name=f"scanner-{n}") for n in range(2)]
    wait_until(lambda: lock.statistics().rwsem.waiting_readers == 2, what="scanners queued")
    lock.write_unlock()  # rwsem_mark_wake grants both
    for w in workers:
        w.join()
    # The second to get a CPU waits for the first: places 1 and 2, not k = 10 each.
    assert sorted(seen) == [pytest.approx(0.01), pytest.approx(0.02)]
    assert locking.statistics().preemptions == 2


def test_high_priority_readers_are_not_preempted() -> None:
    proc = Kernel().spawn()
    lock = proc.mm.mmap_lock
    locking = apply_profile(proc, "per_vma", CostModel(syscall_s=0.0))
    seen: list[float] = []
    locking._sleep = seen.append

    def reader() -> None:
        lock.read_lock()
        lock.read_unlock()

    lock.write_lock()
    worker = spawn(reader, name="reader")
    wait_until(lambda: lock.statistics().rwsem.waiting_readers == 1, what="reader queued")
    lock.write_unlock()
    worker.join()
    assert seen == []
    assert locking.statistics().preemptions == 0


def test_bad_profile_or_reader_changes_nothing() -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    lock_class = type(mm.mmap_lock)
    with pytest.raises(InvalidArgument, match=r"^unknown locking profile 'mmap'; choose one of "):
        apply_profile(proc, "mmap")
    with pytest.raises(InvalidArgument, match=r"^unknown maps reader 'rcu'"):
        apply_profile(proc, "per_vma", reader="rcu")
    assert mm.hooks is None and mm.mmap_lock.observer is None
    assert type(mm.mmap_lock) is lock_class
    assert mm.on_write_unlock is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fault_page_s": -1.0}, r"^cost fault_page_s -1.0 is not a duration in seconds in "),
        ({"preempt_s": 2}, r"^cost preempt_s 2 is not a duration"),
        ({"syscall_s": True}, r"^cost syscall_s True is not a duration"),
        ({"preempt_scales": 1}, r"^cost preempt_scales 1 is not a bool$"),
        ({"gil_priority": "yes"}, r"^cost gil_priority 'yes' is not a bool$"),
        ({"preempt_midread": 0}, r"^cost preempt_midread 0 is not a bool$"),
        ({"runqueue_slice_s": 2.0}, r"^cost runqueue_slice_s 2.0 is not a duration"),
        ({"preempt_prob": 1.5}, r"^cost preempt_prob 1.5 is not a probability in \[0, 1\]$"),
        ({"lowprio_cpu_share": 0.0}, r"^cost lowprio_cpu_share 0.0 is not a fraction in "),
        ({"zeroing_s": 0.1}, r"^unknown cost 'zeroing_s'; choose from "),
    ],
)
def test_cost_model_rejects_bad_values(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        DEFAULT_COST.with_overrides(overrides)


def test_low_priority_share_must_be_positive() -> None:
    with pytest.raises(InvalidArgument, match=r"^low-priority share 0 is not an integer >= 1$"):
        low_priority(0)


def test_low_priority_threads_wait_their_turn_and_keep_their_cpu_share() -> None:
    proc = Kernel().spawn()
    cost = CostModel(
        maps_chunk_copy_s=0.001,
        lowprio_turn_s=0.004,
        lowprio_cpu_share=0.1,
    )
    locking = apply_profile(proc, "per_vma_maps", cost)
    seen: list[float] = []
    locking._sleep = seen.append
    locking.chunk_copied()  # a normal thread: only the copy to user, never a turn
    assert seen == [0.001]
    with low_priority(4):
        start = time.thread_time()
        while time.thread_time() - start < 0.01:  # burn 10 ms: past any budget (<= 8 ms)
            pass
        locking.chunk_copied()
        assert locking.statistics().turns == 1
        # 10 ms of CPU at a 10 % share: about 90 ms off the CPU (more than 4 x 4 ms turns).
        assert seen[1] == 0.001
        assert 0.09 <= seen[2] <= 0.2
        locking.chunk_copied()  # a new turn has just begun: only the copy
    assert seen[3:] == [0.001]


@pytest.mark.parametrize(
    ("reader", "mmap_readers", "vma_refs"),
    [("mmap_lock", 1, 1), ("per_vma", 0, 2), ("seqcount", 0, 1)],
)
def test_a_turn_ends_where_the_reader_is_holding_what_it_holds_there(
    reader: Reader, mmap_readers: int, vma_refs: int
) -> None:
    """The tick lands in the middle of a chunk fill: the pre-6.17 reader is preempted
    holding mmap_lock, the per-VMA reader holding one VMA's read lock, the seqcount
    reader holding no lock (inside its RCU walk)."""
    proc = Kernel().spawn()
    mm = proc.mm
    for i in range(4):
        mm.mmap(0, PAGE_SIZE, PROT_READ if i % 2 else RW, ANON)
    cost = CostModel(lowprio_turn_s=0.0, maps_chunk_copy_s=0.0)
    locking = apply_profile(proc, "per_vma_maps", cost, reader)
    seen: list[tuple[int, int]] = []

    def record(seconds: float) -> None:
        refs = max(v.vm_refcnt for v in mm.vmas())
        seen.append((mm.mmap_lock.statistics().rwsem.readers, refs))

    locking._sleep = record
    with low_priority(1):
        chunk = MapsFile(mm, reader).read()
    assert len(chunk.lines) == 5  # four VMAs and the gate line
    # Budget 0: every line's show_map_vma ends a turn, holding the reader's lock.
    assert seen[:4] == [(mmap_readers, vma_refs)] * 4
    assert locking.statistics().turns >= 4
    assert mm.mmap_lock.statistics().rwsem.readers == 0


def test_writer_waits_are_recorded_with_what_the_holders_were_doing() -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    addr = mm.mmap(0, 2 * PAGE_SIZE, RW, ANON)
    locking = apply_profile(proc, "per_vma_maps", CostModel(syscall_s=0.0))
    lock = mm.mmap_lock
    lock.read_lock()  # this thread: "running with mmap_lock held for read"
    waited: list[tuple[float, str]] = []

    def writer() -> None:
        mm.munmap(addr, PAGE_SIZE)
        waited.append(locking.take_stall())

    worker = spawn(writer, name="writer")
    wait_until(lambda: lock.statistics().rwsem.waiting_writers == 1, what="writer queued")
    lock.read_unlock()
    worker.join()
    me = threading.current_thread().name
    (stall,) = [s for s in locking.stalls if s.thread == "writer"]
    assert stall.lock == "mmap_lock"
    assert stall.holders == ((me, "running with mmap_lock held for read"),)
    ((wait_s, lock_name),) = waited
    assert lock_name == "mmap_lock"
    assert wait_s == pytest.approx(stall.wait_s)
    assert locking.worst_stalls("writer") == [stall.as_dict()]
    summary = locking.stall_summary("writer", 0.0)
    assert summary["by_lock"] == {"mmap_lock": {"n": 1, "total_ms": round(stall.wait_s * 1e3, 1)}}


def test_vma_start_write_waits_for_a_vma_reader_and_is_recorded() -> None:
    from core.vma_lock import VMA_LOCK_OFFSET, vma_end_read, vma_start_read

    proc = Kernel().spawn()
    mm = proc.mm
    addr = mm.mmap(0, PAGE_SIZE, RW, ANON)
    locking = apply_profile(proc, "per_vma_maps", CostModel(syscall_s=0.0))
    (vma,) = mm.vmas()
    with mm.rcu.read_section():
        assert vma_start_read(mm.mmap_lock, vma, mm) is None  # a reader holds the VMA
    worker = spawn(lambda: mm.munmap(addr, PAGE_SIZE), name="writer")
    wait_until(lambda: vma.vm_refcnt > VMA_LOCK_OFFSET, what="writer excluding readers")
    vma_end_read(mm.mmap_lock, vma)
    worker.join()
    (stall,) = [s for s in locking.stalls if s.thread == "writer"]
    assert stall.lock == "vma_start_write"
    assert mm.vmas() == []


# -- GIL priority: a low-priority reader keeps off the GIL while a high-priority thread
# runs (the kernel's wake-up preemption; under the GIL the reader would delay it).


def _four_vmas() -> Any:
    proc = Kernel().spawn()
    for i in range(4):
        proc.mm.mmap(0, PAGE_SIZE, PROT_READ if i % 2 else RW, ANON)
    return proc


def _read_maps(locking: Any, mm: Any) -> int:
    with low_priority(1):
        return len(MapsFile(mm, locking.maps_reader).read().lines)


def test_a_low_priority_reader_yields_to_a_running_high_priority_thread_holding_its_lock() -> None:
    proc = _four_vmas()
    mm = proc.mm
    cost = CostModel(lowprio_turn_s=1.0, maps_chunk_copy_s=0.0)  # no turn ends by itself
    locking = apply_profile(proc, "per_vma_maps", cost)
    go_sleep, wake = threading.Event(), threading.Event()
    real_sleep = locking._sleep

    def sleep(seconds: float) -> None:  # the high-priority thread's modelled cost
        if threading.current_thread().name == "high":
            assert wake.wait(10)
        else:
            real_sleep(seconds)

    locking._sleep = sleep

    def high() -> None:
        with high_priority(locking):
            assert go_sleep.wait(10)
            locking._spend(1.0)  # off the CPU until ``wake``, back in about a second

    high_thread = spawn(high, name="high")
    wait_until(lambda: locking._high, what="high-priority thread registered")
    reader = spawn(_read_maps, locking, mm, name="reader")
    wait_until(lambda: locking.statistics().priority_yields == 1, what="reader yielded")
    # Preempted where it was: formatting its first line, holding that VMA's read lock.
    doing = locking.doing["reader"]
    assert doing == "preempted by a high-priority thread, holding one VMA's read lock and RCU"
    assert max(v.vm_refcnt for v in mm.vmas()) == 2
    assert reader.is_alive()
    go_sleep.set()  # the high-priority thread sleeps in a cost: the reader runs again
    assert reader.result() == 5
    wake.set()
    high_thread.join()
    stats = locking.statistics()
    assert (stats.priority_yields, stats.priority_timeouts) == (1, 0)
    assert locking._high == {}


def test_a_high_priority_thread_idle_between_bursts_lets_readers_run() -> None:
    proc = _four_vmas()
    mm = proc.mm
    locking = apply_profile(proc, "per_vma_maps", CostModel(lowprio_turn_s=1.0))
    stop, idle = threading.Event(), threading.Event()

    def high() -> bool:
        with high_priority(locking):
            idle.set()
            return locking.idle(stop, 10.0)

    thread = spawn(high, name="high")
    assert idle.wait(10)
    wait_until(lambda: min(locking._high.values(), default=0.0) > 0, what="high thread idle")
    assert _read_maps(locking, mm) == 5
    assert locking.statistics().priority_yields == 0
    stop.set()
    assert thread.result() is True
    assert locking.idle(stop, 0.0) is True  # not a high-priority thread: a plain wait


def test_a_high_priority_thread_asleep_on_a_lock_lets_low_priority_readers_run() -> None:
    proc = _four_vmas()
    mm = proc.mm
    locking = apply_profile(proc, "per_vma_maps", CostModel(lowprio_turn_s=1.0))
    lock = mm.mmap_lock
    assert lock.read_lock()

    def high() -> None:
        with high_priority(locking):
            assert lock.write_lock()
            lock.write_unlock()

    writer = spawn(high, name="high")
    wait_until(lambda: lock.statistics().rwsem.waiting_writers == 1, what="writer queued")
    assert _read_maps(locking, mm) == 5  # the per-VMA reader never waits for it
    assert locking.statistics().priority_yields == 0
    lock.read_unlock()
    writer.join()


def test_gil_priority_off_and_the_patience_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = _four_vmas()
    mm = proc.mm
    cost = CostModel(lowprio_turn_s=1.0, maps_chunk_copy_s=0.0)
    with high_priority(apply_profile(proc, "per_vma_maps", replace(cost, gil_priority=False))):
        locking = mm.hooks
        assert isinstance(locking, profiles.ProfiledLocking)
        assert _read_maps(locking, mm) == 5
        assert locking.statistics().priority_yields == 0
    proc = _four_vmas()
    mm = proc.mm
    locking = apply_profile(proc, "per_vma_maps", cost)
    monkeypatch.setattr(profiles, "GIL_PATIENCE_S", 0.001)
    with high_priority(locking):  # this thread "runs" throughout: the reader gives up waiting
        reader = spawn(_read_maps, locking, mm, name="reader")
        assert reader.result() == 5
    stats = locking.statistics()
    assert stats.priority_yields == stats.priority_timeouts >= 4  # once per line


# -- the host-like switches: run-queue wake-up waits, no preemption inside a read()


def test_a_woken_reader_waits_behind_the_cpu_bound_low_priority_threads() -> None:
    """runqueue_slice_s: the wait for a CPU is one slice per low-priority thread that
    is CPU-bound (not itself inside a contended mmap_read_lock)."""
    proc = Kernel().spawn()
    lock = proc.mm.mmap_lock
    cost = CostModel(runqueue_slice_s=0.002, preempt_s=0.5, syscall_s=0.0)
    locking = apply_profile(proc, "per_vma", cost)
    seen: list[tuple[float, int]] = []
    locking._sleep = lambda s: seen.append((s, lock.statistics().rwsem.readers))
    gate = threading.Event()

    def scanner() -> None:
        with low_priority(4):  # four readers share the CPUs; the other three are CPU-bound
            assert lock.read_lock()
        lock.read_unlock()
        gate.set()

    assert lock.write_lock()
    worker = spawn(scanner, name="scanner")
    wait_until(lambda: lock.statistics().rwsem.waiting_readers == 1, what="scanner queued")
    assert locking._lp_in_lock == 1
    lock.write_unlock()
    worker.join()
    assert gate.is_set()
    # Three CPU-bound competitors, held the lock meanwhile; preempt_s is not used.
    ((seconds, readers),) = seen
    assert seconds == pytest.approx(0.006) and readers == 1
    assert locking._lp_in_lock == 0
    assert locking.doing["scanner"] == "running with mmap_lock held for read"


def test_without_preempt_midread_a_turn_ends_only_between_reads() -> None:
    proc = _four_vmas()
    mm = proc.mm
    cost = CostModel(lowprio_turn_s=0.0, maps_chunk_copy_s=0.0, preempt_midread=False)
    locking = apply_profile(proc, "per_vma_maps", cost, "mmap_lock")
    seen: list[int] = []
    locking._sleep = lambda s: seen.append(mm.mmap_lock.statistics().rwsem.readers)
    with low_priority(1):
        chunk = MapsFile(mm, "mmap_lock").read()
        assert len(chunk.lines) == 5
        assert seen == [] and locking.statistics().turns == 0  # never inside the read()
        locking.chunk_copied()
    assert seen == [0]  # one turn, ended between reads: no lock held
    assert locking.statistics().turns == 1
