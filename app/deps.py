"""Route dependencies as ``Annotated`` aliases.

Every dependency that reaches the engine goes through :func:`get_machine`: the machine
``/machines/{machine}/...`` names, or ``default`` for the routes without that prefix.
So a route module written for one machine serves every machine once :mod:`app.main`
mounts its router a second time under the prefix.

Lookups that can fail (no such pid) happen here, before a handler runs, so a streaming
body never starts for a missing process (FastAPI cannot turn an exception raised after
the response started into an error response).

Every dependency here is a plain coroutine (no ``yield``, nothing to run after the
route), declared with ``scope="function"`` (:data:`FUNCTION`), which is what such a
dependency's scope is. Declared, FastAPI takes it as it is; left unset, FastAPI works
it out on every solve of the dependency, classifying the callable twice more to build
its cache key (``fastapi.dependencies.models._get_computed_scope``): about 9,100
instructions per dependency per request (docs/performance.md, "The fault route, third
pass").
"""

from __future__ import annotations

import re
from typing import Annotated, Final, NamedTuple

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from core import Process
from core.constants import PID_MAX
from core.maps_reader import DEFAULT_MAX_RETRIES, MAX_RETRIES_LIMIT, Reader

from .jobs import JobManager
from .machines import Machine, MachineBackend
from .schemas.common import DECIMAL_RULE, DecimalText
from .schemas.machines import DEFAULT_MACHINE, MACHINE_ID_MAX, MACHINE_ID_PATTERN
from .service import Service
from .settings import Settings

FUNCTION: Final = "function"
"""The scope of every dependency of this module (module note)."""
_MACHINE_ID = re.compile(MACHINE_ID_PATTERN)
MachineId = Annotated[
    str,
    Path(
        pattern=MACHINE_ID_PATTERN,
        max_length=MACHINE_ID_MAX,
        description="machine id (`default` is the machine of the routes without "
        "`/machines/{machine}`)",
        openapi_examples={"default": {"value": DEFAULT_MACHINE}},
    ),
]


async def get_machines(request: Request) -> MachineBackend:
    """The machines of this app (:attr:`app.main.Vmasim.machines`)."""
    machines: MachineBackend = request.app.machines
    return machines


MachinesDep = Annotated[MachineBackend, Depends(get_machines, scope=FUNCTION)]


async def machine_path(machine: MachineId, machines: MachinesDep) -> Machine:
    """The machine a ``/machines/{machine}/...`` path names, or ``NoSuchMachine`` (404).
    The routers mounted under that prefix depend on it (:mod:`app.main`), which also
    puts the path parameter in their OpenAPI operations."""
    return machines.get(machine)


def machine_of(request: Request) -> Machine:
    """The machine of this request: the one its path names under
    ``/machines/{machine}``, else ``default``. O(1), on the event loop.

    A plain function, not a dependency: :func:`get_service`, :func:`get_process` and
    :func:`get_target` call it themselves, because FastAPI solves every sub-dependency
    of a request anew (a cached one included: only its call is saved), each solve
    costing more than the compiled engine's fault (docs/performance.md, "The fault
    route over HTTP")."""
    name = request.path_params.get("machine")
    machines: MachineBackend = request.app.machines  # app.main.Vmasim
    if name is None:
        return machines.default
    if not _MACHINE_ID.match(name):
        # FastAPI solves every dependency before it reports the path parameter's
        # error (machine_path's): report it here, before a lookup could say 404.
        raise RequestValidationError(
            [
                {
                    "type": "string_pattern_mismatch",
                    "loc": ("path", "machine"),
                    "msg": f"String should match pattern '{MACHINE_ID_PATTERN}'",
                    "input": name,
                }
            ]
        )
    return machines.get(name)


async def get_machine(request: Request) -> Machine:
    """The machine of this request (:func:`machine_of`)."""
    return machine_of(request)


MachineDep = Annotated[Machine, Depends(get_machine, scope=FUNCTION)]


async def get_machine_prefix(request: Request) -> str:
    """The path prefix of this request's machine: ``/machines/<id>`` under that prefix,
    empty for the default machine's own routes. Links in bodies start with it (the
    ``Location`` header gets it from :class:`app.middleware.MachineLocation`)."""
    name = request.path_params.get("machine")
    return "" if name is None else f"/machines/{name}"


MachinePrefix = Annotated[str, Depends(get_machine_prefix, scope=FUNCTION)]


async def get_service(request: Request) -> Service:
    """The service of this request's machine (:func:`machine_of`). O(1)."""
    return machine_of(request).service


ServiceDep = Annotated[Service, Depends(get_service, scope=FUNCTION)]


async def get_settings(service: ServiceDep) -> Settings:
    """The settings in force."""
    return service.settings


SettingsDep = Annotated[Settings, Depends(get_settings, scope=FUNCTION)]

Pid = Annotated[
    int,
    Path(
        ge=1,
        lt=PID_MAX,
        description=f"process id ({DECIMAL_RULE})",
        openapi_examples={"pid": {"value": 1000}},
    ),
    DecimalText,
]


async def get_process(pid: Pid, request: Request) -> Process:
    """The live process ``pid`` of this request's machine (:func:`machine_of`), or
    ``NoSuchProcess`` (404).

    Runs on the event loop: ``Kernel.get`` is a dict lookup under the process table's
    short lock, which no engine call holds while it waits for anything.
    """
    return machine_of(request).service.kernel.get(pid)


ProcessDep = Annotated[Process, Depends(get_process, scope=FUNCTION)]


class Target(NamedTuple):
    """A live process and the service of its machine: what a route that changes one
    process needs, from one dependency instead of two (each is a FastAPI solve of its
    own: :func:`machine_of`)."""

    service: Service
    proc: Process


async def get_target(pid: Pid, request: Request) -> Target:
    """The live process ``pid`` of this request's machine and that machine's service,
    or ``NoSuchProcess`` (404), as :func:`get_process`. O(1), on the event loop."""
    service = machine_of(request).service
    return Target(service, service.kernel.get(pid))


TargetDep = Annotated[Target, Depends(get_target, scope=FUNCTION)]


async def get_jobs(machine: MachineDep) -> JobManager:
    """The experiment jobs of this request's machine."""
    return machine.jobs


JobsDep = Annotated[JobManager, Depends(get_jobs, scope=FUNCTION)]
JobId = Annotated[
    int,
    Path(
        ge=1,
        lt=1 << 31,
        description=f"experiment job id ({DECIMAL_RULE})",
        openapi_examples={"id": {"value": 1}},
    ),
    DecimalText,
]


ReaderQuery = Annotated[
    Reader,
    Query(
        description="seqcount (lockless, consistent; default), per_vma (6.17+, may tear) "
        "or mmap_lock (<= 6.16)",
        openapi_examples={
            "seqcount": {"value": "seqcount"},
            "per_vma": {"value": "per_vma"},
            "mmap_lock": {"value": "mmap_lock"},
        },
    ),
]
MaxRetriesQuery = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_RETRIES_LIMIT,
        description="seqcount: failed lockless walks before taking mmap_lock",
        openapi_examples={
            "default": {"value": DEFAULT_MAX_RETRIES},
            "fall back at once": {"value": 0},
        },
    ),
    DecimalText,
]
