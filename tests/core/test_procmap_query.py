"""PROCMAP_QUERY (fs/proc/task_mmu.c, include/uapi/linux/fs.h): every flag, every error in the
kernel's order of checks, the names of special mappings, the batch helper, and the 6.18
per-VMA-lock paths forced deterministically (pause points and the mmap_lock queue, never
sleeps)."""

from __future__ import annotations

import random
import sys
import threading

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDONLY,
    O_RDWR,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    InvalidArgument,
    Kernel,
    Mm,
    Process,
    SyscallError,
)
from core.layout import TYPICAL_MAPS
from core.procmap_query import (
    PROCMAP_QUERY,
    PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
    PROCMAP_QUERY_FILE_BACKED_VMA,
    PROCMAP_QUERY_SIZE,
    PROCMAP_QUERY_VMA_EXECUTABLE,
    PROCMAP_QUERY_VMA_READABLE,
    PROCMAP_QUERY_VMA_SHARED,
    PROCMAP_QUERY_VMA_WRITABLE,
    ProcmapQueryArgs,
    QueryPath,
    VmaQueryResult,
    do_procmap_query,
    procmap_query,
    procmap_query_batch,
    query_statistics,
)
from core.vma_lock import VMA_REF_LIMIT
from tests.concurrency import spawn, wait_until
from tests.engines import PYTHON_ENGINE_ONLY

# The package exports a function named like the module: reach the module itself.
procmap_query_module = sys.modules["core.procmap_query"]

PG = 4096
BASE = 0x100000000000
A = BASE  # rw-, 2 pages
HOLE = BASE + 2 * PG  # 1 free page
B = BASE + 3 * PG  # r--, 2 pages
C = BASE + 5 * PG  # r-x, file page 3
D = BASE + 6 * PG  # rw- shared anonymous (shmem)
E = BASE + 8 * PG  # ---
F = BASE + 9 * PG  # r-- MAP_SHARED of an O_RDONLY file
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
NEXT = PROCMAP_QUERY_COVERING_OR_NEXT_VMA
R, W, X, S = (
    PROCMAP_QUERY_VMA_READABLE,
    PROCMAP_QUERY_VMA_WRITABLE,
    PROCMAP_QUERY_VMA_EXECUTABLE,
    PROCMAP_QUERY_VMA_SHARED,
)


