"""Issue 18, proof of item 9: ``kill -9`` loses nothing that was acknowledged.

A real server (``python -m uvicorn app.main:app``, journal on, a checkpoint every
second) is loaded by several writers and killed with SIGKILL, again and again: at a
random moment, or as soon as a checkpoint's temporary file appears (a kill during a
checkpoint write). After each kill the machine is restored from the files exactly as
the next start restores it (:meth:`app.persistence.StateKeeper.restore`), every
process passes ``Mm._check()``, and every acknowledged operation is checked in it:

* an acknowledged ``mmap`` (``MAP_FIXED_NOREPLACE`` at an address of its own) is a
  VMA there, unless an acknowledged ``munmap`` removed it;
* an acknowledged write fault left its page mapped;
* an acknowledged ``fork`` left the child, until an acknowledged ``DELETE`` of it;
* an acknowledged ``open`` left the fd, naming its file;
* an acknowledged batch whose ``mprotect`` failed half-way (``ENOMEM`` at a hole) left
  the part before the hole read-only and the rest of the batch's effects: the kernel's
  partial effect, which the journal's batch record must reproduce;
* an acknowledged bulk batch of ``mprotect`` (more than one journal segment, each
  written as rows: :mod:`app.journal_rows`) left every other page of its area read-only,
  or, the next one on the same area, all of it writable again (one VMA: the area's VMAs
  stay few however long the test runs).

Operations in flight at the kill were not acknowledged: whatever they touched is left
out of the checks (they may or may not have happened). Then the server is started
again from the same files, and the writers carry on with the same processes.

``test_crash_ci`` runs 20 kills (about a minute); ``test_crash_stress`` (``-m stress``)
runs 100 and prints the figures the README quotes.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.journal import SEGMENT_OPS
from app.persistence import StateKeeper
from app.service import Service
from app.settings import Settings
from core import Kernel
from core.checkpoint import temp_prefix
from core.constants import VM_READ, VM_WRITE
from core.pages import run_at
from tests.app.live import ROOT, free_port
from tests.concurrency import spawn, wait_until

PAGE = 4096
ANON = {"prot": ["PROT_READ", "PROT_WRITE"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
WRITERS = 3
BALLAST_PAGES = 20_000  # resident pages that make each checkpoint take a while
BULK_OPS = SEGMENT_OPS + 76  # a bulk batch's mprotects: two journal segments
_log = logging.getLogger(__name__)


@dataclass
class Writer:
    """One writer's acknowledged history, across kills."""

    index: int
    pid: int | None = None
    step: int = 0
    mapped: set[int] = field(default_factory=set)  # acknowledged mmaps, not unmapped
    unmapped: set[int] = field(default_factory=set)
    faulted: set[int] = field(default_factory=set)
    children: set[int] = field(default_factory=set)  # forked, not yet deleted
    deleted: set[int] = field(default_factory=set)
    files: dict[int, str] = field(default_factory=dict)  # fd -> path
    partial: set[int] = field(default_factory=set)  # batches: read-only 2 pages, then a hole
    bulk: dict[int, bool] = field(default_factory=dict)  # bulk area -> split by the last
    doubt: set[int] = field(default_factory=set)  # addresses an unacknowledged op touched
    doubtful_pids: set[int] = field(default_factory=set)
    acknowledged: int = 0

    def addr(self, step: int) -> int:
        return 0x200000000000 + (self.index << 36) + step * 2 * PAGE

    def batch_addr(self, step: int) -> int:
        return 0x300000000000 + (self.index << 36) + step * 8 * PAGE

    def bulk_addr(self, step: int) -> int:
        return 0x400000000000 + (self.index << 36) + step * 2 * BULK_OPS * PAGE


@dataclass
class Report:
    rounds: int = 0
    acknowledged: int = 0
    verified: int = 0
    lost: list[str] = field(default_factory=list)
    in_doubt: int = 0
    last_checked: int = 0  # acknowledged effects checked after the last kill
    kills_during_checkpoint: int = 0
    replayed: int = 0
    diverged: int = 0
    bulk_checked: int = 0  # acknowledged bulk batches checked, over all kills


