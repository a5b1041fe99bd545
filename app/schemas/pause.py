"""Pause points over REST: arm, inspect, release."""

from __future__ import annotations

import json
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from core.constants import U64_MAX
from core.pause import KNOWN_POINTS

from .common import InModel

POINT_NAMES: dict[str, Any] = {"enum": sorted(KNOWN_POINTS)}
"""The schema of a pause point name: one the engine has (``GET /pause-points``)."""
_POINT_NAME_OR_NULL: dict[str, Any] = {"enum": [*sorted(KNOWN_POINTS), None]}


class PausePointOut(BaseModel):
    """A pause point the engine has, and the window it opens."""

    name: str = Field(examples=["munmap:before_clear"])
    description: str


class PausePointList(BaseModel):
    """Every known pause point, by name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "points": [
                        {
                            "name": "munmap:before_clear",
                            "description": "do_vmi_align_munmap: splits done ...",
                        }
                    ]
                }
            ]
        }
    )

    points: list[PausePointOut]


class PauseArmIn(InModel):
    """Arm a pause point: from its ``hit``-th hit on (counted from now), ``count``
    operations park there until released or ``timeout`` seconds pass."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "munmap:before_clear"},
                {"name": "maps:per_vma_between_vmas", "hit": 3, "timeout": 5},
            ]
        },
    )

    name: str = Field(
        min_length=1,
        max_length=64,
        examples=["munmap:before_clear"],
        json_schema_extra=POINT_NAMES,
    )
    hit: int = Field(default=1, ge=1, le=1_000_000, description="hold from this hit on")
    count: int = Field(default=1, ge=1, le=1_000_000, description="operations to hold")
    timeout: float | None = Field(
        default=None, gt=0, le=300, description="seconds a hold lasts (engine default 10)"
    )


class HeldOut(BaseModel):
    """An operation parked at a pause point."""

    hold_id: int
    point: str = Field(examples=["munmap:before_clear"])
    op: str = Field(examples=["munmap"], description="the syscall, or maps/fault/...")
    thread: str
    held_for: float = Field(description="seconds parked so far")
    hit: int


class ArmedPointOut(BaseModel):
    """Counters of one point that is armed or has been hit."""

    name: str
    armed: bool
    hits: int
    holds: int
    timeouts: int
    held: int


class PauseStateOut(BaseModel):
    """The pause points of one process: armed points, held operations, limits."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pid": 1000,
                    "limit": 8,
                    "default_timeout": 10.0,
                    "points": [
                        {
                            "name": "munmap:before_clear",
                            "armed": False,
                            "hits": 1,
                            "holds": 1,
                            "timeouts": 0,
                            "held": 1,
                        }
                    ],
                    "held": [
                        {
                            "hold_id": 1,
                            "point": "munmap:before_clear",
                            "op": "munmap",
                            "thread": "AnyIO worker thread",
                            "held_for": 0.25,
                            "hit": 1,
                        }
                    ],
                    "timeouts": 0,
                }
            ]
        }
    )

    pid: int
    limit: int = Field(description="VMASIM_MAX_PAUSE_POINTS in force")
    default_timeout: float
    points: list[ArmedPointOut]
    held: list[HeldOut]
    timeouts: int = Field(description="holds that ended by timeout")


class PauseReleaseIn(InModel):
    """Release one hold (``hold_id``), every hold at a point (``name``), or everything
    held in the process (empty body)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {"required": ["hold_id", "name"]},  # one target at most
            "examples": [{}, {"hold_id": 1}, {"name": "munmap:before_clear"}],
        },
    )

    hold_id: int | None = Field(default=None, ge=1, le=U64_MAX)
    name: str | None = Field(
        default=None, min_length=1, max_length=64, json_schema_extra=_POINT_NAME_OR_NULL
    )

    @model_validator(mode="after")
    def _one_target(self) -> PauseReleaseIn:
        # Sent, even as null: the document's "not both required" is about members.
        if {"hold_id", "name"} <= self.model_fields_set:
            raise ValueError(
                f"give hold_id ({json.dumps(self.hold_id)}) or name "
                f"({json.dumps(self.name)}), not both"
            )
        return self


class PauseReleaseOut(BaseModel):
    """How many holds were released."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"released": 1}]})

    released: int
