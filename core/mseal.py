"""mseal(2) checks other syscalls consult (mm/mseal.c, mm/madvise.c).

A placeholder for the sealing work (issue 13 part B): madvise asks
:func:`can_modify_vma_madvise` before it applies an advice to each VMA, as
``madvise_vma_behavior`` calls ``can_madvise_modify``. Until VMAs can be sealed every
VMA may be advised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .vma import Vma

__all__ = ["can_modify_vma_madvise"]


def can_modify_vma_madvise(vma: Vma, advice: int) -> bool:
    """``can_madvise_modify``: False when ``advice`` would discard data of a sealed
    read-only anonymous VMA (madvise then fails with EPERM). O(1)."""
    return True
