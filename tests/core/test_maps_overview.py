"""core.maps_overview: the overview computed from the tree equals the one the text gives
(``app.snapshots.overview`` of a read's lines) on random layouts; VmaTree.runs against a
brute force (deep trees too); the generation cache; the seqcount section's retries and
fallback; bad arguments. Runs under both engines (the lead runs the suite with each)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.snapshots import overview
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
    MapsOverview,
    Mm,
    Process,
    SyscallError,
    read_overview,
)
from core.maps_overview import MAX_GROUPS
from core.maps_reader import read_maps
from core.vma_tree import VmaTree
from tests.engines import PYTHON_ENGINE_ONLY

PG = 4096
BASE = 0x100000000000
RW = PROT_READ | PROT_WRITE
PROTS = (PROT_READ, RW, PROT_READ | PROT_EXEC, 0)


def _dicts(o: MapsOverview) -> list[dict[str, Any]]:
    """The runs as the service sends them (app.snapshots._overview_of's conversion)."""
    return [
        {"line": r.line, "end": f"0x{r.end:08x}", "vmas": r.vmas, "size": r.size} for r in o.runs
    ]


def _random_process(rng: random.Random, n_ops: int) -> Process:
    """A typical process, then ``n_ops`` random mmaps (anonymous, file, shared), munmaps,
    mprotects and brk moves in one window: many runs of every kind of line, [heap] and
    [stack] included."""
    proc = Kernel().spawn(layout="typical")
    fd = proc.open("/data/lib with space", O_RDWR, size=64 * PG)
    window = 4096
    for _ in range(n_ops):
        try:
            _random_op(rng, proc, fd, BASE + rng.randrange(window) * PG, rng.randint(1, 24))
        except SyscallError:
            pass  # mprotect of a hole (ENOMEM), brk below its start: nothing changed
    return proc


def _random_op(rng: random.Random, proc: Process, fd: int, addr: int, npages: int) -> None:
    """One random operation on ``proc`` at ``addr`` over ``npages`` pages."""
    mm = proc.mm
    op = rng.random()
    if op < 0.45:
        prot = rng.choice(PROTS)
        if rng.random() < 0.2:
            mm.mmap(addr, npages * PG, prot, MAP_PRIVATE | MAP_FIXED, fd, rng.randrange(40) * PG)
        elif rng.random() < 0.1:
            mm.mmap(addr, npages * PG, prot, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
        else:
            mm.mmap(addr, npages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    elif op < 0.7:
        mm.munmap(addr, npages * PG)
    elif op < 0.85:
        mm.mprotect(addr, npages * PG, rng.choice(PROTS))
    elif op < 0.95:  # flags changed in place, or a split and a merge back
        (mm.mlock if rng.random() < 0.5 else mm.munlock)(addr, npages * PG)
    else:
        mm.brk(mm.cur_brk + rng.randint(-2, 8) * PG)


def _text_overview(mm: Mm, groups: int) -> list[dict[str, Any]]:
    return overview(read_maps(mm, "seqcount").lines, groups)


@pytest.mark.parametrize("seed", range(12))
def test_equals_the_text_overview_on_random_layouts(seed: int) -> None:
    rng = random.Random(seed)
    mm = _random_process(rng, rng.randint(20, 400)).mm
    n = mm.map_count
    for groups in sorted({1, 2, 3, 7, 64, n - 1 or 1, n, n + 1, rng.randint(1, 2 * n)}):
        for reader in ("seqcount", "mmap_lock"):
            o = read_overview(mm, groups, reader)
            assert _dicts(o) == _text_overview(mm, groups), (seed, groups, reader)
            assert o.count == n + 1  # the gate line
            assert o.consistent and o.reader == reader and o.attempts == 1


@pytest.mark.parametrize("seed", range(4))
def test_the_cache_follows_every_change(seed: int) -> None:
    """After every random operation (many fail and change nothing), the overview equals
    the text's: reused exactly when the generation did not move."""
    rng = random.Random(seed)
    proc = _random_process(rng, 40)
    fd = proc.open("/data/lib with space", O_RDWR, size=64 * PG)
    mm = proc.mm
    reused = []
    last = read_overview(mm, 16).generation
    for _ in range(150):
        try:
            _random_op(rng, proc, fd, BASE + rng.randrange(4096) * PG, rng.randint(1, 24))
        except SyscallError:
            pass
        o = read_overview(mm, 16)
        assert _dicts(o) == _text_overview(mm, 16), seed
        assert o.reused == (o.generation == last), (o.generation, last)
        reused.append(o.reused)
        last = o.generation
    assert any(reused) and not all(reused), reused


def test_heap_and_stack_labels_and_the_gate() -> None:
    """One run per VMA: every first line is the text's, [heap]/[stack] included; without
    the gate line there is no gate run."""
    proc = Kernel().spawn(layout="typical")
    mm = proc.mm
    mm.brk(mm.cur_brk + 3 * PG)
    o = read_overview(mm, 1 << 16)
    lines = mm.maps().splitlines()
    assert [r.line for r in o.runs] == lines
    assert any(ln.endswith("[heap]") for ln in lines) and any(
        ln.endswith("[stack]") for ln in lines
    )
    assert all(r.vmas == 1 for r in o.runs)
    mm.show_gate = False
    o = read_overview(mm, 1 << 16)
    assert [r.line for r in o.runs] == mm.maps().splitlines() == lines[:-1]
    assert o.count == mm.map_count


def test_the_generation_cache_reuses_sums_and_renders_lines_again() -> None:
    proc = Kernel().spawn(layout="typical")
    mm = proc.mm
    fd = proc.open("/data/doomed", O_RDWR, size=4 * PG)
    addr = mm.mmap(0, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0)
    first = read_overview(mm, 1000)
    again = read_overview(mm, 1000)
    assert (first.reused, again.reused) == (False, True)
    assert again.runs == first.runs and again.generation == first.generation
    # Another groups count is not the cached one.
    assert read_overview(mm, 3).reused is False
    assert read_overview(mm, 3).reused is True
    # A line changes without a layout change: the reused sums get the new line.
    proc.unlink("/data/doomed")
    deleted = read_overview(mm, 3)
    assert deleted.reused and deleted.generation == first.generation
    assert _dicts(deleted) == _text_overview(mm, 3)
    assert any(r.line.endswith("(deleted)") for r in read_overview(mm, 1000).runs)
    # A layout change moves the generation: the sums are computed again.
    mm.munmap(addr, PG)
    moved = read_overview(mm, 3)
    assert not moved.reused and moved.generation > first.generation
    assert _dicts(moved) == _text_overview(mm, 3)
    # The break moved (no store if it stays inside the heap VMA's page): a new generation.
    mm.brk(mm.cur_brk + 2 * PG)
    assert not read_overview(mm, 3).reused


def _write_cycle(mm: Mm) -> None:
    mm.mmap_lock.write_lock()
    mm.mmap_lock.write_unlock()


def test_a_write_cycle_during_the_section_discards_the_attempt() -> None:
    mm = Kernel().spawn(layout="typical").mm
    mm.pauses.arm("maps:seqcount_before_validate", hold=False, action=lambda held: _write_cycle(mm))
    o = read_overview(mm, 4)
    assert (o.attempts, o.fallbacks) == (2, 0)
    assert len(o.retry_reasons) == 1 and "seq moved" in o.retry_reasons[0]
    assert o.consistent and o.hold.mmap_lock_read_ns == 0
    assert _dicts(o) == _text_overview(mm, 4)


def test_a_discarded_attempt_does_not_fill_the_cache() -> None:
    """The first attempt computes sums, a layout change overlaps it: the sums kept are
    those of the validated second attempt, of the new layout."""
    mm = Kernel().spawn(layout="typical").mm
    addr = mm.mmap(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS)

    def change(held: object) -> None:
        mm.mprotect(addr, PG, PROT_READ)  # a write-lock cycle that stores into the tree

    mm.pauses.arm("maps:seqcount_before_validate", hold=False, action=change)
    o = read_overview(mm, 1 << 16)
    assert o.attempts == 2 and not o.reused
    assert _dicts(o) == _text_overview(mm, 1 << 16)
    assert read_overview(mm, 1 << 16).reused


@pytest.mark.parametrize("max_retries", [0, 2])
def test_seqcount_falls_back_to_mmap_lock(max_retries: int) -> None:
    mm = Kernel().spawn(layout="typical").mm
    mm.pauses.arm(
        "maps:seqcount_before_validate", count=None, hold=False, action=lambda h: _write_cycle(mm)
    )
    o = read_overview(mm, 5, max_retries=max_retries)
    assert (o.attempts, o.fallbacks, o.reader) == (max_retries + 1, 1, "seqcount")
    assert len(o.retry_reasons) == max_retries and o.consistent
    assert o.hold.mmap_lock_read_ns > 0
    assert _dicts(o) == _text_overview(mm, 5)


def test_a_dead_process_has_an_empty_overview() -> None:
    kernel = Kernel()
    proc = kernel.spawn(layout="typical")
    mm = proc.mm
    kernel.exit(proc.pid)
    o = read_overview(mm, 4)
    assert (o.runs, o.count, o.attempts) == ((), 0, 0)
    assert read_maps(mm).lines == ()


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"groups": 0}, "groups"),
        ({"groups": MAX_GROUPS + 1}, "groups"),
        pytest.param({"groups": True}, "groups", marks=PYTHON_ENGINE_ONLY),
        pytest.param({"groups": 2.0}, "groups", marks=PYTHON_ENGINE_ONLY),
        ({"groups": 4, "reader": "per_vma"}, "per_vma"),
        ({"groups": 4, "reader": "nope"}, "reader"),
        ({"groups": 4, "max_retries": -1}, "max_retries"),
        pytest.param({"groups": 4, "max_retries": "3"}, "max_retries", marks=PYTHON_ENGINE_ONLY),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(kwargs: dict[str, Any], what: str) -> None:
    mm = Kernel().spawn(layout="typical").mm
    before = (mm.generation, mm.mmap_lock.seq, mm.overview_cache)
    with pytest.raises(InvalidArgument, match=what):
        read_overview(mm, **kwargs)
    assert (mm.generation, mm.mmap_lock.seq, mm.overview_cache) == before


# -- VmaTree.runs ------------------------------------------------------------------------


class _Tiny(VmaTree[object]):
    """Four entries per leaf and per branch: runs cross many leaves and levels."""

    _LEAF_MAX = 4
    _BRANCH_MAX = 4


@pytest.mark.parametrize(
    "cls", [VmaTree, pytest.param(_Tiny, marks=PYTHON_ENGINE_ONLY)], ids=["default", "tiny"]
)
@pytest.mark.parametrize("seed", range(6))
def test_tree_runs_against_a_brute_force(cls: type[VmaTree[object]], seed: int) -> None:
    rng = random.Random(seed)
    tree = cls()
    for _ in range(rng.randint(0, 600)):
        start = rng.randrange(5000) * PG
        end = start + rng.randint(1, 9) * PG
        tree.store(start, end, None if rng.random() < 0.25 else rng.random())
    entries = list(tree)
    for per in sorted({1, 2, 3, 4, 5, 63, 64, 65, 1000, rng.randint(1, 700)}):
        expect = [
            (run[0], run[-1][1], len(run), sum(e - s for s, e, _ in run))
            for run in (entries[k : k + per] for k in range(0, len(entries), per))
        ]
        assert tree.runs(per) == expect, (seed, per)


def test_tree_runs_see_the_version_of_their_call_and_refuse_bad_per() -> None:
    tree: VmaTree[str] = VmaTree()
    assert tree.runs(3) == []
    for i in range(200):
        tree.store(2 * i * PG, (2 * i + 1) * PG, "x")
    old = tree.snapshot()
    tree.store(0, 400 * PG, None)
    assert tree.runs(7) == [] and len(old.runs(7)) == 29
    assert sum(k for _, _, k, _ in old.runs(7)) == 200
    for bad in (0, -1):
        with pytest.raises(InvalidArgument, match="per"):
            tree.runs(bad)


@PYTHON_ENGINE_ONLY  # compiled: TypeError at the call, True arrives as 1 (tests/engines.py)
def test_tree_runs_refuse_a_per_of_another_type() -> None:
    tree: VmaTree[str] = VmaTree()
    for bad in (True, 1.5, "2"):
        with pytest.raises(InvalidArgument, match="per"):
            tree.runs(bad)  # type: ignore[arg-type]
