"""Processes, their files and fork (``/processes``, ``/processes/{pid}/files``,
``/processes/{pid}/fork``)."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from .common import HexStr, InModel, MapCount, OpenItem, Path

# -- processes ---------------------------------------------------------------------------


class ProcessIn(InModel):
    """A new process: an empty address space, the typical layout of a program, or the
    layout in the text of a real ``/proc/<pid>/maps``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {"required": ["layout", "maps"]},  # one source at most
            "examples": [
                {"name": "demo", "layout": "typical"},
                {"name": "empty"},
                {
                    "name": "imported",
                    "maps": "555555554000-555555556000 r--p 00000000 fe:00 1234"
                    "                       /usr/bin/cat\n",
                },
            ],
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


class FileIn(InModel):
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


# -- fork ----------------------------------------------------------------------------------


class ForkIn(InModel):
    """``fork(2)`` options: the child's name (default: the parent's)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [{"name": "child"}, {}]}
    )

    name: str | None = Field(
        default=None, min_length=1, max_length=15, description="comm, 1-15 characters"
    )


ProcessList.model_rebuild()
