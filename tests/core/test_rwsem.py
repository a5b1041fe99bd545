"""RwSemaphore: the kernel rwsem queueing policy, misuse errors and statistics.

Threads are started one at a time and the test waits (``wait_until`` on
``statistics()``) until each has queued before starting the next, so queue order is
known without sleeping. The only real-time waits are the timeout tests themselves.
"""

from __future__ import annotations

import dataclasses
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from core.rwsem import MAX_READERS_WAKEUP, RwSemaphore, RwSemaphoreStatistics
from tests.concurrency import Record, Worker, join_all, spawn, wait_until


def stats_of(sem: RwSemaphore) -> RwSemaphoreStatistics:
    return sem.statistics()


def wait_queued(sem: RwSemaphore, *, readers: int = 0, writers: int = 0) -> None:
    wait_until(
        lambda: (
            (stats_of(sem).waiting_readers, stats_of(sem).waiting_writers) == (readers, writers)
        ),
        what=f"{readers} readers and {writers} writers queued",
    )


class Holder:
    """A thread that takes the lock (``"read"`` or ``"write"``), records it, and keeps it
    until :meth:`release` (or until ``gate`` is set, if one is shared)."""

    def __init__(
        self,
        sem: RwSemaphore,
        mode: str,
        name: str,
        record: Record,
        gate: threading.Event | None = None,
    ) -> None:
        self.sem = sem
        self.mode = mode
        self.name = name
        self.record = record
        self.gate = gate if gate is not None else threading.Event()
        self.worker: Worker[None] = spawn(self._run, name=name)

    def _run(self) -> None:
        if self.mode == "read":
            assert self.sem.down_read()
        else:
            assert self.sem.down_write()
        self.record.append(self.name)
        assert self.gate.wait(10), f"{self.name} was never released"
        if self.mode == "read":
            self.sem.up_read()
        else:
            self.sem.up_write()

    def release(self) -> None:
        self.gate.set()

    def join(self) -> None:
        self.worker.join()


def queue_up(
    sem: RwSemaphore, spec: list[tuple[str, str]], record: Record, gate: threading.Event
) -> list[Holder]:
    """Start holders in ``spec`` order, each queued before the next starts."""
    holders = []
    readers = writers = 0
    for mode, name in spec:
        holders.append(Holder(sem, mode, name, record, gate))
        if mode == "read":
            readers += 1
        else:
            writers += 1
        wait_queued(sem, readers=readers, writers=writers)
    return holders


# -- generic suite over the exclusive ways of holding the lock ------------------------


@dataclass(frozen=True)
class Mode:
    """One way to hold the semaphore exclusively against itself (trio generic_lock_test)."""

    name: str
    acquire: Callable[[RwSemaphore], None]
    release: Callable[[RwSemaphore], None]
    release_error: str


def _down_write(sem: RwSemaphore) -> None:
    assert sem.down_write()


def _down_write_timeout(sem: RwSemaphore) -> None:
    assert sem.down_write(timeout=10)


def _down_write_then_downgrade(sem: RwSemaphore) -> None:
    # Downgraded holders exclude each other (process_addrs.rst: "D vs D exclusive").
    assert sem.down_write()
    sem.downgrade_write()


_UP_WRITE_ERROR = r"^up_write\(\) by a thread that does not hold the write lock$"
_UP_READ_ERROR = r"^up_read\(\) on an rw_semaphore with no readers$"

MODES = [
    Mode("write", _down_write, RwSemaphore.up_write, _UP_WRITE_ERROR),
    Mode("write_timeout", _down_write_timeout, RwSemaphore.up_write, _UP_WRITE_ERROR),
    Mode("downgraded", _down_write_then_downgrade, RwSemaphore.up_read, _UP_READ_ERROR),
]
generic_mode_test = pytest.mark.parametrize("mode", MODES, ids=[m.name for m in MODES])


