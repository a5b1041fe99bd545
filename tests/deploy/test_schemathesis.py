"""Fuzzing: schemathesis (v4 CLI) against a live uvicorn serving the service.

Every operation of the live ``/openapi.json``, a fixed seed, and **every check**
schemathesis has (written to a ``schemathesis.toml``): no 5xx, every response conforms
to the documented status codes, content types, headers and schemas, schema-valid data
is accepted and invalid data refused, ``Allow`` on 405, and no response hangs
(:data:`MAX_RESPONSE_TIME`), plus our own ``schema_valid_input_passes_validation``
(``schemathesis_hooks.py``). The exceptions are :data:`JUSTIFIED`, each for the
operations where it applies, listed with the reason in the README ("Fuzzing"). The
server counts the requests it received per operation: every operation gets some.

The suite's run is bounded in work, not in time: the ``examples`` and ``coverage``
phases generate a fixed set of cases from the schema (about 6,600 requests, half of them
under /machines/{machine}), so a busy
machine runs the same cases, only more slowly. The ``fuzzing`` phase (random
generation, at least :data:`MIN_STRESS_CASES` cases) runs with ``-m stress``.

Four things keep generated requests from legitimately running long: a stream sends
at most one snapshot (``VMASIM_MAX_STREAM_SNAPSHOTS=1``; a larger ``count`` is the
documented 409) and lives at most 1 s, a batch touches at most 4,096 pages
(``VMASIM_MAX_BATCH_PAGES``; a fuzzed touch of 50,000 unmapped pages took over the
10 s request timeout on a busy machine), and a harness thread releases pause-point holds
(a fuzzed ``POST .../pause-points`` may arm a hold of up to 300 s on a process that
later fuzzed syscalls touch; the arm/hold/release path is still exercised).
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
from app.machines import EmbeddedMachines
from app.main import create_app
from app.settings import Settings
from tests.app.live import serve

MIN_REQUESTS = 1000
"""A floor under the requests of the suite's run (its phases make about 6,600)."""
MIN_STRESS_CASES = 2000
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
STRESS_PHASES = ["--phases=examples,coverage,fuzzing", "--max-examples=100", "--max-time=600"]
#: The checks switched off for some operations, and why: (path regex, check, reason).
#: The README's "Fuzzing" section lists the same; every other operation keeps every
#: check, and our own ``schema_valid_input_passes_validation`` runs on all of them.
ENGINE_REFUSES = (
    "a simulated syscall refuses well-formed arguments as the kernel does (EINVAL, ENOMEM, "
    "EEXIST, EBADF...: a 422 syscall-error with its errno), a pause point may already be "
    "armed, a maps text may not import: the machine's answer, not a malformed request"
)
MACHINE_REFUSES = (
    "a machine's kernel refuses a setting out of its sysctl's range (Kernel.configure: a "
    "422 naming it), an id may be taken and the machines are bounded (409)"
)
#: Every process route is also served under /machines/{machine} (issue 21).
IN_MACHINE = r"^(/machines/\{machine\})?"
JUSTIFIED: list[tuple[str, str, str]] = [
    (
        IN_MACHINE
        + r"/processes/\{pid\}/(mmap|munmap|mprotect|mremap|madvise|mlock2?|munlock|mlockall"
        r"|mseal|prctl|files/\{fd\}|pause-points)$",
        "positive_data_acceptance",
        ENGINE_REFUSES,
    ),
    (IN_MACHINE + r"/processes$", "positive_data_acceptance", ENGINE_REFUSES),
    (
        IN_MACHINE + r"/processes/\{pid\}/(files|syscalls|vma|vma/batch|execve)$",
        "positive_data_acceptance",
        ENGINE_REFUSES,
    ),  # fmt: skip
    (r"^/machines$", "positive_data_acceptance", MACHINE_REFUSES),
]


