"""``/processes/{pid}/maps`` (the kernel's text) and ``/maps.json`` (the same snapshot
as fields)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from core import NoSuchProcess

from ..deps import ProcessDep
from ..errors import responses
from ..procviews import parse_maps
from ..schemas import MapsOut
from ..service import in_worker

router = APIRouter(prefix="/processes/{pid}", tags=["proc"])

MAPS_EXAMPLE = (
    "555555554000-555555556000 r--p 00000000 fe:00 1234" + " " * 22 + " /usr/bin/cat\n"
    "7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 \n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0" + " " * 17 + " [vsyscall]\n"
)


class MapsTextResponse(PlainTextResponse):
    """``text/plain; charset=utf-8``: the bytes of /proc/<pid>/maps."""

    media_type = "text/plain"


@router.get(
    "/maps",
    summary="/proc/<pid>/maps",
    response_class=MapsTextResponse,
    responses={
        200: {
            "description": "The maps text",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": MAPS_EXAMPLE}},
        },
        **responses(NoSuchProcess),
    },
)
async def maps_text(proc: ProcessDep) -> MapsTextResponse:
    """Byte for byte what `read()` of `/proc/<pid>/maps` returns on Linux 6.18: one
    line per VMA (names padded to column 73, unnamed lines ending in one space) and
    the `[vsyscall]` gate line. Read under `mmap_lock` for read, so it is one
    consistent snapshot."""
    return MapsTextResponse(await in_worker(proc.mm.maps))


@router.get("/maps.json", summary="/proc/<pid>/maps as JSON", responses=responses(NoSuchProcess))
async def maps_json(proc: ProcessDep) -> MapsOut:
    """The same snapshot as `GET /maps`, one object per line. `addr` (`start-end` in
    hex), `perms`, `path` and `size` (bytes) use psutil's `memory_maps(grouped=False)`
    names; `start`, `end` and `offset` are `0x...` strings, `dev` is `major:minor`."""
    vmas = parse_maps(await in_worker(proc.mm.maps))
    return MapsOut(pid=proc.pid, count=len(vmas), vmas=vmas)
