"""Experiment jobs: ``/experiments`` (the lab's runs as background jobs)."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lab import DEFAULT_COST, CostField, ExperimentName
from lab.monitor_vs_workload import NAME as REPEATABLE
from lab.profiles import CostModel
from lab.reader_modes import CELL_RULE

from ..jobs import JobState
from .common import InModel


def _cost_schema() -> dict[str, Any]:
    """The JSON schema of ``cost``: one member per field of the lab's cost model, a
    boolean for its switches, a number in [0, 1] for its durations (seconds) and
    fractions (``lowprio_cpu_share`` above 0), as ``CostModel`` checks them."""
    properties: dict[str, Any] = {}
    for f in dataclasses.fields(CostModel):
        if f.type in (bool, "bool"):
            properties[f.name] = {"type": "boolean"}
        else:
            properties[f.name] = {"type": "number", "minimum": 0, "maximum": 1}
    properties["lowprio_cpu_share"] = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
    return {"properties": properties, "additionalProperties": False}


class ExperimentIn(InModel):
    """A run to start."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "proc-vs-map", "quick": True, "seed": 1, "cost": {}}],
            # repeat is monitor-vs-workload's only (lab.runner.check_repeat_for): said
            # here too, so that a client (or a schema-driven fuzzer) knows it.
            "if": {
                "properties": {"name": {"not": {"const": REPEATABLE}}},
                "required": ["name"],
            },
            "then": {"properties": {"repeat": {"type": "null"}}},
        },
    )

    name: ExperimentName
    quick: bool = Field(True, description="small scale and short cells")
    seed: int = Field(1, ge=0, lt=1 << 31)
    cell_seconds: float | None = Field(
        None,
        ge=0.05,
        le=10.0,
        description=f"seconds per cell (default: the experiment's; {CELL_RULE})",
    )
    repeat: int | None = Field(
        None,
        ge=1,
        le=50,
        description=(
            "monitor-vs-workload only: runs of every cell, in round-robin order; the rows"
            " hold the percentiles over the runs pooled (default: 1 quick, 10 full)"
        ),
    )
    cost: dict[CostField, bool | float] = Field(
        default_factory=dict,
        description=(
            "cost model overrides: durations in seconds; preempt_prob and lowprio_cpu_share"
            " fractions; preempt_scales, gil_priority and preempt_midread booleans"
        ),
        examples=[{"preempt_s": 0.02, "gil_priority": False}],
        json_schema_extra=_cost_schema(),
    )


class ProgressOut(BaseModel):
    """Cells finished of the total, and the last one's label."""

    done: int
    total: int
    label: str


class ExperimentOut(BaseModel):
    """A job: state, progress and (when done) the result."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "proc-vs-map",
                    "state": "running",
                    "quick": True,
                    "seed": 1,
                    "cost": DEFAULT_COST.as_dict(),
                    "progress": {"done": 2, "total": 7, "label": "mmap_lock K=1"},
                    "submitted": 1764124800.0,
                    "started": 1764124800.1,
                    "finished": None,
                    "error": None,
                    "result": None,
                    "plot_url": None,
                    "csv_url": None,
                }
            ]
        }
    )

    id: int
    name: str
    state: JobState
    quick: bool
    seed: int
    cost: dict[str, Any]
    progress: ProgressOut
    submitted: float
    started: float | None
    finished: float | None
    error: str | None
    result: dict[str, Any] | None = Field(
        description="rows, targets, params, environment (when done)"
    )
    plot_url: str | None
    csv_url: str | None
