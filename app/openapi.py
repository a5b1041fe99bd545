"""The OpenAPI document: post-processing, rendering, and the committed copy.

``python -m app.openapi`` writes ``openapi/openapi.json``; ``--check`` exits 1 when the
committed file differs from what the app generates (the drift test runs the same
comparison). The rendering is deterministic: sorted keys, two-space indent, trailing
newline, nothing taken from the environment.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .errors import PROBLEM_JSON

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
                for operation in item.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if PROBLEM_JSON in content:
                            response["content"] = {PROBLEM_JSON: content[PROBLEM_JSON]}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is stale: run `python -m app.openapi`\n")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
