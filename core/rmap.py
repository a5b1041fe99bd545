"""Anonymous reverse mapping: which ``anon_vma`` a private VMA's pages hang off.

``__anon_vma_prepare`` (mm/rmap.c) gives a VMA its anon_vma on the first fault that
needs an anonymous page, reusing a neighbour's when ``find_mergeable_anon_vma``
(mm/vma.c) finds a compatible one. Only the identity matters to the simulator: it
decides later merges (``is_mergeable_anon_vma`` in mm/vma.c).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import PAGE_SHIFT, VM_ACCESS_FLAGS, VM_STICKY
from .vma import AnonVma

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = ["anon_vma_prepare", "find_mergeable_anon_vma"]


def _anon_vma_compatible(a: Vma, b: Vma) -> bool:
    # anon_vma_compatible(a, b): a directly below b, same file and policy, flags equal
    # but for access bits and the sticky flags (VM_IGNORE_MERGE: soft-dirty, and
    # VM_MAYBE_GUARD on the 6.18.y host), and contiguous page offsets.
    return (
        a.vm_end == b.vm_start
        and a.vm_file is b.vm_file
        and not (a.vm_flags ^ b.vm_flags) & ~(VM_ACCESS_FLAGS | VM_STICKY)
        and b.vm_pgoff == a.vm_pgoff + ((b.vm_start - a.vm_start) >> PAGE_SHIFT)
    )


def find_mergeable_anon_vma(mm: Mm, vma: Vma) -> AnonVma | None:
    """``find_mergeable_anon_vma``: reuse the anon_vma of the next, then the previous,
    neighbour if compatible and not inherited through fork (``reusable_anon_vma``:
    the neighbour's chain must be singular). Caller holds ``mmap_lock``. O(log n)."""
    nxt = mm.find_vma(vma.vm_end)
    if nxt is not None and _anon_vma_compatible(vma, nxt):
        anon = nxt.anon_vma
        if anon is not None and not anon.forked:
            return anon
    prev = mm._prev_vma(vma.vm_start)
    if prev is not None and _anon_vma_compatible(prev, vma):
        anon = prev.anon_vma
        if anon is not None and not anon.forked:
            return anon
    return None


def anon_vma_prepare(mm: Mm, vma: Vma) -> None:
    """``__anon_vma_prepare``: give ``vma`` an anon_vma (a neighbour's, or a new one).
    Caller holds ``mmap_lock`` (read is enough: the store is made under the page-table
    lock). O(log n)."""
    if vma.anon_vma is not None:
        return
    anon = find_mergeable_anon_vma(mm, vma) or AnonVma()
    with mm.page_lock:
        if vma.anon_vma is None:
            vma.anon_vma = anon
            anon.degree += 1
