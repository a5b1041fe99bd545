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

import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)

from core import PAGE_SIZE
from core.fault import Access, FaultOutcome, FaultPath, SiCode
from core.maps_reader import Reader
from core.pages import PageName

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
            raise ValueError('neither an integer nor a "0x..." hex string')
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
MapCount = Annotated[
    int,
    Field(
        ge=0,
        description=(
            "VMAs in the address space, as the kernel's mm->map_count (the VMAs in the mm's "
            "tree). /maps and /smaps print one line more, the x86-64 [vsyscall] gate VMA, "
            "which is not in the tree (get_gate_vma(), arch/x86/entry/vsyscall/vsyscall_64.c) "
            "and so not counted."
        ),
    ),
]
"""Every ``map_count`` field: one definition, the kernel's."""


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
            raise ValueError(f"unknown {what} {json.dumps(value)} (known: {names})")
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
            raise ValueError(f"give either layout ({json.dumps(self.layout)}) or maps, not both")
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
    map_count: MapCount
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
    map_count: MapCount = 0


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


# -- faults (POST /processes/{pid}/faults and the batch "fault"/"touch" ops) ------------


class FaultIn(_In):
    """A user-mode page fault: the access the CPU attempted at ``addr``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_with_u64(
            [
                {"addr": "0x7ffff7ffd010", "access": "write"},
                {"addr": "0x555555554000", "access": "exec"},
            ]
        ),
    )

    addr: U64
    access: Access = Field(default="read", description="read, write or exec (instruction fetch)")


class FaultOp(FaultIn):
    """A batch ``fault``: its result carries ``fault``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_with_u64([]))

    op: Literal["fault"]


class TouchOp(_In):
    """A batch ``touch``: one fault per page of ``[addr, addr + length)`` in ascending
    order (at ``addr``, then at each page boundary), as a loop writing one byte per page
    does. Each page is one fault of the engine (a page already mapped is a spurious
    fault, still counted). Stops at the first signal unless ``stop_on_signal`` is false.
    The pages of all touch ops of a batch are bounded by VMASIM_MAX_BATCH_PAGES."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_with_u64([]),
    )

    op: Literal["touch"]
    addr: U64
    length: U64 = Field(description="bytes (at least 1)")
    access: Access = "write"
    stop_on_signal: bool = True

    @model_validator(mode="after")
    def _not_empty(self) -> TouchOp:
        if self.length == 0:
            raise ValueError(f"touch length {self.length} must be at least 1 byte")
        return self

    @property
    def pages(self) -> int:
        """Faults this op takes at most: the pages ``[addr, addr + length)`` overlaps."""
        first = self.addr & ~(PAGE_SIZE - 1)
        return (self.addr + self.length - first + PAGE_SIZE - 1) // PAGE_SIZE


class FaultOut(BaseModel):
    """What one page fault did (x86 ``do_user_addr_fault``).

    ``outcome`` is ``ok`` or the signal delivered, with ``si_code`` (``SEGV_MAPERR``,
    ``SEGV_ACCERR``, ``BUS_ADRERR``). ``path`` is where the fault completed: under the
    per-VMA lock (``vma_lock``), under ``mmap_lock`` after the per-VMA lock could not be
    taken (``mmap_lock``), under ``mmap_lock`` after the handler asked for a retry
    (``retried``), after growing a ``MAP_GROWSDOWN`` stack (``stack_expanded``), or no
    lock at all for a non-user address (``none``). ``misses`` counts RCU walks redone
    because the VMA found was detached. ``vma_start``/``vma_end`` is the VMA the fault
    resolved to; ``page`` the page now mapped (``zero``, ``anon``, ``file``, ``shmem``,
    ``cow``); ``major`` whether it counted as a major fault (page-cache miss)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "addr": "0x7ffff7ffd010",
                    "access": "write",
                    "ok": True,
                    "outcome": "ok",
                    "si_code": None,
                    "path": "vma_lock",
                    "misses": 0,
                    "vma_start": "0x7ffff7ffd000",
                    "vma_end": "0x7ffff7fff000",
                    "page": "anon",
                    "major": False,
                },
                {
                    "addr": "0x10",
                    "access": "read",
                    "ok": False,
                    "outcome": "SIGSEGV",
                    "si_code": "SEGV_MAPERR",
                    "path": "mmap_lock",
                    "misses": 0,
                    "vma_start": None,
                    "vma_end": None,
                    "page": None,
                    "major": False,
                },
            ]
        }
    )

    addr: HexStr
    access: Access
    ok: bool
    outcome: FaultOutcome
    si_code: SiCode | None = None
    path: FaultPath
    misses: int
    vma_start: HexStr | None = None
    vma_end: HexStr | None = None
    page: PageName | None = None
    major: bool


