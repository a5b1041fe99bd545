"""A multi-node Ray cluster on this host, started by the tests themselves
(``ray.cluster_utils.Cluster``: a head and two worker nodes, one CPU each, no
dashboard), and front ends of the cluster backend served by real uvicorn servers.

The cluster is started once per module and shut down by Ray's own ``shutdown`` (which
stops the processes it started, by PID). Node failure is detected fast
(``health_check_*``): a killed node's actors restart elsewhere within seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Backend, Settings  # noqa: E402
from tests.app.live import Running, serve  # noqa: E402

__all__ = ["START_TIMEOUT", "Running", "actors", "front_ends", "kill_actors", "ray", "serve"]

#: A front end's start-up connects to Ray (its lifespan): seconds on a quiet machine,
#: over 30 on one loaded by two test runs and other work (seen).
START_TIMEOUT = 180.0

#: Node failure detected after about 3 missed checks of 500 ms.
SYSTEM_CONFIG = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 1000,
    "health_check_failure_threshold": 3,
}


#: Starts of the cluster tried before its fixture fails. A node that has not registered
#: with Ray's GCS 30 s after its processes started raises ("The current node timed out
#: during startup", a wait fixed in ray._private.node.Node): seen at load 15, all six
#: tests of the module erroring. Another start then usually succeeds.
START_ATTEMPTS = 3


def _start(c: Cluster) -> None:
    """The head and two worker nodes added to ``c`` (empty), waiting until all are alive."""
    c.add_node(num_cpus=1, include_dashboard=False, _system_config=SYSTEM_CONFIG)
    for _ in range(2):
        c.add_node(num_cpus=1)
    c.wait_for_nodes()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head (which holds Ray's registry and is never killed) and two worker nodes.

    A start that times out is shut down and tried again (:data:`START_ATTEMPTS`); the
    processes of the one node that raised are not in ``c`` (its constructor raised) and
    are stopped, by PID, by that node's own exit handler when this worker exits."""
    for attempt in range(1, START_ATTEMPTS + 1):
        c = Cluster(initialize_head=False)
        try:
            _start(c)
            break
        except Exception as e:
            c.shutdown()  # type: ignore[no-untyped-call]
            if "timed out during startup" not in str(e) or attempt == START_ATTEMPTS:
                raise
    try:
        ray.init(address=c.address, log_to_driver=False)
        yield c
    finally:
        ray.shutdown()
        c.shutdown()  # type: ignore[no-untyped-call]


def front_ends(
    cluster: Cluster, store: Path, count: int, max_machines: int = 16
) -> Generator[list[Running]]:
    """``count`` front ends (real uvicorn servers) of the machines in ``store``, in a
    namespace of their own; every machine actor of it killed at the end."""
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    backend = Backend("ray", cluster.address, str(store), namespace)

    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                serve(
                    create_app(Settings(max_machines=max_machines), backend=backend),
                    start_timeout=START_TIMEOUT,
                )
            )
            for _ in range(count)
        ]
        try:
            yield servers
        finally:
            kill_actors(namespace)


def actors(namespace: str) -> list[str]:
    """The names of the live named actors in ``namespace``."""
    return [
        entry["name"]
        for entry in ray.util.list_named_actors(all_namespaces=True)
        if entry.get("namespace") == namespace
    ]


def kill_actors(namespace: str) -> None:
    """Kill every named actor of ``namespace`` at once (no last checkpoint, no restart)."""
    for name in actors(namespace):
        ray.kill(ray.get_actor(name, namespace=namespace), no_restart=True)
