"""A persistent range B-tree: the index of a simulated address space (the maple tree).

Size: one data structure, kept in one module so that every operation sits next to the
invariants ``VmaTree._check`` verifies (sortedcontainers keeps its list the same way).

Design note
===========

What is modelled
----------------
``mm->mm_mt`` is a maple tree in RCU mode (lib/maple_tree.c,
Documentation/core-api/maple_tree.rst): a B-tree over ``[0, ULONG_MAX]``
mapping non-overlapping ranges to VMA pointers, with per-subtree gap tracking so that
``vm_unmapped_area`` can find the highest free hole in O(log n) (``mas_empty_area_rev``),
and with lock-free readers: ``lock_vma_under_rcu`` and ``/proc/<pid>/maps`` walk the tree
under ``rcu_read_lock()`` only, while a writer holding ``mmap_lock`` for write modifies it.

:class:`VmaTree` keeps the properties a simulation can observe and drops the rest:

* Each entry is a plain tuple ``(start, end, value)`` for the half-open range ``[start, end)``.
  The tree stores its **own** copy of the range; it never reads the value's fields. A VMA
  shrunk in place by ``__split_vma`` therefore stays mapped under its old, larger range until
  the next store, exactly the window ``__split_vma`` (mm/vma.c) leaves (and that
  ``lock_vma_under_rcu`` has to re-check).
* Gaps are not stored (the maple tree stores them as NULL ranges); ``store(start, end, None)``
  is the clearing store (``mas_store_gfp(NULL)``, ``vma_iter_clear_gfp``).
* Nodes carry an augmentation (first start, last end, largest free gap strictly inside the
  subtree, entry count) so :meth:`VmaTree.gaps_rev` / :meth:`VmaTree.gaps` prune subtrees
  whose holes are all too small, as the ``maple_arange_64`` nodes do.

Why path copying
----------------
The kernel gets lock-free reads by building modified nodes off to the side and publishing
them with one pointer store, then freeing the replaced nodes after an RCU grace period. In
Python the garbage collector is the grace period: a reader that holds a reference to an old
root keeps that whole version alive. So every store here copies the nodes on the path from
the root to the modified leaf (plus, when nodes split or merge, one sibling per level),
leaves every node reachable from the old root untouched, and publishes the result with the
single assignment ``self._root = new_root``. Under the GIL a reference load or store of an
attribute is atomic, so a reader that loads ``self._root`` once sees one complete, immutable
version for as long as it likes, at no locking cost, and a writer never waits for readers.

Writers use the "transient" trick: every store makes a fresh edit token; nodes created by
that store carry it and may be mutated in place until the store publishes (a split that
first grows a leaf and then splits it copies it only once). Nodes of published versions
carry older tokens and are never mutated again. A store costs O(B log n) time and
allocation, never an O(n) copy; ``snapshot()`` is O(1).

What a lock-free reader can and cannot observe
----------------------------------------------
* Each :meth:`VmaTree.store` is atomic: a reader sees the tree wholly before or wholly after
  it, never a torn or half-split node (maple tree: "one ``mas_walk()`` returns the old or the
  new value, never a torn pointer").
* A VMA operation made of several stores (split = shrink the VMA in place, then store the
  new piece; munmap = store the pieces, then clear) is visible **step by step**, exactly as
  Documentation/core-api/maple_tree.rst says of RCU readers. Readers must lock the VMA and
  re-check its own ``vm_start <= addr < vm_end``; the tree cannot do it for them.
* A query that loads the root several times (for example ``find`` followed by ``prev``) may
  see two versions. Use :meth:`VmaTree.snapshot` to run several queries against one version.
  Iterators load the root once, when they are created, so an iteration is one consistent
  version (stricter than ``mas_find`` under RCU, which may skip or revisit ranges; a caller
  that wants the kernel's behaviour restarts with ``iter_from(last_end)`` per step, the way
  ``lock_next_vma`` does).

Node sizes were measured on CPython 3.11 (see ``_LEAF_MAX``); nodes hold their keys in
parallel sequences so lookups are one search per level: a leaf's last addresses in an
``array('Q')`` searched by ``bisect`` (see :data:`_KEY_TYPE`), a branch's in a ``list``
searched, compiled, by a native loop (:func:`_lower_bound`).

Compiled (hatch_build.py), the nodes are native classes, whose ``__new__`` runs
``__init__``: copies are built through the constructor there (``_COMPILED``) with
``derive=False`` (the copy's fields are copied, not recomputed from the children), and
through ``__new__`` plus field stores in the pure-Python engine, where that is cheaper.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator
from itertools import islice
from typing import Final, Generic, TypeVar, cast

from ._engine import ENGINE
from .constants import U64
from .errors import InvalidArgument
from .sched import RESCHED_MASK, cond_resched

__all__ = ["Entry", "Leaf", "VmaTree"]

_COMPILED: Final = ENGINE == "compiled"

V = TypeVar("V")

#: One mapping of the tree: ``(start, end, value)`` for the half-open range ``[start, end)``.
Entry = tuple[int, int, V]

#: Exclusive upper bound of an index: the maple tree covers ``[0, ULONG_MAX]``.
_INDEX_END = U64  # the maple tree indexes [0, ULONG_MAX]

#: A leaf's keys, its entries' last addresses (``end - 1``), are kept in an
#: ``array('Q')`` of 8-byte values, not a ``list`` of ``int`` objects: a list bisect
#: touches the list and then up to six separate heap objects, each a likely cache miss
#: among the n / 64 leaves of a tree of 65,530 or 2,200,000 entries, while the array's
#: keys are contiguous (a 64-key node is eight cache lines), and a store's copy of the
#: leaf is a ``memcpy`` that touches no ``int`` object. Each probe boxes a new ``int``,
#: which costs a little when the node is hot (docs/performance.md, "Millions of VMAs").
#: Last addresses, not ends: ``[start, 2**64)`` is a valid store and ``2**64`` does not
#: fit in 64 bits, while every last address does. A branch's keys are a ``list``: there
#: are 64 times fewer branches than leaves, so they stay in cache, and a list is what
#: the compiled search (:func:`_lower_bound`) reads without boxing (docs/performance.md,
#: "Tree stores, second pass").
_KEY_TYPE = "Q"


def _keys(values: list[int]) -> array[int]:
    """An array of last addresses (each in ``[0, 2**64)``)."""
    return array(_KEY_TYPE, values)


def _holes(starts: list[int], lasts: list[int] | array[int]) -> list[int]:
    """``[0, starts[1] - ends[0], starts[2] - ends[1], ...]``: the free space below each
    item (``[]`` for no items). O(n)."""
    if not starts:
        return []
    return [0, *[s - last - 1 for s, last in zip(starts[1:], lasts[:-1], strict=True)]]


class _Leaf(Generic[V]):
    """Up to ``_LEAF_MAX`` entries sorted by start, with parallel sequences for C-level work.

    ``lasts`` mirrors the entries for ``bisect``: ``lasts[k]`` is entry ``k``'s last
    address (``end - 1``, so that ``[start, 2**64)`` fits an ``array('Q')``; see
    :data:`_KEY_TYPE`). ``holes[k]`` is the free space between entry ``k - 1`` and entry ``k``
    (``holes[0] == 0``): a store recomputes only the holes next to the entries it touched,
    and ``gap`` (the largest hole strictly inside the leaf) from them, with one ``max()``
    over the leaf only when a changed hole held it (``_rescan``; branches do the same with
    ``gaps``).

    A leaf keeps no list of its entries' starts (nor a branch of its children's; each
    node caches its own first start in ``first``, see :class:`_Branch`): a store copies
    the leaf it changes, and a list of 64 ``int`` objects is 64 reference counts to
    write, most of them out of cache in a large tree, where the ``lasts`` array copies as
    one ``memcpy``. The few starts a store or a reverse search needs are read from the
    entry tuples (:func:`_leaf_below`), which the store's copy of ``entries`` touches
    anyway (docs/performance.md, "Tree stores, third pass").
    """

    __slots__ = ("count", "edit", "entries", "first", "gap", "holes", "lasts", "memo")
    #: Levels below this node (readers descend ``while node.height`` without a type
    #: check). A class attribute: every leaf is at height 0.
    height = 0
    lasts: array[int]
    entries: list[Entry[V]]
    holes: list[int]
    count: int
    gap: int
    first: int  # the first entry's start (0 when empty): see _Branch
    edit: object
    #: A reader's cache of something computed from this leaf's entries alone (the maps
    #: lines of :mod:`core.procfs`), or None. The tree never reads it, and sets it to
    #: None in every leaf it builds or copies: a published leaf's entries never change,
    #: so a memo goes stale only if the entries' values change in place, which the
    #: memo's owner tracks (:meth:`VmaTree.leaves`).
    memo: object

    def __init__(self, entries: list[Entry[V]], edit: object, *, derive: bool = True) -> None:
        # derive=False: copy() (compiled) fills the other fields itself.
        self.entries = entries
        self.edit = edit
        self.memo = None
        if not derive:
            return
        self.lasts = _keys([e[1] - 1 for e in entries])
        self.refresh()

    def refresh(self) -> None:
        """Recompute ``holes``, ``gap``, ``count`` and ``first`` from scratch. O(B)."""
        entries = self.entries
        self.holes = _holes([e[0] for e in entries], self.lasts)
        self.gap = max(self.holes, default=0)
        self.count = len(entries)
        self.first = entries[0][0] if entries else 0

    def copy(self, edit: object) -> _Leaf[V]:
        entries = self.entries[:]
        new: _Leaf[V]
        if _COMPILED:
            new = _Leaf(entries, edit, derive=False)
        else:
            new = _Leaf.__new__(_Leaf)
            new.entries = entries
            new.memo = None
        new.lasts = self.lasts[:]
        new.holes = self.holes[:]
        new.count = self.count
        new.gap = self.gap
        new.first = self.first
        new.edit = edit
        return new

    def split(self, edit: object) -> _Leaf[V]:
        """Move the upper half into a new leaf (returned); we must be transient."""
        h = len(self.entries) // 2
        right = _Leaf(self.entries[h:], edit)
        del self.entries[h:], self.lasts[h:]
        self.refresh()
        return right

    def absorb(self, other: _Leaf[V] | _Branch[V]) -> None:
        """Append the right sibling's entries to ours; we must be transient."""
        assert isinstance(other, _Leaf)
        self.entries += other.entries
        self.lasts += other.lasts
        self.refresh()

    def shift(self, other: _Leaf[V] | _Branch[V], k: int, to_left: bool) -> None:
        """Move ``k`` entries to the adjacent sibling ``other``: our first ``k`` to the
        end of ``other`` (``to_left``) or our last ``k`` to its front. Both must be
        transient. O(B)."""
        assert isinstance(other, _Leaf)
        if to_left:
            other.entries += self.entries[:k]
            other.lasts += self.lasts[:k]
            del self.entries[:k], self.lasts[:k]
        else:
            other.entries[:0] = self.entries[-k:]
            other.lasts[:0] = self.lasts[-k:]
            del self.entries[-k:], self.lasts[-k:]
        self.refresh()
        other.refresh()


