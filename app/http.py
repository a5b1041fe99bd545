"""The HTTP/1.1 connection: uvicorn's h11 protocol with a deadline for a request's head.

uvicorn closes a keep-alive connection that stays idle after a response
(``--timeout-keep-alive``), but has no deadline for the request line and headers: a
client that opens a connection and sends nothing, or sends its headers a byte every
few seconds (slowloris), holds the connection and its file descriptor for as long as
it likes. :class:`BoundedH11Protocol` closes such a connection ``VMASIM_HEADER_TIMEOUT``
seconds after it opened or after the first byte of a new request arrived, with a
``408 Request Timeout`` (RFC 9110 §15.5.9) if the head is still incomplete. The body
has its own deadline once the head is in (``VMASIM_BODY_TIMEOUT``,
:class:`app.middleware.BodyReader`), and a request counts against
``VMASIM_MAX_INFLIGHT`` only after that (:mod:`app.limits`).

``vmasim serve`` (and so ``scripts/serve``) and the container run uvicorn with
``--http app.http:BoundedH11Protocol``; ``uvicorn app.main:app`` without it keeps
uvicorn's own protocol and only the body deadline.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .deployment import Deployment

PROTOCOL = "app.http:BoundedH11Protocol"
"""The ``--http`` value that selects this protocol on uvicorn's command line."""

_TIMEOUT_BODY = b"the request head was not received in time (VMASIM_HEADER_TIMEOUT)\n"
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's ``H11Protocol`` plus the head deadline of the module note. The deadline
    runs while h11 waits for a request's head (``their_state`` is ``IDLE``) on a fresh
    connection or once bytes of the next request arrived; uvicorn's keep-alive timeout
    covers an idle connection between requests. Event loop thread only."""

    header_timeout: float = float(Deployment.from_env(os.environ).header_timeout)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self.head_timeouts = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        super().connection_lost(exc)

    def _watch_head(self) -> None:
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if not waiting:
            self._stop_watching()
        elif self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout, self._head_late)

    def _stop_watching(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        self.head_timeouts += 1
        self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()