class TouchOut(BaseModel):
    """The faults of one ``touch`` op: how many were taken, how they completed, and the
    first one that delivered a signal (None if none did)."""

    faults: int = Field(description="faults taken (pages touched)")
    ok: int
    major: int
    vma_lock: int = Field(description="faults completed under the per-VMA lock")
    signals: int
    first_signal: FaultOut | None = None


BatchOp = Annotated[
    MmapOp
    | MunmapOp
    | MprotectOp
    | MremapOp
    | BrkOp
    | OpenOp
    | CloseOp
    | UnlinkOp
    | FaultOp
    | TouchOp,
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
    fault: FaultOut | None = Field(default=None, description="a fault op's outcome")
    touch: TouchOut | None = Field(default=None, description="a touch op's faults")


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


MapsReader = Reader

_SNAPSHOT_EXAMPLE: dict[str, Any] = {
    "reader": "seqcount",
    "seq_begin": 12,
    "seq_end": 12,
    "attempts": 1,
    "fell_back": False,
    "fallbacks": 0,
    "generation": 5,
    "consistent": True,
    "chunks": 1,
    "torn_at": [],
    "retry_reasons": [],
    "hold": {
        "rcu_ns": 41000,
        "mmap_lock_read_ns": 0,
        "mmap_lock_wait_ns": 0,
        "vma_read_ns": 0,
        "vma_read_max_ns": 0,
    },
}


class LockHoldOut(BaseModel):
    """Nanoseconds the read held (or waited for) each lock; ``*_max_ns`` the longest
    single hold."""

    rcu_ns: int
    mmap_lock_read_ns: int
    mmap_lock_wait_ns: int
    vma_read_ns: int
    vma_read_max_ns: int


class SnapshotMeta(BaseModel):
    """How one maps snapshot was read (``core.maps_reader.MapsSnapshot``).

    ``seq_begin``/``seq_end``: ``mm_lock_seq`` at the start and end of the walk that
    produced the lines (odd: a writer held ``mmap_lock``). ``attempts``: walks made
    (seqcount: at most ``max_retries + 1``). ``fell_back``: ``mmap_lock`` was taken
    for read (``fallbacks`` times). ``generation``: the layout generation the walk saw.
    ``consistent``: no write-lock cycle overlapped the walk. ``torn_at``: indices of
    lines that may show a later moment than the line before them (per_vma only).
    ``chunks``: seq_file reads the snapshot was assembled from."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SNAPSHOT_EXAMPLE]})

    reader: MapsReader
    seq_begin: int
    seq_end: int
    attempts: int
    fell_back: bool
    fallbacks: int
    generation: int
    consistent: bool
    chunks: int
    torn_at: list[int]
    retry_reasons: list[str]
    hold: LockHoldOut


class MapsOut(BaseModel):
    """The same snapshot as ``GET /processes/{pid}/maps``, as fields."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pid": 1000,
                    "count": 1,
                    "snapshot": _SNAPSHOT_EXAMPLE,
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
    snapshot: SnapshotMeta = Field(description="how the snapshot was read (as /maps headers)")
    vmas: list[VmaOut]


# -- maps snapshots, streams and pause points (app/snapshots.py, app/routes/stream.py,
# app/routes/pause.py) ---------------------------------------------------------------------


class MapsStreamItem(BaseModel):
    """One snapshot of a maps stream (a JSON line, or the data of an SSE ``snapshot``
    event). ``index`` counts the snapshots sent (0-based), ``elapsed`` is seconds since
    the stream started; the VMAs as fields (``format=vmas``) or the kernel's text
    (``format=text``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "index": 0,
                    "pid": 1000,
                    "elapsed": 0.0,
                    "count": 1,
                    "snapshot": _SNAPSHOT_EXAMPLE,
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

    index: int
    pid: int
    elapsed: float
    count: int = Field(description="number of maps lines")
    snapshot: SnapshotMeta
    vmas: list[VmaOut] | None = None
    text: str | None = None


class PausePointOut(BaseModel):
    """A pause point the engine has, and the window it opens."""

    name: str = Field(examples=["munmap:before_clear"])
    description: str


class PausePointList(BaseModel):
    """Every known pause point, by name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "points": [
                        {
                            "name": "munmap:before_clear",
                            "description": "do_vmi_align_munmap: splits done ...",
                        }
                    ]
                }
            ]
        }
    )

    points: list[PausePointOut]


