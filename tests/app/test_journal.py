"""Issue 18, item 9: the journal. A machine rebuilt from its checkpoint and journal is
the machine that served: same pids, addresses, inode numbers, anon_vma and page
identities, counters -- after concurrent writers on several processes that share
files and forked pages, failing syscalls, long touches, exits, and an operation held
at a pause point while the others went on.

"Restart" here is a second :class:`~app.persistence.StateKeeper` restoring from the
same files while the first service still runs (SQLite's WAL lets a reader in): exactly
what a start after ``kill -9`` does. The crash test with real kills is
``test_crash.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from app.deployment import Deployment
from app.journal import MACHINE, SEGMENT_OPS, TOUCH_CHUNK, Batch, ReplayStatistics, replay
from app.journal_store import JournalStoreError, SqliteJournalStore
from app.main import create_app
from app.persistence import StateKeeper, journal_path
from app.schemas.batch import BatchOp
from app.service import Service
from app.settings import Settings
from core import Kernel
from core.checkpoint import dump_kernel, load_state, temp_prefix
from core.smaps import render_smaps
from tests.app.live import Running, serve
from tests.concurrency import spawn, wait_until

PAGE = 4096
RW = ["PROT_READ", "PROT_WRITE"]
ANON = {"prot": RW, "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
SETTINGS = Settings(max_resident_pages=6000)
BATCH_OP: TypeAdapter[BatchOp] = TypeAdapter(BatchOp)
TIMING = ("vma_lock_success", "vma_lock_abort", "vma_lock_retry", "vma_lock_miss")


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint document without what is timing, not state: when it was taken,
    and which lock path faults took (app.journal's note)."""
    doc = json.loads(json.dumps(doc))
    doc.pop("saved_at")
    doc.pop("journal", None)
    for events in [doc["kernel"]["vm_events"]] + [p["mm"]["vm_events"] for p in doc["processes"]]:
        for name in TIMING:
            events.pop(name, None)
    return doc


def restart(service: Service, path: Path, durability: str = "journal") -> Service:
    """A second service restored from ``path`` (and its journal), as a start after a
    crash does; its journal is left unstarted."""
    again = Service(SETTINGS)
    keeper = StateKeeper(again, str(path), 0, durability)  # type: ignore[arg-type]
    keeper.restore()
    assert keeper.replayed.diverged == 0, keeper.replayed.examples
    if keeper.store is not None and keeper.journal is None:
        keeper.store.close()
    return again


@pytest.fixture
def journaled(tmp_path: Path) -> Iterator[tuple[Running, Path]]:
    path = tmp_path / "state.json"
    app = create_app(SETTINGS, deployment=Deployment(state_file=str(path), state_interval=0))
    with serve(app) as running:
        yield running, path


def _ok(r: httpx.Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200, 201, 204)), r.text
    return r.json() if r.content else None


# -- the workload ---------------------------------------------------------------------------


def _files(c: httpx.Client, rounds: int) -> None:
    """Shared and private mappings of one file other threads map too; truncation,
    unlink and re-creation (new inode numbers)."""
    pid = _ok(c.post("/processes", json={"name": "files"}))["pid"]
    for i in range(rounds):
        fd = _ok(
            c.post(f"/processes/{pid}/files", json={"path": "/srv/shared", "size": 64 * PAGE})
        )["fd"]
        flags = ["MAP_SHARED"] if i % 2 else ["MAP_PRIVATE"]
        body = {"length": 32 * PAGE, "prot": RW, "flags": flags, "fd": fd, "offset": 8 * PAGE}
        addr = int(_ok(c.post(f"/processes/{pid}/mmap", json=body))["addr"], 16)
        for page in (0, 3, 9, 20):
            access = "write" if (page + i) % 2 else "read"
            c.post(f"/processes/{pid}/faults", json={"addr": addr + page * PAGE, "access": access})
        _ok(c.delete(f"/processes/{pid}/files/{fd}"))
        if i % 4 == 3:
            _ok(
                c.post(
                    f"/processes/{pid}/syscalls",
                    json={"ops": [{"op": "unlink", "path": "/srv/shared"}]},
                )
            )
        if i % 3 == 2:
            c.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": 16 * PAGE})


