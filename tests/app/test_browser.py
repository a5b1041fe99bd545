"""Headless Chromium (Debian's package, driven by Playwright) opens the docs pages
served by the live server: Swagger UI lists every operation and "Try it out" creates
a process; ReDoc renders. Nothing is fetched from outside the loopback server.

Skipped where Playwright or a Chromium binary is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.app.conftest import LiveServer
from tests.ui.conftest import browser  # noqa: F401  (fixture: skips without chromium)


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)  # generous: the machine may be busy
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    yield page
    context.close()
    assert outside == [], f"the docs page tried to fetch from outside: {outside}"


def test_swagger_ui_lists_every_operation_and_try_it_out_works(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    schema = http.get("/openapi.json").json()
    n_ops = sum(len(item) for item in schema["paths"].values())
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() == n_ops
    # Swagger UI's block ids are "operations-<tag>-<operationId>"; each operation is
    # there once, and once more under /machines/{machine} ("machines-" operationIds).
    for op_id in ("processes-create_process", "syscalls-mmap", "proc-maps_text"):
        tag = op_id.split("-")[0]
        for prefix in ("", "machines-"):
            block_id = f"operations-{tag}-{prefix}{op_id}"
            assert page.locator(f"[id='{block_id}']").count() == 1, block_id

    before = {p["pid"] for p in http.get("/processes").json()["processes"]}
    block = page.locator("[id='operations-processes-processes-create_process']")
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "201"
    after = {p["pid"] for p in http.get("/processes").json()["processes"]}
    created = after - before
    assert len(created) == 1
    (pid,) = created
    assert http.get(f"/processes/{pid}").json()["name"] == "demo"  # the first example
    http.delete(f"/processes/{pid}")


def test_redoc_renders(page: Any, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/redoc")
    page.get_by_role("heading", name="A batch of syscalls").first.wait_for()
    assert "vmasim" in page.title()
