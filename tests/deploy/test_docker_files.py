"""Static checks of the container files (no Docker engine runs here or in CI):
``docker-compose config -q`` and hadolint must pass, and the files keep the
properties the deployment relies on (non-root, healthcheck, one worker, reports
mount). The locustfile's enabled tasks must name routes the service documents.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "docker-compose.yml"
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"


def tool(name: str) -> str:
    """The executable ``name`` from the venv or PATH, or skip naming what is missing."""
    venv = Path(sys.executable).parent / name
    path = str(venv) if venv.exists() else shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it; see README)")
    return path


def run(cmd: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )


def test_hadolint_passes() -> None:
    res = run([tool("hadolint"), str(DOCKERFILE)])
    assert res.returncode == 0, res.stdout + res.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    # The check has teeth: root user and an unpinned apt-get install are flagged.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n")
    res = run([tool("hadolint"), str(bad)])
    assert res.returncode != 0
    assert "DL3008" in res.stdout  # pin versions in apt-get install


@pytest.mark.parametrize("headless", ["true", "false"])
def test_compose_config_is_valid(headless: str) -> None:
    res = run(
        [tool("docker-compose"), "-f", str(COMPOSE), "config", "-q"], LOCUST_HEADLESS=headless
    )
    assert res.returncode == 0, res.stderr


def compose_config(**env: str) -> str:
    res = run([tool("docker-compose"), "-f", str(COMPOSE), "config"], **env)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_compose_scales_workers_and_mounts_reports() -> None:
    text = compose_config(LOCUST_WORKERS="4", LOCUST_RUN_TIME="5m")
    # One variable sets both the worker replicas and how many the master waits for.
    assert re.search(r"replicas: 4\b", text)
    assert re.search(r"LOCUST_EXPECT_WORKERS: '4'", text)
    assert "LOCUST_RUN_TIME: 5m" in text
    assert f"{ROOT / 'docker' / 'reports'}:/reports" in text
    assert "LOCUST_CSV: /reports/run" in text
    assert "LOCUST_HTML: /reports/report.html" in text
    assert "condition: service_healthy" in text


def test_dockerfile_properties() -> None:
    text = DOCKERFILE.read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    user = re.search(r"^USER (\S+)", final_stage, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", final_stage, re.M)
    assert "--workers 1" in final_stage
    assert "python:3.11-slim" in text
    assert "[dev]" not in text and "[test]" not in text  # runtime dependencies only


def test_dockerignore_keeps_the_context_small() -> None:
    text = (ROOT / ".dockerignore").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"  # allow-list
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "app", "core"}
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.M))
    for sources in copied:
        for src in sources.split():
            assert src in allowed, f"COPY {src} is excluded by .dockerignore"


def locust_tasks() -> dict[str, tuple[str, str, int]]:
    """TASKS and READER_TASKS from the locustfile, read with ast: importing Locust here
    would monkey-patch the test process with gevent."""
    tree = ast.parse(LOCUSTFILE.read_text())
    tasks: dict[str, tuple[str, str, int]] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id in ("TASKS", "READER_TASKS")
        ):
            assert node.value is not None
            tasks.update(ast.literal_eval(node.value))
    assert tasks, "no TASKS in the locustfile"
    return tasks


def test_enabled_load_tasks_use_documented_routes() -> None:
    openapi: dict[str, Any] = create_app(Settings()).openapi()
    enabled = {name: t for name, t in locust_tasks().items() if t[2] > 0}
    assert len(enabled) >= 10
    for name, (kind, param, _weight) in enabled.items():
        method, path = kind.split(" ", 1)
        op = openapi["paths"].get(path, {}).get(method.lower())
        assert op is not None, f"load task {name}: {kind} is not a route"
        if param.startswith("op:"):
            schemas = openapi["components"]["schemas"].values()
            ops = {
                s["properties"]["op"].get("const")
                for s in schemas
                if "op" in s.get("properties", {})
            }
            assert param[3:] in ops, f"load task {name}: no batch op {param[3:]}"
        elif param:
            names = {p["name"] for p in op.get("parameters", [])}
            assert param in names, f"load task {name}: {kind} has no parameter {param}"
