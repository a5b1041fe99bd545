"""The service starts and answers its health check (the REST API is issue 5)."""

from __future__ import annotations

import anyio
import httpx

from app.main import create_app


def test_healthz() -> None:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/healthz")

    response = anyio.run(main)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
