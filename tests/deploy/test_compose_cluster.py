"""The compose load test on the cluster backend, for real:
``docker/docker-compose.cluster.yml`` (a Ray head, two Ray workers hosting the machines,
two vmasim front ends with ``VMASIM_BACKEND=ray``, HAProxy as the one entry point, the
machines' store on a shared volume) runs the Locust master and two workers of the
compose load test against the entry point for 30 s, and its exit code is the master's
verdict; then a Ray worker container is killed mid-load: its machines restart on the
other worker from their journals, every answer is a 200 or a 503 with ``Retry-After``,
and every acknowledged operation is still there.

Same needs, skips, project naming and teardown as ``test_compose.py`` (whose helpers
this uses): a Docker daemon, the base image (``scripts/docker-base-images``; CI builds
these images in the background while the suite runs, ``.ci/run``), Compose v1 or v2.
The images build from the layer cache the other compose test fills (the service's
image is the same).
"""

from __future__ import annotations

import csv
import faulthandler
import io
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .test_compose import (
    BUILD_TIMEOUT,
    HEALTHY_TIMEOUT,
    RUN_SECONDS,
    TIMEOUT,
    Stack,
    docker,
    skip_unless_docker,
    stack_env,
    tail,
)

pytestmark = pytest.mark.compose
_log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_FILE = ROOT / "docker" / "docker-compose.cluster.yml"
SERVICES = ("ray-head", "ray-worker", "frontend", "proxy", "master", "worker")
#: The process title Ray gives a machine's actor (app.cluster.host.MachineHost).
ACTOR_TITLE = re.compile(r"^ray::MachineHost\b")
PAGE = 4096
ANON = {"prot": ["PROT_READ", "PROT_WRITE"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
#: Seconds for the machines of a killed worker to answer again from the other one
#: (Ray declares the node dead after ~3 s, compose file; then an actor restart).
MOVE_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    faulthandler.cancel_dump_traceback_later()  # as test_compose.stack: builds take minutes
    cli = skip_unless_docker()
    s = Stack(
        cli,
        f"vmasim-test-{secrets.token_hex(4)}",
        stack_env(),
        tmp_path_factory.mktemp("compose-cluster"),
        CLUSTER_FILE,
    )
    try:
        v1 = s.cli[0].endswith("docker-compose")
        build = s.compose("build", *(["--force-rm"] if v1 else []), timeout=BUILD_TIMEOUT)
        assert build.returncode == 0, "compose build failed:\n" + tail(build.stdout)
        yield s
    finally:
        down = s.compose("down", "--volumes", "--remove-orphans", "--timeout", "30", timeout=180)
        assert down.returncode == 0, tail(down.stdout)
        left = [c["Name"] for svc in SERVICES for c in s.containers(svc)]
        assert not left, f"containers left behind: {left}"


def actors_on(container: str) -> int:
    """How many machines' actors run in ``container`` (by their process titles)."""
    res = docker("top", container, "-o", "pid,args")  # docker top needs the pid column
    assert res.returncode == 0, res.stderr
    rows = [line.split(None, 1) for line in res.stdout.splitlines()[1:]]
    return sum(bool(ACTOR_TITLE.match(row[-1])) for row in rows)


def exec_get(container: str, url: str) -> str:
    """GET ``url`` from inside ``container`` (its own python): the body."""
    code = (
        "import urllib.request; "
        f"print(urllib.request.urlopen({url!r}, timeout=30).read().decode(), end='')"
    )
    res = docker("exec", container, "python", "-c", code, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.2)


def ranges(maps: str) -> list[tuple[int, int]]:
    return [
        (int(lo, 16), int(hi, 16))
        for lo, hi in (line.split()[0].split("-") for line in maps.splitlines() if line)
    ]


@pytest.mark.timeout(TIMEOUT)
def test_a_ray_worker_killed_mid_load_loses_nothing_acknowledged(cluster: Stack) -> None:
    # First in the module: its set-up builds the images (the fixture).
    up = cluster.compose("up", "--detach", "proxy", timeout=HEALTHY_TIMEOUT + 120)
    assert up.returncode == 0, tail(up.stdout)
    (proxy,) = cluster.containers("proxy")
    cluster.wait_healthy(proxy["Id"])
    base = f"http://127.0.0.1:{cluster.env['VMASIM_PUBLISH_PORT']}"

    # `default` and a second machine; a process on each.
    machines = ["default", f"m-{secrets.token_hex(2)}"]
    pids: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=60) as c:
        made = c.post("/machines", json={"id": machines[1]})
        assert made.status_code == 201, made.text
        for m in machines:
            proc = c.post(f"/machines/{m}/processes", json={"name": "survivor"})
            assert proc.status_code == 201, proc.text
            pids[m] = proc.json()["pid"]
    workers = {w["Id"]: w["Name"] for w in cluster.containers("ray-worker")}
    assert len(workers) == 2
    placed = {w: actors_on(w) for w in workers}
    assert sum(placed.values()) == len(machines), placed  # on workers only: not head, fronts
    victim = max(placed, key=lambda w: placed[w])
    (survivor,) = set(workers) - {victim}

    acked: dict[str, list[int]] = {m: [] for m in machines}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    ops = itertools.count()

    def load(machine: str) -> None:
        # A client (a connection) each: HAProxy spreads them over the front ends.
        with httpx.Client(base_url=base, timeout=60) as c:
            while not stop.is_set() and next(ops) < 20000:
                r = c.post(f"/machines/{machine}/processes/{pids[machine]}/mmap",
                           json={"length": PAGE, **ANON})  # fmt: skip
                with lock:
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    if r.status_code == 200:
                        acked[machine].append(int(r.json()["addr"], 16))
                if r.status_code == 503:
                    assert int(r.headers["retry-after"]) >= 1, r.headers
                    assert r.json()["type"].endswith(":machine-unavailable"), r.text
                    time.sleep(0.2)
                else:
                    assert r.status_code == 200, r.text

    def count(m: str) -> int:
        with lock:
            return len(acked[m])

    with ThreadPoolExecutor(4, thread_name_prefix="load") as pool:
        loaders: list[Future[None]] = [pool.submit(load, m) for m in machines * 2]
        try:
            wait_until(lambda: all(count(m) >= 20 for m in machines), 120, "load")
            kill = docker("kill", victim)
            assert kill.returncode == 0, kill.stderr
            after = {m: count(m) for m in machines}
            # Every machine acknowledges again, the moved ones from the survivor.
            wait_until(
                lambda: all(count(m) > after[m] + 20 for m in machines),
                MOVE_TIMEOUT,
                f"every machine acknowledging again after {workers[victim]} was killed",
            )
        finally:
            stop.set()
        for f in loaders:
            f.result(timeout=120)  # re-raises a loader's failed assertion

    _log.warning("answers while %s was killed: %s", workers[victim], statuses)  # -rA shows it
    assert set(statuses) <= {200, 503}, statuses
    assert actors_on(survivor) == len(machines), workers[survivor]
    with httpx.Client(base_url=base, timeout=60) as c:
        for m in machines:
            maps = c.get(f"/machines/{m}/processes/{pids[m]}/maps")
            assert maps.status_code == 200, maps.text
            have = ranges(maps.text)
            missing = [a for a in acked[m] if not any(lo <= a < hi for lo, hi in have)]
            assert not missing, (m, len(missing), len(acked[m]))
        # The same answer from each front end directly as through the entry point.
        path = f"/machines/{machines[1]}/processes/{pids[machines[1]]}/maps"
        through_proxy = c.get(path).text
    for front in cluster.containers("frontend"):
        assert exec_get(front["Id"], f"http://127.0.0.1:8000{path}") == through_proxy

    # HAProxy sent requests to both front ends (its statistics: sessions per server).
    stats = exec_get(proxy["Id"], "http://127.0.0.1:8404/stats;csv")
    rows = list(csv.DictReader(io.StringIO(stats.removeprefix("# "))))
    served = {r["svname"]: int(r["stot"]) for r in rows if r["pxname"] == "frontends"}
    busy = [name for name, n in served.items() if name.startswith("fe") and n > 0]
    assert len(busy) == 2, json.dumps(served)


@pytest.mark.timeout(TIMEOUT)
def test_cluster_compose_load_run_passes(cluster: Stack) -> None:
    # After the test above (one stack start for both): `up` starts the killed worker
    # again, and the machines' actors are wherever Ray restarted them.
    run = cluster.load_run("pass", f"{RUN_SECONDS}s")
    run.assert_passed(
        {
            "POST /processes",
            "POST /processes/{pid}/mmap",
            "GET /processes/{pid}/maps",
            "GET /processes/{pid}/maps/stream",
        }
    )

    # The stack ran as described: two Ray workers and two front ends, each front end
    # healthy by Docker's check before the proxy started, the proxy healthy before the
    # master did; the master's exit code ended the run.
    (master,) = cluster.containers("master")
    assert master["State"]["ExitCode"] == 0
    assert len(cluster.containers("ray-worker")) == 2
    fronts = cluster.containers("frontend")
    assert len(fronts) == 2
    for c in [*fronts, *cluster.containers("proxy")]:
        assert any(p["ExitCode"] == 0 for p in c["State"]["Health"]["Log"]), c["Name"]
