"""``POST /processes/{pid}/faults`` on the event loop (``Service.apply`` with
:data:`app.ops.NOWAIT`; app/service.py, "On the event loop").

Pinned here over real HTTP: the answers, the journal's records and the machine are
those of the pool path (the same requests against a second service whose faults all
run in the pool), for every outcome, the resident limit's 409 included; a fault the
loop declines runs in the pool (the pool's call count tells which path ran); a held
sequencer or an armed pause point sends the fault to the pool, where it waits or
stops as before. Orders are forced with the engine's pause points and the journal's
sequencer, never with sleeps.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import ops
from app.deployment import Deployment
from app.errors import NoSuchMachine
from app.journal import MACHINE
from app.journal_store import SqliteJournalStore
from app.main import create_app
from app.persistence import journal_path
from app.schemas.faults import FaultIn, FaultOut
from app.service import Service
from app.settings import Settings
from core import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from core.checkpoint import dump_kernel
from tests.app.conftest import LiveServer
from tests.app.live import Running, serve
from tests.concurrency import spawn, wait_until

PAGE = 4096
BASE = 0x100000000000
STACK = BASE + 0x10000000  # beyond the stack guard gap of the VMAs below
FIXED = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]
RW = ["PROT_READ", "PROT_WRITE"]
SETTINGS = Settings(max_resident_pages=3)

# (address, access, whether the event loop completes the fault)
FAULTS: list[tuple[int, str, bool]] = [
    (BASE, "write", False),  # the first write prepares the anon_vma: mmap_lock
    (BASE + PAGE, "write", True),  # a new anonymous page: the fast path
    (BASE + PAGE, "write", False),  # present already: the general route
    (BASE + 2 * PAGE, "read", False),  # the zero page
    (BASE + 0x10000, "write", True),  # a read-only VMA: SEGV_ACCERR under the VMA lock
    (BASE + 0x8000, "read", False),  # a hole: SEGV_MAPERR after falling back
    (STACK - PAGE, "write", False),  # below a MAP_GROWSDOWN VMA: the stack grows
    (1 << 47, "read", True),  # not a user address: no lock
    (BASE + 3 * PAGE, "write", False),  # the third page: over the resident limit, 409
]


@contextmanager
def _journaled(tmp: Path) -> Iterator[tuple[Running, Path]]:
    path = tmp / "state.json"
    app = create_app(SETTINGS, deployment=Deployment(state_file=str(path), state_interval=0))
    with serve(app) as running:
        yield running, path


def _ok(r: httpx.Response) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json() if r.content else None


def _four_pages(c: httpx.Client, name: str) -> int:
    """A new process with four read-write anonymous pages at ``BASE``; its pid."""
    pid: int = _ok(c.post("/processes", json={"name": name}))["pid"]
    body = {"addr": BASE, "length": 4 * PAGE, "prot": RW, "flags": FIXED}
    _ok(c.post(f"/processes/{pid}/mmap", json=body))
    return pid


def _scenario(c: httpx.Client) -> list[tuple[int, bytes]]:
    """The requests; the fault answers as status and body bytes."""
    pid = _ok(c.post("/processes", json={"name": "loop"}))["pid"]
    for addr, pages, prot, extra in (
        (BASE, 4, RW, []),
        (BASE + 0x10000, 1, ["PROT_READ"], []),
        (STACK, 2, RW, ["MAP_GROWSDOWN"]),
    ):
        body = {"addr": addr, "length": pages * PAGE, "prot": prot, "flags": FIXED + extra}
        _ok(c.post(f"/processes/{pid}/mmap", json=body))
    answers = []
    for addr, access, _ in FAULTS:
        r = c.post(f"/processes/{pid}/faults", json={"addr": hex(addr), "access": access})
        answers.append((r.status_code, r.content))
    return answers


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    store = SqliteJournalStore(journal_path(str(path)))
    try:
        return [(position, json.loads(body)) for position, body in store.records(MACHINE, 0)]
    finally:
        store.close()


def _run(tmp: Path) -> tuple[list[tuple[int, bytes]], list[Any], dict[str, Any], int]:
    """The scenario on a journaled service: answers, durable records, the machine (its
    checkpoint document), and the engine calls its pool ran."""
    with _journaled(tmp) as (running, path):
        service: Service = running.app.state.service
        with httpx.Client(base_url=running.url, timeout=60) as c:
            answers = _scenario(c)
        journal = running.app.state.state_keeper.journal
        assert journal is not None
        assert journal.wait_durable(journal.statistics().position, 30)
        doc = json.loads(json.dumps(dump_kernel(service.kernel)))
        doc.pop("saved_at")
        calls = service.pool.statistics().calls
        records = _records(path)  # before the shutdown's checkpoint truncates them
    return answers, records, doc, calls


@pytest.mark.timeout(120)
def test_loop_answers_records_and_machine_are_the_pool_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every outcome, byte for byte: the same answers (the 409 included), the same
    journal records at the same positions, the same machine with every counter
    (``vma_lock_*`` too: nothing raced here), and the faults the loop completed are
    exactly the ones the pool did not run."""
    (tmp_path / "loop").mkdir()
    (tmp_path / "pool").mkdir()
    loop = _run(tmp_path / "loop")
    monkeypatch.delitem(ops.NOWAIT, "fault")  # every fault in the pool, as before
    pool = _run(tmp_path / "pool")
    assert [status for status, _ in loop[0]] == [200] * 8 + [409]
    assert loop[0] == pool[0]
    assert loop[1] == pool[1]
    faults = [r for _, r in loop[1] if r["op"] == "fault"]
    assert len(faults) == len(FAULTS)  # the 409 is recorded too, as the pool records it
    assert faults[-1].get("error") == "ResidentLimitExceeded"
    assert loop[2] == pool[2]
    on_loop = sum(1 for _, _, fast in FAULTS if fast)
    assert pool[3] - loop[3] == on_loop
    for status, body in loop[0]:  # the bytes FaultOut.model_dump_json() gives (route)
        if status == 200:
            assert body == FaultOut.model_validate_json(body).model_dump_json().encode()


