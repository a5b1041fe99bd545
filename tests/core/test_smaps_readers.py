"""The two smaps readers (:mod:`core.maps_reader`): the same text, and who waits for whom.

6.18 (``mmap_lock``) holds ``mmap_lock`` for read across the page walk of each VMA, so a
queued writer waits for the walk, and a fault that needs ``mmap_lock`` queues behind the
writer. The per-VMA reader holds one VMA's read lock with RCU dropped: a writer to
another VMA never waits; a writer to the walked VMA waits in ``vma_start_write`` for
that walk only. Every ordering below is forced with pause points, never with sleeps.
"""

from __future__ import annotations

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_POPULATE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
)
from core.constants import VM_WRITE
from core.errors import InvalidArgument
from core.maps_reader import (
    SMAPS_READERS,
    SmapsFile,
    SmapsReader,
    read_smaps,
    read_smaps_rollup,
)
from core.mm import Mm
from core.pages import run_pages
from core.proc_pid import open_pid_file
from core.process import Process
from core.smaps import render_smaps
from tests.concurrency import spawn, wait_until

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


_PROCS: dict[Mm, Process] = {}


def _process(heap_pages: int = 64, small: int = 12) -> tuple[Mm, int, list[int]]:
    """A process with a populated heap and ``small`` one-page VMAs that never merge
    (alternating protections), each touched once."""
    proc = Kernel().spawn("smaps")
    mm = proc.mm
    _PROCS[mm] = proc
    heap = mm.mmap(0, heap_pages * PG, RW, ANON | MAP_POPULATE)
    area = mm.mmap(0, small * PG, PROT_READ, ANON)
    smalls = []
    for i in range(small):
        addr = area + i * PG
        if i % 2:
            mm.mprotect(addr, PG, RW)
            mm.fault(addr, "write")
        smalls.append(addr)
    return mm, heap, smalls


@pytest.mark.parametrize("reader", SMAPS_READERS)
@pytest.mark.parametrize("chunk", [2, 700, 4096, 1 << 20])
def test_every_reader_prints_the_kernel_text(reader: SmapsReader, chunk: int) -> None:
    mm, _, _ = _process()
    snap = read_smaps(mm, reader, chunk_size=chunk)
    snap._check()
    assert snap.text == render_smaps(mm)
    assert snap.reader == reader and snap.eof and snap.consistent
    resident = sum(len(v.pages or ()) + run_pages(v) for v in mm.vmas())
    assert snap.pages_walked >= resident  # a block that did not fit is walked again
    if chunk >= 1 << 20:
        assert snap.chunks == 1 and snap.pages_walked == resident
    assert snap.vmas_walked >= mm.map_count


def test_the_readers_agree_on_the_rollup() -> None:
    mm, _, _ = _process()
    a, b = (read_smaps_rollup(mm, r) for r in SMAPS_READERS)
    a._check()
    b._check()
    assert a.text == b.text and a.text.splitlines()[0].endswith("[rollup]")
    resident = sum(len(v.pages or ()) + run_pages(v) for v in mm.vmas())
    assert a.pages_walked == b.pages_walked == resident
    assert a.vmas_walked == b.vmas_walked == mm.map_count
    assert a.hold.mmap_lock_read_ns > 0 and b.hold.mmap_lock_read_ns == 0
    assert b.hold.vma_read_ns > 0


def test_a_file_reads_in_chunks_and_unknown_readers_are_refused() -> None:
    mm, _, _ = _process()
    chunks = list(SmapsFile(mm, "per_vma"))
    assert len(chunks) > 1 and all(len(c.text) < 4096 for c in chunks)
    assert "".join(c.text for c in chunks) == render_smaps(mm)
    assert [c.pos_begin for c in chunks[1:]] == [c.pos_end for c in chunks[:-1]]
    with pytest.raises(InvalidArgument, match="unknown smaps reader"):
        SmapsFile(mm, "seqcount")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        read_smaps_rollup(mm, "rcu")  # type: ignore[arg-type]
    f = open_pid_file(_PROCS[mm], "smaps_rollup", smaps_reader="per_vma")
    assert f.read(1 << 16).data == read_smaps_rollup(mm).text.encode()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("file", ["smaps", "smaps_rollup"])