@generic_mode_test
def test_generic_exclusion(mode: Mode) -> None:
    sem = RwSemaphore()
    inside: list[str | None] = [None]
    overlaps = Record()

    def worker(name: str) -> None:
        for _ in range(30):
            mode.acquire(sem)
            if inside[0] is not None:
                overlaps.append((name, inside[0]))
            inside[0] = name
            time.sleep(0)  # give the others a chance to break in
            if inside[0] != name:
                overlaps.append((name, inside[0]))
            inside[0] = None
            mode.release(sem)

    join_all([spawn(worker, f"w{i}", name=f"w{i}") for i in range(5)])
    assert overlaps.snapshot() == []
    stats = stats_of(sem)
    assert stats.write_acquisitions == 150
    assert (stats.readers, stats.writer, stats.waiting_readers, stats.waiting_writers) == (
        0,
        None,
        0,
        0,
    )


@generic_mode_test
def test_generic_fifo_order(mode: Mode) -> None:
    sem = RwSemaphore()
    record = Record()
    mode.acquire(sem)

    def worker(name: str) -> None:
        mode.acquire(sem)
        record.append(name)
        mode.release(sem)

    workers = []
    names = [f"w{i}" for i in range(6)]
    for i, name in enumerate(names):
        workers.append(spawn(worker, name, name=name))
        wait_queued(sem, writers=i + 1)
    mode.release(sem)
    join_all(workers)
    assert record.snapshot() == names
    assert stats_of(sem).write_contended == len(names)


@generic_mode_test
def test_generic_release_without_hold_raises(mode: Mode) -> None:
    sem = RwSemaphore()
    with pytest.raises(RuntimeError, match=mode.release_error):
        mode.release(sem)
    mode.acquire(sem)
    mode.release(sem)
    with pytest.raises(RuntimeError, match=mode.release_error):
        mode.release(sem)


@generic_mode_test
def test_generic_trylocks_fail_while_held(mode: Mode) -> None:
    sem = RwSemaphore()
    mode.acquire(sem)
    assert spawn(sem.down_write_trylock).result() is False
    mode.release(sem)
    assert spawn(sem.down_write_trylock).result() is True
    assert stats_of(sem).writer is not None


# -- readers and writers together -----------------------------------------------------


def test_readers_share_and_writers_exclude() -> None:
    sem = RwSemaphore()
    check = threading.Lock()
    state = {"readers": 0, "writers": 0, "max_readers": 0}
    violations = Record()

    def enter(kind: str) -> None:
        with check:
            state[kind] += 1
            state["max_readers"] = max(state["max_readers"], state["readers"])
            if state["writers"] > 1 or (state["writers"] and state["readers"]):
                violations.append(dict(state))

    def leave(kind: str) -> None:
        with check:
            state[kind] -= 1

    def reader() -> None:
        for _ in range(40):
            with sem.read_locked():
                enter("readers")
                time.sleep(0)
                leave("readers")

    def writer() -> None:
        for _ in range(20):
            with sem.write_locked():
                enter("writers")
                time.sleep(0)
                leave("writers")

    workers = [spawn(reader, name=f"r{i}") for i in range(4)]
    workers += [spawn(writer, name=f"w{i}") for i in range(2)]
    join_all(workers)
    assert violations.snapshot() == []
    stats = stats_of(sem)
    assert stats.read_acquisitions == 160
    assert stats.write_acquisitions == 40
    assert not sem.is_locked()


def test_readers_share_without_waiting() -> None:
    sem = RwSemaphore()
    assert sem.down_read()
    assert spawn(sem.down_read, name="second").result() is True
    stats = stats_of(sem)
    assert stats.readers == 2
    assert stats.read_contended == 0
    sem.up_read()
    sem.up_read()


def test_queued_writer_blocks_readers_that_arrive_after_it() -> None:
    sem = RwSemaphore()
    record = Record()
    assert sem.down_read()  # a slow maps reader holding mmap_lock for read
    writer = Holder(sem, "write", "W", record)
    wait_queued(sem, writers=1)
    fault = Holder(sem, "read", "R", record)
    wait_queued(sem, readers=1, writers=1)  # queued although the lock is only read-held
    assert sem.down_read_trylock() is False
    assert sem.is_contended()
    assert record.snapshot() == []
    sem.up_read()
    wait_until(lambda: stats_of(sem).writer == "W", what="writer granted")
    assert stats_of(sem).waiting_readers == 1
    writer.release()
    fault.release()
    join_all([writer.worker, fault.worker])
    assert record.snapshot() == ["W", "R"]
    stats = stats_of(sem)
    assert (stats.read_contended, stats.write_contended) == (1, 1)


