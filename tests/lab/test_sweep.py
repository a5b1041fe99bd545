"""lab.sweep: independent runs over local processes come back in order, as if run here."""

from __future__ import annotations

import pytest

from lab.sweep import Run, resolve, run_sweep


def test_processes_return_the_runs_in_order() -> None:
    runs = [Run("fault-scaling", seed, cell_s=0.05) for seed in (2, 1)]
    results = run_sweep(runs, "processes", workers=2)
    assert [(r.name, r.seed, r.quick) for r in results] == [
        ("fault-scaling", 2, True),
        ("fault-scaling", 1, True),
    ]
    here = run_sweep(runs[1:], "sequential")[0]
    assert results[1].params == here.params
    assert len(results[1].rows) == len(here.rows) > 0


def test_an_unknown_experiment_runs_nothing() -> None:
    with pytest.raises(ValueError, match="unknown experiments"):
        run_sweep([Run("fault-scaling"), Run("nope")], "sequential")


def test_auto_is_ray_only_when_a_cluster_is_configured() -> None:
    assert resolve("auto", {}) == "processes"
    assert resolve("auto", {"VMASIM_RAY_ADDRESS": "10.0.0.1:6379"}) == "ray"
    assert resolve("sequential", {"VMASIM_RAY_ADDRESS": "x"}) == "sequential"
