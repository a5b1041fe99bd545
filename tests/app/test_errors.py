"""The error model on every route, driven by the OpenAPI document: bad input is a 422
problem naming the field, a missing process a 404 problem, and every documented
example is accepted by validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.errors import ERROR_TABLE, field_errors, lookup
from app.main import create_app
from app.settings import Settings
from core import EngineError, InvalidArgument, NoSuchProcess, SyscallError, UseAfterFree

SCHEMA = create_app(Settings()).openapi()
OPERATIONS = [
    (method.upper(), path, op)
    for path, item in SCHEMA["paths"].items()
    for method, op in item.items()
]
WITH_BODY = [(m, p, op) for m, p, op in OPERATIONS if "requestBody" in op]
WITH_PID = [(m, p, op) for m, p, op in OPERATIONS if "{pid}" in p]


def _resolve(ref: dict[str, Any]) -> dict[str, Any]:
    name = ref["$ref"].rsplit("/", 1)[1]
    schema: dict[str, Any] = SCHEMA["components"]["schemas"][name]
    return schema


def _example_body(op: dict[str, Any]) -> Any:
    schema = _resolve(op["requestBody"]["content"]["application/json"]["schema"])
    return schema["examples"][0]


def _url(path: str, pid: int) -> str:
    return path.replace("{pid}", str(pid)).replace("{fd}", "3")


def _assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:vmasim:problem:")
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(("method", "path", "op"), WITH_BODY, ids=lambda x: str(x)[:40])
def test_every_body_rejects_bad_json_and_unknown_fields(
    http: httpx.Client, pid: int, method: str, path: str, op: dict[str, Any]
) -> None:
    before = http.get(f"/processes/{pid}/maps").text
    r = http.request(
        method, _url(path, pid), content=b"{not json", headers={"content-type": "application/json"}
    )
    body = _assert_problem(r, 422)
    assert body["errors"][0]["field"].startswith("body")
    r = http.request(method, _url(path, pid), json={**_example_body(op), "bogus_field": 1})
    body = _assert_problem(r, 422)
    assert {"field": "body.bogus_field", "value": 1}.items() <= body["errors"][0].items()
    assert http.get(f"/processes/{pid}/maps").text == before


@pytest.mark.parametrize(("method", "path", "op"), WITH_BODY, ids=lambda x: str(x)[:40])
def test_every_documented_example_passes_validation(
    http: httpx.Client, pid: int, method: str, path: str, op: dict[str, Any]
) -> None:
    schema = _resolve(op["requestBody"]["content"]["application/json"]["schema"])
    for example in schema["examples"]:
        r = http.request(method, _url(path, pid), json=example)
        if r.status_code >= 400:
            assert r.json()["type"] != "urn:vmasim:problem:validation-error", r.text


@pytest.mark.parametrize(("method", "path", "op"), WITH_PID, ids=lambda x: str(x)[:40])
def test_every_pid_route_answers_404_for_a_missing_process(
    http: httpx.Client, method: str, path: str, op: dict[str, Any]
) -> None:
    kwargs: dict[str, Any] = {}
    if "requestBody" in op:
        kwargs["json"] = _example_body(op)
    body = _assert_problem(http.request(method, _url(path, 4_000_000), **kwargs), 404)
    assert body["pid"] == 4_000_000


def test_unknown_route_and_method(http: httpx.Client) -> None:
    _assert_problem(http.get("/nowhere"), 404)
    _assert_problem(http.put("/processes"), 405)


def test_body_size_limit_reported() -> None:
    app = create_app(Settings(max_body_bytes=1024))
    transport = httpx.ASGITransport(app=app)

    async def main() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            big = await c.post("/processes", json={"maps": "x" * 2000})

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
                for _ in range(4):
                    yield b" " * 400

            streamed = await c.post(
                "/processes", content=chunks(), headers={"content-type": "application/json"}
            )
            return big, streamed

    import anyio

    big, streamed = anyio.run(main)
    for r in (big, streamed):
        body = _assert_problem(r, 413)
        assert (body["setting"], body["limit"]) == ("VMASIM_MAX_BODY_BYTES", 1024)
        assert body["value"] > 1024
    assert app.state.service.statistics().processes == 0


def test_table_resolves_by_mro() -> None:
    class Sub(NoSuchProcess):
        pass

    assert lookup(Sub(5)) is ERROR_TABLE[NoSuchProcess]
    assert lookup(SyscallError(12, "mmap", "x")) is ERROR_TABLE[SyscallError]
    assert lookup(UseAfterFree("x")) is ERROR_TABLE[UseAfterFree]
    assert lookup(InvalidArgument("x")) is ERROR_TABLE[InvalidArgument]
    assert lookup(EngineError("x")) is ERROR_TABLE[EngineError]
    assert [ERROR_TABLE[c].status for c in (SyscallError, UseAfterFree, NoSuchProcess)] == [
        422,
        500,
        404,
    ]
    assert lookup(ValueError("x")) is None


def test_field_errors_format() -> None:
    errors = [
        {"loc": ("body", "ops", 2, "mmap", "prot", 0), "msg": "Value error, bad", "input": "P"},
        {"loc": ("body",), "msg": "too long", "input": "x" * 1000},
        {"loc": ("query", "n"), "msg": "odd", "input": object()},
    ]
    out = field_errors(errors)
    assert out[0] == {"field": "body.ops[2].mmap.prot[0]", "value": "P", "message": "bad"}
    assert len(out[1]["value"]) == 203 and out[1]["value"].endswith("...")
    assert out[2]["value"].startswith("<object object")