class _Branch(Generic[V]):
    """Up to ``_BRANCH_MAX`` children, with their last addresses for bisect.

    ``gaps[k]`` is the largest hole either inside child ``k`` or between child ``k - 1`` and
    child ``k``; ``gap = max(gaps)`` is the largest hole strictly inside this subtree.

    A branch keeps no list of its children's first starts: every node, leaf or branch,
    caches its own subtree's first start in ``first``, which a parent reads from the
    child it visits anyway (for the child's ``gap``). A store copies every branch on its
    path, and a list of 64 ``int`` objects is 64 reference counts to write, most of them
    out of cache in a large tree (docs/performance.md, "Tree stores, fourth pass"). The
    readers that searched the starts (``prev``, the reverse iteration, the gap searches)
    search ``lasts`` and read one child's ``first`` (:func:`_branch_below`).
    """

    __slots__ = ("count", "edit", "first", "gap", "gaps", "height", "kids", "lasts")
    kids: list[_Leaf[V] | _Branch[V]]
    height: int  # levels below this node: 1 for a branch over leaves
    first: int  # kids[0].first: the subtree's first start
    lasts: list[int]  # not an array('Q'): see :func:`_lower_bound`
    gaps: list[int]
    count: int
    gap: int
    edit: object

    def __init__(
        self, kids: list[_Leaf[V] | _Branch[V]], edit: object, *, derive: bool = True
    ) -> None:
        # derive=False: copy() (compiled) fills the other fields itself.
        self.kids = kids
        self.edit = edit
        if derive:
            self.height = kids[0].height + 1
            self.refresh()

    def refresh(self) -> None:
        """Recompute every cached field from the children."""
        kids = self.kids
        starts = [k.first for k in kids]
        self.first = starts[0]
        self.lasts = lasts = [k.lasts[-1] for k in kids]
        holes = islice(_holes(starts, lasts), 1, None)
        self.gaps = [kids[0].gap, *map(max, holes, [k.gap for k in islice(kids, 1, None)])]
        self.gap = max(self.gaps)
        self.count = sum([k.count for k in kids])

    def copy(self, edit: object) -> _Branch[V]:
        kids = self.kids[:]
        new: _Branch[V]
        if _COMPILED:
            new = _Branch(kids, edit, derive=False)
        else:
            new = _Branch.__new__(_Branch)
            new.kids = kids
        new.first = self.first
        new.lasts = self.lasts[:]
        new.gaps = self.gaps[:]
        new.count = self.count
        new.gap = self.gap
        new.height = self.height
        new.edit = edit
        return new

    def split(self, edit: object) -> _Branch[V]:
        """Move the upper half of the children into a new branch; we must be transient."""
        h = len(self.kids) // 2
        right = _Branch(self.kids[h:], edit)
        del self.kids[h:]
        self.refresh()
        return right

    def absorb(self, other: _Leaf[V] | _Branch[V]) -> None:
        """Append the right sibling's children to ours; we must be transient."""
        assert isinstance(other, _Branch)
        self.kids += other.kids
        self.refresh()

    def shift(self, other: _Leaf[V] | _Branch[V], k: int, to_left: bool) -> None:
        """Move ``k`` children to the adjacent sibling ``other`` (see
        :meth:`_Leaf.shift`). Both must be transient. O(B)."""
        assert isinstance(other, _Branch)
        if to_left:
            other.kids += self.kids[:k]
            del self.kids[:k]
        else:
            other.kids[:0] = self.kids[-k:]
            del self.kids[-k:]
        self.refresh()
        other.refresh()


