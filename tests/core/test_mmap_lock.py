"""mmap_lock and its sequence count (include/linux/mmap_lock.h): odd while write-locked, bumped
again on unlock and downgrade, speculation API, and rwsem queueing as seen through it."""

from __future__ import annotations

import pytest

from core import MmapLock
from tests.concurrency import spawn, wait_until


def test_seq_is_odd_exactly_while_write_locked() -> None:
    lock = MmapLock()
    assert lock.seq == 0
    lock.write_lock()
    assert lock.seq == 1 and lock.is_write_locked()
    lock.write_unlock()
    assert lock.seq == 2 and not lock.is_write_locked()
    lock.read_lock()
    assert lock.seq == 2  # read locking never touches the count
    lock.read_unlock()


def test_downgrade_ends_the_write_cycle_but_keeps_writers_out() -> None:
    lock = MmapLock()
    lock.write_lock()
    lock.write_downgrade()
    assert lock.seq == 2
    assert not lock.write_trylock()  # the downgraded holder is a reader
    assert lock.read_trylock()  # other readers may share (no writer queued)
    lock.read_unlock()
    lock.read_unlock()
    assert lock.write_trylock()
    lock.write_unlock()


def test_speculation_fails_while_write_locked_and_detects_any_cycle() -> None:
    lock = MmapLock()
    ok, seq = lock.speculate_try_begin()
    assert ok and not lock.speculate_retry(seq)
    lock.write_lock()
    assert lock.speculate_try_begin() == (False, 1)
    lock.write_unlock()
    assert lock.speculate_retry(seq)  # a write-lock cycle happened in between
    lock.read_lock()
    ok, seq = lock.speculate_try_begin()
    assert ok  # always succeeds under the read lock
    lock.read_unlock()


def test_unlock_without_holding_raises() -> None:
    lock = MmapLock()
    with pytest.raises(RuntimeError, match=r"^mmap_write_unlock without holding mmap_lock"):
        lock.write_unlock()
    with pytest.raises(RuntimeError, match=r"^mmap_write_downgrade without holding"):
        lock.write_downgrade()


def test_waiting_writer_blocks_later_readers() -> None:
    """One slow maps reader holding mmap_lock stalls every later fault behind a writer."""
    lock = MmapLock()
    lock.read_lock()  # the slow reader

    def write_cycle() -> None:
        lock.write_lock()
        lock.write_unlock()

    def read_cycle() -> None:
        lock.read_lock()
        lock.read_unlock()

    writer = spawn(write_cycle)
    wait_until(lambda: lock.statistics().rwsem.waiting_writers == 1, what="writer queued")
    assert not lock.read_trylock()  # a fault's trylock fails behind the queued writer
    fault = spawn(read_cycle)
    wait_until(lambda: lock.statistics().rwsem.waiting_readers == 1, what="reader queued")
    assert lock.statistics().rwsem.readers == 1
    lock.read_unlock()  # the writer goes first, then the queued reader
    writer.join()
    fault.join()
    stats = lock.statistics()
    assert stats.seq == 2 and stats.write_cycles == 1
    assert stats.rwsem.write_contended == 1 and stats.rwsem.read_contended == 1
