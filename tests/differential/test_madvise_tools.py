"""The madvise/fork additions to the differential tooling (no kernel needed)."""

from __future__ import annotations

import pytest

from tests.differential.compare import Mismatch
from tests.differential.madvise_traces import generate_madvise
from tests.differential.realkernel import Step
from tests.differential.simrun import run_sim
from tests.differential.test_kernel_diff import _only_referenced_differs
from tests.differential.trace import (
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    Op,
    TraceSyntaxError,
    parse_op,
    parse_trace,
)


@pytest.mark.parametrize(
    "line",
    [
        "madvise 0x100000000000 0x1000 dontneed",
        "madvise 0x100000000000 0x1000 free drain",
        "madvise 0x100000000000 0x1000 77",
        "fork child",
        "fork parent",
        "drain",
        "fill 3",
    ],
)
def test_new_ops_round_trip(line: str) -> None:
    assert str(parse_op(line)) == line


@pytest.mark.parametrize(
    "line", ["fork sibling", "madvise 0x1000 0x1000", "madvise 0x1000 0x1000 free later"]
)
def test_malformed_new_ops_are_refused(line: str) -> None:
    with pytest.raises(TraceSyntaxError):
        parse_op(line)


@pytest.mark.parametrize("header", ["smaps all", "smaps all files"])
def test_smaps_all_header_round_trips(header: str) -> None:
    trace = parse_trace(f"arena 0x100000000000 16\n{header}\ndrain\n")
    assert trace.smaps_all and trace.smaps_files == header.endswith("files")
    assert trace.text().splitlines()[1] == header
    assert trace.prefix(0).text().splitlines()[1] == header


def test_generator_is_deterministic_and_drains_after_free_and_cold() -> None:
    a, b = generate_madvise(3, 200), generate_madvise(3, 200)
    assert a.text() == b.text()
    frees = [op for op in a.ops if op.kind == "madvise" and op.args[2] in (8, 20)]
    assert frees and all("drain" in op.args for op in frees)


@pytest.mark.parametrize("seed", range(6))
def test_boundary_traces_map_nothing_outside_the_arena(seed: int) -> None:
    trace = generate_madvise(seed, 80, boundary=True)
    assert [op.kind for op in trace.ops].count("fill") == 1
    for op in trace.ops:
        if op.kind == "mmap":
            assert op.ints()[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE), op
        elif op.kind == "mremap":
            flags = op.ints()[3]
            assert not flags & MREMAP_MAYMOVE or flags & MREMAP_FIXED, op


def test_simulated_fill_leaves_the_requested_headroom() -> None:
    trace = parse_trace(
        "arena 0x100000000000 16\n"
        "mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0\n"
        "fill 1\n"
        "madvise 0x100000001000 0x1000 random\n"  # two splits: one too many
    )
    results = [step.result for step in run_sim(trace).steps]
    assert results == ["= 0x100000000000", "= 0", "! EAGAIN"]


@pytest.mark.parametrize(
    ("sim_line", "sim_result", "retried"),
    [
        ("~ 1-2 Rss=4 Referenced=0 Anonymous=4", "= 0", True),
        ("~ 1-2 Rss=0 Referenced=0 Anonymous=4", "= 0", False),  # Rss differs too
        ("~ 1-2 Rss=4 Referenced=4 Anonymous=4", "! EINVAL", False),  # the result differs
    ],
)
def test_only_a_referenced_difference_asks_the_kernel_again(
    sim_line: str, sim_result: str, retried: bool
) -> None:
    """_compare re-runs the kernel only for a difference in smaps Referenced (the host
    sets PG_referenced on its own now and then), never for any other field."""
    kernel_maps = ["1-2 rw-p", "~ 1-2 Rss=4 Referenced=4 Anonymous=4"]
    mismatch = Mismatch(
        0,
        Op("drain", ()),
        Step("= 0", ()),
        Step(sim_result, ()),
        "= 0",
        sim_result,
        kernel_maps,
        ["1-2 rw-p", sim_line],
        [],
    )
    assert _only_referenced_differs(mismatch) is retried