def test_writer_at_head_is_granted_alone() -> None:
    sem = RwSemaphore()
    record = Record()
    gate = threading.Event()
    assert sem.down_write()
    holders = queue_up(sem, [("write", "W1"), ("read", "R1"), ("read", "R2")], record, gate)
    sem.up_write()
    wait_until(lambda: stats_of(sem).writer == "W1", what="W1 granted")
    stats = stats_of(sem)
    assert (stats.readers, stats.waiting_readers) == (0, 2)
    gate.set()
    join_all([h.worker for h in holders])
    assert record.snapshot()[0] == "W1"
    assert sorted(record.snapshot()[1:]) == ["R1", "R2"]


def test_reader_at_head_wakes_all_queued_readers_skipping_writers() -> None:
    sem = RwSemaphore()
    record = Record()
    gate = threading.Event()
    assert sem.down_write()
    spec = [("read", "R1"), ("write", "W1"), ("read", "R2"), ("read", "R3")]
    holders = queue_up(sem, spec, record, gate)
    sem.up_write()
    wait_until(lambda: stats_of(sem).readers == 3, what="all three readers granted")
    stats = stats_of(sem)
    assert sorted(stats.reader_threads) == ["R1", "R2", "R3"]
    assert (stats.waiting_readers, stats.waiting_writers, stats.writer) == (0, 1, None)
    gate.set()
    join_all([h.worker for h in holders])
    assert sorted(record.snapshot()[:3]) == ["R1", "R2", "R3"]
    assert record.snapshot()[3] == "W1"


def test_reader_wakeup_batch_is_limited() -> None:
    assert MAX_READERS_WAKEUP == 256
    sem = RwSemaphore(max_readers_wakeup=2)
    record = Record()
    gate = threading.Event()
    assert sem.down_write()
    holders = queue_up(sem, [("read", "R1"), ("read", "R2"), ("read", "R3")], record, gate)
    sem.up_write()
    wait_until(lambda: stats_of(sem).readers == 2, what="first batch granted")
    assert stats_of(sem).reader_threads == ("R1", "R2")  # grant order = queue order
    assert stats_of(sem).waiting_readers == 1
    # A newcomer finding the lock read-held re-runs the wake-up
    # (rwsem_cond_wake_waiter): the leftover reader and the newcomer go together.
    holders.append(Holder(sem, "read", "R4", record, gate))
    wait_until(lambda: stats_of(sem).readers == 4, what="second batch granted")
    assert stats_of(sem).waiting_readers == 0
    gate.set()
    join_all([h.worker for h in holders])
    assert sorted(record.snapshot()) == ["R1", "R2", "R3", "R4"]


def test_leftover_readers_are_granted_when_the_lock_is_released() -> None:
    sem = RwSemaphore(max_readers_wakeup=2)
    record = Record()
    assert sem.down_write()
    first = [Holder(sem, "read", f"R{i}", record) for i in range(1, 3)]
    wait_queued(sem, readers=2)
    third = Holder(sem, "read", "R3", record)
    wait_queued(sem, readers=3)
    sem.up_write()
    wait_until(lambda: stats_of(sem).readers == 2, what="first batch granted")
    first[0].release()
    first[0].join()
    assert stats_of(sem).waiting_readers == 1  # one reader still holds: no wake-up yet
    first[1].release()
    first[1].join()
    wait_until(lambda: "R3" in record.snapshot(), what="R3 granted when the lock fell free")
    third.release()
    third.join()


def test_downgrade_wakes_queued_readers_but_not_writers() -> None:
    sem = RwSemaphore()
    record = Record()
    gate = threading.Event()
    assert sem.down_write()
    spec = [("read", "R1"), ("write", "W1"), ("read", "R2")]
    holders = queue_up(sem, spec, record, gate)
    sem.downgrade_write()
    stats = stats_of(sem)  # the grant happens inside downgrade_write()
    assert stats.readers == 3
    assert stats.writer is None
    assert (stats.waiting_readers, stats.waiting_writers) == (0, 1)
    assert not sem.held_by_current_thread_for_write()
    assert stats.read_acquisitions == 2  # R1 and R2; a downgrade is not an acquisition
    assert threading.current_thread().name in stats.reader_threads
    sem.up_read()
    gate.set()
    join_all([h.worker for h in holders])
    assert sorted(record.snapshot()[:2]) == ["R1", "R2"]
    assert record.snapshot()[2] == "W1"