_Node = _Leaf[V] | _Branch[V]

#: The public name of a leaf, for callers of :meth:`VmaTree.leaves` (its ``entries``
#: and ``memo``; everything else is the tree's).
Leaf = _Leaf

# ``_LEVELS[h]`` has h items: a descent loop over a tree of height h without a range().
_LEVELS: Final = tuple(tuple(range(h)) for h in range(64))


def _branch_below(branch: _Branch[V], addr: int) -> int:
    """How many of ``branch``'s children start below ``addr``: ``bisect_left`` over their
    first starts, which a branch does not keep (see :func:`_leaf_below`). O(log B).
    """
    kids = branch.kids
    k = _lower_bound(branch.lasts, addr)
    if k < len(kids) and kids[k].first < addr:
        k += 1
    return k


def _leaf_below(leaf: _Leaf[V], addr: int) -> int:
    """How many of ``leaf``'s entries start below ``addr``: ``bisect_left`` over their
    starts, which a leaf does not keep. O(log B).

    The entries are sorted and disjoint: those before the first entry that ends above
    ``addr`` start below it, and that entry does too when it contains ``addr``.
    """
    entries = leaf.entries
    k = bisect_left(leaf.lasts, addr)
    if k < len(entries) and entries[k][0] < addr:
        k += 1
    return k


def _lower_bound(keys: list[int], x: int) -> int:
    """``bisect_left(keys, x)`` over a branch's keys: the first ``k`` with ``keys[k] >= x``.

    Compiled, this loop is native code: each probe loads a list item and compares two
    tagged integers (tens of instructions), where ``bisect_left`` called from compiled
    code goes through a vectorcall and a generic ``PyObject_RichCompare`` per probe, and
    over an ``array('Q')`` also allocates an ``int`` per probe (1,300-1,800 instructions
    per call, docs/performance.md, "Tree stores at 65,530 VMAs"). A lookup's probes grow
    with log2(n) whatever the node sizes (about 7 at 100 entries, 16 at 65,530), and the
    extra ones are all in branches, so this is where the growth is cheapest to cut.
    The pure-Python engine uses ``bisect_left``, which is C there. O(log len(keys)).
    """
    if not _COMPILED:
        return bisect_left(keys, x)
    lo = 0
    hi = len(keys)
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_range(what: str, start: object, end: object) -> None:
    if not (isinstance(start, int) and isinstance(end, int) and _is_int(start) and _is_int(end)):
        raise InvalidArgument(f"{what}: range bounds must be ints, got {start!r} and {end!r}")
    if start < 0:
        raise InvalidArgument(f"{what}: range start {start:#x} is negative")
    if start >= end:
        raise InvalidArgument(f"{what}: range start {start:#x} is not below end {end:#x}")
    if end > _INDEX_END:
        raise InvalidArgument(f"{what}: range end {end:#x} is above the 64-bit index space")


def _check_window(what: str, low: object, high: object, size: object) -> None:
    if not (
        isinstance(low, int)
        and isinstance(high, int)
        and isinstance(size, int)
        and _is_int(low)
        and _is_int(high)
        and _is_int(size)
    ):
        raise InvalidArgument(
            f"{what}: low, high and size must be ints, got {low!r}, {high!r} and {size!r}"
        )
    if low < 0 or low > high:
        raise InvalidArgument(f"{what}: window [{low:#x}, {high:#x}) is not a valid range")
    if size < 1:
        raise InvalidArgument(f"{what}: size {size} is not positive")


