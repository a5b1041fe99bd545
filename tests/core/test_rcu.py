"""RcuDomain: read sections, grace periods, call_rcu/barrier, thread lifecycle.

Orderings are forced by waiting on ``statistics()`` (``readers_blocking_gp`` shows a
grace period is waiting for a reader), never by sleeping.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import threading
import time

import pytest

from core.rcu import RcuDomain, RcuStatistics
from tests.concurrency import Record, Worker, join_all, spawn, wait_until


class ParkedReader:
    """A thread that enters a read section and stays there until :meth:`leave`.

    With ``leak=True`` the thread exits without unlocking (a dead reader).
    """

    def __init__(
        self, rcu: RcuDomain, record: Record, name: str, *, nested: int = 1, leak: bool = False
    ) -> None:
        self.name = name
        self._rcu = rcu
        self._record = record
        self._nested = nested
        self._leak = leak
        self._entered = threading.Event()
        self._release = threading.Event()
        self.worker: Worker[None] = spawn(self._run, name=name)
        assert self._entered.wait(10), f"{name} never entered its read section"

    def _run(self) -> None:
        for _ in range(self._nested):
            self._rcu.read_lock()
        self._entered.set()
        assert self._release.wait(10), f"{self.name} was never released"
        self._record.append(f"{self.name} leaves")
        if self._leak:
            return
        for _ in range(self._nested):
            self._rcu.read_unlock()

    def leave(self) -> None:
        self._release.set()
        self.worker.join()


def start_synchronize(rcu: RcuDomain, record: Record) -> Worker[None]:
    def run() -> None:
        rcu.synchronize()
        record.append("synchronize returned")

    return spawn(run, name="synchronizer")


def wait_blocked_or_done(rcu: RcuDomain, worker: Worker[None]) -> None:
    """Wait until the grace period is blocked on a reader, or the worker finished."""
    wait_until(
        lambda: rcu.statistics().readers_blocking_gp > 0 or worker.finished.is_set(),
        what="synchronize() blocked on a reader or finished",
    )


# -- read side ---------------------------------------------------------------------


def test_read_sections_nest_per_thread() -> None:
    rcu = RcuDomain()
    assert not rcu.in_read_section()
    rcu.read_lock()
    rcu.read_lock()
    assert rcu.in_read_section()
    rcu.read_unlock()
    assert rcu.in_read_section()
    assert rcu.statistics().readers_in_section == 1
    rcu.read_unlock()
    assert not rcu.in_read_section()
    assert rcu.statistics().readers_in_section == 0


def test_read_section_context_manager_is_reusable_and_nests() -> None:
    rcu = RcuDomain()
    section = rcu.read_section()
    with section:
        with rcu.read_section():
            assert rcu.in_read_section()
        assert rcu.in_read_section()
    assert not rcu.in_read_section()
    with pytest.raises(KeyError), rcu.read_section():
        raise KeyError("boom")
    assert not rcu.in_read_section()


def test_unbalanced_unlock_raises() -> None:
    rcu = RcuDomain()
    message = r"^rcu read_unlock\(\) without a matching read_lock\(\)$"
    with pytest.raises(RuntimeError, match=message):
        rcu.read_unlock()  # this thread never registered
    with rcu.read_section():
        pass
    with pytest.raises(RuntimeError, match=message):
        rcu.read_unlock()  # registered, balanced, then one too many
    assert not rcu.in_read_section()


def test_read_section_state_is_per_thread() -> None:
    rcu = RcuDomain()
    with rcu.read_section():
        other_sees = spawn(rcu.in_read_section).result()
        assert other_sees is False
        with pytest.raises(RuntimeError, match=r"^rcu read_unlock\(\) without"):
            spawn(rcu.read_unlock).result()
        assert rcu.in_read_section()


def test_synchronize_and_barrier_inside_read_section_raise() -> None:
    rcu = RcuDomain()
    with rcu.read_section():
        with pytest.raises(
            RuntimeError, match=r"^synchronize\(\) inside an RCU read-side critical section$"
        ):
            rcu.synchronize()
        with pytest.raises(
            RuntimeError, match=r"^barrier\(\) inside an RCU read-side critical section$"
        ):
            rcu.barrier()
    assert rcu.statistics().grace_periods == 0


# -- grace periods -----------------------------------------------------------------


def test_synchronize_without_readers_returns() -> None:
    rcu = RcuDomain()
    rcu.synchronize()
    rcu.synchronize()
    stats = rcu.statistics()
    assert stats.grace_periods == 2
    assert stats.readers_blocking_gp == 0


def test_synchronize_waits_for_reader_that_started_before_it() -> None:
    rcu = RcuDomain()
    record = Record()
    reader = ParkedReader(rcu, record, "A")
    sync = start_synchronize(rcu, record)
    wait_blocked_or_done(rcu, sync)
    assert not sync.finished.is_set()
    stats = rcu.statistics()
    assert stats.readers_blocking_gp == 1
    assert stats.grace_periods == 0
    reader.leave()
    sync.join()
    assert record.snapshot() == ["A leaves", "synchronize returned"]
    stats = rcu.statistics()
    assert stats.grace_periods == 1
    assert stats.readers_blocking_gp == 0


def test_synchronize_does_not_wait_for_reader_that_started_after_it() -> None:
    rcu = RcuDomain()
    record = Record()
    early = ParkedReader(rcu, record, "early")
    sync = start_synchronize(rcu, record)
    wait_blocked_or_done(rcu, sync)
    assert not sync.finished.is_set()
    late = ParkedReader(rcu, record, "late")  # enters while the grace period waits
    assert rcu.statistics().readers_in_section == 2
    early.leave()
    sync.join()  # must not wait for "late", which is still inside
    assert rcu.statistics().readers_in_section == 1
    assert record.snapshot() == ["early leaves", "synchronize returned"]
    late.leave()


def test_nested_section_ends_only_at_outermost_unlock() -> None:
    rcu = RcuDomain()
    record = Record()
    # Enter twice and leave once: still inside, so a new grace period must wait.
    entered = threading.Event()
    release = threading.Event()

    def reader() -> None:
        rcu.read_lock()
        rcu.read_lock()
        rcu.read_unlock()
        entered.set()
        assert release.wait(10)
        record.append("outer unlock")
        rcu.read_unlock()

    worker = spawn(reader, name="nested")
    assert entered.wait(10)
    sync = start_synchronize(rcu, record)
    wait_blocked_or_done(rcu, sync)
    assert not sync.finished.is_set()
    release.set()
    join_all([worker, sync])
    assert record.snapshot() == ["outer unlock", "synchronize returned"]


def test_concurrent_synchronize_calls_all_complete() -> None:
    rcu = RcuDomain()
    record = Record()
    reader = ParkedReader(rcu, record, "A")
    syncs = [start_synchronize(rcu, record) for _ in range(4)]
    wait_blocked_or_done(rcu, syncs[0])
    reader.leave()
    join_all(syncs)
    assert rcu.statistics().grace_periods == 4
    assert record.snapshot()[0] == "A leaves"


# -- threads that exit -------------------------------------------------------------


def test_exited_threads_are_unregistered() -> None:
    rcu = RcuDomain()

    def one_section() -> None:
        with rcu.read_section():
            pass

    workers = [spawn(one_section, name=f"t{i}") for i in range(5)]
    join_all(workers)
    wait_until(lambda: rcu.statistics().registered_threads == 0, what="slots reaped")


def test_thread_that_dies_inside_a_section_does_not_block_grace_periods() -> None:
    rcu = RcuDomain()
    record = Record()
    dead = ParkedReader(rcu, record, "dead", leak=True)
    sync = start_synchronize(rcu, record)
    wait_blocked_or_done(rcu, sync)
    assert not sync.finished.is_set()
    dead.leave()  # the thread exits still "inside" its read section
    sync.join()
    rcu.synchronize()
    stats = rcu.statistics()
    assert stats.grace_periods == 2
    assert stats.registered_threads == 0
    assert stats.readers_in_section == 0


def test_dead_reader_registered_before_synchronize_starts() -> None:
    rcu = RcuDomain()
    spawn(rcu.read_lock, name="leaker").join()  # exits holding a read section
    spawn(rcu.synchronize, name="synchronizer").join()
    assert rcu.statistics().grace_periods == 1


# -- call_rcu / barrier -------------------------------------------------------------


def test_callback_runs_only_after_preexisting_reader_leaves() -> None:
    rcu = RcuDomain()
    record = Record()
    reader = ParkedReader(rcu, record, "A")
    rcu.call_rcu(lambda: record.append("callback"))
    wait_until(
        lambda: rcu.statistics().readers_blocking_gp == 1 or rcu.statistics().callbacks_run > 0,
        what="reclaimer's grace period blocked on the reader",
    )
    stats = rcu.statistics()
    assert stats.callbacks_run == 0
    assert stats.pending_callbacks == 1
    reader.leave()
    rcu.barrier()
    assert record.snapshot() == ["A leaves", "callback"]
    stats = rcu.statistics()
    assert stats.pending_callbacks == 0
    assert stats.callbacks_run == 1
    assert stats.grace_periods >= 1


def test_call_rcu_inside_read_section_does_not_block() -> None:
    rcu = RcuDomain()
    record = Record()
    with rcu.read_section():
        rcu.call_rcu(lambda: record.append("callback"))
        wait_until(
            lambda: rcu.statistics().readers_blocking_gp == 1,
            what="reclaimer waits for this thread",
        )
        assert record.snapshot() == []
        record.append("left section")
    rcu.barrier()
    assert record.snapshot() == ["left section", "callback"]


def test_barrier_waits_for_every_callback_in_queue_order() -> None:
    rcu = RcuDomain()
    record = Record()
    for i in range(50):
        rcu.call_rcu(functools.partial(record.append, i))
    rcu.barrier()
    assert record.snapshot() == list(range(50))
    stats = rcu.statistics()
    assert stats.callbacks_run == 50
    assert stats.pending_callbacks == 0


def test_barrier_with_nothing_queued_returns() -> None:
    rcu = RcuDomain()
    rcu.barrier()
    assert rcu.statistics().callbacks_run == 0


def test_barrier_from_several_threads() -> None:
    rcu = RcuDomain()
    record = Record()
    reader = ParkedReader(rcu, record, "A")
    rcu.call_rcu(lambda: record.append("callback"))
    barriers = [spawn(rcu.barrier, name=f"barrier{i}") for i in range(3)]
    wait_until(lambda: rcu.statistics().readers_blocking_gp == 1, what="grace period blocked")
    assert not any(b.finished.is_set() for b in barriers)
    reader.leave()
    join_all(barriers)
    assert record.snapshot() == ["A leaves", "callback"]


def test_failing_callback_is_counted_and_reclaimer_survives() -> None:
    rcu = RcuDomain()
    record = Record()

    def bad() -> None:
        raise ValueError("callback bug")

    rcu.call_rcu(bad)
    rcu.call_rcu(lambda: record.append("after"))
    rcu.barrier()
    stats = rcu.statistics()
    assert stats.callbacks_run == 2
    assert stats.callback_errors == 1
    assert stats.last_callback_error == "ValueError('callback bug')"
    assert record.snapshot() == ["after"]
    rcu.call_rcu(lambda: record.append("later"))
    rcu.barrier()
    assert record.snapshot() == ["after", "later"]


def test_callback_left_in_read_section_is_reported_and_closed() -> None:
    rcu = RcuDomain()
    rcu.call_rcu(rcu.read_lock)
    rcu.barrier()
    stats = rcu.statistics()
    assert stats.callback_errors == 1
    assert stats.last_callback_error is not None
    assert stats.last_callback_error.endswith("returned inside a read section")
    assert stats.readers_in_section == 0
    rcu.synchronize()  # nobody is left inside


def test_barrier_from_callback_raises() -> None:
    rcu = RcuDomain()
    errors = Record()

    def calls_barrier() -> None:
        try:
            rcu.barrier()
        except RuntimeError as exc:
            errors.append(str(exc))

    rcu.call_rcu(calls_barrier)
    rcu.barrier()
    assert errors.snapshot() == ["barrier() called from an RCU callback"]


def test_reclaimer_restarts_after_idle_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.rcu._RECLAIMER_IDLE_S", 0.01)
    rcu = RcuDomain()
    ran_on = Record()
    rcu.call_rcu(lambda: ran_on.append(threading.current_thread()))
    rcu.barrier()
    (first,) = ran_on.snapshot()
    wait_until(lambda: not first.is_alive(), what="reclaimer exited after idling")
    rcu.call_rcu(lambda: ran_on.append(threading.current_thread()))
    rcu.barrier()
    second = ran_on.snapshot()[1]
    assert second is not first
    assert second.name == first.name == "rcu-reclaimer"
    assert second.daemon


# -- statistics --------------------------------------------------------------------


def test_statistics_is_a_frozen_snapshot() -> None:
    rcu = RcuDomain()
    stats = rcu.statistics()
    assert stats == RcuStatistics(
        readers_in_section=0,
        registered_threads=0,
        grace_periods=0,
        readers_blocking_gp=0,
        pending_callbacks=0,
        callbacks_run=0,
        callback_errors=0,
        last_callback_error=None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.grace_periods = 1  # type: ignore[misc]
    with rcu.read_section():
        assert rcu.statistics().registered_threads == 1
        assert rcu.statistics().readers_in_section == 1
    assert stats.readers_in_section == 0


# -- safety under load -------------------------------------------------------------


class _Node:
    __slots__ = ("freed", "serial")

    def __init__(self, serial: int) -> None:
        self.serial = serial
        self.freed = False


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_readers_never_see_a_freed_node(seed: int) -> None:
    """Writers replace a published node and free the old one via synchronize/call_rcu.

    Readers, yielding at random points inside their sections, must never observe a
    node that has been freed. The seed drives every random choice.
    """
    rng = random.Random(seed)
    rcu = RcuDomain()
    published = [_Node(0)]  # published[0] is the RCU-protected pointer
    violations = Record()
    stop = threading.Event()

    def reader(seed: int) -> int:
        local = random.Random(seed)
        reads = 0
        while not stop.is_set() or reads < 50:
            with rcu.read_section():
                node = published[0]
                for _ in range(local.randrange(3)):
                    time.sleep(0)  # let writers run while we hold the node
                if node.freed:
                    violations.append((seed, node.serial))
            reads += 1
        return reads

    readers = [spawn(reader, rng.randrange(1 << 30), name=f"reader{i}") for i in range(4)]
    for serial in range(1, 200):
        old = published[0]
        published[0] = _Node(serial)
        if rng.random() < 0.5:
            rcu.synchronize()
            old.freed = True
        else:
            rcu.call_rcu(functools.partial(setattr, old, "freed", True))
        if rng.random() < 0.3:
            time.sleep(0)
    rcu.barrier()
    stop.set()
    join_all(readers)
    assert violations.snapshot() == [], f"seed={seed}"
