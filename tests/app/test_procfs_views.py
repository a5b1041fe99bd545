"""``GET /processes/{pid}/{smaps,smaps_rollup,status,statm}``: byte for byte the
engine's text for the same address space, built by the same calls in a local kernel."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    Process,
)
from core.fault import Access
from core.smaps import render_smaps, render_smaps_rollup, render_statm, render_status_memory

SHMEM_INODE = re.compile(r"00:01 \d+ +")
VIEWS: dict[str, Callable[[Mm], str]] = {
    "smaps": render_smaps,
    "smaps_rollup": render_smaps_rollup,
    "status": render_status_memory,
    "statm": render_statm,
}


def _build(http: httpx.Client, local: Process) -> int:
    """The same layout and pages over REST and in ``local``: the typical layout, an
    anonymous mapping with two written pages and one read, a shared one written."""
    pid: int = http.post("/processes", json={"layout": "typical"}).json()["pid"]
    rw = ["PROT_READ", "PROT_WRITE"]
    r = http.post(
        f"/processes/{pid}/mmap",
        json={"length": 4 * PAGE_SIZE, "prot": rw, "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]},
    )
    anon = int(r.json()["addr"], 16)
    r = http.post(
        f"/processes/{pid}/mmap",
        json={"length": 2 * PAGE_SIZE, "prot": rw, "flags": ["MAP_SHARED", "MAP_ANONYMOUS"]},
    )
    shared = int(r.json()["addr"], 16)
    mm = local.mm
    assert mm.mmap(0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS) == anon
    assert mm.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS) == shared
    faults: list[tuple[int, Access]] = [
        (anon, "write"),
        (anon + PAGE_SIZE, "write"),
        (anon + 3 * PAGE_SIZE, "read"),
    ]
    faults.append((shared, "write"))
    ops = [{"op": "fault", "addr": a, "access": acc} for a, acc in faults]
    assert http.post(f"/processes/{pid}/syscalls", json={"ops": ops}).json()["failed"] == 0
    for a, acc in faults:
        assert mm.fault(a, acc).ok
    return pid


def _same_inodes(text: str) -> str:
    """``text`` with shmem inode numbers (and the padding after them) normalised: the
    live server's kernel has created other shmem files than the local one."""
    return SHMEM_INODE.sub("00:01 INO ", text)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_view_is_engine_text(http: httpx.Client, view: str) -> None:
    local = Kernel().spawn(layout="typical")
    pid = _build(http, local)
    try:
        r = http.get(f"/processes/{pid}/{view}")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        expected = VIEWS[view](local.mm)
        assert _same_inodes(r.text) == _same_inodes(expected)
        if view != "smaps":  # the only view naming an inode
            assert r.content == expected.encode()
    finally:
        http.delete(f"/processes/{pid}")


def test_views_show_the_faulted_pages(http: httpx.Client) -> None:
    pid = _build(http, Kernel().spawn(layout="typical"))
    try:
        rollup = http.get(f"/processes/{pid}/smaps_rollup").text
        assert rollup.splitlines()[0].endswith("[rollup]")
        fields = dict(line.split(":", 1) for line in rollup.splitlines()[1:])
        assert fields["Anonymous"].split() == ["8", "kB"]  # two written private pages
        status = http.get(f"/processes/{pid}/status").text
        assert "RssShmem:\t       4 kB\n" in status and "RssAnon:\t       8 kB\n" in status
    finally:
        http.delete(f"/processes/{pid}")


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_view_of_missing_process_is_404(http: httpx.Client, view: str) -> None:
    r = http.get(f"/processes/4000000/{view}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["pid"] == 4000000
    r = http.get(f"/processes/0/{view}")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.pid"


@pytest.mark.parametrize("view", ["smaps", "smaps_rollup"])
def test_both_smaps_readers_serve_the_same_text_with_their_provenance(
    http: httpx.Client, view: str
) -> None:
    local = Kernel().spawn(layout="typical")
    pid = _build(http, local)
    try:
        texts = {}
        for reader in ("mmap_lock", "per_vma"):
            r = http.get(f"/processes/{pid}/{view}", params={"reader": reader})
            assert r.status_code == 200
            texts[reader] = r.text
            h = r.headers
            assert h["X-Vmasim-Reader"] == reader and h["X-Vmasim-Consistent"] == "true"
            assert int(h["X-Vmasim-Pages-Walked"]) >= 3  # the four faulted, bar the zero page
            held = int(h["X-Vmasim-Hold-Mmap-Lock-Ns"]), int(h["X-Vmasim-Hold-Vma-Ns"])
            assert (held[0] > 0, held[1] > 0) == (reader == "mmap_lock", reader == "per_vma")
            if view == "smaps":
                assert int(h["X-Vmasim-Chunks"]) > 1  # 4 KiB seq_file chunks, as cat reads
        assert texts["mmap_lock"] == texts["per_vma"]
        assert _same_inodes(texts["per_vma"]) == _same_inodes(VIEWS[view](local.mm))
        r = http.get(f"/processes/{pid}/{view}", params={"reader": "seqcount"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.reader"
    finally:
        http.delete(f"/processes/{pid}")