class PauseArmIn(_In):
    """Arm a pause point: from its ``hit``-th hit on (counted from now), ``count``
    operations park there until released or ``timeout`` seconds pass."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "munmap:before_clear"},
                {"name": "maps:per_vma_between_vmas", "hit": 3, "timeout": 5},
            ]
        },
    )

    name: str = Field(min_length=1, max_length=64, examples=["munmap:before_clear"])
    hit: int = Field(default=1, ge=1, le=1_000_000, description="hold from this hit on")
    count: int = Field(default=1, ge=1, le=1_000_000, description="operations to hold")
    timeout: float | None = Field(
        default=None, gt=0, le=300, description="seconds a hold lasts (engine default 10)"
    )


class HeldOut(BaseModel):
    """An operation parked at a pause point."""

    hold_id: int
    point: str = Field(examples=["munmap:before_clear"])
    op: str = Field(examples=["munmap"], description="the syscall, or maps/fault/...")
    thread: str
    held_for: float = Field(description="seconds parked so far")
    hit: int


class ArmedPointOut(BaseModel):
    """Counters of one point that is armed or has been hit."""

    name: str
    armed: bool
    hits: int
    holds: int
    timeouts: int
    held: int


class PauseStateOut(BaseModel):
    """The pause points of one process: armed points, held operations, limits."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pid": 1000,
                    "limit": 8,
                    "default_timeout": 10.0,
                    "points": [
                        {
                            "name": "munmap:before_clear",
                            "armed": False,
                            "hits": 1,
                            "holds": 1,
                            "timeouts": 0,
                            "held": 1,
                        }
                    ],
                    "held": [
                        {
                            "hold_id": 1,
                            "point": "munmap:before_clear",
                            "op": "munmap",
                            "thread": "AnyIO worker thread",
                            "held_for": 0.25,
                            "hit": 1,
                        }
                    ],
                    "timeouts": 0,
                }
            ]
        }
    )

    pid: int
    limit: int = Field(description="VMASIM_MAX_PAUSE_POINTS in force")
    default_timeout: float
    points: list[ArmedPointOut]
    held: list[HeldOut]
    timeouts: int = Field(description="holds that ended by timeout")


class PauseReleaseIn(_In):
    """Release one hold (``hold_id``), every hold at a point (``name``), or everything
    held in the process (empty body)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"hold_id": 1}, {"name": "munmap:before_clear"}]},
    )

    hold_id: int | None = Field(default=None, ge=1, le=U64_MAX)
    name: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_target(self) -> PauseReleaseIn:
        if self.hold_id is not None and self.name is not None:
            raise ValueError(
                f"give hold_id ({self.hold_id}) or name ({json.dumps(self.name)}), not both"
            )
        return self


class PauseReleaseOut(BaseModel):
    """How many holds were released."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"released": 1}]})

    released: int


class HealthOut(BaseModel):
    """Liveness."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


# -- fork ----------------------------------------------------------------------------------


class ForkIn(_In):
    """``fork(2)`` options: the child's name (default: the parent's)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [{"name": "child"}, {}]}
    )

    name: str | None = Field(
        default=None, min_length=1, max_length=15, description="comm, 1-15 characters"
    )


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
    try:
        value = int(item, 0)
    except ValueError:
        raise ValueError(
            f"unknown PROCMAP_QUERY flag {json.dumps(item)} (known: {', '.join(QUERY_FLAG_BITS)}, "
            "or a number)"
        ) from None
    if not 0 <= value <= U64_MAX:
        raise ValueError(f"PROCMAP_QUERY flag {json.dumps(item)} is not a 64-bit unsigned value")
    return value


def _check_query_flag(item: str) -> str:
    query_flag_bits(item)
    return item


QueryFlagItem = Annotated[
    str,
    Field(max_length=40, examples=["COVERING_OR_NEXT_VMA"]),
    AfterValidator(_check_query_flag),
]


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
    Field(pattern=r"^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$", examples=["0x555555560123"]),
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


class VmaBatchIn(_In):
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


# -- statistics (GET /vmstat) ------------------------------------------------------------


