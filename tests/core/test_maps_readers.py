"""The three maps readers: same bytes as mm.maps(), seq_file chunks, provenance, progress."""

from __future__ import annotations

import mmap as pymmap
import os
import sys
import threading

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    InvalidArgument,
    Kernel,
    Mm,
    SyscallError,
)
from core.maps_reader import (
    CHUNK_SIZE,
    POS_END,
    POS_GATE,
    READERS,
    MapsFile,
    MapsSnapshot,
    Reader,
    read_maps,
)
from core.pause import HeldOperation
from tests.concurrency import join_all, spawn, wait_until
from tests.engines import PYTHON_ENGINE_ONLY

PG = 4096
BASE = 0x100000000000
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
RW = PROT_READ | PROT_WRITE


def _busy_mm(n: int = 300) -> Mm:
    """The typical layout plus ``n`` adjacent 3-page mappings that cannot merge, a file
    mapping, shared anonymous memory and a grown heap: several chunks of every kind of
    line."""
    proc = Kernel().spawn(layout="typical")
    mm = proc.mm
    for i in range(n):
        mm.mmap(0, 3 * PG, RW if i % 2 else PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    fd = proc.open("/data/a file\nwith newline", O_RDWR, size=8 * PG)
    mm.mmap(0, 8 * PG, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 2 * PG)
    mm.mmap(0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS)
    mm.brk(mm.cur_brk + 5 * PG)
    return mm


@pytest.fixture(scope="module")
def busy() -> Mm:
    return _busy_mm()


@pytest.mark.parametrize("reader", READERS)
def test_whole_read_is_byte_identical_to_maps(busy: Mm, reader: Reader) -> None:
    snap = read_maps(busy, reader)
    snap._check()
    assert snap.text == busy.maps()
    assert snap.reader == reader and snap.eof and snap.consistent
    assert snap.seq_begin == snap.seq_end == busy.mmap_lock.seq
    assert snap.generation == busy.generation
    assert (snap.attempts, snap.fell_back, snap.torn_at, snap.retry_reasons) == (1, False, (), ())
    assert "[heap]" in snap.text and "[stack]" in snap.text and "\\012" in snap.text


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("chunk_size", [CHUNK_SIZE, 300, 2])
def test_chunks_are_whole_lines_below_the_buffer_size(
    busy: Mm, reader: Reader, chunk_size: int
) -> None:
    f = MapsFile(busy, reader, chunk_size=chunk_size)
    chunks = list(f)
    assert "".join(c.text for c in chunks) == busy.maps()
    assert f.position == POS_END and f.read().lines == ()
    for prev, chunk in zip([None, *chunks], chunks, strict=False):
        chunk._check()
        assert chunk.lines and all(line.endswith("\n") for line in chunk.lines)
        assert len(chunk.text) < chunk_size or len(chunk.lines) == 1  # one long line alone
        if prev is not None:
            assert chunk.pos_begin == prev.pos_end  # resumes where the last chunk ended
            # A full chunk: the next line did not fit (seq_file greedy packing).
            assert len(prev.text) + len(chunk.lines[0]) >= chunk_size
    assert chunks[-1].lines[-1].endswith("[vsyscall]\n")
    if chunk_size == CHUNK_SIZE:
        assert len(chunks) > 4 and max(len(c.text) for c in chunks) <= 4095


def test_chunk_positions_are_vma_end_addresses_then_the_gate(busy: Mm) -> None:
    f = MapsFile(busy, "seqcount")
    first = f.read()
    assert first.pos_begin == 0
    assert first.pos_end == first.ranges()[-1][1]
    chunks = [first, *f]
    assert chunks[-1].pos_end == POS_END
    # A chunk that ends exactly after the last VMA leaves the gate line for the next.
    mm = Kernel().spawn().mm
    mm.mmap(BASE, PG, RW, ANON)
    g = MapsFile(mm, "per_vma", chunk_size=60)
    one = g.read()
    assert one.ranges() == [(BASE, BASE + PG)] and one.pos_end == POS_GATE
    assert g.read().text.endswith("[vsyscall]\n") and g.position == POS_END


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a real /proc")
def test_chunk_sizes_match_the_real_kernel() -> None:
    """read(fd, 1 MiB) of /proc/self/maps returns < 4096 bytes of whole lines per call;
    the simulator, given the same lines, cuts them at the same places."""
    maps = [
        pymmap.mmap(-1, 3 * PG, prot=pymmap.PROT_READ | (pymmap.PROT_WRITE * (i % 2)))
        for i in range(200)
    ]
    try:
        for _ in range(5):  # the test process may map something between two read()s
            fd = os.open("/proc/self/maps", os.O_RDONLY)
            real = []
            try:
                while chunk := os.read(fd, 1 << 20):
                    real.append(chunk.decode())
            finally:
                os.close(fd)
            sim = Kernel().spawn_from_maps("".join(real)).mm
            ours = [c.text for c in MapsFile(sim, "per_vma")]
            if ours == real:
                break
        assert ours == real
        assert len(real) > 4 and max(map(len, real)) <= 4095
    finally:
        for m in maps:
            m.close()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda mm: read_maps(mm, "rcu"),  # type: ignore[arg-type]
            r"^unknown maps reader 'rcu'; choose one of seqcount, per_vma, mmap_lock$",
        ),
        (lambda mm: read_maps(mm, max_retries=-1), r"^max_retries -1 is not an integer in \[0,"),
        (lambda mm: read_maps(mm, max_retries=True), r"^max_retries True is not an integer"),
        (lambda mm: MapsFile(mm, chunk_size=1), r"^chunk_size 1 is not an integer in \[2, "),
        (
            lambda mm: MapsFile(mm, chunk_size="4096"),  # type: ignore[arg-type]
            r"^chunk_size '4096' is not an integer",
        ),
        (lambda mm: MapsFile(mm, "seq"), r"^unknown maps reader 'seq'"),  # type: ignore[arg-type]
    ],
)
@PYTHON_ENGINE_ONLY
def test_bad_arguments_name_the_value_and_take_no_lock(call, message) -> None:
    mm = Kernel().spawn(layout="typical").mm
    before = mm.mmap_lock.statistics()
    with pytest.raises(InvalidArgument, match=message):
        call(mm)
    assert mm.mmap_lock.statistics() == before


