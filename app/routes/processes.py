"""``/processes``: create, list, inspect and end simulated processes."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from core import InvalidArgument, LayoutError, NoSuchProcess, Process, SyscallError

from ..deps import Pid, ProcessDep, ServiceDep
from ..errors import ProcessLimitReached, responses
from ..jsonbody import JsonRoute
from ..schemas.common import hex_addr
from ..schemas.processes import (
    ExecIn,
    FileOut,
    ImageOut,
    ProcessIn,
    ProcessList,
    ProcessOut,
    ProcessSummary,
)

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
        locked_vm=mm.locked_vm,
        start_brk=hex_addr(mm.start_brk),
        brk=hex_addr(mm.cur_brk),
        start_code=hex_addr(mm.start_code),
        end_code=hex_addr(mm.end_code),
        start_stack=hex_addr(mm.start_stack),
        mmap_base=hex_addr(mm.mmap_base),
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
        image=image_out(proc),
    )


def image_out(proc: Process) -> ImageOut | None:
    """The process's ``ProcessOut.image``: what its last execve loaded, if any."""
    image = proc.image
    if image is None:
        return None
    return ImageOut(
        filename=image.filename,
        executable=image.executable,
        interpreter=image.interpreter,
        scripts=list(image.scripts),
        argv=list(image.argv),
        load_bias=hex_addr(image.load_bias),
        entry=hex_addr(image.entry),
        interp_base=hex_addr(image.interp_base),
        stack_pointer=hex_addr(image.stack_pointer),
        aslr=image.aslr,
        seed=image.seed,
    )


#: The errnos execve answers with (422 ``syscall-error``, ``errno_name`` below), as the
#: kernel gives them for a bad path or file.
EXEC_ERRORS = (
    "ENOENT (no such file, or its PT_INTERP/#! interpreter is missing), ENOTDIR, ELOOP, "
    "ENAMETOOLONG (path lookup), EACCES (not a regular file, or not executable), "
    "ENOEXEC (neither an x86-64 ELF executable nor a #! script; a bad #! line), "
    "ELIBBAD/EIO (the interpreter is not an ELF file / shorter than an ELF header), "
    "E2BIG (argv and envp exceed a quarter of the 8 MiB stack limit, or one string "
    "exceeds 128 KiB)"
)


CREATE_DOC = (
    'Spawn a process with an empty address space (`layout` "empty", the default), the '
    'layout of a typical program started without ASLR (`layout` "typical"), the layout '
    "in `maps`, the text of a real `/proc/<pid>/maps` (a `LayoutError` names the bad line; "
    "`mmap_base`, the break and the code bounds are derived from it), or the address space "
    "execve builds for the program in `exec`, a file on the server's machine: its "
    "segments, interpreter, stack, vDSO and break, as Linux 6.18 places them (the name "
    "defaults to the program's file name). A failed exec is a 422 `syscall-error` with "
    f"the kernel's errno: {EXEC_ERRORS}. Limited by `VMASIM_MAX_PROCESSES` (409 when "
    "reached)."
)
EXECVE_DOC = (
    "Replace the process's address space by the program at `path` on the server's "
    "machine, as execve does: a new address space with the program, its interpreter, the "
    "stack, vDSO and break; open files are kept. A failure before the point of no return "
    f"leaves the process as it was (422 `syscall-error`): {EXEC_ERRORS}. After it, as "
    "when the kernel kills the process with SIGSEGV, the process has exited."
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a process",
    description=CREATE_DOC,
    responses=responses(ProcessLimitReached, LayoutError, InvalidArgument, SyscallError),
)
async def create_process(body: ProcessIn, service: ServiceDep, response: Response) -> ProcessOut:
    name = body.name if body.exec is None or "name" in body.model_fields_set else None
    proc = await service.create(name, body.layout, body.maps, body.exec)
    response.headers["Location"] = f"/processes/{proc.pid}"
    return process_out(proc)


@router.post(
    "/{pid}/execve",
    summary="execve(2)",
    description=EXECVE_DOC,
    responses=responses(NoSuchProcess, SyscallError, InvalidArgument),
)
async def execve(proc: ProcessDep, body: ExecIn, service: ServiceDep) -> ProcessOut:
    await service.execve(proc, body)
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
