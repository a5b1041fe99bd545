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
from tests.differential.trace import PAGE, Trace, generate

# Trace operations the batch endpoint executes. Fault operations ("touch") are
# dropped from both sides until the batch gains a "fault" op (issue 5, second part).
SUPPORTED = {"open", "unlink", "mmap", "munmap", "mprotect", "mremap"}


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
        else:
            raise AssertionError(f"unsupported trace op {op}")
    return ops


def result_line(result: dict[str, Any]) -> str:
    """A batch result in the helper's format (``= 0x...``, ``= 0``, ``! ENAME``)."""
    if not result["ok"]:
        return f"! {result.get('errno_name') or 'CRASH ' + result['error']}"
    if result["op"] in ("mmap", "mremap"):
        return f"= {result['addr']}"
    return "= 0"


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
            maps = _arena_lines(http.get(f"/processes/{pid}/maps").text, trace)
            steps[-1] = Step(steps[-1].result, maps)
    steps = [Step("= 0" if s.result == "= 0 open" else s.result, s.maps) for s in steps]
    if not per_op:
        final = _arena_lines(http.get(f"/processes/{pid}/maps").text, trace)
        steps[-1] = Step(steps[-1].result, final)
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


@pytest.mark.parametrize("name", ["files", "mremap", "errnos"])
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
