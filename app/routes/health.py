"""``GET /healthz`` and ``HEAD /healthz`` (probes use either)."""

from __future__ import annotations

from fastapi import APIRouter

from .. import ENGINE
from ..jsonbody import JsonRoute
from ..schemas.common import HealthOut

router = APIRouter(route_class=JsonRoute, tags=["health"])


@router.get("/healthz", summary="Liveness")
@router.head(
    "/healthz",
    name="healthz_head",
    summary="Liveness, headers only",
    description="The status and headers of `GET /healthz`, without the body.",
    response_description="The headers `GET` answers with; no body",
)
async def healthz() -> HealthOut:
    """Liveness: the process is up and its event loop answers. Touches no engine lock."""
    return HealthOut(status="ok", engine="compiled" if ENGINE == "compiled" else "python")
