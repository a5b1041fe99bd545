"""The compose load test for real: ``docker/docker-compose.yml`` builds the service
image and the Locust image, runs the service with a Locust master and two workers for
30 s, and its exit code is the master's verdict. Also Docker's health check of the
service, and a ``docker stop`` that saves the state in the service's volume for the
next container to restore.

Needs a Docker daemon and the base image the Dockerfiles build FROM: CI (``.ci/run``)
starts the daemon with ``scripts/docker-daemon`` and provides the base with
``scripts/docker-base-images`` (in the background, with a first build of the images;
the fixture waits for that job); without them every test here skips, saying which is
missing. Compose v2 (``docker compose``) is used when installed, else v1
(``docker-compose``).

Everything runs under a compose project of its own (``vmasim-test-<hex>``): teardown
removes that project's containers, network and state volume (``down --volumes``), and
nothing else. The images stay: the next run builds from their layer cache.
"""

from __future__ import annotations

import csv
import faulthandler
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker" / "docker-compose.yml"
BASE_IMAGE = "python:3.11-slim-bookworm"
# The Locust image's name and version: the compose file is their one home.
LOCUST_IMAGE = re.findall(r"^\s+image: (locustio/locust:\S+)$", COMPOSE_FILE.read_text(), re.M)[0]
# Where Debian keeps the CA certificates a machine adds to its trust store
# (update-ca-certificates): a TLS-intercepting proxy's CA, here and on many networks.
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
# The run: 20 users (the file's default is 50) for 30 s, p95 bounds scaled by 10. It
# proves the stack (builds, health, two workers, the verdict as exit code, reports), not
# this machine's speed: the stack shares two cores with whatever else runs (CI's other
# tests, a developer's jobs), which stretches every latency. docs/performance.md has the
# default run's figures; the impossible-threshold test shows the verdict has teeth.
USERS = "20"
P95_FACTOR = "10"
RUN_SECONDS = 30
# Containers must become healthy, and compose runs end, within these (seconds).
HEALTHY_TIMEOUT = 120
BUILD_TIMEOUT = 900
BASE_IMAGES_TIMEOUT = 900
# Whichever test comes first also waits for the base image and the builds (the fixture).
TIMEOUT = BASE_IMAGES_TIMEOUT + BUILD_TIMEOUT + 600


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def compose_cli() -> list[str] | None:
    """``docker compose`` (v2) when the plugin answers, else ``docker-compose`` (v1);
    with the option that keeps terminal colour codes out of the output."""
    if docker("compose", "version", timeout=20).returncode == 0:
        return ["docker", "compose", "--ansi", "never"]
    path = shutil.which("docker-compose")
    return [path, "--no-ansi"] if path else None


