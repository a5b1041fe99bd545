"""The translations of include/linux/mman.h: ``mmap``'s and ``mprotect``'s arguments
into ``VM_*`` flags. One home for each, used by :mod:`core.mm` and :mod:`core.mprotect`.
"""

from __future__ import annotations

from .constants import (
    MAP_GROWSDOWN,
    MAP_LOCKED,
    MAP_STACK,
    MAP_SYNC,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_LOCKED,
    VM_NOHUGEPAGE,
    VM_READ,
    VM_SYNC,
    VM_WRITE,
)

__all__ = ["calc_vm_flag_bits", "calc_vm_prot_bits"]


def calc_vm_prot_bits(prot: int) -> int:
    """``calc_vm_prot_bits``: ``PROT_READ/WRITE/EXEC`` as ``VM_READ/WRITE/EXEC`` (no
    protection keys). O(1)."""
    return (
        (VM_READ if prot & PROT_READ else 0)
        | (VM_WRITE if prot & PROT_WRITE else 0)
        | (VM_EXEC if prot & PROT_EXEC else 0)
    )


def calc_vm_flag_bits(flags: int) -> int:
    """``calc_vm_flag_bits``: the ``MAP_*`` flags that become VMA flags. ``MAP_STACK``
    maps to ``VM_NOHUGEPAGE`` since 6.7. O(1)."""
    return (
        (VM_GROWSDOWN if flags & MAP_GROWSDOWN else 0)
        | (VM_LOCKED if flags & MAP_LOCKED else 0)
        | (VM_SYNC if flags & MAP_SYNC else 0)
        | (VM_NOHUGEPAGE if flags & MAP_STACK else 0)
    )
