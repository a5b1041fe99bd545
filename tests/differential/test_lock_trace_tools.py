"""Unit tests of the lock/seal/name part of the differential tooling (no kernel needed):
the trace format, the generator's promises, the annotation round trip, and the
simulator runner's ``locks`` output."""

from __future__ import annotations

import pytest

from tests.differential.annotated import annotate, check_expectations, parse_annotated
from tests.differential.fixed_lock_traces import FIXED_LOCK_TRACES
from tests.differential.realkernel import HostState
from tests.differential.simrun import run_sim
from tests.differential.trace import (
    ANON_NAMES,
    BOUNDARY_PAGES,
    LOCK_FIELDS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE,
    decode_name,
    encode_name,
    generate_locks,
    parse_op,
    parse_trace,
)


@pytest.mark.parametrize("seed", range(12))
def test_lock_traces_are_deterministic_and_round_trip(seed: int) -> None:
    for touches in (False, True):
        trace = generate_locks(seed, 200, touches=touches)
        assert trace.locks and trace.smaps == touches and len(trace.ops) == 200
        assert generate_locks(seed, 200, touches=touches).text() == trace.text()
        again = parse_trace(trace.text())
        assert again.text() == trace.text() and again.locks


def test_lock_traces_cover_every_lock_operation() -> None:
    kinds: set[str] = set()
    for seed in range(10):
        kinds |= {op.kind for op in generate_locks(seed, 200).ops}
    assert kinds >= set(LOCK_FIELDS) - {"headroom"}
    assert "headroom" not in kinds


@pytest.mark.parametrize("seed", range(8))
def test_boundary_traces_never_leave_the_arena(seed: int) -> None:
    """The real process and the simulated one must keep the same VMAs outside the arena:
    no hinted mmap, no mremap that may move out, no mlockall."""
    trace = generate_locks(seed, 120, pages=BOUNDARY_PAGES, boundary=True)
    assert not trace.locks and not trace.smaps
    assert any(op.kind == "headroom" for op in trace.ops)
    for op in trace.ops:
        assert op.kind not in ("mlockall", "munlockall"), op
        if op.kind == "mmap":
            addr, length, _prot, flags, _slot, off = op.ints()
            fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)
            errors = length == 0 or length >= 1 << 47 or off % PAGE or addr % PAGE
            assert fixed or errors or flags & 0xF == 0, op
        if op.kind == "mremap":
            old, old_len, new_len, flags, _new = op.ints()
            # Refused before any lookup: unaligned, zero or unknown; DONTUNMAP resizing.
            errors = old % PAGE or new_len == 0 or flags & ~7 or (flags & 4 and old_len != new_len)
            assert not flags & MREMAP_MAYMOVE or flags & MREMAP_FIXED or errors, op


def test_lock_op_syntax() -> None:
    for line in (
        "mlock 0x1000 0x2000",
        "mlock2 0x1000 0x2000 onfault",
        "mlock2 0x1000 0x2000 0x0",
        "munlock 0x1000 0x2000",
        "mlockall current|future|onfault",
        "munlockall",
        "mseal 0x1000 0x2000 0x1",
        "prctl_anon_name 0x1000 0x2000 heap%201",
        "memlock 4096 inf",
        "cap_ipc_lock 0",
        "headroom 3",
    ):
        assert str(parse_op(line)) == line
    assert parse_op("mlockall 3").args == (3,)
    with pytest.raises(ValueError, match="cap_ipc_lock takes 0 or 1"):
        parse_op("cap_ipc_lock 2")


@pytest.mark.parametrize("name", ANON_NAMES)
def test_anon_names_survive_the_token_encoding(name: bytes | None) -> None:
    token = encode_name(name)
    assert " " not in token and token
    decoded = decode_name(token)
    assert decoded == name or (name == b"" and decoded == b"\0")


def test_annotations_round_trip_through_the_simulator() -> None:
    """annotate() writes what parse_annotated() reads back as the same expectations."""
    text = "\n".join(
        [
            "arena 0x100000000000 64",
            "locks",
            "# a comment stays",
            "mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0",
            "mlock2 0x100000001000 0x1000 onfault",
            "mseal 0x100000003000 0x1000 0x0",
            "munmap 0x100000003000 0x1000",
            "prctl_anon_name 0x100000000000 0x1000 x",
        ]
    )
    trace = parse_trace(text)
    run = run_sim(trace, host=HostState())
    annotated = annotate(text, run, trace)
    assert "# a comment stays" in annotated and "! EPERM" in annotated
    again, expects = parse_annotated(annotated)
    assert again.text() == trace.text()
    assert check_expectations(again, expects, run) == []


def test_simulated_locks_output() -> None:
    trace = parse_trace(
        "arena 0x100000000000 64\nlocks\n"
        "mmap 0x100000000000 0x4000 rw- private|anonymous|fixed -1 0\n"
        "mlock 0x100000000000 0x2000\n"
        "mlockall future\nmmap 0 0x1000 rw- private|anonymous -1 0\n"
        "headroom 0\nmlock 0x100000003000 0x1000\n"
    )
    steps = run_sim(trace, host=HostState()).steps
    assert steps[1].maps[-3:] == (
        "@ 100000000000-100000002000 Locked=8 VmFlags=rd wr mr mw me lo ac",
        "@ 100000002000-100000004000 Locked=0 VmFlags=rd wr mr mw me ac",
        "@ VmLck=8",
    )
    # A locked mapping outside the arena is not in VmLck as compared.
    assert steps[3].maps[-1] == "@ VmLck=8"
    assert steps[5].result == "! ENOMEM"  # at the limit: the split is refused


@pytest.mark.parametrize("name", sorted(FIXED_LOCK_TRACES))
def test_fixed_lock_traces_parse(name: str) -> None:
    trace, expects = parse_annotated(FIXED_LOCK_TRACES[name])
    assert trace.ops and all(e.result is not None for e in expects)
