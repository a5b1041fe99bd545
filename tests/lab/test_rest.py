"""``/experiments`` over the live server: a job runs in the background, reports
progress and its result, serves its plot and CSV, and can be cancelled."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.errors import NoSuchMachine
from app.jobs import JobLimitReached, JobManager
from lab import DEFAULT_COST
from tests.concurrency import wait_until


def _wait_finished(http: httpx.Client, job_id: int) -> dict[str, Any]:
    state: dict[str, Any] = {}

    def finished() -> bool:
        state.update(http.get(f"/experiments/{job_id}").json())
        return state["state"] in ("done", "failed", "cancelled")

    wait_until(finished, timeout=40, what=f"experiment job {job_id} finished")
    return state


def test_job_runs_and_reports_its_result(http: httpx.Client) -> None:
    pytest.importorskip("matplotlib")
    body = {"name": "fault-scaling", "cell_seconds": 0.05, "seed": 4}
    r = http.post("/experiments", json={**body, "cost": {"gil_priority": False, "syscall_s": 0}})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/experiments/{job['id']}"
    want = {**DEFAULT_COST.as_dict(), "gil_priority": False, "syscall_s": 0.0}
    assert job["state"] in ("queued", "running") and job["cost"] == want
    done = _wait_finished(http, job["id"])
    assert done["state"] == "done", done["error"]
    assert done["progress"]["done"] == done["progress"]["total"] == 4
    assert done["result"]["seed"] == 4 and len(done["result"]["rows"]) == 4
    assert done["result"]["environment"]["switch_interval_s"] > 0
    plot = http.get(done["plot_url"])
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"
    assert plot.content[:4] == b"\x89PNG"
    csv = http.get(done["csv_url"])
    assert csv.status_code == 200 and csv.text.startswith("# experiment: fault-scaling\n# seed: 4")
    assert any(j["id"] == job["id"] for j in http.get("/experiments").json())


def test_bad_requests_are_problems(http: httpx.Client) -> None:
    kept = http.get("/experiments").json()
    r = http.post("/experiments", json={"name": "fastest"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = http.post("/experiments", json={"name": "proc-vs-map", "cost": {"preempt_s": 5}})
    assert r.status_code == 422
    assert "cost preempt_s 5.0 is not a duration" in r.json()["detail"]
    r = http.post("/experiments", json={"name": "proc-vs-map", "cost": {"gil_priority": 1}})
    assert r.status_code == 422
    assert "cost gil_priority 1.0 is not a bool" in r.json()["detail"]
    r = http.post("/experiments", json={"name": "proc-vs-map", "cost": {"syscall_s": True}})
    assert r.status_code == 422
    assert "cost syscall_s True is not a duration" in r.json()["detail"]
    r = http.post("/experiments", json={"name": "proc-vs-map", "repeat": 2})
    assert r.status_code == 422
    assert r.json()["detail"] == "repeat applies to monitor-vs-workload only"
    r = http.post("/experiments", json={"name": "monitor-vs-workload", "repeat": 0})
    assert r.status_code == 422
    assert http.get("/experiments").json() == kept, "a refused job is not kept"
    r = http.get("/experiments/123456")
    assert r.status_code == 404 and r.json()["detail"] == "no experiment job 123456"
    assert http.get("/experiments/123456/plot").status_code == 404
    assert http.delete("/experiments/123456").status_code == 404


def test_cancel_stops_a_job(http: httpx.Client) -> None:
    r = http.post("/experiments", json={"name": "reader-modes", "quick": True, "cell_seconds": 0.2})
    job_id = r.json()["id"]
    r = http.delete(f"/experiments/{job_id}")
    assert r.status_code == 200
    done = _wait_finished(http, job_id)
    assert done["state"] == "cancelled" and done["result"] is None
    assert done["progress"]["done"] < 12
    assert http.get(f"/experiments/{job_id}/csv").status_code == 404


def test_job_table_is_bounded_and_shuts_down() -> None:
    jobs = JobManager(max_jobs=1, join_timeout=30)
    first = jobs.submit("reader-modes", quick=True, seed=1, cost=DEFAULT_COST, cell_s=0.2)
    with pytest.raises(JobLimitReached, match=r"VMASIM_MAX_EXPERIMENT_JOBS=1"):
        jobs.submit("reader-modes", quick=True, seed=1, cost=DEFAULT_COST, cell_s=0.2)
    assert jobs.statistics().rejected == 1
    jobs.shutdown()
    view = jobs.get(first.id)
    assert view is not None and view.state == "cancelled"
    stats = jobs.statistics()
    assert not stats.worker_alive and stats.by_state["cancelled"] == 1
    jobs._check()
    # A manager is shut down when its machine is deleted: a submission racing the
    # deletion gets the 404 the request would have got a moment later, not a 500.
    with pytest.raises(NoSuchMachine, match="default"):
        jobs.submit("reader-modes", quick=True, seed=1, cost=DEFAULT_COST, cell_s=0.2)


def test_monitor_vs_workload_job_serves_its_rows_plot_and_csv(http: httpx.Client) -> None:
    """``repeat`` runs every cell that many times: each row keeps every run's p99."""
    pytest.importorskip("matplotlib")
    body = {"name": "monitor-vs-workload", "cell_seconds": 0.2, "repeat": 2}
    r = http.post("/experiments", json=body)
    assert r.status_code == 202, r.text
    done = _wait_finished(http, r.json()["id"])
    assert done["state"] == "done", done["error"]
    assert done["progress"]["done"] == done["progress"]["total"] == 12
    rows = done["result"]["rows"]
    assert len(rows) == 6 and done["result"]["params"]["repeat"] == 2
    assert all(row["runs"] == 2 and len(row["mmap_p99_runs_ms"]) == 2 for row in rows)
    plot = http.get(done["plot_url"])
    assert plot.status_code == 200 and plot.content[:4] == b"\x89PNG"
    csv = http.get(done["csv_url"])
    assert csv.status_code == 200 and "mmap_p99_runs_ms" in csv.text
