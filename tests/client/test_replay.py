"""Differential traces (tests/differential) replayed through the REST API give the same
answers as the engine run directly (``simrun.run_sim``), and as the kernel's recorded
outputs (the annotations of the fixed traces)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.flags import map_names, mremap_names, prot_names
from tests.differential.annotated import check_expectations, parse_annotated
from tests.differential.compare import normalise_maps
from tests.differential.fixed_traces import FIXED_TRACES
from tests.differential.realkernel import Run, Step
from tests.differential.simrun import SIM_FILEDIR, _arena_lines, run_sim
from tests.differential.trace import PAGE, TOUCH_ACCESS, Trace, generate

# Trace operations the batch endpoint executes (all of them: "touch" is a "fault" op).
SUPPORTED = {"open", "unlink", "mmap", "munmap", "mprotect", "mremap", "touch"}
# The fixed traces with touch operations (and smaps lines in their annotations).
TOUCH_TRACES = sorted(name for name, text in FIXED_TRACES.items() if "\ntouch " in text)
SHMEM_DEV = "00:01"  # core.files.SHMEM_DEV, as maps prints it


def supported(trace: Trace) -> Trace:
    """``trace`` without the operations the batch endpoint cannot run yet."""
    return Trace(trace.base, trace.pages, [op for op in trace.ops if op.kind in SUPPORTED])


def trace_ops(trace: Trace, filedir: str) -> list[dict[str, Any]]:
    """The trace as batch operations. Trace slots become fds: the n-th open of a fresh
    process gets fd 3 + n (lowest free, nothing is closed), as in ``run_sim``."""
    slots: dict[int, int] = {}
    opens = 0
    ops: list[dict[str, Any]] = []
    for op in trace.ops:
        a = op.args
        if op.kind == "open":
            slot, file, pages = op.ints()
            mode = ["O_RDWR"] if a[3] == "rdwr" else ["O_RDONLY"]
            ops.append(
                {"op": "open", "path": f"{filedir}/f{file}", "flags": mode, "size": pages * PAGE}
            )
            slots[slot] = 3 + opens
            opens += 1
        elif op.kind == "unlink":
            ops.append({"op": "unlink", "path": f"{filedir}/f{a[0]}"})
        elif op.kind == "mmap":
            addr, length, prot, flags, slot, off = op.ints()
            fd = -1 if slot < 0 else slots.get(slot, -1)
            ops.append(
                {
                    "op": "mmap",
                    "addr": hex(addr),
                    "length": hex(length),
                    "prot": prot_names(prot),
                    "flags": map_names(flags),
                    "fd": fd,
                    "offset": off,
                }
            )
        elif op.kind == "munmap":
            addr, length = op.ints()
            ops.append({"op": "munmap", "addr": addr, "length": length})
        elif op.kind == "mprotect":
            addr, length, prot = op.ints()
            ops.append({"op": "mprotect", "addr": addr, "length": length, "prot": prot_names(prot)})
        elif op.kind == "mremap":
            old, old_len, new_len, flags, new = op.ints()
            ops.append(
                {
                    "op": "mremap",
                    "old_addr": old,
                    "old_len": old_len,
                    "new_len": new_len,
                    "flags": mremap_names(flags),
                    "new_addr": new,
                }
            )
        elif op.kind == "touch":
            ops.append({"op": "fault", "addr": a[0], "access": TOUCH_ACCESS[str(a[1])]})
        else:
            raise AssertionError(f"unsupported trace op {op}")
    return ops


def result_line(result: dict[str, Any]) -> str:
    """A batch result in the helper's format (``= 0x...``, ``= 0``, ``! ENAME``)."""
    if result["op"] == "fault" and "fault" in result:
        fault = result["fault"]
        return "= ok" if fault["ok"] else f"! {fault['outcome']} {fault['si_code']}"
    if not result["ok"]:
        return f"! {result.get('errno_name') or 'CRASH ' + result['error']}"
    if result["op"] in ("mmap", "mremap"):
        return f"= {result['addr']}"
    return "= 0"


def arena_smaps(smaps_text: str, trace: Trace) -> tuple[str, ...]:
    """``~ <start>-<end> Rss=<kB> Anonymous=<kB>`` per arena VMA from the text of
    ``GET /smaps``, as ``simrun._arena_smaps`` prints them from the engine (``Rss=-``
    for a VMA of a regular file: neither shmem nor anonymous)."""
    out = []
    header: tuple[int, int, bool] | None = None
    rss = ""
    for line in smaps_text.splitlines():
        first = line.split(" ", 1)[0]
        if "-" in first and not first.endswith(":"):
            start_s, end_s = first.split("-")
            fields = line.split()
            regular = fields[3] not in ("00:00", SHMEM_DEV)
            header = (int(start_s, 16), int(end_s, 16), regular)
        elif line.startswith("Rss:"):
            rss = line.split()[1]
        elif line.startswith("Anonymous:") and header is not None:
            start, end, regular = header
            if start < trace.end and end > trace.base:
                out.append(
                    f"~ {start:x}-{end:x} Rss={'-' if regular else rss} Anonymous={line.split()[1]}"
                )
    return tuple(out)