def _work(c: httpx.Client, w: Writer, stop: threading.Event) -> None:
    """Single requests until the server dies; each effect is recorded only once its
    answer arrived (an operation cut off by the kill goes to ``doubt``). ``c`` has the
    server's base URL (a client per writer for the whole test: building one costs)."""
    while not stop.is_set():
        k = w.step
        w.step += 1
        touched: list[int] = []
        try:
            if w.pid is None:
                r = c.post("/processes", json={"name": f"writer{w.index}"})
                r.raise_for_status()
                w.pid = r.json()["pid"]
                w.acknowledged += 1
                continue
            pid, a = w.pid, w.addr(k)
            touched = [a]
            flags = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED_NOREPLACE"]
            body = {"addr": a, "length": PAGE, "prot": ANON["prot"], "flags": flags}
            r = c.post(f"/processes/{pid}/mmap", json=body)
            r.raise_for_status()
            w.mapped.add(a)
            w.acknowledged += 1
            r = c.post(f"/processes/{pid}/faults", json={"addr": a, "access": "write"})
            r.raise_for_status()
            w.faulted.add(a)
            w.acknowledged += 1
            if k % 7 == 6 and w.addr(k - 3) in w.mapped:
                old = w.addr(k - 3)
                touched = [old]
                r = c.post(f"/processes/{pid}/munmap", json={"addr": old, "length": PAGE})
                r.raise_for_status()
                w.mapped.discard(old)
                w.faulted.discard(old)
                w.unmapped.add(old)
                w.acknowledged += 1
            if k % 11 == 10:
                touched = []
                r = c.post(f"/processes/{pid}/fork", json={"name": f"child{w.index}"})
                r.raise_for_status()
                child = r.json()["pid"]
                w.children.add(child)
                w.acknowledged += 1
                w.doubtful_pids.add(child)
                r = c.delete(f"/processes/{child}")
                r.raise_for_status()
                w.children.discard(child)
                w.deleted.add(child)
                w.doubtful_pids.discard(child)
                w.acknowledged += 1
            if k % 5 == 4:
                b = w.batch_addr(k)
                touched = [b]
                r = c.post(f"/processes/{pid}/syscalls", json={"ops": _partial_batch(b)})
                r.raise_for_status()
                results = r.json()["results"]
                assert [x["ok"] for x in results] == [True, True, False, True], results
                w.partial.add(b)
                w.acknowledged += 1
            if k % 17 == 16:
                # The last acknowledged area again, or a new one (none yet, or the last
                # batch on it was cut off: its state is unknown).
                b = next((a for a in w.bulk if a not in w.doubt), w.bulk_addr(k))
                touched = [b]
                if b not in w.bulk:
                    area = {"addr": b, "length": 2 * BULK_OPS * PAGE, "prot": ANON["prot"]}
                    r = c.post(f"/processes/{pid}/mmap", json={**area, "flags": flags})
                    r.raise_for_status()
                    w.bulk[b] = False
                split = not w.bulk[b]
                ops = _bulk_batch(b, split)
                r = c.post(f"/processes/{pid}/syscalls", json={"ops": ops})
                r.raise_for_status()
                assert r.json()["completed"] == BULK_OPS and r.json()["failed"] == 0
                w.bulk[b] = split
                w.acknowledged += 1
            if k % 13 == 12:
                touched = []
                path = f"/tmp/w{w.index}-{k}"
                r = c.post(f"/processes/{pid}/files", json={"path": path})
                r.raise_for_status()
                w.files[r.json()["fd"]] = path
                w.acknowledged += 1
        except (httpx.TransportError, httpx.HTTPStatusError):
            w.doubt.update(touched)
            return


