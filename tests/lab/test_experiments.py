"""Each experiment at small scale, checking the issue's targets with generous bounds.

The bounds are looser than the issue's (which the full runs in docs/experiments.md are
held to) because a test runs each cell for a fraction of a second, on a shared CI
machine whose own scheduling noise lands in every latency; each test asserts the
*direction and rough size* of the effect, on statistics that noise moves least.

Where the effect is a lock wait the cost model causes, the test reads it from the lock
waits the profile records (who waited, how long, and who held the lock doing what),
not from throughput or wall-clock latency percentiles: a busy host slows every thread
(a 0.5 s cell of the mapper alone then completes 35 operations instead of 400) and
adds its own delays to latencies with or without the effect, but it cannot make a
scanner hold ``mmap_lock``, and a modelled wait (a ``time.sleep`` of the cost model,
held under the lock) is never shorter than modelled.
"""

from __future__ import annotations

from typing import Any

import pytest

from lab import (
    RunContext,
    fault_scaling,
    priority_inversion,
    proc_vs_map,
    reader_modes,
)
from lab.common import switch_interval

#: CPU-heavy (real threads for wall-clock cells, or a browser): generous for a machine
#: other work keeps busy, where this module's tests took up to a minute each.
pytestmark = pytest.mark.timeout(180)


def _rows(result: Any, **match: object) -> list[dict[str, Any]]:
    return [r for r in result.rows if all(r[k] == v for k, v in match.items())]


def _waited_ms(summary: dict[str, Any]) -> float:
    """Total milliseconds of the long lock waits in a ``stall_summary`` diagnostic."""
    return float(sum(lock["total_ms"] for lock in summary["by_lock"].values()))


def _one(result: Any, **match: object) -> dict[str, Any]:
    rows = _rows(result, **match)
    assert len(rows) == 1, (match, result.rows)
    return rows[0]


def test_proc_vs_map_scanners_stall_the_mapper_under_mmap_lock_only() -> None:
    ctx = RunContext(seed=7, quick=True, cell_s=0.5)
    with switch_interval():
        result = proc_vs_map.run(ctx, readers=("mmap_lock", "per_vma"), ks=(0, 1, 10))
    base = _one(result, scanners=0)
    lock1 = _one(result, reader="mmap_lock", scanners=1)
    lock10 = _one(result, reader="mmap_lock", scanners=10)
    vma10 = _one(result, reader="per_vma", scanners=10)
    assert base["n"] >= 10 and lock1["n"] >= 1 and lock10["n"] >= 1
    preempt_ms = ctx.cost.preempt_s * 1e3
    # Ten scanners granted mmap_lock together get the CPU one after another, holding it:
    # the writer waits for the last, preempt_s * 10. A half-second cell completes only
    # 5 to 10 ops at K=10, so their median swings with where the cell starts (seen:
    # 0.6 to 202 ms), and a busy host moves throughput (3 to 28 ops at K=10) and the
    # median without scanners (0.5 to 5.4 ms); the modelled waits only grow with it.
    # Why: the slowest K=10 op waited on mmap_lock, held by scanners only. (Compared on
    # lock waits, which host noise does not make: a maximum may be one host hiccup,
    # seen 363 ms at K=1.)
    why = result.diagnostics["mmap_lock K=10"]
    assert why["slowest_op_waited_on"] == "mmap_lock", why
    assert why["slowest_op_writer_wait_ms"] >= 0.5 * why["slowest_op_ms"], why
    (longest, *_) = why["longest_waits"]
    assert longest["holders"] and all(h.startswith("scanner-") for h in longest["holders"])
    assert longest["wait_ms"] >= 5 * preempt_ms, longest  # a queue of granted scanners
    # One scanner makes the writer wait one preemption at least. (Not compared with
    # K=10: a busy host lengthens a modelled wait by its own delay of the sleeper, seen
    # 323 ms for one preempt_s at K=1.)
    (longest1, *_) = result.diagnostics["mmap_lock K=1"]["longest_waits"]
    assert longest1["holders"] and all(h.startswith("scanner-0: ") for h in longest1["holders"])
    assert longest1["wait_ms"] >= preempt_ms, longest1
    # The per-VMA reader stalls the writer only on its mmap_lock fallbacks, or when a
    # turn ends holding the one VMA it writes: the writer's long waits add up to less
    # (3-20x less seen). (Issue: 10x on the maxima, in the full runs. A single wait is
    # no measure in a quick run on a busy host: there, slowed scanners fall back
    # together and queue, seen 163 ms against 207 ms under mmap_lock.)
    lock_waited = _waited_ms(why["waits_over_5ms"])
    vma_waited = _waited_ms(result.diagnostics["per_vma K=10"]["waits_over_5ms"])
    assert vma_waited < lock_waited, (vma_waited, lock_waited)
    assert vma10["torn_lines"] > 0 and lock10["torn_lines"] == 0
    assert {t.name for t in result.targets} == {
        "mmap_lock max K=10 / K=0 (median of run maxima)",
        "mmap_lock max K=10 / K=0 (pooled maximum)",
        "max K=10: mmap_lock / per_vma (median of run maxima)",
        "max K=10: mmap_lock / per_vma (pooled maximum)",
    }
    # One run per cell in a quick run: its maximum is the median of one.
    assert all(r["runs"] == 1 and r["run_max_p50_ms"] == r["max_ms"] for r in result.rows)


