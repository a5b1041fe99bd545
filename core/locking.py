"""The hook an experiment's locking profile plugs into (``Mm.locking``).

Design note
===========

``mm.locking`` is ``None`` for every ordinary process: faults take the 6.18 path
(per-VMA lock first, ``mmap_lock`` fallback) and nothing is charged for time. An
experiment (:mod:`core.experiments.profiles`) sets it to an object with this
:class:`LockingHooks` shape to select a *locking profile* -- which kernel era the
fault path and the maps reader behave like -- and a *cost model*: GIL-releasing
durations spent where the kernel spends time, with the lock the kernel holds there.

Two engine sites consult it:

* :func:`core.fault.do_user_addr_fault` hands the whole fault to
  :meth:`LockingHooks.fault` when a profile is set;
* the maps readers (:mod:`core.maps_reader`) format every line through
  :func:`vma_line` below, which calls :meth:`LockingHooks.maps_line` with whatever
  lock the reader holds for that line (``mmap_lock`` for read, or the VMA's read lock).

Locks: none taken here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .procfs import vma_line as _format_line

if TYPE_CHECKING:
    from .fault import FaultResult
    from .mm import Mm
    from .vma import Vma

__all__ = ["LockingHooks", "default_maps_reader", "vma_line"]


class LockingHooks(Protocol):
    """What ``Mm.locking`` must provide."""

    #: The maps reader this profile implies (``"mmap_lock"``, ``"seqcount"``, ``"per_vma"``).
    maps_reader: str

    def fault(self, mm: Mm, addr: int, access: str) -> FaultResult:
        """Handle one user page fault (caller holds no lock)."""
        ...

    def maps_line(self, vma: Vma) -> None:
        """Charge the cost of formatting ``vma``'s line; called with the reader's lock held."""
        ...


def vma_line(vma: Vma, brk: int, start_brk: int, start_stack: int) -> str:
    """:func:`core.procfs.vma_line` plus the owning mm's cost hook (``show_map_vma``).

    O(1) amortised, plus the modelled cost. Caller holds what keeps ``vma`` alive (RCU,
    its read lock or ``mmap_lock``); the cost is spent holding it, as the kernel does.
    """
    line = _format_line(vma, brk, start_brk, start_stack)
    mm = vma.vm_mm
    if mm is not None:
        hooks = mm.locking
        if hooks is not None:
            hooks.maps_line(vma)
    return line


def default_maps_reader(mm: Mm) -> str:
    """The maps reader ``mm``'s locking profile implies (``"seqcount"`` without one)."""
    hooks = mm.locking
    return "seqcount" if hooks is None else str(hooks.maps_reader)
