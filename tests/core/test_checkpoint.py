"""core/checkpoint.py: checkpoints of a whole machine, round trip of every field, validation
of bad documents, atomic writes, and a save racing a writer."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDONLY,
    O_RDWR,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Process,
)
from core.checkpoint import FORMAT, VERSION, dump_kernel, load_kernel, load_state, save_state
from core.errors import StateError
from core.pages import ZERO_PAGE, Page, PageKind
from tests.concurrency import spawn, wait_until

PAGE = 4096
RW = PROT_READ | PROT_WRITE

MAPS_WITH_NAMES = """\
555555554000-555555556000 r--p 00000000 fe:00 260131                     /usr/bin/sleep
7ffff7dd2000-7ffff7dd5000 rw-p 00000000 00:00 0                          [anon:jemalloc]
7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
"""


def rich_kernel() -> Kernel:
    """A machine exercising every saved field: layouts, names, private/shared/file/shmem
    mappings, faults of each kind, fork with COW-shared pages, an unlinked file, a
    closed fd, brk, an mprotect split, a resident limit and counters."""
    k = Kernel(max_map_count=1000)
    k.max_resident_pages = 10_000
    p = k.spawn("parent", layout="typical")
    anon = p.mm.mmap(0, 8 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(4):
        p.mm.fault(anon + i * PAGE, "write")
    p.mm.fault(anon + 5 * PAGE, "read")  # the zero page
    p.mm.mprotect(anon + 6 * PAGE, 2 * PAGE, PROT_READ)  # a split
    fd = p.open("/data/file", O_RDWR, size=16 * PAGE)
    shared = p.mm.mmap(0, 4 * PAGE, RW, MAP_SHARED, fd, 0)
    p.mm.fault(shared, "write")
    p.mm.fault(shared + PAGE, "read")
    private_file = p.mm.mmap(0, 4 * PAGE, RW, MAP_PRIVATE, fd, 4 * PAGE)
    p.mm.fault(private_file, "read")
    p.mm.fault(private_file + PAGE, "write")  # COW of a file page
    shm = p.mm.mmap(0, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS)
    p.mm.fault(shm, "write")
    p.open("/data/other", O_RDONLY, size=PAGE)  # an fd never mapped
    gone = p.open("/data/gone", O_RDWR, size=2 * PAGE)
    p.mm.mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED, gone, 0)
    p.close(gone)
    p.unlink("/data/gone")
    p.mm.brk(p.mm.cur_brk + 3 * PAGE)
    child = p.fork("child")
    child.mm.fault(anon, "write")  # COW: the child's copy, the parent keeps its page
    k.spawn_from_maps(MAPS_WITH_NAMES, "named")
    k.spawn("empty")
    doomed = k.spawn("exited")
    k.exit(doomed.pid)  # its pid is never reused
    k.fs.lookup_or_create("/data/created-only", 3 * PAGE)
    return k


def roundtrip(k: Kernel) -> Kernel:
    return load_kernel(json.loads(json.dumps(dump_kernel(k))))


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc.pop("saved_at")
    return doc


def test_round_trip_is_exact() -> None:
    k = rich_kernel()
    doc = dump_kernel(k)
    assert doc["format"] == FORMAT and doc["version"] == VERSION
    k2 = roundtrip(k)
    assert comparable(dump_kernel(k2)) == comparable(doc)
    assert [(p.pid, p.name) for p in k2.processes()] == [(p.pid, p.name) for p in k.processes()]
    for a, b in zip(k.processes(), k2.processes(), strict=True):
        b.mm._check()
        assert b.mm.maps() == a.mm.maps()
        assert b.mm.rss_stat == a.mm.rss_stat
        for name in (
            "start_brk", "cur_brk", "start_stack", "mmap_base", "mmap_legacy_base",
            "total_vm", "data_vm", "exec_vm", "stack_vm", "locked_vm", "hiwater_vm",
            "hiwater_rss", "min_flt", "maj_flt", "generation", "map_count", "show_gate",
        ):  # fmt: skip
            assert getattr(b.mm, name) == getattr(a.mm, name), name
        assert b.mm.vm_events.statistics() == a.mm.vm_events.statistics()
        assert b.mm.old_ptes == a.mm.old_ptes
        for va, vb in zip(a.mm.vmas(), b.mm.vmas(), strict=True):
            assert (va.vm_start, va.vm_end, va.vm_pgoff, va.vm_flags) == (
                vb.vm_start, vb.vm_end, vb.vm_pgoff, vb.vm_flags,
            )  # fmt: skip
            assert (va.anon_name, va.special_name) == (vb.anon_name, vb.special_name)
            assert (va.anon_vma is None) == (vb.anon_vma is None)
            if va.anon_vma is not None:
                assert vb.anon_vma is not None
                assert (va.anon_vma.degree, va.anon_vma.forked) == (
                    vb.anon_vma.degree, vb.anon_vma.forked,
                )  # fmt: skip
            assert sorted(va.pages or {}) == sorted(vb.pages or {})
            for addr, page in (va.pages or {}).items():
                other = (vb.pages or {})[addr]
                assert (page.kind, page.dirty, page.mapcount) == (
                    other.kind, other.dirty, other.mapcount,
                )  # fmt: skip
                assert (page is ZERO_PAGE) == (other is ZERO_PAGE)
            if va.vm_file is not None:
                assert vb.vm_file is not None
                assert va.vm_file.refs == vb.vm_file.refs
                assert va.vm_file.inode.display_path() == vb.vm_file.inode.display_path()
        fds_a, fds_b = a.files.items(), b.files.items()
        assert [fd for fd, _ in fds_a] == [fd for fd, _ in fds_b]
        for (_, fa), (_, fb) in zip(fds_a, fds_b, strict=True):
            assert (fa.readable, fa.writable, fa.refs) == (fb.readable, fb.writable, fb.refs)
    assert k2.vm_events.statistics() == k.vm_events.statistics()
    assert (k2.max_map_count, k2.max_resident_pages) == (1000, 10_000)


def test_identities_survive() -> None:
    """Shared objects stay shared: fd and mapping share one struct file, parent and
    child one page, two mappings of a file one page-cache page."""
    k2 = roundtrip(rich_kernel())
    parent, child = k2.processes()[0], k2.processes()[1]
    fd_file = dict(parent.files.items())[3]
    mapped = [v.vm_file for v in parent.mm.vmas() if v.vm_file is fd_file]
    assert len(mapped) == 2  # MAP_SHARED and MAP_PRIVATE of fd 3
    assert fd_file.refs == 2 + 2 + 2  # parent's and child's fd, two VMAs in each mm
    shared_pages = 0
    for vp, vc in zip(parent.mm.vmas(), child.mm.vmas(), strict=True):
        theirs: dict[int, Page] = vc.pages or {}
        mine: dict[int, Page] = vp.pages or {}
        for addr, page in mine.items():
            if theirs.get(addr) is page and page.kind is not PageKind.ZERO:
                shared_pages += 1
                assert page.mapcount == 2
    assert shared_pages >= 5  # three COW-shared anon pages, the file and shmem pages
    assert k2.fs.lookup_or_create("/data/created-only", None).size == 3 * PAGE
    with pytest.raises(Exception, match="/data/gone"):
        parent.unlink("/data/gone")  # still unlinked


def test_restored_machine_keeps_working() -> None:
    """The same operations on the original and on the restored machine give the same
    results: merges (anon_vma identity), COW of shared pages, pid allocation."""
    k = rich_kernel()
    k2 = roundtrip(k)
    fresh_pids = []
    for kern in (k, k2):
        parent = kern.processes()[0]
        child = kern.processes()[1]
        anon = next(v for v in parent.mm.vmas() if v.anon_vma is not None and v.pages)
        for addr in sorted(anon.pages or {}):
            parent.mm.fault(addr, "write")  # COW where the child still shares the page
        addr = parent.mm.mmap(0, 2 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS)
        parent.mm.fault(addr, "write")
        child.mm.munmap(child.mm.vmas()[-1].vm_start, PAGE)
        fresh_pids.append(kern.spawn("fresh").pid)
    assert fresh_pids[0] == fresh_pids[1]
    assert [p.pid for p in k.processes()] == [p.pid for p in k2.processes()]
    for a, b in zip(k.processes(), k2.processes(), strict=True):
        b.mm._check()
        assert a.mm.maps() == b.mm.maps()
        assert a.mm.rss_stat == b.mm.rss_stat
        assert a.mm.min_flt == b.mm.min_flt


def test_save_is_atomic_and_leaves_no_temporary(tmp_path: Any) -> None:
    k = rich_kernel()
    path = tmp_path / "state.json"
    first = save_state(k, path)
    assert first.processes == 4 and first.bytes == path.stat().st_size
    k.spawn("later")
    save_state(k, path)
    assert sorted(os.listdir(tmp_path)) == ["state.json"]
    assert len(load_state(path).processes()) == 5


def test_failed_save_keeps_the_previous_file(tmp_path: Any, monkeypatch: Any) -> None:
    k = rich_kernel()
    path = tmp_path / "state.json"
    save_state(k, path)
    before = path.read_bytes()
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    k.spawn("lost")
    with pytest.raises(OSError, match="No space left"):
        save_state(k, path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def _mutations() -> list[tuple[str, Any, str]]:
    def set_(path: str, value: Any) -> Any:
        def apply(doc: dict[str, Any]) -> None:
            *parents, last = path.split("/")
            node: Any = doc
            for part in parents:
                node = node[int(part)] if part.isdigit() else node[part]
            if last.isdigit():
                node[int(last)] = value
            else:
                node[last] = value

        return apply

    vmas = "processes/0/mm/vmas"
    return [
        (
            "version",
            set_("version", 4),
            r"state\.version=4 is unknown \(this build reads \(1, 2, 3\)\)",
        ),
        ("format", set_("format", "other"), r"state\.format='other' is not 'vmasim-state'"),
        ("pid", set_("processes/1/pid", "x"), r"processes\[1\]\.pid='x' must be an integer"),
        ("dup pid", set_("processes/1/pid", 1000), r"processes\[1\]\.pid=1000 appears twice"),
        ("name", set_("processes/0/name", ""), r"processes\[0\]\.name='' must be 1 to 15"),
        ("next pid", set_("kernel/next_pid", 1001), r"kernel\.next_pid=1001 is not above"),
        (
            "overlap",
            set_(f"{vmas}/1/start", 0x555555554000),
            r"vmas\[1\]: range 0x555555554000-0x55555555b000 is not page aligned, empty, or "
            r"overlaps",
        ),
        ("align", set_(f"{vmas}/0/end", 0x555555556001), r"vmas\[0\]: range .* not page aligned"),
        ("file ref", set_(f"{vmas}/0/file", 99), r"vmas\[0\]\.file=99 must be an integer in"),
        ("page kind", set_("pages/0/kind", "huge"), r"pages\[0\]\.kind='huge' is not a page kind"),
        (
            "rss",
            set_("processes/0/mm/rss_stat", [0, 0, 0, 0]),
            r"rss_stat=\[0, 0, 0, 0\] disagrees",
        ),
        ("flag type", set_(f"{vmas}/0/flags", True), r"vmas\[0\]\.flags=True must be an integer"),
        ("missing", set_("processes/0/mm", {}), r"processes\[0\]\.mm\.mmap_base is missing"),
        ("events", set_("kernel/vm_events", {"bogus": 1}), r"kernel\.vm_events\.bogus is not"),
        ("dev", set_("inodes/0/dev", [1]), r"inodes\[0\]\.dev=\[1\] must be \[major, minor\]"),
    ]


@pytest.mark.parametrize(
    ("what", "mutate", "message"), _mutations(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_bad_documents_are_refused_by_name(what: str, mutate: Any, message: str) -> None:
    doc = dump_kernel(rich_kernel())
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(StateError, match=message):
        load_kernel(bad)
    load_kernel(doc)  # the original still loads


def test_page_outside_its_vma_is_refused() -> None:
    doc = dump_kernel(rich_kernel())
    vma = next(v for v in doc["processes"][0]["mm"]["vmas"] if v["pages"])
    vma["pages"][0][0] = vma["end"]
    with pytest.raises(StateError, match=r"is not a page of the VMA"):
        load_kernel(doc)


def test_bad_files_are_clear_errors(tmp_path: Any) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(StateError, match=r"none\.json' cannot be read"):
        load_state(missing)
    torn = tmp_path / "torn.json"
    save_state(rich_kernel(), torn)
    torn.write_bytes(torn.read_bytes()[:-100])
    with pytest.raises(StateError, match=r"torn\.json' is not valid JSON"):
        load_state(torn)
    for text in ("[]", "null", '"x"'):
        odd = tmp_path / "odd.json"
        odd.write_text(text)
        with pytest.raises(StateError, match=r"state must be an object"):
            load_state(odd)


def test_save_waits_for_a_writer_and_sees_its_result(tmp_path: Any) -> None:
    """A munmap parked at its pause point holds mmap_lock for write: the save queues as
    a reader, runs once the munmap completes, and records the finished layout."""
    k = Kernel()
    p: Process = k.spawn("racer", layout="typical")
    addr = p.mm.mmap(0, 4 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS)
    p.mm.mmap(addr, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    p.mm.pauses.arm("munmap:before_clear")
    writer = spawn(p.mm.munmap, addr, 2 * PAGE)
    p.mm.pauses.wait_for_hold("munmap:before_clear")
    path = tmp_path / "state.json"
    saver = spawn(save_state, k, path)
    wait_until(lambda: p.mm.mmap_lock.statistics().rwsem.waiting_readers == 1, what="save queued")
    assert not path.exists()
    p.mm.pauses.release("munmap:before_clear")
    writer.result()
    saver.result()
    restored = load_state(path).processes()[0]
    restored.mm._check()
    assert restored.mm.maps() == p.mm.maps()
    assert f"{addr:x}-" not in restored.mm.maps()
