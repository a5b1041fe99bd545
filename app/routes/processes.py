"""``/processes``: create, list, inspect and end simulated processes."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from core import InvalidArgument, LayoutError, NoSuchProcess, Process

from ..deps import Pid, ProcessDep, ServiceDep
from ..errors import ProcessLimitReached, responses
from ..jsonbody import JsonRoute
from ..schemas.common import hex_addr
from ..schemas.processes import FileOut, ProcessIn, ProcessList, ProcessOut, ProcessSummary

router = APIRouter(route_class=JsonRoute, prefix="/processes", tags=["processes"])


def process_out(proc: Process) -> ProcessOut:
    """The process's identity, counters and open files. The counters are read without
    ``mmap_lock`` (each is one int read; a concurrent syscall may be half-way through
    updating them, as when reading /proc/<pid>/status)."""
    mm = proc.mm
    return ProcessOut(
        pid=proc.pid,
        name=proc.name,
        map_count=mm.map_count,
        total_vm=mm.total_vm,
        data_vm=mm.data_vm,
        exec_vm=mm.exec_vm,
        stack_vm=mm.stack_vm,
        start_brk=hex_addr(mm.start_brk),
        brk=hex_addr(mm.cur_brk),
        files=[
            FileOut(
                fd=fd,
                path=f.inode.path,
                readable=f.readable,
                writable=f.writable,
                size=f.inode.size,
                unlinked=f.inode.unlinked,
            )
            for fd, f in proc.files.items()
        ],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a process",
    responses=responses(ProcessLimitReached, LayoutError, InvalidArgument),
)
async def create_process(body: ProcessIn, service: ServiceDep, response: Response) -> ProcessOut:
    """Spawn a process with an empty address space (`layout` "empty", the default), the
    layout of a typical program started without ASLR (`layout` "typical"), or the layout
    in `maps`, the text of a real `/proc/<pid>/maps` (a `LayoutError` names the bad
    line). Limited by `VMASIM_MAX_PROCESSES` (409 when reached)."""
    proc = await service.create(body.name, body.layout, body.maps)
    response.headers["Location"] = f"/processes/{proc.pid}"
    return process_out(proc)


@router.get("", summary="List processes")
async def list_processes(service: ServiceDep) -> ProcessList:
    """Every live process by pid, with its VMA count, and the process limit in force."""
    procs = service.kernel.processes()
    return ProcessList(
        count=len(procs),
        limit=service.settings.max_processes,
        processes=[ProcessSummary(pid=p.pid, name=p.name, map_count=p.mm.map_count) for p in procs],
    )


@router.get("/{pid}", summary="Inspect a process", responses=responses(NoSuchProcess))
async def get_process(proc: ProcessDep) -> ProcessOut:
    """The process's counters (pages, as `/proc/<pid>/status` shows them), break and
    open files."""
    return process_out(proc)


@router.delete(
    "/{pid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End a process",
    responses=responses(NoSuchProcess),
)
async def delete_process(pid: Pid, service: ServiceDep) -> None:
    """Process exit: unmap everything (`exit_mmap`, under `mmap_lock` for write), close
    every fd and free the pid. Operations held at the process's pause points are
    released first (its points disarmed, no new ones armed), so the exit never waits
    for a hold; until it is done the points stay reachable. A second delete of the
    same pid is a 404."""
    proc = service.kernel.get(pid)
    service.exiting.add(pid)
    try:
        proc.mm.pauses.reset()
        await service.exit(pid)
    finally:
        service.exiting.discard(pid)