def _partial_batch(b: int) -> list[dict[str, object]]:
    """Map 2 pages at ``b`` and fault one; ``mprotect`` 4 pages, which fails with ENOMEM
    at the hole after making the 2 mapped pages read-only (``mprotect_fixup`` ran for the
    VMA before the hole, as in Linux); then map the page after the hole's first page."""
    fixed = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED_NOREPLACE"]
    return [
        {"op": "mmap", "addr": b, "length": 2 * PAGE, "prot": ANON["prot"], "flags": fixed},
        {"op": "fault", "addr": b, "access": "write"},
        {"op": "mprotect", "addr": b, "length": 4 * PAGE, "prot": ["PROT_READ"]},
        {"op": "mmap", "addr": b + 3 * PAGE, "length": PAGE, "prot": ANON["prot"], "flags": fixed},
    ]


def _bulk_batch(b: int, split: bool) -> list[dict[str, object]]:
    """``mprotect`` every other page of the area at ``b`` read-only (``split``), or back
    to read-write (the VMAs merge again): operations of one kind, so the journal writes
    their segments as rows."""
    prot = ["PROT_READ"] if split else ANON["prot"]
    return [
        {"op": "mprotect", "addr": b + (2 * i + 1) * PAGE, "length": PAGE, "prot": prot}
        for i in range(BULK_OPS)
    ]


