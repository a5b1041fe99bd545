"""The proc-vs-map oracle builds and runs on the host kernel (Linux with a C compiler)."""

from __future__ import annotations

import shutil
import sys

import pytest

from core.experiments import kernel_oracle

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(sys.platform != "linux", reason="needs Linux /proc"),
    pytest.mark.skipif(
        not any(shutil.which(c) for c in ("cc", "gcc", "clang")), reason="no C compiler"
    ),
]


def test_oracle_measures_the_mapper_with_and_without_scanners() -> None:
    # Seeds 2 and 3 leave the region's first page unmapped: before the guard pages a
    # scanner's stack could land there and the mapper mapped over it (SIGSEGV).
    result = kernel_oracle.run(0.2, ks=(0, 1), seed=2, runs=2)
    readers = [row["reader"] for row in result["rows"]]
    assert readers == ["none", "mmap_lock (smaps)", "per_vma (maps)"]
    for row in result["rows"]:
        assert row["ops"] > 100, row
        assert 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"], row
        assert len(row["run_max_us"]) == 2 and max(row["run_max_us"]) == row["max_us"]
        assert min(row["run_max_us"]) <= row["run_max_p50_us"] <= row["max_us"]
    assert result["rows"][0]["reads"] == 0
    assert result["kernel"]


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
