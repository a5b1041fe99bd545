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
* ``lowprio_turn_s``, ``lowprio_cpu_share`` -- a low-priority reader (a ``nice 19``
  maps scanner or monitor) is CPU-bound: it runs until the tick ends its turn,
  *wherever it is* (fs/proc/task_mmu.c holds a lock at every point of a ``read()``
  from ``m_start`` to ``m_stop``; only between two ``read()`` calls does it hold
  none). Each turn's CPU budget is uniform in
  ``[0, 2 * lowprio_turn_s]`` (the tick falls at a random point of its work, seeded;
  readers started together do not stay in lock-step). The check runs at every maps
  line (``show_map_vma``) and after every ``read()``, so the preemption lands where
  its CPU time goes: the pre-6.17 reader mid-fill, holding ``mmap_lock`` for read
  for the rest of its ~4 KiB buffer; the per-VMA reader holding one VMA's read lock
  (a writer waits only in ``vma_start_write`` of that VMA); the seqcount reader inside
  its RCU walk (no lock; the walk then spans the preemption and is likelier to be
  retried). Off the CPU it waits ``lowprio_turn_s * k`` (``k`` low-priority readers
  share what the higher-priority threads leave, round-robin), and at least long
  enough to keep its CPU time within ``lowprio_cpu_share`` of its run time (CFS gives
  a ``nice 19`` thread 15/1024 of a CPU a ``nice 0`` thread wants). Under the GIL every
  thread would otherwise compete equally, and ten CPU-bound scanners would starve the
  high-priority threads that ``nice 19`` scanners never delay in the kernel;
