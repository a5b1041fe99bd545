"""app.heap: the engine leaves the cyclic GC nothing to find, and bulk batches freeze the
heap (collecting it whole when it has doubled)."""

from __future__ import annotations

import gc
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from app import heap
from app.main import create_app
from app.persistence import StateKeeper
from app.service import Service
from app.settings import Settings, SettingsError
from core import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, Kernel
from core.checkpoint import dump_kernel, write_state

P = 4096
BASE = 0x7F0000000000


@pytest.fixture
def fresh_heap() -> Iterator[None]:
    """The collector as it was (thresholds, nothing frozen, other tests' garbage
    collected) and fresh statistics."""
    threshold = gc.get_threshold()
    saved = heap.STATISTICS
    heap.STATISTICS = heap.HeapStatistics()
    gc.unfreeze()
    gc.collect()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        heap.STATISTICS = saved


def engine_cycles(kernel: Kernel, work: Callable[[Kernel], None]) -> Counter[str]:
    """The engine's objects, by type, among the cyclic garbage that ``work(kernel)``
    leaves (the caller keeps the kernel alive, as the service does)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        work(kernel)
        kernel.rcu.barrier()
        gc.collect()
        return Counter(
            type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("core")
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


#: How close a recorded count must be to ``gc.get_freeze_count()`` read later: 1/20. Other
#: threads of this process (other tests' live servers) free frozen objects meanwhile;
#: 1/100 failed, off by about 3,000 of some 300,000, in 2 of 6 runs under xdist.
TOLERANCE = 20


def build_fork_exit(n: int) -> Callable[[Kernel], None]:
    """A process of ``n`` VMAs (one mmap, mprotect of every other page), faulted, forked
    (COW breaks on both sides), partly unmapped; both processes exit."""

    def work(kernel: Kernel) -> None:
        proc = kernel.spawn(name="heap")
        mm = proc.mm
        mm.mmap(BASE, n * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
        for i in range(1, n, 2):
            mm.mprotect(BASE + i * P, P, PROT_READ)
        for i in range(0, n, 2):
            mm.fault(BASE + i * P, "write")
        child = kernel.fork(proc.pid)
        child.mm.fault(BASE, "write")  # a COW break in the child
        mm.fault(BASE + 2 * P, "write")  # and one in the parent
        mm.munmap(BASE, n // 4 * P)
        kernel.exit(child.pid)
        mm.munmap(BASE + n // 4 * P, n // 8 * P)
        kernel.exit(proc.pid)

    return work


def test_the_engine_frees_its_vmas_without_the_cyclic_collector() -> None:
    """What makes freezing cheap to bound (app.heap's note): splits, faults, fork (COW,
    anon_vma chains), munmap and exit leave no VMA, page or anon_vma in a cycle. What
    they do leave is a constant per process and per call, whatever its VMAs: an exited
    process's empty mm (its tree, locks and counters, its fd table) and the closure of
    ``mmap_region``'s abort path (the compiled engine's environment object)."""
    kernels = Kernel(), Kernel()
    small = engine_cycles(kernels[0], build_fork_exit(32))
    big = engine_cycles(kernels[1], build_fork_exit(512))
    per_vma = {"Vma", "AnonVma", "AnonVmaChain", "Page", "AnonPage", "AnonRun"}
    for census in small, big:
        assert not per_vma & set(census), census
        assert census["Mm"] >= 1, census  # the census sees an exited process's shell
    # Constant, not per VMA: a leak per VMA would leave at least 512 objects. (Other
    # threads of this process, other tests' live servers, may add shells of their own
    # meanwhile: 148 were seen under xdist, so the bound is not a tighter constant.)
    assert sum(big.values()) < 512, big


def test_freezing_follows_the_threshold_and_collects_at_each_doubling(fresh_heap: None) -> None:
    heap.after_bulk_batch(999, 1000)  # below the threshold: nothing
    heap.after_bulk_batch(5000, 0)  # 0: never
    assert heap.STATISTICS.freezes == 0 and gc.get_freeze_count() == 0
    heap.after_bulk_batch(1000, 1000)  # the first freeze takes the heap as it is
    stats = heap.STATISTICS
    assert (stats.freezes, stats.collections) == (1, 0)
    assert stats.collected_at > 0
    assert abs(gc.get_freeze_count() - stats.collected_at) < stats.collected_at / TOLERANCE
    assert gc.get_threshold()[2] == heap.OLDEST_THRESHOLD
    heap.after_bulk_batch(1000, 1000)  # not doubled: a freeze alone
    assert (stats.freezes, stats.collections, stats.recounts) == (2, 0, 0)
    # The heap doubles, with a tenth to spare: other threads of the test process free
    # frozen objects meanwhile (+1,000 alone once fell short under load).
    kept = [[i] for i in range(stats.collected_at * 11 // 10 + 1000)]
    heap.after_bulk_batch(1000, 1000)
    assert (stats.freezes, stats.collections, stats.recounts) == (3, 1, 1)
    assert stats.collected_at >= len(kept)
    # The count is the collector's own after a collection.
    assert abs(stats.frozen - gc.get_freeze_count()) < stats.frozen / TOLERANCE
    heap.after_bulk_batch(1000, 1000)
    assert (stats.freezes, stats.collections) == (4, 1)


def test_objects_freed_while_frozen_are_recounted_not_collected(fresh_heap: None) -> None:
    heap.after_bulk_batch(1, 1)
    stats = heap.STATISTICS
    base = stats.collected_at
    passing = [[i] for i in range(base * 6 // 10)]  # a batch's models: frozen, then freed
    heap.after_bulk_batch(1, 1)
    del passing
    again = [[i] for i in range(base * 6 // 10)]
    heap.after_bulk_batch(1, 1)  # counted 2.2x the base, really 1.6x: recounted only
    assert (stats.collections, stats.recounts) == (0, 1)
    assert abs(stats.frozen - gc.get_freeze_count()) < stats.frozen / TOLERANCE
    assert 1.8 < stats.overcount < 2.2  # 1.2x the base counted for 0.6x added
    # 0.45x more counted, frozen and freed: 2.05x uncorrected, 1.83x corrected.
    passing = [[i] for i in range(base * 45 // 100)]
    heap.after_bulk_batch(1, 1)
    del passing
    heap.after_bulk_batch(1, 1)
    assert (stats.collections, stats.recounts) == (0, 1)
    del again


def test_a_frozen_cycle_is_collected_at_the_next_doubling(fresh_heap: None) -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    heap.after_bulk_batch(1, 1)
    cycle = Node()
    alive = weakref.ref(cycle)
    heap.after_bulk_batch(1, 1)  # the cycle is frozen while alive
    del cycle
    gc.collect()
    assert alive() is not None  # garbage now, but frozen: not collected
    kept = [[i] for i in range(2 * heap.STATISTICS.collected_at)]
    heap.after_bulk_batch(1, 1)  # frozen count doubled: thaw, collect, freeze
    assert heap.STATISTICS.collections == 1
    assert alive() is None
    del kept


def test_a_bulk_batch_through_the_route_freezes_the_heap(fresh_heap: None) -> None:
    app = create_app(Settings(gc_freeze_batch=4))
    op = {"op": "brk", "addr": 0}

    async def main() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            pid = (await c.post("/processes", json={})).json()["pid"]
            small = await c.post(f"/processes/{pid}/syscalls", json={"ops": [op] * 3})
            assert small.status_code == 200, small.text
            before = heap.STATISTICS.freezes
            bulk = await c.post(f"/processes/{pid}/syscalls", json={"ops": [op] * 4})
            assert bulk.status_code == 200 and bulk.json()["completed"] == 4
            return before, heap.STATISTICS.freezes

    assert anyio.run(main) == (0, 1)
    assert gc.get_freeze_count() > 0


def test_the_setting() -> None:
    assert Settings().gc_freeze_batch == 1000
    assert Settings.from_env({"VMASIM_GC_FREEZE_BATCH": "0"}).gc_freeze_batch == 0
    with pytest.raises(SettingsError, match="VMASIM_GC_FREEZE_BATCH"):
        Settings.from_env({"VMASIM_GC_FREEZE_BATCH": "-1"})


@pytest.mark.parametrize("threshold", [1000, 0, 2500])
def test_a_restored_machine_is_frozen(fresh_heap: None, tmp_path: Path, threshold: int) -> None:
    """What a restore loads (here a checkpoint of a process of 2,000 VMAs) is frozen at
    once, as the base of the doubling; not with the setting at 0, nor when the machine
    is smaller than the setting (bulk work only, as for batches)."""
    kernel = Kernel()
    proc = kernel.spawn("big")
    for i in range(2000):
        proc.mm.mmap(
            BASE + 2 * i * P, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
        )
    path = tmp_path / "state.json"
    write_state(dump_kernel(kernel), str(path))
    del kernel, proc
    gc.collect()
    keeper = StateKeeper(Service(Settings(gc_freeze_batch=threshold)), str(path), 0, "checkpoint")
    assert keeper.restore()
    assert keeper.service.kernel.processes()[0].mm.map_count == 2000
    if threshold in (0, 2500):
        assert heap.STATISTICS.freezes == 0 and gc.get_freeze_count() == 0
        return
    stats = heap.STATISTICS
    assert stats.freezes == 1 and stats.collections == 0
    # Every VMA is a tracked object, now frozen and counted (a few freed since).
    assert stats.frozen == stats.collected_at >= gc.get_freeze_count() > 2000
    assert gc.get_threshold()[2] == heap.OLDEST_THRESHOLD
