"""Tests for core.vma_tree: unit tests, a model-based state machine, scale and RCU readers."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Callable, Iterator
from itertools import islice

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core.constants import PAGE_SIZE, TASK_SIZE
from core.errors import InvalidArgument
from core.vma_tree import Entry, VmaTree
from tests.engines import PYTHON_ENGINE_ONLY

P = PAGE_SIZE
TOP = 1 << 64


class _Tiny(VmaTree[object]):
    """Four entries per leaf, four children per branch: deep trees from few entries."""

    _LEAF_MAX = 4
    _BRANCH_MAX = 4


class _Odd(VmaTree[object]):
    """Odd capacities, to exercise the rounding in split and merge."""

    _LEAF_MAX = 5
    _BRANCH_MAX = 7


# ---------------------------------------------------------------------- the model


def model_store(
    model: list[Entry[object]], start: int, end: int, value: object
) -> list[Entry[object]]:
    """The obviously correct store: trim or drop what overlaps, add the new entry."""
    out: list[Entry[object]] = []
    for s, e, v in model:
        if e <= start or s >= end:
            out.append((s, e, v))
            continue
        if s < start:
            out.append((s, start, v))
        if e > end:
            out.append((end, e, v))
    if value is not None:
        out.append((start, end, value))
    out.sort(key=lambda x: x[0])
    return out


def model_gaps(model: list[Entry[object]], low: int, high: int, size: int) -> list[tuple[int, int]]:
    """Free ranges (from 0, unbounded above) clipped to [low, high), >= size, ascending."""
    out: list[tuple[int, int]] = []
    prev_end = 0
    for s, e, _ in [*model, (TOP * 2, TOP * 2, None)]:
        gs, ge = max(prev_end, low), min(s, high)
        if ge - gs >= size:
            out.append((gs, ge))
        prev_end = e
    return out


def tree_of(entries: list[tuple[int, int, object]], cls: type[VmaTree[object]] = VmaTree):
    tree = cls()
    for s, e, v in entries:
        tree.store(s, e, v)
    tree._check()
    return tree


def pages(*spans: tuple[int, int, object]) -> list[tuple[int, int, object]]:
    """Entries given in page numbers: (first page, end page, value)."""
    return [(s * P, e * P, v) for s, e, v in spans]


# _Tiny and _Odd subclass the tree for small nodes: the compiled engine's VmaTree is a
# native class, which interpreted classes cannot subclass (tests/engines.py).
@pytest.fixture(
    params=[
        VmaTree,
        pytest.param(_Tiny, marks=PYTHON_ENGINE_ONLY),
        pytest.param(_Odd, marks=PYTHON_ENGINE_ONLY),
    ],
    ids=["default", "tiny", "odd"],
)
def cls(request: pytest.FixtureRequest) -> type[VmaTree[object]]:
    return request.param  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- unit tests


def test_empty_tree() -> None:
    tree: VmaTree[str] = VmaTree()
    tree._check()
    assert len(tree) == 0
    assert not tree
    assert tree.walk(0) is None
    assert tree.find(0) is None
    assert tree.find_intersection(0, TOP) is None
    assert tree.prev(TOP) is None
    assert list(tree) == []
    assert list(tree.iter_from(0)) == []
    assert list(tree.iter_rev_from(TOP)) == []
    assert list(tree.gaps_rev(P, TASK_SIZE, P)) == [(P, TASK_SIZE)]
    assert list(tree.gaps(0, 10, 10)) == [(0, 10)]
    assert list(tree.gaps(0, 10, 11)) == []
    assert list(tree.gaps(5, 5, 1)) == []
    assert repr(tree) == "<VmaTree with 0 entries>"


def test_single_entry_at_address_zero() -> None:
    tree = tree_of([(0, P, "a")])
    assert tree.walk(0) == (0, P, "a")
    assert tree.walk(P - 1) == (0, P, "a")
    assert tree.walk(P) is None
    assert tree.find(0) == (0, P, "a")
    assert tree.find(P) is None
    assert tree.prev(0) is None
    assert tree.prev(1) == (0, P, "a")
    assert list(tree.gaps(0, 4 * P, P)) == [(P, 4 * P)]
    assert list(tree.gaps_rev(0, 4 * P, 1)) == [(P, 4 * P)]


def test_walk_find_prev_and_intersection(cls: type[VmaTree[object]]) -> None:
    tree = tree_of(pages((1, 3, "a"), (3, 4, "b"), (6, 9, "c"), (12, 13, "d")), cls)
    a, b, c, d = list(tree)
    assert tree.walk(P - 1) is None
    assert tree.walk(P) == a
    assert tree.walk(3 * P) == b  # adjacent entries: the boundary belongs to the upper one
    assert tree.walk(4 * P) is None
    assert tree.find(4 * P) == c  # find_vma: may start above addr
    assert tree.find(13 * P) is None
    assert tree.find_intersection(4 * P, 6 * P) is None
    assert tree.find_intersection(4 * P, 6 * P + 1) == c
    assert tree.find_intersection(2 * P, 13 * P) == a
    assert tree.find_intersection(9 * P, 12 * P) is None
    # prev: last entry starting below addr, which is the entry containing addr if any.
    assert tree.prev(P) is None
    assert tree.prev(P + 1) == a
    assert tree.prev(3 * P) == a
    assert tree.prev(7 * P) == c
    assert tree.prev(TOP) == d
    # find_vma_prev(addr) = (find(addr), the entry before it).
    nxt = tree.find(7 * P)
    assert nxt == c
    assert tree.prev(nxt[0]) == b


def test_iteration(cls: type[VmaTree[object]]) -> None:
    entries = pages(*((2 * k, 2 * k + 1, k) for k in range(50)))
    tree = tree_of(entries, cls)
    assert list(tree) == entries
    assert list(tree.iter_from(0)) == entries
    assert list(tree.iter_from(10 * P)) == entries[5:]
    assert list(tree.iter_from(10 * P + 1)) == entries[5:]  # end > addr
    assert list(tree.iter_from(11 * P)) == entries[6:]
    assert list(tree.iter_from(99 * P)) == []
    assert list(tree.iter_rev_from(TOP)) == entries[::-1]
    assert list(tree.iter_rev_from(10 * P)) == entries[:5][::-1]  # start < addr
    assert list(tree.iter_rev_from(10 * P + 1)) == entries[:6][::-1]
    assert list(tree.iter_rev_from(0)) == []


def test_iterators_see_the_version_of_their_creation(cls: type[VmaTree[object]]) -> None:
    entries = pages(*((2 * k, 2 * k + 1, k) for k in range(40)))
    tree = tree_of(entries, cls)
    forward, backward = tree.iter_from(0), tree.iter_rev_from(TOP)
    gaps = tree.gaps(0, 100 * P, 1)
    assert next(forward) == entries[0]
    tree.store(0, 100 * P, None)
    tree.store(P, 2 * P, "new")
    assert list(forward) == entries[1:]
    assert list(backward) == entries[::-1]
    assert len(list(gaps)) == 40  # 39 between entries, one above the last
    assert list(tree) == [(P, 2 * P, "new")]


def test_store_overwrites_the_same_range() -> None:
    tree = tree_of(pages((1, 2, "a"), (2, 4, "b"), (4, 5, "c")))
    tree.store(2 * P, 4 * P, "B")
    tree._check()
    assert list(tree) == pages((1, 2, "a"), (2, 4, "B"), (4, 5, "c"))


def test_split_trim_and_expand(cls: type[VmaTree[object]]) -> None:
    tree = tree_of(pages((10, 20, "a")), cls)
    tree.store(12 * P, 13 * P, "b")  # split into three
    assert list(tree) == pages((10, 12, "a"), (12, 13, "b"), (13, 20, "a"))
    tree.store(8 * P, 11 * P, "c")  # trims the head of the first piece
    tree.store(19 * P, 22 * P, "d")  # trims the tail of the last one
    assert list(tree) == pages(
        (8, 11, "c"), (11, 12, "a"), (12, 13, "b"), (13, 19, "a"), (19, 22, "d")
    )
    tree.store(11 * P, 19 * P, "e")  # expansion over three entries
    assert list(tree) == pages((8, 11, "c"), (11, 19, "e"), (19, 22, "d"))
    tree.store(9 * P, 10 * P, None)  # a hole punched inside an entry
    assert list(tree) == pages((8, 9, "c"), (10, 11, "c"), (11, 19, "e"), (19, 22, "d"))
    tree._check()


def test_clear_across_many_entries(cls: type[VmaTree[object]]) -> None:
    entries = pages(*((3 * k, 3 * k + 2, k) for k in range(1000)))
    tree = tree_of(entries, cls)
    model = list(entries)
    for start, end in [(301 * P, 2700 * P), (P, 2 * P), (0, 150 * P), (2990 * P, TOP)]:
        tree.store(start, end, None)
        model = model_store(model, start, end, None)
        tree._check()
        assert list(tree) == model
    tree.store(0, TOP, None)
    tree._check()
    assert len(tree) == 0
    assert list(tree.gaps(0, TOP, TOP)) == [(0, TOP)]


def test_store_across_many_entries_replaces_them(cls: type[VmaTree[object]]) -> None:
    entries = pages(*((3 * k, 3 * k + 2, k) for k in range(500)))
    tree = tree_of(entries, cls)
    tree.store(100 * P + 1, 1200 * P + 1, "big")
    tree._check()
    assert list(tree) == model_store(entries, 100 * P + 1, 1200 * P + 1, "big")
    assert tree.walk(100 * P) == (99 * P, 100 * P + 1, 33)  # trimmed head keeps its value
    assert tree.walk(1200 * P) == (100 * P + 1, 1200 * P + 1, "big")


def test_clearing_a_hole_keeps_the_version() -> None:
    tree = tree_of(pages((1, 2, "a"), (5, 6, "b")))
    version = tree.version
    tree.store(2 * P, 5 * P, None)
    tree.store(7 * P, TOP, None)
    assert tree.version is version
    tree.store(2 * P, 3 * P, "c")
    assert tree.version is not version


def test_top_of_the_address_space() -> None:
    tree = tree_of([(TASK_SIZE - P, TASK_SIZE, "stack"), (TOP - P, TOP, "top")])
    assert tree.walk(TASK_SIZE - 1) == (TASK_SIZE - P, TASK_SIZE, "stack")
    assert tree.walk(TOP - 1) == (TOP - P, TOP, "top")
    assert tree.find(TASK_SIZE) == (TOP - P, TOP, "top")
    assert next(tree.gaps_rev(P, TASK_SIZE, P)) == (P, TASK_SIZE - P)
    assert list(tree.gaps_rev(0, TOP, 1)) == [(TASK_SIZE, TOP - P), (0, TASK_SIZE - P)]
    tree.store(TASK_SIZE, TOP, None)
    tree._check()
    assert list(tree) == [(TASK_SIZE - P, TASK_SIZE, "stack")]
    assert list(tree.gaps(TASK_SIZE - 2 * P, TOP, P)) == [
        (TASK_SIZE - 2 * P, TASK_SIZE - P),
        (TASK_SIZE, TOP),
    ]


def test_gaps_at_the_ends_and_clipping(cls: type[VmaTree[object]]) -> None:
    tree = tree_of(pages((4, 6, "a"), (8, 9, "b"), (12, 20, "c")), cls)
    # Below the first entry, between entries, above the last one.
    assert list(tree.gaps(0, 30 * P, P)) == [
        (0, 4 * P),
        (6 * P, 8 * P),
        (9 * P, 12 * P),
        (20 * P, 30 * P),
    ]
    assert list(tree.gaps_rev(0, 30 * P, P)) == [
        (20 * P, 30 * P),
        (9 * P, 12 * P),
        (6 * P, 8 * P),
        (0, 4 * P),
    ]
    # Clipped by low/high before the size test.
    assert list(tree.gaps(7 * P, 10 * P, P)) == [(7 * P, 8 * P), (9 * P, 10 * P)]
    assert list(tree.gaps_rev(7 * P, 10 * P, 2 * P)) == []
    assert list(tree.gaps_rev(5 * P, 25 * P, 3 * P)) == [(20 * P, 25 * P), (9 * P, 12 * P)]
    assert list(tree.gaps(P, 3 * P, P)) == [(P, 3 * P)]
    assert list(tree.gaps(13 * P, 19 * P, 1)) == []  # inside an entry
    # Larger than any gap.
    assert list(tree.gaps(0, 20 * P, 5 * P)) == []
    assert list(tree.gaps_rev(0, 30 * P, 11 * P)) == []
    # Unbounded above.
    assert list(tree.gaps_rev(0, TOP, TOP - 20 * P)) == [(20 * P, TOP)]


def test_gaps_rev_finds_the_highest_fitting_hole_in_a_large_tree() -> None:
    # 20,000 one-page entries with one-page holes, plus one 3-page hole near the bottom.
    tree: VmaTree[int] = VmaTree()
    for k in range(20_000):
        tree.store((2 * k + 10) * P, (2 * k + 11) * P, k)
    tree.store(101 * P, 103 * P, None)
    high = (2 * 20_000 + 10) * P
    assert next(tree.gaps_rev(P, high, 3 * P)) == (101 * P, 104 * P)
    assert next(tree.gaps(200 * P, high, 3 * P), None) is None
    assert next(tree.gaps_rev(P, high, P)) == (high - P, high)
    assert next(tree.gaps_rev(P, high - P, P)) == (high - 3 * P, high - 2 * P)
    assert next(tree.gaps(P, high, 2 * P)) == (P, 10 * P)


def test_filling_the_largest_hole_lowers_every_cached_gap(cls: type[VmaTree[object]]) -> None:
    # A store rescans a node only when a slot it changes held the node's largest gap
    # (_rescan); the other stores keep the gap from the slots they changed. Holes of
    # 1..5 pages between one-page entries, the 9-page one in the middle.
    tree = cls()
    holes = [1, 2, 3, 4, 5] * 6
    holes[14] = 9
    addr = 0
    spans = []
    for k, h in enumerate(holes):
        tree.store(addr, addr + P, k)
        spans.append((addr + P, addr + P + h * P))
        addr += P + h * P
    tree._check()
    big_start, big_end = spans[14]
    assert next(tree.gaps(0, addr, 9 * P)) == (big_start, big_end)
    # A smaller hole shrinks: the largest stays (no rescan needed, none may be missed).
    s, e = spans[3]
    tree.store(s, s + P, "small")
    tree._check()
    assert next(tree.gaps(0, addr, 9 * P)) == (big_start, big_end)
    # The largest hole is filled but for its last page: every gap on its path drops.
    tree.store(big_start, big_end - P, "fill")
    tree._check()
    assert next(tree.gaps(0, addr, 6 * P), None) is None
    assert list(tree.gaps(0, addr, 5 * P)) == [spans[k] for k in range(4, 30, 5) if k != 14]
    # Opening it again raises them.
    tree.store(big_start, big_end - P, None)
    tree._check()
    assert next(tree.gaps(0, addr, 9 * P)) == (big_start, big_end)


def test_the_tree_keeps_its_own_copy_of_the_range() -> None:
    class Vma:
        def __init__(self, start: int, end: int) -> None:
            self.start, self.end = start, end

    vma = Vma(P, 4 * P)
    tree: VmaTree[Vma] = VmaTree()
    tree.store(vma.start, vma.end, vma)
    vma.end = 2 * P  # __split_vma shrinks the VMA in place before the tree store
    assert tree.walk(3 * P) == (P, 4 * P, vma)
    tree._check()


def test_snapshots_are_independent(cls: type[VmaTree[object]]) -> None:
    tree = tree_of(pages(*((2 * k, 2 * k + 1, k) for k in range(30))), cls)
    before = list(tree)
    snap = tree.snapshot()
    assert type(snap) is cls
    assert snap.version is tree.version
    tree.store(0, 21 * P, None)
    snap.store(41 * P, 60 * P, "snap")
    tree._check()
    snap._check()
    assert list(tree) == before[11:]
    assert list(snap) == model_store(before, 41 * P, 60 * P, "snap")
    assert len(snap) == len(before) - 9 + 1  # pages 42 .. 58 replaced by one entry


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (P, P, r"^store: range start 0x1000 is not below end 0x1000$"),
        (2 * P, P, r"^store: range start 0x2000 is not below end 0x1000$"),
        (-P, P, r"^store: range start -0x1000 is negative$"),
        (0, TOP + 1, r"^store: range end 0x10000000000000001 is above the 64-bit index space$"),
        (1.0, 2, r"^store: range bounds must be ints, got 1\.0 and 2$"),
        (0, True, r"^store: range bounds must be ints, got 0 and True$"),
    ],
)
@PYTHON_ENGINE_ONLY
def test_store_rejects_bad_ranges(start: object, end: object, message: str) -> None:
    tree: VmaTree[str] = VmaTree()
    with pytest.raises(InvalidArgument, match=message):
        tree.store(start, end, "x")  # type: ignore[arg-type]
    assert len(tree) == 0


@PYTHON_ENGINE_ONLY
def test_gap_search_rejects_bad_windows() -> None:
    tree: VmaTree[str] = VmaTree()
    with pytest.raises(InvalidArgument, match=r"^gaps_rev: window \[0x2000, 0x1000\) is not a"):
        tree.gaps_rev(2 * P, P, P)
    with pytest.raises(InvalidArgument, match=r"^gaps: size 0 is not positive$"):
        tree.gaps(0, P, 0)
    with pytest.raises(InvalidArgument, match=r"^gaps: low, high and size must be ints, got"):
        tree.gaps(0, P, 1.5)  # type: ignore[arg-type]


def test_int_subclasses_are_stored_as_ints() -> None:
    class Addr(int):
        pass

    tree: VmaTree[str] = VmaTree()
    tree.store(Addr(P), Addr(2 * P), "a")
    tree._check()
    assert type(tree.walk(P)[0]) is int  # type: ignore[index]


def test_check_reports_corruption() -> None:
    tree = tree_of(pages(*((2 * k, 2 * k + 1, k) for k in range(10))))
    tree._root.lasts[3] += 5 * P
    with pytest.raises(AssertionError, match=r"entry 3 range differs from its keys .*_Leaf"):
        tree._check()


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda entries: entries.pop(3), r"entries/lasts length mismatch"),
        # Compiled, the entry's static type is checked first (a TypeError), as for any
        # value of the wrong type (tests/engines.py).
        pytest.param(
            lambda entries: entries.__setitem__(3, entries[3][:2]),
            r"entry 3 is not a \(start",
            marks=PYTHON_ENGINE_ONLY,
        ),
        # A leaf keeps no starts: an entry whose own start moved is caught by the holes
        # and order derived from the entries.
        (
            lambda entries: entries.__setitem__(3, (entries[2][0], *entries[3][1:])),
            r"cached holes are stale",
        ),
    ],
)
def test_check_reports_corrupt_leaf_entries(
    corrupt: Callable[[list[Entry[object]]], object], message: str
) -> None:
    tree = tree_of(pages(*((2 * k, 2 * k + 1, k) for k in range(10))))
    corrupt(tree._root.entries)
    with pytest.raises(AssertionError, match=message):
        tree._check()


@pytest.mark.parametrize("where", ["root leaf", "root branch", "child leaf"])
def test_check_reports_a_stale_first_start(where: str) -> None:
    # Every node caches its subtree's first start (``first``), which a parent reads in
    # place of a list of its children's starts: a stale one is reported by its node.
    size = 10 if where == "root leaf" else 200  # 200 entries: a branch over leaves
    tree = tree_of(pages(*((2 * k, 2 * k + 1, k) for k in range(size))))
    tree._check()
    node = tree._root if where != "child leaf" else tree._root.kids[1]
    assert type(node).__name__ == ("_Branch" if where == "root branch" else "_Leaf")
    node.first += P
    depth = 1 if where == "child leaf" else 0
    with pytest.raises(AssertionError, match=rf"cached first start \d+ is stale.* depth {depth}"):
        tree._check()


# ---------------------------------------------------------------------- model-based


_PAGES = 96
addrs = st.integers(0, _PAGES + 4).map(lambda p: p * P) | st.integers(0, (_PAGES + 4) * P)
values = st.integers(0, 9)


class VmaTreeMachine(RuleBasedStateMachine):
    """The tree against a sorted list with a naive store; snapshots must never change."""

    def __init__(self) -> None:
        super().__init__()
        self.tree: VmaTree[object] = _Tiny()
        self.model: list[Entry[object]] = []
        self.snaps: list[tuple[VmaTree[object], list[Entry[object]]]] = []

    @initialize(cls=st.sampled_from([_Tiny, _Odd, VmaTree]))
    def choose_node_size(self, cls: type[VmaTree[object]]) -> None:
        self.tree = cls()

    def _store(self, start: int, end: int, value: object) -> None:
        self.tree.store(start, end, value)
        self.model = model_store(self.model, start, end, value)

    @rule(page=st.integers(0, _PAGES), npages=st.integers(1, 12), value=values)
    def store(self, page: int, npages: int, value: int) -> None:
        self._store(page * P, (page + npages) * P, value)

    @rule(page=st.integers(0, _PAGES), npages=st.integers(1, 40))
    def clear(self, page: int, npages: int) -> None:
        self._store(page * P, (page + npages) * P, None)

    @rule(first=st.integers(0, _PAGES), count=st.integers(1, 40), stride=st.integers(1, 3))
    def populate(self, first: int, count: int, stride: int) -> None:
        """Many one-page entries at once, so trees grow several levels deep."""
        for k in range(count):
            page = first + k * stride
            self._store(page * P, (page + 1) * P, k)

    @rule(start=addrs, length=st.integers(1, 3 * P), value=values | st.none())
    def store_unaligned(self, start: int, length: int, value: int | None) -> None:
        self._store(start, start + length, value)

    @rule(addr=addrs)
    def lookups(self, addr: int) -> None:
        model = self.model
        assert self.tree.walk(addr) == next((x for x in model if x[0] <= addr < x[1]), None)
        assert self.tree.find(addr) == next((x for x in model if x[1] > addr), None)
        before = [x for x in model if x[0] < addr]
        assert self.tree.prev(addr) == (before[-1] if before else None)
        assert self.tree.rank(addr) == sum(1 for x in model if x[1] <= addr)

    @rule(start=addrs, length=st.integers(1, 20 * P))
    def intersection(self, start: int, length: int) -> None:
        end = start + length
        expected = next((x for x in self.model if x[1] > start and x[0] < end), None)
        assert self.tree.find_intersection(start, end) == expected

    @rule(addr=addrs, limit=st.integers(0, 200))
    def iterate(self, addr: int, limit: int) -> None:
        forward = [x for x in self.model if x[1] > addr][:limit]
        assert list(islice(self.tree.iter_from(addr), limit)) == forward
        backward = [x for x in self.model if x[0] < addr][::-1][:limit]
        assert list(islice(self.tree.iter_rev_from(addr), limit)) == backward

    @rule(low=addrs, length=st.integers(0, (_PAGES + 8) * P), size=st.integers(1, 8 * P))
    def gap_search(self, low: int, length: int, size: int) -> None:
        high = low + length
        expected = model_gaps(self.model, low, high, size)
        assert list(self.tree.gaps(low, high, size)) == expected
        assert list(self.tree.gaps_rev(low, high, size)) == expected[::-1]

    @rule()
    def take_snapshot(self) -> None:
        self.snaps = [*self.snaps[-3:], (self.tree.snapshot(), list(self.model))]

    @precondition(lambda self: self.snaps)
    @rule(page=st.integers(0, _PAGES), npages=st.integers(1, 30), value=values | st.none())
    def store_into_snapshot(self, page: int, npages: int, value: int | None) -> None:
        snap, model = self.snaps[-1]
        snap.store(page * P, (page + npages) * P, value)
        self.snaps[-1] = (snap, model_store(model, page * P, (page + npages) * P, value))

    @invariant()
    def structure(self) -> None:
        self.tree._check()
        assert len(self.tree) == len(self.model)

    @invariant()
    def snapshots_never_change(self) -> None:
        for snap, model in self.snaps:
            snap._check()
            assert list(snap) == model


# One bug at a time: shrinking a dozen distinct failures at once takes minutes.
VmaTreeMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, report_multiple_bugs=False
)
TestVmaTreeMachine = PYTHON_ENGINE_ONLY(VmaTreeMachine.TestCase)


# ---------------------------------------------------------------------- scale


@pytest.mark.timeout(180)  # CPU-bound: 4 s quiet, 25 s seen on a busy machine
def test_seventy_thousand_entries() -> None:
    n = 70_000
    tree: VmaTree[int] = VmaTree()
    # Top-down, as successive mmaps fill downward from mmap_base.
    for k in reversed(range(n)):
        tree.store((2 * k + 1) * P, (2 * k + 2) * P, k)
    tree._check()
    assert len(tree) == n
    rng = random.Random(0)
    for _ in range(500):
        k = rng.randrange(n)
        entry = ((2 * k + 1) * P, (2 * k + 2) * P, k)
        assert tree.walk((2 * k + 1) * P + rng.randrange(P)) == entry
        assert tree.walk((2 * k + 2) * P) is None
        assert tree.find((2 * k + 2) * P - 1) == entry
        assert tree.prev((2 * k + 2) * P) == entry
    count = 0
    last_end = -1
    for start, end, _ in tree:
        assert last_end < start < end
        last_end = end
        count += 1
    assert count == n
    assert next(tree.gaps_rev(0, TOP, P)) == ((2 * n) * P, TOP)
    assert next(tree.gaps_rev(0, (2 * n) * P, P)) == ((2 * n - 2) * P, (2 * n - 1) * P)
    # munmap across 30,000 entries, trimming the entry at each end.
    tree.store(2001 * P + 7, 62_001 * P + 5, None)
    tree._check()
    assert len(tree) == n - 29_999
    assert tree.walk(2001 * P) == (2001 * P, 2001 * P + 7, 1000)
    assert tree.walk(2001 * P + 7) is None
    assert list(islice(tree.iter_from(1999 * P), 4)) == [
        (1999 * P, 2000 * P, 999),
        (2001 * P, 2001 * P + 7, 1000),
        (62_001 * P + 5, 62_002 * P, 31_000),
        (62_003 * P, 62_004 * P, 31_001),
    ]
    for k in range(1000, 31_001):
        tree.store((2 * k + 1) * P, (2 * k + 2) * P, k)
    tree._check()
    assert len(tree) == n
    assert all(entry == ((2 * k + 1) * P, (2 * k + 2) * P, k) for k, entry in enumerate(tree))


def _shape(tree: VmaTree[object]) -> list[list[int]]:
    """Node fills, level by level from the root."""
    levels: list[list[int]] = []
    nodes = [tree._root]
    while nodes:
        levels.append([len(node.lasts) for node in nodes])
        nodes = [kid for node in nodes for kid in getattr(node, "kids", [])]
    return levels


@pytest.mark.parametrize("descending", [False, True])
@PYTHON_ENGINE_ONLY
def test_runs_of_inserts_leave_full_nodes_behind(descending: bool) -> None:
    # Sequential appends (load_maps, or a run of mprotect splits) and top-down mmaps
    # spill into the neighbour before splitting, so every node but the few at the
    # frontier ends up full: 65,530 entries fit in three levels.
    n = 65_530
    tree: VmaTree[object] = VmaTree()
    order = reversed(range(n)) if descending else range(n)
    for k in order:
        tree.store((2 * k + 1) * P, (2 * k + 2) * P, k)
    tree._check()
    root, branches, leaves = _shape(tree)
    assert len(root) == 1 and len(branches) == root[0] == 16
    assert len(leaves) == sum(branches) == -(-n // tree._LEAF_MAX)  # ceil: all full
    assert sum(f < tree._LEAF_MAX for f in leaves) <= 2
    small: _Tiny = _Tiny()
    for k in range(40):
        small.store(k * P, (k + 1) * P, k)
    small._check()
    assert _shape(small)[-1].count(_Tiny._LEAF_MAX) >= 8  # 10 leaves of at most 4


def test_rank_counts_entries_ending_at_or_below(cls: type[VmaTree[object]]) -> None:
    tree = tree_of(pages(*((2 * k, 2 * k + 1, k) for k in range(50))), cls)
    assert tree.rank(0) == 0
    assert tree.rank(P) == 1  # the first entry ends at P
    assert tree.rank(P - 1) == 0
    assert tree.rank(41 * P) == 21
    assert tree.rank(TOP) == len(tree) == 50
    k = tree.rank(40 * P + 5)
    assert list(tree)[k] == tree.find(40 * P + 5)


# ---------------------------------------------------------------------- RCU readers


@pytest.fixture
def fast_thread_switches() -> Iterator[None]:
    """Make the GIL switch threads every few bytecodes' worth of time, for interleavings."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@pytest.mark.usefixtures("fast_thread_switches")
