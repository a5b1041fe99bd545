"""Differential tests of mlock, mlock2, munlock, mlockall, munlockall, mseal,
prctl(PR_SET_VMA_ANON_NAME), RLIMIT_MEMLOCK/CAP_IPC_LOCK, overcommit and the
``vm.max_map_count`` boundary (issue 13 part B): the same traces on the running kernel
and on the simulator.

After every op the results and the arena's maps lines must agree, and (``locks``
traces) every arena VMA's ``Locked`` and ``VmFlags`` and the process's ``VmLck``; the
touch traces also compare every VMA's Rss and Anonymous. CI runs LOCK_SEEDS,
LOCK_TOUCH_SEEDS and BOUNDARY_SEEDS random traces (:data:`CI_LOCK_OPS` compared
operations in all, about 20 s on the 2-core host) plus the fixed traces of
fixed_lock_traces.py; ``-m stress`` runs a long randomised campaign of all three kinds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.differential.annotated import check_expectations, parse_annotated
from tests.differential.compare import first_mismatch, format_mismatch
from tests.differential.fixed_lock_traces import FIXED_LOCK_TRACES
from tests.differential.realkernel import host_state, run_kernel
from tests.differential.simrun import run_sim
from tests.differential.trace import BOUNDARY_PAGES, Trace, generate_locks

pytestmark = pytest.mark.kernel

LOCK_SEEDS = range(16)
LOCK_OPS = 150
LOCK_TOUCH_SEEDS = range(10)
BOUNDARY_SEEDS = range(5)
BOUNDARY_OPS = 80  # each boundary trace maps ~65,000 filler VMAs in the real process
CI_LOCK_OPS = (
    len(LOCK_SEEDS) * LOCK_OPS
    + len(LOCK_TOUCH_SEEDS) * LOCK_OPS
    + len(BOUNDARY_SEEDS) * BOUNDARY_OPS
)
STRESS_SECONDS = float(os.environ.get("VMASIM_STRESS_SECONDS", "600"))


def _rerun(seed: int, ops: int, flag: str, test: str) -> str:
    return (
        f".venv/bin/python -m tests.differential.run --seed {seed} --ops {ops} {flag}"
        f"   (or: .venv/bin/pytest 'tests/differential/test_lock_diff.py::{test}[{seed}]',"
        " or add --minimize to shrink it)"
    )


def _compare(helper: Path, trace: Trace, seed: int | None, rerun: str) -> None:
    try:
        kernel = run_kernel(helper, trace)
        sim = run_sim(trace)
    except Exception as exc:  # the seed must be in every failure
        where = f"seed {seed}" if seed is not None else "fixed trace"
        pytest.fail(f"{where}: {type(exc).__name__}: {exc}\nre-run: {rerun}", pytrace=True)
    mismatch = first_mismatch(trace, kernel.steps, kernel.filedir, sim.steps, sim.filedir)
    if mismatch is not None:
        pytest.fail(format_mismatch(mismatch, trace, seed, rerun), pytrace=False)


@pytest.mark.parametrize("seed", LOCK_SEEDS)
def test_random_lock_trace(vmatrace: Path, engine: None, seed: int) -> None:
    trace = generate_locks(seed, LOCK_OPS)
    kinds = {op.kind for op in trace.ops}
    assert trace.locks and kinds & {"mlock", "mlock2", "munlock", "mseal"}
    _compare(vmatrace, trace, seed, _rerun(seed, LOCK_OPS, "--locks", "test_random_lock_trace"))


@pytest.mark.parametrize("seed", LOCK_TOUCH_SEEDS)
def test_random_lock_touch_trace(vmatrace: Path, engine: None, seed: int) -> None:
    """Lock/seal/name ops with page touches: faults of locked, ONFAULT-locked and
    sealed memory, and every arena VMA's Rss and Anonymous as well."""
    trace = generate_locks(seed + 500, LOCK_OPS, touches=True)
    assert trace.smaps and trace.locks and any(op.kind == "touch" for op in trace.ops)
    rerun = _rerun(seed + 500, LOCK_OPS, "--locks --touches", "test_random_lock_touch_trace")
    _compare(vmatrace, trace, seed, rerun)


@pytest.mark.parametrize("seed", BOUNDARY_SEEDS)
def test_boundary_trace(vmatrace: Path, engine: None, seed: int) -> None:
    """At ``vm.max_map_count``: the real process is filled with filler VMAs outside the
    arena (``headroom``), the simulated one gets a matching limit."""
    trace = generate_locks(seed + 900, BOUNDARY_OPS, pages=BOUNDARY_PAGES, boundary=True)
    assert any(op.kind == "headroom" for op in trace.ops)
    rerun = _rerun(seed + 900, BOUNDARY_OPS, "--boundary", "test_boundary_trace")
    _compare(vmatrace, trace, seed, rerun)


@pytest.mark.parametrize("name", sorted(FIXED_LOCK_TRACES))
def test_fixed_lock_trace_kernel(vmatrace: Path, name: str) -> None:
    """The running kernel still does what the annotations say."""
    if name == "overcommit":
        host = host_state()
        if host.ram_pages is None or (host.ram_pages + (host.swap_pages or 0)) * 4096 >= 32 << 30:
            pytest.skip("the overcommit annotations assume less than 32 GiB of RAM and swap")
    trace, expects = parse_annotated(FIXED_LOCK_TRACES[name])
    problems = check_expectations(trace, expects, run_kernel(vmatrace, trace))
    assert not problems, f"kernel differs from fixed trace {name!r}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", sorted(FIXED_LOCK_TRACES))
def test_fixed_lock_trace_sim(vmatrace: Path, engine: None, name: str) -> None:
    trace, _ = parse_annotated(FIXED_LOCK_TRACES[name])
    rerun = f"the trace is FIXED_LOCK_TRACES[{name!r}] in tests/differential/fixed_lock_traces.py"
    _compare(vmatrace, trace, None, rerun)


def test_ci_lock_op_count() -> None:
    assert CI_LOCK_OPS >= 2000


@pytest.mark.stress
@pytest.mark.timeout(int(STRESS_SECONDS) + 600)
def test_lock_stress(vmatrace: Path, engine: None, request: pytest.FixtureRequest) -> None:
    """Long randomised run of lock traces (plain, with touches, at the boundary, in
    turn), seeds from 20,000 up, for VMASIM_STRESS_SECONDS. Only with ``-m stress``."""
    if "stress" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long run: select it with -m stress")
    began = time.monotonic()
    deadline = began + STRESS_SECONDS
    seed = 20_000
    ops = 0
    while time.monotonic() < deadline:
        kind = seed % 3
        if kind == 2:
            trace = generate_locks(seed, BOUNDARY_OPS, pages=BOUNDARY_PAGES, boundary=True)
            flag = "--boundary"
        else:
            trace = generate_locks(seed, 300, touches=bool(kind))
            flag = "--locks --touches" if kind else "--locks"
        _compare(vmatrace, trace, seed, _rerun(seed, len(trace.ops), flag, "test_lock_stress"))
        ops += len(trace.ops)
        seed += 1
    print(
        f"lock stress: {seed - 20_000} traces (seeds 20000-{seed - 1}), {ops} compared ops, "
        f"{time.monotonic() - began:.0f} s, no mismatch"
    )
