"""Linux flag vocabulary: names <-> bits for ``prot``, ``flags``, open modes, the
``mlock2``/``mlockall`` flags, ``madvise``'s advice and ``prctl``'s ``PR_SET_VMA``
values.

The REST API speaks the uapi names (``["PROT_READ", "PROT_WRITE"]``,
``["MAP_PRIVATE", "MAP_ANONYMOUS"]``); a list may also hold raw integers, for bits that
have no name here (the kernel ignores or rejects them exactly as the engine does).

Values come from :mod:`core`, which exports the kernel's own constants. The few
``MAP_*``/``PROT_*`` bits that ``core`` does not export are defined below with their
uapi values (include/uapi/asm-generic/mman-common.h, arch/x86/include/uapi/asm/mman.h);
``tests/app/test_flags.py`` pins them against the engine's table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from core import (
    MAP_ANONYMOUS,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_LOCKED,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_STACK,
    MAP_SYNC,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    O_RDONLY,
    O_RDWR,
    O_WRONLY,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from core.madvise import ADVICE_NAMES

# Not exported by core (uapi values).
PROT_SEM = 0x8
PROT_GROWSUP = 0x02000000
MAP_32BIT = 0x40
MAP_DENYWRITE = 0x0800
MAP_EXECUTABLE = 0x1000
MAP_NONBLOCK = 0x10000
MAP_HUGETLB = 0x40000
MAP_UNINITIALIZED = 0x4000000
MAP_TYPE = 0x0F

ProtName = Literal[
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "PROT_EXEC",
    "PROT_SEM",
    "PROT_GROWSDOWN",
    "PROT_GROWSUP",
]
MapName = Literal[
    "MAP_SHARED",
    "MAP_PRIVATE",
    "MAP_SHARED_VALIDATE",
    "MAP_DROPPABLE",
    "MAP_FIXED",
    "MAP_ANONYMOUS",
    "MAP_32BIT",
    "MAP_GROWSDOWN",
    "MAP_DENYWRITE",
    "MAP_EXECUTABLE",
    "MAP_LOCKED",
    "MAP_NORESERVE",
    "MAP_POPULATE",
    "MAP_NONBLOCK",
    "MAP_STACK",
    "MAP_HUGETLB",
    "MAP_SYNC",
    "MAP_FIXED_NOREPLACE",
    "MAP_UNINITIALIZED",
]
MremapName = Literal["MREMAP_MAYMOVE", "MREMAP_FIXED", "MREMAP_DONTUNMAP"]
OpenName = Literal["O_RDONLY", "O_WRONLY", "O_RDWR"]
MlockName = Literal["MLOCK_ONFAULT"]
MclName = Literal["MCL_CURRENT", "MCL_FUTURE", "MCL_ONFAULT"]
PrctlOptionName = Literal["PR_SET_VMA"]
PrSetVmaName = Literal["PR_SET_VMA_ANON_NAME"]
MadviseName = Literal[
    "MADV_NORMAL",
    "MADV_RANDOM",
    "MADV_SEQUENTIAL",
    "MADV_WILLNEED",
    "MADV_DONTNEED",
    "MADV_FREE",
    "MADV_REMOVE",
    "MADV_DONTFORK",
    "MADV_DOFORK",
    "MADV_MERGEABLE",
    "MADV_UNMERGEABLE",
    "MADV_HUGEPAGE",
    "MADV_NOHUGEPAGE",
    "MADV_DONTDUMP",
    "MADV_DODUMP",
    "MADV_WIPEONFORK",
    "MADV_KEEPONFORK",
    "MADV_COLD",
    "MADV_PAGEOUT",
    "MADV_POPULATE_READ",
    "MADV_POPULATE_WRITE",
    "MADV_DONTNEED_LOCKED",
    "MADV_COLLAPSE",
    "MADV_GUARD_INSTALL",
    "MADV_GUARD_REMOVE",
]

PROT_BITS: dict[str, int] = {
    "PROT_NONE": PROT_NONE,
    "PROT_READ": PROT_READ,
    "PROT_WRITE": PROT_WRITE,
    "PROT_EXEC": PROT_EXEC,
    "PROT_SEM": PROT_SEM,
    "PROT_GROWSDOWN": PROT_GROWSDOWN,
    "PROT_GROWSUP": PROT_GROWSUP,
}
MAP_BITS: dict[str, int] = {
    "MAP_SHARED": MAP_SHARED,
    "MAP_PRIVATE": MAP_PRIVATE,
    "MAP_SHARED_VALIDATE": MAP_SHARED_VALIDATE,
    "MAP_DROPPABLE": MAP_DROPPABLE,
    "MAP_FIXED": MAP_FIXED,
    "MAP_ANONYMOUS": MAP_ANONYMOUS,
    "MAP_32BIT": MAP_32BIT,
    "MAP_GROWSDOWN": MAP_GROWSDOWN,
    "MAP_DENYWRITE": MAP_DENYWRITE,
    "MAP_EXECUTABLE": MAP_EXECUTABLE,
    "MAP_LOCKED": MAP_LOCKED,
    "MAP_NORESERVE": MAP_NORESERVE,
    "MAP_POPULATE": MAP_POPULATE,
    "MAP_NONBLOCK": MAP_NONBLOCK,
    "MAP_STACK": MAP_STACK,
    "MAP_HUGETLB": MAP_HUGETLB,
    "MAP_SYNC": MAP_SYNC,
    "MAP_FIXED_NOREPLACE": MAP_FIXED_NOREPLACE,
    "MAP_UNINITIALIZED": MAP_UNINITIALIZED,
}
MREMAP_BITS: dict[str, int] = {
    "MREMAP_MAYMOVE": MREMAP_MAYMOVE,
    "MREMAP_FIXED": MREMAP_FIXED,
    "MREMAP_DONTUNMAP": MREMAP_DONTUNMAP,
}
OPEN_BITS: dict[str, int] = {"O_RDONLY": O_RDONLY, "O_WRONLY": O_WRONLY, "O_RDWR": O_RDWR}
MLOCK_BITS: dict[str, int] = {"MLOCK_ONFAULT": MLOCK_ONFAULT}
MCL_BITS: dict[str, int] = {
    "MCL_CURRENT": MCL_CURRENT,
    "MCL_FUTURE": MCL_FUTURE,
    "MCL_ONFAULT": MCL_ONFAULT,
}
# prctl's option and PR_SET_VMA's attribute are values, not bits: one name each.
PRCTL_OPTIONS: dict[str, int] = {"PR_SET_VMA": PR_SET_VMA}
PR_SET_VMA_ATTRS: dict[str, int] = {"PR_SET_VMA_ANON_NAME": PR_SET_VMA_ANON_NAME}
# madvise's advice is a value: the engine's table (core.madvise) is its one home.
MADVISE_ADVICE: dict[str, int] = {name: value for value, name in ADVICE_NAMES.items()}

assert set(PROT_BITS) == set(get_args(ProtName))
assert set(MAP_BITS) == set(get_args(MapName))
assert set(MREMAP_BITS) == set(get_args(MremapName))
assert set(OPEN_BITS) == set(get_args(OpenName))
assert set(MLOCK_BITS) == set(get_args(MlockName))
assert set(MCL_BITS) == set(get_args(MclName))
assert set(PRCTL_OPTIONS) == set(get_args(PrctlOptionName))
assert set(PR_SET_VMA_ATTRS) == set(get_args(PrSetVmaName))
assert set(MADVISE_ADVICE) == set(get_args(MadviseName))


def combine(items: Sequence[str | int], table: dict[str, int]) -> int:
    """OR the bits of ``items`` (names from ``table`` or raw non-negative integers).

    The schema has already rejected unknown names; a KeyError here is a bug.

    >>> hex(combine(["MAP_PRIVATE", "MAP_ANONYMOUS", 0x10], MAP_BITS))
    '0x32'
    """
    value = 0
    for item in items:
        value |= item if isinstance(item, int) else table[item]
    return value


def prot_names(prot: int) -> list[str | int]:
    """Names for protection bits, plus one integer for any unnamed rest.

    >>> prot_names(0), prot_names(3), prot_names(0x11)
    (['PROT_NONE'], ['PROT_READ', 'PROT_WRITE'], ['PROT_READ', 16])
    """
    if prot == 0:
        return ["PROT_NONE"]
    return _names(prot, [(n, b) for n, b in PROT_BITS.items() if b])


def map_names(flags: int) -> list[str | int]:
    """Names for mmap flags: the mapping type (low nibble) first, then the rest.

    >>> map_names(0x22), map_names(0x13)
    (['MAP_PRIVATE', 'MAP_ANONYMOUS'], ['MAP_SHARED_VALIDATE', 'MAP_FIXED'])
    >>> map_names(0x28)
    ['MAP_DROPPABLE', 'MAP_ANONYMOUS']
    """
    out: list[str | int] = []
    kind = flags & MAP_TYPE
    for name in ("MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE", "MAP_DROPPABLE"):
        if kind == MAP_BITS[name]:
            out.append(name)
            flags &= ~MAP_TYPE
    rest = [(n, b) for n, b in MAP_BITS.items() if b & ~MAP_TYPE]
    return out + (_names(flags, rest) if flags else [])


def mremap_names(flags: int) -> list[str | int]:
    """Names for mremap flags (``[]`` for 0)."""
    return _names(flags, list(MREMAP_BITS.items())) if flags else []


def mlock_names(flags: int) -> list[str | int]:
    """Names for mlock2 flags (``[]`` for 0)."""
    return _names(flags, list(MLOCK_BITS.items())) if flags else []


def mcl_names(flags: int) -> list[str | int]:
    """Names for mlockall flags.

    >>> mcl_names(3), mcl_names(6), mcl_names(0x11)
    (['MCL_CURRENT', 'MCL_FUTURE'], ['MCL_FUTURE', 'MCL_ONFAULT'], ['MCL_CURRENT', 16])
    """
    return _names(flags, list(MCL_BITS.items())) if flags else []


def _names(value: int, table: list[tuple[str, int]]) -> list[str | int]:
    out: list[str | int] = []
    for name, bit in table:
        if value & bit == bit:
            out.append(name)
            value &= ~bit
    if value:
        out.append(value)
    return out
