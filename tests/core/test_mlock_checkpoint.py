"""A checkpoint keeps what mlock, mseal, prctl(PR_SET_VMA) and setrlimit changed: lock
and seal bits, names, MCL_FUTURE, locked_vm, limits and capabilities, and the machine's
memory settings; a state written before these fields existed still loads."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    PROT_READ,
    PROT_WRITE,
    RLIMIT_MEMLOCK,
    Kernel,
    StateError,
    SyscallError,
    dump_kernel,
    load_kernel,
    render_smaps,
    render_status_memory,
)

PG = 4096
RW = PROT_READ | PROT_WRITE
FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
BASE = 0x100000000000


def _machine() -> tuple[Kernel, int]:
    kernel = Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mlock(BASE, 2 * PG)
    mm.mlock2(BASE + 4 * PG, 2 * PG, MLOCK_ONFAULT)
    mm.mseal(BASE + 8 * PG, 2 * PG)
    proc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, BASE + 12 * PG, 2 * PG, "named")
    mm.mlockall(MCL_FUTURE | MCL_ONFAULT)
    proc.setrlimit(RLIMIT_MEMLOCK, 64 * PG, 128 * PG)
    mm.cap_ipc_lock = False
    kernel.configure(ram_pages=1 << 18, overcommit_ratio=80)
    return kernel, proc.pid


def test_round_trip_keeps_locks_seals_names_limits_and_settings() -> None:
    kernel, pid = _machine()
    doc = dump_kernel(kernel)
    restored = load_kernel(doc)
    a, b = kernel.get(pid), restored.get(pid)
    assert render_smaps(b.mm) == render_smaps(a.mm)
    assert b.mm.maps() == a.mm.maps()
    assert render_status_memory(b.mm) == render_status_memory(a.mm)
    assert re.search(r"VmLck:\s+16 kB", render_status_memory(b.mm))
    assert b.mm.def_flags == a.mm.def_flags != 0
    assert b.getrlimit(RLIMIT_MEMLOCK) == (64 * PG, 128 * PG)
    assert (b.mm.cap_ipc_lock, b.mm.cap_sys_admin, b.mm.cap_sys_resource) == (False, True, False)
    assert restored.settings() == kernel.settings()
    assert dump_kernel(restored)["processes"] == doc["processes"]
    # The seal still refuses, and MCL_FUTURE still locks new mappings.
    with pytest.raises(SyscallError, match="EPERM"):
        b.mm.munmap(BASE + 8 * PG, PG)
    b.mm.mmap(BASE + 32 * PG, PG, RW, FIXED)
    assert "lo lf" in render_smaps(b.mm).split(f"{BASE + 32 * PG:x}-")[1].split("VmFlags:")[1]


def test_a_state_from_before_these_fields_loads_with_host_defaults() -> None:
    kernel, _ = _machine()
    doc = dump_kernel(kernel)
    kdoc = doc["kernel"]
    for key in ("settings", "committed_pages", "commit_checks"):
        del kdoc[key]
    for pdoc in doc["processes"]:
        for key in ("cap_ipc_lock", "cap_sys_admin", "cap_sys_resource", "rlimit_memlock"):
            del pdoc["mm"][key]
    for idoc in doc["inodes"]:
        idoc.pop("commit_pages", None)
    restored = load_kernel(doc)
    mm = restored.processes()[0].mm
    assert (mm.cap_ipc_lock, mm.rlimit_memlock) == (True, (8 << 20, 8 << 20))
    assert restored.settings() == Kernel().settings()
    # Committed_AS is recomputed from the accounted VMAs.
    assert restored.statistics().commit.committed_pages == 16


def test_bad_new_fields_are_refused_naming_them() -> None:
    kernel, _ = _machine()
    mutations: list[tuple[Callable[[dict[str, Any]], object], str]] = [
        (lambda d: d["kernel"]["settings"].update(overcommit_memory=9), "overcommit_memory"),
        (lambda d: d["kernel"]["settings"].update(bogus=1), "kernel.settings.bogus"),
        (lambda d: d["processes"][0]["mm"].update(rlimit_memlock=[2, 1]), "rlimit_memlock"),
        (lambda d: d["processes"][0]["mm"].update(cap_ipc_lock=1), "cap_ipc_lock"),
        (lambda d: d["kernel"].update(committed_pages=-1), "committed_pages"),
    ]
    for mutate, needle in mutations:
        doc = dump_kernel(kernel)
        mutate(doc)
        with pytest.raises(StateError, match=re.escape(needle)):
            load_kernel(doc)


def _mlock_counts(kernel: Kernel) -> tuple[int, int]:
    ev = kernel.vm_events.statistics()
    return ev.unevictable_pgs_mlocked, ev.unevictable_pgs_munlocked


def _batch_after_restore() -> tuple[Kernel, Kernel, int]:
    # 40 locked pages, 10 of them unmapped: their munlocks wait in the batch, and the
    # folios' mlock counts decide what the next drain counts.
    kernel = Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    mm.mmap(BASE, 40 * PG, RW, FIXED)
    for i in range(40):
        mm.fault(BASE + i * PG, "write")
    mm.mlock(BASE, 40 * PG)
    mm.munmap(BASE, 10 * PG)
    assert len(kernel.lru.mlock) == 10
    restored = load_kernel(dump_kernel(kernel))
    return kernel, restored, proc.pid


def test_round_trip_keeps_the_mlock_batch_and_counts() -> None:
    kernel, restored, pid = _batch_after_restore()
    assert _mlock_counts(restored) == _mlock_counts(kernel) == (40, 0)
    assert len(restored.lru.mlock) == 10
    # Both machines go on alike: the next munlock drains the 10 first, then unlocks 30.
    for k in (kernel, restored):
        k.get(pid).mm.munlock(BASE + 10 * PG, 30 * PG)
    assert _mlock_counts(restored) == _mlock_counts(kernel) == (40, 40)
    assert dump_kernel(restored)["pages"] == dump_kernel(kernel)["pages"]
    restored.get(pid).mm._check()
    restored.lru._check()


def test_a_state_without_mlock_counts_mlocks_what_locked_vmas_map() -> None:
    kernel, _, pid = _batch_after_restore()
    doc = dump_kernel(kernel)
    for pdoc in doc["pages"]:
        pdoc.pop("mlock_count", None)
    del doc["kernel"]["lru"]["mlock"]
    restored = load_kernel(doc)
    assert restored.lru.mlock == [] and _mlock_counts(restored) == (40, 0)
    restored.get(pid).mm.munlock(BASE + 10 * PG, 30 * PG)
    assert _mlock_counts(restored) == (40, 30)


def test_bad_mlock_batches_are_refused_naming_them() -> None:
    kernel, _, _ = _batch_after_restore()
    for value, needle in [
        ([[0]], r"kernel.lru.mlock[0]=[0] must be [page, pid or null]"),
        ([[-1, None]], r"kernel.lru.mlock[0]=[-1, None] must be"),
        ([[-1, 1000, -3]], r"kernel.lru.mlock[0][2]"),
        ([[0, "x"]], "kernel.lru.mlock[0][1]"),
        ([[10**6, None]], "kernel.lru.mlock[0][0]"),
        ([[0, None]] * 31, "holds 31 entries"),
    ]:
        doc = dump_kernel(kernel)
        doc["kernel"]["lru"]["mlock"] = value
        with pytest.raises(StateError, match=re.escape(needle)):
            load_kernel(doc)
    doc = dump_kernel(kernel)
    doc["pages"][0]["mlock_count"] = 0
    with pytest.raises(StateError, match=re.escape("pages[0].mlock_count")):
        load_kernel(doc)


def test_round_trip_derives_which_mlocked_folios_are_unevictable() -> None:
    """PG_unevictable is not saved: a restored mlocked folio is unevictable unless its
    mlock entry still waits in the batch. A fault into an ``MLOCK_ONFAULT`` range queues
    the entry (no drain); ``mlock`` of a mapped page drains it (its populate)."""
    kernel = Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.fault(BASE, "write")  # a page (not a run), then locked: mlock drains its entry
    mm.mlock(BASE, PG)
    mm.mlock2(BASE + 2 * PG, 2 * PG, MLOCK_ONFAULT)
    mm.fault(BASE + 2 * PG, "write")  # mlocked, its entry pending

    def flags(k: Kernel) -> list[tuple[int, bool]]:
        out = []
        for vma in k.get(proc.pid).mm.vmas():
            out += [(p.mlock_count, p.unevictable) for p in (vma.pages or {}).values()]
        return out

    before = flags(kernel)
    restored = load_kernel(dump_kernel(kernel))
    assert flags(restored) == before
    assert (1, False) in before and (1, True) in before, before


def test_check_refuses_an_unevictable_folio_nothing_locks() -> None:
    """``_check()`` ties PG_unevictable to PG_mlocked: a folio marked unevictable with
    no lock is corruption."""
    kernel = Kernel()
    mm = kernel.spawn().mm
    mm.mmap(BASE, 2 * PG, RW, FIXED)
    mm.fault(BASE, "write")
    mm._check()
    vma = mm.find_vma(BASE)
    assert vma is not None and vma.pages
    page = next(iter(vma.pages.values()))
    page.unevictable = True
    with pytest.raises(AssertionError, match="unevictable"):
        mm._check()
