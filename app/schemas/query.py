"""``PROCMAP_QUERY`` over REST: ``GET /processes/{pid}/vma`` and ``/vma/batch``."""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

from core.constants import U64_MAX

from .common import U64, HexStr, InModel

# -- PROCMAP_QUERY ---------------------------------------------------------------------------

QUERY_FLAG_BITS: dict[str, int] = {
    "VMA_READABLE": 0x01,
    "VMA_WRITABLE": 0x02,
    "VMA_EXECUTABLE": 0x04,
    "VMA_SHARED": 0x08,
    "COVERING_OR_NEXT_VMA": 0x10,
    "FILE_BACKED_VMA": 0x20,
}
"""``PROCMAP_QUERY_*`` flags (include/uapi/linux/fs.h) by name, without the prefix."""


NUMBER_PATTERN = r"^(0[xX][0-9a-fA-F]{1,16}|0|[1-9][0-9]{0,18})$"
"""A 64-bit number in a query string or a flags item: ``0x`` and up to 16 hex digits,
or decimal digits without a leading zero, at most 19 (larger values: write them in hex)."""
_NUMBER = re.compile(NUMBER_PATTERN)


def query_flag_bits(item: str) -> int:
    """One ``flags`` item: a name (``VMA_READABLE``, optionally ``PROCMAP_QUERY_``-
    prefixed, any case) or a number (decimal or ``0x`` hex), as its bits.

    >>> query_flag_bits("covering_or_next_vma"), query_flag_bits("0x40")
    (16, 64)
    """
    name = item.strip().upper().removeprefix("PROCMAP_QUERY_")
    bits = QUERY_FLAG_BITS.get(name)
    if bits is not None:
        return bits
    if not _NUMBER.match(item):
        raise ValueError(
            f"unknown PROCMAP_QUERY flag {json.dumps(item)} (known: {', '.join(QUERY_FLAG_BITS)}, "
            "or a number: 0x and up to 16 hex digits, or up to 19 decimal digits)"
        )
    return int(item, 16) if item[:2] in ("0x", "0X") else int(item, 10)


def _check_query_flag(item: str) -> str:
    query_flag_bits(item)
    return item


QueryFlagItem = Annotated[
    str,
    Field(
        max_length=40,
        examples=["COVERING_OR_NEXT_VMA"],
        json_schema_extra={
            "anyOf": [
                {
                    "enum": [
                        *QUERY_FLAG_BITS,
                        *(f"PROCMAP_QUERY_{name}" for name in QUERY_FLAG_BITS),
                    ]
                },
                {"pattern": NUMBER_PATTERN},
            ]
        },
    ),
    AfterValidator(_check_query_flag),
]
"""A flag name (the schema lists them in capitals; any case is read) or a number."""


def query_addr(text: str) -> int:
    """A query-string address (decimal or ``0x`` hex, already pattern-checked) as an
    integer; ValueError beyond 64 bits.

    >>> query_addr("0x1000"), query_addr("4096")
    (4096, 4096)
    """
    value = int(text, 16) if text[:2] in ("0x", "0X") else int(text, 10)
    if value > U64_MAX:
        raise ValueError(f"address {json.dumps(text)} does not fit in 64 bits")
    return value


def _check_query_addr(text: str) -> str:
    query_addr(text)
    return text


QueryAddr = Annotated[
    str,
    Field(pattern=NUMBER_PATTERN, examples=["0x555555560123"]),
    AfterValidator(_check_query_addr),
]
"""A query-string address: decimal or ``0x`` hex (converted by :func:`query_addr`)."""


class VmaQueryOut(BaseModel):
    """What ``PROCMAP_QUERY`` returns for one VMA. ``flags`` are the
    ``PROCMAP_QUERY_VMA_*`` names (``VMA_SHARED`` means ``VM_MAYSHARE``); ``offset``,
    ``inode`` and ``dev`` are the mapped file's (0 without one); ``name`` is the VMA's
    name as maps prints it but unescaped (file path, ``[heap]``, ``[stack]``,
    ``[anon:x]``, ...), ``""`` for none and null when not asked for; ``name_size``
    counts its NUL. ``lock`` says how the VMA was stabilised: ``vma_lock`` (per-VMA lock
    under RCU), ``vma_lock_via_mmap_lock`` (per-VMA lock under a brief ``mmap_lock``
    hold) or ``mmap_lock``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "0x555555560000",
                    "end": "0x555555581000",
                    "flags": ["VMA_READABLE", "VMA_WRITABLE"],
                    "page_size": 4096,
                    "offset": "0x0",
                    "inode": 0,
                    "dev": "00:00",
                    "name": "[heap]",
                    "name_size": 7,
                    "build_id_size": 0,
                    "lock": "vma_lock",
                }
            ]
        }
    )

    start: HexStr
    end: HexStr
    flags: list[str]
    page_size: int
    offset: HexStr
    inode: int
    dev: str = Field(examples=["fe:00"], description="major:minor in hex, as maps prints it")
    name: str | None
    name_size: int
    build_id_size: int
    lock: Literal["vma_lock", "vma_lock_via_mmap_lock", "mmap_lock"]


class VmaBatchIn(InModel):
    """Many addresses resolved at once (``resolve_addrs_ioctl`` in the kernel's
    selftests): one ``PROCMAP_QUERY`` with ``COVERING_OR_NEXT_VMA`` per VMA met, in
    ascending address order. At most VMASIM_MAX_BATCH addresses."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "addrs": ["0x555555554000", "0x555555560123", "0x1000"],
                    "flags": ["VMA_READABLE"],
                    "name": True,
                }
            ]
        },
    )

    addrs: list[U64] = Field(min_length=1)
    flags: list[QueryFlagItem] = Field(default_factory=list, max_length=16)
    name: bool = Field(default=True, description="also return each VMA's name")


class VmaBatchOut(BaseModel):
    """``vmas``: the distinct VMAs found, in address order; ``index[i]``: the position
    in ``vmas`` of the VMA covering ``addrs[i]``, or null (a hole, or a VMA ``flags``
    excludes)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 3,
                    "found": 2,
                    "queries": 2,
                    "index": [0, 1, None],
                    "vmas": [
                        {
                            "start": "0x555555554000",
                            "end": "0x555555555000",
                            "flags": ["VMA_READABLE"],
                            "page_size": 4096,
                            "offset": "0x0",
                            "inode": 1234,
                            "dev": "fe:00",
                            "name": "/usr/bin/cat",
                            "name_size": 13,
                            "build_id_size": 0,
                            "lock": "vma_lock",
                        },
                        {
                            "start": "0x555555560000",
                            "end": "0x555555581000",
                            "flags": ["VMA_READABLE", "VMA_WRITABLE"],
                            "page_size": 4096,
                            "offset": "0x0",
                            "inode": 0,
                            "dev": "00:00",
                            "name": "[heap]",
                            "name_size": 7,
                            "build_id_size": 0,
                            "lock": "vma_lock",
                        },
                    ],
                }
            ]
        }
    )

    count: int = Field(description="addresses asked")
    found: int = Field(description="addresses inside a matching VMA")
    queries: int = Field(description="distinct VMAs returned")
    index: list[int | None]
    vmas: list[VmaQueryOut]
