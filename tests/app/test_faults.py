"""``POST /processes/{pid}/faults`` and the batch ``fault``/``touch`` ops, each checked
against the engine running the same calls in a fresh local process (same empty layout,
so the same addresses and the same fault results)."""

from __future__ import annotations

import random
from functools import partial
from typing import Any, get_args

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from app.main import create_app
from app.ops import fault_fields, fault_out
from app.schemas.common import hex_addr
from app.schemas.faults import FaultOut
from app.settings import Settings
from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_GROWSDOWN,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    Kernel,
)
from core.fault import Access, FaultOutcome, FaultPath, FaultResult, SiCode
from core.pages import PageName
from tests.app.conftest import LiveServer
from tests.concurrency import spawn

ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
RW = ["PROT_READ", "PROT_WRITE"]
BASE = 0x100000000000


def _mmap(http: httpx.Client, pid: int, addr: int, pages: int, prot: list[str], flags: list[str]):
    r = http.post(
        f"/processes/{pid}/mmap",
        json={"addr": addr, "length": pages * PAGE_SIZE, "prot": prot, "flags": flags},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["addr"], 16)


def test_faults_match_engine(http: httpx.Client, pid: int) -> None:
    """Every outcome and path the route reports is the engine's for the same faults."""
    mm = Kernel().spawn().mm
    fixed = [*ANON, "MAP_FIXED"]
    _mmap(http, pid, BASE, 4, RW, fixed)
    mm.mmap(BASE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    _mmap(http, pid, BASE + 0x10000, 2, ["PROT_READ", "PROT_EXEC"], fixed)
    mm.mmap(
        BASE + 0x10000,
        2 * PAGE_SIZE,
        PROT_READ | PROT_EXEC,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    )
    stack = BASE + 0x200000
    _mmap(http, pid, stack, 2, RW, [*fixed, "MAP_GROWSDOWN"])
    mm.mmap(
        stack,
        2 * PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
    )
    cases: list[tuple[int, Access]] = [
        (BASE + 0x10, "write"),  # new anonymous page under the VMA lock
        (BASE + 0x10, "write"),  # already mapped: spurious
        (BASE + PAGE_SIZE, "read"),  # the zero page
        (BASE + 0x10000, "exec"),
        (BASE + 0x10000, "write"),  # SEGV_ACCERR
        (BASE + 0x8000, "read"),  # hole: SEGV_MAPERR after falling back to mmap_lock
        (stack - PAGE_SIZE, "write"),  # below a MAP_GROWSDOWN VMA: stack expanded
        (1 << 47, "read"),  # not a user address: no lock
    ]
    seen_paths = set()
    for addr, access in cases:
        r = http.post(f"/processes/{pid}/faults", json={"addr": hex(addr), "access": access})
        assert r.status_code == 200, r.text
        expected = fault_out(mm.fault(addr, access)).model_dump()
        assert r.json() == expected, (hex(addr), access)
        seen_paths.add((r.json()["path"], r.json()["outcome"], r.json()["si_code"]))
    assert {
        ("vma_lock", "ok", None),
        ("vma_lock", "SIGSEGV", "SEGV_ACCERR"),
        ("mmap_lock", "SIGSEGV", "SEGV_MAPERR"),
        ("stack_expanded", "ok", None),
        ("none", "SIGSEGV", "SEGV_MAPERR"),
    } <= seen_paths
    # The stack grew by the page: the maps text shows it.
    assert (
        f"{stack - PAGE_SIZE:x}-{stack + 2 * PAGE_SIZE:x} rw-p"
        in http.get(f"/processes/{pid}/maps").text
    )


def test_fault_bad_input_names_field_and_value(http: httpx.Client, pid: int) -> None:
    url = f"/processes/{pid}/faults"
    for body, field, value in [
        ({"addr": 4096, "access": "jump"}, "body.access", "jump"),
        ({"addr": "0xzz", "access": "read"}, "body.addr", "0xzz"),
        ({"addr": 1 << 64}, "body.addr", 1 << 64),
        ({"addr": -1}, "body.addr", -1),
        ({"access": "read"}, "body.addr", ...),  # missing: the message says so
        ({"addr": 0, "size": 1}, "body.size", 1),
    ]:
        r = http.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        errors = r.json()["errors"]
        assert errors[0]["field"] == field, errors
        if value is not ...:
            assert errors[0]["value"] == value, errors
        else:
            assert errors[0]["message"] == 'required, but missing: send "addr"', errors
            assert "value" not in errors[0], errors
    r = http.post("/processes/4000000/faults", json={"addr": 0})
    assert r.status_code == 404 and r.json()["pid"] == 4000000
    assert http.get(f"/processes/{pid}").json()["map_count"] == 0


def test_fault_lookups_answer_before_the_body_and_change_nothing(
    http: httpx.Client, pid: int
) -> None:
    """The route's one dependency (``app.deps.TargetDep``) finds the machine and the
    process before the body is validated: a missing process is a 404 even with a bad
    body; a malformed pid or machine id is a 422 naming it; an unknown machine a 404.
    None of them faults anything."""
    before = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]
    r = http.post("/processes/4000000/faults", json={"addr": "0xzz"})
    assert r.status_code == 404 and r.json()["pid"] == 4000000, r.text
    for path, field in [
        (f"/processes/0{pid}/faults", "path.pid"),
        ("/processes/0/faults", "path.pid"),
        (f"/machines/no%20such/processes/{pid}/faults", "path.machine"),
    ]:
        r = http.post(path, json={"addr": 0, "access": "write"})
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in r.json()["errors"]] == [field], (path, r.text)
    r = http.post(f"/machines/nosuch/processes/{pid}/faults", json={"addr": 0})
    assert r.status_code == 404 and r.json()["type"].endswith("no-such-machine"), r.text
    after = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]
    assert after == before


