"""Pause points over REST: arm a named step of a process's syscalls (or maps readers),
see the operations held there, release them (``core.pause``).

A held operation is a request parked in a worker thread, possibly holding
``mmap_lock`` for write; every hold ends by itself after its timeout (engine default
10 s, at most 300 s here), so a forgotten release delays but never wedges a process.
While parked it holds no running slot of the worker pool and no in-flight slot
(:mod:`app.workers`), so holds never delay requests for other processes; deleting the
process releases its holds first.
At most ``VMASIM_MAX_PAUSE_POINTS`` points are armed at once in one process (409
beyond). The registry calls are O(points + holds) under the registry's short lock,
never waiting for an operation, so they run on the event loop.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fastapi import APIRouter, Path, status
from starlette.convertors import Convertor, register_url_convertor

from core import InvalidArgument, NoSuchProcess, PauseRegistry, Process
from core.pause import KNOWN_POINTS as KNOWN_PAUSE_POINTS

from ..deps import ProcessDep, ServiceDep, SettingsDep
from ..errors import LimitExceeded, responses
from ..jsonbody import JsonRoute
from ..schemas.pause import (
    POINT_NAMES,
    ArmedPointOut,
    HeldOut,
    PauseArmIn,
    PausePointList,
    PausePointOut,
    PauseReleaseIn,
    PauseReleaseOut,
    PauseStateOut,
)

router = APIRouter(route_class=JsonRoute, tags=["pause"])


class PointName(Convertor[str]):
    """A pause point name in a path: anything but ``release``, so that ``DELETE
    .../pause-points/release`` is the 405 of the ``release`` resource (POST only) rather
    than a disarm of an unknown point (found by schemathesis's undeclared-method check)."""

    regex = r"(?!release$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("pause_point", PointName())

SETTING = "VMASIM_MAX_PAUSE_POINTS"


@dataclass(frozen=True, slots=True)
class ArmGateStatistics:
    """``arms`` accepted, ``refused`` by the limit, and whether the lock is held now."""

    arms: int
    refused: int
    locked: bool


class ArmGate:
    """Serialises check-then-arm against the limit, so two concurrent arms cannot both
    pass the check. The lock is held O(points), never while an operation runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arms = 0
        self.refused = 0

    def statistics(self) -> ArmGateStatistics:
        return ArmGateStatistics(self.arms, self.refused, self.lock.locked())


GATE = ArmGate()


def _state(proc: Process, limit: int) -> PauseStateOut:
    stats = proc.mm.pauses.statistics()
    now = time.monotonic()
    points = [
        ArmedPointOut(
            name=name, armed=p.armed, hits=p.hits, holds=p.holds, timeouts=p.timeouts, held=p.held
        )
        for name, p in sorted(stats.points.items())
        if p.armed or p.hits or p.holds or p.held
    ]
    held = [
        HeldOut(
            hold_id=h.hold_id,
            point=h.point,
            op=h.op,
            thread=h.thread_name,
            held_for=round(now - h.since, 6),
            hit=h.hit,
        )
        for h in stats.held
    ]
    timeouts = sum(p.timeouts for p in stats.points.values())
    return PauseStateOut(
        pid=proc.pid,
        limit=limit,
        default_timeout=stats.default_timeout,
        points=points,
        held=held,
        timeouts=timeouts,
    )


def _armed_count(reg: PauseRegistry) -> int:
    return sum(p.armed for p in reg.statistics().points.values())


@router.get("/pause-points", summary="Known pause points")
async def list_pause_points() -> PausePointList:
    """Every pause point the engine has, with the window it opens (kernel function
    and step). Writer points (`munmap:`, `mmap:`, `split:`...) hold a syscall while it
    holds `mmap_lock` for write; `maps:` points hold a maps reader mid-walk."""
    return PausePointList(
        points=[
            PausePointOut(name=n, description=KNOWN_PAUSE_POINTS[n])
            for n in sorted(KNOWN_PAUSE_POINTS)
        ]
    )


@router.post(
    "/processes/{pid}/pause-points",
    status_code=status.HTTP_201_CREATED,
    summary="Arm a pause point",
    responses=responses(NoSuchProcess, InvalidArgument, LimitExceeded),
)
async def arm_pause_point(
    proc: ProcessDep, body: PauseArmIn, settings: SettingsDep, service: ServiceDep
) -> PauseStateOut:
    """Arm `name` in this process: from its `hit`-th hit on (counted from now), `count`
    operations park there until released or `timeout` seconds pass. Returns the
    process's pause state. 422 for an unknown name (the message lists the known ones)
    or a point already armed; 409 when `VMASIM_MAX_PAUSE_POINTS` points are armed."""
    if proc.pid in service.exiting:  # being deleted: its holds were just released
        raise NoSuchProcess(proc.pid)
    reg = proc.mm.pauses
    limit = settings.max_pause_points
    with GATE.lock:
        armed = _armed_count(reg)
        if armed >= limit and not (body.name in KNOWN_PAUSE_POINTS and reg.is_armed(body.name)):
            GATE.refused += 1
            raise LimitExceeded(SETTING, limit, armed + 1, "armed pause points")
        reg.arm(body.name, nth=body.hit, count=body.count, timeout=body.timeout)
        GATE.arms += 1
    return _state(proc, limit)


@router.get(
    "/processes/{pid}/pause-points",
    summary="Armed pause points and held operations",
    responses=responses(NoSuchProcess),
)
async def pause_state(proc: ProcessDep, settings: SettingsDep) -> PauseStateOut:
    """The points armed or hit in this process (hits, holds, timeouts) and the
    operations parked right now, oldest first (poll this to see a request arrive)."""
    return _state(proc, settings.max_pause_points)


@router.post(
    "/processes/{pid}/pause-points/release",
    summary="Release held operations",
    responses=responses(NoSuchProcess, InvalidArgument),
)
async def release_pause_points(proc: ProcessDep, body: PauseReleaseIn) -> PauseReleaseOut:
    """Let parked operations continue: one by `hold_id`, every one at point `name`, or
    (empty body) every one in the process. Points stay armed. Releasing what is not
    held releases nothing (`released: 0`)."""
    reg = proc.mm.pauses
    if body.hold_id is not None:
        return PauseReleaseOut(released=reg.release(body.hold_id))
    if body.name is not None:
        return PauseReleaseOut(released=reg.release(body.name))
    return PauseReleaseOut(released=reg.release_all())


@router.delete(
    "/processes/{pid}/pause-points/{name:pause_point}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disarm a pause point",
    responses=responses(NoSuchProcess, InvalidArgument),
)
async def disarm_pause_point(
    proc: ProcessDep,
    name: str = Path(
        min_length=1,
        max_length=64,
        description="a pause point name",
        openapi_examples={"munmap": {"value": "munmap:before_clear"}},
        json_schema_extra=POINT_NAMES,
    ),
) -> None:
    """Stop holding at `name` (operations already held stay until released or timed
    out). Disarming a point that is not armed is not an error; an unknown name is 422."""
    proc.mm.pauses.disarm(name)


@router.delete(
    "/processes/{pid}/pause-points",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disarm every point and release every hold",
    responses=responses(NoSuchProcess),
)
async def reset_pause_points(proc: ProcessDep) -> None:
    """Disarm every pause point of the process, then release every held operation."""
    proc.mm.pauses.reset()