@pytest.fixture
def proc() -> Process:
    """A process with the arena layout A..F described above."""
    proc = Kernel().spawn()
    mm = proc.mm
    mm.mmap(A, 2 * PG, RW, ANON)
    mm.mmap(B, 2 * PG, PROT_READ, ANON)
    fd = proc.open("/data/lib.so", O_RDWR, size=8 * PG)
    mm.mmap(C, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, 3 * PG)
    mm.mmap(D, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    mm.mmap(E, PG, PROT_NONE, ANON)
    ro = proc.open("/data/ro.bin", O_RDONLY, size=PG)
    mm.mmap(F, PG, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0)
    return proc


def _errno(exc: pytest.ExceptionInfo[SyscallError]) -> str:
    return exc.value.name


def _unchanged(mm: Mm, maps_before: str) -> None:
    """A query leaves no trace: same layout, no VMA or mmap_lock reference held (and
    the query counters stay consistent)."""
    mm.query_counts._check()
    mm.kernel.query_counts._check()
    assert mm.maps() == maps_before
    assert all(vma.vm_refcnt == 1 for vma in mm.vmas())
    sem = mm.mmap_lock.statistics().rwsem
    assert sem.readers == 0 and sem.writer is None
    mm._check()


# -- flags ------------------------------------------------------------------------------


def test_covering_query_inside_anonymous_vma(proc: Process) -> None:
    r = procmap_query(proc.mm, A + PG + 123)
    assert (r.vma_start, r.vma_end, r.vma_flags) == (A, A + 2 * PG, R | W)
    assert (r.vma_page_size, r.vma_offset, r.inode, r.dev_major, r.dev_minor) == (PG, 0, 0, 0, 0)
    assert (r.vma_name, r.vma_name_size, r.build_id_size) == ("", 0, 0)
    assert r.path is QueryPath.VMA_LOCK
    assert PROCMAP_QUERY == 0xC0686611 and PROCMAP_QUERY_SIZE == 104


def test_hole_is_enoent_without_covering_or_next(proc: Process) -> None:
    maps = proc.mm.maps()
    with pytest.raises(SyscallError, match=r"ENOENT.*query_addr 0x100000002000") as exc:
        procmap_query(proc.mm, HOLE)
    assert _errno(exc) == "ENOENT"
    _unchanged(proc.mm, maps)


def test_covering_or_next_returns_the_next_vma(proc: Process) -> None:
    r = procmap_query(proc.mm, HOLE, NEXT)
    assert (r.vma_start, r.vma_end, r.vma_flags) == (B, B + 2 * PG, R)
    # Address 0: the first VMA of the address space.
    assert procmap_query(proc.mm, 0, NEXT).vma_start == A


def test_writable_required(proc: Process) -> None:
    assert procmap_query(proc.mm, A, W).vma_start == A
    with pytest.raises(SyscallError, match="ENOENT"):
        procmap_query(proc.mm, B, W)  # r-- VMA covering the address does not match
    # With COVERING_OR_NEXT the r-- B and r-x C are skipped: the next writable is D.
    r = procmap_query(proc.mm, HOLE, W | NEXT)
    assert (r.vma_start, r.vma_flags) == (D, R | W | S)


def test_every_requested_permission_must_be_present(proc: Process) -> None:
    r = procmap_query(proc.mm, 0, R | X | NEXT)
    assert (r.vma_start, r.vma_flags) == (C, R | X)
    with pytest.raises(SyscallError, match="ENOENT"):
        procmap_query(proc.mm, C, R | W | X)
    # PROT_NONE matches only a query with no permission bits.
    assert procmap_query(proc.mm, E).vma_flags == 0
    with pytest.raises(SyscallError, match="ENOENT"):
        procmap_query(proc.mm, E, R)
    assert procmap_query(proc.mm, E, R | NEXT).vma_start == F


def test_shared_means_may_share(proc: Process) -> None:
    # MAP_SHARED of a read-only fd clears VM_SHARED but keeps VM_MAYSHARE: still SHARED.
    assert procmap_query(proc.mm, 0, S | NEXT).vma_start == D
    r = procmap_query(proc.mm, F, S)
    assert (r.vma_start, r.vma_flags, r.vma_name) == (F, R | S, "/data/ro.bin")
    assert procmap_query(proc.mm, E, S | NEXT).vma_start == F


def test_file_backed_skips_anonymous_and_shmem_counts_as_file(proc: Process) -> None:
    r = procmap_query(proc.mm, 0, PROCMAP_QUERY_FILE_BACKED_VMA | NEXT)
    assert (r.vma_start, r.vma_offset, r.vma_name) == (C, 3 * PG, "/data/lib.so")
    assert (r.dev_major, r.dev_minor) == (0xFE, 0) and r.inode > 0
    assert r.vma_name_size == len("/data/lib.so") + 1
    with pytest.raises(SyscallError, match="ENOENT"):
        procmap_query(proc.mm, A, PROCMAP_QUERY_FILE_BACKED_VMA)
    # Shared anonymous memory is a shmem file: /dev/zero (deleted) on device 00:01.
    shm = procmap_query(proc.mm, C + PG, PROCMAP_QUERY_FILE_BACKED_VMA | NEXT)
    assert (shm.vma_start, shm.dev_major, shm.dev_minor) == (D, 0, 1)
    assert shm.vma_name == "/dev/zero (deleted)" and shm.inode > 0


def test_names_are_unescaped_and_show_deleted() -> None:
    proc = Kernel().spawn()
    fd = proc.open("/data/odd\nname", O_RDWR, size=PG)
    proc.mm.mmap(A, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0)
    assert "odd\\012name" in proc.mm.maps()  # maps escapes the newline ...
    assert procmap_query(proc.mm, A).vma_name == "/data/odd\nname"  # ... d_path does not
    proc.unlink("/data/odd\nname")
    r = procmap_query(proc.mm, A)
    assert r.vma_name == "/data/odd\nname (deleted)"
    assert r.vma_name_size == len(r.vma_name) + 1


@pytest.mark.parametrize(
    ("addr", "name"),
    [
        (0x555555560000, "[heap]"),
        (0x7FFFFFFDE000, "[stack]"),
        (0x7FFFF7FC8000, "[vdso]"),
        (0x7FFFF7FC2000, "[vvar]"),
        (0x7FFFF7FC6000, "[vvar_vclock]"),
        (0x7FFFF7DFB000, "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        (0x7FFFF7DD2000, ""),
    ],
)
def test_special_mapping_names(addr: int, name: str) -> None:
    r = procmap_query(Kernel().spawn(layout="typical").mm, addr)
    assert r.vma_start == addr and r.vma_name == name
    assert r.vma_name_size == (len(name) + 1 if name else 0)


def test_gate_vma_and_anon_names() -> None:
    proc = Kernel().spawn_from_maps(
        TYPICAL_MAPS.replace(
            "7ffff7fc0000-7ffff7fc2000 rw-p 00000000 00:00 0 ",
            "7ffff7fc0000-7ffff7fc2000 rw-p 00000000 00:00 0" + " " * 26 + "[anon:arena]",
        )
    )
    assert procmap_query(proc.mm, 0x7FFFF7FC0000).vma_name == "[anon:arena]"
    # [vsyscall] is the gate VMA: printed by maps, never returned by the query.
    for flags in (0, NEXT):
        with pytest.raises(SyscallError, match="ENOENT"):
            procmap_query(proc.mm, 0xFFFFFFFFFF600000, flags)
    with pytest.raises(SyscallError, match="ENOENT"):
        procmap_query(proc.mm, 0x7FFFFFFFF000, NEXT)  # above the last VMA


def test_heap_label_needs_overlap_with_the_break_range() -> None:
    """vma_is_initial_heap is strict on the host (docs/kernel-differences.md): a VMA that
    only touches [start_brk, brk) is not the heap, for the query as for maps."""
    proc = Kernel().spawn()
    mm = proc.mm
    start_brk = mm.start_brk
    mm.mmap(start_brk - 2 * PG, 2 * PG, RW, ANON)  # ends exactly at start_brk
    assert procmap_query(mm, start_brk - PG).vma_name == ""
    mm.brk(start_brk + 2 * PG)
    assert procmap_query(mm, start_brk).vma_name == "[heap]"
    mm.mmap(start_brk + 2 * PG, PG, PROT_READ, ANON)  # starts exactly at brk
    assert procmap_query(mm, start_brk + 2 * PG).vma_name == ""
    for line in mm.maps().splitlines():
        start = int(line.split("-")[0], 16)
        if start < 0xFFFFFFFFFF600000:
            assert line.endswith("[heap]") == (procmap_query(mm, start).vma_name == "[heap]")


def test_without_name(proc: Process) -> None:
    r = procmap_query(proc.mm, C, want_name=False)
    assert (r.vma_name, r.vma_name_size, r.vma_start) == (None, 0, C)


# -- errors, in the kernel's order ---------------------------------------------------------


def _raw(mm: Mm, **kw: object) -> VmaQueryResult:
    args = ProcmapQueryArgs(**{"query_addr": A, **kw})  # type: ignore[arg-type]
    return do_procmap_query(mm, args)


@pytest.mark.parametrize(
    ("kw", "errno", "message"),
    [
        ({"size": PG + 1}, "E2BIG", r"size 4097 exceeds PAGE_SIZE 4096"),
        ({"size": PG + 1, "query_flags": 0x40}, "E2BIG", r"size 4097"),  # size first
        ({"size": 16}, "EINVAL", r"size 16 is below offsetofend\(query_addr\) 24"),
        ({"size": 112, "tail": b"\0\0\1"}, "E2BIG", r"non-zero bytes beyond"),
        ({"query_flags": 0x40}, "EINVAL", r"query_flags 0x40 has unknown bits 0x40"),
        ({"query_flags": 1 << 63}, "EINVAL", r"unknown bits 0x8000000000000000"),
        ({"vma_name_size": 16}, "EINVAL", r"vma_name_size 16 and vma_name_addr 0x0"),
        ({"vma_name_addr": 0x1000}, "EINVAL", r"vma_name_size 0 and vma_name_addr 0x1000"),
        ({"build_id_size": 20}, "EINVAL", r"build_id_size 20 and build_id_addr 0x0"),
        ({"query_addr": HOLE}, "ENOENT", r"no VMA matches query_addr 0x100000002000"),
        ({"vma_name_size": 4, "vma_name_addr": 1, "query_addr": C}, "ENAMETOOLONG", r"13 bytes"),
    ],
)
def test_errors(proc: Process, kw: dict[str, object], errno: str, message: str) -> None:
    mm = proc.mm
    maps = mm.maps()
    before = query_statistics(mm)
    with pytest.raises(SyscallError, match=message) as exc:
        _raw(mm, **kw)
    assert _errno(exc) == errno
    after = query_statistics(mm)
    assert after.queries == before.queries + 1 and after.found == before.found
    _unchanged(mm, maps)


def test_esrch_after_exit_is_checked_after_the_arguments() -> None:
    kernel = Kernel()
    proc = kernel.spawn(layout="typical")
    mm = proc.mm
    kernel.exit(proc.pid)
    with pytest.raises(SyscallError, match="EINVAL"):
        procmap_query(mm, 0, 0x80)
    with pytest.raises(SyscallError, match=r"ESRCH.*exited"):
        procmap_query(mm, 0x555555560000)


def test_struct_size_cuts_input_and_output(proc: Process) -> None:
    # size = 24: only size/flags/addr exist; the query runs but nothing is copied back.
    # The name fields lie beyond it too: no name is produced, and the caller's
    # vma_name_size stays as it was.
    r = _raw(proc.mm, size=24, vma_name_size=64, vma_name_addr=1)
    assert (r.vma_start, r.vma_end, r.vma_flags, r.vma_page_size) == (0, 0, 0, 0)
    assert (r.vma_name, r.vma_name_size) == (None, 64)
    # size = 40: vma_start and vma_end come back; the name fields lie beyond the struct.
    r2 = do_procmap_query(proc.mm, ProcmapQueryArgs(C, size=40, vma_name_size=64))
    assert (r2.vma_start, r2.vma_end, r2.vma_flags, r2.vma_offset) == (C, C + PG, 0, 0)
    # A larger struct with zero trailing bytes is accepted (extensible struct).
    assert do_procmap_query(proc.mm, ProcmapQueryArgs(C, size=256, tail=b"\0" * 8)).vma_start == C


def test_name_buffer_exactly_fits(proc: Process) -> None:
    need = len("/data/lib.so") + 1
    assert procmap_query(proc.mm, C, name_buf_size=need).vma_name == "/data/lib.so"
    with pytest.raises(SyscallError, match="ENAMETOOLONG"):
        procmap_query(proc.mm, C, name_buf_size=need - 1)
    # An unnamed VMA needs no buffer space at all.
    assert procmap_query(proc.mm, A, name_buf_size=1).vma_name_size == 0


def test_build_id_is_reported_absent(proc: Process) -> None:
    r = do_procmap_query(proc.mm, ProcmapQueryArgs(C, build_id_size=20, build_id_addr=1))
    assert r.build_id_size == 0


@pytest.mark.parametrize("bad", ["0x1000", 1.5, True, None, 1 << 64, -(1 << 63) - 1])
@PYTHON_ENGINE_ONLY
def test_non_integer_arguments_are_rejected_first(proc: Process, bad: object) -> None:
    maps = proc.mm.maps()
    with pytest.raises(InvalidArgument, match="addr"):
        procmap_query(proc.mm, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="flags"):
        procmap_query(proc.mm, A, bad)  # type: ignore[arg-type]
    _unchanged(proc.mm, maps)


# -- batch ---------------------------------------------------------------------------------


def test_batch_matches_point_lookups_and_uses_one_query_per_vma() -> None:
    proc = Kernel().spawn(layout="typical")
    mm = proc.mm
    rng = random.Random(1234)
    spans = [(v.vm_start, v.vm_end) for v in mm.vmas()]
    addrs = [rng.randrange(s - 4 * PG, e + 4 * PG) for s, e in rng.choices(spans, k=300)]
    addrs += [0, 0xFFFFFFFFFF600000, 0x7FFFFFFFFFFF]
    before = query_statistics(mm).queries
    results = procmap_query_batch(mm, addrs)
    queries = query_statistics(mm).queries - before
    for addr, res in zip(addrs, results, strict=True):
        vma = mm.vma_lookup(addr)
        if vma is None:
            assert res is None, hex(addr)
        else:
            assert res is not None and (res.vma_start, res.vma_end) == (vma.vm_start, vma.vm_end)
            assert res == procmap_query(mm, addr, NEXT)
    covered = {v.vm_start for a in addrs if (v := mm.vma_lookup(a)) is not None}
    after_holes = {v.vm_start for a in addrs if (v := mm.find_vma(a)) is not None}
    # One query per VMA hit, at most one more per VMA answered as "next" after a hole,
    # plus the final ENOENT above the last VMA.
    assert len(covered) <= queries <= len(covered | after_holes) + 1


@PYTHON_ENGINE_ONLY
def test_batch_with_flags_resolves_only_matching_vmas() -> None:
    mm = Kernel().spawn(layout="typical").mm
    addrs = [v.vm_start + 5 for v in mm.vmas()]
    results = procmap_query_batch(mm, addrs, PROCMAP_QUERY_VMA_EXECUTABLE, want_name=False)
    for addr, res in zip(addrs, results, strict=True):
        vma = mm.vma_lookup(addr)
        assert vma is not None
        assert (res is not None) == bool(vma.vm_flags & 0x4)
        assert res is None or res.vma_name is None
    assert procmap_query_batch(mm, []) == []
    with pytest.raises(InvalidArgument, match=r"addrs\[1\]"):
        procmap_query_batch(mm, [0, "x"])  # type: ignore[list-item]


# -- 6.18 locking paths, forced deterministically --------------------------------------------


def _pausing_hook(point: str) -> tuple[threading.Event, threading.Event, object]:
    reached, release = threading.Event(), threading.Event()

    def hook(mm: Mm, name: str) -> None:
        if name == point and not reached.is_set():
            reached.set()
            assert release.wait(10), f"pause point {point} never released"

    return reached, release, hook


def test_query_racing_munmap_retries_after_a_detached_vma(proc: Process) -> None:
    """The reader finds A by its RCU walk, munmap detaches and removes A before the
    reader locks it: vma_start_read sees refcount 0 (-EAGAIN), the walk is redone and
    the query answers from the new layout (never the unmapped VMA)."""
    mm = proc.mm
    reached, release, hook = _pausing_hook("procmap_query:after_walk")
    mm._pause_hook = hook  # type: ignore[assignment]
    before = query_statistics(mm)
    reader = spawn(procmap_query, mm, A + PG, NEXT, name="reader")
    assert reached.wait(10)
    mm.munmap(A, 2 * PG)  # completes: the reader holds no reference yet
    assert mm.vma_lookup(A) is None
    release.set()
    r = reader.result()
    assert (r.vma_start, r.path) == (B, QueryPath.VMA_LOCK)
    after = query_statistics(mm)
    assert after.detached_retries == before.detached_retries + 1
    assert after.vma_locked == before.vma_locked + 1
    mm.rcu.barrier()  # the freed VMA was never touched after its grace period
    _unchanged(mm, mm.maps())


def test_query_waits_for_a_writer_holding_the_vma_write_lock(proc: Process) -> None:
    """munmap is paused with A write-locked (and detached) in the tree: the reader's
    vma_start_read fails, it falls back to lock_next_vma_under_mmap_lock, queues on
    mmap_lock behind the writer, and answers from the layout after the munmap."""
    mm = proc.mm
    reached, release, hook = _pausing_hook("munmap:before_clear")
    mm._pause_hook = hook  # type: ignore[assignment]
    writer = spawn(mm.munmap, A, 2 * PG, name="writer")
    assert reached.wait(10)
    before = query_statistics(mm)
    reader = spawn(procmap_query, mm, A, NEXT, name="reader")
    wait_until(
        lambda: mm.mmap_lock.statistics().rwsem.waiting_readers == 1,
        what="the query queued on mmap_lock behind munmap",
    )
    assert not reader.finished.is_set()
    release.set()
    writer.join()
    r = reader.result()
    assert (r.vma_start, r.path) == (B, QueryPath.VMA_LOCK_VIA_MMAP_LOCK)
    after = query_statistics(mm)
    assert after.mmap_lock_assisted == before.mmap_lock_assisted + 1
    _unchanged(mm, mm.maps())


def test_refcount_overflow_runs_the_query_under_mmap_lock(proc: Process) -> None:
    """vm_refcnt at its limit: neither vma_start_read nor vma_start_read_locked can take
    a reference (-EAGAIN), so the rest of the query runs under mmap_lock for read with
    plain find_vma, skipping VMAs as usual."""
    mm = proc.mm
    vma_a = mm.vma_lookup(A)
    assert vma_a is not None
    vma_a.vm_refcnt = VMA_REF_LIMIT  # 2**30 - 2 readers hold it
    before = query_statistics(mm)
    try:
        with pytest.raises(SyscallError, match="ENOENT"):
            procmap_query(mm, A, W | X | NEXT)  # skips A, then every VMA: none is rwx
        r = procmap_query(mm, A + PG, R | NEXT)
    finally:
        vma_a.vm_refcnt = 1
    assert (r.vma_start, r.path) == (A, QueryPath.MMAP_LOCK)
    after = query_statistics(mm)
    assert after.mmap_locked - before.mmap_locked >= 2
    _unchanged(mm, mm.maps())


def test_no_false_gap_when_a_vma_appears_in_front(proc: Process) -> None:
    """The reader, starting in the hole, finds B by its walk; a writer then maps a new
    VMA into the hole. B still locks fine, but it starts above the position and the
    mm's sequence count moved, so lock_next_vma re-walks, sees the new VMA and answers
    it (through the mmap_lock fallback) instead of reporting the hole."""
    mm = proc.mm
    reached, release, hook = _pausing_hook("procmap_query:after_walk")
    mm._pause_hook = hook  # type: ignore[assignment]
    before = query_statistics(mm)
    reader = spawn(procmap_query, mm, HOLE, NEXT, name="reader")
    assert reached.wait(10)
    mm.mmap(HOLE, PG, PROT_READ | PROT_EXEC, ANON)  # cannot merge with A or B
    release.set()
    r = reader.result()
    assert (r.vma_start, r.vma_end, r.vma_flags) == (HOLE, HOLE + PG, R | X)
    assert r.path is QueryPath.VMA_LOCK_VIA_MMAP_LOCK
    after = query_statistics(mm)
    assert after.gap_rechecks == before.gap_rechecks + 1
    _unchanged(mm, mm.maps())


def test_statistics_aggregate_across_processes() -> None:
    kernel = Kernel()
    mms = [kernel.spawn(layout="typical").mm for _ in range(2)]
    before = kernel.query_counts.statistics()
    for mm in mms:
        procmap_query(mm, 0x555555560000)
        with pytest.raises(SyscallError):
            procmap_query(mm, 0)
    after = kernel.query_counts.statistics()
    assert after.queries - before.queries == 4  # this machine's queries only
    for mm in mms:
        stats = query_statistics(mm)
        assert (stats.queries, stats.found, stats.enoent, stats.rejected) == (2, 1, 1, 0)


def test_queries_racing_random_writers_stay_consistent() -> None:
    """Readers query random addresses while a writer maps, unmaps and mprotects in the
    arena: every answer is a real, page-aligned VMA at or above the address (covering
    it unless "next" was asked), nothing freed is ever touched (freed VMAs are poisoned)
    and no reference or lock is left behind. Bounded by operation counts, not time."""
    mm = Kernel().spawn().mm
    pages = 64
    mm.mmap(BASE, pages * PG, RW, ANON)
    failures: list[str] = []
    done = threading.Event()

    def writer() -> None:
        rng = random.Random(7)
        try:
            for _ in range(400):
                start = BASE + rng.randrange(pages) * PG
                length = rng.randrange(1, 6) * PG
                op = rng.randrange(3)
                if op == 0:
                    mm.mmap(start, length, rng.choice((RW, PROT_READ, PROT_NONE)), ANON)
                elif op == 1:
                    mm.munmap(start, length)
                else:
                    try:
                        mm.mprotect(start, length, rng.choice((RW, PROT_READ)))
                    except SyscallError:
                        pass  # a hole in the range: ENOMEM, as in the kernel
        finally:
            done.set()

    def reader(seed: int) -> int:
        rng = random.Random(seed)
        answered = 0
        while not done.is_set() or answered < 50:
            addr = BASE + rng.randrange(-2 * PG, (pages + 2) * PG)
            flags = rng.choice((0, NEXT, R | NEXT, W))
            try:
                r = procmap_query(mm, addr, flags)
            except SyscallError as exc:
                if exc.name != "ENOENT":
                    failures.append(f"{addr:#x}: {exc}")
                continue
            answered += 1
            ok = r.vma_start % PG == 0 and r.vma_end % PG == 0 and r.vma_start < r.vma_end
            ok = ok and r.vma_end > addr and (r.vma_start <= addr or bool(flags & NEXT))
            ok = ok and (r.vma_flags & flags & 0xF) == flags & 0xF
            if not ok:
                failures.append(f"{addr:#x} flags {flags:#x}: {r}")
        return answered

    readers = [spawn(reader, seed, name=f"reader-{seed}") for seed in range(3)]
    spawn(writer, name="writer").join(timeout=40)
    answered = [w.result(timeout=40) for w in readers]
    assert not failures, failures[:5]
    assert all(n >= 50 for n in answered)
    mm.rcu.barrier()
    _unchanged(mm, mm.maps())


def test_benchmark_methods_agree() -> None:
    """bench/bench_query.py's scenario: 655 VMAs, 3,244 addresses; the text method and
    the point-query method resolve every address identically, with 5 queries."""
    from bench.bench_query import (
        N_ADDRS,
        N_VMAS,
        build_addresses,
        build_layout,
        resolve_query,
        resolve_text,
    )

    rng = random.Random(655)
    text, executable = build_layout(rng)
    addrs = build_addresses(rng, executable)
    mm = Kernel().spawn_from_maps(text).mm
    assert mm.map_count == N_VMAS and len(addrs) == N_ADDRS
    before = query_statistics(mm).queries
    by_query = resolve_query(mm, addrs)
    assert query_statistics(mm).queries - before == len(executable) == 5
    assert by_query == resolve_text(mm, addrs)
    assert all(r is not None for r in by_query)
