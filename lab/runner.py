"""Run an experiment by name and write its results: JSON, CSV and a plot.

:func:`run_experiment` is what the CLI (``python -m lab``) and the REST
job runner (``app/jobs.py``) call. The measured path is engine-only: real threads on
a fresh :class:`~core.process.Kernel` per cell, no HTTP. During a run the GIL switch
interval is lowered to :data:`~lab.common.SWITCH_INTERVAL_S`
(process-wide, restored afterwards) and recorded in the environment.

Outputs (:func:`write_outputs`): ``<name>.json`` (everything: seed, cost model,
environment, parameters, rows, targets), ``<name>.csv`` (the rows, with the seed and
the cost model in ``#`` comment lines above the header) and ``<name>.png`` (needs the
optional ``plot`` extra: matplotlib).
"""

from __future__ import annotations

import csv
import io
import json
import os
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args

from core.errors import InvalidArgument

from . import fault_scaling, monitor_vs_workload, priority_inversion, proc_vs_map, reader_modes
from .common import (
    ExperimentResult,
    ProgressFn,
    RunContext,
    Target,
    cancellable,
    environment,
    switch_interval,
)
from .profiles import DEFAULT_COST, CostModel

__all__ = [
    "EXPERIMENTS",
    "ExperimentName",
    "Experiment",
    "run_experiment",
    "render_csv",
    "render_plot",
    "write_outputs",
]


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its module's ``run``, ``plot`` and title."""

    name: str
    title: str
    module: ModuleType

    @property
    def run(self) -> Callable[[RunContext], ExperimentResult]:
        fn: Callable[[RunContext], ExperimentResult] = self.module.run
        return fn


#: The experiments' names, the vocabulary the CLI and the REST API accept.
ExperimentName = Literal[
    "proc-vs-map", "priority-inversion", "fault-scaling", "reader-modes", "monitor-vs-workload"
]
EXPERIMENTS: dict[str, Experiment] = {
    m.NAME: Experiment(m.NAME, m.TITLE, m)
    for m in (proc_vs_map, priority_inversion, fault_scaling, reader_modes, monitor_vs_workload)
}
assert tuple(EXPERIMENTS) == get_args(ExperimentName), "ExperimentName lists every module"

_run_lock = threading.Lock()


def check_repeat_for(name: str, repeat: object) -> None:
    """Raise InvalidArgument unless ``repeat`` is None or a number of runs per cell
    for ``name`` (monitor-vs-workload's only: :func:`lab.monitor_vs_workload.check_repeat`)."""
    if repeat is None:
        return
    if name != monitor_vs_workload.NAME:
        raise InvalidArgument(f"repeat applies to {monitor_vs_workload.NAME} only")
    monitor_vs_workload.check_repeat(repeat)


