"""``POST /processes/{pid}/syscalls``: ordered, one result per operation, bounded."""

from __future__ import annotations

from typing import Any

import anyio
import httpx

from app.main import create_app
from app.settings import Settings
from core import Kernel

ANON_FIXED = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]


def test_batch_results_in_order_with_errnos(http: httpx.Client, pid: int) -> None:
    ops: list[dict[str, Any]] = [
        {"op": "open", "path": f"/tmp/batch-{pid}", "size": 8192},
        {
            "op": "mmap",
            "addr": "0x100000000000",
            "length": "0x6000",
            "prot": ["PROT_READ"],
            "flags": ANON_FIXED,
        },
        {"op": "munmap", "addr": 0, "length": 0},
        {"op": "mmap", "length": 8192, "prot": ["PROT_READ"], "flags": ["MAP_SHARED"], "fd": 3},
        {"op": "mprotect", "addr": "0x100000002000", "length": 4096, "prot": ["PROT_NONE"]},
        {
            "op": "mremap",
            "old_addr": "0x100000000000",
            "old_len": 4096,
            "new_len": 4096,
            "flags": ["MREMAP_MAYMOVE", "MREMAP_FIXED"],
            "new_addr": "0x100000100000",
        },
        {"op": "brk", "addr": 0},
        {"op": "close", "fd": 3},
        {"op": "close", "fd": 3},
        {"op": "unlink", "path": f"/tmp/batch-{pid}"},
        {"op": "unlink", "path": f"/tmp/batch-{pid}"},
    ]
    r = http.post(f"/processes/{pid}/syscalls", json={"ops": ops})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["completed"] == len(ops)
    assert out["failed"] == 3
    results = out["results"]
    assert [x["index"] for x in results] == list(range(len(ops)))
    assert [x["op"] for x in results] == [op["op"] for op in ops]
    assert [x["ok"] for x in results] == [
        True,
        True,
        False,
        True,
        True,
        True,
        True,
        True,
        False,
        True,
        False,
    ]
    assert results[0]["fd"] == 3
    assert results[1]["addr"] == "0x100000000000"
    assert (results[2]["errno"], results[2]["errno_name"]) == (22, "EINVAL")
    assert results[5]["addr"] == "0x100000100000"
    assert results[6]["addr"] == "0x555555559000"
    assert results[8]["errno_name"] == "EBADF"
    assert results[10]["errno_name"] == "ENOENT"
    assert "addr" not in results[4]  # null fields are left out

    # The same calls on the engine give the same maps.
    proc = Kernel().spawn()
    fd = proc.open(f"/tmp/batch-{pid}", 2, size=8192)
    proc.mm.mmap(0x100000000000, 0x6000, 1, 0x32)
    proc.mm.mmap(0, 8192, 1, 1, fd=fd)
    proc.mm.mprotect(0x100000002000, 4096, 0)
    proc.mm.mremap(0x100000000000, 4096, 4096, 3, new_addr=0x100000100000)
    proc.unlink(f"/tmp/batch-{pid}")
    got = http.get(f"/processes/{pid}/maps.json").json()["vmas"]
    want = proc.mm.maps().splitlines()
    assert [(v["addr"], v["perms"], v["path"]) for v in got] == [
        (line.split()[0], line.split()[1], line[73:] if len(line) > 73 else "") for line in want
    ]


def test_stop_on_error(http: httpx.Client, pid: int) -> None:
    ops = [
        {"op": "munmap", "addr": 1, "length": 4096},
        {"op": "mmap", "length": 4096, "prot": [], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]},
    ]
    out = http.post(f"/processes/{pid}/syscalls", json={"ops": ops, "stop_on_error": True}).json()
    assert (out["completed"], out["failed"]) == (1, 1)
    assert http.get(f"/processes/{pid}").json()["map_count"] == 0


def test_only_failed_results(http: httpx.Client, pid: int) -> None:
    """``results: "failed"``: the same operations and effects, only the failures listed
    (with their index); a fault that delivered a signal is one; the counts are all."""
    base = 0x100000000000
    ops: list[dict[str, Any]] = [
        {
            "op": "mmap",
            "addr": base,
            "length": 8 * 4096,
            "prot": ["PROT_READ"],
            "flags": ANON_FIXED,
        },
        {"op": "mprotect", "addr": base + 4096, "length": 4096, "prot": ["PROT_NONE"]},
        {"op": "munmap", "addr": base + 1, "length": 4096},  # EINVAL
        {"op": "fault", "addr": base, "access": "read"},
        {"op": "fault", "addr": base, "access": "write"},  # SIGSEGV
        {"op": "mprotect", "addr": base + 3 * 4096, "length": 4096, "prot": ["PROT_NONE"]},
    ]
    r = http.post(f"/processes/{pid}/syscalls", json={"ops": ops, "results": "failed"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["completed"], out["failed"]) == (6, 2)
    assert [(x["index"], x["op"], x["ok"]) for x in out["results"]] == [
        (2, "munmap", False),
        (4, "fault", False),
    ]
    assert out["results"][0]["errno_name"] == "EINVAL"
    assert out["results"][1]["fault"]["outcome"] != "ok"
    assert http.get(f"/processes/{pid}").json()["map_count"] == 5
    # With stop_on_error the count ends at the first failure.
    again = {"ops": ops[2:], "results": "failed", "stop_on_error": True}
    out = http.post(f"/processes/{pid}/syscalls", json=again).json()
    assert (out["completed"], out["failed"], len(out["results"])) == (1, 1, 1)
    bad = http.post(f"/processes/{pid}/syscalls", json={"ops": ops[:1], "results": "some"})
    assert bad.status_code == 422


def test_batch_validation_names_the_op(http: httpx.Client, pid: int) -> None:
    r = http.post(
        f"/processes/{pid}/syscalls",
        json={"ops": [{"op": "munmap", "addr": 0, "length": 4096}, {"op": "fork"}]},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.ops[1]"
    assert "fork" in r.json()["detail"]
    r = http.post(
        f"/processes/{pid}/syscalls",
        json={
            "ops": [{"op": "mmap", "length": 4096, "prot": ["PROT_READ"], "flags": ["MAP_PRIVAT"]}]
        },
    )
    assert r.json()["errors"][0]["field"] == "body.ops[0].mmap.flags[0]"
    assert r.json()["errors"][0]["value"] == "MAP_PRIVAT"
    assert http.post(f"/processes/{pid}/syscalls", json={"ops": []}).status_code == 422
    assert http.get(f"/processes/{pid}").json()["map_count"] == 0


def test_batch_size_limit() -> None:
    app = create_app(Settings(max_batch=3))

    async def main() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            pid = (await c.post("/processes", json={})).json()["pid"]
            op = {"op": "brk", "addr": 0}
            ok = await c.post(f"/processes/{pid}/syscalls", json={"ops": [op] * 3})
            big = await c.post(f"/processes/{pid}/syscalls", json={"ops": [op] * 4})
            return ok, big

    ok, big = anyio.run(main)
    assert ok.status_code == 200 and ok.json()["completed"] == 3
    assert big.status_code == 413
    assert (big.json()["setting"], big.json()["limit"], big.json()["value"]) == (
        "VMASIM_MAX_BATCH",
        3,
        4,
    )