def test_proc_vs_map_reports_seqcount_retries() -> None:
    ctx = RunContext(seed=7, quick=True, cell_s=0.4)
    with switch_interval():
        result = proc_vs_map.run(ctx, readers=("seqcount",), ks=(1,))
    row = _one(result, reader="seqcount", scanners=1)
    # The mapper changes the layout continuously: speculative walks are discarded.
    assert row["seqcount_retries"] > 0, row
    target = result.target("seqcount retries K=1")
    assert target.value == row["seqcount_retries"] and target.passed


def test_priority_inversion_only_under_mmap_lock() -> None:
    ctx = RunContext(seed=3, quick=True, cell_s=0.6)
    with switch_interval():
        result = priority_inversion.run(ctx)
    ratio = {t.name.split()[0]: t.value for t in result.targets}
    assert set(ratio) == {"mmap_lock", "seqcount", "per_vma"}

    # Issue: p99 >= 10x under mmap_lock, <= 1.5x for the others (the full runs). In a
    # quick run on a busy host the host's own delays of the faulter (10-20 ms, in 1-3%
    # of its faults, monitor or not) set both p99s, so the test reads the mechanism from
    # the faulter's lock waits instead. Under mmap_lock its longest waits are behind the
    # monitor holding mmap_lock (granted it, waiting for a CPU: through the writer queued
    # between them, FIFO); with the other readers the monitor holds nothing a fault
    # waits for, and the faulter hardly waits at all.
    def rounds(reader: str, monitor: bool) -> list[dict[str, Any]]:
        prefix = f"{reader} monitor={monitor} round"
        found = [d for k, d in result.diagnostics.items() if k.startswith(prefix)]
        assert found, prefix
        return found

    def behind_monitor(reader: str) -> int:
        """The faulter's longest waits (two per round) in which the monitor held a lock."""
        return sum(
            any(h.startswith("monitor: ") for h in wait["holders"])
            for d in rounds(reader, True)
            for wait in d["faulter"]
        )

    def waited_ms(reader: str) -> float:
        return sum(_waited_ms(d["faulter_waits_over_5ms"]) for d in rounds(reader, True))

    assert behind_monitor("mmap_lock") >= 2, rounds("mmap_lock", True)
    assert behind_monitor("seqcount") == behind_monitor("per_vma") == 0, result.diagnostics
    inverted = waited_ms("mmap_lock")
    assert inverted >= 2 * ctx.cost.preempt_s * 1e3, rounds("mmap_lock", True)
    assert 2 * (waited_ms("seqcount") + waited_ms("per_vma")) <= inverted
    lock = _one(result, reader="mmap_lock", monitor=True)
    assert lock["mmap_lock_share"] == 1.0 and lock["preemptions"] > 0
    assert _one(result, reader="per_vma", monitor=True)["mmap_lock_share"] < 0.05


def test_fault_scaling_per_vma_beats_mmap_lock_with_a_writer() -> None:
    ctx = RunContext(seed=5, quick=True, cell_s=0.8)
    with switch_interval():
        result = fault_scaling.run(ctx, threads=(4,), writers=(True,), rounds=2)
    lock = _one(result, profile="mmap_lock")
    vma = _one(result, profile="per_vma")
    assert lock["mmap_lock_share"] == 1.0
    assert vma["mmap_lock_share"] < 0.1  # first fault per region: anon_vma under mmap_lock
    (target,) = result.targets
    assert target.value == pytest.approx(vma["faults_per_s"] / lock["faults_per_s"], rel=0.01)
    # Throughput is wall-clock: on a machine loaded by other work the quick run's ratio
    # fell to 1.17 (it is 2.2-3.9 quiet). The suite checks the direction; the figure
    # itself (issue: >= 2 on full runs) is the experiment's record, docs/experiments.md.
    assert target.value > 1.0, result.rows


