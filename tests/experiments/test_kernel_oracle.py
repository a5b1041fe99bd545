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
    result = kernel_oracle.run(0.3, ks=(0, 1))
    readers = [row["reader"] for row in result["rows"]]
    assert readers == ["none", "mmap_lock (smaps)", "per_vma (maps)"]
    for row in result["rows"]:
        assert row["ops"] > 100, row
        assert 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"], row
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
