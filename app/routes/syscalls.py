"""``/processes/{pid}/{mmap,munmap,mprotect,mremap,brk,syscalls}``: the memory syscalls.

Each call runs in a worker thread and takes the process's ``mmap_lock`` for write
inside the engine, as the kernel does; nothing else serialises requests.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from core import NoSuchProcess, SyscallError

from ..deps import ProcessDep, ServiceDep, SettingsDep
from ..errors import RequestTooLarge, responses
from ..jsonbody import JsonRoute
from ..schemas.batch import BatchIn, BatchOut
from ..schemas.common import hex_addr
from ..schemas.faults import TouchOp
from ..schemas.syscalls import AddrOut, BrkIn, BrkOut, MmapIn, MprotectIn, MremapIn, MunmapIn

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["syscalls"])

SYSCALL_ERRORS = responses(NoSuchProcess, SyscallError)


def _addr(ret: tuple[str, int] | None) -> int:
    assert ret is not None
    return ret[1]


@router.post("/mmap", summary="mmap(2)", responses=SYSCALL_ERRORS)
async def mmap(proc: ProcessDep, body: MmapIn, service: ServiceDep) -> AddrOut:
    """Map `length` bytes at `addr` (a hint, or exact with `MAP_FIXED`) and return the
    address. `fd` and `offset` for a file mapping (open the file first). Errors carry
    the kernel's errno: EINVAL, ENOMEM, EEXIST (`MAP_FIXED_NOREPLACE`), EBADF, EACCES,
    EOVERFLOW, EOPNOTSUPP."""
    return AddrOut(addr=hex_addr(_addr(await service.apply(proc, "mmap", body))))


@router.post(
    "/munmap",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="munmap(2)",
    responses=SYSCALL_ERRORS,
)
async def munmap(proc: ProcessDep, body: MunmapIn, service: ServiceDep) -> None:
    """Unmap `[addr, addr + length)` (length rounded up to pages), splitting VMAs at the
    edges. Unmapping a hole succeeds; EINVAL for an unaligned `addr` or a zero length."""
    await service.apply(proc, "munmap", body)


@router.post(
    "/mprotect",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="mprotect(2)",
    responses=SYSCALL_ERRORS,
)
async def mprotect(proc: ProcessDep, body: MprotectIn, service: ServiceDep) -> None:
    """Change the protection of `[addr, addr + length)`, splitting and merging VMAs.
    Applied left to right: an ENOMEM at a hole leaves earlier VMAs changed, as in
    Linux."""
    await service.apply(proc, "mprotect", body)


@router.post("/mremap", summary="mremap(2)", responses=SYSCALL_ERRORS)
async def mremap(proc: ProcessDep, body: MremapIn, service: ServiceDep) -> AddrOut:
    """Shrink, grow in place, or move (`MREMAP_MAYMOVE`, `MREMAP_FIXED` with
    `new_addr`, `MREMAP_DONTUNMAP`) a mapping; returns its (new) address."""
    return AddrOut(addr=hex_addr(_addr(await service.apply(proc, "mremap", body))))


@router.post("/brk", summary="brk(2)", responses=responses(NoSuchProcess))
async def brk(proc: ProcessDep, body: BrkIn, service: ServiceDep) -> BrkOut:
    """Move the program break. Like the syscall, it never fails: on any error the old
    break comes back (`addr` 0 asks for the current break)."""
    return BrkOut(brk=hex_addr(_addr(await service.apply(proc, "brk", body))))


@router.post(
    "/syscalls",
    summary="A batch of syscalls",
    responses=responses(NoSuchProcess, RequestTooLarge),
    response_model_exclude_none=True,
)
async def syscalls(
    proc: ProcessDep, body: BatchIn, settings: SettingsDep, service: ServiceDep
) -> BatchOut:
    """Execute `ops` in order and return one result per executed operation. A failing
    operation is a result with its errno (`ok` false), not an HTTP error; with
    `stop_on_error` the batch ends there. Each operation is its own syscall, so other
    requests may run between two of them. At most `VMASIM_MAX_BATCH` operations
    (default 10000; 413 beyond). `op` is one of mmap, munmap, mprotect, mremap, brk,
    open, close, unlink, fault, touch; the fields are those of the single-call routes.
    `fault` is `POST /faults` (its result carries `fault`; a signal makes it not `ok`).
    `touch` faults every page of `[addr, addr + length)` in turn, as a loop writing
    one byte per page, and returns the counts (`touch`); the pages of all touch ops
    are bounded by `VMASIM_MAX_BATCH_PAGES` (default 1048576; 413 beyond)."""
    if len(body.ops) > settings.max_batch:
        raise RequestTooLarge("VMASIM_MAX_BATCH", settings.max_batch, len(body.ops), "batch")
    pages = sum(op.pages for op in body.ops if isinstance(op, TouchOp))
    if pages > settings.max_batch_pages:
        raise RequestTooLarge(
            "VMASIM_MAX_BATCH_PAGES", settings.max_batch_pages, pages, "touch pages"
        )
    results = await service.batch(proc, body.ops, body.stop_on_error)
    return BatchOut(completed=len(results), failed=sum(not r.ok for r in results), results=results)
