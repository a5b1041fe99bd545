"""``GET /maps`` and ``/maps.json`` with each reader: the kernel's bytes, and the
snapshot's provenance in headers / in the body."""

from __future__ import annotations

import io
import json

import anyio
import httpx
import pytest

from app.procviews import parse_maps
from app.snapshots import fold, take_snapshot, vma_dicts
from client.cli import EXIT_OK, main
from core import MAP_ANONYMOUS, MAP_PRIVATE, Kernel
from core.maps_reader import CHUNK_SIZE, MapsFile, Reader
from tests.app.conftest import LiveServer
from tests.concurrency import spawn, wait_until

READERS = ["seqcount", "per_vma", "mmap_lock"]
RW = ["PROT_READ", "PROT_WRITE"]
ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]


def _many_vmas(http: httpx.Client, pid: int, n: int) -> None:
    """``n`` one-page VMAs that cannot merge (alternating protections)."""
    ops = [
        {"op": "mmap", "length": 4096, "prot": RW if i % 2 else ["PROT_READ"], "flags": ANON}
        for i in range(n)
    ]
    r = http.post(f"/processes/{pid}/syscalls", json={"ops": ops})
    assert r.status_code == 200 and r.json()["failed"] == 0, r.text


@pytest.mark.parametrize("reader", READERS)
def test_text_is_the_engines_and_headers_describe_the_read(
    http: httpx.Client, pid: int, live_server: LiveServer, reader: Reader
) -> None:
    _many_vmas(http, pid, 150)  # ~ 7 KiB of text: two seq_file chunks
    mm = live_server.service.kernel.get(pid).mm
    r = http.get(f"/processes/{pid}/maps", params={"reader": reader})
    assert r.status_code == 200
    assert r.content == mm.maps().encode()
    h = r.headers
    assert h["x-vmasim-reader"] == reader
    assert int(h["x-vmasim-generation"]) == mm.generation
    assert int(h["x-vmasim-seq-begin"]) == int(h["x-vmasim-seq-end"]) == mm.mmap_lock.seq
    assert int(h["x-vmasim-seq-begin"]) % 2 == 0
    assert h["x-vmasim-fallback"] == "false"
    assert (h["x-vmasim-consistent"], h["x-vmasim-torn"], h["x-vmasim-torn-at"]) == (
        "true",
        "0",
        "",
    )
    chunks = len(list(MapsFile(mm, "per_vma", chunk_size=CHUNK_SIZE)))
    assert chunks >= 2
    walks = chunks if reader == "per_vma" else 1  # one walk per seq_file read
    assert int(h["x-vmasim-chunks"]) == int(h["x-vmasim-attempts"]) == walks
    held = {
        "seqcount": "x-vmasim-hold-rcu-ns",
        "per_vma": "x-vmasim-hold-vma-ns",
        "mmap_lock": "x-vmasim-hold-mmap-lock-ns",
    }[reader]
    assert int(h[held]) > 0
    if reader == "seqcount":  # lockless: never touched mmap_lock
        assert h["x-vmasim-hold-mmap-lock-ns"] == h["x-vmasim-wait-mmap-lock-ns"] == "0"


@pytest.mark.parametrize("reader", READERS)
def test_json_carries_the_same_snapshot(
    http: httpx.Client, pid: int, live_server: LiveServer, reader: Reader
) -> None:
    _many_vmas(http, pid, 3)
    out = http.get(f"/processes/{pid}/maps.json", params={"reader": reader}).json()
    mm = live_server.service.kernel.get(pid).mm
    assert out["count"] == len(out["vmas"]) == len(mm.maps().splitlines())
    assert [v["addr"] for v in out["vmas"]] == [line.split()[0] for line in mm.maps().splitlines()]
    snap = out["snapshot"]
    assert snap["reader"] == reader and snap["consistent"] is True
    assert snap["generation"] == mm.generation and snap["retry_reasons"] == []
    assert snap["seq_begin"] == snap["seq_end"] == mm.mmap_lock.seq


def test_default_reader_is_seqcount(http: httpx.Client, pid: int) -> None:
    assert http.get(f"/processes/{pid}/maps").headers["x-vmasim-reader"] == "seqcount"
    assert http.get(f"/processes/{pid}/maps.json").json()["snapshot"]["reader"] == "seqcount"


def test_seqcount_retries_when_a_writer_runs_during_its_walk(
    live_server: LiveServer, http: httpx.Client, pid: int
) -> None:
    """Hold a seqcount read after its lockless walk, run a munmap (it does not wait
    for the reader), release: the read's validation fails once and the second walk
    returns the new layout, without ever taking mmap_lock."""
    _many_vmas(http, pid, 2)
    addr = int(http.get(f"/processes/{pid}/maps.json").json()["vmas"][0]["start"], 16)
    r = http.post(f"/processes/{pid}/pause-points", json={"name": "maps:seqcount_before_validate"})
    assert r.status_code == 201, r.text

    def read() -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=10) as c:
            return c.get(f"/processes/{pid}/maps.json", params={"reader": "seqcount"})

    reader = spawn(read)
    wait_until(
        lambda: http.get(f"/processes/{pid}/pause-points").json()["held"], what="reader held"
    )
    assert (
        http.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": 4096}).status_code
        == 204
    )
    assert http.post(f"/processes/{pid}/pause-points/release", json={}).json() == {"released": 1}
    out = reader.result().json()
    snap = out["snapshot"]
    assert (snap["attempts"], snap["fell_back"], snap["consistent"]) == (2, False, True)
    assert len(snap["retry_reasons"]) == 1 and "seq moved" in snap["retry_reasons"][0]
    assert snap["hold"]["mmap_lock_read_ns"] == 0
    assert addr not in [int(v["start"], 16) for v in out["vmas"]]  # the new layout


