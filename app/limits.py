"""Admission control: answer quickly when the service is full instead of queueing.

Three bounds, all enforced before a request reaches a route (one pure ASGI middleware,
:class:`Admission`, state in :class:`AdmissionControl` at ``app.state.admission``):

* **in flight** (``VMASIM_MAX_INFLIGHT``): requests executing at once. Engine calls run
  in anyio's worker threads (``VMASIM_WORKER_THREADS``); without this bound a burst
  would queue without limit on the thread limiter, each queued request holding its
  body in memory. Past the bound: 503 with ``Retry-After``, at once.
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

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import is_public
from .errors import ProblemKind, problem_response

if TYPE_CHECKING:
    from .lifecycle import ShutdownSignal

BUSY = ProblemKind(503, "busy", "The service is at capacity")
STOPPING = ProblemKind(503, "shutting-down", "The service is shutting down")
TOO_MANY_STREAMS = ProblemKind(429, "too-many-streams", "Too many open streams")

_STREAM_PATH = re.compile(r"/(stream|events)(\.[a-z]+)?$")
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


@dataclass(frozen=True)
class AdmissionStatistics:
    """``AdmissionControl.statistics()``: what is admitted now, the bounds, and counts
    of admitted and refused requests (by reason) and of streams ended by shutdown."""

    in_flight: int
    streams: int
    max_inflight: int
    max_streams: int
    admitted: int
    refused_busy: int
    refused_streams: int
    refused_stopping: int
    streams_ended: int


class AdmissionControl:
    """The counters and bounds :class:`Admission` enforces. Event-loop thread only."""

    def __init__(
        self, max_inflight: int, max_streams: int, retry_after: int, shutdown: ShutdownSignal
    ) -> None:
        self.max_inflight = max_inflight
        self.max_streams = max_streams
        self.retry_after = retry_after
        self.shutdown = shutdown
        self.in_flight = 0
        self.streams = 0
        self.admitted = 0
        self.refused_busy = 0
        self.refused_streams = 0
        self.refused_stopping = 0
        self.streams_ended = 0

    def statistics(self) -> AdmissionStatistics:
        """A snapshot. O(1)."""
        return AdmissionStatistics(
            in_flight=self.in_flight,
            streams=self.streams,
            max_inflight=self.max_inflight,
            max_streams=self.max_streams,
            admitted=self.admitted,
            refused_busy=self.refused_busy,
            refused_streams=self.refused_streams,
            refused_stopping=self.refused_stopping,
            streams_ended=self.streams_ended,
        )

    def _check(self) -> None:
        """O(1): counters within their bounds."""
        assert 0 <= self.in_flight <= self.max_inflight, self.statistics()
        assert 0 <= self.streams <= self.max_streams, self.statistics()


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
        if c.in_flight >= c.max_inflight:
            c.refused_busy += 1
            detail = (
                f"{c.in_flight} requests are executing, the limit is "
                f"VMASIM_MAX_INFLIGHT={c.max_inflight}"
            )
            await self._refuse(BUSY, detail, scope, receive, send)
            return
        c.in_flight += 1
        c.admitted += 1
        try:
            await self.app(scope, receive, send)
        finally:
            c.in_flight -= 1

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
