"""Static checks of the container files (``test_compose.py`` builds and runs them):
``docker-compose config -q`` and hadolint must pass, and the files keep the
properties the deployment relies on (non-root, healthcheck, one worker, reports
mount, builds with either builder offline, a build context that needs no edit when a
package is added). The locustfile's enabled tasks must name routes the service documents.
"""

from __future__ import annotations

import ast
import fnmatch
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
LOCUST_DOCKERFILE = ROOT / "docker" / "locust.Dockerfile"
DOCKERFILES = [DOCKERFILE, LOCUST_DOCKERFILE]
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


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    res = run([tool("hadolint"), str(dockerfile)])
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
    assert "VMASIM_STATE_FILE: /home/vmasim/state/vmasim.json" in text
    assert "state:/home/vmasim/state" in text


def test_compose_passes_extra_ca_certs_to_both_builds_only() -> None:
    import yaml  # type: ignore[import-untyped]  # PyYAML, a dependency of schemathesis

    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    services = yaml.safe_load(compose_config(VMASIM_EXTRA_CA_CERTS=pem))["services"]
    built = {name for name, svc in services.items() if "build" in svc}
    assert built == {"app", "master"}  # the workers run the image the master builds
    for name, svc in services.items():
        if name in built:
            assert svc["build"]["args"]["EXTRA_CA_CERTS"] == pem
        assert "MIIB" not in str(svc.get("environment"))  # never a container's setting


def test_locust_image_version_has_one_value() -> None:
    """The compose file names the image; locust.Dockerfile builds that version."""
    (tag,) = set(re.findall(r"image: locustio/locust:(\S+)", COMPOSE.read_text()))
    (default,) = re.findall(r"^ARG LOCUST_VERSION=(\S+)$", LOCUST_DOCKERFILE.read_text(), re.M)
    assert tag == default


def test_master_outlasts_its_wrap_up() -> None:
    """The master's stop grace period exceeds the users' stop timeout it waits for."""
    text = compose_config()
    master = text.split("\n  master:", 1)[1].split("\n  worker:", 1)[0]
    grace = re.search(r"stop_grace_period: (\d+)s", master)
    timeout = re.search(r"LOCUST_STOP_TIMEOUT: '(\d+)'", master)
    assert grace is not None and timeout is not None, master
    assert int(grace.group(1)) >= 2 * int(timeout.group(1))


def test_dockerfile_properties() -> None:
    text = DOCKERFILE.read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    user = re.search(r"^USER (\S+)", final_stage, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", final_stage, re.M)
    assert "--workers 1" in final_stage
    assert "python:3.11-slim" in text
    assert "[dev]" not in text and "[test]" not in text  # runtime dependencies only
    # The extra CA certificates serve pip in the build stage, never the final image.
    assert "EXTRA_CA_CERTS" not in final_stage


def test_locust_dockerfile_keeps_the_official_contract() -> None:
    text = LOCUST_DOCKERFILE.read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r'^ENTRYPOINT \["locust"\]$', final_stage, re.M)
    user = re.search(r"^USER (\S+)", final_stage, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert re.search(r"^EXPOSE 8089 5557$", final_stage, re.M)
    assert "EXTRA_CA_CERTS" not in final_stage


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_builds_offline_with_either_builder(dockerfile: Path) -> None:
    """No ``# syntax=`` directive (BuildKit would fetch that frontend from a registry)
    and nothing the legacy builder lacks (``RUN --mount``, heredocs, ``COPY --link``)."""
    text = dockerfile.read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I)
    assert not re.search(r"^(RUN|COPY|ADD)\s+--(mount|link|network|security)", text, re.M)
    assert "<<" not in text


def context_entries(dockerignore: Path) -> set[str]:
    """The top-level entries of the context that ``dockerignore`` sends (its patterns
    applied to each top-level name; the repository's tracked and untracked files)."""
    lines = [ln.strip() for ln in dockerignore.read_text().splitlines()]
    patterns = [ln for ln in lines if ln and not ln.startswith(("#", "!"))]
    names = {p.name for p in dockerignore.parent.iterdir()}
    return {n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in patterns)}


def test_dockerignore_sends_the_packages_and_little_else() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    sent = context_entries(ROOT / ".dockerignore")
    # What the wheel needs: every package pyproject.toml names, its metadata, its readme.
    assert sent >= packages | {"pyproject.toml", pyproject["project"]["readme"]}
    # Not: the repository's history, environments, tests, docs, reports.
    for heavy in (".git", ".venv", "tests", "docs", "bench", "reports", "docker", ".ci"):
        assert heavy not in sent, heavy
    # The one file of docker/ the build uses is let back in.
    text = (ROOT / ".dockerignore").read_text()
    assert "!docker/with-extra-ca-certs" in text.splitlines()
    copied = re.findall(r"^COPY (?!--from)(\S+) ", DOCKERFILE.read_text(), re.M)
    assert set(copied) == {"docker/with-extra-ca-certs", "pyproject.toml", "."}


def test_locust_context_sends_only_the_ca_helper() -> None:
    lines = (ROOT / "docker" / ".dockerignore").read_text().splitlines()
    assert [ln for ln in lines if ln and not ln.startswith("#")] == ["*", "!with-extra-ca-certs"]
    copied = re.findall(r"^COPY (?!--from)(\S+) ", LOCUST_DOCKERFILE.read_text(), re.M)
    assert copied == ["with-extra-ca-certs"]


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
