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
import tomllib
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
LOCUST_DOCKERFILE = ROOT / "docker" / "locust.Dockerfile"
PROXY_DOCKERFILE = ROOT / "docker" / "haproxy.Dockerfile"
DOCKERFILES = [DOCKERFILE, LOCUST_DOCKERFILE, PROXY_DOCKERFILE]
COMPOSE = ROOT / "docker" / "docker-compose.yml"
CLUSTER_COMPOSE = ROOT / "docker" / "docker-compose.cluster.yml"
#: The images' locks (scripts/lock) and the development lock they are cut from.
DEV_LOCK = ROOT / "requirements-dev.lock"
SERVICE_LOCK = ROOT / "requirements.lock"
LOCUST_LOCK = ROOT / "docker" / "locust.lock"
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


@pytest.mark.parametrize("compose", [COMPOSE, CLUSTER_COMPOSE], ids=lambda p: p.name)
@pytest.mark.parametrize("headless", ["true", "false"])
def test_compose_config_is_valid(compose: Path, headless: str) -> None:
    res = run(
        [tool("docker-compose"), "-f", str(compose), "config", "-q"], LOCUST_HEADLESS=headless
    )
    assert res.returncode == 0, res.stderr


def compose_config(compose: Path = COMPOSE, **env: str) -> str:
    res = run([tool("docker-compose"), "-f", str(compose), "config"], **env)
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


def pins(lock: Path) -> dict[str, str]:
    """``name: version`` of every package a lock file pins."""
    return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock.read_text(), re.M))


def test_locust_image_version_has_one_value() -> None:
    """Both compose files name the image; locust.Dockerfile installs locust.lock, which
    pins that version."""
    tags = {t for f in (COMPOSE, CLUSTER_COMPOSE) for t in re.findall(
        r"image: locustio/locust:(\S+)", f.read_text())}  # fmt: skip
    assert tags == {pins(LOCUST_LOCK)["locust"]}
    assert "--requirement /tmp/locust.lock" in LOCUST_DOCKERFILE.read_text()


def test_image_locks_are_cut_from_the_development_lock() -> None:
    """The images install what the tests ran: every pin of requirements.lock (the
    service, Ray included) and of locust.lock is the development lock's, hashed."""
    dev = pins(DEV_LOCK)
    # Every runtime dependency of pyproject.toml and its cluster extra: a dependency
    # added there without `scripts/lock` would be missing from the image only.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {
        re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0].lower().replace("_", "-")
        for spec in [*project["dependencies"], *project["optional-dependencies"]["cluster"]]
    }
    assert {"fastapi", "uvicorn", "ray", "mypy-extensions"} <= runtime
    for lock, must in ((SERVICE_LOCK, runtime), (LOCUST_LOCK, {"locust"})):
        locked = pins(lock)
        assert must <= set(locked), lock
        assert {k: dev.get(k) for k in locked} == locked, lock
        assert lock.read_text().count("--hash=sha256:") >= len(locked)
    assert "--require-hashes" in DOCKERFILE.read_text()
    # The service's lock holds its runtime dependencies, not the development tools.
    assert not {"pytest", "mypy", "ruff", "locust", "playwright"} & set(pins(SERVICE_LOCK))


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


def test_proxy_dockerfile_properties() -> None:
    """HAProxy from Debian's package, non-root, healthy only through to a front end."""
    text = PROXY_DOCKERFILE.read_text()
    assert re.search(r'apt-get install .*"haproxy=', text)
    user = re.search(r"^USER (\S+)", text, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*127\.0\.0\.1:8000/healthz", text, re.M)
    cfg = (ROOT / "docker" / "haproxy.cfg").read_text()
    assert "option httpchk GET /healthz" in cfg  # only healthy front ends get requests
    assert re.search(r"^\s+server-template fe \d+ frontend:8000$", cfg, re.M)


def test_cluster_compose_runs_the_cluster_backend() -> None:
    """Front ends on the Ray backend joined to the head, the machines' store on a shared
    volume of the front ends and the workers, machines on the workers only, one
    published entry point, and the Locust services of the first compose file."""
    import yaml  # PyYAML, a dependency of schemathesis

    doc = yaml.safe_load(compose_config(CLUSTER_COMPOSE, VMASIM_FRONT_ENDS="3"))
    services = doc["services"]
    front = services["frontend"]
    env = front["environment"]
    assert env["VMASIM_BACKEND"] == "ray" and env["VMASIM_RAY_ADDRESS"] == "ray-head:6379"
    assert front["deploy"]["replicas"] == 3
    store = env["VMASIM_CLUSTER_STORE"]
    for name in ("frontend", "ray-worker"):
        (vol,) = services[name]["volumes"]  # short syntax (v1's config) or long (v2's)
        source, target = (
            vol.split(":")[:2] if isinstance(vol, str) else (vol["source"], vol["target"])
        )
        assert source == "store" and store.startswith(target + "/")
    resource = env["VMASIM_RAY_MACHINE_RESOURCE"]
    assert f'"{resource}"' in services["ray-worker"]["command"]
    assert resource not in services["ray-head"]["command"] and "--num-cpus=0" in str(
        services["ray-head"]["command"]
    )
    published = [name for name, svc in services.items() if svc.get("ports")]
    assert sorted(published) == ["master", "proxy"]  # the entry point and Locust's UI
    assert services["proxy"]["depends_on"]["frontend"]["condition"] == "service_healthy"
    assert services["master"]["depends_on"]["proxy"]["condition"] == "service_healthy"
    assert services["master"]["environment"]["LOCUST_HOST"] == "http://proxy:8000"
    # The Locust services are those of docker-compose.yml, aimed at the proxy.
    plain = yaml.safe_load(compose_config())["services"]
    for name in ("master", "worker"):
        a, b = dict(plain[name]), dict(services[name])
        for svc in (a, b):
            svc.pop("depends_on")
            svc["environment"] = {k: v for k, v in svc["environment"].items() if k != "LOCUST_HOST"}
        assert a == b, name


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
    assert set(copied) == {"docker/with-extra-ca-certs", "requirements.lock", "."}


def test_docker_dir_context_sends_only_what_its_images_copy() -> None:
    lines = (ROOT / "docker" / ".dockerignore").read_text().splitlines()
    sent = [ln for ln in lines if ln and not ln.startswith("#")]
    assert sent[0] == "*"
    copied = {
        name
        for f in (LOCUST_DOCKERFILE, PROXY_DOCKERFILE)
        for name in re.findall(r"^COPY (?!--from)(\S+) ", f.read_text(), re.M)
    }
    assert copied == {"with-extra-ca-certs", "locust.lock", "haproxy.cfg"}
    assert set(sent[1:]) == {"!" + name for name in copied}


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
