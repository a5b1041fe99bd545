"""Leaf memos of the maps render (core/maps_memo.py): a render reuses a leaf's lines
only while they are what the VMAs print.

The oracle of each test is a render of an explicit tree version, which reads and keeps
no memo (each line from its VMA's own generation-checked cache), and
``check_line_cache``, which rebuilds every memo a render would use from the VMAs'
fields.
"""

from __future__ import annotations

import random
import sys
import threading
import time

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Mm,
    Process,
)
from core.errors import SyscallError
from core.maps_memo import CHANGES_MAX, LeafLines
from core.maps_reader import MapsSnapshot, read_maps
from core.procfs import _leaf_lines, check_line_cache, render_maps
from tests.concurrency import join_all, spawn
from tests.core.test_linearizability import Recorder, seqcount_violation

PG = 4096
BASE = 0x100000000000
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
N = 600  # VMAs of the striped arena: about ten leaves of the tree


def _fresh(mm: Mm) -> str:
    """The maps text without any memo (module note)."""
    return render_maps(mm, mm.tree)


def _striped(n: int = N) -> Process:
    """A process with ``n`` one-page VMAs that cannot merge (protections alternate)."""
    proc = Kernel().spawn()
    for i in range(n):
        proc.mm.mmap(BASE + 2 * i * PG, PG, RW if i % 2 else PROT_READ, ANON)
    return proc


def _memos(mm: Mm) -> list[object]:
    return [leaf.memo for leaf in mm.tree.leaves()]


def _agrees(mm: Mm) -> str:
    text = mm.maps()
    assert text == _fresh(mm)
    check_line_cache(mm)
    return text


def test_a_repeated_render_reuses_every_leaf() -> None:
    mm = _striped().mm
    assert not mm.maps_memo.live
    first = _agrees(mm)
    memos = _memos(mm)
    assert len(memos) > 5 and all(isinstance(m, LeafLines) for m in memos)
    assert mm.maps_memo.live
    assert mm.maps() == first
    assert all(a is b for a, b in zip(_memos(mm), memos, strict=True))


def test_a_change_in_place_rebuilds_only_its_leaf() -> None:
    # mprotect of one whole VMA whose neighbours differ: vma_modify() changes the flags
    # of the VMA itself, with no store, so its leaf stays the same object.
    mm = _striped().mm
    _agrees(mm)
    before = list(zip(mm.tree.leaves(), _memos(mm), strict=True))
    mm.mprotect(BASE + 2 * 300 * PG, PG, RW | PROT_EXEC)
    assert mm.maps_memo.changed, "the VMA changed in place was reported"
    after = list(zip(mm.tree.leaves(), _memos(mm), strict=True))
    assert [leaf for leaf, _ in after] == [leaf for leaf, _ in before]  # no store
    text = _agrees(mm)
    assert "100000258000-100000259000 rwxp" in text
    rebuilt = [a is not b for (_, a), b in zip(before, _memos(mm), strict=True)]
    assert sum(rebuilt) == 1
    assert not mm.maps_memo.changed


def test_anon_names_and_unnaming_in_place() -> None:
    proc = _striped()
    mm = proc.mm
    _agrees(mm)
    mm.set_anon_name(BASE + 2 * 100 * PG, PG, "one")
    assert "[anon:one]" in _agrees(mm)
    mm.set_anon_name(BASE + 2 * 100 * PG, PG, None)
    assert "[anon:one]" not in _agrees(mm)


def test_unlink_shows_deleted_in_a_reused_leaf() -> None:
    proc = _striped()
    mm = proc.mm
    fd = proc.open("/data/memo", O_RDWR, size=4 * PG)
    mm.mmap(BASE - 8 * PG, PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0)
    assert _agrees(mm).splitlines()[0].endswith(" /data/memo")
    proc.unlink("/data/memo")  # no mm lock, no VMA change: the memo watches the inode
    assert _agrees(mm).splitlines()[0].endswith(" /data/memo (deleted)")


def test_heap_and_stack_labels_follow_brk_over_memos() -> None:
    proc = Kernel().spawn_from_maps(
        "555555554000-555555556000 r-xp 00000000 fe:00 11 /usr/bin/x\n"
        "555555560000-555555581000 rw-p 00000000 00:00 0                          [heap]\n"
        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
    )
    mm = proc.mm
    _agrees(mm)
    start = mm.cur_brk
    assert mm.brk(start + 16 * PG) == start + 16 * PG
    assert "[heap]" in _agrees(mm)
    mm.brk(mm.start_brk)
    assert "[heap]" not in _agrees(mm)


