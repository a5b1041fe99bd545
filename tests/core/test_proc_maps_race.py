"""Ports of tools/testing/selftests/proc/proc-maps-race.c, made deterministic.

The selftest maps ``page_size / 32 + 1`` three-page VMAs with alternating protections
(so they cannot merge), finds the last line of one ``read()`` page and the first line
of the next, and has a child modify exactly those VMAs (split/merge, shrink/expand,
remap/mprotect) while the parent re-reads the two pages for seconds, asserting that
each pair of boundary lines is consistent with either the modified or the restored
layout, where "the VMA reported twice" (first modified, then restored) is acceptable
and a gap is not.

Here the race is forced instead of hoped for: the modification runs exactly between
the two chunk reads of a :class:`~core.maps_reader.MapsFile` (locks are dropped between
reads, as in seq_file), or, with a pause point, in the middle of one per-VMA walk (the
6.17+ "sub-page tearing"). Every reader is checked against the selftest's rules.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
)
from core.maps_reader import READERS, MapsFile, Reader, read_maps
from tests.concurrency import spawn

PG = 4096
VMA_COUNT = PG // 32 + 1


@dataclass
class Race:
    """The selftest's fixture: the VMAs at a chunk boundary and how to modify them."""

    mm: Mm
    skip: int  # chunks before the first of the two boundary chunks
    addr: int  # the VMA whose line ends the first chunk
    next_addr: int  # the VMA whose line starts the second chunk
    prot: int  # addr's protection
    last: str  # original boundary lines
    first: str

    def boundary(
        self, reader: Reader, between: Callable[[], object] | None = None
    ) -> tuple[str, str]:
        """Last line of chunk ``skip`` and first line of chunk ``skip + 1``, running
        ``between`` after the first of the two reads."""
        f = MapsFile(self.mm, reader)
        for _ in range(self.skip):
            f.read()
        page1 = f.read()
        if between is not None:
            between()
        page2 = f.read()
        return page1.lines[-1], page2.lines[0]

    # The modifications of the selftest.
    def split(self) -> None:  # PROT_NONE differs from both readable neighbours
        self.mm.mmap(self.addr, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

    def merge(self) -> None:
        self.mm.mmap(self.addr, PG, self.prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

    def shrink(self) -> None:
        assert self.mm.mremap(self.addr, 3 * PG, PG, 0) == self.addr

    def expand(self) -> None:
        assert self.mm.mremap(self.addr, PG, 3 * PG, 0) == self.addr

    def remap(self) -> None:
        # The last page of the next VMA into the middle of this one; the source stays.
        flags = MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP
        self.mm.mremap(self.next_addr + 2 * PG, PG, PG, flags, self.addr + PG)

    def patch(self) -> None:
        self.mm.mprotect(self.addr + PG, PG, self.prot)


def _start(line: str) -> int:
    return int(line[: line.index("-")], 16)


@pytest.fixture
def race() -> Race:
    proc = Kernel().spawn(layout="typical")
    mm = proc.mm
    prot = PROT_READ | PROT_WRITE
    addrs = []
    for _ in range(VMA_COUNT):
        addrs.append(mm.mmap(0, 3 * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS))
        prot ^= PROT_WRITE  # alternate to prevent merging
    # locate_containing_page(): the chunk that lists the lowest of our VMAs.
    lowest = f"{min(addrs):08x}-{min(addrs) + 3 * PG:08x} "
    chunks = [c.text for c in MapsFile(mm, "mmap_lock")]
    skip = next(i for i, text in enumerate(chunks) if lowest in text)
    assert skip + 1 < len(chunks)
    probe = Race(mm, skip, 0, 0, 0, "", "")
    last, first = probe.boundary("mmap_lock")
    addr, next_addr = _start(last), _start(first)
    assert addr in addrs and next_addr in addrs
    index = addrs.index(addr)
    prot = PROT_READ | (PROT_WRITE if index % 2 == 0 else 0)  # even VMAs are writable
    return Race(mm, skip, addr, next_addr, prot, last, first)


def _capture(
    race: Race, modify: Callable[[], None], restore: Callable[[], None]
) -> tuple[tuple[str, str], tuple[str, str]]:
    """capture_mod_pattern(): boundary lines after the modification and after the
    restore; the restore must bring back the original lines."""
    modify()
    modified = race.boundary("mmap_lock")
    restore()
    restored = race.boundary("mmap_lock")
    assert restored == (race.last, race.first)
    return modified, restored


@pytest.mark.parametrize("reader", READERS)
def test_tearing_from_split_at_a_chunk_boundary(race: Race, reader: Reader) -> None:
    (split_last, split_first), (restored_last, restored_first) = _capture(
        race, race.split, race.merge
    )
    assert split_last != restored_last and split_first != restored_first  # check_split_result
    assert split_last.startswith(f"{race.addr:08x}-{race.addr + PG:08x} ---p")

    # Split between the two reads: chunk 1 saw the merged VMA, chunk 2 resumes after it.
    last, first = race.boundary(reader, between=race.split)
    assert (last, first) == (restored_last, restored_first)
    # Merge between the two reads: chunk 1 ended with the split piece; chunk 2 resumes
    # inside the merged VMA and reports it again ("reported twice", accepted).
    last, first = race.boundary(reader, between=race.merge)
    assert last == split_last and first == restored_last
    # First and last lines change in unison, as the selftest demands.
    assert (last != race.last) == (first != race.first)
    # And never a gap: both orders, read in one go, are one of the two layouts.
    for _ in range(2):
        race.split()
        split_text = race.mm.maps()
        race.merge()
        assert read_maps(race.mm, reader).text == race.mm.maps() != split_text


@pytest.mark.parametrize("reader", READERS)
def test_tearing_from_resize_at_a_chunk_boundary(race: Race, reader: Reader) -> None:
    (shrunk_last, shrunk_first), (restored_last, restored_first) = _capture(
        race, race.shrink, race.expand
    )
    # check_shrink_result: only the last line of the first chunk changes.
    assert shrunk_last != restored_last and shrunk_first == restored_first
    last, first = race.boundary(reader, between=race.shrink)
    assert (last, first) == (restored_last, restored_first)
    last, first = race.boundary(reader, between=race.expand)
    assert last == shrunk_last and first == restored_last  # the expanded VMA, again


@pytest.mark.parametrize("reader", READERS)
def test_tearing_from_remap_at_a_chunk_boundary(race: Race, reader: Reader) -> None:
    (remapped_last, remapped_first), (restored_last, restored_first) = _capture(
        race, race.remap, race.patch
    )
    # check_remap_result: both boundary lines change.
    assert remapped_last != restored_last and remapped_first != restored_first
    assert _start(remapped_first) == race.addr + PG  # the page moved into the middle
    last, first = race.boundary(reader, between=race.remap)
    assert (last, first) == (restored_last, restored_first)
    last, first = race.boundary(reader, between=race.patch)
    assert last == remapped_last and first == restored_last


def _held_walks(
    race: Race, modify: Callable[[], None], restore: Callable[[], None]
) -> tuple[list[str], list[str], list[str]]:
    """Modify; then a per_vma and a seqcount reader each walk the modified layout
    up to the line of ``race.addr`` and are held there while ``restore`` runs."""
    modify()
    modified = race.mm.maps().splitlines(keepends=True)
    index = next(i for i, line in enumerate(modified) if _start(line) == race.addr)
    mm = race.mm

    mm.pauses.arm("maps:per_vma_between_vmas", nth=index + 1)  # after line `index`
    per_vma = spawn(read_maps, mm, "per_vma")
    mm.pauses.wait_for_hold("maps:per_vma_between_vmas")
    restore()
    mm.pauses.release_all()
    torn = per_vma.result()

    modify()
    mm.pauses.arm("maps:seqcount_before_validate")
    seqcount = spawn(read_maps, mm, "seqcount")
    mm.pauses.wait_for_hold("maps:seqcount_before_validate")
    restore()
    mm.pauses.release_all()
    snap = seqcount.result()
    assert snap.attempts == 2 and not snap.fell_back and snap.text == mm.maps()
    assert snap.retry_reasons[0].startswith("seq moved from")

    assert torn.torn_at == (index + 1,)  # the only place a change could show
    return list(torn.lines), modified, mm.maps().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("modify", "restore"), [("split", "merge"), ("shrink", "expand"), ("remap", "patch")]
)
def test_sub_page_tearing_inside_one_per_vma_read(race: Race, modify: str, restore: str) -> None:
    """6.17+: one read() can mix moments. The per_vma walk reports the modified VMA,
    then (after the restore) the restored VMA covering it again; nothing is missing.
    The seqcount reader in the same interleaving retries and returns one moment."""
    lines, modified, restored = _held_walks(race, getattr(race, modify), getattr(race, restore))
    at = next(i for i, line in enumerate(lines) if _start(line) == race.addr)
    assert lines[: at + 1] == modified[: at + 1]  # the modified layout up to the held line
    again = restored.index(lines[at + 1])
    assert _start(lines[at + 1]) == race.addr  # the restored VMA, reported again
    assert lines[at + 1 :] == restored[again:]  # then the restored layout to the end


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("modify", "restore"), [("split", "merge"), ("shrink", "expand"), ("remap", "patch")]
)
def test_boundary_lines_under_a_concurrent_modifier(
    race: Race, reader: Reader, modify: str, restore: str
) -> None:
    """The selftest's own loop: a modifier thread repeats modify/restore while the
    boundary lines are re-read; each pair must match the modified or the restored
    pattern, the modified VMA reported twice being the only allowed mix."""
    (mod_last, mod_first), (restored_last, restored_first) = _capture(
        race, getattr(race, modify), getattr(race, restore)
    )
    stop = threading.Event()
    rounds = [0]

    def modifier() -> None:
        while not stop.is_set() and rounds[0] < 1_000_000:
            getattr(race, modify)()
            getattr(race, restore)()
            rounds[0] += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(2e-5)
    worker = spawn(modifier, name="modifier")
    try:
        for _ in range(150):
            last, first = race.boundary(reader)
            if last == mod_last:
                assert first in (mod_first, restored_last), (last, first)
            else:
                assert (last, first) == (restored_last, restored_first), (last, first)
    finally:
        stop.set()
        sys.setswitchinterval(old)
        worker.join()
    assert rounds[0] > 0
