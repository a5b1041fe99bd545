"""The event counters of ``/proc/vmstat`` the simulator keeps (mm/vmstat.c).

``vma_lock_success``/``abort``/``retry``/``miss`` are the per-VMA-lock events
(``count_vm_vma_lock_event``, include/linux/vm_event_item.h, shown only with
``CONFIG_PER_VMA_LOCK_STATS``); ``pgfault`` and ``pgmajfault`` are counted by
``mm_account_fault`` (mm/memory.c); ``unevictable_pgs_mlocked``/``munlocked`` by
``mlock_folio``/``mlock_new_folio`` and ``__munlock_folio`` (mm/mlock.c, see
:mod:`core.pages`). Each mm has a :class:`VmEvents` whose ``parent``
is its Kernel's machine-wide set, so one increment shows in both.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["VmEventStatistics", "VmEvents"]


@dataclass(frozen=True)
class VmEventStatistics:
    """The per-VMA-lock vmstat events (``/proc/vmstat``, include/linux/vm_event_item.h), the
    fault counts (``pgfault``, ``pgmajfault``) and the folios mlocked and munlocked."""

    vma_lock_success: int
    vma_lock_abort: int
    vma_lock_retry: int
    vma_lock_miss: int
    pgfault: int
    pgmajfault: int
    unevictable_pgs_mlocked: int
    unevictable_pgs_munlocked: int


class VmEvents:
    """A set of event counters, per process or machine-wide (``count_vm_vma_lock_event``).

    Thread-safe without a lock, like the kernel's per-CPU counters: each counter is an
    ``itertools.count``, whose ``next()`` is one atomic C call under the GIL. Reading a
    value parses the counter's ``repr`` (no API reads it without advancing it); a
    snapshot is therefore not atomic across counters, exactly as summing per-CPU
    counters is not. Counting an event also counts it in :attr:`parent` (the Kernel's
    machine-wide set).
    """

    _FIELDS = tuple(VmEventStatistics.__dataclass_fields__)

    def __init__(self, parent: VmEvents | None = None) -> None:
        self._counters = {name: itertools.count(1) for name in self._FIELDS}
        #: Bulk additions (:meth:`count_many`), beside the one-at-a-time counters.
        self._bulk = dict.fromkeys(self._FIELDS, 0)
        self._bulk_lock = threading.Lock()
        self._parent: VmEvents | None = None
        self._bump: dict[str, tuple[Callable[[], int], ...]] = {}
        self.parent = parent

    @property
    def parent(self) -> VmEvents | None:
        """The set every event is also counted in (None: none)."""
        return self._parent

    @parent.setter
    def parent(self, parent: VmEvents | None) -> None:
        self._parent = parent
        self._bump = {
            name: (self._counters[name].__next__,)
            + ((parent._counters[name].__next__,) if parent is not None else ())
            for name in self._FIELDS
        }
        #: What a minor fault completed under the VMA lock counts: vma_lock_success
        #: and pgfault, here and in the parent.
        self.fast_path_bumps = self._bump["vma_lock_success"] + self._bump["pgfault"]

    def count(self, event: str) -> None:
        """Add one to ``event`` here and in the parent. O(1), lock-free."""
        for bump in self._bump[event]:
            bump()

    def count_many(self, event: str, n: int) -> None:
        """Add ``n`` to ``event`` here and in the parent (a populate that mapped a run
        of pages at once, ``count_vm_events``). O(1)."""
        with self._bulk_lock:
            self._bulk[event] += n
        if self._parent is not None:
            self._parent.count_many(event, n)

    def statistics(self) -> VmEventStatistics:
        """The counters' current values. O(1)."""
        bulk = self._bulk
        return VmEventStatistics(
            **{name: int(repr(c)[6:-1]) - 1 + bulk[name] for name, c in self._counters.items()}
        )
