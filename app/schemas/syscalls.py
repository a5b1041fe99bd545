"""The memory syscalls: ``POST /processes/{pid}/{mmap,munmap,mprotect,mremap,brk}``."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from core import PAGE_SIZE

from .common import U64, Fd, HexStr, InModel, MapItem, MremapItem, ProtItem, with_u64

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


class AddrOut(BaseModel):
    """The address a syscall returned."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"addr": "0x7ffff7ffd000"}]})

    addr: HexStr


class BrkOut(BaseModel):
    """The program break after ``brk(2)`` (the old one when it failed: brk has no errno)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"brk": "0x55555557a000"}]})

    brk: HexStr
