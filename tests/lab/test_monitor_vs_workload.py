"""``monitor-vs-workload`` at small scale: orderings and modelled lower bounds only.

As in test_experiments.py, nothing here depends on how fast the host is: the 6.18
reader's page walk is a modelled ``time.sleep`` held under ``mmap_lock``, which a busy
host can lengthen but never shorten, so the mapper's wait for it is at least the part
of the walk left when it queued; and the per-VMA reader never holds ``mmap_lock``, so
the mapper's waits on it come from the workload's own writers, never from a walk (the
lock waits the profile records name who held the lock, doing what).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from core.maps_reader import SmapsReader, read_smaps_rollup
from lab import Cancelled, RunContext, monitor_vs_workload
from lab.common import switch_interval
from lab.profiles import CostModel
from lab.runner import EXPERIMENTS, render_csv, run_experiment
from lab.smaps_cost import HOST_SMAPS_COST, PROCESS_EXPORTER_BYTES, SmapsCost, apply_smaps_cost
from tests.concurrency import spawn

pytestmark = pytest.mark.timeout(180)

GIB = 1 << 30
SMALL, BIG = 4 * GIB, 32 * GIB  # walks of ~50 ms and ~400 ms at the host's page cost


def _one(rows: list[dict[str, Any]], **match: object) -> dict[str, Any]:
    (row,) = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return row


def test_the_618_reader_stalls_the_mapper_for_the_walk_and_the_per_vma_reader_does_not() -> None:
    ctx = RunContext(seed=3, quick=True, cell_s=1.5)
    with switch_interval():
        result = monitor_vs_workload.run(
            ctx, sizes=(SMALL, BIG), files=("smaps_rollup",), tracked_pages=512, interval_s=0.2
        )
    assert len(result.rows) == 6
    lock_big = _one(result.rows, heap_bytes=BIG, reader="mmap_lock")
    lock_small = _one(result.rows, heap_bytes=SMALL, reader="mmap_lock")
    vma_big = _one(result.rows, heap_bytes=BIG, reader="per_vma")
    walk_s = HOST_SMAPS_COST.page_s * BIG / 4096
    for row in (lock_big, vma_big):
        assert row["scans"] >= 1
        # Every scan walks the whole heap, scaled: the tracked pages stand for BIG bytes.
        assert row["pages_per_scan"] >= BIG // 4096
        assert row["modelled_walk_ms"] >= walk_s * 1e3 - 0.01  # rounded to the µs
    # 6.18: the mapper queued during a walk waited for the rest of it, held by the
    # monitor, holding the lock (its mmap and munmap come back to back, ~ms apart;
    # what the monitor was doing is as of the moment the mapper queued: perhaps still
    # waking up with the lock granted).
    # On a loaded machine the very longest wait may be behind a faulter that took
    # mmap_lock (one was seen): the claim is that a walk-long wait behind the monitor
    # is among the longest.
    waits = result.diagnostics["32 GiB smaps_rollup mmap_lock"]["mapper_longest_waits"]
    behind_walk = [
        w
        for w in waits
        if w["lock"] == "mmap_lock"
        and w["wait_ms"] >= 0.5 * walk_s * 1e3
        and "monitor" in [h.split(":")[0] for h in w["holders"]]
    ]
    assert behind_walk, waits
    assert lock_big["stall_per_scan_ms"] >= 0.5 * walk_s * 1e3
    assert lock_big["stall_per_scan_ms"] > lock_small["stall_per_scan_ms"]
    assert lock_big["munmap_max_ms"] >= 0.5 * walk_s * 1e3 or lock_big["mmap_max_ms"] >= (
        0.5 * walk_s * 1e3
    )
    # Per-VMA: the monitor never held mmap_lock while the mapper waited for it (a
    # vma_start_write wait lists every thread's activity, not holders: the mapper may
    # wait for the monitor's read lock on the mapper's own one-page VMA, never for the
    # heap's walk, which it does not write).
    diag = result.diagnostics["32 GiB smaps_rollup per_vma"]
    for wait in diag["mapper_longest_waits"]:
        if wait["lock"] == "mmap_lock":
            assert not any(h.startswith("monitor") for h in wait["holders"]), wait
    names = {t.name for t in result.targets}
    assert any("stall per scan 32 GiB / 4 GiB" in n for n in names)
    assert any("scaled to process-exporter's Rss 210410600 kB" in n for n in names)
    assert sum("per_vma" in n and "p99 / no monitor" in n for n in names) == 4
    assert render_csv(result).count("\n") >= 6


def test_smaps_walks_a_block_that_does_not_fit_again() -> None:
    """smaps, unlike the rollup, may walk the heap twice in one scan: its block is
    walked, does not fit the rest of the 4 KiB chunk, and is walked again by the next
    read() (seq_read_iter discards an overflowing record). Seen on the host too: the
    smaps scan of a 2 GiB heap took about twice the rollup's."""
    ctx = RunContext(seed=1, quick=True, cell_s=0.6)
    with switch_interval():
        row = monitor_vs_workload.run_cell(
            ctx, SMALL, 256, "smaps", "per_vma", interval_s=0.1, seconds=0.6
        )
    row.pop("_diag")
    assert row["scans"] >= 1 and row["file"] == "smaps"
    assert SMALL // 4096 <= row["pages_per_scan"] <= 2 * SMALL // 4096 + 4096


