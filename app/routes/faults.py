"""``POST /processes/{pid}/faults``: one user page fault, as the CPU would raise it.

``Service.apply`` first tries the fault on the event loop with an entry that never
waits (:func:`core.fault.do_user_addr_fault_nowait`: the per-VMA-lock fast path of
``do_user_addr_fault``, ``lock_vma_under_rcu`` taking the VMA's lock with a try), and
runs it in a worker thread of the service's pool when that declines: the fallback
waits for ``mmap_lock``, ``handle_mm_fault`` may ask for a retry under it, a stack
expansion takes it for write, a pause point may hold it, as x86 ``do_user_addr_fault``
does, so those may not run on the event loop (app/service.py, "On the event loop").
Either way the answer is the same executor's result, and a fault changes pages, so it
is journaled like a syscall.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic_core import to_json

from core import NoSuchProcess
from core.errors import ResidentLimitExceeded

from ..deps import TargetDep
from ..errors import responses
from ..jsonbody import JsonRoute
from ..schemas.faults import FaultIn, FaultOut

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["faults"])


@router.post(
    "/faults",
    summary="A page fault",
    response_model=FaultOut,
    responses=responses(NoSuchProcess, ResidentLimitExceeded),
)
async def fault(target: TargetDep, body: FaultIn) -> Response:
    """Fault at `addr` for `access` (read, write or exec), as x86
    `do_user_addr_fault` handles a user-mode fault on Linux 6.18: the per-VMA lock
    under RCU first, `mmap_lock` when that fails or the handler asks for a retry, stack
    growth below a `MAP_GROWSDOWN` VMA. A signal (`SIGSEGV` with `SEGV_MAPERR` or
    `SEGV_ACCERR`, `SIGBUS` with `BUS_ADRERR` past the end of a file) is an outcome,
    still a 200. A fault that needs a new page beyond `VMASIM_MAX_RESIDENT_PAGES` is a
    409 and maps nothing."""
    ret = await target.service.apply(target.proc, "fault", body)
    assert ret is not None
    # FaultOut's fields as JSON values (app.ops.fault_fields), encoded here: the bytes
    # of FaultOut's model_dump_json() without validating a model first (35,000
    # instructions), and without FastAPI's validation of the response model.
    return Response(to_json(ret[1]), media_type="application/json")
