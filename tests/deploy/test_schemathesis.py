"""Fuzzing: schemathesis (v4 CLI) against a live uvicorn serving the service.

Every operation of the live ``/openapi.json``; checks (written to a
``schemathesis.toml``): no 5xx, every response conforms to the documented status codes,
content types, headers and schemas, and no response hangs (:data:`MAX_RESPONSE_TIME`).
The server counts the requests it received per operation: every operation gets some.

The suite's run is bounded in work, not in time: the ``examples`` and ``coverage``
phases generate a fixed set of cases from the schema (about 2,500 requests), so a busy
machine runs the same cases, only more slowly. The ``fuzzing`` phase (random
generation, as long as ``--max-time`` allows) runs with ``-m stress``.

Three things keep generated requests from legitimately running long: a stream sends
at most one snapshot (``VMASIM_MAX_STREAM_SNAPSHOTS=1``; a larger ``count`` is the
documented 409) and lives at most 1 s, and a harness thread releases pause-point holds
(a fuzzed ``POST .../pause-points`` may arm a hold of up to 300 s on a process that
later fuzzed syscalls touch; the arm/hold/release path is still exercised). Findings in
modules this test does not own are listed in :data:`KNOWN_ISSUES`, switched off for
those operations only.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from app.deployment import Deployment
from app.main import create_app
from app.service import Service
from app.settings import Settings
from tests.app.live import serve

MIN_REQUESTS = 1000
"""A floor under the requests of the suite's run (its phases make about 2,500)."""
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
SEED = "1"
#: ``schemathesis run`` options: a fixed seed; the response-time check in the config
#: catches a single hanging request.
RUN = [
    "--max-examples=30",
    f"--seed={SEED}",
    "--workers=4",
    "--request-timeout=30",
    "--suppress-health-check=all",
    "--no-color",
]
#: The suite's run: every case the schema's examples and coverage phases produce.
SUITE_PHASES = ["--phases=examples,coverage"]
#: ``-m stress``: random fuzzing too, for as long as ``--max-time`` allows.
STRESS_PHASES = ["--phases=examples,coverage,fuzzing", "--max-time=120"]
#: Findings in other modules, reported to their owners and not yet fixed there:
#: (path regex, check switched off for those operations only, why). Empty this list
#: as they are fixed; every other operation keeps every check.
KNOWN_ISSUES: list[tuple[str, str, str]] = []


#: Every check schemathesis has, and whether this run uses it: the server's own
#: contract (no 5xx, documented status/content type/headers/schema, response time).
#: The semantic checks are off: they assume REST conventions (e.g. that any valid
#: input is accepted) the simulator does not follow (a valid mmap may fail with ENOMEM).
CHECKS_ON = {
    "not_a_server_error": True,
    "status_code_conformance": True,
    "content_type_conformance": True,
    "response_headers_conformance": True,
    "response_schema_conformance": True,
    "positive_data_acceptance": False,
    "negative_data_rejection": False,
    "use_after_free": False,
    "ensure_resource_availability": False,
    "missing_required_header": False,
    "ignored_auth": False,
    "object_level_authorization": False,
    "unsupported_method": False,
    "allow_header_conformance": False,
}
MAX_RESPONSE_TIME = 30.0
"""Seconds: a slower response fails the run. A hang detector, generous for a machine
other work keeps busy (speed is measured in bench/, not here)."""


def _config() -> str:
    lines = ["[checks]"]
    lines += [f"{name}.enabled = {str(on).lower()}" for name, on in CHECKS_ON.items()]
    lines += [f"max_response_time = {MAX_RESPONSE_TIME}", ""]
    for regex, check, why in KNOWN_ISSUES:
        lines += [
            f"# {why}",
            "[[operations]]",
            f"include-path-regex = '{regex}'",  # a TOML literal string: no escapes
            f"checks.{check}.enabled = false",
            "",
        ]
    return "\n".join(lines)


