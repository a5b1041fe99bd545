"""PROCMAP_QUERY against the running kernel (``do_procmap_query`` in fs/proc/task_mmu.c).

A child process (``pmquery_child.py``) builds an arena of mappings, issues several
thousand real ``PROCMAP_QUERY`` ioctls on its own ``/proc/self/maps`` (every VMA's
edges and middle and the byte before it, times 15 flag combinations, plus every error
case) and reports them with its maps text. The simulator loads that text with
``Kernel.spawn_from_maps`` and must give the same answer to every query: the same errno,
or the same range, flags, page size, offset, device, inode, name size and name. The
layout is the child's whole address space: the interpreter, its libraries, ``[heap]``,
``[stack]``, ``[vvar]``, ``[vdso]`` and the ``[vsyscall]`` gate, besides the arena.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core import Kernel, ProcmapQueryArgs, SyscallError, do_procmap_query
from tests.differential.realkernel import kernel_version

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
ENOTTY = 25
COMPARED = (
    "vma_start",
    "vma_end",
    "vma_flags",
    "vma_page_size",
    "vma_offset",
    "inode",
    "dev_major",
    "dev_minor",
    "vma_name_size",
    "build_id_size",
)


def _run_child(tmp: Path) -> dict[str, Any]:
    version = kernel_version()
    if version is None or version < (6, 11) or platform.machine() != "x86_64":
        pytest.skip(f"PROCMAP_QUERY needs Linux >= 6.11 on x86-64 (have {platform.release()})")
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-m", "tests.differential.pmquery_child", str(tmp)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=50,
            check=True,
        )
        data: dict[str, Any] = json.loads(out.stdout)
        if data["queries"][0]["errno"] == ENOTTY and data["queries"][0]["ret"] == -1:
            pytest.skip("this kernel has no PROCMAP_QUERY ioctl")
        if data["maps"] == data["maps_after"]:
            return data
    pytest.fail("the child's layout kept changing while it queried")


def _sim_answer(mm: Any, spec: dict[str, int]) -> dict[str, Any]:
    args = ProcmapQueryArgs(
        query_addr=spec["addr"],
        query_flags=spec["flags"],
        size=spec["size"],
        vma_name_size=spec.get("name_size", 0),
        vma_name_addr=1 if spec.get("name_addr") else 0,
        build_id_size=spec.get("build_id_size", 0),
        tail=b"\0\0\0\1" if spec.get("tail") else b"",
    )
    try:
        r = do_procmap_query(mm, args)
    except SyscallError as exc:
        return {"errno": exc.errno}
    answer: dict[str, Any] = {f: getattr(r, f) for f in COMPARED}
    answer["name"] = r.vma_name if r.vma_name_size and r.vma_name is not None else ""
    return answer


def _kernel_answer(entry: dict[str, Any]) -> dict[str, Any]:
    if entry["ret"] != 0:
        return {"errno": entry["errno"]}
    answer = {f: entry["out"][f] for f in COMPARED}
    answer["name"] = entry["name"]
    return answer


def test_every_query_matches_the_kernel(tmp_path: Path) -> None:
    data = _run_child(tmp_path)
    proc = Kernel().spawn_from_maps(data["maps"])
    mismatches = []
    outcomes = {"ok": 0, "errno": 0}
    for entry in data["queries"]:
        want = _kernel_answer(entry)
        got = _sim_answer(proc.mm, entry["spec"])
        outcomes["errno" if "errno" in want else "ok"] += 1
        if got != want:
            mismatches.append((entry["spec"], want, got))
    report = "\n".join(f"{s}\n  kernel {w}\n  sim    {g}" for s, w, g in mismatches[:20])
    assert not mismatches, f"{len(mismatches)} of {len(data['queries'])} differ:\n{report}"
    # The grid really covers both outcomes, and the arena's special cases were there.
    assert outcomes["ok"] > 1000 and outcomes["errno"] > 500, outcomes
    names = {e.get("name") for e in data["queries"]}
    assert {"[heap]", "[stack]", "[vdso]", "/dev/zero (deleted)"} <= names
    assert any(str(n).endswith("deleted.bin (deleted)") for n in names)