class VmaTree(Generic[V]):
    """Non-overlapping half-open ranges ``[start, end)`` mapped to values, persistently.

    Readers are safe without any lock while one writer runs (see the module docstring);
    writers must be serialised by the caller (``mmap_lock`` held for write).

    >>> t: VmaTree[str] = VmaTree()
    >>> t.store(0x1000, 0x4000, "a")
    >>> t.store(0x2000, 0x3000, None)  # punch a hole: "a" now has two pieces
    >>> [(hex(s), hex(e), v) for s, e, v in t]
    [('0x1000', '0x2000', 'a'), ('0x3000', '0x4000', 'a')]
    >>> t.walk(0x2800) is None, t.find(0x2800)
    (True, (12288, 16384, 'a'))
    >>> [(hex(s), hex(e)) for s, e in t.gaps_rev(0x1000, 0x5000, 0x1000)]
    [('0x4000', '0x5000'), ('0x2000', '0x3000')]
    """

    # Node capacities, measured on CPython 3.11 (65,530 entries): 64-entry leaves and 64-way
    # branches give three levels (full nodes: 1,024 leaves under 16 branches under the
    # root, with room to spare; 32-way branches would be exactly full at 65,536 entries).
    # Smaller leaves make lookups deeper, larger ones make the per-store copy and gap scan
    # dearer. Re-measured with the compiled branch search (:func:`_lower_bound`): neither
    # 32-entry leaves nor 16-entry leaves under 128-way branches did better
    # (docs/performance.md, "Tree stores, second pass"). Tests shrink them in a subclass
    # to build deep trees.
    _LEAF_MAX = 64
    _BRANCH_MAX = 64

    __slots__ = ("_root",)

    def __init__(self) -> None:
        self._root: _Node[V] = _Leaf([], None)

    # ------------------------------------------------------------------ readers

    def __len__(self) -> int:
        """Number of entries. O(1). Safe without locks (RCU readers)."""
        return self._root.count

    def __iter__(self) -> Iterator[Entry[V]]:
        """All entries in ascending order, over one version. Same as ``iter_from(0)``."""
        return _iter_from(self._root, -1)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} with {len(self)} entries>"

    def leaves(self) -> Iterator[Leaf[V]]:
        """The leaves of one version (loaded by this call), in order: each a run of up to
        ``_LEAF_MAX`` consecutive entries in ``entries`` (a list the caller must not
        change) with a ``memo`` slot the caller may fill (:class:`_Leaf`). A store never
        changes a published leaf; it publishes copies, whose memo is None.

        O(1) per leaf, O(n / B) in all. Safe without locks (RCU readers)."""
        return _leaves(self._root)

    def leaf_at(self, addr: int) -> Leaf[V] | None:
        """The leaf holding the entry whose stored range contains ``addr`` (as
        :meth:`walk`), or None. O(log n). Safe without locks (RCU readers)."""
        node = self._root
        if not node.lasts or addr > node.lasts[-1]:
            return None
        while isinstance(node, _Branch):
            node = node.kids[_lower_bound(node.lasts, addr)]
        entry = node.entries[bisect_left(node.lasts, addr)]
        return node if entry[0] <= addr else None

    @property
    def version(self) -> object:
        """An opaque token of the current version; compare tokens with ``is``.

        Every store that changes the tree publishes a new version (a store that changes
        nothing, such as clearing an empty range, keeps the old one). Equal contents do not
        imply the same token. O(1). Safe without locks (RCU readers).
        """
        return self._root

    def snapshot(self) -> VmaTree[V]:
        """An independent tree holding the current version. O(1).

        Use it to run several queries against one version, or as a fork-time copy
        (``__mt_dup``): stores into either tree never affect the other. Safe without locks
        (RCU readers).
        """
        new = type(self)() if _COMPILED else type(self).__new__(type(self))
        new._root = self._root
        return new

    def walk(self, addr: int) -> Entry[V] | None:
        """The entry whose stored range contains ``addr``, or None (``mas_walk``).

        O(log n). Safe without locks (RCU readers).
        """
        node = self._root
        lasts = node.lasts
        # Past the last address (or an empty tree): nothing. Otherwise every level has a
        # child whose last address is at or above addr (a branch caches its children's
        # last addresses), so the descent needs no bounds checks.
        if not lasts or addr > lasts[-1]:
            return None
        # Exactly ``height`` branch levels. ``bisect_left(lasts, addr)`` is the first key
        # with ``end - 1 >= addr``, that is ``end > addr``. Compiled: native casts (a type
        # check each) and the native branch search (:func:`_lower_bound`). Interpreted:
        # each attribute load below sees one node type only, which CPython's specialising
        # interpreter turns into a direct slot load, and ``bisect_left`` is C.
        if _COMPILED:
            for _ in _LEVELS[node.height]:
                branch = cast(_Branch[V], node)
                node = branch.kids[_lower_bound(branch.lasts, addr)]
            leaf = cast(_Leaf[V], node)
            entry = leaf.entries[bisect_left(leaf.lasts, addr)]
        else:
            for _ in _LEVELS[node.height]:
                node = node.kids[bisect_left(node.lasts, addr)]  # type: ignore[union-attr]
            entry = node.entries[bisect_left(node.lasts, addr)]  # type: ignore[union-attr]
        return entry if entry[0] <= addr else None

    def find(self, addr: int) -> Entry[V] | None:
        """The first entry with ``end > addr`` (``find_vma``); it may start above ``addr``.

        O(log n). Safe without locks (RCU readers).
        """
        return _find(self._root, addr)

    def find_intersection(self, start: int, end: int) -> Entry[V] | None:
        """The first entry overlapping ``[start, end)`` (``find_vma_intersection``).

        O(log n). Safe without locks (RCU readers).
        """
        entry = _find(self._root, start)
        return entry if entry is not None and entry[0] < end else None

    def prev(self, addr: int) -> Entry[V] | None:
        """The last entry with ``start < addr``, or None.

        If ``addr`` lies inside an entry, that entry is returned. The kernel's
        ``find_vma_prev(addr)`` is ``nxt = find(addr)`` followed by
        ``prev(nxt[0] if nxt else addr)`` against one :meth:`snapshot`.
        O(log n). Safe without locks (RCU readers).
        """
        node = self._root
        while isinstance(node, _Branch):
            c = _branch_below(node, addr) - 1
            if c < 0:
                return None
            node = node.kids[c]
        i = _leaf_below(node, addr) - 1
        return node.entries[i] if i >= 0 else None

    def rank(self, addr: int) -> int:
        """The number of entries with ``end <= addr``: the index, in iteration order, of
        ``find(addr)`` (``len(self)`` if there is none).

        O(B log n) (child counts are summed along the path). Safe without locks (RCU
        readers); use a :meth:`snapshot` to combine it with other queries.
        """
        node = self._root
        r = 0
        while isinstance(node, _Branch):
            c = _lower_bound(node.lasts, addr)
            kids = node.kids
            if c == len(kids):
                return r + node.count
            if c:
                r += sum([k.count for k in kids[:c]])
            node = kids[c]
        return r + bisect_left(node.lasts, addr)

    def iter_from(self, addr: int) -> Iterator[Entry[V]]:
        """Entries with ``end > addr`` in ascending order (``for_each_vma`` from ``addr``).

        The root is loaded once, by this call: the whole iteration sees that version even if
        stores happen meanwhile. O(log n) to start, O(1) amortised per entry (leaves are
        walked directly). Safe without locks (RCU readers).
        """
        return _iter_from(self._root, addr)

    def iter_rev_from(self, addr: int) -> Iterator[Entry[V]]:
        """Entries with ``start < addr`` in descending order (``mas_find_rev``).

        One version, loaded by this call. O(log n) to start, O(1) amortised per entry.
        Safe without locks (RCU readers).
        """
        return _iter_rev_from(self._root, addr)

    def gaps_rev(self, low: int, high: int, size: int) -> Iterator[tuple[int, int]]:
        """Free ranges clipped to ``[low, high)`` of length >= ``size``, highest first.

        A free range is a maximal run of addresses in no entry: between two entries, below
        the first (from 0) or above the last (unbounded). Each is clipped to ``[low, high)``
        before its length is compared with ``size``. This is ``mas_empty_area_rev``: the first
        result is the highest hole that fits, found in O(log n) by skipping subtrees whose
        largest hole is smaller than ``size``; each further result costs O(log n) more.
        One version, loaded by this call. Safe without locks (RCU readers).
        Raises InvalidArgument unless ``0 <= low <= high`` and ``size >= 1``.
        """
        _check_window("gaps_rev", low, high, size)
        return _gaps_rev(self._root, low, high, size)

    def gaps(self, low: int, high: int, size: int) -> Iterator[tuple[int, int]]:
        """Like :meth:`gaps_rev`, lowest first (``mas_empty_area``). O(log n) per result.

        One version, loaded by this call. Safe without locks (RCU readers).
        """
        _check_window("gaps", low, high, size)
        return _gaps_fwd(self._root, low, high, size)

    def runs(self, per: int) -> list[tuple[Entry[V], int, int, int]]:
        """The entries in runs of ``per`` consecutive ones (the last run may be shorter):
        for each, ``(first entry, last end, entries, bytes covered)``, the bytes being
        the sum of the stored ranges' lengths (holes between them excluded).

        One version, loaded by this call. O(n) additions, done a leaf at a time by a C
        ``sum`` of the leaf's cached ``holes`` (a run's bytes are its span minus its
        holes; about n / 64 steps of compiled code, plus one per run), with a
        :func:`~core.sched.cond_resched` every :data:`~core.sched.RESCHED_MASK` + 1
        entries or so. Safe without locks (RCU readers); what the ranges mean is the
        caller's (a consistent reader sees its VMAs' own ranges).
        Raises InvalidArgument unless ``per`` is a positive int.
        """
        if not _is_int(per) or per < 1:
            raise InvalidArgument(f"runs: per {per!r} is not a positive int")
        return _runs(self._root, per)

    # ------------------------------------------------------------------ writer

    def store(self, start: int, end: int, value: V | None) -> None:
        """Map ``[start, end)`` to ``value``; ``None`` clears the range (``mas_store``).

        Entries partly overlapped are trimmed (the remainder keeps its value; only the
        tree's stored range is cut), entries wholly covered are removed. Insert, split,
        expansion and munmap's clearing store are all this one call. The new version is
        published atomically with one reference store. O(B log n) when the range overlaps
        entries of one leaf; a store spanning k entries costs O((k/B + 1) B log n).
        Caller must hold mmap_lock for write.
        Raises InvalidArgument unless both bounds are ints with ``0 <= start < end <= 2**64``.
        """
        if type(start) is not int or type(end) is not int or not 0 <= start < end <= _INDEX_END:
            _check_range("store", start, end)
            start, end = int(start), int(end)  # an int subclass such as IntEnum
        leaf_max = self._LEAF_MAX
        branch_max = self._BRANCH_MAX
        tok = object()
        root = self._root
        changed = False
        while True:
            # Descend to the leaf holding the first entry with end > start (or the last
            # leaf).
            path: list[tuple[_Branch[V], int]] = []
            node = root
            while isinstance(node, _Branch):
                c = _lower_bound(node.lasts, start)
                last = len(node.kids) - 1
                if c > last:
                    c = last
                path.append((node, c))
                node = node.kids[c]
            leaf = node
            i = bisect_left(leaf.lasts, start)
            # The overlapped run [i, j): entries from i that start below ``end``. A
            # linear scan (no starts to bisect; see _Leaf), over tuples the store reads
            # or drops anyway, and O(B) like the replacement itself.
            entries = leaf.entries
            n = len(entries)
            j = i
            while j < n and entries[j][0] < end:
                j += 1
            if j == n and 0 <= _next_start(path) < end:
                # The overlapped run continues into later leaves: drop this leaf's part
                # (keeping the untouched head of its first entry), rebalance, and retry.
                # Each round removes at least one overlapped entry.
                s0, _, v0 = entries[i]
                repl: list[Entry[V]] = [(s0, start, v0)] if s0 < start else []
                root = _replace(leaf, i, j, repl, path, tok, leaf_max, branch_max)
                changed = True
                continue
            if i == j:
                if value is None:
                    break  # clearing a hole: nothing to do
                repl = [(start, end, value)]
            else:
                repl = []
                s0, _, v0 = entries[i]
                if s0 < start:
                    repl.append((s0, start, v0))
                if value is not None:
                    repl.append((start, end, value))
                _, e1, v1 = entries[j - 1]
                if e1 > end:
                    repl.append((end, e1, v1))
            root = _replace(leaf, i, j, repl, path, tok, leaf_max, branch_max)
            changed = True
            break
        if changed:
            self._root = root

    # ------------------------------------------------------------------ checking

    def _check(self) -> None:
        """Assert every structural invariant in O(n); AssertionError dumps the bad node."""
        root = self._root
        leaf_depths: set[int] = set()
        real = _check_node(root, 0, True, leaf_depths, self._LEAF_MAX, self._BRANCH_MAX)
        if len(leaf_depths) > 1:
            raise AssertionError(f"leaves at different depths {sorted(leaf_depths)}")
        if real != root.count or real != len(self):
            raise AssertionError(f"cached count {root.count} != real count {real}")