def test_batch_fault_and_touch_ops(http: httpx.Client, pid: int) -> None:
    mm = Kernel().spawn().mm
    addr = _mmap(http, pid, 0, 8, RW, ANON)
    assert mm.mmap(0, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS) == addr
    ops: list[dict[str, Any]] = [
        {"op": "fault", "addr": addr, "access": "read"},
        {"op": "touch", "addr": hex(addr + 0x10), "length": 8 * PAGE_SIZE - 0x10},
        # Runs past the end: 8 pages, then SIGSEGV at the first page above.
        {"op": "touch", "addr": addr, "length": 10 * PAGE_SIZE, "access": "read"},
        {"op": "fault", "addr": addr - PAGE_SIZE, "access": "write"},
        {"op": "touch", "addr": addr - PAGE_SIZE, "length": 2 * PAGE_SIZE, "stop_on_signal": False},
    ]
    r = http.post(f"/processes/{pid}/syscalls", json={"ops": ops})
    assert r.status_code == 200, r.text
    out = r.json()
    results = out["results"]
    assert out["completed"] == 5 and out["failed"] == 3
    assert results[0]["ok"] and results[0]["fault"] == fault_out(mm.fault(addr, "read")).model_dump(
        exclude_none=True
    )
    # Engine side of the touches.
    for page in range(8):
        assert mm.fault(addr + 0x10 if page == 0 else addr + page * PAGE_SIZE, "write").ok
    assert results[1] == {
        "index": 1,
        "op": "touch",
        "ok": True,
        "touch": {"faults": 8, "ok": 8, "major": 0, "vma_lock": 8, "signals": 0},
    }
    touch = results[2]["touch"]
    assert not results[2]["ok"]
    assert (touch["faults"], touch["ok"], touch["signals"]) == (9, 8, 1)
    assert touch["first_signal"]["addr"] == hex(addr + 8 * PAGE_SIZE)
    assert touch["first_signal"]["si_code"] == "SEGV_MAPERR"
    assert results[3]["fault"]["outcome"] == "SIGSEGV" and not results[3]["ok"]
    touch = results[4]["touch"]
    assert (touch["faults"], touch["ok"], touch["signals"]) == (2, 1, 1)
    # 8 anonymous pages resident, as in the engine.
    assert http.get(f"/processes/{pid}/statm").text.split()[1] == "8"
    assert mm.rss_stat[1] == 8