def test_hold_times_name_the_locks_each_reader_takes(busy: Mm) -> None:
    locked, seq, per_vma = (read_maps(busy, r).hold for r in ("mmap_lock", "seqcount", "per_vma"))
    assert locked.mmap_lock_read_ns > 0 and locked.rcu_ns == 0 and locked.vma_read_ns == 0
    assert seq.rcu_ns > 0 and seq.mmap_lock_read_ns == 0 and seq.vma_read_ns == 0
    assert per_vma.rcu_ns > 0 and per_vma.mmap_lock_read_ns == 0
    assert 0 < per_vma.vma_read_max_ns <= per_vma.vma_read_ns


@pytest.mark.parametrize("reader", READERS)
def test_no_lock_is_held_between_chunks(busy: Mm, reader: Reader) -> None:
    f = MapsFile(busy, reader)
    for _ in f:
        assert busy.mmap_lock.statistics().rwsem.readers == 0
        assert not busy.rcu.in_read_section()
        assert all(v.vm_refcnt == 1 for v in busy.vmas())  # no VMA read lock left
        assert busy.mmap_lock.write_trylock()  # a writer gets in between two reads
        busy.mmap_lock.write_unlock()


@pytest.mark.parametrize("reader", READERS)
def test_an_exited_process_reads_as_end_of_file(reader: Reader) -> None:
    kernel = Kernel()
    proc = kernel.spawn(layout="typical")
    f = MapsFile(proc.mm, reader)
    assert f.read().lines
    kernel.exit(proc.pid)
    assert f.read() == f.read() and f.read().lines == () and f.read().eof