@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        ({"reader": "rcu"}, "query.reader", "rcu"),
        ({"max_retries": "-1"}, "query.max_retries", "-1"),
        ({"max_retries": "1001"}, "query.max_retries", "1001"),
        ({"max_retries": "three"}, "query.max_retries", "three"),
    ],
)
@pytest.mark.parametrize("route", ["maps", "maps.json"])
def test_bad_parameters_are_422_naming_the_value(
    http: httpx.Client, pid: int, route: str, params: dict[str, str], field: str, value: str
) -> None:
    r = http.get(f"/processes/{pid}/{route}", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["errors"][0]["field"] == field
    assert problem["errors"][0]["value"] == value
    assert value in problem["detail"]


@pytest.mark.parametrize("route", ["maps", "maps.json"])
def test_missing_process_is_404_for_every_reader(http: httpx.Client, route: str) -> None:
    for reader in READERS:
        r = http.get(f"/processes/999998/{route}", params={"reader": reader})
        assert r.status_code == 404
        assert r.json()["pid"] == 999998


def test_cli_maps_with_reader_and_headers(
    live_server: LiveServer, http: httpx.Client, pid: int, capsys: pytest.CaptureFixture[str]
) -> None:
    _many_vmas(http, pid, 2)
    out = io.StringIO()
    argv = ["--url", live_server.url, "maps", str(pid), "--reader", "mmap_lock", "--headers"]
    assert main(argv, out=out) == EXIT_OK
    assert out.getvalue() == live_server.service.kernel.get(pid).mm.maps()
    err = capsys.readouterr().err
    assert "# reader: mmap_lock\n" in err and "# attempts: 1\n" in err
    out = io.StringIO()
    assert (
        main(["--url", live_server.url, "maps", str(pid), "--json", "--reader", "per_vma"], out=out)
        == 0
    )
    assert json.loads(out.getvalue())["snapshot"]["reader"] == "per_vma"


@pytest.mark.parametrize("reader", READERS)
def test_take_snapshot_checks_out(reader: Reader) -> None:
    proc = Kernel().spawn(layout="typical")
    for i in range(200):
        proc.mm.mmap(0, 4096, 1 | (2 if i % 2 else 0), MAP_PRIVATE | MAP_ANONYMOUS)
    snap = anyio.run(take_snapshot, proc.mm, reader, 3)
    snap._check()
    assert snap.text == proc.mm.maps()


def test_fold_marks_a_chunk_read_after_a_write_as_torn() -> None:
    """per_vma chunks are separate reads: a write between two of them makes the first
    line of the later chunk torn, and the folded snapshot inconsistent."""
    mm = Kernel().spawn(layout="typical").mm
    for i in range(200):
        mm.mmap(0, 4096, 1 | (2 if i % 2 else 0), MAP_PRIVATE | MAP_ANONYMOUS)
    f = MapsFile(mm, "per_vma")
    first = f.read()
    mm.mmap(0, 4096, 1, MAP_PRIVATE | MAP_ANONYMOUS)  # a write cycle between the reads
    rest = list(f)
    snap = fold([first, *rest], "per_vma")
    snap._check()
    assert snap.meta.torn_at == [len(first.lines)]
    assert (snap.meta.consistent, snap.meta.chunks) == (False, 1 + len(rest))
    assert snap.meta.seq_begin < snap.meta.seq_end
    unchanged = fold(list(MapsFile(mm, "per_vma")), "per_vma")
    unchanged._check()
    assert unchanged.meta.consistent and unchanged.text == mm.maps()


def test_vma_dicts_equal_the_schema_parser() -> None:
    """The fast /maps.json serialiser gives exactly parse_maps' fields, on names with
    spaces, escapes, (deleted), a header longer than the name column, and no name."""
    proc = Kernel().spawn(layout="typical")
    text = proc.mm.maps() + (
        "7f0000000000-7f0000001000 rw-s 00000000 00:01 5  /dev/zero (deleted)\n"
        "7f0000001000-7f0000002000 r--p 00001000 fe:00 12 /tmp/a b\\012c\n"
        "ffffffffff600000-ffffffffff601000 r-xp 123456789 abc:def 123456789012345  /x y\n"
        "7f0000002000-7f0000003000 ---p 00000000 00:00 0 \n"
    )
    assert vma_dicts(text) == [v.model_dump() for v in parse_maps(text)]