* ``preempt_s`` -- a low-priority reader that *slept* on ``mmap_lock`` is handed the
  lock by the rwsem (``rwsem_mark_wake`` grants readers the lock before they run) and
  then waits for a CPU while holding it. Readers granted together by one wake-up run
  one after another, so the r-th of them to wait waits ``preempt_s * r`` (with
  ``preempt_scales``; else ``preempt_s``): after a writer, ten queued pre-6.17
  scanners hold the writer's next ``mmap_write_lock`` for ``10 * preempt_s``, while
  a per-VMA reader that fell back alone (``lock_next_vma_under_mmap_lock``) holds it
  for one ``preempt_s`` -- the scheduler places a waking task ahead of CPU-bound tasks
  of its own nice level (CFS sleeper credit, EEVDF lag), so it does not wait for
  every competitor. ``preempt_prob`` is the chance that the CPU is busy at that
  wake-up (1.0: always; drawn from the run's seeded RNG). This is the mechanism
  behind the kernel's ``proc-vs-map`` latencies: the writer, and every reader queued
  behind it, waits for a task that holds the lock but is not running.

* ``gil_priority`` -- not a cost but the one scheduling rule the GIL breaks. In the
  kernel a ``nice 19`` reader never delays a ``nice 0`` thread's own work: it runs on
  another CPU or is preempted the moment the ``nice 0`` thread wakes
  (``check_preempt_wakeup``). Under the GIL every Python thread shares one interpreter,
  so a low-priority reader's formatting would delay a high-priority thread's Python
  code (by up to the GIL switch interval, and a forced hand-off, per wake-up) -- an
  artefact with no kernel counterpart, which showed as a 1.4-1.8x p99 fault latency
  with a monitor that holds no lock the faulter needs. With ``gil_priority`` a thread
  marked :class:`high_priority` publishes when it runs Python and when it next will
  (the end of the modelled cost it sleeps in; never while it sleeps on a lock), and a
  low-priority reader, at each of its preemption points, steps off the GIL while a
  high-priority thread runs or is due to wake within :data:`GIL_MARGIN_S` -- preempted
  *where it is*, holding what it holds there, exactly like the end of a turn. Lock
  waits are unchanged: a high-priority thread blocked on a lock a low-priority reader
  holds lets the reader run, as the kernel would.

Diagnostics: every contended writer wait (``mmap_write_lock`` and the wait in
``vma_start_write`` for a VMA's readers) and every contended ``mmap_read_lock`` is
recorded as a :class:`Stall`: the lock, the waiter, how long, and the holders of the
moment with what each was doing (:attr:`ProfiledLocking.doing`, a phrase set at every
cost site). Experiments report each cell's longest waits from them. Recording costs a
few microseconds per *contended* wait (one ``RwSemaphore.statistics()`` snapshot),
nothing on the uncontended paths but a dict store.

Locks: :class:`ProfiledLocking` is called from the engine with the lock of the site
held; it takes only its own ``_woken_lock`` (a few bytecodes, to rank woken readers).
Its counters are ``itertools.count`` objects and its records are appended to lists
and dicts (atomic under the GIL), so :meth:`ProfiledLocking.statistics` needs no lock.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from core.errors import InvalidArgument
from core.maps_reader import Reader, check_reader

if TYPE_CHECKING:
    from core.fault import FaultPath
    from core.hooks import LockMode
    from core.mm import Mm
    from core.mmap_lock import MmapLock
    from core.process import Process
    from core.vma import Vma

__all__ = [
    "DEFAULT_COST",
    "CostField",
    "PROFILES",
    "CostModel",
    "LockingProfile",
    "ProfiledLocking",
    "ProfileStatistics",
    "Stall",
    "apply_profile",
    "high_priority",
    "low_priority",
]


@dataclass(frozen=True)
class LockingProfile:
    """A kernel era: whether faults try the per-VMA lock and which maps reader it has."""

    name: str
    per_vma_faults: bool
    maps_reader: Reader
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
    gil_priority: bool = True
    runqueue_slice_s: float = 0.0
    preempt_midread: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("preempt_scales", "gil_priority", "preempt_midread"):
                if not isinstance(value, bool):
                    raise InvalidArgument(f"cost {f.name} {value!r} is not a bool")
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

#: The cost model's fields, the names ``--cost K=V`` and the REST ``cost`` object accept.
CostField = Literal[
    "fault_page_s",
    "syscall_s",
    "maps_line_s",
    "maps_chunk_copy_s",
    "lowprio_turn_s",
    "lowprio_cpu_share",
    "preempt_s",
    "preempt_prob",
    "preempt_scales",
    "gil_priority",
    "runqueue_slice_s",
    "preempt_midread",
]
assert get_args(CostField) == tuple(f.name for f in fields(CostModel)), "CostField is complete"

# -- low-priority threads -----------------------------------------------------------------

_tls = threading.local()

GIL_MARGIN_S: Final = 100e-6
"""How long before a high-priority thread's modelled cost ends low-priority readers get
off the GIL (each checks at every maps line, a few microseconds apart)."""

GIL_PATIENCE_S: Final = 50e-3
"""The longest a low-priority reader waits for high-priority threads in one go; past
it, it runs anyway and :attr:`ProfileStatistics.priority_timeouts` counts it (a
high-priority thread blocked somewhere this module does not see)."""


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
        _tls.slice = None  # the first turn's budget is drawn at its first check
        return self

    def __exit__(self, *exc: object) -> None:
        _tls.share = 0


class high_priority:
    """Mark the calling thread as a high-priority (``nice 0``) thread of ``locking``'s
    process for the ``with`` body: low-priority readers stay off the GIL while it runs
    (see ``gil_priority`` in the module docstring). O(1) to enter and leave."""

    def __init__(self, locking: ProfiledLocking) -> None:
        self.locking = locking

    def __enter__(self) -> high_priority:
        _tls.high = self.locking
        self.locking._high_set(0.0)
        return self

    def __exit__(self, *exc: object) -> None:
        _tls.high = None
        self.locking._high_set(None)


def _share() -> int:
    share: int = getattr(_tls, "share", 0)
    return share


#: What a maps reader holds while it formats a line (where its turn may end).
_HOLDING: Final[dict[str, str]] = {
    "mmap_lock": "holding mmap_lock for read (mid-fill)",
    "per_vma": "holding one VMA's read lock and RCU",
    "seqcount": "inside an RCU walk, no lock",
}

# -- the mm's lock, with the wake-up latency of low-priority readers ----------------------


@dataclass(frozen=True)
class Stall:
    """One contended wait of a writer: on ``mmap_lock`` for write (``down_write``) or in
    ``vma_start_write`` for a VMA's readers to drain; ``holders`` are the threads that
    held ``mmap_lock`` when the writer queued (or ``vma readers``), each with what it
    was doing then (:attr:`ProfiledLocking.doing`)."""

    lock: str
    thread: str
    wait_s: float
    holders: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "lock": self.lock,
            "thread": self.thread,
            "wait_ms": round(self.wait_s * 1e3, 3),
            "holders": [f"{name}: {doing}" for name, doing in self.holders],
        }


# -- the hooks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileStatistics:
    """What the profile charged: faults by path, preemptions (wake-up waits for a CPU
    holding ``mmap_lock``), maps lines, syscalls and ended low-priority turns."""

    faults: int
    faults_vma_lock: int
    faults_mmap_lock: int
    faults_retried: int
    preemptions: int
    maps_lines: int
    syscalls: int
    turns: int = 0
    #: Times a low-priority reader stepped off the GIL for a high-priority thread, and
    #: times it gave up waiting after GIL_PATIENCE_S.
    priority_yields: int = 0
    priority_timeouts: int = 0


class ProfiledLocking:
    """The object installed as ``mm.hooks`` and ``mm.mmap_lock.observer``
    (:class:`core.hooks.ProfileHooks`, :class:`core.hooks.LockObserver`)."""

    def __init__(
        self, profile: LockingProfile, cost: CostModel, reader: str | None, seed: object = 1
    ) -> None:
        self.profile = profile
        self.cost = cost
        self.maps_reader: Reader = check_reader(profile.maps_reader if reader is None else reader)
        self.per_vma_faults = profile.per_vma_faults
        self._faults = itertools.count()
        self._vma = itertools.count()
        self._mmap = itertools.count()
        self._retried = itertools.count()
        #: fault_finished(path) -> the counter it advances (a kernel-address fault,
        #: path "none", is counted with the mmap_lock path: it is not a per-VMA fault).
        self._by_path: dict[str, itertools.count[int]] = {
            "vma_lock": self._vma,
            "mmap_lock": self._mmap,
            "stack_expanded": self._mmap,
            "none": self._mmap,
            "retried": self._retried,
        }
        self._preempt = itertools.count()
        self._lines = itertools.count()
        self._syscalls = itertools.count()
        self._turns = itertools.count()
        self._yields = itertools.count()
        self._timeouts = itertools.count()
        #: High-priority threads (ident -> when it next needs the CPU: 0.0 while it
        #: runs Python, the end of its modelled cost while it sleeps in one, +inf while
        #: it sleeps on a lock); guarded by ``_cpu``, which low-priority readers wait on.
        self._high: dict[int, float] = {}
        #: The earliest of ``_high`` (+inf if empty): written under ``_cpu``, read
        #: without it by every reader's check (one attribute load), so the common case
        #: -- no high-priority thread due -- takes no lock.
        self._high_due = math.inf
        self._cpu = threading.Condition(threading.Lock())
        self._woken = 0  # low-priority readers woken with mmap_lock, waiting for a CPU
        #: Low-priority readers inside a contended mmap_read_lock: asleep on it, or
        #: granted it and waiting for a CPU (not competing for one as CPU-bound threads).
        self._lp_in_lock = 0
        self._woken_lock = threading.Lock()
        self._sleep: Callable[[float], None] = time.sleep
        self.rng = random.Random(repr(seed))  # random() is one C call: atomic under the GIL
        #: What each thread is doing (thread name -> a phrase), set at the cost sites;
        #: a writer's :class:`Stall` records it for the holders it waited for.
        self.doing: dict[str, str] = {}
        #: Every contended lock wait: ``mmap_lock`` (write or read) and
        #: ``vma_start_write`` (list.append is atomic under the GIL). One per wait.
        self.stalls: list[Stall] = []

    # diagnostics: who made a writer wait, doing what

    def _set_doing(self, what: str) -> None:
        self.doing[threading.current_thread().name] = what

    def _holders(self, lock: MmapLock) -> tuple[tuple[str, str], ...]:
        """The threads holding ``lock`` now, with what each is doing. O(threads)."""
        stats = lock.sem.statistics()
        names = list(stats.reader_threads) + ([stats.writer] if stats.writer else [])
        return tuple((n, self.doing.get(n, "?")) for n in names)

    def _doing_snapshot(self) -> tuple[tuple[str, str], ...]:
        me = threading.current_thread().name
        return tuple((n, d) for n, d in list(self.doing.items()) if n != me)

    def _stall(self, lock: str, wait_s: float, holders: tuple[tuple[str, str], ...]) -> None:
        self.stalls.append(Stall(lock, threading.current_thread().name, wait_s, holders))
        _tls.stall_s = getattr(_tls, "stall_s", 0.0) + wait_s
        if wait_s >= getattr(_tls, "stall_max", 0.0):
            _tls.stall_max = wait_s
            _tls.stall_lock = lock

    @staticmethod
    def take_stall() -> tuple[float, str]:
        """Seconds the calling thread spent in contended writer waits since the last
        call, and the lock of the longest; resets both. O(1)."""
        out = (getattr(_tls, "stall_s", 0.0), getattr(_tls, "stall_lock", ""))
        _tls.stall_s = _tls.stall_max = 0.0
        _tls.stall_lock = ""
        return out

    def worst_stalls(self, thread: str, n: int = 3) -> list[dict[str, Any]]:
        """The ``n`` longest lock waits of ``thread``, longest first. O(stalls log n)."""
        mine = (s for s in self.stalls if s.thread == thread)
        return [s.as_dict() for s in heapq.nlargest(n, mine, key=lambda s: s.wait_s)]

    def stall_summary(self, thread: str, at_least_s: float) -> dict[str, Any]:
        """``thread``'s lock waits of at least ``at_least_s``: count and total per lock,
        and how often each holder activity was seen in them. O(stalls)."""
        by_lock: dict[str, list[float]] = {}
        doing: dict[str, int] = {}
        for st in self.stalls:
            if st.wait_s < at_least_s or st.thread != thread:
                continue
            by_lock.setdefault(st.lock, []).append(st.wait_s)
            for _, what in st.holders:
                doing[what] = doing.get(what, 0) + 1
        return {
            "at_least_ms": at_least_s * 1e3,
            "by_lock": {
                k: {"n": len(v), "total_ms": round(sum(v) * 1e3, 1)} for k, v in by_lock.items()
            },
            "holders_doing": dict(sorted(doing.items(), key=lambda kv: -kv[1])),
        }

    # GIL priority (see ``gil_priority`` in the module docstring)

    def _high_set(self, when: float | None) -> None:
        """The calling high-priority thread next needs the CPU at ``when`` (perf_counter
        seconds; 0.0 now; None: it is leaving). Wakes waiting low-priority readers unless it
        is taking the CPU. O(high-priority threads)."""
        me = threading.get_ident()
        with self._cpu:
            if when is None:
                self._high.pop(me, None)
            else:
                self._high[me] = when
            self._high_due = min(self._high.values(), default=math.inf)
            if when != 0.0:  # it leaves the CPU: waiting readers may run
                self._cpu.notify_all()

    @contextmanager
    def _off_cpu(self, until: float) -> Iterator[None]:
        """Around a sleep of a high-priority thread: it publishes that it needs the CPU
        again at ``until`` (+inf: when a lock is handed to it), so low-priority readers
        (perhaps the lock's holder) may run meanwhile. A no-op for other threads."""
        if getattr(_tls, "high", None) is not self:
            yield
            return
        self._high_set(until)
        try:
            yield
        finally:
            self._high_set(0.0)

    def _spend(self, seconds: float) -> None:
        """Spend a modelled cost: sleep ``seconds``, releasing the GIL (off the CPU for
        :meth:`_yield_cpu`, though the kernel spends it on one)."""
        with self._off_cpu(time.perf_counter() + seconds):
            self._sleep(seconds)

    def idle(self, stop: threading.Event, seconds: float) -> bool:
        """``stop.wait(seconds)`` for a thread that is off the CPU meanwhile (a
        high-priority thread between two bursts of work); returns what it returned."""
        with self._off_cpu(time.perf_counter() + seconds):
            return stop.wait(seconds)

    def _yield_cpu(self, holding: str) -> None:
        """A low-priority reader's preemption point: while a high-priority thread runs
        or wakes within GIL_MARGIN_S, wait off the GIL, holding ``holding``. O(1)
        per check, and lock-free while no high-priority thread is due."""
        if not self.cost.gil_priority or self._high_due - time.perf_counter() > GIL_MARGIN_S:
            return
        cpu = self._cpu
        with cpu:
            deadline = 0.0
            while True:
                now = time.perf_counter()
                if self._high_due - now > GIL_MARGIN_S:
                    return
                if not deadline:
                    deadline = now + GIL_PATIENCE_S
                    next(self._yields)
                    self._set_doing(f"preempted by a high-priority thread, {holding}")
                elif now >= deadline:
                    next(self._timeouts)
                    return
                cpu.wait(deadline - now)

    # cost sites

    def _lp_asleep(self, delta: int) -> None:
        with self._woken_lock:
            self._lp_in_lock += delta

    def _preempted(self, share: int) -> None:
        """A low-priority reader granted ``mmap_lock`` while asleep waits for a CPU,
        holding it: ``preempt_s`` times its place among the low-priority readers woken
        and still waiting (readers granted together by one ``rwsem_mark_wake`` run one
        after another; a reader woken alone waits one slice). With ``runqueue_slice_s``
        it waits that much per *CPU-bound* low-priority thread instead: the ``share``
        readers minus those inside a contended ``mmap_read_lock`` (itself included),
        which queue for the CPU only for a chunk and run as the GIL hands it over."""
        cost = self.cost
        if cost.preempt_prob < 1.0 and self.rng.random() >= cost.preempt_prob:
            return
        next(self._preempt)
        if cost.runqueue_slice_s:
            with self._woken_lock:
                competitors = max(0, share - self._lp_in_lock)
            self._set_doing(
                "woken with mmap_lock granted, waiting for a CPU behind "
                f"{competitors} CPU-bound low-priority threads"
            )
            self._sleep(cost.runqueue_slice_s * competitors)
            return
        if cost.preempt_s:
            with self._woken_lock:
                self._woken += 1
                rank = self._woken
            self._set_doing(f"woken with mmap_lock granted, waiting for a CPU (place {rank})")
            try:
                self._sleep(cost.preempt_s * (rank if cost.preempt_scales else 1))
            finally:
                with self._woken_lock:
                    self._woken -= 1

    def _turn(self, holding: str) -> None:
        """The end of a low-priority thread's turn on the CPU: once it has used
        its turn's CPU budget (mean ``lowprio_turn_s``) it is preempted *where it is*, holding
        ``holding``, and waits ``lowprio_turn_s * k`` for its next turn, and long enough
        to keep its CPU time within ``lowprio_cpu_share``. O(1)."""
        share = _share()
        if not share:
            return
        self._yield_cpu(holding)
        cost = self.cost
        now = time.thread_time()
        used = now - getattr(_tls, "cpu_mark", now)
        budget = getattr(_tls, "slice", None)
        if budget is None:
            budget = _tls.slice = 2 * cost.lowprio_turn_s * self.rng.random()
        if used < budget:
            return
        next(self._turns)
        self._set_doing(f"preempted at the end of its CPU turn, {holding}")
        self._sleep(max(cost.lowprio_turn_s * share, used * (1 / cost.lowprio_cpu_share - 1)))
        self._new_turn()

    def _new_turn(self) -> None:
        """Start the calling thread's next turn. The tick that ends it falls at a
        random point of the thread's work: the turn's CPU budget is uniform in
        ``[0, 2 * lowprio_turn_s]`` (seeded), which also keeps readers that started
        together from staying in lock-step."""
        _tls.slice = 2 * self.cost.lowprio_turn_s * self.rng.random()
        _tls.cpu_mark = time.thread_time()

    def maps_line(self, vma: Vma) -> None:
        """``show_map_vma``: called with the reader's lock for ``vma`` held; a
        low-priority reader's turn may end here (see :meth:`_turn`)."""
        next(self._lines)
        self._set_doing(f"formatting a maps line ({self.maps_reader} reader)")
        if self.cost.maps_line_s:
            self._spend(self.cost.maps_line_s)
        holding = _HOLDING[self.maps_reader]
        if self.cost.preempt_midread:
            self._turn(holding)
        elif _share():
            self._yield_cpu(holding)

    def smaps_walk(self, vma: Vma, pages: int) -> None:
        """``walk_page_vma`` of an smaps read: these profiles charge nothing for it
        (:class:`lab.smaps_cost.SmapsLocking` does)."""

    def syscall(self, mm: Mm, seq_after: int) -> None:
        """``Mm.on_write_unlock``: the writer's work, under ``mmap_lock`` for write."""
        next(self._syscalls)
        self._set_doing("syscall work under mmap_lock for write")
        seconds = self._syscall_s()
        if seconds > 0:
            self._spend(seconds)

    def _syscall_s(self) -> float:
        """What :meth:`syscall` charges: ``syscall_s`` on top of the engine's own work
        (``lab.reader_modes.PacedLocking`` charges what is left of it instead)."""
        return self.cost.syscall_s

    def chunk_copied(self) -> None:
        """After a maps ``read()`` (``m_stop`` done, no lock held): ``copy_to_user``;
        a low-priority reader's turn may end here too (:meth:`_turn`), holding nothing."""
        self._set_doing("copy_to_user, no lock held")
        if self.cost.maps_chunk_copy_s:
            self._spend(self.cost.maps_chunk_copy_s)
        self._turn("between read() calls, no lock held")

    # the fault path (core.fault calls these: ProfileHooks)

    def fault_started(self) -> None:
        next(self._faults)
        self._set_doing("faulting")

    def fault_page_work(self) -> None:
        """Zeroing or copying the page, holding the fault's lock."""
        if self.cost.fault_page_s:
            self._spend(self.cost.fault_page_s)

    def fault_finished(self, path: FaultPath) -> None:
        next(self._by_path[path])

    # the lock waits (core.mmap_lock and core.vma_lock call these: LockObserver)

    def acquired(self, lock: MmapLock, mode: LockMode) -> None:
        if mode == "read":
            self._set_doing("running with mmap_lock held for read")

    def contended(
        self,
        lock: MmapLock,
        mode: LockMode,
        acquire: Callable[[float | None], bool],
        timeout: float | None,
    ) -> bool:
        """A contended ``mmap_lock``: recorded as a :class:`Stall` with the holders of the
        moment. A low-priority reader granted the lock while asleep then waits for a CPU
        *holding it* (the rwsem grants a queued reader the lock before it runs:
        ``rwsem_mark_wake``), see :meth:`_preempted`."""
        if mode == "write":
            self._set_doing("asleep on mmap_lock for write")
            holders = self._holders(lock)
            t0 = time.perf_counter()
            try:
                with self._off_cpu(math.inf):
                    return acquire(timeout)
            finally:
                self._stall("mmap_lock", time.perf_counter() - t0, holders)
        self._set_doing("asleep on mmap_lock for read (granted on wake-up, not yet running)")
        holders = self._holders(lock)
        t0 = time.perf_counter()
        share = _share()
        if share:
            self._lp_asleep(1)
        try:
            with self._off_cpu(math.inf):
                if not acquire(timeout):
                    return False
            self._stall("mmap_lock (read)", time.perf_counter() - t0, holders)
            if share:
                self._preempted(share)
        finally:
            if share:
                self._lp_asleep(-1)
        self._set_doing("running with mmap_lock held for read")
        return True

    def vma_writer_wait(self, wait: threading.Condition, predicate: Callable[[], Any]) -> None:
        """``vma_start_write`` (or a detach) waiting for a VMA's readers: recorded as a
        :class:`Stall` with what the low-priority readers were doing."""
        if predicate():
            return
        holders = self._doing_snapshot()
        t0 = time.perf_counter()
        try:
            with self._off_cpu(math.inf):
                wait.wait_for(predicate)
        finally:
            self._stall("vma_start_write", time.perf_counter() - t0, holders)

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
            turns=value(self._turns),
            priority_yields=value(self._yields),
            priority_timeouts=value(self._timeouts),
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
    sets ``mm.hooks`` and ``mm.mmap_lock.observer``: core/hooks.py).
    Raises InvalidArgument for an unknown profile or reader, changing nothing."""
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise InvalidArgument(
                f"unknown locking profile {profile!r}; choose one of {', '.join(PROFILES)}"
            )
        profile = PROFILES[profile]
    locking = ProfiledLocking(profile, cost, reader, seed)
    install(proc, locking)
    return locking


def install(proc: Process, locking: ProfiledLocking) -> None:
    """Install ``locking`` (a :class:`ProfiledLocking` or a subclass) as ``proc``'s hooks,
    lock observer and write-unlock site. Call before other threads use ``proc``."""
    mm = proc.mm
    mm.hooks = locking
    mm.mmap_lock.observer = locking
    mm.on_write_unlock = locking.syscall
