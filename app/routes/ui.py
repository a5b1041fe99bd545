"""``/ui``: the live web page (plain HTML, CSS and JavaScript in ``app/static/ui``).

The page is a client of the public REST API and the SSE maps stream, nothing more: it
has no route of its own beyond its files, holds no engine state and imports nothing
from ``core``. Its files are served by this process (no CDN, no build step), with a
Content-Security-Policy that lets the page load and connect only to this server.
Excluded from the OpenAPI document (``include_in_schema=False``).
"""

from __future__ import annotations

import os
from os import PathLike
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

UI_DIR = Path(__file__).resolve().parent.parent / "static" / "ui"
"""The page's files: ``index.html``, ``ui.css`` and the ES modules ``js/*.js``."""
ASSETS = "/ui/assets"

# Scripts and styles only from this server (no inline script); the map is a canvas.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class _UiFiles(StaticFiles):
    """StaticFiles that asks browsers to revalidate (the page changes with the
    service; an ETag makes the revalidation a 304)."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install(app: FastAPI) -> None:
    """Serve ``GET /ui`` (the page) and ``/ui/assets/*`` (its CSS and scripts)."""
    app.mount(ASSETS, _UiFiles(directory=UI_DIR), name="ui-assets")

    @app.get("/ui", include_in_schema=False)
    async def ui_page() -> FileResponse:
        return FileResponse(
            UI_DIR / "index.html",
            media_type="text/html",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
        )

    @app.get("/ui/", include_in_schema=False)
    async def ui_slash() -> RedirectResponse:
        return RedirectResponse("/ui")