def test_downgrade_with_writer_at_head_wakes_nobody() -> None:
    sem = RwSemaphore()
    record = Record()
    gate = threading.Event()
    assert sem.down_write()
    holders = queue_up(sem, [("write", "W1"), ("read", "R1")], record, gate)
    sem.downgrade_write()
    stats = stats_of(sem)
    assert (stats.readers, stats.waiting_readers, stats.waiting_writers) == (1, 1, 1)
    assert sem.down_read_trylock() is False
    sem.up_read()
    wait_until(lambda: stats_of(sem).writer == "W1", what="W1 granted")
    gate.set()
    join_all([h.worker for h in holders])
    assert record.snapshot() == ["W1", "R1"]


# -- trylocks ---------------------------------------------------------------------------


def test_trylocks_never_block() -> None:
    sem = RwSemaphore()
    record = Record()
    # Free.
    assert sem.down_read_trylock()
    sem.up_read()
    assert sem.down_write_trylock()
    sem.up_write()
    # Write-held by another thread.
    writer = Holder(sem, "write", "W", record)
    wait_until(lambda: stats_of(sem).writer == "W", what="W holds")
    assert sem.down_read_trylock() is False
    assert sem.down_write_trylock() is False
    writer.release()
    writer.join()
    # Read-held by another thread.
    reader = Holder(sem, "read", "R", record)
    wait_until(lambda: stats_of(sem).readers == 1, what="R holds")
    assert sem.down_write_trylock() is False
    assert sem.down_read_trylock() is True
    sem.up_read()
    # Read-held with a writer queued: readers no longer get in.
    queued = Holder(sem, "write", "W2", record)
    wait_queued(sem, writers=1)
    assert sem.down_read_trylock() is False
    assert sem.down_write_trylock() is False
    reader.release()
    queued.release()
    join_all([reader.worker, queued.worker])
    assert stats_of(sem).read_contended == 0


# -- timeouts ---------------------------------------------------------------------------


def test_write_timeout_expires_and_leaves_no_trace() -> None:
    sem = RwSemaphore()
    assert sem.down_read()
    assert spawn(sem.down_write, 0.05, name="impatient").result() is False
    stats = stats_of(sem)
    assert (stats.waiting_writers, stats.timeouts, stats.write_contended) == (0, 1, 0)
    assert not sem.is_contended()
    assert sem.down_read_trylock()  # nothing stale left in the queue
    sem.up_read()
    sem.up_read()
    assert sem.down_write_trylock()
    sem.up_write()


def test_read_timeout_expires_and_leaves_no_trace() -> None:
    sem = RwSemaphore()
    assert sem.down_write()
    assert spawn(sem.down_read, 0.05, name="impatient").result() is False
    assert spawn(sem.down_read, 0, name="zero").result() is False
    stats = stats_of(sem)
    assert (stats.waiting_readers, stats.timeouts, stats.read_contended) == (0, 2, 0)
    sem.up_write()
    assert not sem.is_locked()


def test_timeout_is_not_hit_when_the_lock_comes_in_time() -> None:
    sem = RwSemaphore()
    assert sem.down_write()
    waiter = spawn(sem.down_read, 10.0, name="patient")
    wait_queued(sem, readers=1)
    sem.up_write()
    assert waiter.result() is True
    assert stats_of(sem).timeouts == 0
    sem.up_read()  # read holds are not owned: the main thread may release it


def test_timed_out_head_writer_lets_readers_behind_it_in() -> None:
    sem = RwSemaphore()
    record = Record()
    assert sem.down_read()
    writer = spawn(sem.down_write, 0.5, name="W")
    wait_queued(sem, writers=1)
    reader = Holder(sem, "read", "R", record)
    wait_until(
        lambda: stats_of(sem).waiting_readers == 1 or stats_of(sem).timeouts == 1,
        what="R queued behind W",
    )
    assert stats_of(sem).timeouts == 0, "W timed out before R queued; machine too slow"
    assert writer.result() is False
    wait_until(lambda: record.snapshot() == ["R"], what="R granted after W gave up")
    stats = stats_of(sem)
    assert (stats.readers, stats.timeouts, stats.read_contended) == (2, 1, 1)
    reader.release()
    reader.join()
    sem.up_read()


