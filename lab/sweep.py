"""Sweeps: many independent experiment runs, fanned out over processes or a cluster.

A sweep is a list of :class:`Run` (an experiment, a seed, quick or full, the seconds
per cell); the runs share nothing, so they can run anywhere at once.
:func:`run_sweep` runs them

``ray``
    each as a Ray task (one CPU each) on the cluster ``VMASIM_RAY_ADDRESS`` names
    (or ``address``): the same cluster the service's machines use (issue 21);
``processes``
    over a pool of local processes (``workers``, default: this host's CPUs);
``sequential``
    one after another in this process;
``auto``
    ``ray`` when a cluster is configured (``VMASIM_RAY_ADDRESS`` set), ``processes``
    otherwise.

Results come back in the order of the runs, whatever order they finished in.

Caveat: an experiment measures timings. Runs at once on the same cores disturb each
other (each run records the host's load average in its environment); one task per CPU
(what ``ray`` and ``processes`` do) keeps that to what the host shares, the
memory bus and caches.

``python -m lab.sweep --seeds 1-4 --how ray`` runs every experiment (quick) for seeds
1 to 4 and prints one line per run and the wall time.

Ray is imported here only, inside :func:`_ray_map` (``tests/test_layering.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from .common import ExperimentResult
from .runner import EXPERIMENTS, run_experiment

How = Literal["auto", "ray", "processes", "sequential"]
HOWS: tuple[How, ...] = ("auto", "ray", "processes", "sequential")
RAY_ADDRESS_ENV = "VMASIM_RAY_ADDRESS"


@dataclass(frozen=True)
class Run:
    """One run of a sweep."""

    name: str
    seed: int = 1
    quick: bool = True
    cell_s: float | None = None


def run_one(run: Run) -> ExperimentResult:
    """One run, in whatever process runs it (a pool worker, a Ray worker, this one)."""
    return run_experiment(run.name, quick=run.quick, seed=run.seed, cell_s=run.cell_s)


def resolve(how: How, environ: dict[str, str] | None = None) -> How:
    """``auto`` made concrete: ``ray`` when a cluster is configured.

    >>> resolve("auto", {})
    'processes'
    >>> resolve("auto", {"VMASIM_RAY_ADDRESS": "head:6379"})
    'ray'
    """
    if how != "auto":
        return how
    env = os.environ if environ is None else environ
    return "ray" if env.get(RAY_ADDRESS_ENV) else "processes"


def run_sweep(
    runs: Sequence[Run],
    how: How = "auto",
    *,
    workers: int | None = None,
    address: str | None = None,
) -> list[ExperimentResult]:
    """Every run of ``runs``, fanned out as ``how`` says (see the module note); the
    results in the order of ``runs``. An unknown experiment is refused before anything
    runs (``ValueError``)."""
    unknown = sorted({r.name for r in runs} - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"unknown experiments {unknown}; choose from {', '.join(EXPERIMENTS)}")
    how = resolve(how)
    if how == "sequential":
        return [run_one(r) for r in runs]
    if how == "processes":
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            return list(pool.map(run_one, runs))
    return _ray_map(runs, address or os.environ.get(RAY_ADDRESS_ENV))


def _ray_map(runs: Sequence[Run], address: str | None) -> list[ExperimentResult]:
    """Each run a Ray task of one CPU; joins the cluster at ``address`` unless this
    process is connected already (then leaves it connected)."""
    import ray

    connected_here = not ray.is_initialized()
    if connected_here:
        ray.init(address=address or "auto", include_dashboard=False, log_to_driver=False)
    try:
        task: Any = ray.remote(num_cpus=1, max_retries=1)(run_one)
        results: list[ExperimentResult] = ray.get([task.remote(r) for r in runs])
        return results
    finally:
        if connected_here:
            ray.shutdown()


def _seeds(text: str) -> list[int]:
    lo, sep, hi = text.partition("-")
    return list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.sweep", description=__doc__)
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS))
    parser.add_argument("--seeds", type=_seeds, default=[1], help="N or N-M")
    parser.add_argument("--full", action="store_true", help="full scale (default: quick)")
    parser.add_argument("--cell-seconds", type=float, default=None)
    parser.add_argument("--how", choices=HOWS, default="auto")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    runs = [
        Run(name, seed, not args.full, args.cell_seconds)
        for name in args.experiments.split(",")
        for seed in args.seeds
    ]
    t0 = time.perf_counter()
    try:
        results = run_sweep(runs, args.how, workers=args.workers)
    except ValueError as exc:
        parser.error(str(exc))
    wall = time.perf_counter() - t0
    for run, result in zip(runs, results, strict=True):
        sys.stdout.write(f"{run.name} seed {run.seed}: {result.duration_s:.2f} s\n")
    sys.stdout.write(f"{len(runs)} runs ({resolve(args.how)}): {wall:.2f} s wall\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