def test_too_many_changes_between_renders_drop_every_memo() -> None:
    mm = _striped().mm
    _agrees(mm)
    memos = _memos(mm)
    for k in range(CHANGES_MAX + 1):  # each an mprotect of one whole VMA in place
        i = 2 * (k % 50) + 1
        mm.mprotect(BASE + 2 * i * PG, PG, RW if (k // 50) % 2 else RW | PROT_EXEC)
    assert mm.maps_memo.epoch == 1 and not mm.maps_memo.changed
    _agrees(mm)
    assert all(a is not b for a, b in zip(_memos(mm), memos, strict=True))


def test_a_render_overlapped_by_a_write_cycle_stores_no_memo() -> None:
    """The interleaving MapsMemo.commit guards against, stepped by hand: a lockless
    render built a leaf's lines, a writer then changed a VMA of that leaf in place, a
    second render drained the report and stored the right lines; the first render's
    late store must not replace them (it would be served from then on)."""
    mm = _striped().mm
    _agrees(mm)
    target = BASE + 2 * 300 * PG
    mm.mprotect(target, PG, PROT_NONE)  # leave the leaf without a memo...
    memo = mm.maps_memo
    lock = mm.mmap_lock
    seq = lock.seq
    snap = mm.tree.snapshot()
    epoch = memo.drain(snap)  # ...the first render: drains, then builds that leaf
    leaf = snap.leaf_at(target)
    assert leaf is not None and leaf.memo is None
    stale = _leaf_lines(leaf.entries, epoch)
    mm.mprotect(target, PG, PROT_READ | PROT_EXEC)  # the writer, in place
    assert mm.tree.leaf_at(target) is leaf
    right = _agrees(mm)  # the second render
    assert "100000258000-100000259000 r-xp" in right
    memo.commit(lock, seq, epoch, [(leaf, stale)])  # the first render's late store
    assert leaf.memo is not stale
    assert _agrees(mm) == right


def test_a_fork_child_keeps_its_own_memos() -> None:
    parent = _striped(200)
    _agrees(parent.mm)
    child = parent.fork()
    assert _agrees(child.mm) == _agrees(parent.mm)
    child.mm.mprotect(BASE + 2 * 50 * PG, PG, PROT_NONE)
    parent.mm.set_anon_name(BASE + 2 * 50 * PG, PG, "parent")
    assert "[anon:parent]" not in _agrees(child.mm)
    assert "[anon:parent]" in _agrees(parent.mm)


def _random_op(mm: Mm, rng: random.Random, slots: int) -> None:
    start = BASE + rng.randrange(slots) * PG
    length = rng.randint(1, 6) * PG
    prot = rng.choice([PROT_NONE, PROT_READ, RW, PROT_READ | PROT_EXEC])
    op = rng.randrange(6)
    try:
        if op == 0:
            mm.mmap(start, length, prot, ANON)
        elif op == 1:
            mm.munmap(start, length)
        elif op in (2, 3):
            mm.mprotect(start, length, prot)
        elif op == 4:
            mm.set_anon_name(start, length, rng.choice([None, "a", "b"]))
        else:
            mm.mremap(start, length, rng.randint(1, 6) * PG, 0)
    except SyscallError:
        pass  # ENOMEM over holes, EINVAL and the like: the kernel's own answers


def test_random_layouts_render_as_without_memos() -> None:
    for seed in range(6):
        rng = random.Random(seed)
        proc = _striped(300)
        mm = proc.mm
        for step in range(400):
            _random_op(mm, rng, 700)
            if rng.random() < 0.3:
                _agrees(mm)
            if step % 100 == 99:
                mm._check()
        _agrees(mm)


def test_seqcount_reads_over_memos_are_layouts_of_one_cycle() -> None:
    """Real threads: a writer changes the striped arena's VMAs in place (and now and
    then with a store), two seqcount readers read the whole file. Every validated read
    is the layout its count stands for, as rendered without memos at that cycle's
    unlock (the linearizability test's recorder)."""
    mm = _striped().mm
    mm.maps()
    rec = Recorder(mm)
    stop = threading.Event()

    def writer() -> int:
        rng = random.Random(11)
        ops = 0
        while not stop.is_set() and ops < 1_000_000:
            ops += 1
            addr = BASE + 2 * rng.randrange(N) * PG
            try:
                if rng.random() < 0.9:  # in place: the neighbours are holes
                    mm.mprotect(addr, PG, rng.choice([PROT_READ, RW, PROT_READ | PROT_EXEC]))
                else:  # a store: the VMA goes, or comes back
                    mm.munmap(addr, PG) if mm.vma_lookup(addr) else mm.mmap(addr, PG, RW, ANON)
            except SyscallError:
                pass
        return ops

    def reader() -> list[MapsSnapshot]:
        snaps = []
        for _ in range(400):
            snaps.append(read_maps(mm, "seqcount"))
            time.sleep(0)  # let the writer in between reads too, not only during them
        return snaps

    old = sys.getswitchinterval()
    sys.setswitchinterval(5e-5)  # switch threads often: many overlapping cycles
    try:
        w = spawn(writer, name="memo-writer")
        readers = [spawn(reader, name=f"memo-reader-{i}") for i in range(2)]
        join_all(readers, timeout=50)
    finally:
        stop.set()
        sys.setswitchinterval(old)
    join_all([w], timeout=30)
    snaps = [s for r in readers for s in r.result()]
    bad = [v for s in snaps if (v := seqcount_violation(rec, s)) is not None]
    assert not bad, f"{len(bad)} of {len(snaps)} reads inconsistent: {bad[:3]}"
    assert w.result() > 10 and len({s.seq_begin for s in snaps}) >= 2
    mm.on_write_unlock = None
    _agrees(mm)
