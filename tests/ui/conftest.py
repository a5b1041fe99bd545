"""Fixtures for the browser tests of ``/ui``: the live server of the service tests, a
headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright) and a page that
may load nothing from outside the server and must raise no JavaScript error.

Screenshots go to ``tests/ui/artifacts/`` (git-ignored). Everything is skipped, with
the reason, when Playwright or a Chromium binary is missing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.errors import ERROR_TABLE, TYPE_PREFIX, NoSuchMachine
from tests.app.conftest import LiveServer, http, live_server  # noqa: F401  (fixtures)

ARTIFACTS = Path(__file__).parent / "artifacts"
NO_SUCH_MACHINE = TYPE_PREFIX + ERROR_TABLE[NoSuchMachine].slug
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one module. Not for the session: Playwright's sync API
    keeps an asyncio loop running in the main thread while it is open, and every
    later test that runs a loop of its own (TestClient, anyio.run) would fail."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("no chromium binary (apt install chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def guarded_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh page (1400 x 1700) that may talk to ``base_url`` alone. At the end: no
    request left that server, the page logged no uncaught error and no CSP violation,
    and no request failed except 404s of processes or machines that no longer exist."""
    context = browser.new_context(viewport={"width": 1400, "height": 1700})
    pg = context.new_page()
    pg.set_default_timeout(30_000)  # generous: the machine may be busy
    outside: list[str] = []
    errors: list[str] = []
    on_machines: list[Any] = []  # 404s under /machines/<id>/, judged by their body at the end

    def guard(route: Any) -> None:
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    def console(msg: Any) -> None:
        # Chrome logs every HTTP error status as "Failed to load resource"; those are
        # judged by their URL in response() below.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    def response(r: Any) -> None:
        # A 404 from the API is the page seeing a process that exited (the tests delete
        # theirs while the page still polls its maps and /vmstat?pid=), on any machine;
        # any other error status, or a missing page asset, is a bug of the page.
        # A 404 under /machines/<id>/ may also be the page polling a machine the test
        # deleted (its cleanup) while the page still showed it: the problem document
        # says which, read below.
        full = r.url[len(base_url) :]
        path = re.sub(r"^/machines/[^/]+(?=/)", "", full)
        exited = path.startswith(("/processes/", "/vmstat?pid="))
        if r.status == 404 and not exited and path != full:
            on_machines.append(r)
        elif r.status >= 400 and (r.status != 404 or not exited):
            errors.append(f"{r.request.method} {path} -> {r.status}")

    def machine_gone(r: Any) -> bool:
        try:
            return bool(r.json().get("type") == NO_SUCH_MACHINE)
        except Exception:  # no body (the page went away first) or not JSON
            return False

    pg.route("**/*", guard)
    pg.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    pg.on("console", console)
    pg.on("response", response)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield pg
    finally:
        errors.extend(
            f"{r.request.method} {r.url[len(base_url) :]} -> 404"
            for r in list(on_machines)
            if not machine_gone(r)
        )
        context.close()
    assert outside == [], f"the page tried to fetch from outside the server: {outside}"
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:  # noqa: F811
    """A :func:`guarded_page` on the session's live server."""
    with guarded_page(browser, live_server.url) as pg:
        yield pg
