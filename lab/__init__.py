"""The measurement lab: experiments that reproduce the kernel community's lock-scalability
results inside the simulator: ``proc-vs-map``, ``priority-inversion``, ``fault-scaling``,
``reader-modes`` and ``monitor-vs-workload`` (smaps readers and their stall, with the
host's smaps cost model in :mod:`lab.smaps_cost`). Run one with
``python -m lab <name> [--quick]``, or :func:`run_experiment` from Python::

    from lab import run_experiment
    result = run_experiment("proc-vs-map", quick=True)

Each process can be put under a *locking profile* (:data:`PROFILES`: ``mmap_lock``,
``per_vma``, ``per_vma_maps``) with an explicit :class:`CostModel`; see
:mod:`lab.profiles`.
"""

from __future__ import annotations

from .common import Cancelled, ExperimentResult, RunContext, Target
from .profiles import (
    DEFAULT_COST,
    PROFILES,
    CostField,
    CostModel,
    LockingProfile,
    ProfiledLocking,
    apply_profile,
    high_priority,
    low_priority,
)
from .runner import (
    EXPERIMENTS,
    ExperimentName,
    check_repeat_for,
    format_table,
    render_csv,
    render_plot,
    run_experiment,
    write_outputs,
)

__all__ = [
    "DEFAULT_COST",
    "EXPERIMENTS",
    "PROFILES",
    "Cancelled",
    "CostField",
    "CostModel",
    "ExperimentName",
    "ExperimentResult",
    "LockingProfile",
    "ProfiledLocking",
    "RunContext",
    "Target",
    "apply_profile",
    "check_repeat_for",
    "format_table",
    "high_priority",
    "low_priority",
    "render_csv",
    "render_plot",
    "run_experiment",
    "write_outputs",
]
