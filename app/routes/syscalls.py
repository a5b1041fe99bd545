"""``/processes/{pid}/{mmap,munmap,mprotect,mremap,brk,madvise,mlock,mlock2,munlock,
mlockall,munlockall,mseal,prctl,syscalls}``: the memory syscalls.

Each call runs in a worker thread and takes the process's ``mmap_lock`` for write
inside the engine, as the kernel does; nothing else serialises requests.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, status
from fastapi.types import DecoratedCallable

from core import NoSuchProcess, SyscallError

from ..deps import ProcessDep, ServiceDep, SettingsDep
from ..errors import RequestTooLarge, responses
from ..heap import after_bulk_batch
from ..jsonbody import JsonRoute
from ..schemas.batch import BatchIn, BatchOut
from ..schemas.common import hex_addr
from ..schemas.faults import TouchOp
from ..schemas.syscalls import (
    AddrOut,
    BrkIn,
    BrkOut,
    MadviseIn,
    Mlock2In,
    MlockallIn,
    MlockIn,
    MmapIn,
    MprotectIn,
    MremapIn,
    MsealIn,
    MunlockallIn,
    MunlockIn,
    MunmapIn,
    PrctlIn,
)

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


def _no_content(path: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """``router.post`` for a call that returns nothing (204) or fails with its errno."""
    return router.post(
        path,
        status_code=status.HTTP_204_NO_CONTENT,
        summary=summary,
        responses=SYSCALL_ERRORS,
    )


@_no_content("/madvise", "madvise(2)")
async def madvise(proc: ProcessDep, body: MadviseIn, service: ServiceDep) -> None:
    """Apply `advice` to `[addr, addr + length)` VMA by VMA, under the lock the kernel
    takes for it (`mmap_lock` for write, for read, or a per-VMA lock): flag advice
    splits and merges VMAs (`MADV_DONTFORK`: VmFlags `dc`...), `MADV_DONTNEED` drops
    pages, `MADV_FREE` makes them lazy-free, `MADV_POPULATE_*` faults them in,
    `MADV_GUARD_INSTALL` makes touches fault. EINVAL for unknown advice or an unaligned
    `addr`; ENOMEM for a hole (after the mapped parts were advised); EPERM on sealed
    memory for discarding advice; EAGAIN when a split would pass `vm.max_map_count`."""
    await service.apply(proc, "madvise", body)


@_no_content("/mlock", "mlock(2)")
async def mlock(proc: ProcessDep, body: MlockIn, service: ServiceDep) -> None:
    """Lock the pages of `[addr, addr + length)` (`VM_LOCKED`, VmFlags `lo`, splitting
    VMAs at the edges) and fault them in. ENOMEM at a hole (the VMAs before it stay
    locked) or past `RLIMIT_MEMLOCK` without CAP_IPC_LOCK; ENOMEM or EAGAIN when the
    pages cannot be faulted in (the VMAs stay locked), EPERM when the limit is 0."""
    await service.apply(proc, "mlock", body)


@_no_content("/mlock2", "mlock2(2)")
async def mlock2(proc: ProcessDep, body: Mlock2In, service: ServiceDep) -> None:
    """`mlock` with flags: `MLOCK_ONFAULT` locks the range without faulting it in
    (`VM_LOCKONFAULT`, VmFlags `lf`: pages are locked as they fault). EINVAL for other
    flags."""
    await service.apply(proc, "mlock2", body)


@_no_content("/munlock", "munlock(2)")
async def munlock(proc: ProcessDep, body: MunlockIn, service: ServiceDep) -> None:
    """Unlock `[addr, addr + length)` (the VMAs may merge again). ENOMEM at a hole,
    after the VMAs before it were unlocked."""
    await service.apply(proc, "munlock", body)


@_no_content("/mlockall", "mlockall(2)")
async def mlockall(proc: ProcessDep, body: MlockallIn, service: ServiceDep) -> None:
    """`MCL_CURRENT` locks every VMA and faults it in; `MCL_FUTURE` locks every later
    mapping (`mmap`, `brk`); `MCL_ONFAULT` with either locks without faulting in.
    EINVAL without `MCL_CURRENT`/`MCL_FUTURE` or with unknown bits."""
    await service.apply(proc, "mlockall", body)


@_no_content("/munlockall", "munlockall(2)")
async def munlockall(proc: ProcessDep, service: ServiceDep) -> None:
    """Unlock every VMA and end `MCL_FUTURE`. No request body."""
    await service.apply(proc, "munlockall", MunlockallIn())


@_no_content("/mseal", "mseal(2)")
async def mseal(proc: ProcessDep, body: MsealIn, service: ServiceDep) -> None:
    """Seal `[addr, addr + length)` (VmFlags `sl`): from then on munmap, mprotect,
    mremap, `MAP_FIXED` over it and discarding madvise on read-only anonymous memory
    fail with EPERM. EINVAL for an unaligned `addr`, a wrapping length or non-zero
    `flags`; ENOMEM if the range has a hole (nothing changes)."""
    await service.apply(proc, "mseal", body)


@_no_content("/prctl", "prctl(2): PR_SET_VMA")
async def prctl(proc: ProcessDep, body: PrctlIn, service: ServiceDep) -> None:
    """`prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, size, name)`: name the anonymous
    memory of the range (`[anon:NAME]`, `[anon_shmem:NAME]` in maps; `name` null clears
    it). EINVAL for another option or attribute, an invalid name (over 79 bytes, or a
    byte outside printable ASCII or one of `` \\`$[] ``), an unaligned `addr`, or on a
    kernel without `CONFIG_ANON_VMA_NAME`; EBADF for a file mapping in the range;
    ENOMEM for a hole (after the mapped parts were named)."""
    await service.apply(proc, "prctl", body)


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
    madvise, mlock, mlock2, munlock, mlockall, munlockall, mseal, prctl, open, close, unlink,
    fault, touch; the fields are those of the single-call routes.
    `fault` is `POST /faults` (its result carries `fault`; a signal makes it not `ok`).
    `touch` faults every page of `[addr, addr + length)` in turn, as a loop writing
    one byte per page, and returns the counts (`touch`); the pages of all touch ops
    are bounded by `VMASIM_MAX_BATCH_PAGES` (default 1048576; 413 beyond).
    `results: "failed"` lists only the failed operations (a bulk build's answer stays
    small; `completed` and `failed` still count all)."""
    if len(body.ops) > settings.max_batch:
        raise RequestTooLarge("VMASIM_MAX_BATCH", settings.max_batch, len(body.ops), "batch")
    pages = sum(op.pages for op in body.ops if isinstance(op, TouchOp))
    if pages > settings.max_batch_pages:
        raise RequestTooLarge(
            "VMASIM_MAX_BATCH_PAGES", settings.max_batch_pages, pages, "touch pages"
        )
    completed, results = await service.batch(
        proc, body.ops, body.stop_on_error, body.results == "failed"
    )
    after_bulk_batch(completed, settings.gc_freeze_batch)  # app.heap: long-lived objects
    return BatchOut(completed=completed, failed=sum(not r.ok for r in results), results=results)
