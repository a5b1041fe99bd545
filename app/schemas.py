"""Request and response models (pydantic v2): the REST API's vocabulary.

Conventions:

* Addresses, lengths and offsets are accepted as JSON integers or ``"0x..."`` strings
  (:data:`U64`) and returned as lowercase ``"0x..."`` strings (:func:`hex_addr`).
* ``prot``/``flags`` are lists of Linux names (:mod:`app.flags`); an item may also be
  a raw non-negative integer. An unknown name is a 422 naming it.
* Requests forbid unknown fields, so a typo (``"lenght"``) is an error, not a default.
* The batch operation is a discriminated union on ``"op"``; new kinds (``"fault"``)
  are new members of :data:`BatchOp`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from core import PAGE_SIZE

from .flags import (
    MAP_BITS,
    MREMAP_BITS,
    OPEN_BITS,
    PROT_BITS,
    MapName,
    MremapName,
    OpenName,
    ProtName,
)

U64_MAX = (1 << 64) - 1
_HEX = re.compile(r"0[xX][0-9a-fA-F]{1,16}")
HEX_PATTERN = r"^0x[0-9a-f]+$"


def _parse_u64(value: object) -> object:
    """Accept ``"0x..."`` strings; let integers through to the range check."""
    if isinstance(value, str):
        if not _HEX.fullmatch(value):
            raise ValueError(f"{value!r} is neither an integer nor a '0x...' hex string")
        return int(value, 16)
    return value


U64 = Annotated[
    int,
    Strict(),
    Field(ge=0, le=U64_MAX, description='an integer, or a string like "0x7ffff7ffd000"'),
    BeforeValidator(_parse_u64),
]
"""A 64-bit unsigned value (address, length, offset), as an integer or a hex string."""

# The JSON schema of U64 for clients: integer or hex string.
_U64_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": U64_MAX},
        {"type": "string", "pattern": r"^0[xX][0-9a-fA-F]{1,16}$"},
    ]
}

Fd = Annotated[int, Strict(), Field(ge=-(1 << 31), lt=1 << 31)]
HexStr = Annotated[str, Field(pattern=HEX_PATTERN, examples=["0x7ffff7ffd000"])]


def hex_addr(value: int) -> str:
    """The API's address format: lowercase hex with ``0x``.

    >>> hex_addr(0x7FFFF7FFD000), hex_addr(0)
    ('0x7ffff7ffd000', '0x0')
    """
    return f"{value:#x}"


def _known(table: dict[str, int], what: str) -> BeforeValidator:
    names = ", ".join(table)

    def check(value: object) -> object:
        if isinstance(value, str) and value not in table:
            raise ValueError(f"unknown {what} {value!r} (known: {names})")
        return value

    return BeforeValidator(check)


_Bits = Annotated[int, Strict(), Field(ge=0, le=U64_MAX)]
ProtItem = Annotated[ProtName | _Bits, _known(PROT_BITS, "protection flag")]
MapItem = Annotated[MapName | _Bits, _known(MAP_BITS, "mmap flag")]
MremapItem = Annotated[MremapName | _Bits, _known(MREMAP_BITS, "mremap flag")]
OpenItem = Annotated[OpenName | _Bits, _known(OPEN_BITS, "open flag")]
Path = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4095,
        pattern=r"^/[^\x00]*$",
        description="an absolute path without NUL bytes (PATH_MAX 4095)",
        examples=["/tmp/data.bin"],
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _with_u64(examples: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` for a model with U64 fields: document them as "integer or
    hex string" (pydantic only sees the integer) and attach ``examples``."""

    def extra(schema: dict[str, Any]) -> None:
        for prop in schema.get("properties", {}).values():
            if prop.get("type") == "integer" and prop.get("maximum") == U64_MAX:
                keep = {k: v for k, v in prop.items() if k in ("default", "title", "description")}
                prop.clear()
                prop.update(keep, **_U64_SCHEMA)
        if examples:
            schema["examples"] = examples
        else:
            schema.pop("examples", None)

    return extra


# -- processes ---------------------------------------------------------------------------


