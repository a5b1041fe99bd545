"""A real reader races a writer through the mount, held at pause points over REST.

The C reader (reader.c) reads ``maps`` 4 KiB per ``read()``, as a profiler does. Each
of its reads is one walk of the chosen maps reader in the engine (the read log records
the walk); pause points, armed over REST, hold the reader or the writer at a chosen
step while the test changes the address space:

* ``per_vma``: the reader is held between two lines of its first read while VMAs before
  and after it are unmapped; its output shows the old VMA before the hold and no
  longer the later one: torn, at exactly the line the engine's per_vma reader marked.
* ``seqcount``: the same race makes the walk's validation fail; the reader walks again
  and shows one moment, never torn; the retry is counted in the mount's ``vmstat``.
* A munmap held with ``mmap_lock`` write-locked: the seqcount reader's lockless
  attempts fail, it falls back to ``mmap_lock`` and waits (a simulated writer stalls a
  real tool); released, it shows the layout after the munmap. Retries and the fallback
  show in ``vmstat``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency import wait_until
from tests.procmount.conftest import PAGE, Mount, anon_maps

pytestmark = pytest.mark.timeout(120)

VMAS = 200
BASE = 0x100000000
HELD = 20  # the reader is held before its 21st line


def _addr(i: int) -> int:
    return BASE + i * 2 * PAGE


def _arm(mount: Mount, pid: int, name: str, **body: Any) -> None:
    resp = mount.http.post(f"/processes/{pid}/pause-points", json={"name": name, **body})
    assert resp.status_code == 201, resp.text


def _held(mount: Mount, pid: int, point: str) -> bool:
    state = mount.http.get(f"/processes/{pid}/pause-points").json()
    return any(h["point"] == point for h in state["held"])


def _release(mount: Mount, pid: int) -> None:
    assert mount.http.post(f"/processes/{pid}/pause-points/release", json={}).status_code == 200


def _start_reader(reader: Path, path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(reader), str(path), "4096"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _finish(proc: subprocess.Popen[bytes]) -> list[str]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out.decode().splitlines(keepends=True)


def _walks(mount: Mount, pid: int) -> list[dict[str, Any]]:
    return [e["walk"] for e in mount.reads(f"/{pid}/maps") if e["walk"] and e["walk"]["lines"]]


@pytest.fixture
def target(mount: Mount) -> Any:
    pid = mount.spawn(maps=anon_maps(VMAS, BASE))
    yield pid
    mount.http.delete(f"/processes/{pid}/pause-points")
    mount.exit(pid)


def _unmap_two(mount: Mount, pid: int) -> None:
    # One VMA the reader has shown (line 5) and one it has not reached (line 50).
    mount.call(pid, "munmap", addr=_addr(5), length=PAGE)
    mount.call(pid, "munmap", addr=_addr(50), length=PAGE)


def test_per_vma_tears_exactly_where_the_engine_says(
    mount: Mount, target: int, c_reader: Path
) -> None:
    maps = mount.path / str(target) / "maps"
    os.setxattr(maps, "user.vmasim.reader", b"per_vma")
    before = mount.text(target, "maps").splitlines(keepends=True)
    _arm(mount, target, "maps:per_vma_between_vmas", hit=HELD, timeout=60)
    proc = _start_reader(c_reader, maps)
    wait_until(lambda: _held(mount, target, "maps:per_vma_between_vmas"), 30)
    _unmap_two(mount, target)
    _release(mount, target)
    lines = _finish(proc)
    after = mount.text(target, "maps").splitlines(keepends=True)

    torn = [i for walk in _walks(mount, target) for i in walk["torn_at"]]
    assert torn == [HELD]  # the engine's per_vma reader: line 20 shows a later moment
    assert lines not in (before, after)  # and the tool saw a layout that never existed
    assert lines[:HELD] == before[:HELD]  # VMA 5 still there: the old moment
    assert lines[HELD:] == after[after.index(lines[HELD]) :]  # VMA 50 gone: the new one
    assert before[5] in lines and before[50] not in lines


def test_seqcount_never_tears_and_counts_its_retry(
    mount: Mount, target: int, c_reader: Path
) -> None:
    maps = mount.path / str(target) / "maps"
    os.setxattr(maps, "user.vmasim.reader", b"seqcount")
    counters = mount.vmstat()
    _arm(mount, target, "maps:seqcount_before_validate", timeout=60)
    proc = _start_reader(c_reader, maps)
    wait_until(lambda: _held(mount, target, "maps:seqcount_before_validate"), 30)
    _unmap_two(mount, target)
    _release(mount, target)
    lines = _finish(proc)
    after = mount.text(target, "maps").splitlines(keepends=True)

    assert lines == after  # one moment: the walk that overlapped the munmaps was redone
    walks = _walks(mount, target)
    assert all(w["consistent"] and not w["torn_at"] for w in walks)
    assert walks[0]["attempts"] == 2 and len(walks[0]["retry_reasons"]) == 1
    now = mount.vmstat()
    assert now["vmasim_maps_seqcount_retry"] - counters["vmasim_maps_seqcount_retry"] == 1
    assert now["vmasim_maps_seqcount_fallback"] == counters["vmasim_maps_seqcount_fallback"]


def test_a_held_munmap_stalls_the_tool_until_released(
    mount: Mount, target: int, c_reader: Path
) -> None:
    maps = mount.path / str(target) / "maps"
    os.setxattr(maps, "user.vmasim.reader", b"seqcount")
    counters = mount.vmstat()
    _arm(mount, target, "munmap:before_clear", timeout=60)
    writer = threading.Thread(
        target=mount.call, args=(target, "munmap"), kwargs={"addr": _addr(30), "length": PAGE}
    )
    writer.start()
    try:
        wait_until(lambda: _held(mount, target, "munmap:before_clear"), 30)
        proc = _start_reader(c_reader, maps)

        def reader_waits() -> bool:
            stats = mount.http.get("/vmstat", params={"pid": target}).json()
            return bool(stats["processes"][0]["mmap_lock"]["rwsem"]["waiting_readers"])

        # Its lockless attempts failed (the count is odd): it queued on mmap_lock.
        wait_until(reader_waits, 30, what="the tool's read waits for mmap_lock")
        assert proc.poll() is None
        _release(mount, target)
    finally:
        writer.join(timeout=60)
    lines = _finish(proc)
    after = mount.text(target, "maps").splitlines(keepends=True)
    assert lines == after and len(after) == VMAS  # one VMA gone, the gate line added
    first = _walks(mount, target)[0]
    assert first["fallbacks"] == 1 and first["attempts"] == 4 and first["consistent"]
    now = mount.vmstat()
    assert now["vmasim_maps_seqcount_retry"] - counters["vmasim_maps_seqcount_retry"] == 3
    assert now["vmasim_maps_seqcount_fallback"] - counters["vmasim_maps_seqcount_fallback"] == 1
