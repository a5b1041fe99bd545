"""Background experiment jobs: a bounded queue, one worker thread, cancellation.

``POST /experiments`` submits a job (:meth:`JobManager.submit`); one daemon worker
thread runs jobs one at a time (experiments measure timings and share the GIL, so
two at once would spoil each other) through :func:`lab.run_experiment`,
off the event loop. A job reports progress after each cell and can be cancelled
(between cells). At most ``max_jobs`` jobs are kept: a submission that would need a
new slot while every slot holds a queued or running job is refused
(:class:`JobLimitReached`, 409); otherwise the oldest finished job is forgotten.

:meth:`JobManager.shutdown` (application shutdown) cancels every job and joins the
worker with a timeout, so the server never hangs on exit.

Locks: one ``threading.Lock`` guards the job table and every job's mutable fields; it
is held only for dictionary and attribute updates, never while an experiment runs.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from lab import (
    Cancelled,
    CostModel,
    ExperimentResult,
    check_repeat_for,
    render_csv,
    render_plot,
    run_experiment,
)

from .errors import LimitExceeded, NoSuchJob, NoSuchMachine
from .settings import env_name

__all__ = ["Job", "JobLimitReached", "JobManager", "JobStatistics", "JobView"]

MAX_JOBS_SETTING: Final = env_name("max_experiment_jobs")
#: A job's life: queued, then running, then one of the three ends.
JobState = Literal["queued", "running", "done", "failed", "cancelled"]
STATES: Final[tuple[JobState, ...]] = get_args(JobState)


class JobLimitReached(LimitExceeded):
    """Every job slot holds a queued or running job."""


@dataclass
class Job:
    """One experiment run. Mutable fields change under :attr:`JobManager._lock`."""

    id: int
    name: str
    quick: bool
    seed: int
    cost: CostModel
    cell_s: float | None
    submitted: float
    repeat: int | None = None
    state: JobState = "queued"
    done: int = 0
    total: int = 0
    label: str = ""
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    result: ExperimentResult | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    _png: bytes | None = None


@dataclass(frozen=True)
class JobView:
    """A consistent copy of a job's public fields."""

    id: int
    name: str
    state: JobState
    quick: bool
    seed: int
    cost: dict[str, Any]
    done: int
    total: int
    label: str
    submitted: float
    started: float | None
    finished: float | None
    error: str | None
    result: dict[str, Any] | None


@dataclass(frozen=True)
class JobStatistics:
    """Jobs per state, submissions accepted and refused, and the lock's state."""

    by_state: dict[JobState, int]
    submitted: int
    rejected: int
    max_jobs: int
    worker_alive: bool
    lock_held: bool


