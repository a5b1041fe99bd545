"""Pure ASGI middlewares: reading request bodies within bounds of size
(``VMASIM_MAX_BODY_BYTES``) and time (``VMASIM_BODY_TIMEOUT``), answering ``HEAD``
without a body, and the machine prefix of ``Location``."""

from __future__ import annotations

import re

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import (
    ERROR_TABLE,
    LimitExceeded,
    RequestTimeout,
    RequestTooLarge,
    exception_extras,
    problem_response,
)

SETTING = "VMASIM_MAX_BODY_BYTES"
TIMEOUT_SETTING = "VMASIM_BODY_TIMEOUT"


class BodyReader:
    """Read the whole request body before the app runs: refuse one larger than
    ``limit`` bytes (413) or not received within ``timeout`` seconds (408, and the
    connection is closed).

    A declared ``Content-Length`` over the limit is refused before the body is read.
    Otherwise the body is read here (counting; FastAPI would buffer it anyway), refused
    as soon as it crosses the limit, and replayed to the app. This middleware sits
    outside admission control (:mod:`app.limits`), so a request whose body is still on
    its way holds no in-flight slot: a client that sends headers and never the body
    (issue 18) delays only itself, and for at most ``timeout`` seconds.
    """

    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout
        self.timeouts = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            exc = RequestTooLarge(SETTING, self.limit, declared, "request body bytes")
            await self._refuse(exc, scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        with anyio.move_on_after(self.timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client left: nothing to answer
                    return
                chunk = message.get("body", b"")
                seen += len(chunk)
                if seen > self.limit:
                    large = RequestTooLarge(SETTING, self.limit, seen, "request body bytes")
                    await self._refuse(large, scope, receive, send)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            self.timeouts += 1
            late = RequestTimeout(TIMEOUT_SETTING, int(self.timeout), seen)
            await self._refuse(late, scope, receive, send, close=True)
            return
        await self.app(scope, replay_body(b"".join(chunks), receive), send)

    async def _refuse(
        self, exc: LimitExceeded, scope: Scope, receive: Receive, send: Send, close: bool = False
    ) -> None:
        kind = ERROR_TABLE[type(exc)]
        response = problem_response(kind, str(exc), scope.get("path"), **exception_extras(exc))
        if close:
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


class HeadWithoutBody:
    """Answer ``HEAD`` with the headers ``GET`` would send and no body (RFC 9110 §9.3.2).

    The routes that take ``HEAD`` (``/healthz``, ``/metrics``) run their ``GET``
    endpoint, so status, ``Content-Type`` and ``Content-Length`` are the ``GET``
    answer's; this drops the body bytes. uvicorn drops them too, but the ASGI spec does
    not ask a server to, and in-process clients (httpx's ``ASGITransport``) do not.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_headers_only)


_MACHINE_PREFIX = re.compile(rb"^/machines/[^/]+(?=/)")


class MachineLocation:
    """Give a ``Location`` the machine prefix of its request: the route modules write
    their links for the default machine (``/processes/1000``), and are mounted again
    under ``/machines/{machine}`` (:mod:`app.main`), where the new resource is
    ``/machines/<id>/processes/1000``. O(headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            _MACHINE_PREFIX.match(scope.get("raw_path") or scope.get("path", "").encode())
            if scope["type"] == "http"
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        prefix = match[0]

        async def send_prefixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, prefix + v)
                    if k == b"location" and v.startswith(b"/") and not v.startswith(b"/machines/")
                    else (k, v)
                    for k, v in message.get("headers", ())
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_prefixed)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the already-read ``body`` as one message, then
    passes on to the real ``receive`` (a disconnect, say). O(1)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