def test_batch_stop_on_error_stops_at_a_signal(http: httpx.Client, pid: int) -> None:
    ops = [
        {"op": "fault", "addr": BASE, "access": "read"},
        {"op": "brk", "addr": 0},
    ]
    r = http.post(f"/processes/{pid}/syscalls", json={"ops": ops, "stop_on_error": True})
    assert r.json()["completed"] == 1 and r.json()["failed"] == 1


def test_touch_validation(http: httpx.Client, pid: int) -> None:
    url = f"/processes/{pid}/syscalls"
    r = http.post(url, json={"ops": [{"op": "touch", "addr": BASE, "length": 0}]})
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "body.ops[0].touch" and "length 0" in err["message"]
    r = http.post(url, json={"ops": [{"op": "touch", "addr": BASE, "length": 1, "access": "x"}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.ops[0].touch.access"


def _run_small(settings: Settings, fn: Any) -> Any:
    app = create_app(settings)

    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await fn(c)

    return anyio.run(main)


def test_resident_page_limit_is_409_and_maps_nothing() -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        pid = (await c.post("/processes", json={})).json()["pid"]
        body = {"addr": BASE, "length": 4 * PAGE_SIZE, "prot": RW, "flags": [*ANON, "MAP_FIXED"]}
        assert (await c.post(f"/processes/{pid}/mmap", json=body)).status_code == 200
        out = []
        for page in range(3):
            out.append(
                await c.post(
                    f"/processes/{pid}/faults",
                    json={"addr": BASE + page * PAGE_SIZE, "access": "write"},
                )
            )
        out.append(await c.get(f"/processes/{pid}/statm"))
        touch = {"op": "touch", "addr": BASE, "length": 4 * PAGE_SIZE}
        out.append(await c.post(f"/processes/{pid}/syscalls", json={"ops": [touch]}))
        return out

    first, second, third, statm, batch = _run_small(Settings(max_resident_pages=2), scenario)
    assert first.status_code == second.status_code == 200
    assert third.status_code == 409, third.text
    problem = third.json()
    assert third.headers["content-type"] == "application/problem+json"
    assert (problem["setting"], problem["limit"], problem["addr"]) == (
        "VMASIM_MAX_RESIDENT_PAGES",
        2,
        hex(BASE + 2 * PAGE_SIZE),
    )
    assert statm.text.split()[1] == "2"  # resident pages: the refused fault mapped nothing
    result = batch.json()["results"][0]
    assert not result["ok"] and result["error"] == "ResidentLimitExceeded"


def test_touch_pages_limit() -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        pid = (await c.post("/processes", json={})).json()["pid"]
        ok = {"op": "touch", "addr": BASE + 1, "length": 2 * PAGE_SIZE - 1, "access": "read"}
        big = {"op": "touch", "addr": BASE + 1, "length": 2 * PAGE_SIZE, "access": "read"}
        return [
            await c.post(f"/processes/{pid}/syscalls", json={"ops": [ok]}),
            await c.post(f"/processes/{pid}/syscalls", json={"ops": [ok, ok]}),
            await c.post(f"/processes/{pid}/syscalls", json={"ops": [big]}),
        ]

    ok, two, big = _run_small(Settings(max_batch_pages=2), scenario)
    assert ok.status_code == 200 and ok.json()["results"][0]["touch"]["faults"] == 1
    for r, value in ((two, 4), (big, 3)):
        assert r.status_code == 413, r.text
        assert (r.json()["setting"], r.json()["limit"], r.json()["value"]) == (
            "VMASIM_MAX_BATCH_PAGES",
            2,
            value,
        )


@pytest.mark.parametrize("access", ["read", "write", "exec"])
def test_fault_on_typical_layout_text(http: httpx.Client, access: str) -> None:
    """On the typical layout the program text is r-xp: exec and read succeed, write is
    SEGV_ACCERR; the result names the text VMA."""
    pid = http.post("/processes", json={"layout": "typical"}).json()["pid"]
    try:
        text = next(
            v
            for v in http.get(f"/processes/{pid}/maps.json").json()["vmas"]
            if v["perms"] == "r-xp"
        )
        r = http.post(f"/processes/{pid}/faults", json={"addr": text["start"], "access": access})
        out = r.json()
        assert (out["vma_start"], out["vma_end"]) == (text["start"], text["end"])
        assert out["ok"] == (access != "write")
        assert out["si_code"] == (None if access != "write" else "SEGV_ACCERR")
    finally:
        http.delete(f"/processes/{pid}")


def test_fault_racing_munmap_over_rest(
    http: httpx.Client, live_server: LiveServer, pid: int
) -> None:
    """A fault request parked after its RCU walk found the VMA (engine pause point
    ``fault:after_rcu_walk``); a munmap request then detaches the VMA. Released, the
    fault finds it detached (``vma_lock_miss``), walks again, finds a hole and ends
    with SEGV_MAPERR on the mmap_lock path, reporting the miss. Forced order, no sleeps."""
    addr = _mmap(http, pid, BASE, 1, RW, [*ANON, "MAP_FIXED"])
    pauses = live_server.service.kernel.get(pid).mm.pauses
    pauses.arm("fault:after_rcu_walk", timeout=30)
    try:
        fault = spawn(partial(http.post, f"/processes/{pid}/faults", json={"addr": addr}))
        pauses.wait_for_hold("fault:after_rcu_walk", timeout=30)
        r = http.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": PAGE_SIZE})
        assert r.status_code == 204
        assert not fault.finished.is_set()
    finally:
        pauses.disarm("fault:after_rcu_walk")
        pauses.release_all()
    out = fault.result().json()
    assert (out["outcome"], out["si_code"], out["path"]) == ("SIGSEGV", "SEGV_MAPERR", "mmap_lock")
    assert out["misses"] == 1 and out["vma_start"] is None
    events = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]["events"]
    assert (events["vma_lock_miss"], events["vma_lock_abort"]) == (1, 1)


def test_addresses_are_lowercase_hex_with_0x() -> None:
    """``hex_addr`` (every address of every answer) is ``f"{value:#x}"``, the format the
    API documents, whatever the value: from 0 to the top of the 64-bit range."""
    rng = random.Random(19)
    values = [0, 1, 0xF, PAGE_SIZE, 1 << 47, (1 << 64) - 1]
    values += [rng.getrandbits(rng.randint(1, 64)) for _ in range(1000)]
    for value in values:
        assert hex_addr(value) == f"{value:#x}", value


_U64 = st.one_of(
    st.integers(0, (1 << 64) - 1), st.sampled_from([0, 1, 1 << 47, (1 << 64) - PAGE_SIZE])
)


def _one_of(literal: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(get_args(literal))


@settings(max_examples=500, deadline=None)
@given(
    addr=_U64,
    access=_one_of(Access),
    outcome=_one_of(FaultOutcome),
    si_code=st.none() | _one_of(SiCode),
    path=_one_of(FaultPath),
    misses=st.integers(0, 1 << 31),
    vma_start=st.none() | _U64,
    vma_end=st.none() | _U64,
    major=st.booleans(),
    page=st.none() | _one_of(PageName),
)
def test_fault_answer_is_the_model_s_bytes_for_any_result(**result: Any) -> None:
    """The fault route answers ``pydantic_core.to_json(fault_fields(r))`` and the journal
    records ``fault_fields(r)``, without a ``FaultOut`` validated first: for any engine
    result (every outcome, signal or not, None fields, addresses up to 2**64-1) those
    are the bytes of ``model_dump_json()`` and the dict of ``model_dump(mode="json")`` of
    the model built from the result field by field, its keys in the model's order."""
    r = FaultResult(**result)
    model = FaultOut(
        addr=f"{r.addr:#x}",
        access=r.access,
        ok=r.outcome == "ok",
        outcome=r.outcome,
        si_code=r.si_code,
        path=r.path,
        misses=r.misses,
        vma_start=None if r.vma_start is None else f"{r.vma_start:#x}",
        vma_end=None if r.vma_end is None else f"{r.vma_end:#x}",
        page=r.page,
        major=r.major,
    )
    fields = fault_fields(r)
    assert list(fields) == list(FaultOut.model_fields)
    assert fields == model.model_dump(mode="json")
    assert to_json(fields) == model.model_dump_json().encode()
    assert fault_out(r) == model