class _Interrupted(Exception):
    pass


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_interrupted_wait_leaves_the_queue() -> None:
    assert threading.current_thread() is threading.main_thread()
    sem = RwSemaphore()
    record = Record()
    reader = Holder(sem, "read", "R", record)
    wait_until(lambda: stats_of(sem).readers == 1, what="R holds")

    def interrupt_main_once_queued() -> None:
        wait_queued(sem, writers=1)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    def on_sigint(signum: int, frame: object) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        interrupter = spawn(interrupt_main_once_queued, name="interrupter")
        with pytest.raises(_Interrupted):
            sem.down_write()
    finally:
        signal.signal(signal.SIGINT, previous)
    interrupter.join()
    stats = stats_of(sem)
    assert (stats.waiting_writers, stats.timeouts, stats.writer) == (0, 0, None)
    reader.release()
    reader.join()
    assert sem.down_write_trylock()
    sem.up_write()


def test_negative_timeout_is_rejected() -> None:
    sem = RwSemaphore()
    with pytest.raises(ValueError, match=r"^timeout must be >= 0 or None, not -1(\.0)?$"):
        sem.down_read(timeout=-1)
    with pytest.raises(ValueError, match=r"^timeout must be >= 0 or None, not -0.5$"):
        sem.down_write(timeout=-0.5)
    with pytest.raises(ValueError, match=r"^max_readers_wakeup must be >= 1, not 0$"):
        RwSemaphore(max_readers_wakeup=0)


# -- misuse -----------------------------------------------------------------------------


def test_misuse_raises_with_specific_messages() -> None:
    sem = RwSemaphore()
    with pytest.raises(RuntimeError, match=_UP_READ_ERROR):
        sem.up_read()
    with pytest.raises(RuntimeError, match=_UP_WRITE_ERROR):
        sem.up_write()
    with pytest.raises(
        RuntimeError,
        match=r"^downgrade_write\(\) by a thread that does not hold the write lock$",
    ):
        sem.downgrade_write()
    assert sem.down_write()
    with pytest.raises(
        RuntimeError, match=r"^down_write\(\) by the thread already holding the write lock$"
    ):
        sem.down_write()
    with pytest.raises(RuntimeError, match=r"^down_read\(\) by the thread holding the write lock$"):
        sem.down_read(timeout=1)
    with pytest.raises(RuntimeError, match=_UP_READ_ERROR):
        sem.up_read()  # write-held: there are no readers to release
    with pytest.raises(RuntimeError, match=_UP_WRITE_ERROR):
        spawn(sem.up_write, name="intruder").result()
    with pytest.raises(RuntimeError, match=r"^downgrade_write\(\) by a thread that does not"):
        spawn(sem.downgrade_write, name="intruder").result()
    assert sem.is_write_locked()
    sem.up_write()
    assert not sem.is_locked()


def test_read_lock_released_by_another_thread() -> None:
    sem = RwSemaphore()
    assert sem.down_read()
    spawn(sem.up_read, name="other").result()
    stats = stats_of(sem)
    assert (stats.readers, stats.reader_threads) == (0, ())


# -- queries and statistics -------------------------------------------------------------


def test_queries() -> None:
    sem = RwSemaphore()
    assert not sem.is_locked()
    assert not sem.is_write_locked()
    assert not sem.is_contended()
    with sem.write_locked():
        assert sem.is_locked()
        assert sem.is_write_locked()
        assert sem.held_by_current_thread_for_write()
        assert spawn(sem.held_by_current_thread_for_write).result() is False
    with sem.read_locked():
        assert sem.is_locked()
        assert not sem.is_write_locked()
        assert not sem.held_by_current_thread_for_write()
    assert not sem.is_locked()


