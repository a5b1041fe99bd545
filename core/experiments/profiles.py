"""Locking profiles (which kernel era a process behaves like) and the cost model.

Design note
===========

Profiles (:data:`PROFILES`), selectable per process so one run compares them:

``mmap_lock``  -- before 6.4: every fault takes ``mmap_lock`` for read
                  (``lock_mm_and_find_vma``); maps is read under ``mmap_lock``.
``per_vma``    -- 6.4 to 6.16: faults try ``lock_vma_under_rcu`` first; maps is
                  still read under ``mmap_lock``.
``per_vma_maps`` -- 6.17+: faults and maps reads both use per-VMA locks.

The maps reader of any profile can be overridden (``reader="seqcount"``: the
speculative walk validated by ``mm_lock_seq``, ``mmap_lock`` after its retries).

Under the GIL, lock contention shows only when lock holders spend time the way the
kernel does. :class:`CostModel` makes that time explicit: durations spent in
``time.sleep`` (which releases the GIL) at the place the kernel spends it, holding the
lock the kernel holds there:

* ``fault_page_s`` -- zeroing or copying the page, inside the fault, holding the
  fault's lock (the VMA read lock on the per-VMA path, ``mmap_lock`` for read on the
  fallback);
* ``syscall_s`` -- a writer's work (tree updates, page-table teardown) under
  ``mmap_lock`` for write, charged just before it unlocks or downgrades;
* ``maps_line_s`` -- ``show_map_vma`` formatting one line, holding what the maps
  reader holds for that line;
* ``maps_chunk_copy_s`` -- ``seq_read_iter`` copying a 4 KiB chunk to user space,
  after ``m_stop`` (no lock held);
* ``lowprio_turn_s`` -- a low-priority reader runs one chunk per turn on the CPU and
  then waits ``lowprio_turn_s * k`` for its next turn (``k`` low-priority readers
  share what the higher-priority threads leave, round-robin), and at least long
  enough to keep its CPU time within ``lowprio_cpu_share`` of its run time (CFS gives
  a ``nice 19`` thread 15/1024 of a CPU a ``nice 0`` thread wants). Under the GIL every
  thread would otherwise compete equally, and ten CPU-bound scanners would starve the
  high-priority threads that ``nice 19`` scanners never delay in the kernel;
* ``preempt_s`` -- a low-priority reader (a maps scanner or monitor) that *slept* on
  ``mmap_lock`` is handed the lock by the rwsem (``rwsem_mark_wake`` grants readers
  the lock before they run) and then waits for a CPU while holding it. With ``k``
  low-priority readers sharing the CPU round-robin it waits ``preempt_s * k`` (one
  slice per competitor) when ``preempt_scales`` is set. ``preempt_prob`` is the chance
  that the CPU is busy at that wake-up (1.0: always; drawn from the run's seeded RNG).
  This is the mechanism behind the kernel's ``proc-vs-map`` latencies: the writer, and
  every reader queued behind it, waits for a task that holds the lock but is not
  running. A reader that takes only VMA locks never sleeps on a lock, so it is never
  caught this way -- except when it falls back to ``mmap_lock``.

Locks: :class:`ProfiledLocking` is called from the engine with the lock of the site
held; it takes none itself. Its counters are ``itertools.count`` objects (atomic
under the GIL) so :meth:`ProfiledLocking.statistics` needs no lock either.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Final

from ..errors import InvalidArgument
from ..fault import (
    USER_ADDR_LIMIT,
    VM_FAULT_MAJOR,
    VM_FAULT_RETRY,
    _account,
    _present,
    _result,
    access_error,
    handle_mm_fault,
    lock_mm_and_find_vma,
    lock_vma_under_rcu,
)
from ..maps_reader import READERS
from ..mmap_lock import MmapLock
from ..vma_lock import vma_end_read

if TYPE_CHECKING:
    from ..fault import FaultResult
    from ..mm import Mm
    from ..process import Process
    from ..vma import Vma

__all__ = [
    "DEFAULT_COST",
    "PROFILES",
    "CostModel",
    "LockingProfile",
    "ProfiledLocking",
    "ProfiledMmapLock",
    "ProfileStatistics",
    "apply_profile",
    "low_priority",
]


@dataclass(frozen=True)
class LockingProfile:
    """A kernel era: whether faults try the per-VMA lock and which maps reader it has."""

    name: str
    per_vma_faults: bool
    maps_reader: str
    kernels: str


PROFILES: Final[dict[str, LockingProfile]] = {
    p.name: p
    for p in (
        LockingProfile("mmap_lock", False, "mmap_lock", "before 6.4"),
        LockingProfile("per_vma", True, "mmap_lock", "6.4 to 6.16"),
        LockingProfile("per_vma_maps", True, "per_vma", "6.17 and later"),
    )
}


@dataclass(frozen=True)
class CostModel:
    """GIL-releasing durations, in seconds, charged where the kernel spends time (see the
    module docstring). Printed with every result; any field can be set per run."""

    fault_page_s: float = 300e-6
    syscall_s: float = 300e-6
    maps_line_s: float = 0.0
    maps_chunk_copy_s: float = 200e-6
    lowprio_turn_s: float = 1e-3
    lowprio_cpu_share: float = 0.1
    preempt_s: float = 20e-3
    preempt_prob: float = 1.0
    preempt_scales: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "preempt_scales":
                if not isinstance(value, bool):
                    raise InvalidArgument(f"cost preempt_scales {value!r} is not a bool")
                continue
            fraction = f.name in ("preempt_prob", "lowprio_cpu_share")
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= 1.0
                or (f.name == "lowprio_cpu_share" and value == 0)
            ):
                what = (
                    "a fraction in (0, 1]"
                    if f.name == "lowprio_cpu_share"
                    else (
                        "a probability in [0, 1]" if fraction else "a duration in seconds in [0, 1]"
                    )
                )
                raise InvalidArgument(f"cost {f.name} {value!r} is not {what}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, overrides: dict[str, object]) -> CostModel:
        """A copy with ``overrides`` applied; an unknown field raises InvalidArgument."""
        names = {f.name for f in fields(self)}
        for key in overrides:
            if key not in names:
                raise InvalidArgument(
                    f"unknown cost {key!r}; choose from {', '.join(sorted(names))}"
                )
        return replace(self, **overrides)  # type: ignore[arg-type]


DEFAULT_COST: Final = CostModel()

# -- low-priority threads -----------------------------------------------------------------

_tls = threading.local()


class low_priority:
    """Mark the calling thread as a low-priority reader for the ``with`` body; ``share``
    is how many low-priority readers compete for the CPU (``k``)."""

    def __init__(self, share: int = 1) -> None:
        if not isinstance(share, int) or share < 1:
            raise InvalidArgument(f"low-priority share {share!r} is not an integer >= 1")
        self.share = share

    def __enter__(self) -> low_priority:
        _tls.share = self.share
        _tls.cpu_mark = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        _tls.share = 0


def _share() -> int:
    share: int = getattr(_tls, "share", 0)
    return share


# -- the mm's lock, with the wake-up latency of low-priority readers ----------------------


class ProfiledMmapLock(MmapLock):
    """:class:`~core.mmap_lock.MmapLock` whose contended ``read_lock`` costs a
    low-priority thread its wake-up latency *while holding the lock* (the rwsem grants
    a queued reader the lock before it runs: ``rwsem_mark_wake``). Set by
    :func:`apply_profile`; same state and behaviour otherwise."""

    locking: ProfiledLocking

    def read_lock(self, timeout: float | None = None) -> bool:
        if self.sem.down_read_trylock():
            return True
        if not self.sem.down_read(timeout):
            return False
        share = _share()
        if share:
            self.locking._preempted(share)
        return True


# -- the hooks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileStatistics:
    """What the profile charged: faults by path, preemptions and seconds slept."""

    faults: int
    faults_vma_lock: int
    faults_mmap_lock: int
    faults_retried: int
    preemptions: int
    maps_lines: int
    syscalls: int


class ProfiledLocking:
    """The object installed as ``mm.locking`` (:class:`core.locking.LockingHooks`)."""

    def __init__(
        self, profile: LockingProfile, cost: CostModel, reader: str | None, seed: object = 1
    ) -> None:
        if reader is not None and reader not in READERS:
            raise InvalidArgument(f"unknown maps reader {reader!r}; choose one of {READERS}")
        self.profile = profile
        self.cost = cost
        self.maps_reader = reader or profile.maps_reader
        self._faults = itertools.count()
        self._vma = itertools.count()
        self._mmap = itertools.count()
        self._retried = itertools.count()
        self._preempt = itertools.count()
        self._lines = itertools.count()
        self._syscalls = itertools.count()
        self._sleep: Callable[[float], None] = time.sleep
        self.rng = random.Random(repr(seed))  # random() is one C call: atomic under the GIL

    # cost sites

    def _preempted(self, share: int) -> None:
        cost = self.cost
        if cost.preempt_prob < 1.0 and self.rng.random() >= cost.preempt_prob:
            return
        next(self._preempt)
        if cost.preempt_s:
            self._sleep(cost.preempt_s * (share if cost.preempt_scales else 1))

    def maps_line(self, vma: Vma) -> None:
        """``show_map_vma``: called with the reader's lock for ``vma`` held."""
        next(self._lines)
        if self.cost.maps_line_s:
            self._sleep(self.cost.maps_line_s)

    def syscall(self, mm: Mm, seq_after: int) -> None:
        """``Mm.on_write_unlock``: the writer's work, under ``mmap_lock`` for write."""
        next(self._syscalls)
        if self.cost.syscall_s:
            self._sleep(self.cost.syscall_s)

    def chunk_copied(self) -> None:
        """After a maps ``read()`` (``m_stop`` done, no lock held): ``copy_to_user`` and,
        for a low-priority thread, the wait for its next turn on the CPU: at least
        ``lowprio_turn_s * k``, and long enough that the thread's CPU time stays within
        ``lowprio_cpu_share`` of the time it has run."""
        cost = self.cost
        wait = cost.maps_chunk_copy_s
        share = _share()
        if share:
            now = time.thread_time()
            used = now - getattr(_tls, "cpu_mark", now)
            wait += max(cost.lowprio_turn_s * share, used * (1 / cost.lowprio_cpu_share - 1))
        if wait:
            self._sleep(wait)
        if share:
            _tls.cpu_mark = time.thread_time()

    def _page_work(self) -> None:
        if self.cost.fault_page_s:
            self._sleep(self.cost.fault_page_s)

    # the fault path

    def fault(self, mm: Mm, addr: int, access: str) -> FaultResult:
        """x86 ``do_user_addr_fault`` for this profile, charging ``fault_page_s`` under the
        lock the fault holds. Mirrors :func:`core.fault._fault_once`. Caller holds no lock."""
        next(self._faults)
        if addr >= USER_ADDR_LIMIT:
            segv = ("SIGSEGV", "SEGV_MAPERR")
            return _result(addr, access, 0, "none", 0, None, False, None, segv)
        if not self.profile.per_vma_faults:
            next(self._mmap)
            return self._under_mmap_lock(mm, addr, access, "mmap_lock", 0, False)
        vma, misses = lock_vma_under_rcu(mm, addr)
        if vma is None:
            next(self._mmap)
            return self._under_mmap_lock(mm, addr, access, "mmap_lock", misses, False)
        events = mm.vm_events
        rng = (vma.vm_start, vma.vm_end)
        if access_error(access, vma, _present(vma, addr)):
            vma_end_read(mm.mmap_lock, vma)
            events.count("vma_lock_success")
            return _result(
                addr, access, 0, "vma_lock", misses, rng, False, None, ("SIGSEGV", "SEGV_ACCERR")
            )
        try:
            self._page_work()
            ret, page = handle_mm_fault(mm, vma, addr, access, vma_locked=True)
        finally:
            vma_end_read(mm.mmap_lock, vma)
        if not ret & VM_FAULT_RETRY:
            next(self._vma)
            events.count("vma_lock_success")
            major = _account(mm, ret, tried=False)
            return _result(addr, access, ret, "vma_lock", misses, rng, major, page)
        events.count("vma_lock_retry")
        next(self._retried)
        return self._under_mmap_lock(
            mm, addr, access, "retried", misses, bool(ret & VM_FAULT_MAJOR)
        )

    def _under_mmap_lock(
        self, mm: Mm, addr: int, access: str, path: str, misses: int, tried: bool
    ) -> FaultResult:
        # do_user_addr_fault() from "lock_mmap:" (core.fault._mmap_lock_path).
        while True:
            vma, expanded = lock_mm_and_find_vma(mm, addr)
            if vma is None:
                return _result(
                    addr, access, 0, path, misses, None, False, None, ("SIGSEGV", "SEGV_MAPERR")
                )
            if expanded:
                path = "stack_expanded"
            rng = (vma.vm_start, vma.vm_end)
            if access_error(access, vma, _present(vma, addr)):
                mm.mmap_lock.read_unlock()
                return _result(
                    addr, access, 0, path, misses, rng, False, None, ("SIGSEGV", "SEGV_ACCERR")
                )
            try:
                self._page_work()
                ret, page = handle_mm_fault(mm, vma, addr, access, vma_locked=False)
            finally:
                mm.mmap_lock.read_unlock()
            if ret & VM_FAULT_RETRY:
                tried = True
                continue
            major = _account(mm, ret, tried)
            return _result(addr, access, ret, path, misses, rng, major, page)

    def statistics(self) -> ProfileStatistics:
        """Counters so far. O(1), lock-free (each read parses a counter's repr)."""

        def value(c: itertools.count[int]) -> int:
            return int(repr(c)[6:-1])

        return ProfileStatistics(
            faults=value(self._faults),
            faults_vma_lock=value(self._vma),
            faults_mmap_lock=value(self._mmap),
            faults_retried=value(self._retried),
            preemptions=value(self._preempt),
            maps_lines=value(self._lines),
            syscalls=value(self._syscalls),
        )


def apply_profile(
    proc: Process,
    profile: str | LockingProfile,
    cost: CostModel = DEFAULT_COST,
    reader: str | None = None,
    seed: object = 1,
) -> ProfiledLocking:
    """Put ``proc`` under ``profile`` with ``cost``; ``reader`` overrides the profile's
    maps reader. Call on a process no other thread uses yet (it installs the hooks and
    turns ``mm.mmap_lock`` into a :class:`ProfiledMmapLock`, keeping its state).
    Raises InvalidArgument for an unknown profile or reader, changing nothing."""
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise InvalidArgument(
                f"unknown locking profile {profile!r}; choose one of {', '.join(PROFILES)}"
            )
        profile = PROFILES[profile]
    locking = ProfiledLocking(profile, cost, reader, seed)
    mm = proc.mm
    lock = mm.mmap_lock
    lock.__class__ = ProfiledMmapLock
    assert isinstance(lock, ProfiledMmapLock)
    lock.locking = locking
    mm.locking = locking
    mm.on_write_unlock = locking.syscall
    return locking
