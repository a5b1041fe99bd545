"""Maps bodies are sent in bounded pieces: ``/maps``, ``/maps.json``, ``/smaps`` and the
streams of a process with many VMAs never hold its whole text, or its whole JSON, in the
server (smaps keeps its blocks, one string per VMA, but never joins or encodes them).

The bound is asserted on what the body generators allocate (``tracemalloc``) and on the
size of each piece, not on time. The big runs (2,200,000 VMAs) are in
``bench/bench_million.py``."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Iterable, Iterator

import anyio
import httpx
import pydantic_core
import pytest

from app.routes import stream
from app.schemas.maps import MapsStreamItem
from app.snapshots import (
    BODY_CHUNK,
    json_chunks,
    json_text_chunks,
    overview,
    take_snapshot,
    text_chunks,
    vma_dicts,
)
from core import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Kernel, Mm
from core.maps_reader import read_smaps
from tests.app.conftest import LiveServer

N_VMAS = 40_000
"""Enough VMAs that the whole JSON (about 9 MB) is many times every bound below."""


def _arena(mm: Mm, n: int) -> None:
    """``n`` one-page VMAs, alternating rw-p / r--p (nothing merges), plus odd names."""
    base = mm.mmap(0, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(1, n, 2):
        mm.mprotect(base + i * PAGE_SIZE, PAGE_SIZE, PROT_READ)


@pytest.fixture(scope="module")
def big_mm() -> Mm:
    kernel = Kernel()
    proc = kernel.spawn(layout="typical")
    _arena(proc.mm, N_VMAS)
    return proc.mm


def _peak_while(pieces: Iterable[bytes]) -> tuple[int, int, int]:
    """(peak bytes allocated while consuming ``pieces``, largest piece, total bytes);
    each piece is dropped before the next is asked for, as a server sends them."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        largest = total = 0
        for piece in pieces:
            largest = max(largest, len(piece))
            total += len(piece)
            del piece
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, largest, total


def test_pieces_join_to_the_whole_bodies(big_mm: Mm) -> None:
    snap = anyio.run(take_snapshot, big_mm, "seqcount", 3)
    text = big_mm.maps()
    assert snap.text == text and snap.line_count == big_mm.map_count + 1 > N_VMAS
    small = 4096
    pieces = list(text_chunks(snap.lines, small))
    assert b"".join(pieces) == text.encode()
    assert len(pieces) > 100 and max(map(len, pieces)) <= small
    head = {"pid": 7, "count": snap.line_count}
    whole = pydantic_core.to_json({**head, "vmas": vma_dicts(text)})
    assert b"".join(json_chunks(head, snap.lines, small)) == whole
    assert b"".join(json_chunks({}, snap.lines[:3], small)) == pydantic_core.to_json(
        {"vmas": vma_dicts("".join(snap.lines[:3]))}
    )
    assert b"".join(json_chunks({}, (), small)) == b'{"vmas":[]}'
    assert b"".join(json_text_chunks(snap.lines, small)) == pydantic_core.to_json(text)


def test_a_path_with_escapes_and_unicode_survives_the_pieces() -> None:
    lines = [f"7f00{i:08x}-7f00{i + 1:08x} r--p 00000000 00:00 0 \n" for i in range(50)]
    lines[10] = lines[10][:-1] + ' "quoted" \\ tab\t é ✓ \\012\n'
    text = "".join(lines)
    assert b"".join(json_text_chunks(lines, 64)) == pydantic_core.to_json(text)
    assert b"".join(text_chunks(lines, 64)) == text.encode()


def test_the_bodies_are_built_in_bounded_memory(big_mm: Mm) -> None:
    snap = anyio.run(take_snapshot, big_mm, "seqcount", 3)
    head = {"pid": 1, "count": snap.line_count}
    text_bytes = len(snap.text.encode())
    peak, largest, total = _peak_while(text_chunks(snap.lines))
    assert total == text_bytes > 16 * BODY_CHUNK
    assert largest <= BODY_CHUNK and peak < 4 * BODY_CHUNK, (largest, peak)
    peak, largest, total = _peak_while(json_chunks(head, snap.lines))
    assert total > 64 * BODY_CHUNK  # the whole JSON
    # One piece: the dictionaries of BODY_CHUNK characters of lines and their JSON.
    assert largest <= 5 * BODY_CHUNK and peak < 32 * BODY_CHUNK, (largest, peak, total)
    peak, largest, total = _peak_while(json_text_chunks(snap.lines))
    assert largest <= 2 * BODY_CHUNK and peak < 6 * BODY_CHUNK, (largest, peak)


def test_a_snapshot_shares_the_engines_lines(big_mm: Mm) -> None:
    """The snapshot is references to the VMAs' cached lines, not a copy of the text
    (only ``[heap]`` and ``[stack]``, whose names depend on brk, are built per read)."""
    big_mm.maps()  # every line cached
    snap = anyio.run(take_snapshot, big_mm, "seqcount", 3)
    again = anyio.run(take_snapshot, big_mm, "mmap_lock", 3)
    copies = [a for a, b in zip(snap.lines, again.lines, strict=True) if a is not b]
    assert len(copies) <= 2 and all("[heap]" in a or "[stack]" in a for a in copies), copies


def _big_live_process(live_server: LiveServer, http: httpx.Client, n: int) -> tuple[int, Mm]:
    r = http.post("/processes", json={"name": "chunks"})
    assert r.status_code == 201, r.text
    pid = int(r.json()["pid"])
    mm = live_server.service.kernel.get(pid).mm
    _arena(mm, n)
    return pid, mm


