"""``GET /vmstat`` (JSON) and ``GET``/``HEAD /metrics`` (Prometheus text or OpenMetrics,
as the scraper's ``Accept`` asks): the engine's counters and lock statistics, read at
request time (:mod:`app.vmstat`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from core import NoSuchProcess
from core.constants import PID_MAX

from ..deps import ServiceDep
from ..errors import responses
from ..jsonbody import JsonRoute
from ..schemas.common import DecimalText
from ..schemas.vmstat import VmstatOut
from ..service import in_worker
from ..vmstat import EngineCollector, vmstat

router = APIRouter(route_class=JsonRoute, tags=["stats"])


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
        DecimalText,
    ] = None,
) -> VmstatOut:
    """The `/proc/vmstat` per-VMA-lock events (`vma_lock_success`, `vma_lock_abort`,
    `vma_lock_retry`, `vma_lock_miss`) with `pgfault`/`pgmajfault` and
    `unevictable_pgs_mlocked`/`unevictable_pgs_munlocked`, machine-wide and per
    process; each process's `min_flt`/`maj_flt`, resident pages, VMAs, `mmap_lock`
    statistics (holders, waiters, acquisitions, contention, wait time) and
    `PROCMAP_QUERY` counters; the RCU domain and the page-table lock. Counters are read
    lock-free, so they may be a fault apart from each other."""
    return await in_worker(vmstat, service, pid)


# The two exposition formats (media types as prometheus_client's choose_encoder names
# them, without charset), each with the start of a real scrape.
_EXPOSITION = {
    "text/plain; version=0.0.4": (
        "# HELP vmasim_processes Live processes\n"
        "# TYPE vmasim_processes gauge\n"
        "vmasim_processes 1.0\n"
        "# HELP vmasim_process_vmas VMAs (map_count)\n"
        "# TYPE vmasim_process_vmas gauge\n"
        'vmasim_process_vmas{pid="1000"} 25.0\n'
        "...\n"
    ),
    "application/openmetrics-text; version=1.0.0": (
        "# HELP vmasim_processes Live processes\n"
        "# TYPE vmasim_processes gauge\n"
        "vmasim_processes 1.0\n"
        "...\n"
        "# EOF\n"
    ),
}
_METRICS_OK = {
    "description": "The figures of `/vmstat`: Prometheus text format 0.0.4, or OpenMetrics "
    "1.0.0 when `Accept` asks for `application/openmetrics-text`",
    "content": {
        media_type: {"schema": {"type": "string"}, "example": example}
        for media_type, example in _EXPOSITION.items()
    },
}


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response, responses={200: _METRICS_OK}
)
@router.head(
    "/metrics",
    name="metrics_head",
    summary="Prometheus metrics, headers only",
    description="The status and headers of `GET /metrics`, without the body.",
    response_description="The headers `GET` answers with; no body",
    response_class=Response,
)
async def metrics(request: Request, service: ServiceDep) -> Response:
    """The figures of `/vmstat` for Prometheus, read at scrape time (a fresh registry
    per scrape). The format follows `Accept` as prometheus_client negotiates it
    (`choose_encoder`): OpenMetrics for `application/openmetrics-text`, else the text
    format 0.0.4."""
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(service))
    body = await in_worker(encoder, registry)
    return Response(body, headers={"content-type": content_type, "vary": "Accept"})
