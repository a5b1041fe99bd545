"""The service answers its health check, with ``GET`` and with ``HEAD`` (probes use
either): the same status and headers, and no body for ``HEAD``."""

from __future__ import annotations

import anyio
import httpx

import core
from app.main import create_app


def _in_process(method: str, path: str) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return anyio.run(main)


def test_healthz() -> None:
    response = _in_process("GET", "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "engine": core.ENGINE}


def test_head_healthz_has_the_get_headers_and_no_body(http: httpx.Client) -> None:
    """In process (the ASGI app itself must send no body: not every server drops it)
    and through uvicorn."""
    for send in (_in_process, http.request):
        get, head = send("GET", "/healthz"), send("HEAD", "/healthz")
        assert head.status_code == get.status_code == 200
        assert head.headers["content-type"] == get.headers["content-type"] == "application/json"
        assert (
            head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
        )
        assert head.content == b""


def test_head_elsewhere_is_a_405_without_body() -> None:
    """HEAD is on the probes' routes (/healthz, /metrics) only; elsewhere it is refused,
    and that answer has no body either."""
    response = _in_process("HEAD", "/processes")
    assert response.status_code == 405
    assert response.content == b""
    assert "HEAD" not in response.headers["allow"]
