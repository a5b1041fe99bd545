"""``GET /healthz``."""

from __future__ import annotations

from fastapi import APIRouter

from ..schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> HealthOut:
    """Liveness: the process is up and its event loop answers. Touches no engine lock."""
    return HealthOut(status="ok")