def _run_unjournaled() -> tuple[list[tuple[int, bytes]], dict[str, Any], int]:
    """The scenario on a service without the journal: answers, machine, pool calls."""
    app = create_app(SETTINGS, deployment=Deployment())
    with serve(app) as running:
        service: Service = running.app.state.service
        assert service.journal is None
        with httpx.Client(base_url=running.url, timeout=60) as c:
            answers = _scenario(c)
        doc = json.loads(json.dumps(dump_kernel(service.kernel)))
        doc.pop("saved_at")
        return answers, doc, service.pool.statistics().calls


@pytest.mark.timeout(120)
def test_without_the_journal_the_loop_answers_as_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the journal ``Service.apply`` runs the fault on the loop directly (no
    ``_changing`` count, nothing awaited): the same answers byte for byte (the 409
    included), the same machine, and the pool ran exactly the faults the loop declined."""
    loop = _run_unjournaled()
    monkeypatch.delitem(ops.NOWAIT, "fault")
    pool = _run_unjournaled()
    assert [status for status, _ in loop[0]] == [200] * 8 + [409]
    assert loop[0] == pool[0]
    assert loop[1] == pool[1]
    assert pool[2] - loop[2] == sum(1 for _, _, fast in FAULTS if fast)


@pytest.mark.timeout(60)
def test_a_retired_machine_refuses_a_fault_the_loop_would_complete() -> None:
    """Without the journal too, a fault that reaches ``Service.apply`` after the
    machine's deletion began (:meth:`Service.retire`) is ``NoSuchMachine`` and maps
    nothing, though the loop would have completed it (a new page of a ready VMA)."""
    service = Service(Settings())
    proc = service.kernel.spawn()
    addr = proc.mm.mmap(BASE, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    proc.mm.fault(addr, "write")  # the anon_vma: the next page takes the fast path
    fault = FaultIn(addr=addr + PAGE, access="write")

    async def retire_then_fault() -> None:
        await service.retire()
        with pytest.raises(NoSuchMachine):
            await service.apply(proc, "fault", fault)

    asyncio.run(retire_then_fault())
    assert service.pool.statistics().calls == 0
    # Not mapped: the loop's fault now maps it (present, it would have declined).
    ret = ops.apply_fault_nowait(proc, fault)
    assert ret is not None and ret[1]["page"] == "anon" and ret[1]["path"] == "vma_lock"


@pytest.mark.timeout(120)
def test_a_failure_on_the_loop_is_recorded_and_answered_as_in_the_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An executor on the loop that fails (here the full fault, which never declines:
    uncontended in this scenario, it does not wait) is recorded as the pool records
    it (``Journal.apply_nowait`` and ``Journal.apply`` share ``_execute``) and
    answered once durable: the same 409, the same records, the same machine, and no
    fault ran in the pool."""
    (tmp_path / "loop").mkdir()
    (tmp_path / "pool").mkdir()
    monkeypatch.setitem(ops.NOWAIT, "fault", ops.apply_fault)
    loop = _run(tmp_path / "loop")
    monkeypatch.delitem(ops.NOWAIT, "fault")
    pool = _run(tmp_path / "pool")
    assert [status for status, _ in loop[0]] == [200] * 8 + [409]
    assert loop[0] == pool[0]
    assert loop[1] == pool[1]
    assert [r for _, r in loop[1] if r["op"] == "fault"][-1]["error"] == "ResidentLimitExceeded"
    assert loop[2] == pool[2]
    assert pool[3] - loop[3] == len(FAULTS)


