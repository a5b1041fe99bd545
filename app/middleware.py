"""Pure ASGI middlewares: bounding request bodies (``VMASIM_MAX_BODY_BYTES``) and
answering ``HEAD`` without a body."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ERROR_TABLE, RequestTooLarge, exception_extras, problem_response

SETTING = "VMASIM_MAX_BODY_BYTES"


class BodySizeLimit:
    """Refuse bodies larger than ``limit`` bytes with a 413 problem.

    A declared ``Content-Length`` over the limit is refused before the body is read.
    Otherwise the body is read here (counting; FastAPI would buffer it anyway), refused
    as soon as it crosses the limit, and replayed to the app.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(declared, scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nothing to answer
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(seen, scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, size: int, scope: Scope, receive: Receive, send: Send) -> None:
        exc = RequestTooLarge(SETTING, self.limit, size, "request body bytes")
        response = problem_response(
            ERROR_TABLE[RequestTooLarge], str(exc), scope.get("path"), **exception_extras(exc)
        )
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


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
