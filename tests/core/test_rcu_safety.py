"""RCU safety under concurrency: lock-free readers never touch a freed VMA.

Writer threads run random mmap/munmap/mprotect/mremap in an arena; reader threads walk
the tree under ``rcu.read_section()`` reading every VMA's fields, and lock VMAs the way
``lock_vma_under_rcu`` does (walk, ``vma_start_read``, re-check the range). Freed VMAs
are poisoned, so any use after free raises in the reader (``check_live``,
``vma_start_read``) and fails the test. Bounded by
an operation count, seeded, with the seed in every failure message."""

from __future__ import annotations

import random
import threading

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    SyscallError,
)
from core.vma import check_live
from core.vma_lock import ReadLockFailure, vma_end_read, vma_start_read
from tests.concurrency import join_all, spawn

PG = 4096
BASE = 0x100000000000
PAGES = 256


def _writer(m: Mm, seed: int, ops: int) -> None:
    rng = random.Random(seed)
    for _ in range(ops):
        page = rng.randrange(PAGES - 8)
        n = rng.randint(1, 8)
        addr = BASE + page * PG
        try:
            match rng.randrange(4):
                case 0:
                    prot = rng.choice([PROT_READ, PROT_READ | PROT_WRITE])
                    m.mmap(addr, n * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
                case 1:
                    m.munmap(addr, n * PG)
                case 2:
                    m.mprotect(addr, n * PG, rng.choice([PROT_READ, PROT_READ | PROT_WRITE]))
                case _:
                    dest = BASE + rng.randrange(PAGES - 8) * PG
                    m.mremap(addr, n * PG, n * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dest)
        except SyscallError:
            pass


@pytest.mark.parametrize("seed", [1])
def test_lock_free_readers_never_touch_freed_vmas(seed: int) -> None:
    kernel = Kernel()
    mm = kernel.spawn().mm
    rcu = kernel.rcu
    stop = threading.Event()
    counts = {"walks": 0, "locked": 0, "miss": 0, "abort": 0}

    def walker() -> None:
        while not stop.is_set():
            with rcu.read_section():
                prev_end = 0
                for start, end, vma in mm.tree.iter_from(BASE):
                    # What a stray reader of a freed VMA trips (core/vma.py: its range is
                    # poisoned empty, and check_live raises).
                    check_live(vma, "a walk")
                    assert vma.vm_end > vma.vm_start, f"seed {seed}"
                    assert start >= prev_end and end > start, f"seed {seed}"
                    prev_end = end
            counts["walks"] += 1

    def locker(rseed: int) -> None:
        rng = random.Random(rseed)
        lock = mm.mmap_lock
        while not stop.is_set():
            addr = BASE + rng.randrange(PAGES) * PG
            rcu.read_lock()
            entry = mm.tree.walk(addr)
            if entry is None:
                rcu.read_unlock()
                continue
            vma = entry[2]
            failure = vma_start_read(lock, vma, mm)
            rcu.read_unlock()
            if failure is None:
                # Pinned by the refcount: the range re-check may fail (ABORT) but the
                # VMA cannot be freed under us.
                if vma.vm_start <= addr < vma.vm_end:
                    counts["locked"] += 1
                else:
                    counts["abort"] += 1
                vma_end_read(lock, vma)
            elif failure is ReadLockFailure.DETACHED:
                counts["miss"] += 1
            else:
                counts["abort"] += 1

    readers = [spawn(walker), spawn(locker, seed * 10), spawn(locker, seed * 10 + 1)]
    writers = [spawn(_writer, mm, seed * 100 + i, 300) for i in range(2)]
    join_all(writers, timeout=50)
    stop.set()
    join_all(readers, timeout=10)
    kernel.rcu.barrier()
    mm._check()
    assert counts["walks"] > 0 and counts["locked"] > 0, counts
    assert kernel.rcu.statistics().callback_errors == 0