@pytest.mark.timeout(120)
def test_a_held_sequencer_sends_the_fault_to_the_pool(tmp_path: Path) -> None:
    """Another operation holds the machine's sequencer (here: the test): the loop does
    not wait for it; the fault goes to the pool, waits there for the sequencer, and
    answers once it is free -- recorded after the holder, as the journal's order is."""
    with _journaled(tmp_path) as (running, _), httpx.Client(base_url=running.url, timeout=60) as c:
        service: Service = running.app.state.service
        journal = service.journal
        assert journal is not None
        pid = _four_pages(c, "seq")
        _ok(c.post(f"/processes/{pid}/faults", json={"addr": hex(BASE), "access": "write"}))
        sequencer = journal.sequencer
        calls = service.pool.statistics().calls
        contended = sequencer.contended
        position = journal.statistics().position
        assert sequencer.try_enter()  # the test is "another operation"
        try:
            new_page = {"addr": BASE + PAGE, "access": "write"}
            fault = spawn(partial(c.post, f"/processes/{pid}/faults", json=new_page))
            wait_until(lambda: sequencer.contended == contended + 1, what="the pool call waits")
            assert not fault.finished.is_set()
            assert service.pool.statistics().calls == calls + 1
            assert journal.statistics().position == position
        finally:
            sequencer.leave()
        out = _ok(fault.result())
        assert (out["outcome"], out["path"], out["page"]) == ("ok", "vma_lock", "anon")
        assert journal.statistics().position == position + 1


def test_an_armed_pause_point_stops_the_fault_in_the_pool(
    http: httpx.Client, live_server: LiveServer, pid: int
) -> None:
    """``fault:after_vma_lock`` armed on the fault the loop would complete (a new page
    of a ready anonymous VMA): the loop declines, the fault stops at the point in the
    pool and completes when released, counted once."""
    body = {"addr": BASE, "length": 4 * PAGE, "prot": RW, "flags": FIXED}
    _ok(http.post(f"/processes/{pid}/mmap", json=body))
    _ok(http.post(f"/processes/{pid}/faults", json={"addr": hex(BASE), "access": "write"}))
    mm = live_server.service.kernel.get(pid).mm
    point = "fault:after_vma_lock"
    events = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]["events"]
    calls = live_server.service.pool.statistics().calls
    mm.pauses.arm(point, timeout=30)
    try:
        fault = spawn(
            partial(
                http.post, f"/processes/{pid}/faults", json={"addr": BASE + PAGE, "access": "write"}
            )
        )
        mm.pauses.wait_for_hold(point, timeout=30)
        assert not fault.finished.is_set()
        assert live_server.service.pool.statistics().calls == calls + 1
    finally:
        mm.pauses.disarm(point)
        mm.pauses.release_all()
    out = _ok(fault.result())
    assert (out["outcome"], out["path"], out["page"]) == ("ok", "vma_lock", "anon")
    after = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]["events"]
    for event in ("vma_lock_success", "pgfault"):
        assert after[event] == events[event] + 1, event
    assert mm.pauses.statistics().points[point].hits == 1


@pytest.mark.timeout(120)
def test_a_failure_on_the_loop_is_answered_once_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's recorded failure (the 409 of the resident limit, from an executor on
    the loop as above) is answered only once its record is committed: the committer
    is held (its store's ``append`` waits for the test), the record is queued, and the
    answer comes after the release."""
    monkeypatch.setitem(ops.NOWAIT, "fault", ops.apply_fault)
    with _journaled(tmp_path) as (running, _), httpx.Client(base_url=running.url, timeout=60) as c:
        service: Service = running.app.state.service
        journal = service.journal
        assert journal is not None
        pid = _four_pages(c, "late")
        for page in range(3):  # the resident limit: 3 pages
            new = {"addr": BASE + page * PAGE, "access": "write"}
            _ok(c.post(f"/processes/{pid}/faults", json=new))
        assert journal.wait_durable(journal.statistics().position, 30)
        store = journal.store
        append = store.append
        release = threading.Event()

        def held_append(*args: Any) -> Any:
            assert release.wait(60), "the test never released the committer"
            return append(*args)

        monkeypatch.setattr(store, "append", held_append)
        position = journal.statistics().position
        over = {"addr": BASE + 3 * PAGE, "access": "write"}
        fault = spawn(partial(c.post, f"/processes/{pid}/faults", json=over))
        wait_until(lambda: journal.statistics().position == position + 1, what="the record")
        assert not fault.finished.wait(0.2)  # not answered while the commit is held
        assert journal.committed == position
        release.set()
        r = fault.result()
        assert r.status_code == 409, r.text
        assert journal.committed == position + 1
