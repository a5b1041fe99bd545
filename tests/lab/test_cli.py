"""``python -m lab``: files written, what they record, the progress bar,
and argument errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from core.errors import InvalidArgument
from lab.__main__ import main
from lab.common import ProgressBar
from lab.runner import run_experiment

#: CPU-heavy (real threads for wall-clock cells, or a browser): generous for a machine
#: other work keeps busy, where this module's tests took up to a minute each.
pytestmark = pytest.mark.timeout(180)


def test_cli_writes_json_csv_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    code = main(
        ["fault-scaling", "--quick", "--out", str(tmp_path), "--cell-seconds", "0.05",
         "--seed", "9", "--cost", "syscall_s=0.0001", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    doc = json.loads((tmp_path / "fault-scaling.json").read_text())
    assert doc["seed"] == 9 and doc["quick"] is True
    assert doc["cost"]["syscall_s"] == 0.0001
    assert {"python", "cpus", "switch_interval_s", "sleep_floor_us"} <= set(doc["environment"])
    assert doc["environment"]["engine"] in ("compiled", "python")
    assert doc["environment"]["switch_interval_s"] == pytest.approx(1e-4)
    assert len(doc["rows"]) == 4
    text = (tmp_path / "fault-scaling.csv").read_text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert comments[:2] == ["# experiment: fault-scaling", "# seed: 9"]
    assert any(line.startswith("# cost: ") and '"syscall_s": 0.0001' in line for line in comments)
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert [r["profile"] for r in rows[:2]] == ["mmap_lock", "per_vma"]
    assert (tmp_path / "fault-scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert out.startswith("fault-scaling: ") and "cost: fault_page_s=" in out


def test_progress_bar_draws_one_line() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    bar(0, 4, "start")
    bar(2, 4, "half")
    bar(4, 4, "end")
    text = stream.getvalue()
    assert "[.........." in text and "[#####.....] 2/4 half" in text
    assert text.endswith("s\n") and text.count("\n") == 1


def test_bad_arguments_exit_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["proc-vs-map", "--cost", "zeroing_s=1"])
    assert exc.value.code == 2
    assert "unknown cost 'zeroing_s'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["no-such-experiment"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "nope"}, r"^unknown experiment 'nope'; choose one of proc-vs-map, "),
        ({"name": "reader-modes", "cell_s": 0.0}, r"^cell_s 0.0 is not a duration in"),
        ({"name": "reader-modes", "seed": "1"}, r"^seed '1' is not an integer$"),
    ],
)
def test_run_experiment_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    from core.errors import InvalidArgument

    name = kwargs.pop("name")
    with pytest.raises(InvalidArgument, match=message):
        run_experiment(name, **kwargs)  # type: ignore[arg-type]


def test_scattered_is_monitor_vs_workload_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["fault-scaling", "--scattered"])
    assert exc.value.code == 2
    assert "--scattered applies to monitor-vs-workload only" in capsys.readouterr().err
    with pytest.raises(InvalidArgument, match="scattered applies to monitor-vs-workload"):
        run_experiment("proc-vs-map", scattered=True)


def test_repeat_is_monitor_vs_workload_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["fault-scaling", "--repeat", "2"])
    assert exc.value.code == 2
    assert "--repeat applies to monitor-vs-workload only" in capsys.readouterr().err
    with pytest.raises(InvalidArgument, match="repeat applies to monitor-vs-workload"):
        run_experiment("proc-vs-map", repeat=2)
    for bad in (0, 51, True, 1.5):
        with pytest.raises(InvalidArgument, match=r"^repeat .* is not an integer in \[1, 50\]"):
            run_experiment("monitor-vs-workload", repeat=bad)  # type: ignore[arg-type]


def test_scattered_writes_its_own_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["monitor-vs-workload", "--scattered", "--quick", "--out", str(tmp_path),
         "--cell-seconds", "0.3", "--no-plot", "--no-progress", "--repeat", "2"]
    )  # fmt: skip
    assert code == 0
    assert not (tmp_path / "monitor-vs-workload.json").exists()
    doc = json.loads((tmp_path / "monitor-vs-workload-scattered.json").read_text())
    # process-exporter's size only, charged at the scattered frames' page cost.
    assert {r["heap"] for r in doc["rows"]} == {"200.7 GiB"}
    assert doc["params"]["smaps_cost"]["page_s"] == pytest.approx(64.28e-9)
    # Two runs of every cell: the row holds both runs' p99 and the pooled p99.
    assert doc["params"]["repeat"] == 2
    for row in doc["rows"]:
        assert row["runs"] == 2 and len(row["mmap_p99_runs_ms"]) == 2
        # Pooled, the p99 lies between the two runs' own.
        lo, hi = sorted(row["mmap_p99_runs_ms"])
        assert lo <= row["mmap_p99_ms"] <= hi
    for label, diag in doc["diagnostics"].items():
        assert len(diag["runs"]) == 2, label
    per_vma = [t for t in doc["targets"] if "per_vma" in t["name"]]
    assert per_vma and all("(2 runs pooled; by round " in t["name"] for t in per_vma)
    csv_text = (tmp_path / "monitor-vs-workload-scattered.csv").read_text()
    assert "mmap_p99_runs_ms" in csv_text.splitlines()[5]