class ProcessIn(_In):
    """A new process: an empty address space, the typical layout of a program, or the
    layout in the text of a real ``/proc/<pid>/maps``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "demo", "layout": "typical"},
                {"name": "empty"},
                {
                    "name": "imported",
                    "maps": "555555554000-555555556000 r--p 00000000 fe:00 1234"
                    "                       /usr/bin/cat\n",
                },
            ]
        },
    )

    name: str = Field(
        default="sim", min_length=1, max_length=15, description="comm, 1-15 characters"
    )
    layout: Literal["empty", "typical"] | None = Field(
        None, description='"empty" (default) or "typical"; not together with "maps"'
    )
    maps: str | None = Field(
        None, description="the text of a real /proc/<pid>/maps to import as the layout"
    )

    @model_validator(mode="after")
    def _one_source(self) -> ProcessIn:
        if self.layout is not None and self.maps is not None:
            raise ValueError(f"give either layout ({self.layout!r}) or maps, not both")
        return self


class FileOut(BaseModel):
    """One open file descriptor."""

    fd: int = Field(examples=[3])
    path: str = Field(examples=["/tmp/data.bin"])
    readable: bool
    writable: bool
    size: int = Field(description="file size in bytes", examples=[65536])
    unlinked: bool = False


class ProcessOut(BaseModel):
    """A process and the counters of its address space (pages, as /proc/<pid>/status)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pid": 1000,
                    "name": "demo",
                    "map_count": 24,
                    "total_vm": 650,
                    "data_vm": 35,
                    "exec_vm": 470,
                    "stack_vm": 33,
                    "start_brk": "0x555555559000",
                    "brk": "0x55555557a000",
                    "files": [],
                }
            ]
        }
    )

    pid: int
    name: str
    map_count: int = Field(description="number of VMAs")
    total_vm: int
    data_vm: int
    exec_vm: int
    stack_vm: int
    start_brk: HexStr
    brk: HexStr
    files: list[FileOut]


class ProcessList(BaseModel):
    """Every live process, by pid."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"count": 1, "limit": 256, "processes": [{"pid": 1000, "name": "demo"}]}]
        }
    )

    count: int
    limit: int = Field(description="VMASIM_MAX_PROCESSES in force")
    processes: list[ProcessSummary]


class ProcessSummary(BaseModel):
    """pid, name and VMA count."""

    pid: int
    name: str
    map_count: int = 0


# -- files -------------------------------------------------------------------------------


def _rdwr() -> list[OpenItem]:
    return ["O_RDWR"]


class FileIn(_In):
    """``open(2)`` with ``O_CREAT``; a given ``size`` truncates the file to it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"path": "/tmp/data.bin", "flags": ["O_RDWR"], "size": 65536}]
        },
    )

    path: Path
    flags: list[OpenItem] = Field(default_factory=_rdwr, max_length=8)
    size: int | None = Field(
        default=None, ge=0, le=(1 << 63) - 1, description="bytes; None keeps it"
    )


# -- syscalls ----------------------------------------------------------------------------


class MmapIn(_In):
    """``mmap(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_with_u64(
            [
                {
                    "addr": 0,
                    "length": 6 * PAGE_SIZE,
                    "prot": ["PROT_READ", "PROT_WRITE"],
                    "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"],
                },
                {
                    "addr": "0x100000000000",
                    "length": "0x2000",
                    "prot": ["PROT_READ"],
                    "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
                },
            ]
        ),
    )

    addr: U64 = 0
    length: U64
    prot: list[ProtItem] = Field(max_length=32)
    flags: list[MapItem] = Field(max_length=32)
    fd: Fd = -1
    offset: U64 = 0


class MunmapIn(_In):
    """``munmap(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_with_u64([{"addr": "0x7ffff7ffd000", "length": 8192}]),
    )

    addr: U64
    length: U64


class MprotectIn(_In):
    """``mprotect(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_with_u64(
            [{"addr": "0x7ffff7ffd000", "length": 8192, "prot": ["PROT_READ"]}]
        ),
    )

    addr: U64
    length: U64
    prot: list[ProtItem] = Field(max_length=32)


class MremapIn(_In):
    """``mremap(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_with_u64(
            [
                {
                    "old_addr": "0x7ffff7ffd000",
                    "old_len": 8192,
                    "new_len": 16384,
                    "flags": ["MREMAP_MAYMOVE"],
                }
            ]
        ),
    )

    old_addr: U64
    old_len: U64
    new_len: U64
    flags: list[MremapItem] = Field(default_factory=list, max_length=8)
    new_addr: U64 = 0


class BrkIn(_In):
    """``brk(2)``: the requested break (0 asks for the current one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_with_u64([{"addr": "0x55555557a000"}, {"addr": 0}]),
    )

    addr: U64


class AddrOut(BaseModel):
    """The address a syscall returned."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"addr": "0x7ffff7ffd000"}]})

    addr: HexStr


class BrkOut(BaseModel):
    """The program break after ``brk(2)`` (the old one when it failed: brk has no errno)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"brk": "0x55555557a000"}]})

    brk: HexStr


# -- batch -------------------------------------------------------------------------------


class MmapOp(MmapIn):
    """A batch ``mmap``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_with_u64([]))

    op: Literal["mmap"]


