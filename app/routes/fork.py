"""``POST /processes/{pid}/fork``: a child process with a copy of the address space."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from core import InvalidArgument, NoSuchProcess

from ..deps import ProcessDep, ServiceDep
from ..errors import ProcessLimitReached, responses
from ..jsonbody import JsonRoute
from ..schemas.processes import ForkIn, ProcessOut
from .processes import process_out

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["processes"])
_NO_OPTIONS = ForkIn()  # no body: the parent's name (never mutated: ForkIn is frozen)


@router.post(
    "/fork",
    status_code=status.HTTP_201_CREATED,
    summary="fork(2)",
    responses=responses(NoSuchProcess, ProcessLimitReached, InvalidArgument),
)
async def fork(
    proc: ProcessDep, service: ServiceDep, response: Response, body: ForkIn = _NO_OPTIONS
) -> ProcessOut:
    """Create a child of the process (`dup_mmap`): every VMA copied but `MADV_DONTFORK`
    ones, private pages shared copy-on-write by both (a later write fault in either
    copies the page), shared mappings shared, `VM_LOCKED` not inherited, and the fd
    table duplicated. Both address spaces are write-locked for the copy. The child has
    the parent's name unless `name` is given, and counts against
    `VMASIM_MAX_PROCESSES` (409 when reached)."""
    child = await service.fork(proc.pid, body.name)
    response.headers["Location"] = f"/processes/{child.pid}"
    return process_out(child)
