"""The seam an experiment's locking profile plugs into: ``Mm.hooks`` and
``MmapLock.observer``.

Design note
===========

Both are ``None`` for every ordinary process: faults take the 6.18 path (per-VMA lock
first, ``mmap_lock`` fallback), locks are taken without observation, and nothing is
charged for time. The lab (``lab/profiles.py``) installs one object that provides both
shapes below to select a *locking profile* -- which kernel era the fault path and the
maps reader behave like -- and a *cost model*: time spent where the kernel spends it,
holding the lock the kernel holds there.

The engine calls the hooks at these sites, and nowhere else:

* :func:`core.fault.do_user_addr_fault`: :meth:`ProfileHooks.fault_started`, then
  every fault takes the ``mmap_lock`` path unless :attr:`ProfileHooks.per_vma_faults`;
  :meth:`ProfileHooks.fault_page_work` runs under the fault's lock just before
  ``handle_mm_fault`` (where the kernel zeroes or copies the page);
  :meth:`ProfileHooks.fault_finished` gets the path the fault completed on.
* The maps readers (:mod:`core.maps_reader`) format every line through
  :func:`vma_line` below, which calls :meth:`ProfileHooks.maps_line` with whatever
  lock the reader holds for that line (``mmap_lock`` for read, or the VMA's read lock).
* The smaps readers (:func:`core.smaps.smap_walk`) call :meth:`ProfileHooks.smaps_walk`
  with each VMA's resident page count, under the reader's lock.
* :class:`core.mmap_lock.MmapLock` calls :meth:`LockObserver.acquired` after an
  uncontended acquisition and hands a contended one to :meth:`LockObserver.contended`,
  which must call the blocking ``acquire`` it is given; ``vma_start_write`` and
  ``vma_mark_detached`` (:mod:`core.vma_lock`) wait for a VMA's readers through
  :meth:`LockObserver.vma_writer_wait`.
* ``Mm.on_write_unlock`` (a writer about to publish its layout) is the syscall site.

Locks: none taken here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .procfs import vma_line as _format_line

if TYPE_CHECKING:
    import threading

    from .fault import FaultPath
    from .maps_reader import Reader
    from .mm import Mm
    from .mmap_lock import MmapLock
    from .vma import Vma

__all__ = ["LockMode", "LockObserver", "ProfileHooks", "default_maps_reader", "vma_line"]

LockMode = Literal["read", "write"]


class ProfileHooks(Protocol):
    """What ``Mm.hooks`` must provide."""

    #: The maps reader this profile implies.
    maps_reader: Reader
    #: False: every fault takes ``mmap_lock`` (the kernels before 6.4).
    per_vma_faults: bool

    def fault_started(self) -> None:
        """A user fault begins (caller holds no lock)."""
        ...

    def fault_page_work(self) -> None:
        """The page work of a fault, with the fault's lock held."""
        ...

    def fault_finished(self, path: FaultPath) -> None:
        """The fault completed on ``path`` (caller holds no lock)."""
        ...

    def maps_line(self, vma: Vma) -> None:
        """Charge the cost of formatting ``vma``'s line; called with the reader's lock held."""
        ...

    def smaps_walk(self, vma: Vma, pages: int) -> None:
        """Charge ``walk_page_vma`` over ``pages`` resident pages of ``vma``; called with
        the smaps reader's lock held (``mmap_lock`` for read, or the VMA's read lock)."""
        ...


class LockObserver(Protocol):
    """What ``MmapLock.observer`` must provide."""

    def acquired(self, lock: MmapLock, mode: LockMode) -> None:
        """``lock`` was taken in ``mode`` without waiting."""
        ...

    def contended(
        self,
        lock: MmapLock,
        mode: LockMode,
        acquire: Callable[[float | None], bool],
        timeout: float | None,
    ) -> bool:
        """``lock`` is taken: wait by calling ``acquire(timeout)`` and return its result."""
        ...

    def vma_writer_wait(self, wait: threading.Condition, predicate: Callable[[], Any]) -> None:
        """Wait on ``mm->vma_writer_wait`` (``wait``, held by the caller) until
        ``predicate()``: ``wait.wait_for(predicate)`` plus whatever is recorded."""
        ...


def vma_line(vma: Vma, brk: int, start_brk: int, start_stack: int) -> str:
    """:func:`core.procfs.vma_line` plus the owning mm's cost hook (``show_map_vma``).

    O(1) amortised, plus the modelled cost. Caller holds what keeps ``vma`` alive (RCU,
    its read lock or ``mmap_lock``); the cost is spent holding it, as the kernel does.
    """
    line = _format_line(vma, brk, start_brk, start_stack)
    mm = vma.vm_mm
    if mm is not None:
        hooks = mm.hooks
        if hooks is not None:
            hooks.maps_line(vma)
    return line


def default_maps_reader(mm: Mm) -> Reader:
    """The maps reader ``mm``'s locking profile implies (``"seqcount"`` without one)."""
    hooks = mm.hooks
    return "seqcount" if hooks is None else hooks.maps_reader