def snapshot(http: httpx.Client, pid: int, trace: Trace) -> tuple[str, ...]:
    """The arena's maps lines, and its smaps lines when the trace asks for them."""
    maps = _arena_lines(http.get(f"/processes/{pid}/maps").text, trace)
    if trace.smaps:
        maps += arena_smaps(http.get(f"/processes/{pid}/smaps").text, trace)
    return maps


def replay(http: httpx.Client, trace: Trace, per_op: bool) -> tuple[Run, int]:
    """Run ``trace`` in a new REST process: in one batch, or one batch per operation
    with a maps snapshot after each. Returns the run and the pid."""
    pid = http.post("/processes", json={"name": "replay"}).json()["pid"]
    filedir = f"/tmp/vmasim-rest-replay/{pid}"
    ops = trace_ops(trace, filedir)
    steps: list[Step] = []
    chunks = [[op] for op in ops] if per_op else [ops]
    for chunk in chunks:
        r = http.post(f"/processes/{pid}/syscalls", json={"ops": chunk})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert len(results) == len(chunk)
        for op, res in zip(chunk, results, strict=True):
            if op["op"] == "open":
                assert res["fd"] == 3 + sum(1 for s in steps if s.result == "= 0 open")
                steps.append(Step("= 0 open", ()))
            else:
                steps.append(Step(result_line(res), ()))
        if per_op:
            steps[-1] = Step(steps[-1].result, snapshot(http, pid, trace))
    steps = [Step("= 0" if s.result == "= 0 open" else s.result, s.maps) for s in steps]
    if not per_op:
        steps[-1] = Step(steps[-1].result, snapshot(http, pid, trace))
    return Run(steps, filedir), pid


@pytest.mark.parametrize("name", sorted(FIXED_TRACES))
def test_fixed_trace_in_one_batch_matches_engine(http: httpx.Client, name: str) -> None:
    trace = supported(parse_annotated(FIXED_TRACES[name])[0])
    rest, pid = replay(http, trace, per_op=False)
    sim = run_sim(trace)
    assert [s.result for s in rest.steps] == [s.result for s in sim.steps]
    assert normalise_maps(rest.steps[-1].maps, rest.filedir) == normalise_maps(
        sim.steps[-1].maps, SIM_FILEDIR
    )
    http.delete(f"/processes/{pid}")


@pytest.mark.parametrize("name", ["files", "mremap", "errnos", *TOUCH_TRACES])
def test_fixed_trace_op_by_op_matches_kernel_annotations(http: httpx.Client, name: str) -> None:
    trace, expects = parse_annotated(FIXED_TRACES[name])
    assert supported(trace).ops == trace.ops
    rest, pid = replay(http, trace, per_op=True)
    assert check_expectations(trace, expects, rest) == []
    http.delete(f"/processes/{pid}")


@pytest.mark.parametrize("seed", [1, 17])
def test_random_trace_in_one_batch_matches_engine(http: httpx.Client, seed: int) -> None:
    trace = supported(generate(seed, 200))
    rest, pid = replay(http, trace, per_op=False)
    sim = run_sim(trace)
    assert [s.result for s in rest.steps] == [s.result for s in sim.steps]
    assert normalise_maps(rest.steps[-1].maps, rest.filedir) == normalise_maps(
        sim.steps[-1].maps, SIM_FILEDIR
    )
    http.delete(f"/processes/{pid}")


def test_touch_traces_are_replayed() -> None:
    """The fixed traces with faults are among those replayed, faults included (the
    three written for faults also compare smaps lines)."""
    with_smaps = {"fault_decides_merge", "growsdown_faults", "touch_signals"}
    assert with_smaps <= set(TOUCH_TRACES)
    for name in TOUCH_TRACES:
        trace = parse_annotated(FIXED_TRACES[name])[0]
        assert bool(trace.smaps) == (name in with_smaps)
        assert supported(trace).ops == trace.ops
        assert any(op["op"] == "fault" for op in trace_ops(trace, "/tmp"))


@pytest.mark.parametrize("seed", [3, 29])
def test_random_trace_with_faults_in_one_batch_matches_engine(
    http: httpx.Client, seed: int
) -> None:
    trace = generate(seed, 200, touches=True)
    assert any(op.kind == "touch" for op in trace.ops)
    rest, pid = replay(http, trace, per_op=False)
    sim = run_sim(trace)
    assert [s.result for s in rest.steps] == [s.result for s in sim.steps]
    assert normalise_maps(rest.steps[-1].maps, rest.filedir) == normalise_maps(
        sim.steps[-1].maps, SIM_FILEDIR
    )
    http.delete(f"/processes/{pid}")