class MunmapOp(MunmapIn):
    """A batch ``munmap``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_with_u64([]))

    op: Literal["munmap"]


class MprotectOp(MprotectIn):
    """A batch ``mprotect``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_with_u64([]))

    op: Literal["mprotect"]


class MremapOp(MremapIn):
    """A batch ``mremap``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_with_u64([]))

    op: Literal["mremap"]


class BrkOp(BrkIn):
    """A batch ``brk``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_with_u64([]))

    op: Literal["brk"]


class OpenOp(FileIn):
    """A batch ``open``: its result carries the fd."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=None)

    op: Literal["open"]


class CloseOp(_In):
    """A batch ``close``."""

    op: Literal["close"]
    fd: Fd


class UnlinkOp(_In):
    """A batch ``unlink``: mappings of the file then show ``(deleted)``."""

    op: Literal["unlink"]
    path: Path


BatchOp = Annotated[
    MmapOp | MunmapOp | MprotectOp | MremapOp | BrkOp | OpenOp | CloseOp | UnlinkOp,
    Field(discriminator="op"),
]
"""One operation of a batch; ``"op"`` selects the kind."""


class BatchIn(_In):
    """Operations executed in order, each as its own syscall (other requests may run
    between two of them). Size bounded by VMASIM_MAX_BATCH."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ops": [
                        {
                            "op": "mmap",
                            "addr": "0x100000000000",
                            "length": "0x6000",
                            "prot": ["PROT_READ", "PROT_WRITE"],
                            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
                        },
                        {
                            "op": "mprotect",
                            "addr": "0x100000002000",
                            "length": "0x2000",
                            "prot": ["PROT_READ"],
                        },
                        {"op": "munmap", "addr": "0x100000000000", "length": 0},
                    ]
                }
            ]
        },
    )

    ops: list[BatchOp] = Field(min_length=1)
    stop_on_error: bool = Field(default=False, description="stop at the first failing operation")


class OpResult(BaseModel):
    """The outcome of one operation. A failure carries the errno (``SyscallError``) or,
    for a non-syscall engine error, its class name in ``error``."""

    index: int
    op: str
    ok: bool
    addr: HexStr | None = Field(default=None, description="mmap/mremap address, brk's break")
    fd: int | None = Field(default=None, description="open's file descriptor")
    errno: int | None = Field(default=None, examples=[12])
    errno_name: str | None = Field(default=None, examples=["ENOMEM"])
    error: str | None = Field(
        default=None, description="engine error class when not a syscall error"
    )
    detail: str | None = None


class BatchOut(BaseModel):
    """One result per executed operation, in order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "completed": 3,
                    "failed": 1,
                    "results": [
                        {"index": 0, "op": "mmap", "ok": True, "addr": "0x100000000000"},
                        {"index": 1, "op": "mprotect", "ok": True},
                        {
                            "index": 2,
                            "op": "munmap",
                            "ok": False,
                            "errno": 22,
                            "errno_name": "EINVAL",
                            "detail": "munmap: EINVAL (Invalid argument): length is 0",
                        },
                    ],
                }
            ]
        }
    )

    completed: int = Field(description="operations executed")
    failed: int = Field(description="operations that failed")
    results: list[OpResult]


# -- /proc views -------------------------------------------------------------------------


class VmaOut(BaseModel):
    """One maps line as fields. ``addr``, ``perms``, ``path`` and ``size`` have
    psutil's ``memory_maps(grouped=False)`` names and formats."""

    addr: str = Field(description="psutil style: start-end in hex without 0x")
    start: HexStr
    end: HexStr
    perms: str = Field(examples=["rw-p"])
    offset: HexStr
    dev: str = Field(examples=["fe:00"])
    inode: int
    path: str = Field(description="file path, [heap]/[stack]/..., or empty")
    size: int = Field(description="bytes")


class MapsOut(BaseModel):
    """The same snapshot as ``GET /processes/{pid}/maps``, as fields."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pid": 1000,
                    "count": 1,
                    "vmas": [
                        {
                            "addr": "7ffff7ffd000-7ffff7fff000",
                            "start": "0x7ffff7ffd000",
                            "end": "0x7ffff7fff000",
                            "perms": "rw-p",
                            "offset": "0x0",
                            "dev": "00:00",
                            "inode": 0,
                            "path": "",
                            "size": 8192,
                        }
                    ],
                }
            ]
        }
    )

    pid: int
    count: int
    vmas: list[VmaOut]


class HealthOut(BaseModel):
    """Liveness."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


ProcessList.model_rebuild()