def test_reader_modes_trade_retries_for_tearing() -> None:
    ctx = RunContext(seed=2, quick=True, cell_s=0.2)
    with switch_interval():
        result = reader_modes.run(ctx, sizes=(100, 1000), rates=(0, 100))
    for n in (100, 1000):
        quiet_seq = _one(result, vmas=n, writer_rate=0, reader="seqcount")
        quiet_vma = _one(result, vmas=n, writer_rate=0, reader="per_vma")
        assert quiet_seq["attempts_per_read"] == 1.0 and quiet_seq["fallback_share"] == 0.0
        assert quiet_vma["torn_lines_per_read"] == 0.0 and quiet_vma["fallback_share"] == 0.0
        # The walks are paced (a sleep lasts at least what it asked for): n lines take
        # at least n paces, less the debt a walk may leave unpaid at its end.
        least_ms = (n * reader_modes.LINE_PACE_S - reader_modes.PACE_LUMP_S) * 1e3
        assert min(quiet_seq["read_ms_p50"], quiet_vma["read_ms_p50"]) >= least_ms, result.rows
    busy_seq = _one(result, vmas=1000, writer_rate=100, reader="seqcount")
    busy_vma = _one(result, vmas=1000, writer_rate=100, reader="per_vma")
    small_seq = _one(result, vmas=100, writer_rate=100, reader="seqcount")
    # Whole-walk retries grow with the walk's length (a 1,000-line walk spans about two
    # of the writer's cycles at 100/s, a 100-line one a fifth of one); the per-VMA walk
    # never retries.
    assert busy_seq["attempts_per_read"] > small_seq["attempts_per_read"], result.rows
    assert busy_vma["attempts_per_read"] == 1.0
    assert busy_vma["torn_lines_per_read"] > 0, result.rows


def _paced(cost: Any, pace: float) -> tuple[Any, Any, list[float]]:
    """A process of three VMAs under :class:`reader_modes.PacedLocking`, its sleeps
    recorded (and slept)."""
    import time

    from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel
    from lab.profiles import install

    proc = Kernel().spawn()
    for i in range(3):  # alternating protections: three VMAs
        prot = PROT_READ | (PROT_WRITE if i % 2 else 0)
        proc.mm.mmap(0x10_0000_0000 + i * PAGE_SIZE, PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS)
    locking = reader_modes.PacedLocking(cost, pace)
    install(proc, locking)
    charged: list[float] = []

    def sleep(seconds: float) -> None:
        charged.append(seconds)
        time.sleep(seconds)

    locking._sleep = sleep
    return proc, locking, charged


def test_paced_walk_lasts_its_lines_whatever_the_engine_spent() -> None:
    """Each line is due one pace after the one before, from the walk's start, the
    engine's own time counted in: the charges add up to less than the paces,
    and (a sleep is never shorter than asked) the walk lasts at least the paces less
    the debt it may leave unpaid."""
    import time

    from core.maps_reader import read_maps
    from lab import CostModel

    pace = 0.005
    proc, locking, charged = _paced(CostModel(), pace)
    lines = len(proc.mm.vmas())
    for _ in range(2):  # the second walk starts afresh after the idle time between
        charged.clear()
        time.sleep(0.01)
        t0 = time.perf_counter()
        locking.walk_started()
        snap = read_maps(proc.mm, "per_vma")
        took = time.perf_counter() - t0
        assert len(snap.lines) == lines + 1  # and the gate line, which is not a VMA
        assert charged and sum(charged) < lines * pace, charged
        assert took >= lines * pace - reader_modes.PACE_LUMP_S, (took, charged)


def test_paced_syscall_holds_the_write_lock_for_syscall_s_in_all() -> None:
    """The writer's charge is what is left of ``syscall_s`` once the engine's work
    under ``mmap_lock`` for write is counted: positive, and less than all of it."""
    from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ
    from lab import CostModel

    proc, _locking, charged = _paced(CostModel(syscall_s=1.0), 0.0)
    proc.mm.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    assert len(charged) == 1 and 0.5 < charged[0] < 1.0, charged


def test_cells_report_progress_and_stop_when_cancelled() -> None:
    from lab import Cancelled

    seen: list[tuple[int, int]] = []
    ctx = RunContext(seed=1, quick=True, cell_s=0.05)

    def progress(done: int, total: int, label: str) -> None:
        seen.append((done, total))
        if done == 2:
            ctx.cancel.set()

    ctx.progress = progress
    with switch_interval(), pytest.raises(Cancelled):
        reader_modes.run(ctx, sizes=(100,), rates=(0, 100))
    assert seen == [(0, 4), (1, 4), (2, 4)]