def test_generation_moves_with_the_layout_only() -> None:
    mm = Kernel().spawn().mm
    g0 = mm.generation
    mm.mmap(BASE, 4 * PG, RW, ANON)
    g1 = mm.generation
    assert g1 == g0 + 1
    with pytest.raises(SyscallError):
        mm.munmap(BASE + 1, PG)  # fails before locking
    with pytest.raises(SyscallError):
        mm.mprotect(BASE + 8 * PG, PG, PROT_READ)  # fails under the lock
    mm.mprotect(BASE, 4 * PG, RW)  # no change
    mm.munmap(BASE + 64 * PG, PG)  # nothing there
    assert mm.generation == g1
    mm.mprotect(BASE, 4 * PG, PROT_READ)  # whole VMA: flags change in place
    assert mm.generation == g1 + 1
    mm.brk(mm.cur_brk + PG)
    assert mm.generation == g1 + 2
    mm.munmap(BASE, PG)
    assert mm.generation == g1 + 3
    for reader in READERS:
        assert read_maps(mm, reader).generation == mm.generation


def _write_cycle(mm: Mm) -> None:
    mm.mmap_lock.write_lock()
    mm.mmap_lock.write_unlock()


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
def test_seqcount_completes_in_max_retries_plus_one_attempts(max_retries: int) -> None:
    """An adversary that completes a write-lock cycle during every lockless walk: every
    attempt is discarded, and the reader finishes under mmap_lock."""
    mm = Kernel().spawn(layout="typical").mm
    mm.pauses.arm(
        "maps:seqcount_before_validate",
        count=None,
        hold=False,
        action=lambda held: _write_cycle(mm),
    )
    snap = read_maps(mm, "seqcount", max_retries=max_retries)
    assert (snap.attempts, snap.fell_back, snap.fallbacks) == (max_retries + 1, True, 1)
    assert len(snap.retry_reasons) == max_retries
    assert snap.text == mm.maps() and snap.consistent
    assert snap.hold.mmap_lock_read_ns > 0
    assert (snap.hold.rcu_ns > 0) == (max_retries > 0)


def test_seqcount_retries_once_then_succeeds_without_the_lock() -> None:
    mm = Kernel().spawn(layout="typical").mm
    mm.pauses.arm("maps:seqcount_before_validate", hold=False, action=lambda held: _write_cycle(mm))
    snap = read_maps(mm, "seqcount")
    assert (snap.attempts, snap.fell_back) == (2, False)
    assert snap.hold.mmap_lock_read_ns == 0 and snap.text == mm.maps()


def test_seqcount_progress_under_a_continuous_writer() -> None:
    """A writer thread alternates a VMA between two protections as fast as it can; every
    snapshot is one of the two layouts, made within max_retries + 1 attempts."""
    mm = Kernel().spawn().mm
    for i in range(40):
        mm.mmap(BASE + 2 * i * PG, PG, RW, ANON)
    mm.mmap(BASE + 100 * PG, 4 * PG, RW, ANON)
    a = mm.maps()
    mm.mprotect(BASE + 101 * PG, PG, PROT_READ)
    b = mm.maps()
    mm.mprotect(BASE + 101 * PG, PG, RW)
    stop = threading.Event()
    cycles = [0]

    def writer() -> None:
        while not stop.is_set() and cycles[0] < 1_000_000:
            mm.mprotect(BASE + 101 * PG, PG, PROT_READ)
            mm.mprotect(BASE + 101 * PG, PG, RW)
            cycles[0] += 2

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave threads often: more overlapping cycles
    worker = spawn(writer, name="adversary")
    try:
        wait_until(lambda: cycles[0] > 10, what="writer running")
        snaps = [read_maps(mm, "seqcount", max_retries=3) for _ in range(300)]
    finally:
        stop.set()
        sys.setswitchinterval(old)
        worker.join()
    assert all(s.text in (a, b) and s.consistent for s in snaps)
    assert max(s.attempts for s in snaps) <= 4
    attempts = [s.attempts for s in snaps]
    assert all(s.fell_back == (s.attempts == 4) for s in snaps), attempts


def test_per_vma_looks_again_when_the_vma_it_found_was_detached() -> None:
    mm = Kernel().spawn().mm
    mm.mmap(BASE, 2 * PG, RW, ANON)
    mm.mmap(BASE + 4 * PG, 2 * PG, PROT_READ, ANON)
    mm.pauses.arm("maps:per_vma_after_find")
    reader = spawn(read_maps, mm, "per_vma")
    held: HeldOperation = mm.pauses.wait_for_hold("maps:per_vma_after_find")
    mm.munmap(BASE, 2 * PG)  # the VMA the reader found is detached and unlinked
    mm.pauses.release(held)
    snap = reader.result()
    assert snap.text == mm.maps()
    assert snap.attempts == 2 and not snap.fell_back
    assert snap.retry_reasons == ("VMA at 0x100000000000 detached; looked up again",)


