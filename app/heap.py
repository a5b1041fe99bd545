"""The cyclic garbage collector and the engine's long-lived objects.

Design note
===========
CPython's cyclic GC (3.11, ``Modules/gcmodule.c``) runs a *full* collection, a
traversal of every object it tracks, once ten collections of the middle generation have
happened and the objects that reached the oldest generation since the last full
collection exceed a quarter of those that one kept. A heap that grows from little to
``N`` tracked objects is therefore traversed about ``5 N`` objects in all (each full
collection sees 1.25x the previous one), on whichever thread happens to allocate: the
event loop's as often as the engine's worker. Building 220,000 VMAs through
``POST /processes/{pid}/syscalls`` ran 12 of them, 15 µs of the server's ~50 µs of CPU
per operation (docs/performance.md, "Through the REST API").

They find next to nothing in the engine. A VMA lives until ``munmap`` and is then freed
by its reference count: the tree drops it and nothing else holds it, and ``exit_mmap``
unmaps every VMA of an exiting process. What the engine does leave to the collector is
a constant per process and per call, whatever the VMAs: an exited process's empty mm
(its tree, locks, counters and fd table refer to each other) and the closure of
``mmap_region``'s abort path (``tests/app/test_heap.py`` checks both: the same garbage
for 32 and for 512 VMAs, and never a VMA, page or anon_vma). mypyc's native classes are
tracked like any class (mypyc has no way to opt a class out: mypyc/mypyc#658), so the
compiled engine pays the same.

So after a batch of at least ``VMASIM_GC_FREEZE_BATCH`` executed operations (the bulk
work that grows the heap: :class:`app.settings.Settings`), :func:`after_bulk_batch`
moves every tracked object into the collector's permanent generation (``gc.freeze()``,
O(1): a list splice). Later collections skip those objects; reference counting still
frees each one the moment it is dropped, as before. The cost is that a *cycle* among
frozen objects that becomes garbage is not collected while frozen (the mm of a process
that exits, a request's exception and its traceback). That is bounded: whenever the
frozen objects have doubled since the last collection of the whole heap (or since the
first freeze, which takes the heap the service started with as it is), they are thawed
(``gc.unfreeze()``) and collected (``gc.collect()``, O(heap)) before being frozen again;
so a growing heap is traversed about ``2 N`` objects in all instead of ``5 N``, and the
cyclic garbage held at any time is at most what was frozen since the last such
collection. The frozen objects are counted as they are frozen (the young generations'
sizes: ``gc.get_freeze_count()`` walks every frozen object, 53 ms at 220,000 VMAs, too
much for every batch), and recounted exactly only when that count says doubled: it
counts objects that were freed since, such as each batch's own op models, so it is
divided by the ratio of counted to real growth that the last exact count showed.

With the old objects frozen, CPython's quarter rule compares the young survivors with
the few objects the last full collection kept, so it no longer spaces full collections
out and its count rule alone (every 10 middle-generation collections, about 70,000
allocations) would trigger them, each over the objects of the batch still alive. The
first freeze therefore also raises that count to :data:`OLDEST_THRESHOLD`. Measured
(docs/performance.md, "Through the REST API"): 220,000 VMAs built through the REST API
spent 19.1 µs of server CPU per operation in collections with CPython's rules (12 full
collections), 8.2-8.7 µs with these; 2,200,000 VMAs without a state file took 56.2 s of
wall time against 115.0 s, side by side.

A machine loaded at start (a checkpoint, a journal's replay: :func:`after_restore`,
called by :meth:`app.persistence.StateKeeper.restore`) is the same kind of heap, built
all at once with the collector paused (:func:`core.checkpoint.paused_gc`): re-enabled,
the collector would find every loaded object in its youngest generation and traverse
them all in that generation's next collection, again in the middle one's, then in the
next full collections, before any bulk batch freezes them. So a restore that loaded at
least ``VMASIM_GC_FREEZE_BATCH`` VMAs and replayed operations freezes them too. Measured
(docs/performance.md, "The REST build with the journal"): after a checkpoint of 440,000
VMAs, 100,001 operations in batches of 500 spent 0.44-0.49 s in collections of the older
generations (one full) against 1.18-1.38 s (two full) without.

Any thread: the bookkeeping is done under :data:`_LOCK` (the routes call it on the
event loop, restores run in worker threads, several machines may restore at once);
``gc.freeze`` and ``gc.collect`` themselves are safe against the other threads.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass


@dataclass
class HeapStatistics:
    """What :func:`after_bulk_batch` did in this process."""

    freezes: int = 0
    collections: int = 0
    collection_seconds: float = 0.0
    collected_at: int = 0
    """Objects frozen right after the last collection of the whole heap."""
    frozen: int = 0
    """Objects frozen at the last exact count (or collection)."""
    counted: int = 0
    """Objects frozen since then, counted as they were frozen (freed ones included)."""
    overcount: float = 1.0
    """Counted per really added frozen object, at the last exact count."""
    recounts: int = 0
    """Exact counts taken (``gc.get_freeze_count()``) when the running one said doubled."""


STATISTICS = HeapStatistics()
_LOCK = threading.Lock()

OLDEST_THRESHOLD = 100
"""Middle-generation collections between two full ones once the heap is frozen (CPython's
default is 10): see the module note."""


def _unfrozen() -> int:
    """Objects the collector tracks outside its permanent generation. O(those objects)."""
    return sum(len(gc.get_objects(generation)) for generation in range(3))


def after_bulk_batch(executed: int, threshold: int) -> None:
    """Freeze the heap's tracked objects after a batch of ``executed`` operations, when
    ``threshold`` (``VMASIM_GC_FREEZE_BATCH``; 0: never) is reached; collect the whole
    heap first whenever the frozen objects have doubled since the last time (module
    note). O(objects allocated since the last freeze), or O(heap) at a doubling."""
    if threshold == 0 or executed < threshold:
        return
    with _LOCK:
        _freeze()


def after_restore(loaded: int, threshold: int) -> None:
    """Freeze the heap after a machine was loaded (module note): ``loaded`` VMAs and
    replayed operations, the bulk work, against ``threshold`` (``VMASIM_GC_FREEZE_BATCH``;
    0: never) as for a batch. The first freeze takes the heap as it is as the base of
    the doubling, so nothing is traversed now. O(objects not yet frozen) for their
    count."""
    if threshold == 0 or loaded < threshold:
        return
    with _LOCK:
        _freeze()


def _freeze() -> None:
    """The freeze itself (module note). Caller holds :data:`_LOCK`."""
    stats = STATISTICS
    young, middle, oldest = gc.get_threshold()
    if oldest < OLDEST_THRESHOLD:
        gc.set_threshold(young, middle, OLDEST_THRESHOLD)
    if stats.freezes == 0:
        # The heap as the service started, or as a restore left it: the base of the
        # doubling. Frozen, then counted by gc.get_freeze_count(), a walk of the frozen
        # objects that builds no list of them (a restored heap holds millions).
        gc.freeze()
        stats.frozen = stats.collected_at = gc.get_freeze_count()
        stats.freezes += 1
        return
    unfrozen = _unfrozen()
    # Objects freed while frozen (each batch's own op models, among others) are not
    # subtracted as they go: the count is corrected by the ratio of counted to real
    # growth seen at the last exact count, and taken exactly (a walk of the frozen
    # objects, a fraction of a collection's cost) when it says doubled.
    stats.counted += unfrozen
    if stats.frozen + stats.counted / stats.overcount >= 2 * stats.collected_at:
        exact = gc.get_freeze_count() + unfrozen
        if exact > stats.frozen:
            stats.overcount = max(1.0, stats.counted / (exact - stats.frozen))
        stats.frozen, stats.counted = exact, 0
        stats.recounts += 1
    if stats.frozen >= 2 * stats.collected_at:
        t0 = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        stats.frozen = stats.collected_at = len(gc.get_objects(2))  # every survivor
        stats.collections += 1
        stats.collection_seconds += time.perf_counter() - t0
    gc.freeze()
    stats.freezes += 1
