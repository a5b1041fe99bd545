"""What every experiment shares: the result record, statistics, the environment,
progress reporting and cancellation.

Each experiment is a list of *cells* (one configuration each: a profile, a reader, a
number of threads...). A cell runs real threads against a fresh process for a fixed
wall-clock duration and yields one table row. :class:`RunContext` carries the seed,
the cost model, the durations and the callbacks; experiments call
:meth:`RunContext.cell_done` after each cell, which reports progress and raises
:class:`Cancelled` if the run was cancelled.

Locks: a :class:`RunContext` is used by the thread that runs the experiment; the
cancellation event may be set from any thread.
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from core import ENGINE

from .profiles import DEFAULT_COST, CostModel

__all__ = [
    "Cancelled",
    "ExperimentResult",
    "ProgressBar",
    "RunContext",
    "Target",
    "environment",
    "percentile",
    "summarize",
]

ProgressFn = Callable[[int, int, str], None]


class ProgressBar:
    """A one-line text progress bar on a stream (``[#####.....] 5/10 label 3.1 s``)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.t0 = time.monotonic()

    def __call__(self, done: int, total: int, label: str) -> None:
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.t0
        end = "\n" if done >= total else ""
        self.stream.write(f"\r[{bar}] {done}/{total} {label[:40]:<40} {elapsed:6.1f} s{end}")
        self.stream.flush()


class Cancelled(Exception):
    """The run was cancelled between two cells."""


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0..100) of an ascending sequence; 0.0 if empty. O(1).

    >>> percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 99), percentile([], 50)
    (2.0, 4.0, 0.0)
    """
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return float(sorted_values[rank - 1])


def summarize(samples_s: Sequence[float]) -> dict[str, float]:
    """Count, median, p99, p99.9 and max of latencies given in seconds, reported in ms.
    O(n log n)."""
    values = sorted(samples_s)
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1e3, 4),
        "p99_ms": round(percentile(values, 99) * 1e3, 4),
        "p999_ms": round(percentile(values, 99.9) * 1e3, 4),
        "max_ms": round((values[-1] if values else 0.0) * 1e3, 4),
    }


@dataclass(frozen=True)
class Target:
    """One figure the issue asks for, with the bound it must meet."""

    name: str
    value: float
    bound: str
    passed: bool


@dataclass
class ExperimentResult:
    """One run: parameters, cost model, environment, rows and the targets checked."""

    name: str
    title: str
    seed: int
    quick: bool
    cost: dict[str, Any]
    params: dict[str, Any]
    environment: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    duration_s: float = 0.0
    #: Per-cell measurements of *why* (e.g. each cell's longest writer waits, the lock
    #: waited on and what its holders were doing), keyed by the cell's label.
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "seed": self.seed,
            "quick": self.quick,
            "cost": self.cost,
            "params": self.params,
            "environment": self.environment,
            "rows": self.rows,
            "targets": [t.__dict__ for t in self.targets],
            "duration_s": round(self.duration_s, 3),
            "diagnostics": self.diagnostics,
        }

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


_SLEEP_FLOOR: list[float] = []


def sleep_floor_s() -> float:
    """The shortest ``time.sleep`` this machine delivers (median of 20 ``sleep(1e-6)``),
    measured once: costs below it are rounded up to it."""
    if not _SLEEP_FLOOR:
        samples = []
        for _ in range(20):
            t0 = time.perf_counter()
            time.sleep(1e-6)
            samples.append(time.perf_counter() - t0)
        _SLEEP_FLOOR.append(sorted(samples)[10])
    return _SLEEP_FLOOR[0]


def environment() -> dict[str, Any]:
    """Where the run happened: interpreter, engine (mypyc-compiled ``core`` or pure
    Python), OS, CPUs, GIL switch interval, sleep floor, and the host's load average
    (other work on the machine lands in every latency)."""
    return {
        "python": sys.version.split()[0],
        "engine": ENGINE,
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "switch_interval_s": sys.getswitchinterval(),
        "sleep_floor_us": round(sleep_floor_s() * 1e6, 1),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


SWITCH_INTERVAL_S = 1e-4
"""GIL switch interval during a run (CPython's default is 5 ms): a thread woken from a
modelled cost gets the GIL back within 0.1 ms instead of waiting out a CPU-bound
thread's 5 ms slice, which would otherwise swamp every latency measured."""


@contextmanager
def switch_interval(seconds: float = SWITCH_INTERVAL_S) -> Iterator[None]:
    """Set ``sys.setswitchinterval`` for the ``with`` body (process-wide)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@dataclass
class RunContext:
    """Seed, cost model, durations and callbacks of one run."""

    seed: int = 1
    quick: bool = True
    cost: CostModel = DEFAULT_COST
    cell_s: float | None = None
    progress: ProgressFn | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    cells_total: int = 0
    cells_done: int = 0

    def duration(self, quick_s: float, full_s: float) -> float:
        """Seconds each cell runs: ``cell_s`` if set, else the quick or full default."""
        if self.cell_s is not None:
            return self.cell_s
        return quick_s if self.quick else full_s

    def start(self, total: int) -> None:
        self.cells_total = total
        self.cells_done = 0
        self.check()
        if self.progress is not None:
            self.progress(0, total, "starting")

    def check(self) -> None:
        """Raise :class:`Cancelled` if the run was cancelled."""
        if self.cancel.is_set():
            raise Cancelled("experiment cancelled")

    def cell_done(self, label: str) -> None:
        self.cells_done += 1
        if self.progress is not None:
            self.progress(self.cells_done, self.cells_total, label)
        self.check()


def join_all(threads: Sequence[threading.Thread], timeout: float = 30.0) -> None:
    """Join ``threads``; raise RuntimeError naming any still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        raise RuntimeError(f"experiment threads did not stop within {timeout} s: {alive}")


class Worker(threading.Thread):
    """A daemon thread that keeps the exception its body raised (re-raised by
    :meth:`result`)."""

    def __init__(self, name: str, fn: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self._fn = fn
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._fn()
        except BaseException as exc:  # re-raised by the experiment
            self.error = exc

    def result(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"experiment thread {self.name} failed") from self.error


_cancel_of_run: list[threading.Event] = []
"""The cancellation event of the run in progress (runs are serialised by
:func:`lab.runner.run_experiment`): :func:`run_threads` ends a cell early when it is set,
so a cancelled job with long cells stops within a tenth of a second, not at its next
cell boundary."""


@contextmanager
def cancellable(cancel: threading.Event) -> Iterator[None]:
    """While the ``with`` body runs, :func:`run_threads` also stops when ``cancel`` is set."""
    _cancel_of_run.append(cancel)
    try:
        yield
    finally:
        _cancel_of_run.remove(cancel)


def _wait(stop: threading.Event, seconds: float) -> None:
    """``stop.wait(seconds)``, cut short if the run is cancelled (polled every 0.1 s)."""
    cancel = _cancel_of_run[-1] if _cancel_of_run else None
    if cancel is None:
        stop.wait(seconds)
        return
    deadline = time.monotonic() + seconds
    while not cancel.is_set():
        left = deadline - time.monotonic()
        if left <= 0 or stop.wait(min(left, 0.1)):
            return


def run_threads(workers: Sequence[Worker], stop: threading.Event, seconds: float) -> None:
    """Start ``workers``, let them run ``seconds``, set ``stop``, join them and re-raise
    the first failure. The cyclic garbage collector is run before and disabled during
    the measurement (a full collection over the previous cells' objects pauses every
    thread for tens of milliseconds, which would be charged to whatever lock a thread
    was waiting for)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for w in workers:
            w.start()
        try:
            _wait(stop, seconds)
        finally:
            stop.set()
            join_all(workers)
    finally:
        if was_enabled:
            gc.enable()
    for w in workers:
        w.result()