def test_per_vma_reports_no_false_gap_when_a_vma_is_installed_before_the_one_found() -> None:
    """lock_next_vma's check (kernel commit "fs/proc/task_mmu: read proc/pid/maps under
    per-vma lock"): the reader found C after a gap; meanwhile C was shrunk from below
    (mprotect of its upper part keeps the object there) and the cut-off piece stored in
    front of it. Reporting C alone would show a gap at [2, 3) although that page was
    mapped (by C, then by the new piece) the whole time."""
    mm = Kernel().spawn().mm
    mm.mmap(BASE, PG, RW, ANON)  # A = [0, 1)
    mm.mmap(BASE + 2 * PG, 3 * PG, RW, ANON)  # C = [2, 5)
    mm.pauses.arm("maps:per_vma_after_find", nth=2)  # the look-up after A's line
    reader = spawn(read_maps, mm, "per_vma")
    mm.pauses.wait_for_hold("maps:per_vma_after_find")
    c = mm.vma_lookup(BASE + 2 * PG)
    mm.mprotect(BASE + 3 * PG, 2 * PG, PROT_READ)  # C is now [3, 5); new [2, 3) before it
    assert c is not None and (c.vm_start, c.vm_end) == (BASE + 3 * PG, BASE + 5 * PG)
    mm.pauses.release_all()
    snap = reader.result()
    assert snap.ranges() == [
        (BASE, BASE + PG),
        (BASE + 2 * PG, BASE + 3 * PG),
        (BASE + 3 * PG, BASE + 5 * PG),
    ]
    assert snap.fell_back and snap.fallbacks == 1 and snap.attempts == 1
    assert snap.retry_reasons == ("layout before 0x100000003000 changed",)
    assert snap.torn_at == (1,)  # lines 0 and 1 were read on either side of mprotect
    assert snap.text == mm.maps()


def test_per_vma_falls_back_on_a_write_locked_vma_and_waits_for_the_writer() -> None:
    mm = Kernel().spawn().mm
    for i in range(4):
        mm.mmap(BASE + i * PG, PG, RW if i % 2 else PROT_READ, ANON)
    before = mm.maps().splitlines(keepends=True)
    mm.pauses.arm("mprotect:between_vmas")
    writer = spawn(mm.mprotect, BASE + 2 * PG, 2 * PG, PROT_READ | PROT_EXEC)
    mm.pauses.wait_for_hold("mprotect:between_vmas")  # VMA 2 changed, VMA 3 not yet
    reader = spawn(read_maps, mm, "per_vma")
    wait_until(lambda: mm.mmap_lock.statistics().rwsem.waiting_readers == 1, what="fallback")
    mm.pauses.release("mprotect:between_vmas")
    writer.join()
    snap = reader.result()
    after = mm.maps().splitlines(keepends=True)
    assert snap.fell_back and snap.retry_reasons[0].endswith("write-locked in the current cycle")
    assert not snap.consistent  # it began while the writer held the lock
    assert snap.torn_at and snap.torn_at[0] == 0
    assert all(line in before or line in after for line in snap.lines)
    assert [r[1] for r in snap.ranges()] == sorted({r[1] for r in snap.ranges()})
    assert snap.text == mm.maps()  # here the lines it read before the writer happen to stay


def test_maps_snapshot_is_frozen() -> None:
    snap = read_maps(Kernel().spawn().mm)
    assert isinstance(snap, MapsSnapshot)
    with pytest.raises(AttributeError):
        snap.attempts = 2  # type: ignore[misc]


def test_readers_run_concurrently_with_each_other() -> None:
    mm = _busy_mm(50)
    want = mm.maps()
    workers = [spawn(lambda r=r: [read_maps(mm, r).text for _ in range(20)]) for r in READERS]
    join_all(workers)
    assert all(text == want for w in workers for text in w.result())
