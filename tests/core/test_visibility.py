"""What a lock-free reader sees in the middle of a writer (``__split_vma``, munmap's stores).

Each tree store is atomic, but a syscall is a sequence of stores and in-place VMA
updates, and an RCU walker sees every step. Pause points (core/pause.py) stop a writer
at a named step; an action run there, or a test thread while the writer is held,
records what an unlocked walk of the tree returns at that moment, and which of those
moments each maps reader lets through."""

from __future__ import annotations

from core import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, Kernel, Mm
from core.maps_reader import read_maps
from core.pause import HeldOperation
from core.procfs import render_maps
from tests.concurrency import spawn, wait_until

PG = 4096
BASE = 0x100000000000
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED

Walk = list[tuple[int, int, int, int, int]]


def _walk(mm: Mm) -> Walk:
    """An unlocked walk: tree range, the VMA's own fields, and its refcount."""
    with mm.rcu.read_section():
        return [
            (start - BASE, end - BASE, vma.vm_start - BASE, vma.vm_end - BASE, vma.vm_refcnt)
            for start, end, vma in mm.tree.iter_from(0)
        ]


def _record_first(mm: Mm, names: list[str]) -> dict[str, Walk]:
    """Arm ``names`` to record, in the writer, the walk at their first hit."""
    seen: dict[str, Walk] = {}

    def record(held: HeldOperation) -> None:
        seen.setdefault(held.point, _walk(mm))

    for name in names:
        mm.pauses.arm(name, hold=False, action=record)
    return seen


def test_munmap_split_is_visible_before_the_unmap() -> None:
    mm = Kernel().spawn().mm
    mm.mmap(BASE, 8 * PG, PROT_READ | PROT_WRITE, ANON)
    seen = _record_first(mm, ["split:after_shrink", "munmap:before_clear"])
    mm.munmap(BASE + 2 * PG, 2 * PG)
    # After the first split, before the new lower piece is stored: the original VMA was
    # shrunk in place but the tree still maps the whole old range to it.
    assert seen["split:after_shrink"] == [(0, 8 * PG, 2 * PG, 8 * PG, 1)]
    # Before the clearing store: three pieces in the tree, the middle one detached
    # (refcount 0: a reader that locks it gets -EAGAIN and retries the walk).
    assert seen["munmap:before_clear"] == [
        (0, 2 * PG, 0, 2 * PG, 1),
        (2 * PG, 4 * PG, 2 * PG, 4 * PG, 0),
        (4 * PG, 8 * PG, 4 * PG, 8 * PG, 1),
    ]
    assert _walk(mm) == [(0, 2 * PG, 0, 2 * PG, 1), (4 * PG, 8 * PG, 4 * PG, 8 * PG, 1)]


def test_map_fixed_replacement_never_shows_a_hole() -> None:
    mm = Kernel().spawn().mm
    mm.mmap(BASE, 4 * PG, PROT_READ | PROT_WRITE, ANON)
    seen = _record_first(mm, ["mmap:after_gather"])
    mm.mmap(BASE, 4 * PG, PROT_READ, ANON)
    # The old VMA is detached but still covers the range until the new one is stored.
    assert seen["mmap:after_gather"] == [(0, 4 * PG, 0, 4 * PG, 0)]
    assert _walk(mm) == [(0, 4 * PG, 0, 4 * PG, 1)]
    assert mm.maps().startswith("100000000000-100000004000 r--p")


def test_seqcount_reader_rejects_the_munmap_split_it_walked() -> None:
    """The consistent reader meets munmap half-way, and refuses what it saw.

    1. A seqcount reader begins: the count is even, so it may walk without a lock.
       We hold it just before its walk.
    2. munmap of the middle two pages takes mmap_lock for write (the count becomes
       odd), splits the VMA, and is held before its clearing store.
    3. The reader walks now and sees the split pieces with the middle one still
       mapped: a layout that never existed between two syscalls.
    4. Validation finds the count moved: the walk is discarded. The next attempts
       find the count odd (the writer is still in its cycle) and are discarded too;
       after ``max_retries`` the reader queues for mmap_lock for read.
    5. munmap is released; the reader gets the lock and returns the final layout.
    """
    mm = Kernel().spawn().mm
    mm.mmap(BASE, 8 * PG, PROT_READ | PROT_WRITE, ANON)
    before = mm.maps()
    seen_by_reader: list[str] = []
    mm.pauses.arm("maps:seqcount_after_begin")
    mm.pauses.arm(
        "maps:seqcount_before_validate",
        hold=False,
        action=lambda held: seen_by_reader.append(render_maps(mm)),  # what it just walked
    )
    reader = spawn(read_maps, mm, "seqcount", name="maps-reader")  # step 1
    began = mm.pauses.wait_for_hold("maps:seqcount_after_begin")
    assert began.op == "maps"
    mm.pauses.arm("munmap:before_clear")
    unmapper = spawn(mm.munmap, BASE + 2 * PG, 2 * PG, name="unmapper")  # step 2
    mm.pauses.wait_for_hold("munmap:before_clear")
    mm.pauses.release(began)  # step 3: the reader walks the half-done munmap
    wait_until(lambda: mm.mmap_lock.statistics().rwsem.waiting_readers == 1, what="reader queued")
    (seen,) = seen_by_reader
    assert seen.splitlines()[:3] == [
        "100000000000-100000002000 rw-p 00000000 00:00 0 ",
        "100000002000-100000004000 rw-p 00000000 00:00 0 ",  # detached, to be unmapped
        "100000004000-100000008000 rw-p 00000000 00:00 0 ",
    ]
    mm.pauses.release("munmap:before_clear")  # step 5
    unmapper.join()
    snap = reader.result()
    assert snap.text == mm.maps()
    assert snap.text.splitlines()[:2] == [
        "100000000000-100000002000 rw-p 00000000 00:00 0 ",
        "100000004000-100000008000 rw-p 00000000 00:00 0 ",
    ]
    assert (snap.attempts, snap.fell_back) == (4, True)
    assert snap.retry_reasons[0].startswith("seq moved from")  # step 4: walk discarded
    assert all(r.startswith("mmap_lock write-locked at start") for r in snap.retry_reasons[1:])
    assert snap.consistent and snap.seq_begin == mm.mmap_lock.seq
    assert seen not in (before, snap.text)  # no syscall boundary ever had those lines
