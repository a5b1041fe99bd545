"""Unit tests of the differential-test tooling (no kernel, no engine needed)."""

from __future__ import annotations

import pytest

from tests.differential.annotated import parse_annotated
from tests.differential.compare import normalise_maps, normalise_result
from tests.differential.fixed_traces import FIXED_TRACES
from tests.differential.realkernel import Step, parse_output
from tests.differential.trace import (
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MREMAP_FIXED,
    PAGE,
    TASK_SIZE,
    U64,
    Trace,
    TraceSyntaxError,
    generate,
    page_align,
    parse_op,
    parse_trace,
)


def _inside(trace: Trace, addr: int, length: int) -> bool:
    end = addr + page_align(length)
    return trace.base <= addr and end <= trace.end and page_align(length) >= length


def _arg_error(op_kind: str, addr: int, length: int) -> bool:
    """Mirrors vmatrace.c's arg_error_only() for the checks below."""
    if op_kind == "munmap":
        return addr % PAGE != 0 or length == 0 or addr > TASK_SIZE or length > TASK_SIZE - addr
    return addr % PAGE != 0 or length == 0 or (addr + page_align(length)) & U64 <= addr


@pytest.mark.parametrize("seed", range(30))
def test_generated_traces_are_deterministic_safe_and_round_trip(seed: int) -> None:
    trace = generate(seed, 300)
    assert len(trace.ops) == 300
    assert generate(seed, 300).text() == trace.text()
    assert parse_trace(trace.text()).text() == trace.text()
    for op in trace.ops:
        if op.kind == "mmap":
            addr, length, _prot, flags, _slot, off = op.ints()
            if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) and addr % PAGE == 0 and off % PAGE == 0:
                assert length == 0 or length > TASK_SIZE or _inside(trace, addr, length), op
        elif op.kind in ("munmap", "mprotect"):
            addr, length = op.ints()[:2]
            assert _inside(trace, addr, length) or _arg_error(op.kind, addr, length), op
        elif op.kind == "mremap":
            old, old_len, new_len, flags, new = op.ints()
            assert _inside(trace, old, max(old_len, 1)) or old % PAGE, op
            if flags & MREMAP_FIXED and flags & 1 and new % PAGE == 0:
                assert _inside(trace, new, new_len), op


def test_generated_traces_cover_every_kind() -> None:
    kinds: set[str] = set()
    for seed in range(5):
        kinds |= {op.kind for op in generate(seed, 200).ops}
    assert kinds == {"open", "unlink", "mmap", "munmap", "mprotect", "mremap"}


def test_parse_op_symbolic_and_numeric() -> None:
    op = parse_op("mremap 0x100000000000 4096 0x2000 maymove|fixed 0x100000010000")
    assert op.ints() == (0x100000000000, 4096, 0x2000, 3, 0x100000010000)
    assert str(op) == "mremap 0x100000000000 0x1000 0x2000 maymove|fixed 0x100000010000"
    assert parse_op("mprotect 0x1000 0x1000 r-x|0x10").ints()[2] == 0x15


def test_parse_output_and_results() -> None:
    steps = parse_output("= 0x100000000000\nline a\n.\n! EINVAL\n.\n")
    assert steps == [Step("= 0x100000000000", ("line a",)), Step("! EINVAL", ())]
    trace = Trace()
    mm = parse_op("mremap 0x100000000000 0x1000 0x2000 maymove 0x0")
    assert normalise_result(mm, "= 0x7ffff7ff0000", trace) == "= OUT"
    assert normalise_result(mm, "= 0x1000000ff000", trace) == "= 0x1000000ff000"


def test_normalise_maps_keeps_identity_and_columns() -> None:
    pad = " " * 20
    kernel = [
        f"100000000000-100000001000 r--s 00000000 fe:00 2146360{pad}/tmp/a/files/f0",
        f"100000001000-100000002000 r--s 00001000 fe:00 2146361{pad}/tmp/a/files/f1 (deleted)",
        f"100000002000-100000003000 rw-s 00000000 00:01 24{' ' * 25}/dev/zero (deleted)",
        "100000003000-100000004000 rw-p 00000000 00:00 0 ",
    ]
    sim_ok = [
        f"100000000000-100000001000 r--s 00000000 08:01 12{' ' * 25}/sim/f0",
        f"100000001000-100000002000 r--s 00001000 08:01 13{' ' * 25}/sim/f1 (deleted)",
        f"100000002000-100000003000 rw-s 00000000 00:01 1{' ' * 26}/dev/zero (deleted)",
        "100000003000-100000004000 rw-p 00000000 00:00 0 ",
    ]
    assert normalise_maps(kernel, "/tmp/a/files") == normalise_maps(sim_ok, "/sim")
    # the same inode twice where the kernel has two inodes: different
    same_ino = [sim_ok[0], sim_ok[1].replace(" 13 ", " 12 "), *sim_ok[2:]]
    assert normalise_maps(kernel, "/tmp/a/files") != normalise_maps(same_ino, "/sim")
    # no trailing space on an unnamed line, or the name one column off: different
    assert normalise_maps(kernel, "/tmp/a/files") != normalise_maps(
        [*sim_ok[:3], sim_ok[3].rstrip()], "/sim"
    )
    shifted = [sim_ok[0].replace(" /sim", "/sim"), *sim_ok[1:]]
    assert normalise_maps(kernel, "/tmp/a/files") != normalise_maps(shifted, "/sim")
    # a device printed without zero padding is not normalised (so it cannot match)
    bad_dev = [sim_ok[0].replace("08:01", "8:1"), *sim_ok[1:]]
    assert normalise_maps(kernel, "/tmp/a/files") != normalise_maps(bad_dev, "/sim")


@pytest.mark.parametrize("name", sorted(FIXED_TRACES))
def test_fixed_traces_parse(name: str) -> None:
    trace, expects = parse_annotated(FIXED_TRACES[name])
    assert trace.ops
    assert len(expects) == len(trace.ops)
    for exp in expects:
        for line in exp.maps or []:
            if "$DIR" in line or "/dev/zero" in line:
                assert line.index("$DIR" if "$DIR" in line else "/dev/zero") == 73, line


def test_touch_ops_and_smaps_directive_round_trip() -> None:
    text = "arena 0x100000000000 256\nsmaps\ntouch 0x100000000010 w\ntouch 0x100000001000 x\n"
    trace = parse_trace(text)
    assert trace.smaps and [op.args for op in trace.ops] == [
        (0x100000000010, "w"),
        (0x100000001000, "x"),
    ]
    assert trace.text() == text
    with pytest.raises(TraceSyntaxError, match="bad touch access"):
        parse_trace("arena 0x100000000000 256\ntouch 0x100000000000 rw\n")


def test_touch_generator_is_opt_in_and_deterministic() -> None:
    plain = generate(3, 120)
    assert not plain.smaps and all(op.kind != "touch" for op in plain.ops)
    touched = generate(3, 120, touches=True)
    assert touched.smaps and sum(op.kind == "touch" for op in touched.ops) > 20
    assert touched.text() == generate(3, 120, touches=True).text()
    assert touched.prefix(10).smaps
