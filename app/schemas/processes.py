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
from pydantic.config import JsonDict

from core.constants import U64_MAX

from .common import HexStr, InModel, MapCount, OpenItem, Path

# -- execve ------------------------------------------------------------------------------


class ExecIn(InModel):
    """``execve(2)`` of a program on the server's machine: the address space the kernel
    builds before its first instruction (the program's segments, its interpreter, the
    stack holding ``argv`` and ``envp``, the vDSO and the break)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"path": "/usr/bin/ls", "argv": ["ls", "-l"], "envp": ["LANG=C"]},
                {"path": "/usr/bin/python3", "aslr": True, "seed": 42},
            ]
        },
    )

    path: Path = Field(
        description="absolute path of an executable or #! script on the server's machine"
    )
    argv: list[str] | None = Field(
        default=None,
        description="the arguments, argv[0] included (default: [path]); an empty list "
        'is run with one empty argument, as Linux does ([""])',
    )
    envp: list[str] | dict[str, str] = Field(
        default_factory=list,
        description='the environment, as "NAME=value" strings or an object (default: '
        "empty). Its bytes, like argv's, decide how many pages the stack starts with",
    )
    aslr: bool = Field(
        default=False,
        description="randomise the layout as the kernel does with ASLR on (false: as "
        "under setarch -R, deterministic and comparable with a real run)",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=U64_MAX,
        description="with aslr: the seed of the random draws (default: drawn, and "
        "reported in the process's image)",
    )

    def arguments(self) -> list[str]:
        """``argv``, defaulting to ``[path]``."""
        return [self.path] if self.argv is None else self.argv


class ImageOut(BaseModel):
    """What the last execve loaded into the process."""

    filename: str = Field(description="the path execve was given")
    executable: str = Field(description="the ELF file mapped (symlinks resolved)")
    interpreter: str | None = Field(description="its PT_INTERP loader, mapped too")
    scripts: list[str] = Field(description="the #! scripts on the way, outermost first")
    argv: list[str] = Field(description="argv as the program sees it (#! rewrites it)")
    load_bias: HexStr
    entry: HexStr = Field(description="the program's entry point")
    interp_base: HexStr = Field(description="AT_BASE: where the interpreter was loaded")
    stack_pointer: HexStr = Field(description="the initial stack pointer (argc)")
    aslr: bool
    seed: int | None = Field(description="the seed of an ASLR layout")


# -- processes ---------------------------------------------------------------------------


#: JSON Schema of a source of ``ProcessIn`` that is given (not null).
_GIVEN: dict[str, JsonDict] = {
    "layout": {"type": "string"},
    "maps": {"type": "string"},
    "exec": {"type": "object"},
}


class ProcessIn(InModel):
    """A new process: an empty address space, the typical layout of a program, the
    layout in the text of a real ``/proc/<pid>/maps``, or a program run by execve."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # one source at most (null is no source)
            "not": {
                "anyOf": [
                    {"required": list(pair), "properties": {k: _GIVEN[k] for k in pair}}
                    for pair in (("layout", "maps"), ("layout", "exec"), ("maps", "exec"))
                ]
            },
            "examples": [
                {"name": "demo", "layout": "typical"},
                {"name": "empty"},
                {
                    "name": "imported",
                    "maps": "555555554000-555555556000 r--p 00000000 fe:00 1234"
                    "                       /usr/bin/cat\n",
                },
                {"exec": {"path": "/usr/bin/ls", "argv": ["ls", "-l"]}},
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
    exec: ExecIn | None = Field(
        None,
        description="run a program: the layout execve builds for it (the name defaults "
        "to the program's file name)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> ProcessIn:
        # Sent, even as null: the document's "not both required" is about members.
        given = [k for k in ("layout", "maps", "exec") if k in self.model_fields_set]
        shown = [f"layout ({json.dumps(self.layout)})" if k == "layout" else k for k in given]
        if len(given) == 2:
            raise ValueError(f"give either {shown[0]} or {shown[1]}, not both")
        if len(given) > 2:
            raise ValueError("give one of layout, maps or exec, not all three")
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
                    "locked_vm": 0,
                    "start_brk": "0x555555559000",
                    "brk": "0x55555557a000",
                    "start_code": "0x555555556000",
                    "end_code": "0x55555555b000",
                    "start_stack": "0x7fffffffee30",
                    "mmap_base": "0x7ffff7fff000",
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
    locked_vm: int = Field(
        description="pages of locked VMAs (mlock, mlock2, mlockall, MAP_LOCKED): "
        "status VmLck in pages"
    )
    start_brk: HexStr
    brk: HexStr
    start_code: HexStr = Field(
        description="the program's code (VmExe and statm's text span start_code..end_code)"
    )
    end_code: HexStr
    start_stack: HexStr = Field(description="the initial stack pointer; labels [stack]")
    mmap_base: HexStr = Field(description="the top of the top-down mmap area")
    files: list[FileOut]
    image: ImageOut | None = Field(
        default=None, description="what execve loaded, for a process created by exec"
    )


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
