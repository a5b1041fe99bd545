"""``/experiments``: run the simulator's lock-scalability experiments as background jobs.

``POST /experiments`` queues a bounded job (:mod:`app.jobs`) and answers 202 with its
id; ``GET /experiments/{id}`` reports its state, progress (cells done of total) and,
when done, the result (rows, targets, seed, cost model, environment);
``/experiments/{id}/plot`` and ``/experiments/{id}/csv`` return the plot (PNG) and
the rows; ``DELETE /experiments/{id}`` cancels it. The measured path is engine-only
(:mod:`lab`): no HTTP inside an experiment, on its own ``Kernel`` (the
service's processes are not touched). While a job runs, the server process's GIL
switch interval is 0.1 ms and its cyclic GC is paused inside each cell (see
:mod:`lab.runner`), which other requests feel too.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from core import InvalidArgument
from lab import DEFAULT_COST, EXPERIMENTS

from ..errors import PROBLEM_JSON, LimitExceeded, Problem, responses
from ..jobs import MAX_JOBS_SETTING, JobManager, JobView
from ..service import in_worker

router = APIRouter(prefix="/experiments", tags=["experiments"])

ExperimentName = Literal["proc-vs-map", "priority-inversion", "fault-scaling", "reader-modes"]
assert set(ExperimentName.__args__) == set(EXPERIMENTS)  # type: ignore[attr-defined]
CostField = Literal[
    "fault_page_s",
    "syscall_s",
    "maps_line_s",
    "maps_chunk_copy_s",
    "lowprio_turn_s",
    "lowprio_cpu_share",
    "preempt_s",
    "preempt_prob",
    "preempt_scales",
    "gil_priority",
    "runqueue_slice_s",
    "preempt_midread",
]


class ExperimentIn(BaseModel):
    """A run to start."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "proc-vs-map", "quick": True, "seed": 1, "cost": {}}]
        },
    )

    name: ExperimentName
    quick: bool = Field(True, description="small scale and short cells")
    seed: int = Field(1, ge=0, lt=1 << 31)
    cell_seconds: float | None = Field(
        None, ge=0.05, le=10.0, description="seconds per cell (default: the experiment's)"
    )
    cost: dict[CostField, bool | float] = Field(
        default_factory=dict,
        description=(
            "cost model overrides: durations in seconds; preempt_prob and lowprio_cpu_share"
            " fractions; preempt_scales, gil_priority and preempt_midread booleans"
        ),
        examples=[{"preempt_s": 0.02, "gil_priority": False}],
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
    state: Literal["queued", "running", "done", "failed", "cancelled"]
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


def _out(view: JobView) -> ExperimentOut:
    done = view.state == "done"
    return ExperimentOut(
        id=view.id,
        name=view.name,
        state=view.state,  # type: ignore[arg-type]
        quick=view.quick,
        seed=view.seed,
        cost=view.cost,
        progress=ProgressOut(done=view.done, total=view.total, label=view.label),
        submitted=view.submitted,
        started=view.started,
        finished=view.finished,
        error=view.error,
        result=view.result,
        plot_url=f"/experiments/{view.id}/plot" if done else None,
        csv_url=f"/experiments/{view.id}/csv" if done else None,
    )


async def get_jobs(request: Request) -> JobManager:
    jobs: JobManager = request.app.state.experiment_jobs
    return jobs


JobsDep = Annotated[JobManager, Depends(get_jobs)]
JobId = Annotated[
    int,
    Path(ge=1, lt=1 << 31, description="experiment job id", openapi_examples={"id": {"value": 1}}),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **responses(),  # the request validation problem (422)
    404: {
        "model": Problem,
        "description": "Problem details: no such experiment job (or no result yet)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
}


def _missing(job_id: int) -> HTTPException:
    return HTTPException(404, f"no experiment job {job_id}")


@router.post(
    "",
    status_code=202,
    summary="Start an experiment",
    responses=responses(LimitExceeded, InvalidArgument),
)
async def start_experiment(body: ExperimentIn, jobs: JobsDep, response: Response) -> ExperimentOut:
    """Queue a run (one runs at a time); 409 when every job slot is busy."""
    cost = DEFAULT_COST.with_overrides({str(k): v for k, v in body.cost.items()})
    view = jobs.submit(
        body.name, quick=body.quick, seed=body.seed, cost=cost, cell_s=body.cell_seconds
    )
    response.headers["Location"] = f"/experiments/{view.id}"
    return _out(view)


@router.get("", summary="List experiment jobs")
async def list_experiments(jobs: JobsDep) -> list[ExperimentOut]:
    """Every kept job, oldest first."""
    return [_out(v) for v in jobs.list()]


@router.get("/{job_id}", summary="An experiment job", responses=NOT_FOUND)
async def get_experiment(job_id: JobId, jobs: JobsDep) -> ExperimentOut:
    """State, progress and, when done, the result."""
    view = jobs.get(job_id)
    if view is None:
        raise _missing(job_id)
    return _out(view)


@router.get(
    "/{job_id}/plot",
    summary="An experiment's plot",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {"example": "(PNG bytes)"}}, "description": "the plot"},
        **NOT_FOUND,
    },
)
async def get_experiment_plot(job_id: JobId, jobs: JobsDep) -> Response:
    """The result's plot as PNG; 404 until the job is done."""
    png = await in_worker(jobs.plot, job_id)
    if png is None:
        raise _missing(job_id)
    return Response(png, media_type="image/png")


@router.get(
    "/{job_id}/csv",
    summary="An experiment's rows as CSV",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"example": "# seed: 1\\nreader,scanners\\n"}},
            "description": "the rows",
        },
        **NOT_FOUND,
    },
)
async def get_experiment_csv(job_id: JobId, jobs: JobsDep) -> Response:
    """The rows, with the seed, cost model and environment in ``#`` lines; 404 until done."""
    text = jobs.csv(job_id)
    if text is None:
        raise _missing(job_id)
    return Response(text, media_type="text/csv")


@router.delete("/{job_id}", summary="Cancel an experiment", responses=NOT_FOUND)
async def cancel_experiment(job_id: JobId, jobs: JobsDep) -> ExperimentOut:
    """Cancel a queued job at once, a running one after its current cell."""
    view = jobs.cancel(job_id)
    if view is None:
        raise _missing(job_id)
    return _out(view)


def install(app: FastAPI, max_jobs: int | None = None) -> None:
    """Mount the router, create the job manager (``VMASIM_MAX_EXPERIMENT_JOBS``, default
    8) and cancel its jobs when the application shuts down."""
    if max_jobs is None:
        raw = os.environ.get(MAX_JOBS_SETTING, "8")
        try:
            max_jobs = int(raw)
        except ValueError:
            raise ValueError(f"{MAX_JOBS_SETTING}={raw!r} must be an integer") from None
    jobs = JobManager(max_jobs)
    app.state.experiment_jobs = jobs
    app.include_router(router)
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            try:
                yield state
            finally:
                await in_worker(jobs.shutdown)

    app.router.lifespan_context = lifespan
