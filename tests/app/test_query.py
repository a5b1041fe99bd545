"""``GET /processes/{pid}/vma`` and ``POST /processes/{pid}/vma/batch`` (PROCMAP_QUERY):
the engine's answers for the same layout, and the error model (ENOENT 404, EINVAL and
ENAMETOOLONG 422, validation naming field and value, batch bound 413)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from app.main import create_app
from app.routes.query import query_out
from app.settings import Settings
from core import (
    PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
    PROCMAP_QUERY_FILE_BACKED_VMA,
    PROCMAP_QUERY_VMA_EXECUTABLE,
    Kernel,
    Process,
    procmap_query,
    procmap_query_batch,
)


@pytest.fixture
def typical(http: httpx.Client) -> Iterator[tuple[int, Process]]:
    """A typical-layout process over REST, and the same layout in a local kernel."""
    pid = http.post("/processes", json={"layout": "typical"}).json()["pid"]
    yield pid, Kernel().spawn(layout="typical")
    http.delete(f"/processes/{pid}")


def _vmas(http: httpx.Client, pid: int) -> list[dict[str, str]]:
    vmas: list[dict[str, str]] = http.get(f"/processes/{pid}/maps.json").json()["vmas"]
    return [v for v in vmas if v["path"] != "[vsyscall]"]


def test_query_matches_engine(http: httpx.Client, typical: tuple[int, Process]) -> None:
    pid, local = typical
    vmas = _vmas(http, pid)
    heap = next(v for v in vmas if v["path"] == "[heap]")
    addr = int(heap["start"], 16) + 0x123
    r = http.get(f"/processes/{pid}/vma", params={"addr": hex(addr)})
    assert r.status_code == 200, r.text
    expected = query_out(procmap_query(local.mm, addr))
    # The lock path may differ between two runs only under contention: not here.
    assert r.json() == expected.model_dump()
    assert r.json()["name"] == "[heap]" and r.json()["name_size"] == len("[heap]") + 1
    # Decimal addresses work too.
    assert http.get(f"/processes/{pid}/vma", params={"addr": str(addr)}).json() == r.json()

    # The next executable file-backed VMA above the first VMA's start.
    flags = ["COVERING_OR_NEXT_VMA", "procmap_query_file_backed_vma", "VMA_EXECUTABLE"]
    r = http.get(f"/processes/{pid}/vma", params={"addr": 0, "flags": flags, "name": "false"})
    bits = (
        PROCMAP_QUERY_COVERING_OR_NEXT_VMA
        | PROCMAP_QUERY_FILE_BACKED_VMA
        | PROCMAP_QUERY_VMA_EXECUTABLE
    )
    want = query_out(procmap_query(local.mm, 0, bits, want_name=False)).model_dump()
    assert r.json() == want
    assert r.json()["name"] is None and "VMA_EXECUTABLE" in r.json()["flags"]
    assert r.json()["inode"] != 0 and r.json()["dev"] != "00:00"


def test_query_errors(http: httpx.Client, typical: tuple[int, Process]) -> None:
    pid, _ = typical
    url = f"/processes/{pid}/vma"
    r = http.get(url, params={"addr": "0x1000"})  # below every VMA: ENOENT
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert (problem["errno"], problem["errno_name"]) == (2, "ENOENT")
    assert problem["type"] == "urn:vmasim:problem:no-matching-vma"

    r = http.get(url, params={"addr": "0x1000", "flags": ["0x40"]})  # unknown bit: EINVAL
    assert r.status_code == 422 and r.json()["errno_name"] == "EINVAL"

    heap = next(v for v in _vmas(http, pid) if v["path"] == "[heap]")
    r = http.get(url, params={"addr": heap["start"], "name_size": 3})
    assert r.status_code == 422 and r.json()["errno_name"] == "ENAMETOOLONG"

    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"addr": "0x1000", "flags": ["VMA_READABLE", "BOGUS"]}, "query.flags[1]", "BOGUS"),
        ({"addr": "0xfoo"}, "query.addr", "0xfoo"),
        ({"addr": str(1 << 64)}, "query.addr", str(1 << 64)),
        ({"addr": "0", "name_size": 0}, "query.name_size", "0"),
    ]
    for params, field, value in cases:
        r = http.get(url, params=params)
        assert r.status_code == 422, (params, r.text)
        err = r.json()["errors"][0]
        assert (err["field"], err["value"]) == (field, value), err
    r = http.get(url)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.addr"
    assert http.get("/processes/4000000/vma", params={"addr": 0}).status_code == 404


def test_batch_matches_engine(http: httpx.Client, typical: tuple[int, Process]) -> None:
    pid, local = typical
    vmas = _vmas(http, pid)
    addrs = [int(v["start"], 16) for v in vmas] + [int(v["end"], 16) - 1 for v in vmas]
    addrs += [0x1000, 1 << 47]  # a hole below everything, and above everything
    addrs.reverse()  # the answer keeps the input order
    r = http.post(f"/processes/{pid}/vma/batch", json={"addrs": [hex(a) for a in addrs]})
    assert r.status_code == 200, r.text
    out = r.json()
    expected = procmap_query_batch(local.mm, addrs)
    assert out["count"] == len(addrs)
    assert out["found"] == sum(e is not None for e in expected) == 2 * len(vmas)
    assert out["queries"] == len(vmas)
    assert [v["start"] for v in out["vmas"]] == [v["start"] for v in vmas]  # address order
    for i, e in zip(out["index"], expected, strict=True):
        if e is None:
            assert i is None
        else:
            assert out["vmas"][i] == query_out(e).model_dump()
    # Filtered: only writable VMAs resolve.
    r = http.post(
        f"/processes/{pid}/vma/batch",
        json={"addrs": addrs, "flags": ["VMA_WRITABLE"], "name": False},
    )
    out = r.json()
    assert all("VMA_WRITABLE" in v["flags"] and v["name"] is None for v in out["vmas"])
    assert out["found"] == 2 * sum(v["perms"][1] == "w" for v in vmas)


def test_batch_bad_input() -> None:
    app = create_app(Settings(max_batch=3))

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            pid = (await c.post("/processes", json={"layout": "typical"})).json()["pid"]
            url = f"/processes/{pid}/vma/batch"
            return [
                await c.post(url, json={"addrs": [0, 1, 2, 3]}),
                await c.post(url, json={"addrs": [0, "0xnope"]}),
                await c.post(url, json={"addrs": []}),
                await c.post(url, json={"addrs": [0], "flags": ["NOPE"]}),
                await c.post(url, json={"addrs": [0], "flags": ["0x40"]}),
            ]

    big, bad_addr, empty, bad_flag, einval = anyio.run(main)
    assert big.status_code == 413
    assert (big.json()["setting"], big.json()["value"]) == ("VMASIM_MAX_BATCH", 4)
    err = bad_addr.json()["errors"][0]
    assert bad_addr.status_code == 422 and (err["field"], err["value"]) == (
        "body.addrs[1]",
        "0xnope",
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body.addrs"
    err = bad_flag.json()["errors"][0]
    assert (err["field"], err["value"]) == ("body.flags[0]", "NOPE")
    assert 'unknown PROCMAP_QUERY flag "NOPE"' in err["message"]
    assert einval.status_code == 422 and einval.json()["errno_name"] == "EINVAL"
