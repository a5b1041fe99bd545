"""The replay corpus: real programs recorded on this machine (tests/client/corpus.py,
``scripts/record_corpus``) replayed through the service reproduce the real final maps
of every process, line for line, with no call failing.

A program is replayed when the executables its trace runs are, byte for byte, the ones
it was recorded with (their sha256 are in its meta.json; the corpus's own C programs are
rebuilt from ``data/corpus/src``): another build of ``ls`` maps other addresses. Then
the whole address space is compared, not only the ranges the trace mapped: the exec
image (program, ld.so, stack, vDSO, break) comes from the engine's execve.

``test_fresh_recording`` records new traces when strace can run here, so the corpus
cannot hide a change of the machine or of the replay.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from client.api import VmasimClient
from tests.client import corpus
from tests.differential.realkernel import unsupported_reason

RECORDED = sorted(p.parent.name for p in corpus.CORPUS.glob("*/meta.json"))


def _usable(directory: Path) -> str | None:
    """Why the recording cannot be replayed faithfully here, or None."""
    meta = json.loads((directory / "meta.json").read_text())
    program = corpus.BY_NAME.get(meta["name"])
    if program is not None and (program.build or program.setup):
        corpus.prepare(program)
    for path, digest in meta["files"].items():
        here = corpus.sha256(os.path.realpath(path))
        if here != digest:
            state = "missing" if here is None else "another build"
            return f"{path} is {state} here (recorded with sha256 {digest[:12]}...)"
    return None


def test_the_corpus_has_ten_real_programs_with_threads_and_processes() -> None:
    assert len(RECORDED) >= 10, RECORDED
    metas = [json.loads((corpus.CORPUS / n / "meta.json").read_text()) for n in RECORDED]
    assert sum(len(m["captured"]) for m in metas) >= 15
    traces = "".join((corpus.CORPUS / n / "trace.strace").read_text() for n in RECORDED)
    for call in (
        "clone3(",
        "vfork(",
        "execve(",
        "unlink(",
        "ftruncate(",
        "mremap(",
        "mlock2(",
        "mlockall(",
        "munlockall(",
        "syscall_0x1ce(",  # mseal to strace 6.1
        "prctl(PR_SET_VMA",
        "madvise(",
        "0x8 /* MAP_??? */",  # MAP_DROPPABLE to strace 6.1 (docker: Go 1.24's getrandom)
    ):
        assert call in traces, call


@pytest.mark.parametrize("name", RECORDED)
def test_replay_reproduces_the_real_final_maps(api: VmasimClient, name: str) -> None:
    directory = corpus.CORPUS / name
    reason = _usable(directory)
    if reason is not None:
        pytest.skip(f"{name}: {reason}")
    result = corpus.judge(api, directory)
    summary = result.summary
    assert result.compared > 0
    assert (summary["failed"], summary["failures"]) == (0, []), summary
    assert summary["outside_trace"] == 0, summary
    assert result.diffs == {}, json.dumps(result.diffs, indent=1)
    assert result.mw == {}, result.mw  # shared mappings of read-only opens lack mw
    assert result.locks == {}, result.locks  # lo, lf, sl, dc, wf, dd as the kernel set them
    assert all(p["image"] for p in summary["processes"]), summary["processes"]


def test_fresh_recording(api: VmasimClient, tmp_path: Path) -> None:
    """Record a few programs now (threads, a deleted shared file, a dynamic program)
    and replay them: bounded by the recorder's timeout."""
    if shutil.which("strace") is None or shutil.which("setarch") is None:
        pytest.skip("needs strace and setarch (apt-get install strace util-linux)")
    reason = unsupported_reason()
    if reason is not None:
        pytest.skip(reason)
    probe = subprocess.run(
        ["strace", "-f", "-o", "/dev/null", "true"], capture_output=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr.decode()[-200:]}")
    for name in ("pthreads", "files", "bash", "memlock"):
        meta = corpus.record(corpus.BY_NAME[name], tmp_path / name, timeout=60)
        assert meta["captured"], name
        result = corpus.judge(api, tmp_path / name)
        assert result.summary["failed"] == 0, result.summary
        assert result.diffs == {} and result.mw == {}, (name, result.diffs, result.mw)
        assert result.locks == {}, (name, result.locks)
