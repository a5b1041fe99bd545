"""Named pause points: hold a writer (or a maps reader) at a chosen step, on demand.

Design note
===========

A syscall is a sequence of tree stores and in-place VMA updates (mm/vma.c: ``__split_vma``,
``vms_gather_munmap_vmas``, ``vms_complete_munmap_vmas``); lock-free readers see every
intermediate step. To make such races reproducible, the engine calls ``mm.pause(name)`` at a
few named steps. Each mm owns one :class:`PauseRegistry`; a test (or an API client) *arms* a
point, waits until an operation is *held* there, looks at the address space with any reader,
and *releases* it. Nothing here exists in the kernel: it is the simulator's instrument,
placed where the kernel has the windows described above.

Cost when unused: :meth:`Mm.pause <core.mm.Mm.pause>` loads one attribute and tests one
bool (:attr:`PauseRegistry.active`); no allocation, no lock. Hits are counted only while
the registry is active (some point armed, or :meth:`PauseRegistry.track_hits` on).

Bounded: every hold waits at most its timeout (``default_timeout``, 10 s unless
configured). Then the operation continues by itself and the event is recorded in
:meth:`PauseRegistry.statistics` (``timeouts``), so a forgotten release can delay a
writer but never wedge it — even while it holds ``mmap_lock`` for write.

Lock: one ``threading.Lock`` (with a condition for "a hold appeared") guards the
registry; it is never held while an operation is parked. An operation is parked on its
own ``threading.Event``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .errors import InvalidArgument, PauseTimeout, UnknownPausePoint

__all__ = [
    "KNOWN_POINTS",
    "DEFAULT_PAUSE_TIMEOUT",
    "HeldOperation",
    "PauseRegistry",
    "PauseStatistics",
    "PauseTimeout",
    "PointStatistics",
    "UnknownPausePoint",
    "register_point",
]

_log = logging.getLogger(__name__)

DEFAULT_PAUSE_TIMEOUT: Final = 10.0
"""Seconds a held operation waits for a release before it continues by itself."""

_MAX_TIMEOUT_EVENTS = 100

#: Every pause point the engine calls, with the window it opens. Writer points run with
#: ``mmap_lock`` held for write; reader points (``maps:``, ``smaps:``) inside a maps or
#: smaps read.
KNOWN_POINTS: Final[dict[str, str]] = {
    "split:after_shrink": (
        "__split_vma: the original VMA was shrunk in place, the new piece is not stored"
        " yet; the tree still maps the old range to the shrunk VMA (``__split_vma``)"
    ),
    "munmap:before_clear": (
        "do_vmi_align_munmap: splits done and the range's VMAs detached but still in the"
        " tree, before the clearing store; also reached from brk and mremap"
    ),
    "mmap:after_gather": (
        "__mmap_region with MAP_FIXED: the old VMAs were gathered and detached, the new"
        " VMA is not stored yet (no hole is visible: ``__mmap_region`` in 6.12+)"
    ),
    "mprotect:between_vmas": (
        "mprotect_fixup loop: one VMA of the range changed, the next not yet (``do_mprotect_pkey``)"
    ),
    "mremap:before_unmap_source": (
        "move_vma: the new VMA is stored at the destination, the source is still mapped"
    ),
    "brk:before_expand": ("brk growth: the break checks passed, the heap VMA is not expanded yet"),
    "madvise:between_vmas": (
        "madvise_walk_vmas: one VMA of the range advised, the next not yet; mmap_lock held"
        " for write (flag advice) or read"
    ),
    "madvise:vma_locked": (
        "madvise under a per-VMA read lock (DONTNEED, DONTNEED_LOCKED, FREE in one VMA):"
        " the VMA is read-locked, the advice not applied yet; mmap_lock is not held"
    ),
    "mlock:between_vmas": (
        "apply_vma_lock_flags loop (mlock, munlock): one VMA of the range has its new lock"
        " flags, the next not yet"
    ),
    "mseal:between_vmas": ("mseal_apply loop: one VMA of the range is sealed, the next not yet"),
    "prctl:between_vmas": (
        "PR_SET_VMA_ANON_NAME walk (madvise_walk_vmas): one VMA of the range is named,"
        " the next not yet"
    ),
    "fault:after_rcu_walk": (
        "lock_vma_under_rcu: the VMA was found by the RCU walk, not locked yet"
    ),
    "fault:after_vma_lock": (
        "lock_vma_under_rcu: the VMA is read-locked, its range not re-checked yet"
    ),
    "fault:before_anon_trylock": (
        "vmf_anon_prepare under a VMA lock: about to mmap_read_trylock for anon_vma_prepare"
    ),
    "fault:before_mmap_lock": "lock_mm_and_find_vma: about to take mmap_lock (fallback path)",
    "procmap_query:after_walk": (
        "PROCMAP_QUERY (lock_next_vma): the VMA was found under RCU, not locked yet"
    ),
    "maps:seqcount_after_begin": (
        "seqcount maps reader: mmap_lock_speculate_try_begin succeeded, the lockless walk"
        " has not started"
    ),
    "maps:seqcount_before_validate": (
        "seqcount maps reader: a lockless walk is done, mmap_lock_speculate_retry not yet called"
    ),
    "maps:per_vma_after_find": (
        "per_vma maps reader (lock_next_vma): a VMA was found under RCU, not locked yet"
    ),
    "maps:per_vma_between_vmas": (
        "per_vma maps reader: a line was produced and its VMA unlocked; the next VMA is"
        " not looked up yet (RCU still held)"
    ),
    "smaps:mmap_lock_walk": (
        "mmap_lock smaps reader (smaps, smaps_rollup; 6.18): mmap_lock is held for read,"
        " the page walk of the next VMA (smap_gather_stats) is about to start"
    ),
    "smaps:per_vma_walk": (
        "per_vma smaps reader: the VMA is read-locked and RCU dropped, its page walk is"
        " about to start"
    ),
}


#: Points whose operation is a syscall holding ``mmap_lock`` for write: a hold reports
#: ``mm.current_syscall`` (``munmap:before_clear`` may be reached from brk or mremap).
#: Any other point reports its prefix (``maps``, ``fault``...).
_WRITER_PREFIXES: Final = frozenset(
    {"split", "munmap", "mmap", "mprotect", "mremap", "brk", "mlock", "mseal", "prctl"}
)


def register_point(name: str, description: str) -> None:
    """Declare a new pause point ``"<op>:<step>"`` (for modules added later). Idempotent
    for the same description; a different description for a known name is an error."""
    if not isinstance(name, str) or name.count(":") != 1 or not all(name.split(":")):
        raise InvalidArgument(f"pause point name {name!r} is not of the form 'op:step'")
    known = KNOWN_POINTS.get(name)
    if known is not None and known != description:
        raise InvalidArgument(f"pause point {name!r} is already registered differently")
    KNOWN_POINTS[name] = description


@dataclass(frozen=True, slots=True)
class HeldOperation:
    """An operation parked at a pause point.

    ``hold_id`` identifies the hold for :meth:`PauseRegistry.release`; ``op`` is the
    syscall (``"munmap"``, ``"brk"``...) for writer points and ``"maps"`` for reader
    points; ``since`` is a ``time.monotonic()`` value; ``hit`` is the 1-based number
    of this hit of the point since it was armed.
    """

    hold_id: int
    point: str
    op: str
    thread_name: str
    thread_id: int
    since: float
    hit: int


@dataclass(frozen=True, slots=True)
class TimeoutEvent:
    """A hold that ended by timeout instead of a release."""

    point: str
    op: str
    thread_name: str
    held_for: float


@dataclass(frozen=True, slots=True)
class PointStatistics:
    """Per point: ``hits`` while the registry was active, ``holds`` started,
    ``timeouts`` among them, ``armed`` now, ``held`` now, and ``action_errors``
    (actions that raised; logged and swallowed so the operation completes)."""

    hits: int
    holds: int
    timeouts: int
    armed: bool
    held: int
    action_errors: int = 0


@dataclass(frozen=True, slots=True)
class PauseStatistics:
    """A snapshot of a :class:`PauseRegistry` (see :meth:`PauseRegistry.statistics`)."""

    points: dict[str, PointStatistics]
    held: tuple[HeldOperation, ...]
    recent_timeouts: tuple[TimeoutEvent, ...]
    default_timeout: float


class _Arm:
    __slots__ = ("action", "count", "hits", "hold", "holds_left", "nth", "timeout")

    def __init__(
        self,
        nth: int,
        count: int | None,
        timeout: float,
        hold: bool,
        action: Callable[[HeldOperation], object] | None,
    ) -> None:
        self.nth = nth
        self.count = count
        self.holds_left = count
        self.timeout = timeout
        self.hold = hold
        self.action = action
        self.hits = 0


class _Hold:
    __slots__ = ("event", "info")

    def __init__(self, info: HeldOperation) -> None:
        self.info = info
        self.event = threading.Event()


class _Counters:
    __slots__ = ("action_errors", "hits", "holds", "timeouts")

    def __init__(self) -> None:
        self.action_errors = 0
        self.hits = 0
        self.holds = 0
        self.timeouts = 0


def _check_timeout(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidArgument(f"{what} {value!r} is not a positive number of seconds")
    return float(value)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or name not in KNOWN_POINTS:
        raise UnknownPausePoint(name, KNOWN_POINTS)
    return name


class PauseRegistry:
    """The pause points of one mm: arm, observe holds, release; bounded by timeouts.

    >>> reg = PauseRegistry(default_timeout=1.0)
    >>> reg.active
    False
    >>> reg.arm("munmap:before_clear", nth=2)
    >>> reg.active
    True
    >>> reg.disarm("munmap:before_clear")
    >>> reg.arm("munmap:typo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    core.errors.UnknownPausePoint: unknown pause point 'munmap:typo'; known points: ...

    Thread-safe. Every method is O(1) or O(points + holds).
    """

    def __init__(self, default_timeout: float = DEFAULT_PAUSE_TIMEOUT) -> None:
        self._default_timeout = _check_timeout("default_timeout", default_timeout)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._arms: dict[str, _Arm] = {}
        self._holds: dict[int, _Hold] = {}
        self._counters = {name: _Counters() for name in KNOWN_POINTS}
        self._timeouts: deque[TimeoutEvent] = deque(maxlen=_MAX_TIMEOUT_EVENTS)
        self._ids = itertools.count(1)
        self._tracking = False
        self._hook: Callable[[str], object] | None = None
        #: Bumped by :meth:`release_all`: a hold that was about to park when everything
        #: was released does not park (:meth:`hit` compares it before parking).
        self._epoch = 0
        #: The wait of a hold, if set: called as ``park_observer(wait, timeout)`` in the
        #: parked thread, it must call ``wait(timeout)`` and return its result (the
        #: service gives its worker slot back for the wait: app/workers.py).
        self.park_observer: Callable[[Callable[[float], bool], float], bool] | None = None
        #: True while a point is armed or hit tracking is on; read without the lock by
        #: the fast path of ``Mm.pause`` (a stale value costs one extra locked check).
        self.active = False

    # -- configuration --------------------------------------------------------------

    @staticmethod
    def names() -> list[str]:
        """Every known pause point, sorted (see :data:`KNOWN_POINTS` for what each is)."""
        return sorted(KNOWN_POINTS)

    @property
    def default_timeout(self) -> float:
        """Seconds a hold lasts without a release (used by :meth:`arm` by default)."""
        return self._default_timeout

    @default_timeout.setter
    def default_timeout(self, value: float) -> None:
        self._default_timeout = _check_timeout("default_timeout", value)

    def track_hits(self, on: bool = True) -> None:
        """Count hits of every point even while nothing is armed (costs a lock per hit)."""
        with self._lock:
            self._tracking = bool(on)
            self._update_active()

    def set_hook(self, hook: Callable[[str], object] | None) -> None:
        """Call ``hook(name)`` in the hitting thread at every hit (None removes it).

        The older single-callback interface (``mm._pause_hook``); prefer :meth:`arm`
        with an ``action``."""
        with self._lock:
            self._hook = hook
            self._update_active()

    def _update_active(self) -> None:
        self.active = self._tracking or bool(self._arms) or self._hook is not None

    # -- arming ---------------------------------------------------------------------

    def arm(
        self,
        name: str,
        *,
        nth: int = 1,
        count: int | None = 1,
        timeout: float | None = None,
        hold: bool = True,
        action: Callable[[HeldOperation], object] | None = None,
    ) -> None:
        """Arm ``name``: from its ``nth`` hit on (counted from now), ``count`` hits
        (None: every hit until :meth:`disarm`) run ``action`` in the hitting thread and,
        if ``hold``, park there until released or ``timeout`` seconds pass.

        Raises :class:`UnknownPausePoint` for a name not in :meth:`names`, and
        :class:`~core.errors.InvalidArgument` for a bad ``nth``/``count``/``timeout`` or
        a point already armed; nothing changes then. O(1).
        """
        _check_name(name)
        if isinstance(nth, bool) or not isinstance(nth, int) or nth < 1:
            raise InvalidArgument(f"nth {nth!r} is not a positive integer")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise InvalidArgument(f"count {count!r} is not an integer or None")
        if count is not None and count < 1:
            raise InvalidArgument(f"count {count!r} is not positive")
        limit = self._default_timeout if timeout is None else _check_timeout("timeout", timeout)
        with self._lock:
            if name in self._arms:
                raise InvalidArgument(f"pause point {name!r} is already armed")
            self._arms[name] = _Arm(nth, count, limit, hold, action)
            self._update_active()

    def disarm(self, name: str) -> None:
        """Stop holding at ``name`` (holds in progress stay until released). O(1).

        Disarming a point that is not armed is not an error."""
        _check_name(name)
        with self._lock:
            self._arms.pop(name, None)
            self._update_active()

    def is_armed(self, name: str) -> bool:
        """Whether ``name`` is armed now. O(1)."""
        _check_name(name)
        with self._lock:
            return name in self._arms

    # -- holds ----------------------------------------------------------------------

    def held(self) -> list[HeldOperation]:
        """Operations parked right now, oldest first. O(holds)."""
        with self._lock:
            return sorted((h.info for h in self._holds.values()), key=lambda i: i.hold_id)

    def wait_for_hold(self, name: str, timeout: float = DEFAULT_PAUSE_TIMEOUT) -> HeldOperation:
        """Block until an operation is parked at ``name``; return the oldest such hold.

        Raises :class:`PauseTimeout` naming the point after ``timeout`` seconds.
        """
        _check_name(name)
        limit = _check_timeout("timeout", timeout)
        deadline = time.monotonic() + limit
        with self._lock:
            while True:
                found = [h.info for h in self._holds.values() if h.info.point == name]
                if found:
                    return min(found, key=lambda i: i.hold_id)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PauseTimeout(f"no operation was held at {name!r} within {limit} s")
                self._changed.wait(remaining)

    def release(self, target: str | int | HeldOperation) -> int:
        """Release holds: one by ``hold_id`` (or :class:`HeldOperation`), or every hold
        at a point by name. Returns how many were released (0 if none). O(holds)."""
        with self._lock:
            if isinstance(target, HeldOperation):
                target = target.hold_id
            if isinstance(target, str):
                _check_name(target)
                chosen = [h for h in self._holds.values() if h.info.point == target]
            elif isinstance(target, int) and not isinstance(target, bool):
                hold = self._holds.get(target)
                chosen = [hold] if hold is not None else []
            else:
                raise InvalidArgument(f"release target {target!r} is not a name or hold id")
            for hold in chosen:
                del self._holds[hold.info.hold_id]
                hold.event.set()
            return len(chosen)

    def release_all(self) -> int:
        """Release every parked operation (points stay armed). Returns the count."""
        with self._lock:
            holds = list(self._holds.values())
            self._holds.clear()
            self._epoch += 1
        for hold in holds:
            hold.event.set()
        return len(holds)

    def reset(self) -> None:
        """Disarm every point, then release every hold (tests' teardown)."""
        with self._lock:
            self._arms.clear()
            self._update_active()
        self.release_all()

    # -- the call site --------------------------------------------------------------

    def hit(self, name: str, op: str) -> None:
        """Called by ``Mm.pause`` while :attr:`active`: count, run the action, maybe park.

        ``op`` is the writer's syscall (used for writer points only, see
        :func:`register_point`). The caller holds
        whatever locks its step holds; this method holds the registry lock only briefly.
        """
        if name not in KNOWN_POINTS:
            raise UnknownPausePoint(name, KNOWN_POINTS)
        prefix = name.partition(":")[0]
        if prefix not in _WRITER_PREFIXES:
            op = prefix
        with self._lock:
            counters = self._counters.get(name)
            if counters is None:  # registered after this registry was made
                counters = self._counters[name] = _Counters()
            counters.hits += 1
            hook = self._hook
            arm = self._arms.get(name)
        if hook is not None:
            hook(name)
        if arm is None:
            return
        with self._lock:
            if self._arms.get(name) is not arm:
                return  # disarmed meanwhile
            arm.hits += 1
            if arm.hits < arm.nth:
                return
            if arm.holds_left is not None:
                arm.holds_left -= 1
                if arm.holds_left == 0:
                    del self._arms[name]
                    self._update_active()
            thread = threading.current_thread()
            info = HeldOperation(
                next(self._ids),
                name,
                op,
                thread.name,
                threading.get_ident(),
                time.monotonic(),
                arm.hits,
            )
            hold: _Hold | None = None
            if arm.hold:
                hold = _Hold(info)
            epoch = self._epoch
        if arm.action is not None:
            try:
                arm.action(info)
            except Exception:  # never let an observer break a half-done syscall
                _log.exception("action at pause point %r raised", name)
                with self._lock:
                    self._counters[name].action_errors += 1
        if hold is None:
            return
        with self._lock:
            if self._epoch != epoch:
                return  # everything was released (reset) while the action ran
            self._counters[name].holds += 1
            self._holds[info.hold_id] = hold
            self._changed.notify_all()
        observer = self.park_observer
        released = (
            hold.event.wait(arm.timeout)
            if observer is None
            else observer(hold.event.wait, arm.timeout)
        )
        if released:
            return
        with self._lock:
            if self._holds.pop(info.hold_id, None) is None:
                return  # released at the deadline: not a timeout
            self._counters[name].timeouts += 1
            self._timeouts.append(
                TimeoutEvent(name, info.op, info.thread_name, time.monotonic() - info.since)
            )

    # -- introspection --------------------------------------------------------------

    def statistics(self) -> PauseStatistics:
        """Per-point counters, the current holds and the last 100 timeouts. O(points)."""
        with self._lock:
            held_per_point: dict[str, int] = {}
            for hold in self._holds.values():
                held_per_point[hold.info.point] = held_per_point.get(hold.info.point, 0) + 1
            points = {
                name: PointStatistics(
                    c.hits,
                    c.holds,
                    c.timeouts,
                    name in self._arms,
                    held_per_point.get(name, 0),
                    c.action_errors,
                )
                for name, c in self._counters.items()
            }
            for name in KNOWN_POINTS.keys() - points.keys():
                points[name] = PointStatistics(0, 0, 0, name in self._arms, 0)
            held = tuple(sorted((h.info for h in self._holds.values()), key=lambda i: i.hold_id))
            return PauseStatistics(points, held, tuple(self._timeouts), self._default_timeout)

    def _check(self) -> None:
        """O(points + holds): internal invariants."""
        with self._lock:
            assert set(self._counters) <= set(KNOWN_POINTS), self._counters
            assert set(self._arms) <= set(KNOWN_POINTS), self._arms
            want = self._tracking or bool(self._arms) or self._hook is not None
            assert self.active == want, (self.active, self._arms)
            for hold_id, hold in self._holds.items():
                assert hold.info.hold_id == hold_id, (hold_id, hold.info)
                assert not hold.event.is_set(), hold.info
            for name, arm in self._arms.items():
                assert arm.holds_left is None or arm.holds_left >= 1, (name, arm.holds_left)
                assert arm.nth >= 1 and arm.timeout > 0, name
            for name, c in self._counters.items():
                assert 0 <= c.timeouts <= c.holds, (name, c.timeouts, c.holds)
