"""``/processes/{pid}/{smaps,smaps_rollup,status,statm}``: the engine's /proc texts.

Each body is the engine's text unchanged (``core.smaps``), which prints what
fs/proc/task_mmu.c prints on the 6.18 host: ``show_smap``, ``show_smaps_rollup``,
``task_mem`` (the memory lines of ``status``) and ``task_statm``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from core import Mm, NoSuchProcess
from core.smaps import render_smaps, render_smaps_rollup, render_statm, render_status_memory

from ..deps import ProcessDep, ServiceDep
from ..errors import responses
from ..jsonbody import JsonRoute

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["proc"])


class ProcTextResponse(PlainTextResponse):
    """``text/plain; charset=utf-8``: the bytes of a /proc file."""

    media_type = "text/plain"


_KB = "{:<16}{:>8} kB\n".format
SMAPS_EXAMPLE = (
    "7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 \n"
    + _KB("Size:", 8)
    + _KB("KernelPageSize:", 4)
    + _KB("MMUPageSize:", 4)
    + _KB("Rss:", 4)
    + _KB("Pss:", 4)
    + "...\n"
    + "VmFlags: rd wr mr mw me ac \n"
)
ROLLUP_EXAMPLE = (
    "7ffff7ffd000-7ffff7fff000 ---p 00000000 00:00 0" + " " * 26 + "[rollup]\n"
    + _KB("Rss:", 4)
    + "...\n"
)  # fmt: skip
STATUS_EXAMPLE = "VmPeak:\t       8 kB\nVmSize:\t       8 kB\n...\nHugetlbPages:\t       0 kB\n"
STATM_EXAMPLE = "2 1 0 0 0 2 0\n"


def _text(example: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "The text, byte for byte",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": example}},
        },
        **responses(NoSuchProcess),
    }


async def _render(
    proc: ProcessDep, service: ServiceDep, render: Callable[[Mm], str]
) -> ProcTextResponse:
    return ProcTextResponse(await service.run(render, proc.mm))


@router.get(
    "/smaps",
    summary="/proc/<pid>/smaps",
    response_class=ProcTextResponse,
    responses=_text(SMAPS_EXAMPLE),
)
async def smaps(proc: ProcessDep, service: ServiceDep) -> ProcTextResponse:
    """Each VMA's maps line followed by its memory counters (`Rss`, `Pss`, `Shared_*`,
    `Private_*`, `Anonymous`, ... in kB), `THPeligible` and `VmFlags`, as
    `show_smap` prints them. Pss is accumulated in the kernel's fixed point. Read under
    `mmap_lock` for read: one consistent snapshot. O(VMAs + resident pages)."""
    return await _render(proc, service, render_smaps)


@router.get(
    "/smaps_rollup",
    summary="/proc/<pid>/smaps_rollup",
    response_class=ProcTextResponse,
    responses=_text(ROLLUP_EXAMPLE),
)
async def smaps_rollup(proc: ProcessDep, service: ServiceDep) -> ProcTextResponse:
    """The smaps counters summed over every VMA, under a `[rollup]` header spanning
    the first VMA's start to the last one's end (`show_smaps_rollup`)."""
    return await _render(proc, service, render_smaps_rollup)


@router.get(
    "/status",
    summary="/proc/<pid>/status (memory lines)",
    response_class=ProcTextResponse,
    responses=_text(STATUS_EXAMPLE),
)
async def status(proc: ProcessDep, service: ServiceDep) -> ProcTextResponse:
    """The memory lines of `/proc/<pid>/status`, `VmPeak` through `HugetlbPages`
    (`task_mem`), in kB: sizes, resident set by kind, data, stack, text, libraries and
    page tables. The other status lines (credentials, signals, ...) are not simulated.
    The counters are read without `mmap_lock`, as the kernel reads them."""
    return await _render(proc, service, render_status_memory)


@router.get(
    "/statm",
    summary="/proc/<pid>/statm",
    response_class=ProcTextResponse,
    responses=_text(STATM_EXAMPLE),
)
async def statm(proc: ProcessDep, service: ServiceDep) -> ProcTextResponse:
    """`size resident shared text lib data dt` in pages (`task_statm`; `lib` and `dt`
    are always 0)."""
    return await _render(proc, service, render_statm)