#: Every check schemathesis has: all on (the exceptions above are per operation).
CHECKS_ON = {
    "not_a_server_error": True,
    "status_code_conformance": True,
    "content_type_conformance": True,
    "response_headers_conformance": True,
    "response_schema_conformance": True,
    "positive_data_acceptance": True,
    "negative_data_rejection": True,
    "use_after_free": True,
    "ensure_resource_availability": True,
    "missing_required_header": True,
    "ignored_auth": True,
    "object_level_authorization": True,
    "unsupported_method": True,
    "allow_header_conformance": True,
    "schema_valid_input_passes_validation": True,
}
MAX_RESPONSE_TIME = 30.0
"""Seconds: a slower response fails the run. A hang detector, generous for a machine
other work keeps busy (speed is measured in bench/, not here)."""


def _config() -> str:
    lines = ["[checks]"]
    lines += [f"{name}.enabled = {str(on).lower()}" for name, on in CHECKS_ON.items()]
    lines += [f"max_response_time = {MAX_RESPONSE_TIME}", ""]
    for regex, check, why in JUSTIFIED:
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
                path = getattr(route, "path_format", route.path)  # "{name}", no convertor
                # The scope names the route as its router declared it: a route mounted
                # again under /machines/{machine} (app.main) has the unprefixed path.
                if scope["path"].startswith("/machines/") and not path.startswith("/machines"):
                    path = "/machines/{machine}" + path
                RequestCounter.operations.add((scope["method"].lower(), path))


def _release_holds(machines: EmbeddedMachines, stop: threading.Event) -> None:
    while not stop.wait(0.02):
        for service in machines.services():
            for proc in service.kernel.processes():
                if proc.mm.pauses.held():
                    proc.mm.pauses.release_all()


def _schemathesis() -> str:
    exe = Path(sys.executable).parent / "schemathesis"
    found = str(exe) if exe.exists() else shutil.which("schemathesis")
    if found is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return found


def fuzz(tmp_path: Path, phases: list[str], timeout: float) -> tuple[str, int]:
    """Run schemathesis with ``phases`` against a live server; assert a clean run that
    reached every documented operation. Returns its output and the test cases
    generated."""
    cli = _schemathesis()
    settings = Settings(
        max_stream_snapshots=1, max_stream_seconds=1, max_processes=64, max_batch_pages=4096
    )
    app = create_app(settings, deployment=Deployment(max_inflight=256, max_streams=64))
    app.add_middleware(RequestCounter)
    RequestCounter.count = 0
    RequestCounter.operations = set()
    stop = threading.Event()
    janitor = threading.Thread(
        target=_release_holds, args=(app.machines, stop), name="hold-janitor", daemon=True
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
            # A fuzzed POST /experiments may have started a long lab run; shutdown
            # cancels it between two of its cells, which can take a while.
            running.stop(timeout=120)
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
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output) or re.search(
        r"Selected:\s+(\d+)/(\d+)", output
    )
    assert selected is not None, output[-2000:]
    assert int(selected[1]) == int(selected[2]) == len(documented), selected[0]
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested is None or int(tested[1]) == len(documented), tested
    assert documented - RequestCounter.operations == set(), "operations never requested"
    assert RequestCounter.count >= MIN_REQUESTS, (RequestCounter.count, output[-2000:])
    generated = re.search(r"(\d+) generated", output)
    return output, 0 if generated is None else int(generated[1])


@pytest.mark.timeout(720)
def test_fuzz_every_operation(tmp_path: Path) -> None:
    """The suite's run: a fixed set of cases, however long a busy machine takes (about
    6 minutes on a loaded one, 6,598 requests; the timeouts only catch a hang)."""
    fuzz(tmp_path, SUITE_PHASES, timeout=600)


@pytest.mark.stress
@pytest.mark.timeout(900)
def test_fuzz_randomly(tmp_path: Path) -> None:
    """At least 2,000 generated test cases, every check (the README quotes the run)."""
    _, cases = fuzz(tmp_path, STRESS_PHASES, timeout=700)
    assert cases >= MIN_STRESS_CASES, cases


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