@PYTHON_ENGINE_ONLY
def test_lockless_readers_see_well_formed_versions() -> None:
    span = 4000  # pages
    tree: VmaTree[int] = _Tiny()  # type: ignore[assignment]
    for k in range(0, span, 3):
        tree.store(k * P, (k + 2) * P, k)
    done = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def writer() -> None:
        rng = random.Random(1)
        try:
            for step in range(3000):
                page = rng.randrange(span)
                npages = rng.choice([1, 1, 2, 5, 50, 400])
                value = None if step % 3 == 0 else step
                tree.store(page * P, (page + npages) * P, value)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not done.is_set():
                addr = rng.randrange(span * P)
                entry = tree.walk(addr)
                assert entry is None or entry[0] <= addr < entry[1]
                last_end = addr
                for start, end, _ in islice(tree.iter_from(addr), 300):
                    assert addr < end
                    assert last_end <= start < end or last_end == addr
                    last_end = end
                # Several queries against one version, while the writer keeps storing.
                snap = tree.snapshot()
                first = list(islice(snap.iter_from(addr), 100))
                last_gap = top = addr + 1000 * P
                for gs, ge in islice(snap.gaps_rev(0, top, P), 20):
                    assert ge - gs >= P
                    assert ge <= last_gap
                    assert snap.find_intersection(gs, ge) is None
                    last_gap = gs
                snap._check()
                assert list(islice(snap.iter_from(addr), 100)) == first
                reads[0] += 1
        except BaseException as exc:
            errors.append(exc)
            done.set()

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=50)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    assert reads[0] > 0
    tree._check()