class RequestCounter:
    """ASGI middleware counting HTTP requests, and the operations they reached (the
    router records the matched route in the scope), the test's own instrument."""

    count = 0
    operations: set[tuple[str, str]] = set()

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        RequestCounter.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            if route is not None and scope["method"] in (getattr(route, "methods", None) or ()):
                RequestCounter.operations.add((scope["method"].lower(), route.path))


def _release_holds(service: Service, stop: threading.Event) -> None:
    while not stop.wait(0.02):
        for proc in service.kernel.processes():
            if proc.mm.pauses.held():
                proc.mm.pauses.release_all()


def _schemathesis() -> str:
    exe = Path(sys.executable).parent / "schemathesis"
    found = str(exe) if exe.exists() else shutil.which("schemathesis")
    if found is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return found


def _fuzz(tmp_path: Path, phases: list[str], timeout: float) -> None:
    """Run schemathesis with ``phases`` against a live server; assert a clean run that
    reached every documented operation."""
    cli = _schemathesis()
    settings = Settings(max_stream_snapshots=1, max_stream_seconds=1, max_processes=64)
    app = create_app(settings, deployment=Deployment(max_inflight=256, max_streams=64))
    app.add_middleware(RequestCounter)
    RequestCounter.count = 0
    RequestCounter.operations = set()
    stop = threading.Event()
    janitor = threading.Thread(
        target=_release_holds, args=(app.state.service, stop), name="hold-janitor", daemon=True
    )
    janitor.start()
    try:
        with serve(app) as running:
            config = tmp_path / "schemathesis.toml"
            config.write_text(_config())
            # The live document, read here with a generous timeout: schemathesis reads a
            # URL with a fixed 10 s one, which a loaded machine has exceeded.
            schema = tmp_path / "openapi.json"
            with httpx.Client(base_url=running.url, timeout=60) as http:
                schema.write_bytes(http.get("/openapi.json").raise_for_status().content)
            args = ["run", str(schema), "--url", running.url, *RUN, *phases]
            result = subprocess.run(
                [cli, "--config-file", str(config), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=tmp_path,
                env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
            )
    finally:
        stop.set()
        janitor.join(5)
    output = result.stdout + result.stderr
    summary = [line for line in output.splitlines() if "generated" in line]
    logging.getLogger(__name__).info("%d requests served; %s", RequestCounter.count, summary)
    assert result.returncode == 0, output[-6000:]
    documented = {
        (method, path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in {"get", "head", "post", "put", "patch", "delete"}
    }
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    assert selected is not None, output[-2000:]
    assert int(selected[1]) == int(selected[2]) == len(documented), selected[0]
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested is None or int(tested[1]) == len(documented), tested
    assert documented - RequestCounter.operations == set(), "operations never requested"
    assert RequestCounter.count >= MIN_REQUESTS, (RequestCounter.count, output[-2000:])


@pytest.mark.timeout(360)
def test_fuzz_every_operation(tmp_path: Path) -> None:
    """The suite's run: a fixed set of cases, however long a busy machine takes (about
    30 s on a quiet one; the timeouts only catch a hang)."""
    _fuzz(tmp_path, SUITE_PHASES, timeout=300)


@pytest.mark.stress
@pytest.mark.timeout(360)
def test_fuzz_randomly(tmp_path: Path) -> None:
    _fuzz(tmp_path, STRESS_PHASES, timeout=300)


def test_undecodable_body_is_a_documented_422() -> None:
    """Found by the fuzzer: a body that is not UTF-8 was FastAPI's undocumented 400."""
    app = create_app(Settings(), deployment=Deployment())
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=10) as http:
        response = http.post(
            "/processes", content=b"Q\x1e\xff\n", headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    message = "not valid JSON: not UTF-8 text (byte 0xff at offset 2: invalid start byte)"
    assert response.json()["errors"] == [{"field": "body", "message": message}]
