"""Bookkeeping of live maps streams (``/maps/stream``, ``/maps/events``).

A stream is *live* from its first snapshot until its generator finishes, whatever the
reason: enough snapshots sent, its duration reached, the process exited, or the client
went away (the server cancels the response task on ``http.disconnect``; the generator
sees the cancellation or ``GeneratorExit`` and closes its registration). A stream never
holds an engine lock while it is suspended (:mod:`app.snapshots`), so "live" costs
memory and a task, nothing in the engine; the counters exist so tests and operators can
see that a vanished client was cleaned up.

One :class:`StreamRegistry` per :class:`app.service.Service` (:func:`streams_for`).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from .service import Service

REASONS = ("count", "duration", "exited", "disconnected", "error")
"""Why a stream ended: ``count`` snapshots sent, ``duration`` reached, the process
``exited``, the client ``disconnected`` (cancelled or closed early), or an ``error``."""


@dataclass(frozen=True, slots=True)
class StreamStatistics:
    """A snapshot of a :class:`StreamRegistry`: streams ``live`` now (by pid),
    ``opened`` and ``closed`` in total, ``max_live`` ever, ``snapshots`` sent, closes
    by reason, and whether the registry lock is held right now."""

    live: int
    live_by_pid: dict[int, int]
    opened: int
    closed: int
    max_live: int
    snapshots: int
    ended: dict[str, int]
    lock_held: bool


class StreamRegistry:
    """Counts live streams. Thread-safe; every method O(1) except
    :meth:`statistics` (O(pids with live streams)). The lock is held only for
    counter updates, never across an ``await``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[int, int] = {}  # stream id -> pid
        self._ids = 0
        self._closed = 0
        self._max_live = 0
        self._snapshots = 0
        self._ended = dict.fromkeys(REASONS, 0)

    def open(self, pid: int) -> int:
        """Register a stream of ``pid``'s maps; returns its id for :meth:`close`."""
        with self._lock:
            self._ids += 1
            self._live[self._ids] = pid
            self._max_live = max(self._max_live, len(self._live))
            return self._ids

    def sent(self) -> None:
        """Count one snapshot sent."""
        with self._lock:
            self._snapshots += 1

    def close(self, stream_id: int, reason: str) -> None:
        """Unregister stream ``stream_id``, which ended for ``reason`` (one of
        :data:`REASONS`). Raises ``KeyError`` for an unknown or already closed id and
        ``ValueError`` for an unknown reason; nothing changes then."""
        if reason not in self._ended:
            raise ValueError(f"unknown stream end reason {reason!r}; one of {REASONS}")
        with self._lock:
            if stream_id not in self._live:
                raise KeyError(f"stream {stream_id} is not live")
            del self._live[stream_id]
            self._closed += 1
            self._ended[reason] += 1

    def statistics(self) -> StreamStatistics:
        held = self._lock.locked()
        with self._lock:
            by_pid: dict[int, int] = {}
            for pid in self._live.values():
                by_pid[pid] = by_pid.get(pid, 0) + 1
            return StreamStatistics(
                live=len(self._live),
                live_by_pid=by_pid,
                opened=self._ids,
                closed=self._closed,
                max_live=self._max_live,
                snapshots=self._snapshots,
                ended=dict(self._ended),
                lock_held=held,
            )

    def _check(self) -> None:
        """O(live): the counters agree."""
        with self._lock:
            assert self._ids == self._closed + len(self._live), (self._ids, self._closed)
            assert sum(self._ended.values()) == self._closed, self._ended
            assert self._max_live >= len(self._live), (self._max_live, len(self._live))
            assert all(i <= self._ids for i in self._live), self._live


_registries: weakref.WeakKeyDictionary[Service, StreamRegistry] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def streams_for(service: Service) -> StreamRegistry:
    """The stream registry of ``service`` (created on first use)."""
    with _registries_lock:
        registry = _registries.get(service)
        if registry is None:
            registry = _registries[service] = StreamRegistry()
        return registry