def _forker(c: httpx.Client, rounds: int) -> None:
    """fork with copy-on-write both ways, shared anonymous memory (shmem inodes),
    children that exit, a long touch cut into records."""
    pid = _ok(c.post("/processes", json={"layout": "typical", "name": "forker"}))["pid"]
    shm = {"length": 4 * PAGE, "prot": RW, "flags": ["MAP_SHARED", "MAP_ANONYMOUS"]}
    for i in range(rounds):
        anon = int(
            _ok(c.post(f"/processes/{pid}/mmap", json={"length": 8 * PAGE, **ANON}))["addr"], 16
        )
        shared = int(_ok(c.post(f"/processes/{pid}/mmap", json=shm))["addr"], 16)
        touch = {"op": "touch", "addr": anon, "length": 8 * PAGE}
        _ok(c.post(f"/processes/{pid}/syscalls", json={"ops": [touch]}))
        c.post(f"/processes/{pid}/faults", json={"addr": shared, "access": "write"})
        child = _ok(c.post(f"/processes/{pid}/fork", json={"name": f"c{i}"}))["pid"]
        for who, page in ((child, 1), (pid, 1), (pid, 2), (child, 3)):
            c.post(f"/processes/{who}/faults", json={"addr": anon + page * PAGE, "access": "write"})
        c.post(f"/processes/{child}/faults", json={"addr": shared + PAGE, "access": "write"})
        if i % 2:
            _ok(c.delete(f"/processes/{child}"))
    long = int(
        _ok(c.post(f"/processes/{pid}/mmap", json={"length": 3000 * PAGE, **ANON}))["addr"], 16
    )
    ops = [{"op": "touch", "addr": long + 5 * PAGE, "length": (TOUCH_CHUNK * 2 + 100) * PAGE}]
    result = _ok(c.post(f"/processes/{pid}/syscalls", json={"ops": ops}))
    assert result["results"][0]["touch"]["faults"] == TOUCH_CHUNK * 2 + 100


def _batcher(c: httpx.Client, rounds: int) -> None:
    """Batches with failing operations (partial mprotect, a touch stopped by the
    resident limit), mremap, brk, and an imported layout."""
    maps = (
        "555555554000-555555556000 r--p 00000000 fe:00 1234" + " " * 22 + " /usr/bin/cat\n"
        "7ffff7ff0000-7ffff7ff8000 rw-p 00000000 00:00 0 \n"
    )
    pid = _ok(c.post("/processes", json={"name": "batcher", "maps": maps}))["pid"]
    for i in range(rounds):
        base = 0x100000000000 + i * 0x100000
        ops = [
            {
                "op": "mmap",
                "addr": base,
                "length": 6 * PAGE,
                **ANON,
                "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
            },
            {
                "op": "mmap",
                "addr": base + 8 * PAGE,
                "length": 2 * PAGE,
                **ANON,
                "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
            },
            {
                "op": "mprotect",
                "addr": base,
                "length": 10 * PAGE,
                "prot": ["PROT_READ"],
            },  # ENOMEM at the hole
            {"op": "touch", "addr": base, "length": 2 * PAGE, "access": "read"},
            {
                "op": "mremap",
                "old_addr": base + 8 * PAGE,
                "old_len": 2 * PAGE,
                "new_len": 4 * PAGE,
                "flags": ["MREMAP_MAYMOVE"],
            },
            {"op": "brk", "addr": 0x555555581000 + i * PAGE},
            {"op": "open", "path": f"/tmp/b{i % 3}", "size": PAGE},
        ]
        out = _ok(c.post(f"/processes/{pid}/syscalls", json={"ops": ops}))
        assert out["results"][2]["errno_name"] == "ENOMEM"
    # A touch past VMASIM_MAX_RESIDENT_PAGES keeps the pages before the limit.
    big = int(
        _ok(c.post(f"/processes/{pid}/mmap", json={"length": 7000 * PAGE, **ANON}))["addr"], 16
    )
    out = _ok(
        c.post(
            f"/processes/{pid}/syscalls",
            json={"ops": [{"op": "touch", "addr": big, "length": 7000 * PAGE}]},
        )
    )
    assert out["results"][0]["error"] == "ResidentLimitExceeded"


def _holder(c: httpx.Client, running: Running, rounds: int) -> None:
    """An operation held at a pause point while the other threads go on, and faults of
    the held process's other VMAs (per-VMA locks) meanwhile."""
    pid = _ok(c.post("/processes", json={"name": "holder"}))["pid"]
    mm = running.app.state.service.kernel.get(pid).mm
    for _ in range(rounds):
        a = int(
            _ok(c.post(f"/processes/{pid}/mmap", json={"length": 4 * PAGE, **ANON}))["addr"], 16
        )
        b = int(
            _ok(
                c.post(
                    f"/processes/{pid}/mmap",
                    json={"length": 4 * PAGE, "prot": ["PROT_READ"], "flags": ANON["flags"]},
                )
            )["addr"],
            16,
        )
        c.post(f"/processes/{pid}/faults", json={"addr": a, "access": "write"})
        _ok(
            c.post(
                f"/processes/{pid}/pause-points",
                json={"name": "munmap:before_clear", "timeout": 60},
            )
        )

        def munmap(addr: int = a) -> httpx.Response:
            with httpx.Client(base_url=running.url, timeout=60) as own:
                return own.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": 2 * PAGE})

        held = spawn(munmap)
        mm.pauses.wait_for_hold("munmap:before_clear")
        c.post(f"/processes/{pid}/faults", json={"addr": b, "access": "read"})
        _ok(c.post(f"/processes/{pid}/pause-points/release", json={}))
        assert held.result().status_code == 204


