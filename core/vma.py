"""``struct vm_area_struct``: one virtual memory area, and the objects it points to.

A :class:`Vma` is mutable in place, exactly like the kernel's: a split shrinks the
original VMA's ``vm_end`` while the tree still maps its old range (``__split_vma`` in mm/vma.c),
so a reader that holds no lock can see a VMA whose fields do not match the range it was
found under. Readers must lock (``vma_start_read``) and re-check, as the kernel does.

Field stability (Documentation/mm/process_addrs.rst): ``vm_mm`` is written once;
``vm_refcnt`` and ``vm_lock_seq`` may be read by unlocked RCU readers; ``vm_start``,
``vm_end``, ``vm_pgoff`` and ``vm_flags`` change only under ``mmap_lock`` for write plus
the VMA's write lock, and only through :meth:`Vma.set_range` / :meth:`Vma.set_flags`,
which also invalidate the cached ``/proc/<pid>/maps`` line.

A freed VMA is *poisoned* (:func:`poison`): ``freed`` is set and the fields a stray
reader could act on take values no live VMA has (slab poisoning, ``POISON_FREE`` in
mm/slub.c: an empty range at :data:`POISON_ADDR`, no mm, no file, no pages). The places
where a lock-free reader meets a VMA test ``freed`` and raise
:class:`~core.errors.UseAfterFree` (:func:`check_live`): ``vma_start_read`` (the fault
path, PROCMAP_QUERY) and the maps line builder (core/procfs.py). Freeing happens
through ``call_rcu`` after the VMA was detached, so a correct reader never observes it.

Compiled (core/_engine.py), :class:`Vma` is a native class: its fields are C struct
members that compiled code reads directly (the fault path's hot objects). That is why
the detector is a flag the readers test rather than a class switch (``__class__`` to a
subclass whose ``__getattribute__`` raises, as the pure-Python engine once did): a native
object can neither change class nor intercept compiled code's field reads. The
constructor is ``__init__`` (a native class's ``__new__`` runs it).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Final

from .constants import PAGE_SHIFT, VM_SHARED
from .errors import UseAfterFree

if TYPE_CHECKING:
    from .files import OpenFile

# vma_lock_init(): a fresh VMA never looks write-locked in the current cycle.
VM_LOCK_SEQ_INIT: Final = 0xFFFFFFFF

#: ``vm_start`` and ``vm_end`` of a freed VMA: an empty range in the non-canonical hole
#: (include/linux/poison.h's ``POISON_POINTER_DELTA`` on x86-64), so no address falls
#: in it and no range check passes.
POISON_ADDR: Final = 0xDEAD000000000000

#: The ``_line`` of a VMA whose maps line was never built: ``(stamp, line, watch)`` with a
#: stamp no generation equals (core/procfs.py owns the cache's meaning).
NO_LINE: tuple[int, str, Any] = (-1, "", None)

_anon_vma_ids = itertools.count(1)


class AnonVma:
    """``struct anon_vma``: the reverse-map root a private VMA's anonymous pages hang off.

    Only its identity matters to the simulator: two VMAs merge only if their anon_vmas
    are compatible (equal, or one of them absent; ``is_mergeable_anon_vma`` in mm/vma.c).
    ``degree`` counts the VMAs sharing it; ``forked`` marks one inherited through fork,
    whose chain is not singular (``vma_had_uncowed_parents``).
    """

    __slots__ = ("id", "degree", "forked")

    def __init__(self, forked: bool = False) -> None:
        self.id = next(_anon_vma_ids)
        self.degree = 0
        self.forked = forked

    def __repr__(self) -> str:
        return f"AnonVma(#{self.id})"


class Vma:
    """One VMA: ``[vm_start, vm_end)`` with flags, file, page offset and lock state.

    Construct through :meth:`Vma.new`; the constructor leaves the lock fields in the
    state ``vm_area_alloc`` + ``vma_lock_init`` produce (detached, never write-locked).
    """

    __slots__ = (
        "vm_start",
        "vm_end",
        "vm_pgoff",
        "vm_flags",
        "vm_file",
        "anon_vma",
        "anon_name",
        "special_name",
        "vm_mm",
        "vm_refcnt",
        "vm_lock_seq",
        "pages",
        "runs",
        "_gen",
        "_line",
        "freed",
    )

    vm_start: int
    vm_end: int
    vm_pgoff: int
    vm_flags: int
    vm_file: OpenFile | None
    anon_vma: AnonVma | None
    anon_name: str | None
    special_name: str | None
    vm_mm: Any
    vm_refcnt: int
    vm_lock_seq: int
    pages: dict[int, Any] | None
    #: Runs of uniform private anonymous pages beside ``pages`` (core/pages.py).
    runs: list[Any] | None
    _gen: int
    _line: tuple[int, str, Any]
    #: Set by :func:`poison`: the RCU grace period ended, the VMA is freed.
    freed: bool

    def __init__(
        self,
        mm: Any,
        start: int,
        end: int,
        flags: int,
        pgoff: int,
        file: OpenFile | None = None,
        special_name: str | None = None,
    ) -> None:
        self.vm_start = start
        self.vm_end = end
        self.vm_pgoff = pgoff
        self.vm_flags = flags
        self.vm_file = file
        self.anon_vma = None
        self.anon_name = None
        self.special_name = special_name
        self.vm_mm = mm
        self.vm_refcnt = 0
        self.vm_lock_seq = VM_LOCK_SEQ_INIT
        self.pages = None
        self.runs = None
        self._gen = 0
        self._line = NO_LINE
        self.freed = False

    @classmethod
    def new(
        cls,
        mm: Any,
        start: int,
        end: int,
        flags: int,
        pgoff: int,
        file: OpenFile | None = None,
        special_name: str | None = None,
    ) -> Vma:
        """A detached VMA for ``mm`` (``vm_area_alloc`` + ``vma_set_range``). O(1)."""
        return cls(mm, start, end, flags, pgoff, file, special_name)

    def dup(self) -> Vma:
        """``vm_area_dup``: copy every field except the lock state (the copy is detached).

        The anon_vma is shared (``anon_vma_clone``), the file reference taken. O(1).
        """
        new = Vma.new(
            self.vm_mm,
            self.vm_start,
            self.vm_end,
            self.vm_flags,
            self.vm_pgoff,
            self.vm_file,
            self.special_name,
        )
        new.anon_vma = self.anon_vma
        new.anon_name = self.anon_name
        if self.anon_vma is not None:
            self.anon_vma.degree += 1
        if self.vm_file is not None:
            self.vm_file.get()
        return new

    # -- mutation (caller holds mmap_lock for write and this VMA's write lock) --------

    def set_range(self, start: int, end: int, pgoff: int) -> None:
        """``vma_set_range``: move the VMA's bounds in place. O(1).

        Caller must hold ``mmap_lock`` for write and have write-locked this VMA (or it
        is still detached). The generation bump invalidates the cached maps line.
        """
        self._gen += 1
        self.vm_start = start
        self.vm_end = end
        self.vm_pgoff = pgoff
        self._gen += 1
        self.line_changed()

    def set_flags(self, flags: int) -> None:
        """``vm_flags_reset``: replace the flags. Same locking rule as :meth:`set_range`."""
        self._gen += 1
        self.vm_flags = flags
        self._gen += 1
        self.line_changed()

    def set_anon_name(self, name: str | None) -> None:
        """``replace_anon_vma_name``: name (or unname) the VMA in place. Same locking
        rule as :meth:`set_range`; the name is in the maps line, so the generation moves
        as for a flag change."""
        self._gen += 1
        self.anon_name = name
        self._gen += 1
        self.line_changed()

    def line_changed(self) -> None:
        """Report a change of this VMA's maps line made in place (after the generation
        bump that ends it) to the leaf memos of its mm (:mod:`core.maps_memo`). Caller
        holds what :meth:`set_range` requires. O(1)."""
        mm = self.vm_mm
        if mm is not None:
            memo = mm.maps_memo
            if memo.live:
                memo.line_changed(self)

    # -- derived properties --------------------------------------------------------------

    @property
    def pages_count(self) -> int:
        """Length in pages (``vma_pages``)."""
        return (self.vm_end - self.vm_start) >> PAGE_SHIFT

    def is_anonymous(self) -> bool:
        """``vma_is_anonymous``: no ``vm_ops``. Files, shared anonymous memory (shmem)
        and special mappings all have ``vm_ops``."""
        return self.vm_file is None and self.special_name is None

    def is_shared(self) -> bool:
        return bool(self.vm_flags & VM_SHARED)

    def __repr__(self) -> str:
        return (
            f"Vma({self.vm_start:#x}-{self.vm_end:#x} flags={self.vm_flags:#x} "
            f"pgoff={self.vm_pgoff:#x} refcnt={self.vm_refcnt:#x})"
        )


def check_live(vma: Vma, what: str) -> None:
    """Raise :class:`~core.errors.UseAfterFree` if ``vma`` was freed (KASAN's report of
    a slab use-after-free): ``what`` names the access. O(1)."""
    if vma.freed:
        raise UseAfterFree(f"use after free: {what} of a freed VMA")


def poison(vma: Vma) -> None:
    """Free ``vma`` (``vm_area_free``): from now on the readers' checks raise. Runs from
    an RCU callback, after every reader that could have found the VMA has left."""
    if vma.freed:
        raise UseAfterFree("double free of a VMA")
    if vma.vm_file is not None:
        vma.vm_file.put()
    if vma.anon_vma is not None:
        vma.anon_vma.degree -= 1
    vma.freed = True
    # The poison values (module note). The generation moves on, so a cached maps line
    # is never served for it (core/procfs.py rebuilds, which checks ``freed``).
    vma.vm_start = vma.vm_end = POISON_ADDR
    vma.vm_mm = None
    vma.vm_file = None
    vma.anon_vma = None
    vma.pages = None
    vma.runs = None
    vma._gen += 2
