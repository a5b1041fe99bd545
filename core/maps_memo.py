"""The maps lines of a whole leaf of the VMA tree, kept between renders, and what makes
them stale: the VMAs whose line changed in place.

Design note
===========
A render of ``/proc/<pid>/maps`` that only joins each VMA's cached line
(:mod:`core.procfs`) still loads, per line, the tree's entry, the VMA, its cached-line
record and the string: four objects, each a likely cache miss among 65,530 VMAs, about
5 ms where the kernel's own read of the same file takes about 20 (docs/performance.md,
"The maps render against the kernel's read"). A leaf of the tree (up to 64 entries) is
immutable once published (:mod:`core.vma_tree`: stores copy it), so the tuple of its
lines can be kept on the leaf itself (``Leaf.memo``) and a render extends its output
by one tuple per leaf: one object per line, the string the join reads anyway.

A leaf's lines go stale in three ways, each handled here or by the tree:

* **A store** replaces the leaf by a copy whose memo is None (the tree's rule), so the
  render builds that leaf's lines again from the VMAs' cached lines.
* **A change of a VMA in place**, which no store follows when nothing but the line
  changes (``mprotect`` of a whole VMA that merges with nothing, ``PR_SET_VMA``
  naming a whole VMA: ``vma_modify`` returns the VMA itself). The writer reports the
  VMA (:meth:`MapsMemo.line_changed`, from :meth:`core.vma.Vma.set_flags`,
  :meth:`~core.vma.Vma.set_range` and the anon-name change) and the next render clears
  the memo of the leaf holding it (:meth:`MapsMemo.drain`) before it reads any memo.
* **A file unlinked** (`` (deleted)`` appears without the mm's lock): a memo keeps the
  inodes its lines watch, as each cached line does, and is used only while all are
  linked.

``[heap]`` and ``[stack]`` are not in any memo (they come from the mm's ``brk`` and
``start_stack``, not from the VMA): the render puts them in afterwards, as it did per
line.

Why a render may store a memo without the mm's lock
---------------------------------------------------
The seqcount reader renders under RCU alone and keeps the result only if no write
cycle overlapped it; a memo it stored would outlive that check. So a render stores its
new memos in one batch under :attr:`MapsMemo.lock`, and only if ``mmap_lock``'s
sequence count is still the even value it read before it looked at any VMA
(:meth:`MapsMemo.commit`). A writer changes a VMA in place only inside a write cycle
(the count odd from before the change) and reports it under the same lock after the
change; so either the report comes after the batch (and the next render's drain clears
the memo), or the count has moved before the batch is checked (and nothing is stored).
A drain runs entirely under the lock too, so no render reads memos while another has
taken the reports but not yet cleared their leaves. A render under ``mmap_lock`` for
read (``Mm.maps``, the ``mmap_lock`` reader, the seqcount reader's fallback) follows
the same protocol; no writer can overlap it.

Bounds: at most :data:`CHANGES_MAX` reports wait for a render; one more clears them and
moves :attr:`MapsMemo.epoch`, which every memo is stamped with (a process nobody reads
keeps at most that many references). Reports are taken only once a render has stored a
memo (:attr:`MapsMemo.live`), so a process never read pays one attribute test per
change.
"""

from __future__ import annotations

import threading
from typing import Any, Final

__all__ = ["CHANGES_MAX", "LeafLines", "MapsMemo"]

CHANGES_MAX: Final = 4096
"""Reports of VMAs changed in place kept for the next render; past it every memo of
the mm is dropped at once (:attr:`MapsMemo.epoch`)."""


class LeafLines:
    """One leaf's maps lines (``[heap]``/``[stack]`` left out), the inodes whose
    unlinking would change them, and the epoch they were built in. Immutable."""

    __slots__ = ("epoch", "lines", "watches")

    def __init__(self, epoch: int, lines: tuple[str, ...], watches: tuple[Any, ...]) -> None:
        self.epoch = epoch
        self.lines = lines
        self.watches = watches


class MapsMemo:
    """Per mm: the VMAs changed in place since the last render, and the epoch of the
    leaf memos (module note). Every method takes :attr:`lock` for O(1) plus what it
    says."""

    __slots__ = ("changed", "epoch", "live", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: VMAs whose line changed in place since the last drain (at most CHANGES_MAX).
        self.changed: list[Any] = []
        #: Memos of another epoch are stale; moved when the reports overflow.
        self.epoch = 0
        #: A memo was stored: writers report from now on (a plain flag, read unlocked).
        self.live = False

    def line_changed(self, vma: Any) -> None:
        """Writer, after changing ``vma``'s line in place: caller holds ``mmap_lock``
        for write and has write-locked ``vma`` (or it is detached). O(1)."""
        with self.lock:
            if len(self.changed) < CHANGES_MAX:
                self.changed.append(vma)
            else:
                self.changed = []
                self.epoch += 1

    def drain(self, tree: Any) -> int:
        """Render, before reading any memo of ``tree`` (the version being rendered):
        clear the memo of each reported VMA's leaf and return the epoch to build and
        check memos with. O(k log n) for k reports.

        A reported VMA that is attached but not found at its start in ``tree`` (a
        render overlapping a write cycle, which its caller discards) moves the epoch."""
        with self.lock:
            changed, self.changed = self.changed, []
            for vma in changed:
                if vma.freed or not vma.vm_refcnt:
                    continue  # detached: in no leaf of a current version
                leaf = tree.leaf_at(vma.vm_start)
                if leaf is not None and any(e[2] is vma for e in leaf.entries):
                    leaf.memo = None
                else:
                    self.epoch += 1
            return self.epoch

    def commit(self, lock: Any, seq: int, epoch: int, built: list[tuple[Any, LeafLines]]) -> None:
        """Render: store the memos it built, if ``mmap_lock``'s count is still ``seq``
        (even, read before any VMA was looked at) and the epoch still ``epoch``.
        O(len(built))."""
        if not built or seq & 1:
            return
        with self.lock:
            if lock.seq != seq or self.epoch != epoch:
                return
            for leaf, memo in built:
                leaf.memo = memo
            self.live = True