class VmEventsOut(BaseModel):
    """``/proc/vmstat``'s per-VMA-lock events (``count_vm_vma_lock_event``) and fault
    counts: ``vma_lock_success`` (fault completed under the VMA lock), ``_abort`` (fell
    back to ``mmap_lock``), ``_retry`` (handler asked for a retry under ``mmap_lock``),
    ``_miss`` (the VMA found was detached; walk redone), ``pgfault``, ``pgmajfault``."""

    vma_lock_success: int
    vma_lock_abort: int
    vma_lock_retry: int
    vma_lock_miss: int
    pgfault: int
    pgmajfault: int


class RwsemOut(BaseModel):
    """An rw-semaphore's holders, waiters and acquisition counters (wait times in s)."""

    readers: int
    writer: str | None = None
    waiting_readers: int
    waiting_writers: int
    read_acquisitions: int
    write_acquisitions: int
    read_contended: int
    write_contended: int
    read_wait_total_s: float
    write_wait_total_s: float
    read_wait_max_s: float
    write_wait_max_s: float
    timeouts: int


class MmapLockOut(BaseModel):
    """One mm's ``mmap_lock``: ``mm_lock_seq``, whether it is write-locked now, the
    write-lock cycles, and the rw-semaphore's counters."""

    seq: int
    write_locked: bool
    write_cycles: int
    rwsem: RwsemOut


class QueryStatsOut(BaseModel):
    """``PROCMAP_QUERY`` counters (the kernel has none; see ``core.procmap_query``):
    calls and outcomes, and how each VMA examined was locked."""

    queries: int
    found: int
    enoent: int
    rejected: int
    vma_locked: int
    mmap_lock_assisted: int
    mmap_locked: int
    detached_retries: int
    gap_rechecks: int


class RssOut(BaseModel):
    """Resident pages by RSS counter (``MM_FILEPAGES``, ``MM_ANONPAGES``,
    ``MM_SHMEMPAGES``, ``MM_SWAPENTS``)."""

    file: int
    anon: int
    shmem: int
    swapents: int


class ProcessVmstatOut(BaseModel):
    """One process: its events, fault counts (``min_flt``/``maj_flt`` as in
    ``/proc/<pid>/stat``), resident pages, VMAs and lock statistics."""

    pid: int
    name: str
    map_count: MapCount
    min_flt: int
    maj_flt: int
    rss: RssOut
    events: VmEventsOut
    mmap_lock: MmapLockOut
    procmap_query: QueryStatsOut


class RcuOut(BaseModel):
    """The kernel-wide RCU domain: readers now, grace periods, deferred frees."""

    readers_in_section: int
    registered_threads: int
    grace_periods: int
    readers_blocking_gp: int
    pending_callbacks: int
    callbacks_run: int
    callback_errors: int


class PageLockOut(BaseModel):
    """The page-table/page-cache lock (one, kernel-wide)."""

    locked: bool
    acquisitions: int
    contended: int


class ServiceStatsOut(BaseModel):
    """The service's process table: live, being created, the limit, counters."""

    processes: int
    reserved: int
    limit: int
    spawned: int
    rejected: int


_ZERO_EVENTS = dict.fromkeys(
    (
        "vma_lock_success",
        "vma_lock_abort",
        "vma_lock_retry",
        "vma_lock_miss",
        "pgfault",
        "pgmajfault",
    ),
    0,
)


class VmstatOut(BaseModel):
    """Machine-wide counters (``events`` sums every process that ever ran), the
    kernel-wide locks, and each live process (or the one asked for)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": {**_ZERO_EVENTS, "vma_lock_success": 3, "pgfault": 3},
                    "procmap_query": {
                        "queries": 1,
                        "found": 1,
                        "enoent": 0,
                        "rejected": 0,
                        "vma_locked": 1,
                        "mmap_lock_assisted": 0,
                        "mmap_locked": 0,
                        "detached_retries": 0,
                        "gap_rechecks": 0,
                    },
                    "rcu": {
                        "readers_in_section": 0,
                        "registered_threads": 2,
                        "grace_periods": 4,
                        "readers_blocking_gp": 0,
                        "pending_callbacks": 0,
                        "callbacks_run": 4,
                        "callback_errors": 0,
                    },
                    "page_lock": {"locked": False, "acquisitions": 3, "contended": 0},
                    "service": {
                        "processes": 1,
                        "reserved": 0,
                        "limit": 256,
                        "spawned": 1,
                        "rejected": 0,
                    },
                    "processes": [],
                }
            ]
        }
    )

    events: VmEventsOut
    procmap_query: QueryStatsOut
    rcu: RcuOut
    page_lock: PageLockOut
    service: ServiceStatsOut
    processes: list[ProcessVmstatOut]


ProcessList.model_rebuild()
MapsOut.model_rebuild()
