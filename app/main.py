"""The ASGI application: ``uvicorn app.main:app`` (one worker: the machines' state lives
in this process, :mod:`app.machines`)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from core import Kernel

from . import __version__, auth, errors, openapi
from .deployment import Deployment
from .deps import FUNCTION, machine_path
from .errors import MachineUnavailable, NoSuchMachine, responses
from .lifecycle import Lifecycle
from .limits import Admission, AdmissionControl
from .machines import EmbeddedMachines, MachineBackend
from .middleware import BodyReader, HeadWithoutBody, MachineLocation
from .routes import include_all, ui
from .service import Service
from .settings import Backend, Settings

DESCRIPTION = """\
A simulated Linux 6.18 x86-64 process address space, driven over HTTP.

Create a process, map and unmap memory with Linux's own vocabulary
(`"prot": ["PROT_READ", "PROT_WRITE"]`, `"flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]`),
and read `/proc/<pid>/maps` byte for byte as the kernel prints it. Addresses are
accepted as integers or `"0x..."` strings and returned as `"0x..."` strings.

Input follows JSON Schema strictly: an `integer` is a JSON number with an integral
value (`2856` or `2856.0`; not `true`, `"2856"` or `2.5`), a `string` is a string (`0`
is not a name), text is valid Unicode (no lone surrogates), and `NaN`/`Infinity` are
not JSON. Integers in paths and queries are decimal digits only (`/processes/1014`; not
`1014.0`, `01014` or ` 1014`).

Errors are RFC 9457 problem details (`application/problem+json`); a failed syscall
carries `errno` and `errno_name`. Limits (`VMASIM_MAX_PROCESSES`, `VMASIM_MAX_BATCH`,
`VMASIM_MAX_BODY_BYTES`) are set in the environment and named in the errors they cause.
"""

TAGS = [
    {"name": "processes", "description": "Simulated processes and their lifetime."},
    {"name": "files", "description": "File descriptors to map files from."},
    {"name": "syscalls", "description": "mmap, munmap, mprotect, mremap, brk, and batches."},
    {"name": "faults", "description": "Page faults, as the CPU raises them."},
    {"name": "proc", "description": "`/proc/<pid>` views."},
    {
        "name": "pause",
        "description": "Pause points: hold a syscall or a maps reader at a named step, "
        "look, release (reproduce races by hand).",
    },
    {
        "name": "stats",
        "description": "Fault events and lock statistics (`/vmstat`; `/metrics` for Prometheus).",
    },
    {
        "name": "experiments",
        "description": "Background runs of the lab's lock-scalability experiments.",
    },
    {
        "name": "machines",
        "description": "Simulated machines: each has its own processes, files, counters, "
        "pause points and experiment jobs, and serves every route above under "
        "`/machines/{machine}`; the routes without that prefix are the machine `default`.",
    },
    {"name": "health", "description": "Liveness (`GET` or `HEAD`)."},
]


class Vmasim(FastAPI):
    """The service's ASGI app: FastAPI with a declared home for its machines.

    :attr:`machines` is read by every request that reaches a machine
    (:func:`app.deps.machine_of`): a plain attribute costs a dict lookup, where
    ``app.state.machines`` costs Starlette's ``State.__getattr__``, which Python
    calls only after the ordinary lookup failed (about 5,300 instructions against
    300 per read; docs/performance.md, "The fault route, third pass")."""

    machines: MachineBackend


def operation_id(route: APIRoute) -> str:
    """Stable, readable operationIds: ``<tag>-<function name>``."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def machine_operation_id(route: APIRoute) -> str:
    """The operationIds of the routes under ``/machines/{machine}``: ``machines-`` and
    the unprefixed route's."""
    return f"machines-{operation_id(route)}"


