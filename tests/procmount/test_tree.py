"""The tree without FUSE (errors, reader choice), the static export, the remote source
(a running service), and the ``vmasim`` commands that start them."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from app.procmount.export import export_tree
from app.procmount.remote import RemoteBackend
from app.procmount.tree import LocalBackend, Options, ProcError, ProcTree, ReadLog
from client.cli import main
from core import Kernel
from core.proc_pid import PID_FILES
from tests.procmount.conftest import Mount
from tests.procmount.test_tools import _namespaces_missing

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def tree() -> ProcTree:
    kernel = Kernel()
    kernel.spawn("one", "typical")
    return ProcTree(LocalBackend(lambda: kernel), Options(uid=0, gid=0), ReadLog(io.StringIO()))


@pytest.mark.parametrize(
    ("path", "code"),
    [("/nope", errno.ENOENT), ("/1001", errno.ENOENT), ("/01000", errno.ENOENT),
     ("/1000/nope", errno.ENOENT), ("/1000/maps/x", errno.ENOENT)],
)  # fmt: skip
def test_unknown_paths_are_enoent(tree: ProcTree, path: str, code: int) -> None:
    with pytest.raises(ProcError) as info:
        tree.getattr(path)
    assert info.value.errno == code


def test_listing_and_errors(tree: ProcTree) -> None:
    assert tree.readdir("/") == [".", "..", "meminfo", "vmstat", "1000"]
    assert tree.readdir("/1000") == [".", "..", *PID_FILES]
    calls: list[tuple[Callable[[], object], int]] = [
        (lambda: tree.open("/1000"), errno.EISDIR),
        (lambda: tree.read(999, 10, 0), errno.EBADF),
        (lambda: tree.readdir("/1000/maps"), errno.ENOTDIR),
        (lambda: tree.set_reader("/1000/status", "per_vma"), errno.ENOTSUP),
        (lambda: tree.set_reader("/1000/maps", "fastest"), errno.EINVAL),
        (lambda: tree.set_reader("/1000/smaps", "seqcount"), errno.EINVAL),
    ]
    for call, code in calls:
        with pytest.raises(ProcError) as info:
            call()
        assert info.value.errno == code
    assert tree.getattr("/1000/maps")["st_blksize"] == 1024


def test_the_reader_attribute_applies_to_files_opened_after_it(tree: ProcTree) -> None:
    node = tree.resolve("/1000/maps")
    assert tree.reader_of(node) == "seqcount"
    before = tree.open("/1000/maps")
    tree.set_reader("/1000/maps", "per_vma")
    after = tree.open("/1000/maps")
    assert tree.read(before, 4096, 0) == tree.read(after, 4096, 0)
    counters = dict(tree.counters.lines())
    assert counters["vmasim_maps_walks"] == 2
    tree.set_reader("/1000/maps", None)
    assert tree.reader_of(node) == "seqcount"
    tree.release(before)
    tree.release(after)
    assert tree.open_handles() == 0


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_export_through_the_service_equals_the_mount(mount: Mount, tmp_path: Path) -> None:
    pid = mount.spawn(layout="typical")
    backend = RemoteBackend(mount.url)
    try:
        pids = export_tree(backend, str(tmp_path))
        assert pid in pids
        for name in PID_FILES:
            exported = (tmp_path / str(pid) / name).read_bytes()
            mounted = (mount.path / str(pid) / name).read_bytes()
            if name == "stat":  # startcode, endcode, startstack are not in the API
                e, m = exported.split(b" "), mounted.split(b" ")
                assert [x for i, x in enumerate(e) if i not in (25, 26, 27)] == [
                    x for i, x in enumerate(m) if i not in (25, 26, 27)
                ]
            else:
                assert exported == mounted, name
        assert (tmp_path / "meminfo").read_text().startswith("MemTotal:")
    finally:
        backend.close()
        mount.exit(pid)


def test_vmasim_export_proc_writes_a_tree_psutil_reads(tmp_path: Path) -> None:
    out = tmp_path / "proc"
    code = main(["export-proc", str(out), "--spawn", "typical"])
    assert code == 0
    kernel = Kernel()
    kernel.spawn("sim", "typical")
    local = tmp_path / "local"
    export_tree(LocalBackend(lambda: kernel), str(local))
    assert _files(out) == _files(local)
    old = psutil.PROCFS_PATH
    psutil.PROCFS_PATH = str(out)
    try:
        p = psutil.Process(1000)
        assert p.memory_info().vms == kernel.get(1000).mm.total_vm * 4096
        assert len(p.memory_maps(grouped=False)) == len(kernel.get(1000).mm.vmas()) + 1
    finally:
        psutil.PROCFS_PATH = old


def test_vmasim_run_against_a_service(mount: Mount) -> None:
    reason = _namespaces_missing()
    if reason is not None:
        pytest.skip(reason)
    pid = mount.spawn(layout="typical")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "client", "--url", mount.url, "run-against", str(pid), "--",
             "sh", "-c", "cat /proc/{pid}/status; ps -o pid=,comm= -p {pid}"],
            capture_output=True, text=True, timeout=100,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert f"Pid:\t{pid}\n" in out.stdout and "Name:\ttool\n" in out.stdout
        assert out.stdout.splitlines()[-1].split() == [str(pid), "tool"]  # procps sees it
    finally:
        mount.exit(pid)


def test_mount_refuses_bad_options(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.procmount", "mount", str(tmp_path), "--smaps-reader", "x"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "unknown smaps reader 'x'" in out.stderr
    assert not os.path.ismount(tmp_path)