def _raw(r: httpx.Response) -> Iterator[bytes]:
    yield from r.iter_raw(4096)  # a client reading 4 KiB at a time


def test_live_bodies_are_chunked_and_whole(live_server: LiveServer, http: httpx.Client) -> None:
    pid, mm = _big_live_process(live_server, http, 5000)
    try:
        with http.stream("GET", f"/processes/{pid}/maps") as r:
            assert r.status_code == 200 and r.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in r.headers and r.headers["x-vmasim-consistent"] == "true"
            assert b"".join(_raw(r)).decode() == mm.maps()
        with http.stream("GET", f"/processes/{pid}/maps.json") as r:
            assert r.headers["transfer-encoding"] == "chunked"
            body = json.loads(b"".join(_raw(r)))
        assert body["count"] == len(body["vmas"]) == mm.map_count + 1
        assert body["vmas"] == vma_dicts(mm.maps()) and body["snapshot"]["consistent"]
        url = f"/processes/{pid}/maps/stream"
        with http.stream("GET", url, params={"count": 1, "format": "text"}) as r:
            (item,) = [json.loads(line) for line in r.iter_lines() if line]
        assert item["text"] == mm.maps() and item["vmas"] is None and item["index"] == 0
        for reader in ("mmap_lock", "per_vma"):  # smaps: about 1 KiB per VMA
            with http.stream("GET", f"/processes/{pid}/smaps", params={"reader": reader}) as r:
                assert r.status_code == 200 and r.headers["transfer-encoding"] == "chunked"
                assert r.headers["x-vmasim-reader"] == reader
                text = b"".join(_raw(r)).decode()
            assert text == read_smaps(mm, reader).text and len(text) > 16 * BODY_CHUNK
    finally:
        http.delete(f"/processes/{pid}")


def test_an_idle_event_stream_sends_keepalives(
    live_server: LiveServer, http: httpx.Client, pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "PING_INTERVAL", 0.05)
    url = f"/processes/{pid}/maps/events"
    with http.stream("GET", url, params={"count": 2, "interval": 0.5}) as r:
        lines = list(r.iter_lines())
    assert lines.count(": ping") >= 2, lines[:20]
    events = [ln for ln in lines if ln.startswith("event: ")]
    assert events == ["event: snapshot", "event: snapshot", "event: end"]
    assert lines.index(": ping") > lines.index("event: snapshot")


def test_overview_groups_cover_every_line_once() -> None:
    kernel = Kernel()
    mm = kernel.spawn(layout="typical").mm
    _arena(mm, 1001)
    snap = anyio.run(take_snapshot, mm, "seqcount", 3)
    lines = snap.lines
    groups = overview(lines, 10)
    body, gate = groups[:-1], groups[-1]
    assert len(body) == 10 and sum(g["vmas"] for g in body) == mm.map_count
    assert gate["vmas"] == 1 and gate["line"].endswith("[vsyscall]")
    assert sum(g["size"] for g in groups) == sum(
        int(ln[ln.index("-") + 1 : ln.index(" ")], 16) - int(ln[: ln.index("-")], 16)
        for ln in lines
    )
    k = 0
    for g in groups:  # each run: its first line as printed, its last line's end
        assert g["line"] + "\n" == lines[k]
        last = lines[k + g["vmas"] - 1]
        assert g["end"] == "0x" + last[last.index("-") + 1 : last.index(" ")]
        k += g["vmas"]
    assert k == len(lines)
    assert len(overview(lines, 100_000)) == len(lines)  # never more runs than lines
    assert overview((), 5) == []


def test_live_overview_stream(live_server: LiveServer, http: httpx.Client) -> None:
    """format=overview: from the tree with seqcount and mmap_lock (a second read of the
    same layout reuses the sums), from the lines with per_vma; the runs the text gives
    in every case, SSE and JSON Lines alike."""
    pid, mm = _big_live_process(live_server, http, 3000)
    try:
        expect = overview(mm.maps().splitlines(True), 64)
        url = f"/processes/{pid}/maps/events"
        params: dict[str, str | int] = {"count": 1, "format": "overview", "groups": 64}
        seen = []
        for reader in ("seqcount", "seqcount", "mmap_lock", "per_vma"):
            with http.stream("GET", url, params={**params, "reader": reader}) as r:
                data = [ln[6:] for ln in r.iter_lines() if ln.startswith("data: ")]
            item = json.loads(data[0])
            MapsStreamItem.model_validate(item)
            assert item["vmas"] is None and item["text"] is None
            assert item["count"] == mm.map_count + 1
            assert (
                len(item["groups"]) == 65
                and sum(g["vmas"] for g in item["groups"]) == item["count"]
            )
            assert item["groups"] == expect, reader
            assert item["snapshot"]["reader"] == reader and item["snapshot"]["consistent"]
            seen.append(item["overview"])
        assert seen == [
            {"source": "tree", "reused": False},
            {"source": "tree", "reused": True},
            {"source": "tree", "reused": True},
            {"source": "lines", "reused": False},
        ]
        with http.stream("GET", f"/processes/{pid}/maps/stream", params=params) as r:
            (item,) = [json.loads(line) for line in r.iter_lines() if line]
        assert item["groups"] == expect and item["overview"]["source"] == "tree"
        for fmt in ("vmas", "text"):
            with http.stream("GET", url, params={"count": 1, "format": fmt}) as r:
                data = [ln[6:] for ln in r.iter_lines() if ln.startswith("data: ")]
            assert json.loads(data[0])["overview"] is None
        r = http.get(url, params={"format": "overview", "groups": 0})
        assert r.status_code == 422
    finally:
        http.delete(f"/processes/{pid}")
