"""Unmodified third-party tools read simulated processes through the mount.

psutil (``PROCFS_PATH`` pointed at the mount), the ``procmaps`` package and ``pmap -X``
(procps, run in a private mount namespace where ``/proc/<placeholder>`` is the
simulated process) must parse every line, of a typical process and of one with
65,530 VMAs, and report the engine's own figures (read over REST, which serves the
same texts by another path).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from tests.procmount.conftest import PAGE, Mount, anon_maps

pytestmark = pytest.mark.timeout(180)

MAX_MAP_COUNT = 65530


@pytest.fixture
def procfs(mount: Mount) -> Iterator[None]:
    old = psutil.PROCFS_PATH
    psutil.PROCFS_PATH = str(mount.path)
    try:
        yield
    finally:
        psutil.PROCFS_PATH = old


@pytest.fixture(scope="module")
def busy(mount: Mount) -> Iterator[int]:
    """A typical process with resident anonymous, file and shared pages (a forked child
    shares them, so Pss is fractional)."""
    pid = mount.spawn(layout="typical")
    addr = int(
        mount.call(
            pid,
            "mmap",
            addr=0,
            length=64 * PAGE,
            prot=["PROT_READ", "PROT_WRITE"],
            flags=["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_POPULATE"],
        )["addr"],
        16,
    )
    fd = mount.http.post(f"/processes/{pid}/files", json={"path": "/data/f", "size": 1 << 20})
    assert fd.status_code == 201, fd.text
    mount.call(
        pid,
        "mmap",
        addr=0,
        length=32 * PAGE,
        prot=["PROT_READ"],
        flags=["MAP_SHARED", "MAP_POPULATE"],
        fd=fd.json()["fd"],
    )
    child = mount.http.post(f"/processes/{pid}/fork", json={}).json()["pid"]
    mount.call(pid, "munmap", addr=addr + 60 * PAGE, length=2 * PAGE)
    yield pid
    mount.exit(child)
    mount.exit(pid)


@pytest.fixture(scope="module")
def huge(mount: Mount) -> Iterator[int]:
    """A process at vm.max_map_count: 65,530 VMAs."""
    pid = mount.spawn(maps=anon_maps(MAX_MAP_COUNT))
    yield pid
    mount.exit(pid)


def _kb_fields(block: str) -> dict[str, int]:
    out = {}
    for line in block.splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            out[name] = int(parts[0]) * 1024
    return out


def _smaps_blocks(text: str) -> list[tuple[str, dict[str, int]]]:
    blocks = re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", text.strip("\n"))
    return [(b.split("\n", 1)[0], _kb_fields(b)) for b in blocks]


def test_psutil_memory_equals_the_engine(mount: Mount, procfs: None, busy: int) -> None:
    p = psutil.Process(busy)
    assert p.name() == "tool" and p.status() == psutil.STATUS_STOPPED
    statm = [int(x) * PAGE for x in mount.text(busy, "statm").split()]
    info = p.memory_info()
    assert (info.vms, info.rss, info.shared, info.text, info.lib, info.data) == tuple(statm[:6])
    assert info.rss > 0
    rollup = _kb_fields(mount.text(busy, "smaps_rollup"))
    full = p.memory_full_info()
    assert full.uss == rollup["Private_Clean"] + rollup["Private_Dirty"] + rollup["Private_Hugetlb"]
    assert full.pss == rollup["Pss"] and full.swap == rollup["Swap"] == 0
    assert 0 < full.pss < full.rss  # pages shared with the child count half


def test_psutil_memory_maps_equal_the_engines_smaps(mount: Mount, procfs: None, busy: int) -> None:
    blocks = _smaps_blocks(mount.text(busy, "smaps"))
    maps = psutil.Process(busy).memory_maps(grouped=False)
    assert len(maps) == len(blocks) > 10
    for m, (header, fields) in zip(maps, blocks, strict=True):
        addr, perms = header.split()[:2]
        assert (m.addr, m.perms) == (addr, perms)
        assert m.rss == fields["Rss"] and m.size == fields["Size"] and m.pss == fields["Pss"]
        assert m.private_dirty == fields["Private_Dirty"]
        assert m.shared_clean == fields["Shared_Clean"]
        assert m.referenced == fields["Referenced"] and m.anonymous == fields["Anonymous"]
    paths = {m.path for m in maps}
    assert {"/data/f", "[heap]", "[stack]", "[anon]", "[vsyscall]"} <= paths


def test_psutil_reads_a_process_with_65530_vmas(mount: Mount, procfs: None, huge: int) -> None:
    maps = psutil.Process(huge).memory_maps(grouped=False)
    assert len(maps) == MAX_MAP_COUNT + 1  # and the [vsyscall] gate
    assert maps[0].addr == "100000000-100001000" and maps[-1].path == "[vsyscall]"


def test_procmaps_parses_every_line(mount: Mount, busy: int, huge: int) -> None:
    procmaps = pytest.importorskip("procmaps")
    for pid in (busy, huge):
        text = mount.text(pid, "maps", reader="mmap_lock")
        parsed = procmaps.from_path(str(mount.path / str(pid) / "maps"))
        lines = text.splitlines()
        assert len(parsed) == len(lines)
        for m, line in zip(parsed, lines, strict=True):
            rng, perms = line.split()[:2]
            start, end = (int(x, 16) for x in rng.split("-"))
            assert (m.begin_address, m.end_address) == (start, end)
            assert m.is_readable == (perms[0] == "r") and m.is_private == (perms[3] == "p")
    assert len(parsed) == MAX_MAP_COUNT + 1


def _namespaces_missing() -> str | None:
    if shutil.which("unshare") is None:
        return "no unshare (util-linux)"
    if shutil.which("pmap") is None:
        return "no pmap (Debian package procps)"
    probe = subprocess.run(
        (["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-Urm"]) + ["true"],
        capture_output=True,
    )
    if probe.returncode != 0:
        return f"no private mount namespaces here: {probe.stderr.decode().strip()}"
    return None


def _pmap_x(mount: Mount, pid: int) -> list[str]:
    reason = _namespaces_missing()
    if reason is not None:
        pytest.skip(reason)
    out = subprocess.run(
        [sys.executable, "-m", "app.procmount", "run-against", "--proc", str(mount.path), str(pid),
         "--", "pmap", "-X", "{pid}"],
        capture_output=True,
        text=True,
        timeout=170,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_pmap_x_parses_a_typical_process(mount: Mount, busy: int) -> None:
    lines = _pmap_x(mount, busy)
    blocks = _smaps_blocks(mount.text(busy, "smaps"))
    # "PID:   tool", a header row, one row per smaps block (the gate's too), a rule,
    # the totals row.
    assert lines[0].split(":", 1)[1].strip() == "tool"
    rows = lines[2:-2]
    assert len(rows) == len(blocks)
    for row, (header, fields) in zip(rows, blocks, strict=True):
        cols = row.split()
        assert int(cols[0], 16) == int(header.split("-")[0], 16)
        assert int(cols[5]) * 1024 == fields["Size"]
        assert int(cols[6]) * 1024 == fields["Rss"] and int(cols[7]) * 1024 == fields["Pss"]
    totals = lines[-1].split()  # Size Rss Pss ... KB
    assert int(totals[0]) * 1024 == sum(f["Size"] for _, f in blocks)
    assert int(totals[1]) * 1024 == sum(f["Rss"] for _, f in blocks) > 0


def test_pmap_x_parses_a_process_with_65530_vmas(mount: Mount, huge: int) -> None:
    lines = _pmap_x(mount, huge)
    rows = lines[2:-2]
    assert len(rows) == MAX_MAP_COUNT + 1
    assert int(rows[0].split()[0], 16) == 0x100000000
    assert lines[-1].split()[0] == str(MAX_MAP_COUNT * 4 + 4)  # KiB: every VMA and the gate