def run_experiment(
    name: str,
    *,
    quick: bool = True,
    seed: int = 1,
    cost: CostModel = DEFAULT_COST,
    cell_s: float | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    scattered: bool = False,
    repeat: int | None = None,
) -> ExperimentResult:
    """Run experiment ``name`` and return its result (``scattered``: monitor-vs-workload's
    :func:`~lab.monitor_vs_workload.run_scattered` instead; ``repeat``: its runs of every
    cell, None for its default). Raises InvalidArgument for an unknown name, a bad
    ``cell_s`` or ``repeat``, or ``scattered`` or ``repeat`` with another experiment
    (nothing run), ``Cancelled`` if ``cancel`` is set between cells. Runs serialise on a module
    lock (they share the GIL switch interval and would disturb each other's timings).
    Caller holds no engine lock."""
    if name not in EXPERIMENTS:
        raise InvalidArgument(
            f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}"
        )
    if cell_s is not None and (
        isinstance(cell_s, bool) or not isinstance(cell_s, int | float) or not 0.05 <= cell_s <= 600
    ):
        raise InvalidArgument(f"cell_s {cell_s!r} is not a duration in [0.05, 600] seconds")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InvalidArgument(f"seed {seed!r} is not an integer")
    if scattered and name != monitor_vs_workload.NAME:
        raise InvalidArgument(f"scattered applies to {monitor_vs_workload.NAME} only")
    check_repeat_for(name, repeat)
    ctx = RunContext(seed=seed, quick=quick, cost=cost, cell_s=cell_s, progress=progress)
    if cancel is not None:
        ctx.cancel = cancel
    with _run_lock, switch_interval(), cancellable(ctx.cancel):
        env = environment()
        t0 = time.perf_counter()
        if scattered:
            result = monitor_vs_workload.run_scattered(ctx, repeat)
        elif repeat is not None:
            result = monitor_vs_workload.run(ctx, repeat=repeat)
        else:
            result = EXPERIMENTS[name].run(ctx)
        result.duration_s = time.perf_counter() - t0
    env["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result.environment = env
    return result


def load_result(path: Path) -> ExperimentResult:
    """An :class:`ExperimentResult` read back from its ``<name>.json``."""
    doc = json.loads(path.read_text())
    result = ExperimentResult(
        doc["name"],
        doc["title"],
        doc["seed"],
        doc["quick"],
        doc["cost"],
        doc["params"],
        doc["environment"],
        doc["rows"],
        [Target(**t) for t in doc["targets"]],
        doc["duration_s"],
        doc.get("diagnostics", {}),
    )
    if result.name not in EXPERIMENTS:
        raise InvalidArgument(f"{path} holds unknown experiment {result.name!r}")
    return result


def render_json(result: ExperimentResult) -> str:
    return json.dumps(result.as_dict(), indent=2, sort_keys=False) + "\n"


def render_csv(result: ExperimentResult) -> str:
    """The rows as CSV, preceded by ``# key: value`` lines for the seed, cost model and
    environment."""
    out = io.StringIO()
    out.write(f"# experiment: {result.name}\n# seed: {result.seed}\n# quick: {result.quick}\n")
    out.write(f"# cost: {json.dumps(result.cost)}\n")
    out.write(f"# environment: {json.dumps(result.environment)}\n")
    if result.rows:
        names: list[str] = list(dict.fromkeys(k for row in result.rows for k in row))
        writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
    return out.getvalue()


def render_plot(result: ExperimentResult) -> bytes:
    """The experiment's plot as PNG bytes. Raises RuntimeError if matplotlib (the
    ``plot`` extra) is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise RuntimeError("plots need matplotlib: pip install 'vmasim[plot]'") from exc
    fig = Figure(figsize=(8, 5), dpi=100)
    ax = fig.add_subplot()
    EXPERIMENTS[result.name].module.plot(result, ax)
    ax.set_title(
        f"{result.title} (seed {result.seed}{', quick' if result.quick else ''})", fontsize="medium"
    )
    cost = ", ".join(f"{k}={v}" for k, v in result.cost.items())
    fig.text(0.01, 0.005, textwrap.fill(f"cost: {cost}", 150), fontsize=6)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_outputs(
    result: ExperimentResult, out: Path, plot: bool = True, stem: str | None = None
) -> list[Path]:
    """Write ``<stem>.json``, ``<stem>.csv`` and (if ``plot``) ``<stem>.png`` into ``out``
    (``stem`` defaults to the experiment's name)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or result.name
    paths = [out / f"{stem}.json", out / f"{stem}.csv"]
    paths[0].write_text(render_json(result))
    paths[1].write_text(render_csv(result))
    if plot:
        png = out / f"{stem}.png"
        png.write_bytes(render_plot(result))
        paths.append(png)
    return paths


def format_table(result: ExperimentResult) -> str:
    """The rows as an aligned text table, then the targets and the cost model."""
    lines = [f"{result.name}: {result.title} (seed {result.seed}, quick={result.quick})"]
    if result.rows:
        names = list(dict.fromkeys(k for row in result.rows for k in row))
        cells = [[str(row.get(n, "")) for n in names] for row in result.rows]
        widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
        lines.append("  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True)))
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    for t in result.targets:
        mark = "PASS" if t.passed else "MISS"
        lines.append(f"target {mark}: {t.name} = {t.value} (want {t.bound})")
    lines.append("cost: " + ", ".join(f"{k}={v}" for k, v in result.cost.items()))
    return "\n".join(lines) + "\n"


def result_summary(result: ExperimentResult) -> dict[str, Any]:
    return result.as_dict()
