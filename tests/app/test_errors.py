"""The error model on every route, driven by the OpenAPI document: bad input is a 422
problem naming the field, a missing process a 404 problem, and every documented
example is accepted by validation; the texts of validation errors (issue 12) say what is
wrong, where, and what to send, with values as JSON."""

from __future__ import annotations

import doctest
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import app.errors
from app.errors import ERROR_TABLE, MAX_VALUE_CHARS, field_errors, lookup
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
    return path.replace("{machine}", "default").replace("{pid}", str(pid)).replace("{fd}", "3")


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
        {"loc": ("body", "n"), "msg": "odd", "input": [1.5] * 100},
        {"loc": ("body", "n"), "msg": "not a number", "input": float("inf")},
        {"loc": ("body", "ops", 0, "length"), "type": "missing", "msg": "Field required"},
    ]
    out = field_errors(errors)
    assert out[0] == {"field": "body.ops[2].mmap.prot[0]", "value": "P", "message": "bad"}
    assert out[1]["value"] == "x" * MAX_VALUE_CHARS + "..."
    # An array longer than the limit: its JSON text, cut (never a Python repr).
    assert out[2]["value"] == json.dumps([1.5] * 100)[:MAX_VALUE_CHARS] + "..."
    assert out[3]["value"] == "Infinity"
    assert out[4] == {
        "field": "body.ops[0].length",
        "message": 'required, but missing: send "length"',
    }


# -- the texts a person reads (issue 12): what is wrong, where, what to send --------------


def _post(http: httpx.Client, url: str, content: bytes, **headers: str) -> dict[str, Any]:
    body = _assert_problem(http.post(url, content=content, headers=headers), 422)
    assert body["type"] == "urn:vmasim:problem:validation-error"
    return body


def test_malformed_json_says_where_and_why(http: httpx.Client) -> None:
    text = '{\n  "name": "x",\n  "layout": "typical",,\n}'
    body = _post(http, "/processes", text.encode(), **{"content-type": "application/json"})
    message = (
        "not valid JSON: Expecting property name enclosed in double quotes"
        f" at line 3 column 23 (char {text.index(',,') + 1})"
    )
    assert body["errors"] == [{"field": "body", "value": text, "message": message}]
    assert body["detail"] == f"1 invalid input: body: {message}"


def test_malformed_json_in_a_long_body_shows_the_text_around_the_error(
    http: httpx.Client,
) -> None:
    text = '{"maps": "' + "a" * 1000 + '" "name": "' + "b" * 1000 + '"}'
    body = _post(http, "/processes", text.encode(), **{"content-type": "application/json"})
    (error,) = body["errors"]
    assert (
        error["message"]
        == "not valid JSON: Expecting ',' delimiter at line 1 column 1013 (char 1012)"
    )
    value = error["value"]
    assert value.startswith("...") and value.endswith("...")
    assert len(value) == MAX_VALUE_CHARS + 6 and '" "name"' in value


def test_json_without_content_type_says_what_to_send(http: httpx.Client) -> None:
    sent = b'{"name": "x"}'
    body = _post(http, "/processes", sent)  # httpx sends raw bytes with no Content-Type
    assert body["errors"] == [
        {
            "field": "body",
            "value": '{"name": "x"}',
            "message": "not read as JSON because the request has no Content-Type: "
            "send Content-Type: application/json",
        }
    ]
    body = _post(http, "/processes", sent, **{"content-type": "text/plain"})
    assert body["errors"][0]["message"] == (
        'not read as JSON because its Content-Type is "text/plain": '
        "send Content-Type: application/json"
    )
    assert "b'" not in body["detail"] and "b'" not in str(body["errors"])


def test_missing_field_and_missing_body(http: httpx.Client, pid: int) -> None:
    url = f"/processes/{pid}/mmap"
    body = _assert_problem(http.post(url, json={"length": 4096, "prot": ["PROT_READ"]}), 422)
    assert body["errors"] == [
        {"field": "body.flags", "message": 'required, but missing: send "flags"'}
    ]
    assert body["detail"] == '1 invalid input: body.flags: required, but missing: send "flags"'
    body = _assert_problem(http.post(url), 422)
    assert body["errors"] == [
        {
            "field": "body",
            "message": "the request has no body: send a JSON object (Content-Type: "
            "application/json)",
        }
    ]


def test_values_are_shown_as_json(http: httpx.Client, pid: int) -> None:
    url = f"/processes/{pid}/mmap"
    sent = {"length": 4096, "prot": {"read": True}, "flags": ["MAP_PRIVATE", "MAP_BOGUS"]}
    body = _assert_problem(http.post(url, json=sent), 422)
    by_field = {e["field"]: e for e in body["errors"]}
    assert by_field["body.prot"] == {
        "field": "body.prot",
        "value": {"read": True},
        "message": "should be a JSON array",
    }
    assert by_field["body.flags[1]"]["value"] == "MAP_BOGUS"
    assert by_field["body.flags[1]"]["message"].startswith('unknown mmap flag "MAP_BOGUS" (known: ')
    # The detail quotes each value once, as JSON: true, not Python's True.
    assert 'body.prot: should be a JSON array (got {"read": true})' in body["detail"]
    assert body["detail"].count("MAP_BOGUS") == 1
    body = _assert_problem(http.post("/processes", json=[1, 2]), 422)
    assert body["errors"] == [
        {"field": "body", "value": [1, 2], "message": "should be a JSON object"}
    ]


def test_nan_in_a_body_is_a_422_not_a_crash(http: httpx.Client, pid: int) -> None:
    """Python's JSON decoder accepts NaN and Infinity; the answer must still be JSON."""
    url = f"/processes/{pid}/mmap"
    for token in ("NaN", "Infinity", "-Infinity"):
        sent = (
            b'{"length": %s, "prot": [], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}'
            % token.encode()
        )
        body = _post(http, url, sent, **{"content-type": "application/json"})
        assert body["errors"][0]["field"] == "body.length"
        assert body["errors"][0]["value"] == token


def test_undecodable_body_says_which_byte(http: httpx.Client) -> None:
    body = _post(http, "/processes", b'{"name": "\xff"}', **{"content-type": "application/json"})
    message = "not valid JSON: not UTF-8 text (byte 0xff at offset 10: invalid start byte)"
    assert body["errors"] == [{"field": "body", "message": message}]


def test_doctests() -> None:
    result = doctest.testmod(app.errors)
    assert result.attempted > 0 and result.failed == 0
