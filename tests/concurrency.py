"""Helpers for deterministic thread tests: no ``sleep()`` to force an ordering.

The pattern (trio's ``wait_all_tasks_blocked()`` + ``record`` list, adapted to OS
threads): start threads, then *wait for a condition the primitive reports* (its
``statistics()``) before taking the next step, and assert on a :class:`Record` of what
happened. Every wait has a deadline, so a bug shows up as a failed assertion naming
the condition, never as a hung CI job.

* :func:`wait_until` polls a predicate until it holds or a deadline passes.
* :func:`spawn` starts a :class:`Worker` thread that keeps its result or exception;
  :meth:`Worker.join` joins with a timeout and re-raises what the thread raised.
* :class:`Record` is a lock-protected event log.
* :class:`Sequencer` forces code in different threads to run in a given order
  (trio ``testing.Sequencer``): ``with seq(0): ...`` in one thread, ``with seq(1): ...``
  in another.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
"""Seconds any helper waits before declaring a deadlock: generous, because the suite
runs on machines other work keeps busy (a wait ends as soon as its event happens, so a
passing test never pays it), and below pytest-timeout's 60 s."""


class ConditionTimeout(AssertionError):
    """A condition a test waited for did not become true before the deadline."""


def wait_until(
    predicate: Callable[[], object],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    what: str | None = None,
) -> None:
    """Poll ``predicate`` until it returns a truthy value; raise after ``timeout`` seconds.

    Polls immediately, then with a backoff from 50 µs to 5 ms, so a condition that
    becomes true quickly is seen quickly and a long wait does not burn a CPU. The
    predicate is called one last time at the deadline. ``what`` names the condition in
    the failure message (the predicate's ``__qualname__`` otherwise).
    """
    deadline = time.monotonic() + timeout
    delay = 50e-6
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            if predicate():
                return
            name = what or getattr(predicate, "__qualname__", repr(predicate))
            raise ConditionTimeout(f"condition not met within {timeout} s: {name}")
        time.sleep(delay)
        delay = min(delay * 2, 5e-3)


class Worker(threading.Thread, Generic[T]):
    """A daemon thread running ``fn(*args)`` that keeps the result or the exception.

    Use :func:`spawn` to create and start one.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, name: str | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self._fn = fn
        self._args = args
        self._result: T | None = None
        self._exc: BaseException | None = None
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            self._result = self._fn(*self._args)
        except BaseException as exc:  # re-raised in the joining thread
            self._exc = exc
        finally:
            self.finished.set()

    def join(self, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        """Join with a deadline; fail if the thread is still running, re-raise its error."""
        super().join(timeout)
        if self.is_alive():
            raise ConditionTimeout(f"thread {self.name!r} did not finish within {timeout} s")
        if self._exc is not None:
            raise self._exc

    def outcome(self) -> str:
        """What a finished worker ended with, for a failure message: its result or error."""
        if not self.finished.is_set():
            return "running"
        return repr(self._exc if self._exc is not None else self._result)

    def result(self, timeout: float = DEFAULT_TIMEOUT) -> T:
        """Join (see :meth:`join`) and return what ``fn`` returned."""
        self.join(timeout)
        return self._result  # type: ignore[return-value]


def spawn(fn: Callable[..., T], *args: Any, name: str | None = None) -> Worker[T]:
    """Start a :class:`Worker` running ``fn(*args)`` and return it."""
    worker: Worker[T] = Worker(fn, *args, name=name)
    worker.start()
    return worker


def join_all(workers: list[Worker[Any]], timeout: float = DEFAULT_TIMEOUT) -> None:
    """Join every worker within one shared deadline, re-raising the first failure."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))


class Record:
    """A thread-safe append-only list of events, for asserting on orderings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Any] = []

    def append(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[Any]:
        """A copy of the events recorded so far, in order."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class Sequencer:
    """Force blocks in different threads to run in the order of their positions.

    ``with seq(n):`` waits until every position ``< n`` has been entered *and* left,
    then runs its body. Each position may be used once. Waits time out after
    ``timeout`` seconds (raising :class:`ConditionTimeout`) so a mistake cannot hang.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._claimed: set[int] = set()
        self._timeout = timeout

    @contextmanager
    def __call__(self, position: int) -> Iterator[None]:
        with self._cond:
            if position in self._claimed:
                raise RuntimeError(f"sequence position {position} used twice")
            self._claimed.add(position)
            if not self._cond.wait_for(lambda: self._next == position, self._timeout):
                raise ConditionTimeout(
                    f"sequence position {position} not reached within {self._timeout} s"
                    f" (next is {self._next})"
                )
        try:
            yield
        finally:
            with self._cond:
                self._next = position + 1
                self._cond.notify_all()
