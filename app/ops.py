"""Executing syscall operations on a process: one dispatch table shared by the
single-call routes (which let errors propagate to the problem+json handler) and the
batch route (which turns each failure into that operation's result).

Every function of :data:`DISPATCH` may block on the mm's ``mmap_lock``: call them in a
worker thread. Those of :data:`NOWAIT` never block (they decline instead).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from core import PAGE_SIZE, EngineError, Kernel, NoSuchProcess, Process, SyscallError
from core.fault import FaultResult
from core.fault import touch as touch_range

from .flags import (
    MADVISE_ADVICE,
    MAP_BITS,
    MCL_BITS,
    MLOCK_BITS,
    MREMAP_BITS,
    OPEN_BITS,
    PR_SET_VMA_ATTRS,
    PRCTL_OPTIONS,
    PROT_BITS,
    combine,
)
from .schemas.batch import CloseOp, OpResult, UnlinkOp
from .schemas.common import hex_addr
from .schemas.faults import FaultIn, FaultOut, TouchOp, TouchOut
from .schemas.processes import ExecIn, FileIn
from .schemas.syscalls import (
    BrkIn,
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

# What an operation returns: ("addr", int), ("fd", int), ("fault", fault_fields(...)),
# ("touch", TouchOut) or None.
Ret = tuple[str, Any] | None


def create_process(
    kernel: Kernel,
    name: str | None,
    layout: str | None,
    maps: str | None,
    program: ExecIn | None = None,
) -> Process:
    """A new process of ``kernel``: empty, the typical layout, the layout in ``maps``
    (the text of a real ``/proc/<pid>/maps``) or the one execve builds for ``program``
    (``name`` None: the program's file name; a drawn ASLR seed is in its image). Raises
    ``LayoutError``/``InvalidArgument``/``SyscallError`` (no process left behind).
    O(VMAs of the layout)."""
    if program is not None:
        p = program
        proc, _ = kernel.spawn_exec(
            p.path, p.arguments(), p.envp, name=name, aslr=p.aslr, seed=p.seed
        )
        return proc
    if maps is not None:
        return kernel.spawn_from_maps(maps, name or "sim")
    return kernel.spawn(name or "sim", layout or "empty")


def with_seed(program: ExecIn) -> ExecIn:
    """``program`` with its ASLR seed drawn now if it has none: the seed a journal
    records, so that a replay builds the same layout. O(1)."""
    if not program.aslr or program.seed is not None:
        return program
    return program.model_copy(update={"seed": int.from_bytes(os.urandom(8), "little")})


def apply_execve(proc: Process, a: ExecIn) -> Ret:
    """``execve(2)`` (``Process.execve``): the new image replaces the address space."""
    proc.execve(a.path, a.arguments(), a.envp, aslr=a.aslr, seed=a.seed)
    return None


def apply_mmap(proc: Process, a: MmapIn) -> Ret:
    prot = combine(a.prot, PROT_BITS)
    flags = combine(a.flags, MAP_BITS)
    return "addr", proc.mm.mmap(a.addr, a.length, prot, flags, fd=a.fd, offset=a.offset)


def apply_munmap(proc: Process, a: MunmapIn) -> Ret:
    proc.mm.munmap(a.addr, a.length)
    return None


def apply_mprotect(proc: Process, a: MprotectIn) -> Ret:
    proc.mm.mprotect(a.addr, a.length, combine(a.prot, PROT_BITS))
    return None


def apply_mremap(proc: Process, a: MremapIn) -> Ret:
    flags = combine(a.flags, MREMAP_BITS)
    return "addr", proc.mm.mremap(a.old_addr, a.old_len, a.new_len, flags, new_addr=a.new_addr)


def apply_brk(proc: Process, a: BrkIn) -> Ret:
    return "addr", proc.mm.brk(a.addr)


def apply_madvise(proc: Process, a: MadviseIn) -> Ret:
    proc.mm.madvise(a.addr, a.length, combine([a.advice], MADVISE_ADVICE))
    return None


def apply_mlock(proc: Process, a: MlockIn) -> Ret:
    proc.mm.mlock(a.addr, a.length)
    return None


def apply_mlock2(proc: Process, a: Mlock2In) -> Ret:
    proc.mm.mlock2(a.addr, a.length, combine(a.flags, MLOCK_BITS))
    return None


def apply_munlock(proc: Process, a: MunlockIn) -> Ret:
    proc.mm.munlock(a.addr, a.length)
    return None


def apply_mlockall(proc: Process, a: MlockallIn) -> Ret:
    proc.mm.mlockall(combine(a.flags, MCL_BITS))
    return None


def apply_munlockall(proc: Process, a: MunlockallIn) -> Ret:
    proc.mm.munlockall()
    return None


def apply_mseal(proc: Process, a: MsealIn) -> Ret:
    proc.mm.mseal(a.addr, a.length, a.flags)
    return None


def apply_prctl(proc: Process, a: PrctlIn) -> Ret:
    option = combine([a.option], PRCTL_OPTIONS)
    attr = combine([a.attr], PR_SET_VMA_ATTRS)
    proc.prctl(option, attr, a.addr, a.size, a.name)
    return None


def apply_open(proc: Process, a: FileIn) -> Ret:
    return "fd", proc.open(a.path, combine(a.flags, OPEN_BITS), size=a.size)


def apply_close(proc: Process, a: CloseOp) -> Ret:
    proc.close(a.fd)
    return None


def apply_unlink(proc: Process, a: UnlinkOp) -> Ret:
    proc.unlink(a.path)
    return None


def fault_fields(r: FaultResult) -> dict[str, Any]:
    """The engine's :class:`~core.fault.FaultResult` in the API's vocabulary: the fields
    of :class:`FaultOut` (its keys, in its order) as JSON values, what ``FaultOut``
    validated from them dumps (``model_dump(mode="json")``). What a fault operation
    returns: the journal records it as it is, the fault route encodes it as it is
    (``pydantic_core.to_json``: the bytes of ``FaultOut(**fields).model_dump_json()``,
    without validating a model it was just built from; ``tests/app/test_faults.py``
    pins both for any result). O(1)."""
    start = r.vma_start
    end = r.vma_end
    return {
        "addr": hex_addr(r.addr),
        "access": r.access,
        "ok": r.outcome == "ok",
        "outcome": r.outcome,
        "si_code": r.si_code,
        "path": r.path,
        "misses": r.misses,
        "vma_start": None if start is None else hex_addr(start),
        "vma_end": None if end is None else hex_addr(end),
        "page": r.page,
        "major": r.major,
    }


def fault_out(r: FaultResult) -> FaultOut:
    """:func:`fault_fields` as the validated model (a batch's or a touch's result). O(1)."""
    return FaultOut(**fault_fields(r))


def apply_fault(proc: Process, a: FaultIn) -> Ret:
    """One user page fault (``Mm.fault`` = x86 ``do_user_addr_fault``): takes the per-VMA
    lock or ``mmap_lock`` itself. A signal is a result, not an error. Returns
    ``("fault", fields)`` (:func:`fault_fields`)."""
    return "fault", fault_fields(proc.mm.fault(a.addr, a.access))


def touch(proc: Process, a: TouchOp) -> TouchOut:
    """One fault per page of ``[a.addr, a.addr + a.length)`` (at ``a.addr``, then at each
    page boundary), in ascending order, each a separate ``Mm.fault`` taking and
    releasing its own locks, so other requests interleave between two pages. Stops at
    the first signal when ``a.stop_on_signal``. O(pages * log n). An engine error (the
    resident-page limit) propagates: the pages before it stay mapped, as they would in
    a process the OOM killer stopped. The loop is the engine's (:func:`core.fault.touch`).
    """
    t = touch_range(proc.mm, a.addr, a.addr + a.length, a.access, a.stop_on_signal)
    return TouchOut(
        faults=t.faults,
        ok=t.ok,
        major=t.major,
        vma_lock=t.vma_lock,
        signals=t.faults - t.ok,
        first_signal=None if t.first_signal is None else fault_out(t.first_signal),
    )


def apply_fault_nowait(proc: Process, a: FaultIn) -> tuple[str, dict[str, Any]] | None:
    """:func:`apply_fault` if the fault completes on the per-VMA-lock fast path without
    waiting (``Mm.fault_nowait``), else None (declined: nothing changed or counted, run
    :func:`apply_fault` in a worker). Never blocks: the event loop may call it."""
    r = proc.mm.fault_nowait(a.addr, a.access)
    return None if r is None else ("fault", fault_fields(r))


def apply_touch(proc: Process, a: TouchOp) -> Ret:
    return "touch", touch(proc, a)


def _dispatch(proc: Process, op: Any) -> Ret:
    return DISPATCH[op.op](proc, op)


DISPATCH: dict[str, Callable[[Process, Any], Ret]] = {
    "mmap": apply_mmap,
    "munmap": apply_munmap,
    "mprotect": apply_mprotect,
    "mremap": apply_mremap,
    "brk": apply_brk,
    "madvise": apply_madvise,
    "mlock": apply_mlock,
    "mlock2": apply_mlock2,
    "munlock": apply_munlock,
    "mlockall": apply_mlockall,
    "munlockall": apply_munlockall,
    "mseal": apply_mseal,
    "prctl": apply_prctl,
    "open": apply_open,
    "close": apply_close,
    "unlink": apply_unlink,
    "fault": apply_fault,
    "touch": apply_touch,
    "execve": apply_execve,
}

NOWAIT: dict[str, Callable[[Process, Any], tuple[str, Any] | None]] = {
    "fault": apply_fault_nowait,
}
"""Operations with an executor that never waits, which the event loop may run: its
result as :data:`DISPATCH`'s would be, or None when it declined (nothing changed, nothing
counted: run :data:`DISPATCH`'s in a worker). See :meth:`app.service.Service.apply`."""


def touch_pieces(a: TouchOp, pages: int) -> list[TouchOp]:
    """``a`` cut at every ``pages``-th page boundary (a long touch as consecutive
    shorter ones that fault the same pages in the same order). O(pieces)."""
    step = pages * PAGE_SIZE
    end = a.addr + a.length
    pieces = []
    start = a.addr
    while start < end:
        stop = min(end, (start // step + 1) * step)
        pieces.append(a.model_copy(update={"addr": start, "length": stop - start}))
        start = stop
    return pieces


def merge_touches(outs: Sequence[TouchOut]) -> TouchOut:
    """The :class:`TouchOut` of consecutive pieces of one touch (:func:`touch_pieces`)."""
    first = next((o.first_signal for o in outs if o.first_signal is not None), None)
    return TouchOut(
        faults=sum(o.faults for o in outs),
        ok=sum(o.ok for o in outs),
        major=sum(o.major for o in outs),
        vma_lock=sum(o.vma_lock for o in outs),
        signals=sum(o.signals for o in outs),
        first_signal=first,
    )


def run_batch(
    proc: Process,
    ops: Sequence[Any],
    stop_on_error: bool,
    execute: Callable[[Process, Any], Ret] | None = None,
    failed_only: bool = False,
) -> tuple[int, list[OpResult]]:
    """Execute ``ops`` in order, each as its own syscall (the mm's lock is released
    between two operations, so other requests interleave). Returns how many operations
    were executed and one result per executed operation (with ``failed_only``, only the
    results that are not ``ok``: a bulk build's successes cost no result at all). An
    engine error is that operation's result, never an exception, and a fault or touch
    that delivered a signal is a result with ``ok`` false (so ``stop_on_error`` stops
    there too). If the process exits meanwhile, the batch ends with a ``NoSuchProcess``
    result.

    ``execute(proc, op)`` runs one operation (default: :data:`DISPATCH`; the journal
    records each). O(sum of the operations' costs). Caller holds nothing; runs in a
    worker thread.
    """
    run = execute or _dispatch
    results: list[OpResult] = []
    executed = 0
    for index, op in enumerate(ops):
        kind: str = op.op
        executed = index + 1  # every operation reached has a result
        if not proc.alive:
            # The process exited (DELETE) while the batch ran: no syscalls on a dead mm.
            exc = NoSuchProcess(proc.pid)
            results.append(
                OpResult(index=index, op=kind, ok=False, error=type(exc).__name__, detail=str(exc))
            )
            break
        try:
            ret = run(proc, op)
        except SyscallError as exc:
            results.append(
                OpResult(
                    index=index,
                    op=kind,
                    ok=False,
                    errno=exc.errno,
                    errno_name=exc.name,
                    detail=str(exc),
                )
            )
        except EngineError as exc:
            results.append(
                OpResult(index=index, op=kind, ok=False, error=type(exc).__name__, detail=str(exc))
            )
        else:
            if ret is None:
                if failed_only:
                    continue
                results.append(OpResult(index=index, op=kind, ok=True))
                continue
            result = OpResult(index=index, op=kind, ok=True)
            key, value = ret
            if key == "addr":
                result.addr = hex_addr(value)
            elif key == "fd":
                result.fd = value
            elif key == "fault":
                result.fault = fault = FaultOut(**value)
                result.ok = fault.ok
            else:
                result.touch = value
                result.ok = value.signals == 0
            if result.ok:
                if not failed_only:
                    results.append(result)
                continue
            results.append(result)
        # A failed syscall, an engine error, or a fault that delivered a signal.
        if stop_on_error:
            break
    return executed, results