def extra_ca_certs() -> str:
    """The build's EXTRA_CA_CERTS: ``$VMASIM_EXTRA_CA_CERTS`` when set, else the CA
    certificates this machine added to its trust store (none on most machines), as the
    README's ``"$(cat /usr/local/share/ca-certificates/*.crt)"`` gives them (the same
    text: the same build argument, so builds share the layer cache)."""
    if "VMASIM_EXTRA_CA_CERTS" in os.environ:
        return os.environ["VMASIM_EXTRA_CA_CERTS"]
    if not LOCAL_CA_DIR.is_dir():
        return ""
    return "".join(p.read_text() for p in sorted(LOCAL_CA_DIR.glob("*.crt"))).rstrip("\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """One compose project of ``file`` (docker/docker-compose.yml unless said), and the
    environment it runs with (ports, CA certificates, reports directory)."""

    cli: list[str]
    project: str
    env: dict[str, str]
    workdir: Path
    file: Path = COMPOSE_FILE

    def compose(self, *args: str, timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
        """Run a compose command of this project; stdout and stderr together."""
        return subprocess.run(
            [*self.cli, "-p", self.project, "-f", str(self.file), *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    def containers(self, service: str) -> list[dict[str, Any]]:
        """``docker inspect`` of the service's containers, running or not (by the
        project and service labels both compose versions set)."""
        ids = docker(
            "ps", "--all", "--quiet", "--no-trunc",
            "--filter", f"label=com.docker.compose.project={self.project}",
            "--filter", f"label=com.docker.compose.service={service}",
        ).stdout.split()  # fmt: skip
        if not ids:
            return []
        res = docker("inspect", *ids)
        assert res.returncode == 0, res.stderr
        docs: list[dict[str, Any]] = json.loads(res.stdout)
        return docs

    def load_run(self, name: str, run_time: str, **env: str) -> LoadRun:
        """``up --exit-code-from master`` with reports in ``workdir/name``."""
        reports = self.workdir / name
        reports.mkdir()
        res = self.compose(
            "up", "--no-color", "--exit-code-from", "master",
            timeout=HEALTHY_TIMEOUT + 240,
            LOCUST_RUN_TIME=run_time, VMASIM_LOAD_REPORTS=str(reports), **env,
        )  # fmt: skip
        (reports / "compose.log").write_text(res.stdout)
        return LoadRun(res.returncode, res.stdout, reports)

    def wait_healthy(self, container: str) -> dict[str, Any]:
        """Wait until Docker's health check calls ``container`` healthy; its State."""
        deadline = time.monotonic() + HEALTHY_TIMEOUT
        while True:
            res = docker("inspect", "--format", "{{json .State}}", container)
            assert res.returncode == 0, res.stderr
            state: dict[str, Any] = json.loads(res.stdout)
            health = state.get("Health", {}).get("Status")
            if health == "healthy":
                return state
            assert state["Running"], f"{container} stopped: {state}"
            assert health != "unhealthy", f"{container} unhealthy: {state['Health']}"
            assert time.monotonic() < deadline, f"{container} not healthy: {state}"
            time.sleep(0.5)


@dataclass
class LoadRun:
    rc: int
    output: str
    reports: Path

    def verdict(self) -> dict[str, Any]:
        path = self.reports / "run_thresholds.json"
        assert path.exists(), tail(self.output)
        doc: dict[str, Any] = json.loads(path.read_text())
        return doc

    def assert_passed(self, types: set[str]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
        """The run passed: exit 0, the master's verdict PASS (once in the output, not cut
        off) with no failure, problem or stall, at least the request ``types``, and
        Locust's own CSV agreeing on no failure. The verdict and the CSV rows by name."""
        verdict = self.verdict()
        assert self.rc == 0, tail(self.output)
        assert verdict["passed"] and verdict["problems"] == [], verdict["problems"]
        assert verdict["failures"] == 0
        # 20 users for 30 s, each a request every 0.02-0.2 s: thousands of requests when
        # quiet, hundreds on a loaded machine; not a stalled run.
        assert verdict["requests"] > 300, verdict
        assert {t["name"] for t in verdict["types"]} >= types
        assert self.output.count("thresholds: PASS") == 1, tail(self.output)
        assert "thresholds: FAIL" not in self.output
        with (self.reports / "run_stats.csv").open() as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
        assert int(rows["Aggregated"]["Failure Count"]) == 0
        return verdict, rows


def wait_for_base_images() -> None:
    """CI prepares the base image (and a first build of the images, into the layer
    cache) in the background while the other tests run (``.ci/run``): wait for that
    job's exit code in ``$VMASIM_BASE_IMAGES_STATUS``, and skip with its log when the
    base image failed."""
    status = os.environ.get("VMASIM_BASE_IMAGES_STATUS")
    if not status:
        return
    path = Path(status)
    deadline = time.monotonic() + BASE_IMAGES_TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path} after {BASE_IMAGES_TIMEOUT} s"
        time.sleep(1)
    if path.read_text().strip() != "0":
        log = path.with_suffix(".log")
        pytest.skip(f"scripts/docker-base-images failed: {tail(log.read_text(), 5)}")


