"""``/experiments``: run the lab's lock-scalability experiments as background jobs.

``POST /experiments`` queues a bounded job (:mod:`app.jobs`) and answers 202 with its
id; ``GET /experiments/{id}`` reports its state, progress (cells done of total) and,
when done, the result (rows, targets, seed, cost model, environment);
``/experiments/{id}/plot`` and ``/experiments/{id}/csv`` return the plot (PNG) and
the rows; ``DELETE /experiments/{id}`` cancels it. The measured path is engine-only
(:mod:`lab`): no HTTP inside an experiment, on its own ``Kernel`` (the service's
processes are not touched). While a job runs, the server process's GIL switch interval
is 0.1 ms and its cyclic GC is paused inside each cell (see :mod:`lab.runner`), which
other requests feel too.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from core import InvalidArgument
from lab import DEFAULT_COST

from ..deps import JobId, JobsDep, MachinePrefix
from ..errors import LimitExceeded, NoSuchJob, responses
from ..jobs import JobView
from ..jsonbody import JsonRoute
from ..schemas.experiments import ExperimentIn, ExperimentOut, ProgressOut
from ..service import in_worker

router = APIRouter(route_class=JsonRoute, prefix="/experiments", tags=["experiments"])


def _out(view: JobView, prefix: str) -> ExperimentOut:
    # ``prefix``: the machine's path prefix (MachinePrefix), so links stay on its routes.
    done = view.state == "done"
    return ExperimentOut(
        id=view.id,
        name=view.name,
        state=view.state,
        quick=view.quick,
        seed=view.seed,
        cost=view.cost,
        progress=ProgressOut(done=view.done, total=view.total, label=view.label),
        submitted=view.submitted,
        started=view.started,
        finished=view.finished,
        error=view.error,
        result=view.result,
        plot_url=f"{prefix}/experiments/{view.id}/plot" if done else None,
        csv_url=f"{prefix}/experiments/{view.id}/csv" if done else None,
    )


@router.post(
    "",
    status_code=202,
    summary="Start an experiment",
    responses=responses(LimitExceeded, InvalidArgument),
)
async def start_experiment(
    body: ExperimentIn, jobs: JobsDep, prefix: MachinePrefix, response: Response
) -> ExperimentOut:
    """Queue a run (one runs at a time); 409 when every job slot is busy."""
    cost = DEFAULT_COST.with_overrides({str(k): v for k, v in body.cost.items()})
    view = jobs.submit(
        body.name,
        quick=body.quick,
        seed=body.seed,
        cost=cost,
        cell_s=body.cell_seconds,
        repeat=body.repeat,
    )
    response.headers["Location"] = f"/experiments/{view.id}"
    return _out(view, prefix)


@router.get("", summary="List experiment jobs")
async def list_experiments(jobs: JobsDep, prefix: MachinePrefix) -> list[ExperimentOut]:
    """Every kept job, oldest first."""
    return [_out(v, prefix) for v in jobs.list()]


@router.get("/{job_id}", summary="An experiment job", responses=responses(NoSuchJob))
async def get_experiment(job_id: JobId, jobs: JobsDep, prefix: MachinePrefix) -> ExperimentOut:
    """State, progress and, when done, the result."""
    return _out(jobs.get(job_id), prefix)


@router.get(
    "/{job_id}/plot",
    summary="An experiment's plot",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {"example": "(PNG bytes)"}}, "description": "the plot"},
        **responses(NoSuchJob),
    },
)
async def get_experiment_plot(job_id: JobId, jobs: JobsDep) -> Response:
    """The result's plot as PNG; 404 until the job is done."""
    return Response(await in_worker(jobs.plot, job_id), media_type="image/png")


@router.get(
    "/{job_id}/csv",
    summary="An experiment's rows as CSV",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"example": "# seed: 1\\nreader,scanners\\n"}},
            "description": "the rows",
        },
        **responses(NoSuchJob),
    },
)
async def get_experiment_csv(job_id: JobId, jobs: JobsDep) -> Response:
    """The rows, with the seed, cost model and environment in ``#`` lines; 404 until done."""
    return Response(jobs.csv(job_id), media_type="text/csv")


@router.delete("/{job_id}", summary="Cancel an experiment", responses=responses(NoSuchJob))
async def cancel_experiment(job_id: JobId, jobs: JobsDep, prefix: MachinePrefix) -> ExperimentOut:
    """Cancel a queued job at once, a running one after its current cell."""
    return _out(jobs.cancel(job_id), prefix)