def _verify(path: Path, writers: list[Writer], report: Report) -> Kernel:
    """Restore as the next start does; check every process and every acknowledged
    operation. Returns the restored machine."""
    service = Service(Settings())
    keeper = StateKeeper(service, str(path), 0, "journal")
    keeper.restore()
    if keeper.store is not None:
        keeper.store.close()
    report.kills_during_checkpoint += bool(keeper.removed_temps)
    report.replayed += keeper.replayed.records
    report.diverged += keeper.replayed.diverged
    kernel = service.kernel
    for proc in kernel.processes():
        proc.mm._check()
    before = report.verified
    for w in writers:
        if w.pid is None:
            continue
        proc = kernel.get(w.pid)
        mm = proc.mm
        for a in w.mapped - w.doubt:
            vma = mm.vma_lookup(a)
            report.verified += 1
            if vma is None:
                report.lost.append(f"writer {w.index}: mmap at {a:#x}")
            elif a in w.faulted and a not in (vma.pages or {}) and run_at(vma, a) is None:
                report.lost.append(f"writer {w.index}: page at {a:#x}")
            else:
                report.verified += a in w.faulted
        for b in w.partial - w.doubt:
            first, hole, after = (
                mm.vma_lookup(b),
                mm.vma_lookup(b + 2 * PAGE),
                mm.vma_lookup(b + 3 * PAGE),
            )
            report.verified += 1
            if (
                first is None
                or (first.vm_start, first.vm_end) != (b, b + 2 * PAGE)
                or first.vm_flags & (VM_READ | VM_WRITE) != VM_READ
                or (b not in (first.pages or {}) and run_at(first, b) is None)
                or hole is not None
                or after is None
                or after.vm_flags & VM_WRITE == 0
            ):
                report.lost.append(f"writer {w.index}: partial batch at {b:#x}: {first}")
        for b, split in w.bulk.items():
            if b in w.doubt:
                continue
            report.verified += 1
            report.bulk_checked += 1
            end = b + 2 * BULK_OPS * PAGE
            got = {
                (v.vm_start, v.vm_end, v.vm_flags & (VM_READ | VM_WRITE))
                for v in (mm.vma_lookup(a) for a in range(b, end, PAGE))
                if v is not None
            }
            rw = VM_READ | VM_WRITE
            want = (
                {(a, a + PAGE, VM_READ if (a - b) // PAGE % 2 else rw) for a in range(b, end, PAGE)}
                if split
                else {(b, end, rw)}
            )
            if got != want:
                report.lost.append(f"writer {w.index}: bulk batch at {b:#x}")
        for a in w.unmapped - w.doubt:
            report.verified += 1
            if mm.vma_lookup(a) is not None:
                report.lost.append(f"writer {w.index}: munmap at {a:#x}")
        live = {p.pid for p in kernel.processes()}
        for child in w.children - w.doubtful_pids:
            report.verified += 1
            if child not in live:
                report.lost.append(f"writer {w.index}: fork child {child}")
        for child in w.deleted:
            report.verified += 1
            if child in live:
                report.lost.append(f"writer {w.index}: exit of {child}")
        fds = {fd: f.inode.path for fd, f in proc.files.items()}
        for fd, name in w.files.items():
            report.verified += 1
            if fds.get(fd) != name:
                report.lost.append(f"writer {w.index}: fd {fd} of {name}")
    report.last_checked = report.verified - before
    return kernel


class Zygote:
    """``tests/app/crash_server.py``: forks a server per round (see its note)."""

    def __init__(self, path: Path) -> None:
        env = {**os.environ, "VMASIM_STATE_FILE": str(path), "VMASIM_STATE_INTERVAL": "1"}
        self.http = httpx.Client(timeout=30)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.app.crash_server"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, line: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, f"the zygote ended (exit code {self.proc.poll()})"
        return int(answer)

    @contextmanager
    def server(self) -> Iterator[tuple[str, int]]:
        """A fresh server (restored from the files): its URL and pid, once healthy."""
        port = free_port()
        pid = self._ask(f"serve {port}")
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return self.http.get(url + "/healthz").status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(healthy, timeout=60, what="the forked server is healthy")
            yield url, pid
        finally:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            assert self._ask(f"wait {pid}") == -signal.SIGKILL

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(20)
        self.proc.stdout.close()
        self.http.close()


def _ballast(url: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        pid = c.post("/processes", json={"layout": "typical", "name": "ballast"}).json()["pid"]
        addr = c.post(f"/processes/{pid}/mmap", json={"length": BALLAST_PAGES * PAGE, **ANON})
        touch = {"op": "touch", "addr": addr.json()["addr"], "length": BALLAST_PAGES * PAGE}
        assert c.post(f"/processes/{pid}/syscalls", json={"ops": [touch]}).status_code == 200


def crash_rounds(tmp_path: Path, rounds: int, seed: int = 18) -> Report:
    rng = random.Random(seed)
    path = tmp_path / "state.json"
    prefix = temp_prefix(path)
    writers = [Writer(i) for i in range(WRITERS)]
    clients = [httpx.Client(timeout=30) for _ in writers]
    report = Report()
    zygote = Zygote(path)
    try:
        for n in range(rounds):
            with zygote.server() as (url, pid):
                if n == 0:
                    _ballast(url)
                stop = threading.Event()
                for c in clients:
                    c.base_url = httpx.URL(url)
                workers = [spawn(_work, c, w, stop) for c, w in zip(clients, writers, strict=True)]
                if n % 2:
                    # During a checkpoint: as soon as one starts writing its file.
                    def saving() -> bool:
                        return any(name.startswith(prefix) for name in os.listdir(tmp_path))

                    wait_until(saving, timeout=30, what="a checkpoint being written")
                else:
                    stop.wait(rng.uniform(0.2, 1.0))
                os.kill(pid, signal.SIGKILL)
                stop.set()
                for worker in workers:
                    worker.join(30)
            report.rounds += 1
            _verify(path, writers, report)
    finally:
        zygote.close()
        for c in clients:
            c.close()
    report.acknowledged = sum(w.acknowledged for w in writers)
    report.in_doubt = sum(len(w.doubt) for w in writers)
    return report


def _assert(report: Report, rounds: int) -> None:
    _log.warning("crash test: %s", report)
    assert report.rounds == rounds
    assert report.lost == [], report.lost[:20]
    assert report.diverged == 0
    assert report.acknowledged > 5 * rounds, report
    assert report.verified > report.acknowledged // 4, report
    assert report.kills_during_checkpoint >= rounds // 4, report
    assert report.bulk_checked > 0, report


@pytest.mark.timeout(240)
def test_crash_ci(tmp_path: Path) -> None:
    _assert(crash_rounds(tmp_path, 20), 20)


@pytest.mark.stress
@pytest.mark.timeout(1800)
def test_crash_stress(tmp_path: Path) -> None:
    _assert(crash_rounds(tmp_path, 100, seed=1), 100)
