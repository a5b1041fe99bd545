"""``/processes/{pid}/{smaps,smaps_rollup,status,statm}``: the engine's /proc texts.

Each body is the engine's text unchanged (``core.smaps``), which prints what
fs/proc/task_mmu.c prints on the 6.18 host: ``show_smap``, ``show_smaps_rollup``,
``task_mem`` (the memory lines of ``status``) and ``task_statm``.

smaps and smaps_rollup take ``reader`` (:data:`core.maps_reader.SMAPS_READERS`):
``mmap_lock`` (6.18, the default) or ``per_vma`` (the in-flight per-VMA series). smaps
is read in 4 KiB ``seq_file`` chunks as ``cat`` reads it (locks dropped between them);
the walk's provenance comes back in ``X-Vmasim-*`` headers (:data:`SMAPS_HEADER_DOCS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from core import Mm, NoSuchProcess
from core.maps_reader import (
    DEFAULT_SMAPS_READER,
    SmapsReader,
    SmapsSnapshot,
    read_smaps,
    read_smaps_rollup,
)
from core.smaps import render_statm, render_status_memory

from ..deps import ProcessDep, ServiceDep
from ..errors import responses
from ..jsonbody import JsonRoute
from ..snapshots import text_chunks

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["proc"])


class ProcTextResponse(PlainTextResponse):
    """``text/plain; charset=utf-8``: the bytes of a /proc file."""

    media_type = "text/plain"


class ProcTextChunks(StreamingResponse):
    """``text/plain; charset=utf-8``: the bytes of a /proc file sent in pieces
    (:func:`app.snapshots.text_chunks`), for the files that grow with the VMAs (maps,
    smaps): the text is never joined or encoded whole."""

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


SmapsReaderQuery = Annotated[
    SmapsReader,
    Query(
        description="mmap_lock (6.18: mmap_lock held for read across each chunk's page "
        "walks; default) or per_vma (one VMA read lock at a time, RCU dropped around the "
        "page walk: the in-flight per-VMA series)",
        openapi_examples={"mmap_lock": {"value": "mmap_lock"}, "per_vma": {"value": "per_vma"}},
    ),
]

SMAPS_HEADER_DOCS: dict[str, str] = {
    "X-Vmasim-Reader": "the smaps reader used: mmap_lock or per_vma",
    "X-Vmasim-Seq-Begin": "mm_lock_seq when the walk began",
    "X-Vmasim-Seq-End": "mm_lock_seq when it ended (equal and even: consistent)",
    "X-Vmasim-Generation": "the layout generation at the start of the walk",
    "X-Vmasim-Consistent": "true if no write-lock cycle overlapped the walk",
    "X-Vmasim-Chunks": "seq_file reads the text was assembled from",
    "X-Vmasim-Pages-Walked": "resident pages whose page-table entries were walked",
    "X-Vmasim-Vmas-Walked": "VMAs walked (a block that did not fit a chunk is walked again)",
    "X-Vmasim-Fallbacks": "per_vma: times mmap_lock was taken",
    "X-Vmasim-Lock-Drops": "mmap_lock smaps_rollup: times it let a waiting writer in",
    "X-Vmasim-Hold-Mmap-Lock-Ns": "ns holding mmap_lock for read",
    "X-Vmasim-Wait-Mmap-Lock-Ns": "ns waiting for mmap_lock",
    "X-Vmasim-Hold-Vma-Ns": "ns holding per-VMA read locks",
    "X-Vmasim-Hold-Vma-Max-Ns": "longest single per-VMA read lock hold (one VMA's walk), ns",
}


def smaps_headers(snap: SmapsSnapshot) -> dict[str, str]:
    """The provenance of a smaps read as the ``X-Vmasim-*`` headers. O(1)."""
    h = snap.hold
    values = (
        snap.reader,
        snap.seq_begin,
        snap.seq_end,
        snap.generation,
        "true" if snap.consistent else "false",
        snap.chunks,
        snap.pages_walked,
        snap.vmas_walked,
        snap.fallbacks,
        snap.lock_drops,
        h.mmap_lock_read_ns,
        h.mmap_lock_wait_ns,
        h.vma_read_ns,
        h.vma_read_max_ns,
    )
    return {name: str(v) for name, v in zip(SMAPS_HEADER_DOCS, values, strict=True)}


def _text(example: str, headers: bool = False) -> dict[int | str, dict[str, Any]]:
    ok: dict[str, Any] = {
        "description": "The text, byte for byte"
        + ("; the walk's provenance in X-Vmasim-* headers" if headers else ""),
        "content": {"text/plain": {"schema": {"type": "string"}, "example": example}},
    }
    if headers:
        ok["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in SMAPS_HEADER_DOCS.items()
        }
    return {200: ok, **responses(NoSuchProcess)}


async def _render(
    proc: ProcessDep, service: ServiceDep, render: Callable[[Mm], str]
) -> ProcTextResponse:
    return ProcTextResponse(await service.run(render, proc.mm))


@router.get(
    "/smaps",
    summary="/proc/<pid>/smaps",
    response_class=ProcTextChunks,
    responses=_text(SMAPS_EXAMPLE, headers=True),
)
async def smaps(
    proc: ProcessDep, service: ServiceDep, reader: SmapsReaderQuery = DEFAULT_SMAPS_READER
) -> ProcTextChunks:
    """Each VMA's maps line followed by its memory counters (`Rss`, `Pss`, `Shared_*`,
    `Private_*`, `Anonymous`, ... in kB), `THPeligible` and `VmFlags`, as
    `show_smap` prints them. Pss is accumulated in the kernel's fixed point. Read in
    4 KiB chunks like `cat`: `reader=mmap_lock` (6.18) holds `mmap_lock` for read
    across each chunk's page walks, so a writer waits for them; `reader=per_vma`
    read-locks one VMA at a time. The whole file is read (in a worker thread) before
    the response starts and sent in pieces. O(VMAs + resident pages)."""
    snap = await service.run(read_smaps, proc.mm, reader)
    return ProcTextChunks(text_chunks(snap.blocks), headers=smaps_headers(snap))


@router.get(
    "/smaps_rollup",
    summary="/proc/<pid>/smaps_rollup",
    response_class=ProcTextResponse,
    responses=_text(ROLLUP_EXAMPLE, headers=True),
)
async def smaps_rollup(
    proc: ProcessDep, service: ServiceDep, reader: SmapsReaderQuery = DEFAULT_SMAPS_READER
) -> ProcTextResponse:
    """The smaps counters summed over every VMA, under a `[rollup]` header spanning
    the first VMA's start to the last one's end (`show_smaps_rollup`). `reader=mmap_lock`
    (6.18) walks under `mmap_lock` for read, letting a waiting writer in between two
    VMAs only; `reader=per_vma` walks one read-locked VMA at a time."""
    snap = await service.run(read_smaps_rollup, proc.mm, reader)
    return ProcTextResponse(snap.text, headers=smaps_headers(snap))


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
