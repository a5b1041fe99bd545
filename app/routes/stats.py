"""``GET /vmstat`` (JSON) and ``GET /metrics`` (Prometheus text): the engine's counters
and lock statistics, read at request time (:mod:`app.vmstat`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from core import NoSuchProcess

from ..deps import PID_MAX, ServiceDep
from ..errors import responses
from ..schemas import VmstatOut
from ..service import in_worker
from ..vmstat import EngineCollector, vmstat

router = APIRouter(tags=["stats"])


@router.get(
    "/vmstat", summary="Fault events and lock statistics", responses=responses(NoSuchProcess)
)
async def get_vmstat(
    service: ServiceDep,
    pid: Annotated[
        int | None,
        Query(
            ge=1,
            lt=PID_MAX,
            description="only this process (default: every live one)",
            openapi_examples={"all": {"value": None}, "one": {"value": 1000}},
        ),
    ] = None,
) -> VmstatOut:
    """The `/proc/vmstat` per-VMA-lock events (`vma_lock_success`, `vma_lock_abort`,
    `vma_lock_retry`, `vma_lock_miss`) with `pgfault`/`pgmajfault`, machine-wide and per
    process; each process's `min_flt`/`maj_flt`, resident pages, VMAs, `mmap_lock`
    statistics (holders, waiters, acquisitions, contention, wait time) and
    `PROCMAP_QUERY` counters; the RCU domain and the page-table lock. Counters are read
    lock-free, so they may be a fault apart from each other."""
    return await in_worker(vmstat, service, pid)


@router.get("/metrics", include_in_schema=False)
async def metrics(service: ServiceDep) -> Response:
    """Prometheus text format, the figures of `/vmstat` (a fresh registry per scrape)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(service))
    body = await in_worker(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
