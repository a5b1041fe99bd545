"""One definition of "VMAs" everywhere: the kernel's ``mm->map_count``.

The running kernel decides what it is. ``PROCMAP_QUERY`` (Linux 6.11+,
fs/proc/task_mmu.c ``do_procmap_query``) walks the mm's VMA tree, the tree whose size
``mm->map_count`` is (``validate_mm()`` in mm/vma.c checks exactly that), while
``/proc/<pid>/maps`` prints one line more on x86-64: the ``[vsyscall]`` gate VMA, a
static VMA outside the tree (``get_gate_vma()``, arch/x86/entry/vsyscall/vsyscall_64.c).
A real process (``sleep``, asleep so its layout holds still) is walked both ways; the
service, given that process's maps text, must report the tree's count in every place
that shows one: ``GET /processes/{pid}``, ``GET /processes``, ``/vmstat`` and
``vmasim ps``.
"""

from __future__ import annotations

import errno
import io
import os
import platform
import shutil
import struct
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from client.cli import EXIT_OK, main
from tests.app.conftest import LiveServer
from tests.concurrency import wait_until
from tests.differential.realkernel import kernel_version

pytestmark = pytest.mark.kernel

PROCMAP_QUERY = 0xC0686611  # _IOWR(PROCFS_IOCTL_MAGIC, 17, struct procmap_query)
COVERING_OR_NEXT_VMA = 0x10
QUERY_SIZE = 104  # sizeof(struct procmap_query), include/uapi/linux/fs.h
GATE_LINE_SUFFIX = "[vsyscall]"


def _tree_vmas(maps_fd: int) -> list[tuple[int, int]]:
    """Every VMA of the tree behind ``maps_fd``, by ``PROCMAP_QUERY`` from address 0 with
    ``COVERING_OR_NEXT_VMA`` until ``ENOENT``. O(VMAs) ioctls."""
    import fcntl

    out: list[tuple[int, int]] = []
    addr = 0
    while True:
        buf = bytearray(struct.pack("=QQQ", QUERY_SIZE, COVERING_OR_NEXT_VMA, addr))
        buf += bytes(QUERY_SIZE - len(buf))
        try:
            fcntl.ioctl(maps_fd, PROCMAP_QUERY, buf, True)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return out
            if exc.errno == errno.ENOTTY:
                pytest.skip("this kernel has no PROCMAP_QUERY ioctl")
            raise
        start, end = struct.unpack_from("=QQ", buf, 24)  # vma_start, vma_end
        out.append((start, end))
        addr = end


@pytest.fixture
def sleeper() -> Iterator[int]:
    """A real ``sleep`` process, asleep in ``nanosleep`` (its layout no longer changes);
    stopped by its pid at the end."""
    version = kernel_version()
    if version is None or version < (6, 11) or platform.machine() != "x86_64":
        pytest.skip(f"PROCMAP_QUERY needs Linux >= 6.11 on x86-64 (have {platform.release()})")
    sleep = shutil.which("sleep")
    if sleep is None:
        pytest.skip("no sleep binary")
    proc = subprocess.Popen([sleep, "300"])
    try:

        def asleep() -> bool:
            with open(f"/proc/{proc.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "S"

        wait_until(asleep, timeout=30, what="sleep(1) is in nanosleep")
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=30)


def _kernel_view(pid: int) -> tuple[str, list[tuple[int, int]]]:
    """The maps text of ``pid`` and its tree walk, read while nothing changed."""
    fd = os.open(f"/proc/{pid}/maps", os.O_RDONLY)
    try:
        for _ in range(5):
            with open(f"/proc/{pid}/maps") as f:
                before = f.read()
            tree = _tree_vmas(fd)
            with open(f"/proc/{pid}/maps") as f:
                after = f.read()
            if before == after:
                return before, tree
    finally:
        os.close(fd)
    pytest.fail(f"the layout of pid {pid} kept changing")


def test_map_count_is_the_kernels_tree_size_everywhere(
    sleeper: int, live_server: LiveServer, http: httpx.Client
) -> None:
    text, tree = _kernel_view(sleeper)
    lines = text.splitlines()
    # The kernel: maps has one line that is not in the tree, the gate VMA.
    assert lines[-1].endswith(GATE_LINE_SUFFIX), lines[-1]
    tree_lines = [line for line in lines if not line.endswith(GATE_LINE_SUFFIX)]
    ranges = (line.split(" ", 1)[0].split("-") for line in tree_lines)
    assert [(int(a, 16), int(b, 16)) for a, b in ranges] == tree
    map_count = len(tree)
    assert map_count == len(lines) - 1

    r = http.post("/processes", json={"name": "sleeper", "maps": text})
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    try:
        assert http.get(f"/processes/{pid}/maps").text == text  # the same process
        assert r.json()["map_count"] == map_count
        assert http.get(f"/processes/{pid}").json()["map_count"] == map_count
        listed = {p["pid"]: p for p in http.get("/processes").json()["processes"]}
        assert listed[pid]["map_count"] == map_count
        vmstat = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]
        assert vmstat["map_count"] == map_count
        out = io.StringIO()
        assert main(["--url", live_server.url, "ps"], out=out) == EXIT_OK
        rows = [line.split() for line in out.getvalue().splitlines()]
        assert rows[0] == ["PID", "VMAS", "NAME"]
        assert [str(pid), str(map_count), "sleeper"] in rows
    finally:
        http.delete(f"/processes/{pid}")


def test_the_documented_definition_is_the_published_one(http: httpx.Client) -> None:
    """Every ``map_count`` in the OpenAPI document carries the one description."""
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    found = {
        name: s["properties"]["map_count"].get("description", "")
        for name, s in schemas.items()
        if "map_count" in s.get("properties", {})
    }
    assert {"ProcessOut", "ProcessSummary", "ProcessVmstatOut"} <= set(found)
    assert len(set(found.values())) == 1, found
    assert "map_count" in next(iter(found.values()))
    assert "[vsyscall]" in next(iter(found.values()))
