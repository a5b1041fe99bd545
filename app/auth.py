"""Optional bearer-token access control, and CORS (closed unless configured).

With ``VMASIM_TOKEN`` set, every HTTP request must carry ``Authorization: Bearer
<token>``, except liveness (``/healthz``), the documentation (``/docs``,
``/docs/oauth2-redirect``, ``/redoc``, ``/openapi.json`` and the ``/docs-assets/``
files) and the live page's static files (``/ui``, ``/ui/assets/``), which carry no
engine state (the page asks for the token and sends it on every API call). A missing
or wrong token is a 401 problem with ``WWW-Authenticate: Bearer`` (RFC 6750); the
comparison is constant-time (:func:`hmac.compare_digest`) and neither the expected nor
the presented token ever appears in a response or a log line (uvicorn's access log
prints the request line only; :mod:`tests.app.test_auth` captures it to prove it).

CORS: no ``Access-Control-*`` header is sent unless ``VMASIM_CORS_ORIGINS`` lists
origins; then starlette's ``CORSMiddleware`` answers preflights (before the token
check, as browsers send preflights without credentials).
"""

from __future__ import annotations

import hmac

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import ProblemKind, problem_response

PUBLIC_PATHS = frozenset(
    {"/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/ui"}
)
PUBLIC_PREFIXES = ("/docs-assets/", "/ui/assets/")
UNAUTHORIZED = ProblemKind(401, "unauthorized", "Authentication required")


def is_public(path: str) -> bool:
    """Whether ``path`` is served without a token."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class BearerAuth:
    """Pure ASGI middleware: refuse HTTP requests without the bearer token.

    O(len(token)) per request, constant-time in the token's content. Runs before the
    body is read, so an unauthenticated client cannot make the server buffer a body.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("BearerAuth needs a non-empty token")
        self.app = app
        self._expected = b"Bearer " + token.encode()
        self.accepted = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_public(scope.get("path", "")):
            await self.app(scope, receive, send)  # lifespan, and the public paths
            return
        presented = b""
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                presented = value
                break
        # compare_digest: the time taken does not depend on where the bytes differ.
        if presented and hmac.compare_digest(presented, self._expected):
            self.accepted += 1
            await self.app(scope, receive, send)
            return
        self.refused += 1
        if scope["type"] == "websocket":  # no route uses one today; refuse the handshake
            await send({"type": "websocket.close", "code": 1008})
            return
        if presented:
            detail = "the bearer token is not valid"
            challenge = 'Bearer realm="vmasim", error="invalid_token"'
        else:
            detail = "this route requires an 'Authorization: Bearer <token>' header (VMASIM_TOKEN)"
            challenge = 'Bearer realm="vmasim"'
        response = problem_response(UNAUTHORIZED, detail, scope.get("path"))
        response.headers["WWW-Authenticate"] = challenge
        await response(scope, receive, send)


def install(app: FastAPI, token: str | None, cors_origins: tuple[str, ...]) -> None:
    """Add the token check (when ``token`` is set) and, outside it, CORS (when origins
    are configured). Call after the inner middleware: the last added runs first."""
    if token:
        app.add_middleware(BearerAuth, token=token)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "WWW-Authenticate"],
        )