def test_leaves_cover_every_entry_and_a_store_publishes_leaves_without_memos() -> None:
    # Leaf.memo is a reader's cache (core/maps_memo.py): a store must never carry it
    # into a leaf it built or copied, nor touch a published leaf.
    tree: VmaTree[object] = VmaTree()
    for i in range(1000):
        tree.store(2 * i * PAGE_SIZE, (2 * i + 1) * PAGE_SIZE, i)
    leaves = list(tree.leaves())
    assert len(leaves) > 10
    assert [e for leaf in leaves for e in leaf.entries] == list(tree)
    for leaf in leaves:
        assert leaf.memo is None
        leaf.memo = leaf
    for i in (0, 1, 499, 999):
        found = tree.leaf_at(2 * i * PAGE_SIZE + 5)
        assert found is not None and any(e[2] == i for e in found.entries)
    assert tree.leaf_at(PAGE_SIZE) is None  # the hole after entry 0
    assert tree.leaf_at(2000 * PAGE_SIZE) is None  # past the last entry
    assert VmaTree().leaf_at(0) is None
    old = tree.snapshot()
    tree.store(1000 * PAGE_SIZE, 1001 * PAGE_SIZE, "replaced")  # entry 500's range
    fresh = [leaf for leaf in tree.leaves() if leaf.memo is None]
    assert fresh == [tree.leaf_at(1000 * PAGE_SIZE)]
    assert all(leaf.memo is leaf for leaf in tree.leaves() if leaf.memo is not None)
    assert list(old.leaves()) == leaves  # the old version is untouched
    assert all(leaf.memo is leaf for leaf in old.leaves())