def run_workload(running: Running, rounds: int = 6) -> None:
    def with_client(fn: Callable[..., None], *args: Any) -> Callable[[], None]:
        def run() -> None:
            with httpx.Client(base_url=running.url, timeout=60) as c:
                fn(c, *args)

        return run

    workers = [
        spawn(with_client(_files, rounds)),
        spawn(with_client(_files, rounds)),
        spawn(with_client(_forker, rounds)),
        spawn(with_client(_batcher, rounds)),
        spawn(with_client(_holder, running, rounds)),
    ]
    for worker in workers:
        worker.join(120)
        worker.result()


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.timeout(180)
def test_replay_rebuilds_the_machine_exactly(journaled: tuple[Running, Path]) -> None:
    running, path = journaled
    run_workload(running)
    service: Service = running.app.state.service
    keeper: StateKeeper = running.app.state.state_keeper
    journal = keeper.journal
    assert journal is not None
    assert journal.wait_durable(journal.statistics().position, 10)
    live = dump_kernel(service.kernel)
    for proc in service.kernel.processes():
        proc.mm._check()
    again = restart(service, path)
    assert comparable(dump_kernel(again.kernel)) == comparable(live)
    for proc in again.kernel.processes():
        proc.mm._check()
    stats = journal.statistics()
    # A batch's operations share records (segments): fewer records than positions.
    assert stats.position > 100 and stats.records < stats.position and stats.active == 0
    # Group commit: fewer commits than records under concurrent writers.
    assert stats.commits <= stats.records


def test_replay_of_a_record_store_directly(tmp_path: Path, journaled: tuple[Running, Path]) -> None:
    running, path = journaled
    with httpx.Client(base_url=running.url, timeout=20) as c:
        pid = _ok(c.post("/processes", json={"name": "one"}))["pid"]
        _ok(c.post(f"/processes/{pid}/mmap", json={"length": PAGE, **ANON}))
    store = SqliteJournalStore(journal_path(str(path)))
    kernel = Kernel()
    stats = ReplayStatistics()
    replay(kernel, store.records(MACHINE, 0), stats)
    store.close()
    assert (stats.records, stats.position, stats.diverged) == (2, 2, 0)
    assert [p.pid for p in kernel.processes()] == [pid]


@pytest.mark.timeout(120)
def test_checkpoints_truncate_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    app = create_app(SETTINGS, deployment=Deployment(state_file=str(path), state_interval=1))
    keeper: StateKeeper = app.state.state_keeper
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=20) as c:
        pid = _ok(c.post("/processes", json={"layout": "typical"}))["pid"]
        for _ in range(5):
            _ok(c.post(f"/processes/{pid}/mmap", json={"length": PAGE, **ANON}))

        def truncated() -> int:
            store = keeper.statistics().store
            return 0 if store is None else store.truncated

        # The periodic checkpoints (every second) delete the records they cover.
        wait_until(lambda: truncated() >= 6, timeout=20, what="a checkpoint after 6 records")
        position = json.loads(path.read_bytes())["journal"]["position"]
        assert position >= 6
        for _ in range(3):
            _ok(c.post(f"/processes/{pid}/munmap", json={"addr": "0x7ffff7ffe000", "length": PAGE}))
        # Batches across periodic checkpoints, replayed from the last one (where a
        # checkpoint lands is timing; one between two operations of a batch is
        # test_a_checkpoint_between_two_operations_of_a_batch_closes_its_segment).
        area = {"length": 600 * PAGE, **ANON}
        addr = int(_ok(c.post(f"/processes/{pid}/mmap", json=area))["addr"], 16)
        saves = keeper.statistics().saves
        k = 0
        while keeper.statistics().saves < saves + 2:
            prot = ["PROT_READ"] if k % 2 == 0 else RW
            ops = [
                {"op": "mprotect", "addr": addr + i * PAGE, "length": PAGE, "prot": prot}
                for i in range(k % 2, 600, 2)
            ]
            _ok(c.post(f"/processes/{pid}/syscalls", json={"ops": ops, "results": "failed"}))
            k += 1
        service: Service = running.app.state.service
        live = dump_kernel(service.kernel)
        again = restart(service, path)
        assert comparable(dump_kernel(again.kernel)) == comparable(live)