# ---------------------------------------------------------------------- write helpers


def _replace(
    leaf: _Leaf[V],
    i: int,
    j: int,
    repl: list[Entry[V]],
    path: list[tuple[_Branch[V], int]],
    tok: object,
    leaf_max: int,
    branch_max: int,
) -> _Node[V]:
    """Replace ``leaf.entries[i:j]`` by ``repl`` and rebalance up ``path``; return the root.

    Nodes not created under ``tok`` are copied first; the published tree is never touched.
    """
    if leaf.edit is not tok:
        leaf = leaf.copy(tok)
    m = len(repl)
    holes = leaf.holes
    # Slots i..j change (slot j, the entry after the run, gets a new hole below it). If
    # none of them held the largest hole, it is still there and the new slots can only
    # raise it: no rescan of the whole leaf (``_rescan``).
    rescan = _rescan(holes, i, j + 1, leaf.gap)
    entries = leaf.entries
    entries[i:j] = repl
    lasts = leaf.lasts
    lasts[i:j] = array(_KEY_TYPE, [e[1] - 1 for e in repl])
    holes[i:j] = [0] * m
    n = len(entries)
    top = 0
    for k in range(i or 1, min(i + m + 1, n)):
        h = entries[k][0] - lasts[k - 1] - 1
        holes[k] = h
        if h > top:
            top = h
    if n:
        holes[0] = 0
        if not i:
            leaf.first = entries[0][0]
    else:
        leaf.first = 0
    if rescan:
        leaf.gap = max(holes, default=0)
    elif top > leaf.gap:
        leaf.gap = top
    delta = n - leaf.count
    leaf.count = n
    child: _Node[V] = leaf
    for parent, c in reversed(path):
        p = parent if parent.edit is tok else parent.copy(tok)
        kids = p.kids
        kids[c] = child
        size = len(child.lasts)
        cap = leaf_max if isinstance(child, _Leaf) else branch_max
        if cap // 2 <= size <= cap:
            lo, old_hi, new_hi = c, c + 1, c + 1
        elif size > cap:
            # Only transient nodes get here (the child was just modified). Before
            # splitting, spill into a sibling with room (B*-tree redistribution): runs
            # of ascending or descending inserts then leave full nodes behind them
            # instead of half-full ones, which saves a level at 65,530 VMAs.
            lo, old_hi, new_hi = c, c + 1, c + 1
            for sib in (c - 1, c + 1):
                if 0 <= sib < len(kids) and len(kids[sib].lasts) < cap:
                    other = kids[sib]
                    if other.edit is not tok:
                        other = other.copy(tok)
                    # Fill the sibling, but leave the child at least half full.
                    k = min(cap - len(other.lasts), size - cap // 2)
                    child.shift(other, k, sib < c)
                    kids[sib] = other
                    if sib < c:
                        lo = sib
                    else:
                        old_hi = new_hi = sib + 1
                    break
            if len(child.lasts) > cap:
                kids.insert(c + 1, child.split(tok))
                new_hi += 1
        else:
            lo = c - 1 if c > 0 else c
            left = kids[lo]
            if left.edit is not tok:
                left = left.copy(tok)
            left.absorb(kids[lo + 1])
            if len(left.lasts) > cap:
                kids[lo : lo + 2] = [left, left.split(tok)]
                new_hi = lo + 2
            else:
                kids[lo : lo + 2] = [left]
                new_hi = lo + 1
            old_hi = lo + 2
        plasts = p.lasts
        gaps = p.gaps
        rescan = _rescan(gaps, lo, old_hi + 1, p.gap)
        # Child ``k``'s slot covers the hole below it, so the slot after the changed run
        # changes too, unless the run's last address stayed (one child changed inside):
        # then that slot, and the sibling it would read, are left alone.
        hi = new_hi + 1
        if new_hi == lo + 1 == old_hi:
            new_last = child.lasts[-1]
            if plasts[lo] == new_last:
                hi = new_hi
            else:
                plasts[lo] = new_last
        else:
            plasts[lo:old_hi] = [k.lasts[-1] for k in kids[lo:new_hi]]
            gaps[lo:old_hi] = [0] * (new_hi - lo)
        if not lo:
            p.first = kids[0].first
        top = 0
        for k in range(lo, min(hi, len(kids))):
            g = kids[k].gap
            if k:
                h = kids[k].first - plasts[k - 1] - 1
                if h > g:
                    g = h
            gaps[k] = g
            if g > top:
                top = g
        if rescan:
            p.gap = max(gaps)
        elif top > p.gap:
            p.gap = top
        p.count += delta
        child = p
    root = child
    if len(root.lasts) > (leaf_max if isinstance(root, _Leaf) else branch_max):
        root = _Branch([root, root.split(tok)], tok)
    while isinstance(root, _Branch) and len(root.kids) == 1:
        root = root.kids[0]
    return root


def _next_start(path: list[tuple[_Branch[V], int]]) -> int:
    """The first start of the leaf after the one ``path`` leads to, or -1 for the last
    leaf: the next child at the deepest level that has one. O(height)."""
    for node, c in reversed(path):
        kids = node.kids
        if c + 1 < len(kids):
            return kids[c + 1].first
    return -1


def _rescan(slots: list[int], lo: int, hi: int, gap: int) -> bool:
    """Whether replacing ``slots[lo:hi]`` may lower ``gap``, the largest slot: when one
    of them holds it (a node whose slots are all 0 never needs a rescan). O(hi - lo).

    Otherwise the node's new largest slot is the larger of ``gap`` and the new slots, and
    the O(B) ``max()`` over the node is skipped: most stores change one or two slots.
    """
    return bool(gap) and any(slots[k] >= gap for k in range(lo, min(hi, len(slots))))


# ---------------------------------------------------------------------- read helpers


def _find(node: _Node[V], addr: int) -> Entry[V] | None:
    # As VmaTree.walk: one bounds check at the root, none below.
    lasts = node.lasts
    if not lasts or addr > lasts[-1]:
        return None
    if _COMPILED:
        for _ in _LEVELS[node.height]:
            branch = cast(_Branch[V], node)
            node = branch.kids[_lower_bound(branch.lasts, addr)]
        leaf = cast(_Leaf[V], node)
        return leaf.entries[bisect_left(leaf.lasts, addr)]
    for _ in _LEVELS[node.height]:
        node = node.kids[bisect_left(node.lasts, addr)]  # type: ignore[union-attr]
    return node.entries[bisect_left(node.lasts, addr)]  # type: ignore[union-attr]


def _iter_from(node: _Node[V], addr: int) -> Iterator[Entry[V]]:
    # A stack of (children, index of the next child to visit) replaces sibling links, which
    # a path-copied tree cannot have.
    stack: list[tuple[list[_Node[V]], int]] = []
    while isinstance(node, _Branch):
        c = _lower_bound(node.lasts, addr)
        kids = node.kids
        if c == len(kids):
            return
        stack.append((kids, c + 1))
        node = kids[c]
    entries = node.entries
    i = bisect_left(node.lasts, addr)
    yield from entries[i:] if i else entries
    while stack:
        kids, c = stack.pop()
        if c == len(kids):
            continue
        stack.append((kids, c + 1))
        node = kids[c]
        while isinstance(node, _Branch):
            stack.append((node.kids, 1))
            node = node.kids[0]
        yield from node.entries


def _leaves(node: _Node[V]) -> Iterator[_Leaf[V]]:
    """The leaves under ``node`` in order (a stack of children, as :func:`_iter_from`)."""
    stack: list[tuple[list[_Node[V]], int]] = []
    while True:
        while isinstance(node, _Branch):
            stack.append((node.kids, 1))
            node = node.kids[0]
        yield node
        while stack:
            kids, c = stack.pop()
            if c < len(kids):
                stack.append((kids, c + 1))
                node = kids[c]
                break
        else:
            return


def _runs(root: _Node[V], per: int) -> list[tuple[Entry[V], int, int, int]]:
    # A run's bytes are its span minus the holes inside it: ``holes`` (the space below
    # each entry of a leaf; mostly small ints, which sum() adds in a C long without
    # allocating) plus the space between two leaves the run crosses. Summing the ends
    # and starts instead would box an 8-byte key of ``lasts`` per entry (measured: 1.7x).
    out: list[tuple[Entry[V], int, int, int]] = []
    first: Entry[V] | None = None
    count = 0  # entries in the open run
    holes = 0  # bytes of holes inside it so far
    prev_end = 0  # end of the entry before the current leaf (the run's last so far)
    since = 0  # entries since the last cond_resched()
    for leaf in _leaves(root):
        lasts = leaf.lasts
        m = len(lasts)
        if count and m:
            holes += leaf.entries[0][0] - prev_end  # between the previous leaf and this one
        i = 0
        while i < m:
            if not count:
                first = leaf.entries[i]
            k = min(per - count, m - i)
            j = i + k
            if k == m:  # the whole leaf (holes[0] is 0): no slice copy
                holes += sum(leaf.holes)
            elif k > 1:
                holes += sum(leaf.holes[i + 1 : j])
            count += k
            if count == per:
                assert first is not None
                end = lasts[j - 1] + 1
                out.append((first, end, count, end - first[0] - holes))
                count = holes = 0
            i = j
        if m:
            prev_end = lasts[m - 1] + 1
        since += m
        if since > RESCHED_MASK:
            since = 0
            cond_resched()  # between two leaves: a reader holding one version only
    if count:
        assert first is not None
        out.append((first, prev_end, count, prev_end - first[0] - holes))
    return out


def _iter_rev_from(node: _Node[V], addr: int) -> Iterator[Entry[V]]:
    stack: list[tuple[list[_Node[V]], int]] = []
    while isinstance(node, _Branch):
        c = _branch_below(node, addr) - 1
        if c < 0:
            return
        stack.append((node.kids, c - 1))
        node = node.kids[c]
    i = _leaf_below(node, addr)
    yield from reversed(node.entries[:i])
    while stack:
        kids, c = stack.pop()
        if c < 0:
            continue
        stack.append((kids, c - 1))
        node = kids[c]
        while isinstance(node, _Branch):
            last = len(node.kids) - 1
            stack.append((node.kids, last - 1))
            node = node.kids[last]
        yield from reversed(node.entries)


def _gaps_rev(root: _Node[V], low: int, high: int, size: int) -> Iterator[tuple[int, int]]:
    if not root.count:
        if high - low >= size:
            yield (low, high)
        return
    gs = max(root.lasts[-1] + 1, low)
    if high - gs >= size:
        yield (gs, high)
    yield from _node_gaps_rev(root, low, high, size)
    ge = min(root.first, high)
    if ge - low >= size:
        yield (low, ge)


def _node_gaps_rev(node: _Node[V], low: int, high: int, size: int) -> Iterator[tuple[int, int]]:
    """Holes strictly inside ``node`` clipped to ``[low, high)``, >= ``size``, descending."""
    if node.gap < size:
        return
    lasts = node.lasts
    # Holes are numbered by the item above them; the first item starting at or above
    # ``high`` bounds the highest hole that can reach into the window.
    if isinstance(node, _Leaf):
        entries = node.entries
        k = _leaf_below(node, high)
        if k == len(entries):
            k -= 1
        while k > 0:
            ge = entries[k][0]
            if ge <= low:
                return
            gs = lasts[k - 1] + 1
            if gs < low:
                gs = low
            if ge > high:
                ge = high
            if ge - gs >= size:
                yield (gs, ge)
            k -= 1
        return
    kids = node.kids
    k = _branch_below(node, high)
    if k == len(kids):
        k -= 1
    while k >= 0:
        kid = kids[k]
        ge = kid.first
        if kid.gap >= size and ge < high and lasts[k] >= low:
            yield from _node_gaps_rev(kid, low, high, size)
        if k == 0 or ge <= low:
            return
        gs = lasts[k - 1] + 1
        if gs < low:
            gs = low
        if ge > high:
            ge = high
        if ge - gs >= size:
            yield (gs, ge)
        k -= 1


def _gaps_fwd(root: _Node[V], low: int, high: int, size: int) -> Iterator[tuple[int, int]]:
    if not root.count:
        if high - low >= size:
            yield (low, high)
        return
    ge = min(root.first, high)
    if ge - low >= size:
        yield (low, ge)
    yield from _node_gaps_fwd(root, low, high, size)
    gs = max(root.lasts[-1] + 1, low)
    if high - gs >= size:
        yield (gs, high)


def _node_gaps_fwd(node: _Node[V], low: int, high: int, size: int) -> Iterator[tuple[int, int]]:
    """Holes strictly inside ``node`` clipped to ``[low, high)``, >= ``size``, ascending."""
    if node.gap < size:
        return
    lasts = node.lasts
    n = len(lasts)
    # Holes are numbered by the item below them; the last item starting at or below
    # ``low`` bounds the lowest hole that can reach into the window.
    if isinstance(node, _Leaf):
        entries = node.entries
        k = _leaf_below(node, low + 1) - 1
        if k < 0:
            k = 0
        while k < n - 1:
            gs = lasts[k] + 1
            if gs >= high:
                return
            if gs < low:
                gs = low
            ge = entries[k + 1][0]
            if ge > high:
                ge = high
            if ge - gs >= size:
                yield (gs, ge)
            k += 1
        return
    kids = node.kids
    k = _branch_below(node, low + 1) - 1
    if k < 0:
        k = 0
    while k < n:
        kid = kids[k]
        if kid.gap >= size and kid.first < high and lasts[k] >= low:
            yield from _node_gaps_fwd(kid, low, high, size)
        gs = lasts[k] + 1
        if k == n - 1 or gs >= high:
            return
        if gs < low:
            gs = low
        ge = kids[k + 1].first
        if ge > high:
            ge = high
        if ge - gs >= size:
            yield (gs, ge)
        k += 1


# ---------------------------------------------------------------------- checking


def _dump(node: _Node[V]) -> str:
    if isinstance(node, _Leaf):
        body = f"holes={node.holes!r} entries={node.entries!r}"
    else:
        body = (
            f"gaps={node.gaps!r} kid firsts={[k.first for k in node.kids]!r} "
            f"kid counts={[k.count for k in node.kids]!r}"
        )
    return (
        f"{type(node).__name__} count={node.count} gap={node.gap} first={node.first} "
        f"lasts={list(node.lasts)!r} {body}"
    )


def _check_node(
    node: _Node[V],
    depth: int,
    is_root: bool,
    leaf_depths: set[int],
    leaf_max: int,
    branch_max: int,
) -> int:
    """Check ``node``'s subtree; return its real entry count."""

    def fail(msg: str) -> AssertionError:
        return AssertionError(f"{msg} at depth {depth}: {_dump(node)}")

    lasts = node.lasts
    starts: list[int]
    if isinstance(node, _Leaf):
        # A leaf keeps no starts (see _Leaf): they are its entries' own.
        if type(lasts) is not array or lasts.typecode != _KEY_TYPE:
            raise fail("a leaf's lasts is not an array of u64 keys")
        entries = node.entries
        if type(entries) is not list:
            raise fail("a leaf's entries is not a list")
        for k, entry in enumerate(entries):
            if type(entry) is not tuple or len(entry) != 3:
                raise fail(f"entry {k} is not a (start, end, value) tuple")
        starts = [e[0] for e in entries]
        n = len(starts)
        if len(lasts) != n:
            raise fail("entries/lasts length mismatch")
    else:
        # A branch keeps no starts either: they are its children's cached ``first``,
        # each checked against the child's real first start below.
        starts = [k.first for k in node.kids]
        n = len(starts)
        if type(lasts) is not list:
            raise fail("a branch's lasts is not a list")
        if len(lasts) != n:
            raise fail("kids/lasts length mismatch")
        if not n:
            raise fail("a branch without children")
    # Slot k: the hole below item k, and for a branch also the largest hole inside child k.
    slots = [starts[k] - lasts[k - 1] - 1 if k else 0 for k in range(n)]
    if isinstance(node, _Leaf):
        leaf_depths.add(depth)
        cap = leaf_max
        if len(node.holes) != n:
            raise fail("entries/holes length mismatch")
        for k, entry in enumerate(node.entries):
            s, e, v = entry
            if e - 1 != lasts[k]:
                raise fail(f"entry {k} range differs from its keys")
            if not (type(s) is int and type(e) is int and 0 <= s < e <= _INDEX_END):
                raise fail(f"entry {k} has an empty or invalid range")
            if v is None:
                raise fail(f"entry {k} stores None")
        if node.holes != slots:
            raise fail(f"cached holes are stale, real holes {slots}")
        real = n
    else:
        cap = branch_max
        if is_root and n < 2:
            raise fail("root branch with fewer than two children")
        if len(node.gaps) != n:
            raise fail("kids/gaps length mismatch")
        real = 0
        for k, kid in enumerate(node.kids):
            if not len(kid.lasts):
                raise fail(f"child {k} is empty")
            if kid.height != node.height - 1:
                raise fail(f"child {k} has height {kid.height}, expected {node.height - 1}")
            if kid.lasts[-1] != lasts[k]:
                raise fail(f"cached end of child {k} is stale")
            real += _check_node(kid, depth + 1, False, leaf_depths, leaf_max, branch_max)
        slots = [max(h, kid.gap) for h, kid in zip(slots, node.kids, strict=True)]
        if node.gaps != slots:
            raise fail(f"cached gaps are stale, real gaps {slots}")
    # Every node's cached first start: its first entry's (0 when empty), for a branch its
    # first child's, which that child's own check ties to its entries in turn.
    if type(node.first) is not int or node.first != (starts[0] if n else 0):
        raise fail(f"cached first start {node.first!r} is stale, real {starts[:1]}")
    for k in range(n - 1):
        if lasts[k] >= starts[k + 1]:
            raise fail(f"items {k} and {k + 1} overlap or are unsorted")
    if n > cap or (not is_root and n < cap // 2):
        raise fail(f"fill {n} outside [{cap // 2}, {cap}]")
    if node.gap != max(slots, default=0):
        raise fail(f"cached gap {node.gap} != real gap {max(slots, default=0)}")
    if real != node.count:
        raise fail(f"cached count {node.count} != real count {real}")
    return real