def test_the_618_reader_blocks_a_writer_and_the_faults_behind_it(file: str) -> None:
    """6.18: the walk holds mmap_lock for read; munmap of another VMA waits for it, and
    a fault that needs mmap_lock (the first anonymous fault of a VMA without an
    anon_vma: vmf_anon_prepare retries under mmap_lock) queues behind the writer."""
    mm, heap, smalls = _process()
    fresh = mm.mmap(0, PG, RW, ANON)  # no anon_vma yet
    mm.pauses.arm("smaps:mmap_lock_walk")
    read = read_smaps if file == "smaps" else read_smaps_rollup
    reader = spawn(read, mm, "mmap_lock")
    mm.pauses.wait_for_hold("smaps:mmap_lock_walk")
    writer = spawn(mm.munmap, smalls[0], PG)
    wait_until(mm.mmap_lock.is_contended, what="the munmap queued on mmap_lock")
    fault = spawn(mm.fault, fresh, "write")
    wait_until(
        lambda: mm.mmap_lock.sem.statistics().waiting_readers == 1,
        what="the fault queued behind the writer",
    )
    assert writer.is_alive() and fault.is_alive()
    mm.pauses.release_all()
    writer.join()
    assert fault.result().path == "retried"
    snap = reader.result()
    snap._check()
    assert smalls[0] not in {v.vm_start for v in mm.vmas()}
    assert snap.pages_walked >= 64


@pytest.mark.timeout(60)
@pytest.mark.parametrize("file", ["smaps", "smaps_rollup"])
def test_the_per_vma_reader_does_not_block_a_writer_to_another_vma(file: str) -> None:
    mm, heap, smalls = _process()
    fresh = mm.mmap(0, PG, RW, ANON)
    mm.pauses.arm("smaps:per_vma_walk")  # the first VMA's walk: held with its lock
    read = read_smaps if file == "smaps" else read_smaps_rollup
    reader = spawn(read, mm, "per_vma")
    held = mm.pauses.wait_for_hold("smaps:per_vma_walk")
    assert held is not None
    victim = smalls[4]  # not next to the first VMA, whose walk is held
    assert mm.vmas()[0].vm_end < victim - PG
    mm.munmap(victim, PG)  # returns while the walk is held: no wait
    # (An mmap that merged into the walked VMA would wait in vma_start_write.)
    new = mm.mmap(victim, PG, RW, ANON | MAP_FIXED)
    mm.fault(fresh, "write")  # vmf_anon_prepare's mmap_read_trylock succeeds
    assert reader.is_alive()
    mm.pauses.release_all()
    snap = reader.result()
    snap._check()
    assert snap.reader == "per_vma" and snap.fallbacks == 0
    assert any(v.vm_start <= new < v.vm_end and v.vm_flags & VM_WRITE for v in mm.vmas())


@pytest.mark.timeout(60)
def test_a_writer_to_the_walked_vma_waits_for_that_walk_only() -> None:
    mm, heap, _ = _process()
    heap_vma = next(v for v in mm.vmas() if v.vm_start <= heap < v.vm_end)
    index = next(i for i, v in enumerate(mm.vmas()) if v is heap_vma)
    mm.pauses.arm("smaps:per_vma_walk", nth=index + 1)
    reader = spawn(read_smaps_rollup, mm, "per_vma")
    mm.pauses.wait_for_hold("smaps:per_vma_walk")
    writer = spawn(mm.munmap, heap, PG)  # vma_start_write(heap) waits for the walk
    wait_until(lambda: mm.mmap_lock.is_write_locked(), what="the munmap took mmap_lock")
    assert writer.is_alive()
    mm.pauses.release_all()
    writer.join()
    reader.result()
    assert not any(v.vm_start <= heap < v.vm_end for v in mm.vmas())


@pytest.mark.timeout(60)
def test_the_618_rollup_lets_a_waiting_writer_in_between_two_vmas() -> None:
    """show_smaps_rollup: mmap_lock_is_contended after a VMA -> unlock, relock,
    resume at the last VMA's end; the writer finishes while the walk is unfinished."""
    mm, _, smalls = _process()
    mm.pauses.arm("smaps:mmap_lock_walk")
    reader = spawn(read_smaps_rollup, mm, "mmap_lock")
    mm.pauses.wait_for_hold("smaps:mmap_lock_walk")
    mm.pauses.arm("smaps:mmap_lock_walk", nth=1)  # the next VMA's walk holds again
    writer = spawn(mm.munmap, smalls[-1], PG)
    wait_until(mm.mmap_lock.is_contended, what="the munmap queued on mmap_lock")
    mm.pauses.release_all()
    writer.join()  # done while the reader is held at its second VMA
    mm.pauses.release_all()
    snap = reader.result()
    snap._check()
    assert snap.lock_drops == 1 and not snap.consistent
    assert snap.text == read_smaps_rollup(mm, "per_vma").text