@contextmanager
def _held_munmap(running: Running, patience: float) -> Iterator[tuple[int, Any, Any]]:
    """A process whose ``munmap`` is held at a pause point, and checkpoints' patience set
    to ``patience``: yields its pid, its mm and the pending HTTP answer; the pause point
    is reset and the patience restored after the block."""
    import app.persistence

    service: Service = running.app.state.service
    with httpx.Client(base_url=running.url, timeout=20) as c:
        pid = _ok(c.post("/processes", json={"name": "h"}))["pid"]
        addr = _ok(c.post(f"/processes/{pid}/mmap", json={"length": 2 * PAGE, **ANON}))["addr"]
    mm = service.kernel.get(pid).mm
    mm.pauses.arm("munmap:before_clear", timeout=60)
    url = f"{running.url}/processes/{pid}/munmap"
    held = spawn(lambda: httpx.post(url, json={"addr": addr, "length": PAGE}, timeout=60))
    mm.pauses.wait_for_hold("munmap:before_clear")
    saved = app.persistence.CHECKPOINT_PATIENCE
    app.persistence.CHECKPOINT_PATIENCE = patience
    try:
        yield pid, mm, held
    finally:
        app.persistence.CHECKPOINT_PATIENCE = saved
        mm.pauses.reset()


def test_a_checkpoint_waits_for_held_operations(journaled: tuple[Running, Path]) -> None:
    running, path = journaled
    service: Service = running.app.state.service
    keeper: StateKeeper = running.app.state.state_keeper
    with _held_munmap(running, 0.2) as (pid, _, held):
        saved = _run(running, service.run, keeper.save)
        assert saved is None and keeper.statistics().skipped == 1
        assert not path.exists()
    assert held.result().status_code == 204
    saved = _run(running, service.run, keeper.save)
    assert saved is not None and path.exists()
    assert load_state(path).get(pid).mm.map_count == 1


def test_a_waiting_checkpoint_is_woken_when_the_held_operation_ends(
    journaled: tuple[Running, Path],
) -> None:
    """A checkpoint waiting for an operation held at a pause point is taken as soon as
    that operation ends: the operation's end sees the waiter (``Sequencer.waiting``) and
    wakes it, long before the checkpoint's patience (60 s here, beyond ``_run``'s 30 s)
    would have it retry."""
    running, path = journaled
    service: Service = running.app.state.service
    keeper: StateKeeper = running.app.state.state_keeper
    assert keeper.journal is not None
    sequencer = keeper.journal.sequencer
    with _held_munmap(running, 60.0) as (pid, mm, held):
        saving = spawn(lambda: _run(running, service.run, keeper.save))
        wait_until(lambda: sequencer.waiting == 1, timeout=30, what="the checkpoint waits")
        mm.pauses.release("munmap:before_clear")
        saved = saving.result()
    assert held.result().status_code == 204
    assert saved is not None and keeper.statistics().skipped == 0 and sequencer.waiting == 0
    assert load_state(path).get(pid).mm.map_count == 1


