"""Admission control: answer quickly when the service is full instead of queueing.

Four bounds, all enforced before a request reaches a route (one pure ASGI middleware,
:class:`Admission`, state in :class:`AdmissionControl` at ``app.state.admission``):

* **in flight** (``VMASIM_MAX_INFLIGHT``): requests executing at once. Engine calls run
  in the service's worker pool (``VMASIM_WORKER_THREADS`` running at once,
  :mod:`app.workers`); without this bound a burst would queue without limit, each
  queued request holding its body in memory. A request counts once it was received
  (its body is read before, :class:`app.middleware.BodyReader`) and not while it waits
  inside the engine (parked at a pause point, or blocked behind such an operation:
  the pool tells :meth:`AdmissionControl.waiting`), so neither slow clients nor held
  operations take the slots other requests need. Past the bound: 503 with
  ``Retry-After``, at once.
* **per process** (``VMASIM_MAX_PROCESS_INFLIGHT``): requests for one process
  (``[/machines/<machine>]/processes/<pid>/...``) at once, waiting ones included:
  this bounds what the operations waiting on one process's holds can take (threads, memory), and it
  touches no other process. Past it: 503 with ``Retry-After``. The requests that end
  the waits (its pause-point routes, its ``DELETE``) are never refused by it.
* **streams** (``VMASIM_MAX_STREAMS``): streamed responses open at once (maps snapshot
  streams, JSON Lines or SSE). A stream lives long, so streams have their own bound and
  do not count as in flight. Past it: 429 with ``Retry-After``.
* **shutting down**: once graceful shutdown began (:mod:`app.lifecycle`) new requests
  get 503 with ``Connection: close``; open streams are ended cleanly (the route sees a
  client disconnect and stops; the middleware terminates the chunked body).

``/healthz`` and the documentation are never refused (a load balancer must see a busy
server as alive). Body size (413, ``VMASIM_MAX_BODY_BYTES``), batch size and process
count limits live elsewhere (:mod:`app.middleware`, the routes, :mod:`app.service`);
the resident-page limit in the engine (``Kernel.max_resident_pages``, 409).

Every counter is touched on the event loop thread only, so no lock is needed; the
statistics are read there too (or racily, as a snapshot, from another thread).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import is_public
from .errors import ProblemKind, problem_response
from .schemas.machines import DEFAULT_MACHINE

if TYPE_CHECKING:
    from .lifecycle import ShutdownSignal

BUSY = ProblemKind(503, "busy", "The service is at capacity")
PROCESS_BUSY = ProblemKind(503, "process-busy", "The process has too many requests in progress")
STOPPING = ProblemKind(503, "shutting-down", "The service is shutting down")
TOO_MANY_STREAMS = ProblemKind(429, "too-many-streams", "Too many open streams")

_STREAM_PATH = re.compile(r"/(stream|events)(\.[a-z]+)?$")
_PROCESS_PATH = re.compile(
    r"(?:/machines/([^/]{1,64}))?/processes/([0-9]{1,10})(/pause-points)?(?:/|$)"
)
_DISCONNECT: Message = {"type": "http.disconnect"}


def is_stream(scope: Scope) -> bool:
    """Whether the request asks for a streamed response: a ``.../stream`` or
    ``.../events`` path (any suffix such as ``.sse``), or ``Accept: text/event-stream``."""
    if _STREAM_PATH.search(scope.get("path", "")):
        return True
    for key, value in scope.get("headers", ()):
        if key == b"accept" and b"text/event-stream" in value:
            return True
    return False


def process_of(scope: Scope) -> tuple[str, int] | None:
    """The machine and pid a ``[/machines/<machine>]/processes/<pid>/...`` request
    counts against (any digits and id: the route validates them), else None. The
    requests that end waits are never refused by the per-process bound: the
    pause-point routes (release, disarm, state; they never wait) and
    ``DELETE /processes/<pid>`` (which releases the process's holds first). O(1) for a
    path seen lately (:data:`_process_path`), else O(len(path))."""
    path: str = scope.get("path", "")
    counted, itself = (
        _process_path(path) if len(path) <= _CACHED_PATH else _match_process_path(path)
    )
    if itself and scope.get("method") == "DELETE":
        return None
    return counted


def _match_process_path(path: str) -> tuple[tuple[str, int] | None, bool]:
    """The machine and pid ``path`` counts against (else None), and whether it names
    the process itself. O(len(path))."""
    match = _PROCESS_PATH.match(path)
    if match is None or match[3] is not None:
        return None, False
    return (match[1] or DEFAULT_MACHINE, int(match[2])), match.end() == len(path)


_CACHED_PATH = 256
_process_path = functools.lru_cache(maxsize=1024)(_match_process_path)
""":func:`_match_process_path` cached for paths of up to :data:`_CACHED_PATH`
characters (1,024 of them, least recently used first out: under 1 MiB with the cache's
own entries, whatever paths are sent). Every request but the public ones asks, a
client's requests repeat their paths (one per process and route), and the regex match
with its groups costs about 4,400 instructions more than a hit (docs/performance.md,
"The fault route, third pass")."""


@dataclass(frozen=True)
class AdmissionStatistics:
    """``AdmissionControl.statistics()``: what is admitted now (``in_flight`` includes
    the ``waiting`` ones; ``busiest_process`` is the most requests one process has),
    the bounds, and counts of admitted and refused requests (by reason) and of streams
    ended by shutdown."""

    in_flight: int
    waiting: int
    streams: int
    max_inflight: int
    max_streams: int
    max_process_inflight: int
    busiest_process: int
    admitted: int
    refused_busy: int
    refused_process_busy: int
    refused_streams: int
    refused_stopping: int
    streams_ended: int


class AdmissionControl:
    """The counters and bounds :class:`Admission` enforces. Event-loop thread only, but
    for :meth:`waiting` (any thread, under :attr:`_lock`)."""

    def __init__(
        self,
        max_inflight: int,
        max_streams: int,
        retry_after: int,
        shutdown: ShutdownSignal,
        max_process_inflight: int = 32,
    ) -> None:
        self.max_inflight = max_inflight
        self.max_streams = max_streams
        self.max_process_inflight = max_process_inflight
        self.retry_after = retry_after
        self.shutdown = shutdown
        self.in_flight = 0
        self._waiting = 0
        self._lock = threading.Lock()
        self.per_process: dict[tuple[str, int], int] = {}
        self.streams = 0
        self.admitted = 0
        self.refused_busy = 0
        self.refused_process_busy = 0
        self.refused_streams = 0
        self.refused_stopping = 0
        self.streams_ended = 0

    def waiting(self, delta: int) -> None:
        """A request's engine call starts (+1) or stops (-1) waiting (the pool's
        :class:`app.workers.WaitListener`). Any thread. O(1)."""
        with self._lock:
            self._waiting += delta

    @property
    def running(self) -> int:
        """Requests in flight and not waiting in the engine (what the bound counts)."""
        return self.in_flight - self._waiting

    def statistics(self) -> AdmissionStatistics:
        """A snapshot. O(processes with requests)."""
        return AdmissionStatistics(
            in_flight=self.in_flight,
            waiting=self._waiting,
            streams=self.streams,
            max_inflight=self.max_inflight,
            max_streams=self.max_streams,
            max_process_inflight=self.max_process_inflight,
            busiest_process=max(self.per_process.values(), default=0),
            admitted=self.admitted,
            refused_busy=self.refused_busy,
            refused_process_busy=self.refused_process_busy,
            refused_streams=self.refused_streams,
            refused_stopping=self.refused_stopping,
            streams_ended=self.streams_ended,
        )

    def _check(self) -> None:
        """O(processes): counters within their bounds (in flight can pass the bound by
        the requests that came back from a wait)."""
        assert 0 <= self._waiting <= self.in_flight, self.statistics()
        assert 0 <= self.streams <= self.max_streams, self.statistics()
        assert all(0 < n <= self.max_process_inflight for n in self.per_process.values())
        assert sum(self.per_process.values()) <= self.in_flight + self.streams, self.per_process


class Admission:
    """Pure ASGI middleware enforcing :class:`AdmissionControl`. O(1) per request."""

    def __init__(self, app: ASGIApp, control: AdmissionControl) -> None:
        self.app = app
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        c = self.control
        if c.shutdown.is_set():
            c.refused_stopping += 1
            detail = "new requests are refused during shutdown"
            await self._refuse(STOPPING, detail, scope, receive, send)
            return
        if is_stream(scope):
            if c.streams >= c.max_streams:
                c.refused_streams += 1
                detail = (
                    f"{c.streams} streams are open, the limit is VMASIM_MAX_STREAMS={c.max_streams}"
                )
                await self._refuse(TOO_MANY_STREAMS, detail, scope, receive, send)
                return
            c.streams += 1
            c.admitted += 1
            try:
                await self._stream(scope, receive, send)
            finally:
                c.streams -= 1
            return
        if c.running >= c.max_inflight:
            c.refused_busy += 1
            detail = (
                f"{c.running} requests are executing, the limit is "
                f"VMASIM_MAX_INFLIGHT={c.max_inflight}"
            )
            await self._refuse(BUSY, detail, scope, receive, send)
            return
        pid = process_of(scope)
        if pid is not None:
            n = c.per_process.get(pid, 0)
            if n >= c.max_process_inflight:
                c.refused_process_busy += 1
                detail = (
                    f"{n} requests for process {pid[1]} of machine {pid[0]} "
                    "are in progress, the "
                    f"limit is VMASIM_MAX_PROCESS_INFLIGHT={c.max_process_inflight}"
                )
                await self._refuse(PROCESS_BUSY, detail, scope, receive, send)
                return
            c.per_process[pid] = n + 1
        c.in_flight += 1
        c.admitted += 1
        try:
            await self.app(scope, receive, send)
        finally:
            c.in_flight -= 1
            if pid is not None:
                left = c.per_process[pid] - 1
                if left:
                    c.per_process[pid] = left
                else:
                    del c.per_process[pid]

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a streaming request; on shutdown make the route see a disconnect, then
        close the chunked body if the route left it open."""
        shutdown = self.control.shutdown
        started = finished = False

        async def receive_or_shutdown() -> Message:
            if shutdown.is_set():
                return _DISCONNECT
            got: list[Message] = []
            async with anyio.create_task_group() as tg:

                async def from_client() -> None:
                    got.append(await receive())
                    tg.cancel_scope.cancel()

                async def from_shutdown() -> None:
                    await shutdown.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(from_client)
                tg.start_soon(from_shutdown)
            if got:
                return got[0]
            if shutdown.is_set():
                return _DISCONNECT
            # Neither: the caller's scope was cancelled (``Request.is_disconnected``
            # polls receive() in a cancelled scope). Let that cancellation through.
            await anyio.lowlevel.checkpoint()
            return await receive()

        async def tracking_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        await self.app(scope, receive_or_shutdown, tracking_send)
        if started and not finished and shutdown.is_set():
            self.control.streams_ended += 1
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _refuse(
        self, kind: ProblemKind, detail: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        response = problem_response(kind, detail, scope.get("path"))
        response.headers["Retry-After"] = str(self.control.retry_after)
        if kind is STOPPING:
            response.headers["Connection"] = "close"
        await response(scope, receive, send)
