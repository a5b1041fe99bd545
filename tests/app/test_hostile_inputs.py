"""Issue 18, items 1-4: no input crashes a response.

Every body route is driven from the OpenAPI document: a ``NaN``, ``Infinity``,
``-Infinity`` or ``1e999`` at any number position, and a lone surrogate at any string
position or member name, is a 422 problem naming the field, valid UTF-8 JSON, and
changes nothing. Integers follow JSON Schema (``2856.0`` is 2856; ``true``, ``"2"``
and ``2.5`` are not integers; ``0`` is not a string); path and query integers are
decimal digits only. Maps paths may hold every character but a newline, and every
view (``/maps.json``, ``/maps/stream``, ``/maps/events``, the client) parses them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from client.api import VmasimClient
from client.replay import clip
from core import Kernel
from core.constants import MAP_SHARED, PROT_READ
from core.maps_reader import read_maps

SCHEMA = create_app(Settings()).openapi()
BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 60]
PAGE = 4096
ANON = {"prot": ["PROT_READ", "PROT_WRITE"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    schema = _resolve(schema)
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            found |= _types(sub)
    return found


def _body_operations() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    out = []
    for path, item in SCHEMA["paths"].items():
        for method, op in item.items():
            if "requestBody" in op:
                schema = _resolve(op["requestBody"]["content"]["application/json"]["schema"])
                out.append((method.upper(), path, schema, schema["examples"][0]))
    return out


BODY_OPERATIONS = _body_operations()


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(doc, dict):
        return [leaf for k, v in doc.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(doc, list):
        return [leaf for i, v in enumerate(doc) for leaf in _leaves(v, (*path, i))]
    return [(path, doc)]


def _field(path: tuple[Any, ...]) -> str:
    return "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _positions(schema: dict[str, Any], example: Any, kind: str) -> list[tuple[Any, ...]]:
    """Every top-level property whose schema admits ``kind`` ("number": integer or
    number; "string"), and every leaf of that kind in the example (nested ones too)."""
    wanted = {"integer", "number"} if kind == "number" else {"string"}
    found = [
        (name,) for name, prop in schema.get("properties", {}).items() if _types(prop) & wanted
    ]
    for path, value in _leaves(example):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (is_number if kind == "number" else isinstance(value, str)) and path not in found:
            found.append(path)
    return found


def _with_token(example: Any, path: tuple[Any, ...], token: str) -> bytes:
    """The example as JSON text with the value at ``path`` replaced by raw ``token``."""
    doc = json.loads(json.dumps(example))
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "@@TOKEN@@"
    return json.dumps(doc).replace('"@@TOKEN@@"', token).encode()


def _url(path: str, pid: int) -> str:
    return path.replace("{machine}", "default").replace("{pid}", str(pid)).replace("{fd}", "3")


def _problem(r: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(r.content.decode("utf-8"))  # strict UTF-8
    assert body["status"] == status
    return body


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(("method", "path", "schema", "example"), BODY_OPERATIONS, ids=str)
def test_non_numbers_anywhere_are_422_at_the_field(
    http: httpx.Client, pid: int, method: str, path: str, schema: Any, example: Any
) -> None:
    before = http.get(f"/processes/{pid}/maps").text
    for position in _positions(schema, example, "number"):
        for token in BAD_NUMBERS:
            r = http.request(
                method, _url(path, pid), content=_with_token(example, position, token), headers=JSON
            )
            body = _problem(r)
            error = body["errors"][0]
            assert error["field"] == _field(position), (token, body)
            assert error["value"] == token
    assert http.get(f"/processes/{pid}/maps").text == before


@pytest.mark.parametrize(("method", "path", "schema", "example"), BODY_OPERATIONS, ids=str)
def test_lone_surrogates_anywhere_are_422_at_the_field(
    http: httpx.Client, pid: int, method: str, path: str, schema: Any, example: Any
) -> None:
    before = http.get(f"/processes/{pid}/maps").text
    for position in _positions(schema, example, "string"):
        for token in ('"\\ud800"', '"/tmp/x\\udfff"'):
            r = http.request(
                method, _url(path, pid), content=_with_token(example, position, token), headers=JSON
            )
            error = _problem(r)["errors"][0]
            assert error["field"] == _field(position), (token, r.text)
            assert "lone surrogate" in error["message"]
            assert "\\ud" in error["value"]  # shown escaped: the reply is valid UTF-8
    member = json.dumps(example)[:-1] + ', "\\ud800x": 1}' if example else '{"\\ud800x": 1}'
    r = http.request(method, _url(path, pid), content=member.encode(), headers=JSON)
    assert "lone surrogate" in _problem(r)["errors"][0]["message"]
    assert http.get(f"/processes/{pid}/maps").text == before


def test_every_body_operation_is_covered() -> None:
    """The parametrisation reaches every body route, with number and string positions."""
    paths = {path for _, path, _, _ in BODY_OPERATIONS}
    assert "/processes/{pid}/mmap" in paths and "/processes/{pid}/syscalls" in paths
    assert len(BODY_OPERATIONS) == sum(
        "requestBody" in op for item in SCHEMA["paths"].values() for op in item.values()
    )
    for _, path, schema, example in BODY_OPERATIONS:
        assert _positions(schema, example, "number") or _positions(schema, example, "string"), path


def test_integral_numbers_are_integers_exactly(http: httpx.Client, pid: int) -> None:
    fixed = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]
    text = (
        '{"addr": 1.7592186044416e13, "length": 8192.0, "prot": ["PROT_READ"], '
        f'"flags": {json.dumps(fixed)}, "fd": -1.0, "offset": 0e5}}'
    )
    r = http.post(f"/processes/{pid}/mmap", content=text, headers=JSON)
    assert r.status_code == 200, r.text
    assert r.json()["addr"] == "0x100000000000"
    # 2**53 + 1 written with a fraction: read exactly, not rounded through a double.
    r = http.post(
        f"/processes/{pid}/files",
        content=b'{"path": "/tmp/exact", "size": 9007199254740993.0}',
        headers=JSON,
    )
    assert r.status_code == 201, r.text
    assert r.json()["size"] == 2**53 + 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/files", {"path": "/tmp/f", "size": False}, "body.size"),
        ("/files", {"path": "/tmp/f", "size": "12"}, "body.size"),
        ("/files", {"path": 0}, "body.path"),
        ("/mmap", {"length": True, **ANON}, "body.length"),
        ("/mmap", {"length": 8192, "fd": 2.5, **ANON}, "body.fd"),
        ("/pause-points", {"name": "munmap:before_clear", "hit": True}, "body.hit"),
        ("/pause-points", {"name": 0}, "body.name"),
        ("/syscalls", {"ops": [{"op": "close", "fd": True}]}, "body.ops[0].close.fd"),
        (
            "/syscalls",
            {"ops": [{"op": "close", "fd": 3}], "stop_on_error": 1},
            "body.stop_on_error",
        ),
    ],
)
def test_no_type_is_taken_for_another(
    http: httpx.Client, pid: int, path: str, body: dict[str, Any], field: str
) -> None:
    r = http.post(f"/processes/{pid}{path}", json=body)
    assert _problem(r)["errors"][0]["field"] == field
    assert http.get(f"/processes/{pid}").json()["files"] == []


def test_process_names_are_strings(http: httpx.Client) -> None:
    assert _problem(http.post("/processes", json={"name": 0}))["errors"][0]["field"] == "body.name"


@pytest.mark.parametrize("spelling", ["{}.0", "%20{}", "{}%20", "+{}", "0{}", "{}e0", "0x{}"])
def test_path_ids_are_decimal_digits_only(http: httpx.Client, pid: int, spelling: str) -> None:
    url = "/processes/" + spelling.format(pid)
    for method in ("GET", "DELETE"):
        error = _problem(http.request(method, url))["errors"][0]
        assert error["field"] == "path.pid"
        assert "decimal digits only" in error["message"]
    assert http.get(f"/processes/{pid}").status_code == 200  # not deleted
    fd = http.post(f"/processes/{pid}/files", json={"path": "/tmp/ids"}).json()["fd"]
    assert _problem(http.delete(f"/processes/{pid}/files/{fd}.0"))["errors"][0]["field"] == (
        "path.fd"
    )
    assert http.delete(f"/processes/{pid}/files/{fd}").status_code == 204


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("max_retries=1.0", "query.max_retries"),
        ("max_retries=%201", "query.max_retries"),
        ("count=01", "query.count"),
        ("max_duration=inf", "query.max_duration"),
        ("max_duration=nan", "query.max_duration"),
        ("interval=nan", "query.interval"),
        ("interval=-inf", "query.interval"),
    ],
)
def test_query_numbers(http: httpx.Client, pid: int, query: str, field: str) -> None:
    r = http.get(f"/processes/{pid}/maps/stream?count=1&{query}")
    assert _problem(r)["errors"][0]["field"] == field


# -- maps paths with line-breaking characters (item 3) ------------------------------------

# Every character str.splitlines() splits at, except "\n" (the kernel escapes it).
BREAKERS = ["\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r\n"]


@pytest.fixture
def odd_paths(http: httpx.Client, pid: int) -> dict[str, str]:
    """One shared file mapping per breaking character; returns addr -> the path as
    maps prints it."""
    mapped = {}
    for char in BREAKERS:
        path = f"/tmp/odd{char}name{char}"
        fd = http.post(f"/processes/{pid}/files", json={"path": path, "size": PAGE})
        assert fd.status_code == 201, fd.text
        body = {"length": PAGE, "prot": ["PROT_READ"], "flags": ["MAP_SHARED"]}
        r = http.post(f"/processes/{pid}/mmap", json={**body, "fd": fd.json()["fd"]})
        assert r.status_code == 200, r.text
        mapped[r.json()["addr"]] = path.replace("\n", "\\012")  # as show_map_vma prints it
    return mapped


def test_maps_json_parses_every_path(
    http: httpx.Client, pid: int, odd_paths: dict[str, str]
) -> None:
    text = http.get(f"/processes/{pid}/maps").text
    assert text.count("\n") == len(odd_paths) + 1  # + [vsyscall]
    for reader in ("seqcount", "per_vma", "mmap_lock"):
        r = http.get(f"/processes/{pid}/maps.json", params={"reader": reader})
        assert r.status_code == 200, r.text
        got = {v["start"]: v["path"] for v in r.json()["vmas"] if v["start"] in odd_paths}
        assert got == odd_paths, reader
        assert r.json()["count"] == len(odd_paths) + 1


def test_streams_parse_every_path(
    http: httpx.Client, pid: int, odd_paths: dict[str, str], api: VmasimClient
) -> None:
    for fmt in ("vmas", "text"):
        r = http.get(
            f"/processes/{pid}/maps/stream", params={"count": 2, "interval": 0, "format": fmt}
        )
        assert r.status_code == 200, r.text
        items = [json.loads(line) for line in r.content.split(b"\n") if line]
        assert len(items) == 2, r.text[-300:]
        if fmt == "vmas":
            paths = {v["start"]: v["path"] for v in items[-1]["vmas"] if v["start"] in odd_paths}
            assert paths == odd_paths
    r = http.get(f"/processes/{pid}/maps/events", params={"count": 1})
    assert r.status_code == 200 and "event: end" in r.text, r.text[-300:]
    assert r.text.endswith('event: end\ndata: {"reason": "count", "sent": 1}\n\n'), r.text[-200:]
    # The client reads JSON Lines split at "\n" only (httpx's iter_lines would split at
    # the raw U+2028 in the JSON).
    items = list(api.maps_stream(pid, count=2, interval=0))
    assert len(items) == 2
    assert {v.start: v.path for v in items[0].vmas or [] if v.start in odd_paths} == odd_paths


def test_client_clip_parses_every_path(
    http: httpx.Client, pid: int, odd_paths: dict[str, str]
) -> None:
    text = http.get(f"/processes/{pid}/maps").text
    ranges = [(int(a, 16), int(a, 16) + PAGE) for a in odd_paths]
    assert sorted(path for *_, path in clip(text, ranges)) == sorted(odd_paths.values())


def test_engine_readers_count_lines_at_newlines_only() -> None:
    kernel = Kernel()
    proc = kernel.spawn("odd")
    for char in BREAKERS:
        fd = proc.open(f"/tmp/e{char}", 2, size=PAGE)
        proc.mm.mmap(0, PAGE, PROT_READ, MAP_SHARED, fd=fd)
    for reader in ("seqcount", "mmap_lock", "per_vma"):
        snap = read_maps(proc.mm, reader)
        assert len(snap.lines) == len(BREAKERS) + 1, reader
        assert all(line.endswith("\n") and line.count("\n") == 1 for line in snap.lines)
    # Importing the text (core.layout) reads one VMA per line too.
    imported = kernel.spawn_from_maps(proc.mm.maps(), "copy")
    assert imported.mm.map_count == proc.mm.map_count