def _run(running: Running, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``await fn(*args)`` on the server's event loop from the test thread."""
    import asyncio

    loop = running.server.servers[0]._loop  # type: ignore[attr-defined]
    return asyncio.run_coroutine_threadsafe(fn(*args), loop).result(30)


def test_start_removes_stale_temporary_files_and_stamps_saved_at(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    ours = tmp_path / f"{temp_prefix(path)}abc123.tmp"
    legacy = tmp_path / ".vmasim-state-k2j4_x9q.tmp"
    other = tmp_path / ".vmasim-state-other.json-zzz.tmp"  # another state file's
    for f in (ours, legacy, other):
        f.write_bytes(b"x" * 1000)
    app = create_app(SETTINGS, deployment=Deployment(state_file=str(path), state_interval=0))
    with serve(app) as running, httpx.Client(base_url=running.url, timeout=20) as c:
        assert not ours.exists() and not legacy.exists() and other.exists()
        _ok(c.post("/processes", json={"name": "t"}))
        keeper: StateKeeper = running.app.state.state_keeper
        assert keeper.statistics().removed_temps == 2
    stats = keeper.statistics()
    assert stats.last is not None
    # saved_at is the moment the state was captured, before the file was written.
    doc = json.loads(path.read_bytes())
    assert doc["saved_at"] == stats.last_saved_at == stats.last.saved_at
    assert os.stat(path).st_mtime >= doc["saved_at"]


def test_checkpoint_mode_keeps_a_leftover_journal(
    tmp_path: Path, journaled: tuple[Running, Path]
) -> None:
    running, path = journaled
    with httpx.Client(base_url=running.url, timeout=20) as c:
        pid = _ok(c.post("/processes", json={"layout": "typical"}))["pid"]
        _ok(c.post(f"/processes/{pid}/mmap", json={"length": PAGE, **ANON}))
    keeper: StateKeeper = running.app.state.state_keeper
    assert keeper.journal is not None and keeper.journal.wait_durable(2, 10)
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal", "-shm"):
        src = Path(journal_path(str(path)) + suffix)
        if src.exists():
            shutil.copy(src, copy / (src.name))
    service: Service = running.app.state.service
    again = restart(service, copy / "state.json", durability="checkpoint")
    assert [p.pid for p in again.kernel.processes()] == [pid]
    assert (copy / "state.json").exists()  # checkpointed at once...
    assert not Path(journal_path(str(copy / "state.json"))).exists()  # ...then dropped


def test_a_failing_journal_refuses_changes(journaled: tuple[Running, Path]) -> None:
    running, _ = journaled
    keeper: StateKeeper = running.app.state.state_keeper
    assert keeper.store is not None

    def broken(machine: str, records: Any) -> None:
        raise JournalStoreError("disk on fire")

    keeper.store.append = broken  # type: ignore[method-assign]
    with httpx.Client(base_url=running.url, timeout=20) as c:
        r = c.post("/processes", json={"name": "lost"})
        assert r.status_code == 503, r.text
        assert r.json()["type"] == "urn:vmasim:problem:journal-unavailable"
        assert c.post("/processes", json={"name": "lost2"}).status_code == 503
        assert c.get("/processes").status_code == 200  # reads still work


def test_store_interface(tmp_path: Path) -> None:
    store = SqliteJournalStore(str(tmp_path / "j.db"), "normal")
    store.append("a", [(1, b"x"), (2, b"y")])
    store.append("b", [(1, b"z")])
    assert list(store.records("a", 0)) == [(1, b"x"), (2, b"y")]
    assert list(store.records("a", 1)) == [(2, b"y")]
    assert (store.last("a"), store.last("b"), store.last("c")) == (2, 1, 0)
    assert store.truncate("a", 1) == 1
    assert list(store.records("a", 0)) == [(2, b"y")]
    with pytest.raises(JournalStoreError, match="append failed"):
        store.append("a", [(2, b"again")])  # a position is written once
    store.close()
    with pytest.raises(JournalStoreError, match="is not one of"):
        SqliteJournalStore(str(tmp_path / "j.db"), "sometimes")  # type: ignore[arg-type]


def test_durability_settings() -> None:
    from app.settings import SettingsError

    d = Deployment.from_env({"VMASIM_DURABILITY": "Checkpoint", "VMASIM_JOURNAL_SYNC": "normal"})
    assert (d.durability, d.journal_sync) == ("checkpoint", "normal")
    with pytest.raises(SettingsError, match="VMASIM_DURABILITY='wal' must be one of"):
        Deployment.from_env({"VMASIM_DURABILITY": "wal"})


def test_lost_threads_do_not_leak(journaled: tuple[Running, Path]) -> None:
    running, _ = journaled
    before = threading.active_count()
    with httpx.Client(base_url=running.url, timeout=20) as c:
        for _ in range(20):
            _ok(c.post("/processes", json={"name": "t"}))
    assert threading.active_count() <= before + 32


def test_execs_replay_with_their_drawn_seeds(journaled: tuple[Running, Path]) -> None:
    """A process created by exec and an execve, both with ASLR and no seed given: the
    journal records the seed drawn for each, so the replay builds the same layouts
    (and a failed execve is recorded with its errno and changes nothing)."""
    running, path = journaled
    service: Service = running.app.state.service
    with httpx.Client(base_url=running.url, timeout=60) as c:
        made = _ok(c.post("/processes", json={"exec": {"path": "/usr/bin/true", "aslr": True}}))
        pid = made["pid"]
        assert made["name"] == "true" and made["image"]["seed"] is not None
        _ok(c.post(f"/processes/{pid}/mmap", json={"length": PAGE, **ANON}))
        missing = c.post(f"/processes/{pid}/execve", json={"path": "/nonexistent/prog"})
        assert missing.status_code == 422 and missing.json()["errno_name"] == "ENOENT"
        after = _ok(c.post(f"/processes/{pid}/execve", json={"path": "/bin/sh", "aslr": True}))
        assert after["image"]["seed"] not in (None, made["image"]["seed"])
        maps = c.get(f"/processes/{pid}/maps").text
    keeper: StateKeeper = running.app.state.state_keeper
    journal = keeper.journal
    assert journal is not None
    assert journal.wait_durable(journal.statistics().position, 10)
    again = restart(service, path)
    assert again.kernel.get(pid).mm.maps() == maps
    assert comparable(dump_kernel(again.kernel)) == comparable(dump_kernel(service.kernel))


def test_lock_seal_and_name_calls_replay(journaled: tuple[Running, Path]) -> None:
    """madvise, mlock, mlock2, munlock, mlockall (MCL_FUTURE then holding over an mmap),
    munlockall, mseal, prctl(PR_SET_VMA) and their failures, single and batched: a
    restart rebuilds the same VMAs, flags, names, locked_vm and pages."""
    running, path = journaled
    service: Service = running.app.state.service
    with httpx.Client(base_url=running.url, timeout=60) as c:
        pid = _ok(c.post("/processes", json={"name": "locks"}))["pid"]
        base = f"/processes/{pid}"
        a = int(_ok(c.post(f"{base}/mmap", json={"length": 32 * PAGE, **ANON}))["addr"], 16)
        _ok(c.post(f"{base}/mlock", json={"addr": a + PAGE, "length": 4 * PAGE}))
        _ok(c.post(f"{base}/mlock2", json={"addr": a + 8 * PAGE, "length": PAGE, "flags": [1]}))
        _ok(c.post(f"{base}/munlock", json={"addr": a + 2 * PAGE, "length": PAGE}))
        _ok(c.post(f"{base}/mlockall", json={"flags": ["MCL_FUTURE"]}))
        _ok(c.post(f"{base}/mmap", json={"length": 4 * PAGE, **ANON}))  # locked, populated
        _ok(c.post(f"{base}/munlockall"))
        _ok(c.post(f"{base}/mseal", json={"addr": a + 16 * PAGE, "length": 2 * PAGE}))
        refused = c.post(f"{base}/munmap", json={"addr": a + 16 * PAGE, "length": PAGE})
        assert refused.json()["errno_name"] == "EPERM"
        name = {"addr": a + 20 * PAGE, "size": 2 * PAGE, "name": "arena"}
        _ok(c.post(f"{base}/prctl", json=name))
        ops = [
            {"op": "mlockall", "flags": ["MCL_CURRENT", "MCL_ONFAULT"]},
            {"op": "munlock", "addr": a, "length": 4 * PAGE},
            {"op": "mseal", "addr": a + 24 * PAGE, "length": PAGE},
            {"op": "prctl", "addr": a + 28 * PAGE, "size": PAGE, "name": "bad$name"},
            {"op": "madvise", "addr": a + 26 * PAGE, "length": 2 * PAGE, "advice": "MADV_DONTFORK"},
            # Locked by the mlockall above: DONTNEED refuses (EINVAL), DONTNEED_LOCKED zaps.
            {"op": "madvise", "addr": a + 8 * PAGE, "length": 4 * PAGE, "advice": "MADV_DONTNEED"},
            {"op": "madvise", "addr": a + 8 * PAGE, "length": 4 * PAGE, "advice": 24},
        ]
        results = _ok(c.post(f"{base}/syscalls", json={"ops": ops}))["results"]
        assert [r.get("errno_name") for r in results] == [None] * 3 + [
            "EINVAL",
            None,
            "EINVAL",
            None,
        ]
        maps = c.get(f"{base}/maps").text
        smaps = c.get(f"{base}/smaps").text
        locked = _ok(c.get(base))["locked_vm"]
    assert "[anon:arena]" in maps and " sl " in smaps and " lf " in smaps and locked > 0
    keeper: StateKeeper = running.app.state.state_keeper
    journal = keeper.journal
    assert journal is not None
    assert journal.wait_durable(journal.statistics().position, 10)
    again = restart(service, path)
    mm = again.kernel.get(pid).mm
    assert (mm.maps(), render_smaps(mm), mm.locked_vm) == (maps, smaps, locked)
    assert comparable(dump_kernel(again.kernel)) == comparable(dump_kernel(service.kernel))


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    store = SqliteJournalStore(journal_path(str(path)))
    try:
        return [(position, json.loads(body)) for position, body in store.records(MACHINE, 0)]
    finally:
        store.close()


def _durable_rows(running: Running, path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The journal's rows once everything is committed; they cover every position
    from 1, once each, in order."""
    journal = running.app.state.state_keeper.journal
    assert journal is not None
    position = journal.statistics().position
    assert journal.wait_durable(position, 10)
    rows = _rows(path)
    assert _covered(rows) == list(range(1, position + 1))
    return rows


def _count(segment: dict[str, Any]) -> int:
    """The operations a segment record holds, in either format (rows or op models)."""
    return len(segment["rows"] if segment.get("v") == 2 else segment["ops"])


def _covered(rows: list[tuple[int, dict[str, Any]]]) -> list[int]:
    """The positions the rows stand for, in store order (a segment for each of its ops)."""
    out: list[int] = []
    for position, record in rows:
        first = record["first"] if record["op"] == "batch" else position
        out.extend(range(first, position + 1))
    return out


@pytest.mark.timeout(120)
def test_a_batch_interleaved_with_other_writers_keeps_the_execution_order(
    journaled: tuple[Running, Path],
) -> None:
    """A batch held at a pause point half-way while another process opens a file (a new
    inode number, machine-wide) and runs a batch of its own: the held batch's record is
    closed by the other's first operation, the other's records follow it, the rest of the
    batch is a second record; the store covers every position once, in order, and a
    restart rebuilds the same machine (the inode numbers depend on that order)."""
    running, path = journaled
    service: Service = running.app.state.service
    fixed = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]
    base = 0x100000000000
    with httpx.Client(base_url=running.url, timeout=60) as c:
        a = _ok(c.post("/processes", json={"name": "held"}))["pid"]
        b = _ok(c.post("/processes", json={"name": "other"}))["pid"]
        _ok(c.post(f"/processes/{a}/pause-points", json={"name": "munmap:before_clear"}))
        ops = [
            {"op": "open", "path": "/srv/a1", "size": PAGE},
            {"op": "mmap", "addr": base, "length": 8 * PAGE, **ANON, "flags": fixed},
            {"op": "munmap", "addr": base + 2 * PAGE, "length": PAGE},  # held here
            {"op": "open", "path": "/srv/a2", "size": PAGE},
            {"op": "mprotect", "addr": base, "length": 2 * PAGE, "prot": ["PROT_READ"]},
        ]

        def batch() -> Any:
            with httpx.Client(base_url=running.url, timeout=60) as own:
                return _ok(own.post(f"/processes/{a}/syscalls", json={"ops": ops}))

        held = spawn(batch)
        service.kernel.get(a).mm.pauses.wait_for_hold("munmap:before_clear")
        _ok(c.post(f"/processes/{b}/files", json={"path": "/srv/b1", "size": PAGE}))
        other = [
            {"op": "open", "path": "/srv/b2", "size": PAGE},
            {"op": "mmap", "addr": base, "length": 2 * PAGE, **ANON, "flags": fixed},
        ]
        _ok(c.post(f"/processes/{b}/syscalls", json={"ops": other}))
        _ok(c.post(f"/processes/{a}/pause-points/release", json={}))
        out = held.result()
        assert out["completed"] == 5 and out["failed"] == 0, out
    rows = _durable_rows(running, path)
    kinds = [(r["op"], r["pid"]) for _, r in rows if r["op"] != "spawn"]
    # An operation takes its position when it is done: the held munmap completed after
    # the other process's operations, so the segment before them holds open and mmap,
    # the one after them munmap, open and mprotect.
    assert kinds == [("batch", a), ("open", b), ("batch", b), ("batch", a)], kinds
    assert [_count(r) for _, r in rows if r["op"] == "batch"] == [2, 2, 3]
    again = restart(service, path)
    assert comparable(dump_kernel(again.kernel)) == comparable(dump_kernel(service.kernel))


@pytest.mark.timeout(120)
def test_long_batches_are_cut_into_segments(journaled: tuple[Running, Path]) -> None:
    """A batch of more than SEGMENT_OPS operations, with a long touch (its pieces are
    operations too) and failures among them, is several records; a restart replays
    every operation and compares each outcome."""
    running, path = journaled
    service: Service = running.app.state.service
    n = 2 * SEGMENT_OPS + 300
    with httpx.Client(base_url=running.url, timeout=60) as c:
        pid = _ok(c.post("/processes", json={"name": "long"}))["pid"]
        addr = int(
            _ok(c.post(f"/processes/{pid}/mmap", json={"length": n * PAGE, **ANON}))["addr"], 16
        )
        ops: list[dict[str, Any]] = [
            {"op": "mprotect", "addr": addr + i * PAGE, "length": PAGE, "prot": ["PROT_READ"]}
            for i in range(1, n, 2)
        ]
        touch = {"op": "touch", "addr": addr, "length": (TOUCH_CHUNK + 10) * PAGE, "access": "read"}
        ops.append(touch)
        einval = len(ops)
        ops.append({"op": "munmap", "addr": addr + 1, "length": PAGE})  # EINVAL
        ops += [
            {"op": "mprotect", "addr": addr + i * PAGE, "length": PAGE, "prot": RW}
            for i in range(1, n, 4)
        ]
        out = _ok(c.post(f"/processes/{pid}/syscalls", json={"ops": ops, "results": "failed"}))
        assert out["completed"] == len(ops) and out["failed"] == 1
        assert [x["index"] for x in out["results"]] == [einval]
    rows = _durable_rows(running, path)
    segments = [r for _, r in rows if r["op"] == "batch"]
    # The touch is two operations (two TOUCH_CHUNK pieces).
    assert sum(_count(r) for r in segments) == len(ops) + 1
    assert len(segments) == -(-(len(ops) + 1) // SEGMENT_OPS)
    assert max(_count(r) for r in segments) == SEGMENT_OPS, [_count(r) for r in segments]
    # The first segment (mprotects only) is rows (format 2), the second (mprotects, the
    # touch's pieces, the munmap) op models (format 1): the replay below reads both.
    assert [r.get("v", 1) for r in segments] == [2, 1], [r.get("v") for r in segments]
    assert segments[0]["kind"] == "mprotect" and segments[0]["fields"] == ["addr", "length", "prot"]
    again = restart(service, path)
    assert again.kernel.get(pid).mm.maps() == service.kernel.get(pid).mm.maps()
    assert comparable(dump_kernel(again.kernel)) == comparable(dump_kernel(service.kernel))


def test_a_journal_of_one_record_per_operation_still_replays(tmp_path: Path) -> None:
    """The format before batch segments (a batch as one record per operation, as every
    single call still is) loads: replayed and compared record by record."""
    store = SqliteJournalStore(str(tmp_path / "old.journal"))
    base = 0x100000000000
    old = [
        {"op": "spawn", "name": "old", "layout": None, "maps": None, "child": 1},
        {
            "op": "mmap",
            "pid": 1,
            "args": {
                "addr": base,
                "length": 4 * PAGE,
                "prot": ["PROT_READ", "PROT_WRITE"],
                "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
                "fd": -1,
                "offset": 0,
            },
            "ret": {"addr": base},
        },
        {
            "op": "mprotect",
            "pid": 1,
            "args": {"addr": base + PAGE, "length": 8 * PAGE, "prot": ["PROT_READ"]},
            "errno": 12,
        },
        {
            "op": "touch",
            "pid": 1,
            "args": {"addr": base, "length": PAGE, "access": "write", "stop_on_signal": True},
            "ret": None,
        },
    ]
    store.append(MACHINE, [(i + 1, json.dumps(r).encode()) for i, r in enumerate(old)])
    kernel = Kernel()
    stats = ReplayStatistics()
    replay(kernel, store.records(MACHINE, 0), stats)
    store.close()
    assert (stats.records, stats.position) == (4, 4)
    # The touch's outcome was not recorded as it happened (None): one divergence, named.
    assert stats.diverged == 1 and "record 4 touch" in stats.examples[0]
    lines = [line for line in kernel.get(1).mm.maps().splitlines() if line.startswith("1000")]
    assert [line.split()[:2] for line in lines] == [
        [f"{base:x}-{base + PAGE:x}", "rw-p"],
        [f"{base + PAGE:x}-{base + 4 * PAGE:x}", "r--p"],
    ]


def test_a_checkpoint_between_two_operations_of_a_batch_closes_its_segment(
    journaled: tuple[Running, Path],
) -> None:
    """A checkpoint taken while a batch is between two operations (nothing in progress)
    closes the batch's open segment: the checkpoint's position ends a record, the rest
    of the batch is a record after it, and a restart from both rebuilds the machine."""
    running, path = journaled
    service: Service = running.app.state.service
    keeper: StateKeeper = running.app.state.state_keeper
    journal = keeper.journal
    assert journal is not None
    with httpx.Client(base_url=running.url, timeout=20) as c:
        pid = _ok(c.post("/processes", json={"name": "cut"}))["pid"]
        area = {"length": 8 * PAGE, **ANON}
        addr = int(_ok(c.post(f"/processes/{pid}/mmap", json=area))["addr"], 16)
    proc = service.kernel.get(pid)
    ops = [
        BATCH_OP.validate_python(
            {"op": "mprotect", "addr": addr + i * PAGE, "length": PAGE, "prot": ["PROT_READ"]}
        )
        for i in (1, 3, 5)
    ]

    def work() -> Any:
        batch = Batch(pid)
        journal.batch_op(batch, proc, ops[0])
        journal.batch_op(batch, proc, ops[1])
        saved = keeper.save()  # in the same worker call, between two operations
        journal.batch_op(batch, proc, ops[2])
        journal.finish(batch)
        return saved

    assert _run(running, service.run, work) is not None
    position = json.loads(path.read_bytes())["journal"]["position"]
    assert journal.wait_durable(position + 1, 10)
    after = [(p, r) for p, r in _rows(path) if p > position]
    assert [(r["op"], r["first"], _count(r)) for _, r in after] == [("batch", position + 1, 1)]
    again = restart(service, path)
    assert again.kernel.get(pid).mm.maps() == proc.mm.maps()
    assert comparable(dump_kernel(again.kernel)) == comparable(dump_kernel(service.kernel))
