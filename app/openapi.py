"""The OpenAPI document: post-processing, rendering, and the committed copy.

``python -m app.openapi`` writes ``openapi/openapi.json``; ``--check`` says whether the
committed file is what the app generates (exit 0) or is stale (exit 1; the drift test
runs the same comparison). The rendering is deterministic: sorted keys, two-space
indent, trailing newline, nothing taken from the environment.

The document is OpenAPI 3.1.0 and valid as such (``tests/app/test_openapi.py`` runs
openapi-spec-validator on it). FastAPI describes its streams with OpenAPI 3.2's
``itemSchema``, which 3.1 does not have; :func:`conform_streams` moves it where 3.1
allows it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.requests import Request
from starlette.routing import Route

from core.constants import U64_MAX

from .errors import PROBLEM_JSON
from .schemas.maps import MapsStreamItem

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi" / "openapi.json"


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` by a cached generator that documents error responses as
    ``application/problem+json`` only."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            for item in schema.get("paths", {}).values():
                for method, operation in item.items():
                    for status, response in operation.get("responses", {}).items():
                        if method == "head" and status.startswith("2"):
                            response.pop("content", None)  # a HEAD answer has no body
                        content = response.get("content", {})
                        if PROBLEM_JSON in content:
                            response["content"] = {PROBLEM_JSON: content[PROBLEM_JSON]}
                        conform_streams(content)
            add_item_models(schema)
            exact_bounds(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    _serve_cached(app)


def _serve_cached(app: FastAPI) -> None:
    """Answer ``GET /openapi.json`` with bytes encoded once and an ``ETag``, revalidated
    by the browser (``Cache-Control: no-cache``): a client that has the document sends
    ``If-None-Match`` and gets ``304 Not Modified`` with no body. The live page reads
    the document at every load (the experiments panel: is ``/experiments`` there, which
    experiments can be started); it is about 280 KB, and FastAPI's own route builds it
    on the event loop at the first request (about 0.7 s) and encodes it again for every
    request. The document cannot change while the server runs (it is built from the
    routes, :func:`install`)."""
    path = app.openapi_url
    if path is None:
        return
    app.router.routes[:] = [
        r for r in app.router.routes if not (isinstance(r, Route) and r.path == path)
    ]
    cached: list[tuple[bytes, str]] = []

    def encode() -> tuple[bytes, str]:
        body = bytes(JSONResponse(app.openapi()).body)
        return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'

    async def openapi_json(request: Request) -> Response:
        if not cached:
            # Building the document takes about 0.7 s (FastAPI walks every route): in a
            # worker thread, not on the event loop. Two first requests may both build
            # it; the result is the same.
            cached[:] = [await anyio.to_thread.run_sync(encode)]
        body, etag = cached[0]
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        tags = _etags(request.headers.get("if-none-match", ""))
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    app.add_route(path, openapi_json, include_in_schema=False)


def _etags(header: str) -> set[str]:
    """The entity tags of an ``If-None-Match`` header (RFC 9110 §13.1.2), weak ones
    compared by their opaque tag (the weak comparison that header uses)."""
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


#: The bounds above 2**53 the request models declare (``le=``): a double cannot hold them.
WIDE_BOUNDS = (U64_MAX, (1 << 63) - 1)
_BOUND_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def exact_bounds(node: Any) -> None:
    """Give every numeric bound of the document its exact integer value, in place.

    FastAPI's OpenAPI model stores ``minimum``/``maximum`` as floats: ``le=2**64 - 1``
    comes out as ``1.8446744073709552e+19``, which *is* 2**64, so a client or fuzzer
    reading the document would send 2**64 as valid. Integral bounds become integers,
    and the doubles of :data:`WIDE_BOUNDS` their exact values."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _BOUND_KEYS and isinstance(value, float) and value.is_integer():
                exact = next((b for b in WIDE_BOUNDS if float(b) == value), None)
                node[key] = exact if exact is not None else int(value)
            else:
                exact_bounds(value)
    elif isinstance(node, list):
        for item in node:
            exact_bounds(item)


ITEM_MODELS = (MapsStreamItem,)
"""Models that routes stream as raw bytes (each item written in pieces, so no response
model), referenced from their ``itemSchema`` only: their schemas are added here."""


def add_item_models(schema: dict[str, Any]) -> None:
    """Add :data:`ITEM_MODELS` (and the models they use) to the components, as FastAPI
    would for a response model (serialization mode)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in ITEM_MODELS:
        doc = model.model_json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        for name, sub in doc.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components.setdefault(model.__name__, doc)
    schema["components"]["schemas"] = dict(sorted(components.items()))


# The extension that carries OpenAPI 3.2's ``itemSchema`` in a 3.1 document.
ITEM_SCHEMA_EXTENSION = "x-itemSchema"


def conform_streams(content: dict[str, Any]) -> None:
    """Make a response's ``content`` valid OpenAPI 3.1 without losing the item schemas.

    A Media Type Object in 3.1 has ``schema``, ``example(s)``, ``encoding`` and ``x-``
    extensions only. Each stream's ``itemSchema`` becomes ``x-itemSchema`` (same name,
    so a 3.2 tool finds it again), and ``schema`` says what 3.1 tools read: for
    ``text/event-stream`` the schema of one event (the pre-3.2 convention, which
    schemathesis validates each event against); for any other stream (JSON Lines) a
    string whose description names the item schema.
    """
    for media_type, entry in content.items():
        item = entry.pop("itemSchema", None)
        if item is None:
            continue
        entry[ITEM_SCHEMA_EXTENSION] = item
        if media_type == "text/event-stream":
            entry.setdefault("schema", {"description": "one event of the stream", **item})
        else:
            entry.setdefault(
                "schema",
                {
                    "type": "string",
                    "description": f"{media_type}: each line one JSON value, matching "
                    f"`{ITEM_SCHEMA_EXTENSION}`",
                },
            )


def render(app: FastAPI) -> str:
    """The document as committed: sorted keys, indent 2, one trailing newline."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (default) or ``--check`` the committed document. Returns the exit code."""
    from .main import create_app
    from .settings import Settings

    parser = argparse.ArgumentParser(prog="python -m app.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--output", type=Path, default=COMMITTED, help="default: %(default)s")
    args = parser.parse_args(argv)
    text = render(create_app(Settings()))
    shown = _shown(args.output)
    if args.check:
        if not args.output.exists():
            sys.stderr.write(f"{shown} does not exist: run `python -m app.openapi`\n")
            return 1
        current = args.output.read_text(encoding="utf-8")
        if current != text:
            line = _first_difference(current, text)
            sys.stderr.write(
                f"{shown} is stale (it differs from the generated document from line "
                f"{line}): run `python -m app.openapi`\n"
            )
            return 1
        sys.stdout.write(f"{shown} is up to date\n")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {shown}\n")
    return 0


def _shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _first_difference(old: str, new: str) -> int:
    """The first line number (1-based) where ``old`` and ``new`` differ."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            return number
    return min(len(old_lines), len(new_lines)) + 1


if __name__ == "__main__":
    raise SystemExit(main())