class JobManager:
    """The job table and its worker. Thread-safe."""

    def __init__(
        self, max_jobs: int = 8, join_timeout: float = 30.0, machine: str = "default"
    ) -> None:
        if not isinstance(max_jobs, int) or isinstance(max_jobs, bool) or not 1 <= max_jobs <= 1000:
            raise ValueError(f"{MAX_JOBS_SETTING}={max_jobs!r} must be an integer in [1, 1000]")
        self.max_jobs = max_jobs
        self.join_timeout = join_timeout
        #: The machine whose jobs these are: a submission after its deletion (the
        #: manager is shut down then) is NoSuchMachine, what the request would have got
        #: a moment later.
        self.machine = machine
        self._lock = threading.Lock()
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self._ids = itertools.count(1)
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._closed = False
        self._submitted = 0
        self._rejected = 0

    # -- submission ---------------------------------------------------------------------

    def submit(
        self,
        name: str,
        *,
        quick: bool,
        seed: int,
        cost: CostModel,
        cell_s: float | None,
        repeat: int | None = None,
    ) -> JobView:
        """Queue a run; returns its view. Raises JobLimitReached (nothing queued) when
        every slot is busy, NoSuchMachine after shutdown (the machine was deleted),
        InvalidArgument for a ``repeat`` the experiment does not take. O(max_jobs)."""
        check_repeat_for(name, repeat)
        with self._lock:
            if self._closed:
                raise NoSuchMachine(self.machine)
            if len(self._jobs) >= self.max_jobs:
                finished = [
                    j.id for j in self._jobs.values() if j.state not in ("queued", "running")
                ]
                if not finished:
                    self._rejected += 1
                    raise JobLimitReached(
                        MAX_JOBS_SETTING, self.max_jobs, len(self._jobs) + 1, "experiment jobs"
                    )
                del self._jobs[finished[0]]
            job = Job(next(self._ids), name, quick, seed, cost, cell_s, time.time(), repeat)
            self._jobs[job.id] = job
            self._submitted += 1
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="experiment-jobs", daemon=True
                )
                self._worker.start()
            view = self._view(job)
        self._queue.put(job)
        return view

    # -- the worker ---------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job.cancel.is_set():
                    job.state = "cancelled"
                    job.finished = time.time()
                    continue
                job.state = "running"
                job.started = time.time()
            self._run(job)

    def _run(self, job: Job) -> None:
        state: JobState

        def progress(done: int, total: int, label: str) -> None:
            with self._lock:
                job.done, job.total, job.label = done, total, label

        try:
            result = run_experiment(
                job.name,
                quick=job.quick,
                seed=job.seed,
                cost=job.cost,
                cell_s=job.cell_s,
                progress=progress,
                repeat=job.repeat,
                cancel=job.cancel,
            )
        except Cancelled:
            state, error, result = "cancelled", None, None
        except Exception as exc:  # reported in the job, never kills the worker
            state, error, result = "failed", f"{type(exc).__name__}: {exc}", None
        else:
            state, error = "done", None
        with self._lock:
            job.state, job.error, job.result = state, error, result
            job.finished = time.time()

    # -- queries ------------------------------------------------------------------------

    def _view(self, job: Job) -> JobView:
        return JobView(
            job.id,
            job.name,
            job.state,
            job.quick,
            job.seed,
            job.cost.as_dict(),
            job.done,
            job.total,
            job.label,
            job.submitted,
            job.started,
            job.finished,
            job.error,
            job.result.as_dict() if job.result is not None else None,
        )

    def get(self, job_id: int) -> JobView:
        """The job's current view; NoSuchJob if unknown (or forgotten). O(1) plus the
        result."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NoSuchJob(job_id)
            return self._view(job)

    def list(self) -> list[JobView]:
        """Every kept job, oldest first."""
        with self._lock:
            return [self._view(j) for j in self._jobs.values()]

    def _finished_result(self, job_id: int) -> tuple[Job, ExperimentResult]:
        # NoSuchJob both when the job is unknown and when it has no result yet.
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NoSuchJob(job_id)
            if job.result is None:
                raise NoSuchJob(job_id, "result of experiment job")
            return job, job.result

    def csv(self, job_id: int) -> str:
        """The result as CSV; NoSuchJob if the job is unknown or has no result."""
        return render_csv(self._finished_result(job_id)[1])

    def plot(self, job_id: int) -> bytes:
        """The result's plot (PNG, rendered once); NoSuchJob if unknown or no result."""
        job, result = self._finished_result(job_id)
        png = job._png
        if png is None:
            png = render_plot(result)
            with self._lock:
                job._png = png
        return png

    def cancel(self, job_id: int) -> JobView:
        """Ask a queued or running job to stop (between cells); NoSuchJob if unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NoSuchJob(job_id)
            job.cancel.set()
            if job.state == "queued":
                job.state = "cancelled"
                job.finished = time.time()
            return self._view(job)

    def shutdown(self) -> None:
        """Cancel every job and stop the worker (joined with ``join_timeout``)."""
        with self._lock:
            self._closed = True
            for job in self._jobs.values():
                job.cancel.set()
            worker = self._worker
        self._queue.put(None)
        if worker is not None:
            worker.join(self.join_timeout)

    def statistics(self) -> JobStatistics:
        """Counts per state and the worker's liveness. O(jobs)."""
        lock_held = self._lock.locked()
        with self._lock:
            by_state = dict.fromkeys(STATES, 0)
            for job in self._jobs.values():
                by_state[job.state] += 1
            worker = self._worker
            return JobStatistics(
                by_state,
                self._submitted,
                self._rejected,
                self.max_jobs,
                worker is not None and worker.is_alive(),
                lock_held,
            )

    def _check(self) -> None:
        """O(jobs): ids ascend, states are known, at most ``max_jobs`` kept."""
        with self._lock:
            ids = list(self._jobs)
            assert ids == sorted(ids), ids
            assert len(ids) <= self.max_jobs, (len(ids), self.max_jobs)
            for job in self._jobs.values():
                assert job.state in STATES, job.state
                assert (job.result is not None) == (job.state == "done"), job