def test_registered_and_targets_read_the_rows() -> None:
    assert EXPERIMENTS["monitor-vs-workload"].module is monitor_vs_workload
    half = PROCESS_EXPORTER_BYTES // 2
    rows = [
        {"reader": "none", "file": "none", "heap_bytes": GIB, "heap": "1 GiB", "scans": 0,
         "mmap_p99_ms": 1.0, "munmap_p99_ms": 1.0, "stall_per_scan_ms": 0.0},
        {"reader": "mmap_lock", "file": "smaps_rollup", "heap_bytes": GIB, "heap": "1 GiB",
         "scans": 3, "stall_per_scan_ms": 20.0},
        {"reader": "mmap_lock", "file": "smaps_rollup", "heap_bytes": half, "heap": "100 GB",
         "scans": 1, "stall_per_scan_ms": 2000.0},
        {"reader": "per_vma", "file": "smaps_rollup", "heap_bytes": GIB, "heap": "1 GiB",
         "scans": 3, "mmap_p99_ms": 2.0, "munmap_p99_ms": 1.2},
    ]  # fmt: skip
    got = {t.name.split(" (")[0]: (t.value, t.passed) for t in monitor_vs_workload.targets(rows)}
    # 100x the stall for 100.3x the size; 2 s at half of process-exporter's Rss is 4 s
    # at all of it: 0.898 of 4.456 s.
    assert got == {
        "smaps_rollup mmap_lock: stall per scan 100 GB / 1 GiB": (100.0, True),
        "smaps_rollup mmap_lock: stall per scan scaled to process-exporter's Rss 210410600 kB "
        "/ its 4.456 s": (0.898, True),
        "smaps_rollup per_vma 1 GiB: mmap p99 / no monitor": (2.0, False),
        "smaps_rollup per_vma 1 GiB: munmap p99 / no monitor": (1.2, True),
    }


def test_a_cancelled_run_ends_inside_a_long_cell() -> None:
    """A job cancelled during a 600 s cell stops in that cell (run_threads polls the
    run's cancellation), not at the cell's end: the REST job runner relies on it."""
    cancel = threading.Event()
    started = threading.Event()

    def progress(done: int, total: int, label: str) -> None:
        started.set()

    runner = spawn(
        functools.partial(
            run_experiment,
            "monitor-vs-workload",
            quick=True,
            cell_s=600,
            progress=progress,
            cancel=cancel,
        )
    )
    assert started.wait(60)
    cancel.set()
    with pytest.raises(Cancelled):
        runner.result(timeout=120)


def test_process_exporter_size_is_the_resident_size_its_issue_measured() -> None:
    # process-exporter #246: "Rss: 210410600 kB" in the smaps_rollup that took 4.456 s.
    assert PROCESS_EXPORTER_BYTES == 210_410_600 * 1024
    assert PROCESS_EXPORTER_BYTES // 4096 == 52_602_650
    assert monitor_vs_workload.FULL_SIZES[-1] == PROCESS_EXPORTER_BYTES
    assert monitor_vs_workload._size_name(PROCESS_EXPORTER_BYTES) == "200.7 GiB"


@pytest.mark.parametrize("reader", ["mmap_lock", "per_vma"])
def test_only_the_heap_is_scaled(reader: SmapsReader) -> None:
    """The heap's tracked pages stand for ``page_scale`` host pages each; the workload's
    own small VMAs (the faulter's region) are charged the pages they hold."""
    proc, heap, _, fault_region = monitor_vs_workload._setup(16)
    for i in range(3):
        proc.mm.fault(fault_region + i * 4096, "write")
    tiny = SmapsCost(page_s=1e-12, vma_s=0.0, block_s=0.0, chunk_s=0.0)
    locking = apply_smaps_cost(proc, CostModel(), tiny, 1000.0, scaled_start=heap)
    read_smaps_rollup(proc.mm, reader)
    walked = sorted(p for p, _ in locking.walks if p)
    assert walked == [3, 16 * 1000], locking.walks


def test_the_faulter_never_maps_into_the_mappers_hole() -> None:
    """A 64-page mmap(NULL) made after the mapper's 64-page hole is punched lands in
    it (top-down search): the mapper's MAP_FIXED pages then split the faulter's VMA and
    punch holes its faults hit. The faulter's region is mapped first and remapped at
    its own address."""
    proc, _, base, fault_region = monitor_vs_workload._setup(16)
    mm = proc.mm
    end = base + monitor_vs_workload.MAPPER_PAGES * 4096
    assert fault_region + monitor_vs_workload.FAULT_PAGES * 4096 <= base or fault_region >= end
    assert mm.vma_lookup(base) is None and mm.vma_lookup(end - 4096) is None  # empty
    assert mm.vma_lookup(base - 4096) is not None  # between two guard pages
    assert mm.vma_lookup(end) is not None


