"""Route dependencies as ``Annotated`` aliases.

Lookups that can fail (no such pid) happen here, before a handler runs, so a streaming
body never starts for a missing process (FastAPI cannot turn an exception raised after
the response started into an error response).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from core import Process
from core.constants import PID_MAX
from core.maps_reader import DEFAULT_MAX_RETRIES, MAX_RETRIES_LIMIT, Reader

from .jobs import JobManager
from .schemas.common import DECIMAL_RULE, DecimalText
from .service import Service
from .settings import Settings


async def get_service(request: Request) -> Service:
    """The service instance of this app (``app.state.service``)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_settings(service: ServiceDep) -> Settings:
    """The settings in force."""
    return service.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]

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


async def get_process(pid: Pid, service: ServiceDep) -> Process:
    """The live process ``pid``, or ``NoSuchProcess`` (404).

    Runs on the event loop: ``Kernel.get`` is a dict lookup under the process table's
    short lock, which no engine call holds while it waits for anything.
    """
    return service.kernel.get(pid)


ProcessDep = Annotated[Process, Depends(get_process)]


async def get_jobs(request: Request) -> JobManager:
    """The experiment job manager of this app (``app.state.experiment_jobs``)."""
    jobs: JobManager = request.app.state.experiment_jobs
    return jobs


JobsDep = Annotated[JobManager, Depends(get_jobs)]
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
