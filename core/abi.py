"""How a syscall's arguments arrive: as unsigned 64-bit registers.

The one home of the argument conversions every syscall entry point applies before it
takes a lock. A Python ``int`` outside the register's range, a ``bool`` or any other
type is not something a user program could pass, so it raises
:class:`~core.errors.InvalidArgument` (not a ``SyscallError``: no errno exists for it).
A negative value is taken as its two's complement, as the register would hold it.
"""

from __future__ import annotations

from .constants import PAGE_MASK, PAGE_SIZE, U32, U64
from .errors import InvalidArgument


def u64(name: str, value: object) -> int:
    """``value`` as the unsigned 64-bit register a C caller's argument becomes.

    Accepts an ``int`` (not a ``bool``) in ``[-2**63, 2**64)``; an int subclass is
    converted to a plain int. O(1).

    >>> u64("addr", -1) == (1 << 64) - 1
    True
    """
    if type(value) is not int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"{name} {value!r} is not an integer")
        value = int(value)
    if not -(1 << 63) <= value < U64:
        raise InvalidArgument(f"{name} {value:#x} does not fit in 64 bits")
    return value % U64


def u32(name: str, value: object) -> int:
    """``value`` as an unsigned 32-bit field (no sign extension: a negative value is
    refused). O(1)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < U32:
        raise InvalidArgument(f"{name} {value!r} is not a 32-bit unsigned integer")
    return int(value)


def page_align(value: int) -> int:
    """``PAGE_ALIGN`` on an unsigned 64-bit value: wraps to 0 near the top. O(1)."""
    return ((value + PAGE_SIZE - 1) & PAGE_MASK) % U64
