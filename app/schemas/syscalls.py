"""The memory syscalls: ``POST /processes/{pid}/{mmap,munmap,mprotect,mremap,brk}`` and
``madvise`` and the locking, sealing and naming calls (``mlock``, ``mlock2``,
``munlock``, ``mlockall``, ``munlockall``, ``mseal``, ``prctl``)."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from core import PAGE_SIZE

from .common import (
    U64,
    Fd,
    HexStr,
    InModel,
    MadviseAdvice,
    MapItem,
    MclItem,
    MlockItem,
    MremapItem,
    PrctlOption,
    ProtItem,
    PrSetVmaAttr,
    with_u64,
)

# -- syscalls ----------------------------------------------------------------------------


class MmapIn(InModel):
    """``mmap(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64(
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


class MunmapIn(InModel):
    """``munmap(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64([{"addr": "0x7ffff7ffd000", "length": 8192}]),
    )

    addr: U64
    length: U64


class MprotectIn(InModel):
    """``mprotect(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64(
            [{"addr": "0x7ffff7ffd000", "length": 8192, "prot": ["PROT_READ"]}]
        ),
    )

    addr: U64
    length: U64
    prot: list[ProtItem] = Field(max_length=32)


class MremapIn(InModel):
    """``mremap(2)`` arguments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64(
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


class BrkIn(InModel):
    """``brk(2)``: the requested break (0 asks for the current one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64([{"addr": "0x55555557a000"}, {"addr": 0}]),
    )

    addr: U64


class RangeIn(InModel):
    """A range: ``addr`` is rounded down to its page, ``addr + length`` up."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64([{"addr": "0x7ffff7ffd000", "length": 8192}]),
    )

    addr: U64
    length: U64


class MadviseIn(RangeIn):
    """``madvise(2)`` arguments: the advice by name (``MADV_DONTNEED``...) or value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64(
            [{"addr": "0x7ffff7ffd000", "length": 8192, "advice": "MADV_DONTNEED"}]
        ),
    )

    advice: MadviseAdvice


class MlockIn(RangeIn):
    """``mlock(2)`` arguments."""


class MunlockIn(RangeIn):
    """``munlock(2)`` arguments."""


class Mlock2In(RangeIn):
    """``mlock2(2)`` arguments: ``MLOCK_ONFAULT`` locks without faulting in."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64(
            [{"addr": "0x7ffff7ffd000", "length": 8192, "flags": ["MLOCK_ONFAULT"]}]
        ),
    )

    flags: list[MlockItem] = Field(default_factory=list, max_length=8)


class MlockallIn(InModel):
    """``mlockall(2)`` flags: at least one of ``MCL_CURRENT``/``MCL_FUTURE``, optionally
    with ``MCL_ONFAULT`` (the kernel's EINVAL otherwise)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"flags": ["MCL_CURRENT", "MCL_FUTURE"]}]},
    )

    flags: list[MclItem] = Field(max_length=8)


class MunlockallIn(InModel):
    """``munlockall(2)`` takes no argument (the batch op's body)."""


class MsealIn(RangeIn):
    """``mseal(2)`` arguments: ``addr`` must be page aligned; ``flags`` is reserved
    (0; anything else is the kernel's EINVAL)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64([{"addr": "0x7ffff7ffd000", "length": 8192, "flags": 0}]),
    )

    flags: U64 = 0


class PrctlIn(InModel):
    """``prctl(option, attr, addr, size, name)``: the simulator has ``PR_SET_VMA`` with
    ``PR_SET_VMA_ANON_NAME`` (name anonymous memory; ``name`` null clears it). Other
    values are the kernel's EINVAL."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64(
            [
                {
                    "option": "PR_SET_VMA",
                    "attr": "PR_SET_VMA_ANON_NAME",
                    "addr": "0x7ffff7ffd000",
                    "size": 8192,
                    "name": "jit-code",
                }
            ]
        ),
    )

    option: PrctlOption = "PR_SET_VMA"
    attr: PrSetVmaAttr = "PR_SET_VMA_ANON_NAME"
    addr: U64
    size: U64
    name: str | None = Field(
        max_length=4096,
        description="the name (at most 79 bytes of printable ASCII without \\`$[]: "
        "the kernel's EINVAL otherwise), or null to clear it",
    )


class AddrOut(BaseModel):
    """The address a syscall returned."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"addr": "0x7ffff7ffd000"}]})

    addr: HexStr


class BrkOut(BaseModel):
    """The program break after ``brk(2)`` (the old one when it failed: brk has no errno)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"brk": "0x55555557a000"}]})

    brk: HexStr