def skip_unless_docker() -> list[str]:
    """The compose command, or skip naming what is missing."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI (Debian: apt-get install docker.io; .ci/run does)")
    try:
        info = docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip("the Docker daemon did not answer `docker version` in 20 s")
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"no Docker daemon answers ({reason}); scripts/docker-daemon starts one")
    cli = compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    wait_for_base_images()
    if docker("image", "inspect", BASE_IMAGE).returncode != 0:
        pull = docker("pull", "--quiet", BASE_IMAGE, timeout=300)
        if pull.returncode != 0:
            pytest.skip(
                f"the base image {BASE_IMAGE} is missing and cannot be pulled "
                "(no registry answers): run scripts/docker-base-images"
            )
    return cli


def stack_env() -> dict[str, str]:
    """The environment of a test's compose commands: this one without the shell's
    settings of the service or Locust (they would change the runs), with free host
    ports, the builds' CA certificates and the test run's users and p95 factor."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VMASIM_", "LOCUST_", "UVICORN_", "COMPOSE_"))
    }
    env.update(
        VMASIM_EXTRA_CA_CERTS=extra_ca_certs(),
        VMASIM_PUBLISH_PORT=str(free_port()),
        VMASIM_LOAD_WEB_PORT=str(free_port()),
        VMASIM_LOAD_P95_FACTOR=P95_FACTOR,
        LOCUST_USERS=USERS,
    )
    return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Waiting for CI's background job and building take minutes on a busy machine: no
    # faulthandler stack dump at 120 s (faulthandler_timeout) for the test that sets this
    # up. A hang is still caught: every command has its timeout, the test TIMEOUT.
    faulthandler.cancel_dump_traceback_later()
    cli = skip_unless_docker()
    env = stack_env()
    s = Stack(cli, f"vmasim-test-{secrets.token_hex(4)}", env, tmp_path_factory.mktemp("compose"))
    try:
        # v1 builds with the legacy builder: --force-rm leaves no container of a
        # failed step behind (BuildKit, v2's builder, makes none).
        v1 = s.cli[0].endswith("docker-compose")
        build = s.compose("build", *(["--force-rm"] if v1 else []), timeout=BUILD_TIMEOUT)
        assert build.returncode == 0, "compose build failed:\n" + tail(build.stdout)
        yield s
    finally:
        down = s.compose("down", "--volumes", "--remove-orphans", "--timeout", "30", timeout=180)
        assert down.returncode == 0, tail(down.stdout)
        left = s.containers("app") + s.containers("master") + s.containers("worker")
        assert not left, f"containers left behind: {[c['Name'] for c in left]}"


@pytest.mark.timeout(TIMEOUT)
def test_the_images_build_and_keep_their_contracts(stack: Stack) -> None:
    # First in the module: its set-up builds both images (the fixture), so the load
    # runs below are timed without the builds.
    service = json.loads(docker("image", "inspect", "vmasim:latest").stdout)[0]["Config"]
    assert service["User"] == "10001"
    assert service["Healthcheck"]["Test"][-1].endswith("/healthz', timeout=2)")
    # The Locust image, built here or pulled: the official image's contract.
    locust = json.loads(docker("image", "inspect", LOCUST_IMAGE).stdout)[0]["Config"]
    assert locust["Entrypoint"] == ["locust"]
    assert locust["User"] not in ("", "root", "0")
    version = docker("run", "--rm", LOCUST_IMAGE, "--version")
    assert version.returncode == 0 and LOCUST_IMAGE.rsplit(":", 1)[1] in version.stdout
    # An extra CA given to the builds (a first line of its PEM body) is in neither
    # image, nor in its history. Without one (most machines) there is nothing to seek.
    ca = stack.env["VMASIM_EXTRA_CA_CERTS"]
    marks = [line for line in ca.splitlines() if line and "-----" not in line][:1]
    for mark in marks:
        for image in ("vmasim:latest", LOCUST_IMAGE):
            history = docker("history", "--no-trunc", image).stdout
            assert "EXTRA_CA_CERTS" not in history and mark not in history
            found = docker(
                "run", "--rm", "--user", "0", "--entrypoint", "grep", image,
                "-rlF", mark, "/etc", "/opt", "/tmp", "/usr/local", "/home",
            )  # fmt: skip
            assert found.returncode == 1, f"{image} holds the extra CA: {found.stdout}"