def test_statistics_uncontended() -> None:
    sem = RwSemaphore()
    me = threading.current_thread().name
    assert stats_of(sem) == RwSemaphoreStatistics(
        readers=0,
        reader_threads=(),
        writer=None,
        waiting_readers=0,
        waiting_writers=0,
        read_acquisitions=0,
        write_acquisitions=0,
        read_contended=0,
        write_contended=0,
        read_wait_total_s=0.0,
        write_wait_total_s=0.0,
        read_wait_max_s=0.0,
        write_wait_max_s=0.0,
        timeouts=0,
    )
    sem.down_read()
    sem.down_read()
    stats = stats_of(sem)
    assert (stats.readers, stats.reader_threads) == (2, (me,))
    sem.up_read()
    sem.up_read()
    with sem.write_locked():
        assert stats_of(sem).writer == me
    stats = stats_of(sem)
    assert (stats.read_acquisitions, stats.write_acquisitions) == (2, 1)
    assert (stats.read_contended, stats.write_contended) == (0, 0)
    assert stats.read_wait_total_s == stats.write_wait_total_s == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.readers = 5  # type: ignore[misc]


def test_statistics_wait_times() -> None:
    sem = RwSemaphore()
    record = Record()
    started = time.monotonic()
    assert sem.down_read()
    writer = Holder(sem, "write", "W", record)
    wait_queued(sem, writers=1)
    seen_queued = time.monotonic()
    before_release = time.monotonic()
    sem.up_read()
    wait_until(lambda: stats_of(sem).writer == "W", what="W granted")
    writer.release()
    writer.join()
    finished = time.monotonic()
    stats = stats_of(sem)
    assert stats.write_contended == 1
    assert stats.write_wait_max_s == stats.write_wait_total_s
    assert before_release - seen_queued <= stats.write_wait_total_s <= finished - started
    assert stats.read_wait_total_s == 0.0
    assert stats.read_wait_max_s == 0.0


def test_statistics_reader_threads_follow_holders() -> None:
    sem = RwSemaphore()
    record = Record()
    gate = threading.Event()
    a = Holder(sem, "read", "A", record, gate)
    wait_until(lambda: stats_of(sem).readers == 1, what="A holds")
    b = Holder(sem, "read", "B", record, gate)
    wait_until(lambda: stats_of(sem).readers == 2, what="B holds")
    assert stats_of(sem).reader_threads == ("A", "B")
    gate.set()
    join_all([a.worker, b.worker])
    assert stats_of(sem).reader_threads == ()


# -- randomized mixed workload -------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_mixed_workload_keeps_invariants(seed: int) -> None:
    """Readers, writers, downgraders, trylocks and short timeouts, chosen by ``seed``."""
    rng = random.Random(seed)
    sem = RwSemaphore(max_readers_wakeup=3)
    check = threading.Lock()
    state = {"readers": 0, "writers": 0}
    violations = Record()

    def enter(kind: str) -> None:
        with check:
            state[kind] += 1
            if state["writers"] > 1 or (state["writers"] and state["readers"]):
                violations.append((seed, dict(state)))

    def leave(kind: str) -> None:
        with check:
            state[kind] -= 1

    def worker(worker_seed: int) -> None:
        local = random.Random(worker_seed)
        for _ in range(40):
            action = local.choice(["read", "write", "downgrade", "tryread", "trywrite", "timed"])
            if action == "read":
                sem.down_read()
                enter("readers")
                time.sleep(0)
                leave("readers")
                sem.up_read()
            elif action in ("write", "downgrade"):
                sem.down_write()
                enter("writers")
                time.sleep(0)
                leave("writers")
                if action == "downgrade":
                    sem.downgrade_write()
                    enter("readers")
                    time.sleep(0)
                    leave("readers")
                    sem.up_read()
                else:
                    sem.up_write()
            elif action == "tryread":
                if sem.down_read_trylock():
                    enter("readers")
                    leave("readers")
                    sem.up_read()
            elif action == "trywrite":
                if sem.down_write_trylock():
                    enter("writers")
                    leave("writers")
                    sem.up_write()
            elif sem.down_write(timeout=local.choice([0, 0.0005, 0.002])):
                enter("writers")
                leave("writers")
                sem.up_write()

    workers = [spawn(worker, rng.randrange(1 << 30), name=f"w{i}") for i in range(6)]
    join_all(workers, timeout=30)
    assert violations.snapshot() == [], f"seed={seed}"
    stats = stats_of(sem)
    assert (stats.readers, stats.writer, stats.waiting_readers, stats.waiting_writers) == (
        0,
        None,
        0,
        0,
    ), f"seed={seed}"
    assert not sem.is_locked()
