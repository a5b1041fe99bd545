"""The proc-vs-map oracle builds and runs on the host kernel (Linux with a C compiler);
its command line shows progress, rounds what it prints and says where it wrote."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from lab import kernel_oracle

needs_kernel = pytest.mark.skipif(
    sys.platform != "linux" or not any(shutil.which(c) for c in ("cc", "gcc", "clang")),
    reason="needs Linux /proc and a C compiler",
)
# A number with a binary floating-point tail (three or more decimals): never printed.
LONG_FLOAT = re.compile(r"\d\.\d{3,}")


@pytest.mark.kernel
@needs_kernel
def test_oracle_measures_the_mapper_with_and_without_scanners() -> None:
    # Seeds 2 and 3 leave the region's first page unmapped: before the guard pages a
    # scanner's stack could land there and the mapper mapped over it (SIGSEGV).
    calls: list[tuple[int, int, str]] = []
    result = kernel_oracle.run(
        0.2, ks=(0, 1), seed=2, runs=2, progress=lambda d, t, s: calls.append((d, t, s))
    )
    readers = [row["reader"] for row in result["rows"]]
    assert readers == ["none", "mmap_lock (smaps)", "per_vma (maps)"]
    for row in result["rows"]:
        assert row["ops"] > 100, row
        assert 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"], row
        assert len(row["run_max_us"]) == 2 and max(row["run_max_us"]) == row["max_us"]
        assert min(row["run_max_us"]) <= row["run_max_p50_us"] <= row["max_us"]
    assert result["rows"][0]["reads"] == 0
    assert result["kernel"]
    # Progress: once before the build, then after each of 3 cells x 2 runs.
    assert [(d, t) for d, t, _ in calls] == [(i, 6) for i in range(7)]
    assert calls[0][2] == "building proc_vs_map.c"
    assert calls[-1][2] == "maps K=1 run 2/2"


@pytest.mark.kernel
@needs_kernel
def test_command_line_shows_progress_rounds_and_names_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    assert kernel_oracle.main(["--seconds", "0.1", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    written = out_dir / kernel_oracle.OUTPUT
    assert captured.out.endswith(f"wrote {written}\n")
    data = json.loads(written.read_text())
    assert len(data["rows"]) == 5
    assert captured.out.count(" K=") == 5 and not LONG_FLOAT.search(captured.out), captured.out
    # The progress bar: stderr, one line, ending at 5/5.
    assert "[" in captured.err and " 5/5 " in captured.err and captured.err.endswith(" s\n")


def _result(**row: Any) -> dict[str, Any]:
    base = {
        "reader": "per_vma (maps)",
        "k": 10,
        "ops": 806649,
        "p50_us": 1.9500000000000002,
        "p99_us": 9.600000000000001,
        "max_us": 33400.0,
        "run_max_p50_us": 32399.999999999996,
        "reads": 42,
    }
    return {
        "kernel": "6.18.0",
        "cpus": 2,
        "loadavg_at_end": (1.2392578125, 0.98046875, 0.7),
        "seconds_per_cell": 1.0,
        "runs_per_cell": 6,
        "rows": [{**base, **row}],
    }


def test_table_rounds_what_it_prints() -> None:
    text = kernel_oracle.format_table(_result())
    header, line = text.splitlines()
    assert header == "kernel 6.18.0, 2 CPUs, load 1.24 0.98 0.70 at the end; 6 x 1 s per cell"
    assert re.search(r"p50= *1\.95 us p99= *9\.6 us max= *33400\.0 us", line), line
    assert re.search(r"median run max= *32400\.0 us reads=42$", line), line
    assert not LONG_FLOAT.search(text)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1.9500000000000002, "1.95"), (2.0, "2.0"), (0.05, "0.05"), (137.1, "137.1"), (0, "0.0")],
)
def test_fmt_us_keeps_the_helpers_precision(value: float, shown: str) -> None:
    assert kernel_oracle.fmt_us(value) == shown


def test_parse_reads_the_helpers_line() -> None:
    line = "file=maps k=10 ops=5 p50_us=1.5 p99_us=2.0 max_us=9.0 reads=3"
    assert kernel_oracle.parse(line) == {
        "file": "maps",
        "k": 10,
        "ops": 5,
        "p50_us": 1.5,
        "p99_us": 2.0,
        "max_us": 9.0,
        "reads": 3,
    }
