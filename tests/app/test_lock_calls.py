"""The madvise, locking, sealing and naming routes (``madvise``, ``mlock``, ``mlock2``,
``munlock``, ``mlockall``, ``munlockall``, ``mseal``, ``prctl``) and their batch ops, each checked
against the engine running the same calls in a fresh local process (same empty layout,
so the same addresses and the same VMAs)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core import (
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_GUARD_INSTALL,
    MADV_POPULATE_WRITE,
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Process,
    SyscallError,
)
from core.smaps import render_smaps

PAGE = 4096
ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
RW = ["PROT_READ", "PROT_WRITE"]


def _mapped(http: httpx.Client, pid: int, proc: Process, pages: int) -> int:
    r = http.post(
        f"/processes/{pid}/mmap", json={"length": pages * PAGE, "prot": RW, "flags": ANON}
    )
    addr = int(r.json()["addr"], 16)
    assert addr == proc.mm.mmap(
        0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS
    )
    return addr


def _same(http: httpx.Client, pid: int, proc: Process) -> None:
    assert http.get(f"/processes/{pid}/maps").text == proc.mm.maps()
    assert http.get(f"/processes/{pid}/smaps").text == render_smaps(proc.mm)
    status = http.get(f"/processes/{pid}").json()
    assert status["locked_vm"] == proc.mm.locked_vm


def test_each_route_matches_the_engine(http: httpx.Client, pid: int) -> None:
    proc = Kernel().spawn()
    a = _mapped(http, pid, proc, 16)
    base = f"/processes/{pid}"
    steps: list[tuple[str, dict[str, Any] | None, Any]] = [
        (
            "mlock",
            {"addr": f"{a + PAGE:#x}", "length": 2 * PAGE},
            lambda: proc.mm.mlock(a + PAGE, 2 * PAGE),
        ),
        (
            "mlock2",
            {"addr": a + 4 * PAGE, "length": 100, "flags": ["MLOCK_ONFAULT"]},
            lambda: proc.mm.mlock2(a + 4 * PAGE, 100, MLOCK_ONFAULT),
        ),
        (
            "munlock",
            {"addr": a + 2 * PAGE, "length": PAGE},
            lambda: proc.mm.munlock(a + 2 * PAGE, PAGE),
        ),
        (
            "mlockall",
            {"flags": ["MCL_FUTURE", "MCL_ONFAULT"]},
            lambda: proc.mm.mlockall(MCL_FUTURE | MCL_ONFAULT),
        ),
        ("munlockall", None, proc.mm.munlockall),
        ("mlockall", {"flags": ["MCL_CURRENT"]}, lambda: proc.mm.mlockall(MCL_CURRENT)),
        ("munlockall", None, proc.mm.munlockall),
        (
            "mseal",
            {"addr": a + 8 * PAGE, "length": 2 * PAGE},
            lambda: proc.mm.mseal(a + 8 * PAGE, 2 * PAGE),
        ),
        (
            "prctl",
            {
                "option": "PR_SET_VMA",
                "attr": "PR_SET_VMA_ANON_NAME",
                "addr": a + 12 * PAGE,
                "size": PAGE,
                "name": "jit",
            },
            lambda: proc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, a + 12 * PAGE, PAGE, "jit"),
        ),
    ]
    for kind, body, local in steps:
        r = (
            http.post(f"{base}/{kind}", json=body)
            if body is not None
            else http.post(f"{base}/{kind}")
        )
        assert (r.status_code, r.content) == (204, b""), (kind, r.text)
        local()
        _same(http, pid, proc)
    maps = proc.mm.maps()
    assert "[anon:jit]" in maps and " sl " in render_smaps(proc.mm)


@pytest.mark.parametrize(
    ("kind", "body", "errno_name"),
    [
        ("mlock2", {"addr": 0, "length": PAGE, "flags": [2]}, "EINVAL"),
        ("mlockall", {"flags": ["MCL_ONFAULT"]}, "EINVAL"),
        ("mlockall", {"flags": []}, "EINVAL"),
        ("mseal", {"addr": 1, "length": PAGE}, "EINVAL"),
        ("mseal", {"addr": 0, "length": PAGE, "flags": 1}, "EINVAL"),
        ("mlock", {"addr": 0x1000, "length": PAGE}, "ENOMEM"),
        ("munlock", {"addr": 0x1000, "length": PAGE}, "ENOMEM"),
        ("mseal", {"addr": 0x1000, "length": PAGE}, "ENOMEM"),
        ("prctl", {"addr": 0x1000, "size": PAGE, "name": "a b"}, "ENOMEM"),
        ("prctl", {"addr": 0x1000, "size": PAGE, "name": "a[b]"}, "EINVAL"),
        ("prctl", {"addr": 0x1000, "size": PAGE, "name": "x" * 80}, "EINVAL"),
        ("prctl", {"option": 1, "addr": 0x1000, "size": PAGE, "name": None}, "EINVAL"),
        ("prctl", {"attr": 7, "addr": 0x1000, "size": PAGE, "name": None}, "EINVAL"),
    ],
)
def test_the_kernels_errnos_change_nothing(
    http: httpx.Client, pid: int, kind: str, body: dict[str, Any], errno_name: str
) -> None:
    before = http.get(f"/processes/{pid}/smaps").text
    r = http.post(f"/processes/{pid}/{kind}", json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert (problem["errno_name"], problem["syscall"]) == (errno_name, kind), problem
    assert http.get(f"/processes/{pid}/smaps").text == before


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("mlock2", {"addr": 0, "length": PAGE, "flags": ["MLOCK_BOGUS"]}),
        ("mlockall", {"flags": ["MCL_NOW"]}),
        ("mlockall", {}),
        ("prctl", {"option": "PR_SET_NAME", "addr": 0, "size": 0, "name": None}),
        ("prctl", {"addr": 0, "size": 0}),
        ("mseal", {"addr": 0, "length": -1}),
    ],
)
def test_malformed_bodies_are_validation_errors(
    http: httpx.Client, pid: int, kind: str, body: dict[str, Any]
) -> None:
    r = http.post(f"/processes/{pid}/{kind}", json=body)
    assert r.status_code == 422 and "errno" not in r.json(), r.text


def test_a_sealed_range_refuses_change_with_eperm(http: httpx.Client, pid: int) -> None:
    proc = Kernel().spawn()
    a = _mapped(http, pid, proc, 4)
    base = f"/processes/{pid}"
    assert http.post(f"{base}/mseal", json={"addr": a, "length": 2 * PAGE}).status_code == 204
    for kind, body in [
        ("munmap", {"addr": a, "length": PAGE}),
        ("mprotect", {"addr": a + PAGE, "length": PAGE, "prot": ["PROT_READ"]}),
        (
            "mremap",
            {"old_addr": a, "old_len": PAGE, "new_len": 2 * PAGE, "flags": ["MREMAP_MAYMOVE"]},
        ),
    ]:
        r = http.post(f"{base}/{kind}", json=body)
        assert r.status_code == 422 and r.json()["errno_name"] == "EPERM", (kind, r.text)
    # mlock is not restricted by a seal.
    assert http.post(f"{base}/mlock", json={"addr": a, "length": 4 * PAGE}).status_code == 204


def test_batch_ops_match_the_engine(http: httpx.Client, pid: int) -> None:
    proc = Kernel().spawn()
    a = _mapped(http, pid, proc, 8)
    ops: list[dict[str, Any]] = [
        {"op": "mlock", "addr": a, "length": PAGE},
        {"op": "mlock2", "addr": a + 2 * PAGE, "length": PAGE, "flags": ["MLOCK_ONFAULT"]},
        {"op": "munlock", "addr": a, "length": PAGE},
        {"op": "mlockall", "flags": ["MCL_CURRENT", "MCL_FUTURE"]},
        {"op": "munlockall"},
        {"op": "mseal", "addr": a + 4 * PAGE, "length": PAGE},
        {"op": "munmap", "addr": a + 4 * PAGE, "length": PAGE},
        {"op": "prctl", "addr": a + 6 * PAGE, "size": PAGE, "name": "arena"},
        {"op": "mlockall", "flags": ["MCL_ONFAULT"]},
    ]
    r = http.post(f"/processes/{pid}/syscalls", json={"ops": ops})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["op"], x["ok"], x.get("errno_name")) for x in results] == [
        ("mlock", True, None),
        ("mlock2", True, None),
        ("munlock", True, None),
        ("mlockall", True, None),
        ("munlockall", True, None),
        ("mseal", True, None),
        ("munmap", False, "EPERM"),
        ("prctl", True, None),
        ("mlockall", False, "EINVAL"),
    ]
    mm = proc.mm
    mm.mlock(a, PAGE)
    mm.mlock2(a + 2 * PAGE, PAGE, MLOCK_ONFAULT)
    mm.munlock(a, PAGE)
    mm.mlockall(MCL_CURRENT | MCL_FUTURE)
    mm.munlockall()
    mm.mseal(a + 4 * PAGE, PAGE)
    with pytest.raises(SyscallError):
        mm.munmap(a + 4 * PAGE, PAGE)
    proc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, a + 6 * PAGE, PAGE, "arena")
    _same(http, pid, proc)


def test_mlock_faults_pages_in_and_status_counts_them(http: httpx.Client, pid: int) -> None:
    """mlock populates (Rss, smaps Locked, VmLck); MLOCK_ONFAULT does not populate."""
    proc = Kernel().spawn()
    a = _mapped(http, pid, proc, 8)
    base = f"/processes/{pid}"
    http.post(f"{base}/mlock", json={"addr": a, "length": 3 * PAGE})
    http.post(
        f"{base}/mlock2",
        json={"addr": a + 4 * PAGE, "length": 2 * PAGE, "flags": ["MLOCK_ONFAULT"]},
    )
    assert http.get(f"/processes/{pid}").json()["locked_vm"] == 5
    smaps = http.get(f"{base}/smaps").text
    assert "Locked:               12 kB" in smaps
    assert "VmFlags: rd wr mr mw me lo ac \n" in smaps
    assert "VmFlags: rd wr mr mw me lo lf ac \n" in smaps
    status = http.get(f"{base}/status").text
    assert "VmLck:\t      20 kB" in status, status


def test_madvise_matches_the_engine(http: httpx.Client, pid: int) -> None:
    """Flag advice splits (VmFlags ``dc``), POPULATE_WRITE faults pages in, DONTNEED
    drops them, a guard region makes a touch fault; names and values alike; a hole is
    ENOMEM after the mapped part was advised, unknown advice EINVAL, a sealed
    read-only anonymous range refuses DONTNEED with EPERM."""
    proc = Kernel().spawn()
    a = _mapped(http, pid, proc, 8)
    base = f"/processes/{pid}"
    steps: list[tuple[dict[str, Any], int]] = [
        ({"addr": a + PAGE, "length": 2 * PAGE, "advice": "MADV_DONTFORK"}, MADV_DONTFORK),
        ({"addr": a, "length": 8 * PAGE, "advice": "MADV_POPULATE_WRITE"}, MADV_POPULATE_WRITE),
        ({"addr": a + 4 * PAGE, "length": 2 * PAGE, "advice": MADV_DONTNEED}, MADV_DONTNEED),
        (
            {"addr": a + 7 * PAGE, "length": PAGE, "advice": "MADV_GUARD_INSTALL"},
            MADV_GUARD_INSTALL,
        ),
    ]
    for body, advice in steps:
        r = http.post(f"{base}/madvise", json=body)
        assert r.status_code == 204, r.text
        proc.mm.madvise(body["addr"], body["length"], advice)
        _same(http, pid, proc)
    assert " dc " in render_smaps(proc.mm)
    touched = http.post(f"{base}/faults", json={"addr": a + 7 * PAGE, "access": "read"}).json()
    assert touched["outcome"] == "SIGSEGV", touched
    hole = http.post(
        f"{base}/madvise", json={"addr": a, "length": 16 * PAGE, "advice": "MADV_DOFORK"}
    )
    assert hole.json()["errno_name"] == "ENOMEM"
    proc.mm.madvise(a, 8 * PAGE, 11)  # MADV_DOFORK: applied to the mapped part
    _same(http, pid, proc)
    bad = http.post(f"{base}/madvise", json={"addr": a, "length": PAGE, "advice": 77})
    assert bad.json()["errno_name"] == "EINVAL"
    unknown = http.post(f"{base}/madvise", json={"addr": a, "length": PAGE, "advice": "MADV_FAST"})
    assert unknown.status_code == 422 and "errno" not in unknown.json()
    ro = _mapped(http, pid, proc, 2)
    http.post(f"{base}/mprotect", json={"addr": ro, "length": 2 * PAGE, "prot": ["PROT_READ"]})
    http.post(f"{base}/mseal", json={"addr": ro, "length": 2 * PAGE})
    sealed = http.post(
        f"{base}/madvise", json={"addr": ro, "length": PAGE, "advice": "MADV_DONTNEED"}
    )
    assert sealed.json()["errno_name"] == "EPERM"
    batch = http.post(
        f"{base}/syscalls",
        json={"ops": [{"op": "madvise", "addr": a, "length": PAGE, "advice": "MADV_WIPEONFORK"}]},
    )
    assert batch.json()["results"][0]["ok"] is True
