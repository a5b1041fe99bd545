"""``POST /processes/{pid}/syscalls``: operations in order, one result each."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from .common import Fd, HexStr, InModel, Path, with_u64
from .faults import FaultOp, FaultOut, TouchOp, TouchOut
from .processes import FileIn
from .syscalls import (
    BrkIn,
    MadviseIn,
    Mlock2In,
    MlockallIn,
    MlockIn,
    MmapIn,
    MprotectIn,
    MremapIn,
    MsealIn,
    MunlockallIn,
    MunlockIn,
    MunmapIn,
    PrctlIn,
)

# -- batch -------------------------------------------------------------------------------


class MmapOp(MmapIn):
    """A batch ``mmap``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["mmap"]


class MunmapOp(MunmapIn):
    """A batch ``munmap``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["munmap"]


class MprotectOp(MprotectIn):
    """A batch ``mprotect``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["mprotect"]


class MremapOp(MremapIn):
    """A batch ``mremap``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["mremap"]


class BrkOp(BrkIn):
    """A batch ``brk``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["brk"]


class MadviseOp(MadviseIn):
    """A batch ``madvise``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["madvise"]


class MlockOp(MlockIn):
    """A batch ``mlock``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["mlock"]


class Mlock2Op(Mlock2In):
    """A batch ``mlock2``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["mlock2"]


class MunlockOp(MunlockIn):
    """A batch ``munlock``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["munlock"]


class MlockallOp(MlockallIn):
    """A batch ``mlockall``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=None)

    op: Literal["mlockall"]


class MunlockallOp(MunlockallIn):
    """A batch ``munlockall``."""

    op: Literal["munlockall"]


class MsealOp(MsealIn):
    """A batch ``mseal``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["mseal"]


class PrctlOp(PrctlIn):
    """A batch ``prctl`` (``PR_SET_VMA``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["prctl"]


class OpenOp(FileIn):
    """A batch ``open``: its result carries the fd."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=None)

    op: Literal["open"]


class CloseOp(InModel):
    """A batch ``close``."""

    op: Literal["close"]
    fd: Fd


class UnlinkOp(InModel):
    """A batch ``unlink``: mappings of the file then show ``(deleted)``."""

    op: Literal["unlink"]
    path: Path


BatchOp = Annotated[
    MmapOp
    | MunmapOp
    | MprotectOp
    | MremapOp
    | BrkOp
    | MadviseOp
    | MlockOp
    | Mlock2Op
    | MunlockOp
    | MlockallOp
    | MunlockallOp
    | MsealOp
    | PrctlOp
    | OpenOp
    | CloseOp
    | UnlinkOp
    | FaultOp
    | TouchOp,
    Field(discriminator="op"),
]
"""One operation of a batch; ``"op"`` selects the kind."""


class BatchIn(InModel):
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
    results: Literal["all", "failed"] = Field(
        default="all",
        description=(
            "`all`: a result per executed operation; `failed`: only the results that are "
            "not `ok` (each with its `index`), `completed` and `failed` still count every "
            "operation -- for bulk builds, whose successes the client does not need"
        ),
    )


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
    """One result per executed operation (or per failed one: ``results: "failed"``), in
    order."""

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
    results: list[OpResult] = Field(
        description="one per executed operation, in order; only the failed ones if asked"
    )
