"""The optional bearer token (``VMASIM_TOKEN``) and CORS (``VMASIM_CORS_ORIGINS``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from app.auth import BearerAuth, is_public
from app.deployment import Deployment
from app.main import create_app
from app.settings import Settings, SettingsError
from tests.app.live import Running, serve

TOKEN = "s3cret-Token-4f9c"


@pytest.fixture(scope="module")
def guarded() -> Iterator[Running]:
    app = create_app(Settings(), deployment=Deployment(token=TOKEN))
    with serve(app) as running:
        yield running


@pytest.fixture(scope="module")
def client(guarded: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=guarded.url, timeout=10) as c:
        yield c


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/processes"),
        ("POST", "/processes"),
        ("GET", "/processes/1000"),
        ("GET", "/processes/1000/maps"),
        ("POST", "/processes/1000/mmap"),
        ("DELETE", "/processes/1000"),
        ("GET", "/no/such/route"),
    ],
)
def test_routes_need_the_token(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="vmasim"'
    body = response.json()
    assert body["status"] == 401 and body["instance"] == path
    assert "Authorization: Bearer" in body["detail"]


def test_wrong_token_is_refused_without_echoing_it(client: httpx.Client) -> None:
    for presented in (
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        TOKEN,
        f"bearer {TOKEN}",
        "Basic Zm9v",
    ):
        response = client.get("/processes", headers={"Authorization": presented})
        assert response.status_code == 401, presented
        assert response.headers["www-authenticate"].endswith('error="invalid_token"')
        assert TOKEN not in response.text and presented not in response.text


def test_the_token_opens_every_route(client: httpx.Client) -> None:
    created = client.post("/processes", json={"layout": "typical"}, headers=AUTH)
    assert created.status_code == 201, created.text
    pid = created.json()["pid"]
    maps = client.get(f"/processes/{pid}/maps", headers=AUTH)
    assert maps.status_code == 200 and "[stack]" in maps.text
    assert client.delete(f"/processes/{pid}", headers=AUTH).status_code == 204


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/docs-assets/swagger-ui.css",
        "/ui",
        "/ui/assets/ui.css",
    ],
)
def test_health_and_docs_are_public(client: httpx.Client, path: str) -> None:
    assert is_public(path)
    assert client.get(path).status_code == 200


def test_lookalike_paths_are_not_public() -> None:
    for path in ("/healthz/x", "/docsx", "/openapi.json/../processes", "/processes/docs"):
        assert not is_public(path), path


def test_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn's access log (at info, where it is on) and the service's own loggers."""
    app = create_app(Settings(), deployment=Deployment(token=TOKEN))
    caplog.set_level(logging.DEBUG)
    with (
        serve(app, log_config=None, log_level="debug", access_log=True) as running,
        httpx.Client(base_url=running.url, timeout=10) as c,
    ):
        assert c.get("/processes", headers=AUTH).status_code == 200
        assert c.get("/processes", headers={"Authorization": f"Bearer {TOKEN}0"}).status_code == 401
        assert c.post("/processes", json={"name": "x"}, headers=AUTH).status_code == 201
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == 3, [r.getMessage() for r in caplog.records]
    assert "GET /processes" in access[0].getMessage()
    text = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert TOKEN not in text
    assert "authorization" not in text.lower()


def test_token_not_in_settings_repr_or_errors() -> None:
    deployment = Deployment(token=TOKEN)
    assert TOKEN not in repr(deployment)
    with pytest.raises(
        SettingsError, match=r"^VMASIM_TOKEN must be non-empty printable text"
    ) as info:
        Deployment(token="bad\ttoken-" + TOKEN)
    assert TOKEN not in str(info.value)


def test_token_from_environment() -> None:
    assert Deployment.from_env({"VMASIM_TOKEN": f" {TOKEN}\n"}).token == TOKEN
    assert Deployment.from_env({}).token is None
    with pytest.raises(ValueError, match="non-empty"):
        BearerAuth(create_app(Settings()), "")


def test_without_token_everything_is_open(http: httpx.Client) -> None:
    # The session server runs without VMASIM_TOKEN.
    assert http.get("/processes").status_code == 200


def test_cors_closed_by_default(http: httpx.Client) -> None:
    origin = {"Origin": "https://evil.example"}
    response = http.get("/processes", headers=origin)
    assert response.status_code == 200
    assert not any(k.startswith("access-control-") for k in response.headers)
    preflight = http.options(
        "/processes", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_configured_origins_only() -> None:
    deployment = Deployment.from_env(
        {"VMASIM_CORS_ORIGINS": "https://ui.example, http://localhost:3000", "VMASIM_TOKEN": TOKEN}
    )
    assert deployment.cors_origins == ("https://ui.example", "http://localhost:3000")
    app = create_app(Settings(), deployment=deployment)
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=10) as c:
        # A preflight carries no credentials: CORS answers it before the token check.
        ok = c.options(
            "/processes",
            headers={
                "Origin": "https://ui.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://ui.example"
        bad = c.options(
            "/processes",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert bad.status_code == 400
        assert "access-control-allow-origin" not in bad.headers
        got = c.get("/processes", headers={"Origin": "https://ui.example", **AUTH})
        assert got.status_code == 200
        assert got.headers["access-control-allow-origin"] == "https://ui.example"
        refused = c.get("/processes", headers={"Origin": "https://ui.example"})
        assert refused.status_code == 401  # CORS headers do not replace the token
        assert refused.headers["access-control-allow-origin"] == "https://ui.example"


def test_cors_origin_must_be_an_origin() -> None:
    with pytest.raises(SettingsError, match=r"^VMASIM_CORS_ORIGINS item 'ui.example' must be"):
        Deployment.from_env({"VMASIM_CORS_ORIGINS": "ui.example"})


def test_websocket_handshake_needs_the_token() -> None:
    reached: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    guard = BearerAuth(inner, TOKEN)
    scope: dict[str, Any] = {"type": "websocket", "path": "/ws", "headers": []}
    anyio.run(guard, scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}] and reached == []
    scope["headers"] = [(b"authorization", AUTH["Authorization"].encode())]
    anyio.run(guard, scope, receive, send)
    assert reached == ["/ws"] and (guard.accepted, guard.refused) == (1, 1)