@pytest.mark.timeout(TIMEOUT)
def test_compose_load_run_passes_and_the_master_decides_the_end(stack: Stack) -> None:
    run = stack.load_run("pass", f"{RUN_SECONDS}s")
    verdict, rows = run.assert_passed(
        {
            "POST /processes",
            "POST /processes/{pid}/mmap",
            "GET /processes/{pid}/maps",
            "GET /processes/{pid}/maps [shared]",
            "GET /processes/{pid}/maps/stream",
        }
    )
    # The reports: Locust's CSV, its HTML report.
    assert int(rows["Aggregated"]["Request Count"]) > 0.8 * verdict["requests"]
    assert "POST /processes/{pid}/mmap" in (run.reports / "report.html").read_text()

    # Two workers ran, and stopped only after the master had exited: the master's exit
    # (code 0) is what ended the run.
    (master,) = stack.containers("master")
    workers = stack.containers("worker")
    assert len(workers) == 2
    assert master["State"]["ExitCode"] == 0
    for w in workers:
        assert w["State"]["FinishedAt"] >= master["State"]["FinishedAt"], (w["State"], master)
    # The service was healthy by Docker's own check (the master waited for it) and
    # stopped gracefully when the run ended.
    (app,) = stack.containers("app")
    assert any(probe["ExitCode"] == 0 for probe in app["State"]["Health"]["Log"])
    assert app["State"]["ExitCode"] == 0


@pytest.mark.timeout(TIMEOUT)
def test_an_impossible_threshold_fails_the_compose_run(stack: Stack) -> None:
    # A factor of 1e-6 turns every p95 bound into a fraction of a microsecond.
    run = stack.load_run("fail", "5s", VMASIM_LOAD_P95_FACTOR="0.000001", LOCUST_USERS="10")
    verdict = run.verdict()
    assert run.rc == 1, tail(run.output)
    assert not verdict["passed"]
    assert verdict["failures"] == 0  # every request succeeded: only latency failed
    assert any("p95" in p for p in verdict["problems"])
    assert run.output.count("thresholds: FAIL") == 1, tail(run.output)
    (master,) = stack.containers("master")
    assert master["State"]["ExitCode"] == 1


def api(stack: Stack, method: str, path: str, **kw: Any) -> httpx.Response:
    url = f"http://127.0.0.1:{stack.env['VMASIM_PUBLISH_PORT']}{path}"
    return httpx.request(method, url, timeout=30, **kw)


@pytest.mark.timeout(TIMEOUT)
def test_docker_stop_saves_the_state_and_a_new_container_restores_it(stack: Stack) -> None:
    up = stack.compose("up", "--detach", "--force-recreate", "app", timeout=180)
    assert up.returncode == 0, tail(up.stdout)
    (app,) = stack.containers("app")
    stack.wait_healthy(app["Id"])

    proc = api(stack, "POST", "/processes", json={"name": "compose-state", "layout": "typical"})
    assert proc.status_code == 201, proc.text
    pid = proc.json()["pid"]
    before = api(stack, "GET", f"/processes/{pid}/maps").text
    mmap = {"length": 5 * 4096, "prot": ["PROT_READ"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
    mapped = api(stack, "POST", f"/processes/{pid}/mmap", json=mmap)
    assert mapped.status_code == 200, mapped.text
    maps = api(stack, "GET", f"/processes/{pid}/maps")
    assert maps.status_code == 200 and maps.text != before

    # docker stop: SIGTERM, then SIGKILL after 30 s (a kill would be exit code 137).
    stop = docker("stop", "--time", "30", app["Id"], timeout=90)
    assert stop.returncode == 0, stop.stderr
    state = docker("inspect", "--format", "{{json .State}}", app["Id"])
    assert json.loads(state.stdout)["ExitCode"] == 0, state.stdout
    # The checkpoint in the service's volume (docker cp reads a stopped container's
    # volumes) names the process.
    saved = stack.workdir / "vmasim.json"
    cp = docker("cp", f"{app['Id']}:/home/vmasim/state/vmasim.json", str(saved))
    assert cp.returncode == 0, cp.stderr
    assert pid in [p["pid"] for p in json.loads(saved.read_text())["processes"]]

    # A new container on the same volume starts from that checkpoint.
    up = stack.compose("up", "--detach", "--force-recreate", "app", timeout=180)
    assert up.returncode == 0, tail(up.stdout)
    (new,) = stack.containers("app")
    assert new["Id"] != app["Id"]
    stack.wait_healthy(new["Id"])
    restored = api(stack, "GET", f"/processes/{pid}/maps")
    assert restored.status_code == 200, restored.text
    assert restored.text == maps.text
