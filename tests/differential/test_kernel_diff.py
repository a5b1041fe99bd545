"""Differential tests: the same traces on the running kernel and on the simulator.

CI runs ``CI_SEEDS`` random traces of ``CI_OPS`` operations each (> 5,000 compared
operations) plus the hand-written traces of fixed_traces.py; ``-m stress`` runs a
much longer randomised campaign. A mismatch reports the seed, the op, both results
and both arena maps, and the command that re-runs that seed alone.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.differential.annotated import check_expectations, parse_annotated
from tests.differential.compare import Mismatch, first_mismatch, format_mismatch
from tests.differential.fixed_traces import FIXED_TRACES
from tests.differential.realkernel import run_kernel
from tests.differential.simrun import run_sim
from tests.differential.trace import Trace, generate

pytestmark = pytest.mark.kernel

CI_SEEDS = range(50)
CI_OPS = 200  # 50 x 200 = 10,000 compared operations (about 5 s on the host)
# Traces with page touches (read/write/execute) and per-VMA Rss/Anonymous from smaps.
TOUCH_SEEDS = range(24)  # about 0.8 s each
STRESS_OPS = 1000
STRESS_SECONDS = float(os.environ.get("VMASIM_STRESS_SECONDS", "600"))
# Kernel re-runs of a trace whose only difference is in smaps Referenced (_compare).
HOST_REFERENCED_RETRIES = 2


def _rerun(seed: int, ops: int, touches: bool = False) -> str:
    flag = " --touches" if touches else ""
    test = "test_random_touch_trace" if touches else "test_random_trace"
    return (
        f".venv/bin/python -m tests.differential.run --seed {seed} --ops {ops}{flag}"
        f"   (or: .venv/bin/pytest 'tests/differential/test_kernel_diff.py::"
        f"{test}[{seed}]', or add --minimize to shrink it)"
    )


def _compare(helper: Path, trace: Trace, seed: int | None, rerun: str) -> None:
    try:
        kernel = run_kernel(helper, trace)
        sim = run_sim(trace)
    except Exception as exc:  # the seed must be in every failure
        where = f"seed {seed}" if seed is not None else "fixed trace"
        pytest.fail(f"{where}: {type(exc).__name__}: {exc}\nre-run: {rerun}", pytrace=True)
    mismatch = first_mismatch(trace, kernel.steps, kernel.filedir, sim.steps, sim.filedir)
    for _ in range(HOST_REFERENCED_RETRIES):
        if mismatch is None or not _only_referenced_differs(mismatch):
            break
        # The host sets PG_referenced on its own now and then (see the README): the
        # simulator is deterministic, so the same trace on the kernel again decides.
        again = run_kernel(helper, trace)
        mismatch = first_mismatch(trace, again.steps, again.filedir, sim.steps, sim.filedir)
    if mismatch is not None:
        pytest.fail(format_mismatch(mismatch, trace, seed, rerun), pytrace=False)


def _only_referenced_differs(mismatch: Mismatch) -> bool:
    """Same result, and the maps differ only in smaps ``Referenced`` values."""
    if mismatch.kernel_result != mismatch.sim_result:
        return False
    if len(mismatch.kernel_maps) != len(mismatch.sim_maps):
        return False
    strip = re.compile(r" Referenced=\S+")
    return all(
        strip.sub("", k) == strip.sub("", s)
        for k, s in zip(mismatch.kernel_maps, mismatch.sim_maps, strict=True)
    )


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_random_trace(vmatrace: Path, engine: None, seed: int) -> None:
    _compare(vmatrace, generate(seed, CI_OPS), seed, _rerun(seed, CI_OPS))


@pytest.mark.parametrize("seed", TOUCH_SEEDS)
def test_random_touch_trace(vmatrace: Path, engine: None, seed: int) -> None:
    """Faults: each touch's outcome (ok, or signal and si_code) and every arena VMA's
    Rss and Anonymous after each op must match the kernel's."""
    trace = generate(seed, CI_OPS, touches=True)
    assert any(op.kind == "touch" for op in trace.ops) and trace.smaps
    _compare(vmatrace, trace, seed, _rerun(seed, CI_OPS, touches=True))


@pytest.mark.parametrize("name", sorted(FIXED_TRACES))
def test_fixed_trace_kernel(vmatrace: Path, name: str) -> None:
    """The running kernel still does what the annotations (appendix A) say."""
    trace, expects = parse_annotated(FIXED_TRACES[name])
    problems = check_expectations(trace, expects, run_kernel(vmatrace, trace))
    assert not problems, f"kernel differs from fixed trace {name!r}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", sorted(FIXED_TRACES))
def test_fixed_trace_sim(vmatrace: Path, engine: None, name: str) -> None:
    trace, _ = parse_annotated(FIXED_TRACES[name])
    rerun = f"the trace is FIXED_TRACES[{name!r}] in tests/differential/fixed_traces.py"
    _compare(vmatrace, trace, None, rerun)


def test_ci_op_count() -> None:
    assert len(CI_SEEDS) * CI_OPS >= 5000


@pytest.mark.stress
@pytest.mark.timeout(int(STRESS_SECONDS) + 600)
def test_stress(vmatrace: Path, engine: None, request: pytest.FixtureRequest) -> None:
    """Long randomised run: seeds from 10,000 up, STRESS_OPS ops each, for
    VMASIM_STRESS_SECONDS (default 600). Only with ``-m stress``."""
    if "stress" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long run: select it with -m stress")
    deadline = time.monotonic() + STRESS_SECONDS
    seed = 10_000
    while time.monotonic() < deadline:
        touches = bool(seed % 2)
        trace = generate(seed, STRESS_OPS, touches=touches)
        _compare(vmatrace, trace, seed, _rerun(seed, STRESS_OPS, touches))
        seed += 1