def test_without_a_monitor_nothing_read_locks_the_mappers_vma() -> None:
    """The mapper's one-page VMA is its own: with no monitor its munmap never waits in
    vma_start_write (no fault touches it), and every fault of the faulter succeeds
    (run_cell raises otherwise)."""
    ctx = RunContext(seed=1, quick=True, cell_s=0.6)
    with switch_interval():
        row = monitor_vs_workload.run_cell(
            ctx, SMALL, 256, "smaps_rollup", None, interval_s=0.1, seconds=0.6
        )
    waits = row.pop("_diag")["mapper_waits"]["by_lock"]
    assert row["mapper_ops_per_s"] > 0 and row["faults_per_s"] > 0
    assert "vma_start_write" not in waits, waits


def test_merge_runs_pools_the_samples_and_keeps_each_runs_p99() -> None:
    def run(p99: float, mx: float, ops: float, scans: int, stall: float) -> dict[str, Any]:
        row: dict[str, Any] = {"heap": "2 GiB", "heap_bytes": 2 * GIB, "tracked_pages": 8,
                               "file": "smaps", "reader": "per_vma"}  # fmt: skip
        for op in ("mmap", "munmap", "fault"):
            row |= {f"{op}_p50_ms": 0.4, f"{op}_p99_ms": p99, f"{op}_max_ms": mx}
        return row | {"mapper_ops_per_s": ops, "faults_per_s": 2 * ops, "faults_retried": 3,
                      "scans": scans, "pages_per_scan": 10, "modelled_walk_ms": 1.0,
                      "stall_per_scan_ms": stall, "vma_write_waits": 2,
                      "vma_write_wait_ms": 0.25}  # fmt: skip

    # 300 samples: 1 ms to 300 ms. Nearest rank: p50 is the 150th, p99 the 297th.
    pooled = {op: [i / 1e3 for i in range(300, 0, -1)] for op in ("mmap", "munmap", "fault")}
    rows = [run(5.0, 9.0, 700, 8, 1.0), run(1.0, 40.0, 500, 6, 0.5), run(2.0, 7.0, 900, 6, 0.0)]
    row = monitor_vs_workload.merge_runs(rows, pooled)
    assert row["runs"] == 3
    assert row["mmap_p50_ms"] == 150.0 and row["mmap_p99_ms"] == 297.0
    assert row["mmap_p99_runs_ms"] == [5.0, 1.0, 2.0] and row["mmap_p99_median_ms"] == 2.0
    assert row["munmap_max_ms"] == 40.0 and row["mapper_ops_per_s"] == 700
    # (8 x 1.0 + 6 x 0.5 + 6 x 0.0) ms of stall over 20 scans
    assert row["scans"] == 20 and row["stall_per_scan_ms"] == 0.55
    assert row["vma_write_waits"] == 6 and row["vma_write_wait_ms"] == 0.75


def test_targets_give_the_verdict_on_the_pooled_p99_with_the_spread_by_round() -> None:
    base = {"reader": "none", "file": "none", "heap_bytes": GIB, "heap": "1 GiB", "scans": 0,
            "mmap_p99_ms": 2.0, "munmap_p99_ms": 2.0, "mmap_p99_runs_ms": [1.0, 2.0, 8.0],
            "munmap_p99_runs_ms": [2.0, 2.0, 2.0]}  # fmt: skip
    vma = {"reader": "per_vma", "file": "smaps", "heap_bytes": GIB, "heap": "1 GiB", "scans": 3,
           "mmap_p99_ms": 3.0, "munmap_p99_ms": 2.0, "mmap_p99_runs_ms": [3.0, 4.0, 2.0],
           "munmap_p99_runs_ms": [2.0, 1.0, 4.0]}  # fmt: skip
    got = {t.name: (t.value, t.passed) for t in monitor_vs_workload.targets([base, vma])}
    assert got == {
        "smaps per_vma 1 GiB: mmap p99 / no monitor (3 runs pooled; by round 0.25 to 3.00)":
            (1.5, True),
        "smaps per_vma 1 GiB: munmap p99 / no monitor (3 runs pooled; by round 0.50 to 2.00)":
            (1.0, True),
    }  # fmt: skip


def test_repetitions_run_round_robin() -> None:
    """Round k runs every cell once before round k + 1 starts, so a no-monitor cell and
    the monitor cells compared with it run side by side in every round."""
    labels: list[str] = []
    ctx = RunContext(seed=1, quick=True, cell_s=0.2, progress=lambda d, t, lb: labels.append(lb))
    with switch_interval():
        result = monitor_vs_workload.run(
            ctx, sizes=(SMALL,), files=("smaps_rollup",), tracked_pages=64, interval_s=0.05,
            repeat=2,
        )  # fmt: skip
    cells = ["4 GiB none", "4 GiB smaps_rollup mmap_lock", "4 GiB smaps_rollup per_vma"]
    assert labels[1:] == [f"{c} (1/2)" for c in cells] + [f"{c} (2/2)" for c in cells]
    assert [r["runs"] for r in result.rows] == [2, 2, 2]
    assert result.params["repeat"] == 2
