"""``GET /processes/{pid}/vma`` and ``POST /processes/{pid}/vma/batch``: the
``PROCMAP_QUERY`` ioctl (fs/proc/task_mmu.c ``do_procmap_query``, 6.18) over REST.

A query runs in a worker thread: it read-locks each VMA it examines under RCU and may
fall back to ``mmap_lock`` for read (``core.procmap_query``). ``ENOENT`` (nothing
matches) is a 404 problem carrying the errno; ``EINVAL`` (unknown flag bits) and
``ENAMETOOLONG`` are 422, like every failed call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core import NoSuchProcess, Process, SyscallError
from core.constants import ENOENT
from core.procmap_query import (
    PATH_MAX,
    QueryPath,
    VmaQueryResult,
    procmap_query,
    procmap_query_batch,
)

from ..deps import ProcessDep, ServiceDep, SettingsDep
from ..errors import NoMatchingVma, RequestTooLarge, responses
from ..jsonbody import JsonRoute
from ..schemas.common import DecimalText, hex_addr
from ..schemas.query import (
    QUERY_FLAG_BITS,
    QueryAddr,
    QueryFlagItem,
    VmaBatchIn,
    VmaBatchOut,
    VmaQueryOut,
    query_addr,
    query_flag_bits,
)

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["proc"])

_LOCK = {
    QueryPath.VMA_LOCK: "vma_lock",
    QueryPath.VMA_LOCK_VIA_MMAP_LOCK: "vma_lock_via_mmap_lock",
    QueryPath.MMAP_LOCK: "mmap_lock",
}
_VMA_FLAG_NAMES = [(bits, name) for name, bits in QUERY_FLAG_BITS.items() if bits & 0x0F]


def query_out(r: VmaQueryResult) -> VmaQueryOut:
    """The engine's result in the API's vocabulary. O(1)."""
    return VmaQueryOut(
        start=hex_addr(r.vma_start),
        end=hex_addr(r.vma_end),
        flags=[name for bits, name in _VMA_FLAG_NAMES if r.vma_flags & bits],
        page_size=r.vma_page_size,
        offset=hex_addr(r.vma_offset),
        inode=r.inode,
        dev=f"{r.dev_major:02x}:{r.dev_minor:02x}",
        name=r.vma_name,
        name_size=r.vma_name_size,
        build_id_size=r.build_id_size,
        lock=_LOCK[r.path],  # type: ignore[arg-type]
    )


def combine_flags(items: list[str]) -> int:
    """The ``query_flags`` word of validated ``flags`` items."""
    bits = 0
    for item in items:
        bits |= query_flag_bits(item)
    return bits


def query_one(proc: Process, addr: int, flags: int, name: bool, name_size: int) -> VmaQueryOut:
    """One ``PROCMAP_QUERY``; ``ENOENT`` becomes :class:`NoMatchingVma` (404)."""
    try:
        r = procmap_query(proc.mm, addr, flags, want_name=name, name_buf_size=name_size)
    except SyscallError as exc:
        if exc.errno == ENOENT:
            raise NoMatchingVma(exc) from None
        raise
    return query_out(r)


def query_batch(proc: Process, body: VmaBatchIn) -> VmaBatchOut:
    """:func:`core.procmap_query_batch`, with each distinct VMA returned once."""
    flags = combine_flags(body.flags)
    found = procmap_query_batch(proc.mm, body.addrs, flags, want_name=body.name)
    positions: dict[int, int] = {}  # id of a result -> index in vmas
    results: list[VmaQueryResult] = []
    index: list[int | None] = []
    for r in found:
        if r is None:
            index.append(None)
            continue
        at = positions.get(id(r))
        if at is None:
            at = positions[id(r)] = len(results)
            results.append(r)
        index.append(at)
    order = sorted(range(len(results)), key=lambda i: results[i].vma_start)
    rank = {old: new for new, old in enumerate(order)}
    return VmaBatchOut(
        count=len(found),
        found=sum(i is not None for i in index),
        queries=len(results),
        index=[None if i is None else rank[i] for i in index],
        vmas=[query_out(results[i]) for i in order],
    )


QUERY_ERRORS = responses(NoSuchProcess, NoMatchingVma, SyscallError)


@router.get("/vma", summary="PROCMAP_QUERY: the VMA at an address", responses=QUERY_ERRORS)
async def query_vma(
    proc: ProcessDep,
    service: ServiceDep,
    addr: Annotated[
        QueryAddr,
        Query(
            description="the address to look up: decimal or 0x hex",
            openapi_examples={"heap": {"value": "0x555555560123"}},
        ),
    ],
    flags: Annotated[
        list[QueryFlagItem],
        Query(
            description="PROCMAP_QUERY_* flags, repeated: COVERING_OR_NEXT_VMA, "
            "FILE_BACKED_VMA, VMA_READABLE, VMA_WRITABLE, VMA_EXECUTABLE, VMA_SHARED "
            "(the PROCMAP_QUERY_ prefix is optional), or numbers",
            openapi_examples={
                "covering": {"value": []},
                "next executable file VMA": {
                    "value": ["COVERING_OR_NEXT_VMA", "FILE_BACKED_VMA", "VMA_EXECUTABLE"]
                },
            },
        ),
    ] = [],  # noqa: B006 - FastAPI copies defaults per request
    name: Annotated[
        bool,
        Query(
            description="also return the VMA's name",
            openapi_examples={"yes": {"value": True}},
        ),
    ] = True,
    name_size: Annotated[
        int,
        Query(
            ge=1,
            le=PATH_MAX,
            description="the name buffer's size in bytes, NUL included (ENAMETOOLONG "
            "when the name does not fit)",
            openapi_examples={"PATH_MAX": {"value": PATH_MAX}},
        ),
        DecimalText,
    ] = PATH_MAX,
) -> VmaQueryOut:
    """The VMA covering `addr`, or with `COVERING_OR_NEXT_VMA` the first VMA at or
    above it; `FILE_BACKED_VMA` and the `VMA_*` permission flags skip VMAs that do not
    match. 404 with `errno` ENOENT when no VMA matches (the `[vsyscall]` gate is never
    returned); 422 with EINVAL for unknown flag bits, ENAMETOOLONG when the name does
    not fit `name_size`. Served under the per-VMA lock (6.18), falling back to
    `mmap_lock` when a writer holds the VMA."""
    bits = combine_flags(flags)
    return await service.run(query_one, proc, query_addr(addr), bits, name, name_size)


@router.post(
    "/vma/batch",
    summary="PROCMAP_QUERY for many addresses",
    responses=responses(NoSuchProcess, SyscallError, RequestTooLarge),
)
async def query_vma_batch(
    proc: ProcessDep, body: VmaBatchIn, settings: SettingsDep, service: ServiceDep
) -> VmaBatchOut:
    """Resolve every address in `addrs` to the VMA covering it, the way the kernel's
    selftest benchmark does: addresses in ascending order, one `PROCMAP_QUERY`
    (with `COVERING_OR_NEXT_VMA`) per VMA met, serving every address that VMA covers.
    Returns the distinct VMAs once each and, per address, the index of its VMA (null:
    a hole, or a VMA `flags` excludes). Queries are independent: under concurrent
    changes, answers may come from different moments. At most `VMASIM_MAX_BATCH`
    addresses (413 beyond)."""
    if len(body.addrs) > settings.max_batch:
        raise RequestTooLarge("VMASIM_MAX_BATCH", settings.max_batch, len(body.addrs), "addrs")
    return await service.run(query_batch, proc, body)