def create_app(
    settings: Settings | None = None,
    kernel: Kernel | None = None,
    deployment: Deployment | None = None,
    backend: Backend | None = None,
) -> Vmasim:
    """Build the service. ``settings`` and ``deployment`` (token, CORS, admission
    limits, state file: :mod:`app.deployment`) default to the ``VMASIM_*`` environment;
    a fresh :class:`core.Kernel` unless one is given. No other side effects (the OpenAPI
    exporter and the tests call this): the state file is read by the lifespan.

    ``backend`` (default: ``VMASIM_BACKEND``, :class:`app.settings.Backend`): with
    ``ray`` this app is a stateless front end of machines held by Ray actors
    (:mod:`app.cluster`), joined when the lifespan starts; its own embedded machine
    then serves nothing but the routes' validation."""
    if settings is None:
        settings = Settings.from_env(os.environ)
    if deployment is None:
        deployment = Deployment.from_env(os.environ)
    if backend is None:
        backend = Backend.from_env(os.environ)
    front: Any = None
    if backend.kind == "ray":
        from .cluster.frontend import ClusterFrontEnd  # Ray only when chosen

        front = ClusterFrontEnd(backend, settings.max_machines, deployment.retry_after, os.environ)
        deployment = dataclasses.replace(deployment, state_file=None)  # the actors' store
    service = Service(settings, kernel)
    machines = EmbeddedMachines(settings, deployment, service)
    lifecycle = Lifecycle(machines.services)
    admission = AdmissionControl(
        deployment.max_inflight,
        deployment.max_streams,
        deployment.retry_after,
        lifecycle.shutdown,
        deployment.max_process_inflight,
    )
    machines.listen(admission)  # waits inside the engine do not count

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        lifecycle.install_signal_handlers()
        cluster: AbstractAsyncContextManager[None] = front.run() if front else nullcontext()
        try:
            async with cluster, machines.run():  # restores every machine; saves them at the end
                yield
                lifecycle.begin_shutdown()
        finally:
            lifecycle.restore_signal_handlers()

    app = Vmasim(
        title="vmasim",
        version=__version__,
        summary="A simulated Linux process address space and its /proc/PID/maps.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.service = service  # the default machine's (tests, vmasim-procfs)
    app.machines = machines
    app.state.lifecycle = lifecycle
    app.state.shutting_down = lifecycle.shutting_down  # threading.Event, set at shutdown
    app.state.state_keeper = machines.default.keeper
    app.state.experiment_jobs = machines.default.jobs
    app.state.admission = admission
    errors.install(app)
    # Every route of a machine may be answered 503 machine-unavailable with the cluster
    # backend (its actor restarting on another node, app.cluster): documented once here.
    moving = {503: responses(MachineUnavailable)[503]}
    include_all(app, responses=moving)
    # Every route of a machine, again under /machines/{machine}: the dependency checks
    # the id (404 for none) and documents the parameter; app.deps resolves the machine
    # from the path, so the route modules need no change.
    include_all(
        app,
        prefix="/machines/{machine}",
        dependencies=[Depends(machine_path, scope=FUNCTION)],
        responses=responses(NoSuchMachine, MachineUnavailable),
        generate_unique_id_function=machine_operation_id,
    )
    ui.install(app)  # the live page at /ui (not in the OpenAPI document)
    openapi.install(app)
    # Outermost last: CORS, then the token check, then the body (read whole, bounded in
    # size and time), then admission: a request counts as in flight once it is received.
    if front is not None:
        from .cluster.frontend import ClusterForwarder

        app.state.cluster = front
        app.add_middleware(ClusterForwarder, front=front)  # inside every check below
    app.add_middleware(MachineLocation)
    app.add_middleware(Admission, control=app.state.admission)
    app.add_middleware(BodyReader, limit=settings.max_body_bytes, timeout=deployment.body_timeout)
    auth.install(app, deployment.token, deployment.cors_origins)
    app.add_middleware(HeadWithoutBody)  # outermost: no HEAD answer carries a body
    return app


app = create_app()
