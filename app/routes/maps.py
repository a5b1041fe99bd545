"""``/processes/{pid}/maps`` (the kernel's text, metadata in headers) and
``/maps.json`` (the same snapshot as fields, metadata in the body).

``reader`` picks the engine's maps reader (:mod:`app.snapshots`): ``seqcount`` (the
default, and the service's design: a lockless RCU walk validated by ``mm_lock_seq``,
one consistent snapshot, writers never wait), ``per_vma`` (Linux 6.17+: seq_file
chunks with per-VMA locks, lines may be torn) or ``mmap_lock`` (Linux up to 6.16: the
walk under ``mmap_lock`` for read). Whole snapshots, not lazily streamed bodies: the
metadata must precede the body (headers), and the consistent readers are only
consistent for one walk; see :mod:`app.snapshots` for why a slow client still holds
no lock. The snapshot holds the VMAs' own line strings; the body is encoded and sent
in pieces of :data:`app.snapshots.BODY_CHUNK` characters (chunked transfer encoding,
each piece built in a worker thread and sent before the next is built, behind the
server's flow control), so a process with millions of VMAs never has its whole text,
or its whole JSON, in the server's memory.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from core import NoSuchProcess
from core.maps_reader import DEFAULT_MAX_RETRIES, DEFAULT_READER

from ..deps import MaxRetriesQuery, ProcessDep, ReaderQuery, ServiceDep
from ..errors import responses
from ..jsonbody import JsonRoute
from ..schemas.maps import MapsOut
from ..snapshots import HEADER_DOCS, json_chunks, take_snapshot, text_chunks
from .procfs import ProcTextChunks

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["proc"])

MAPS_EXAMPLE = (
    "555555554000-555555556000 r--p 00000000 fe:00 1234" + " " * 22 + " /usr/bin/cat\n"
    "7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 \n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0" + " " * 17 + " [vsyscall]\n"
)

SNAPSHOT_HEADERS: dict[str, Any] = {
    name: {"description": text, "schema": {"type": "string"}} for name, text in HEADER_DOCS.items()
}


@router.get(
    "/maps",
    summary="/proc/<pid>/maps",
    response_class=ProcTextChunks,
    responses={
        200: {
            "description": "The maps text; the snapshot's provenance in X-Vmasim-* headers",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": MAPS_EXAMPLE}},
            "headers": SNAPSHOT_HEADERS,
        },
        **responses(NoSuchProcess),
    },
)
async def maps_text(
    proc: ProcessDep,
    service: ServiceDep,
    reader: ReaderQuery = DEFAULT_READER,
    max_retries: MaxRetriesQuery = DEFAULT_MAX_RETRIES,
) -> ProcTextChunks:
    """Byte for byte what `read()` of `/proc/<pid>/maps` returns on Linux 6.18: one
    line per VMA (names padded to column 73, unnamed lines ending in one space) and
    the `[vsyscall]` gate line.

    `reader` chooses how the VMAs are walked: `seqcount` (default) walks lock-free and
    validates with `mm_lock_seq`, retrying and after `max_retries` failures finishing
    under `mmap_lock`, so the text is one moment of the address space; `per_vma` reads
    4 KiB seq_file chunks with per-VMA locks as Linux 6.17+ does (lines may show
    different moments: see `X-Vmasim-Torn-At`); `mmap_lock` holds `mmap_lock` for read
    for the walk (Linux <= 6.16). The snapshot's sequence numbers, attempts, fallback,
    generation, tearing and lock hold times come back in `X-Vmasim-*` headers. The
    whole text is read (in worker threads) before the response starts, so a slow
    client never holds an engine lock; it is sent in chunks."""
    snap = await take_snapshot(proc.mm, reader, max_retries, service.run)
    return ProcTextChunks(text_chunks(snap.lines), headers=snap.headers())


@router.get(
    "/maps.json",
    summary="/proc/<pid>/maps as JSON",
    response_model=MapsOut,
    responses=responses(NoSuchProcess),
)
async def maps_json(
    proc: ProcessDep,
    service: ServiceDep,
    reader: ReaderQuery = DEFAULT_READER,
    max_retries: MaxRetriesQuery = DEFAULT_MAX_RETRIES,
) -> StreamingResponse:
    """The same snapshot as `GET /maps`, one object per line, with the snapshot's
    metadata in `snapshot` (the full `torn_at` list and the retry reasons too).
    `addr` (`start-end` in hex), `perms`, `path` and `size` (bytes) use psutil's
    `memory_maps(grouped=False)` names; `start`, `end` and `offset` are `0x...`
    strings, `dev` is `major:minor`."""
    snap = await take_snapshot(proc.mm, reader, max_retries, service.run)
    # Serialised here, not through the response model: 65,530 VmaOut models would cost
    # over a second; the fields are exactly MapsOut's (tests compare with parse_maps).
    # A sync iterator: Starlette builds each piece in a worker thread.
    head = {"pid": proc.pid, "count": snap.line_count, "snapshot": snap.meta.model_dump()}
    return StreamingResponse(json_chunks(head, snap.lines), media_type="application/json")
