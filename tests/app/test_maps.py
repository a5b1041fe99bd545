"""``/maps`` is the engine's text byte for byte; ``/maps.json`` the same snapshot."""

from __future__ import annotations

import httpx

from app.procviews import parse_maps_line
from tests.app.conftest import LiveServer


def test_maps_is_byte_identical_to_engine(
    http: httpx.Client, pid: int, live_server: LiveServer
) -> None:
    path = f"/tmp/maps test\nnewline-{pid}"  # a newline in a path is printed as \012
    fd = http.post(f"/processes/{pid}/files", json={"path": path, "size": 4096}).json()["fd"]
    http.post(
        f"/processes/{pid}/syscalls",
        json={
            "ops": [
                {
                    "op": "mmap",
                    "length": 4096,
                    "prot": ["PROT_READ"],
                    "flags": ["MAP_PRIVATE"],
                    "fd": fd,
                },
                {
                    "op": "mmap",
                    "length": 4096,
                    "prot": ["PROT_READ"],
                    "flags": ["MAP_SHARED", "MAP_ANONYMOUS"],
                },
                {
                    "op": "mmap",
                    "length": 8192,
                    "prot": ["PROT_READ", "PROT_WRITE"],
                    "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"],
                },
                {"op": "brk", "addr": "0x55555555b000"},
            ]
        },
    )
    r = http.get(f"/processes/{pid}/maps")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    engine = live_server.service.kernel.get(pid).mm.maps()
    assert r.content == engine.encode()
    assert "\\012" in r.text and "[heap]" in r.text and "/dev/zero (deleted)" in r.text


def test_maps_json_fields(http: httpx.Client, pid: int) -> None:
    http.post(f"/processes/{pid}/brk", json={"addr": "0x55555555b000"})
    text = http.get(f"/processes/{pid}/maps").text
    out = http.get(f"/processes/{pid}/maps.json").json()
    assert out["pid"] == pid
    assert out["count"] == len(out["vmas"]) == len(text.splitlines())
    heap, gate = out["vmas"]
    assert heap == {
        "addr": "555555559000-55555555b000",
        "start": "0x555555559000",
        "end": "0x55555555b000",
        "perms": "rw-p",
        "offset": "0x0",
        "dev": "00:00",
        "inode": 0,
        "path": "[heap]",
        "size": 8192,
    }
    assert gate["path"] == "[vsyscall]" and gate["perms"] == "--xp"


def test_parse_line_with_header_longer_than_the_name_column() -> None:
    # A 73-character header: the kernel pads nothing and adds one space before the name.
    line = "ffffffffff600000-ffffffffff601000 r-xp 123456789 abc:def 123456789012345  /x y"
    vma = parse_maps_line(line)
    assert (vma.path, vma.inode, vma.dev) == ("/x y", 123456789012345, "abc:def")
    assert vma.offset == "0x123456789"


def test_maps_of_missing_process(http: httpx.Client) -> None:
    for route in ("maps", "maps.json"):
        r = http.get(f"/processes/999999/{route}")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
