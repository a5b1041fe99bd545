"""Executing syscall operations on a process: one dispatch table shared by the
single-call routes (which let errors propagate to the problem+json handler) and the
batch route (which turns each failure into that operation's result).

Every function here blocks on the mm's ``mmap_lock``: call them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core import EngineError, NoSuchProcess, Process, SyscallError

from .flags import MAP_BITS, MREMAP_BITS, OPEN_BITS, PROT_BITS, combine
from .schemas import (
    BrkIn,
    CloseOp,
    FileIn,
    MmapIn,
    MprotectIn,
    MremapIn,
    MunmapIn,
    OpResult,
    UnlinkOp,
    hex_addr,
)

# What an operation returns: ("addr", int), ("fd", int) or None.
Ret = tuple[str, int] | None


def do_mmap(proc: Process, a: MmapIn) -> Ret:
    prot = combine(a.prot, PROT_BITS)
    flags = combine(a.flags, MAP_BITS)
    return "addr", proc.mm.mmap(a.addr, a.length, prot, flags, fd=a.fd, offset=a.offset)


def do_munmap(proc: Process, a: MunmapIn) -> Ret:
    proc.mm.munmap(a.addr, a.length)
    return None


def do_mprotect(proc: Process, a: MprotectIn) -> Ret:
    proc.mm.mprotect(a.addr, a.length, combine(a.prot, PROT_BITS))
    return None


def do_mremap(proc: Process, a: MremapIn) -> Ret:
    flags = combine(a.flags, MREMAP_BITS)
    return "addr", proc.mm.mremap(a.old_addr, a.old_len, a.new_len, flags, new_addr=a.new_addr)


def do_brk(proc: Process, a: BrkIn) -> Ret:
    return "addr", proc.mm.brk(a.addr)


def do_open(proc: Process, a: FileIn) -> Ret:
    return "fd", proc.open(a.path, combine(a.flags, OPEN_BITS), size=a.size)


def do_close(proc: Process, a: CloseOp) -> Ret:
    proc.close(a.fd)
    return None


def do_unlink(proc: Process, a: UnlinkOp) -> Ret:
    proc.unlink(a.path)
    return None


DISPATCH: dict[str, Callable[[Process, Any], Ret]] = {
    "mmap": do_mmap,
    "munmap": do_munmap,
    "mprotect": do_mprotect,
    "mremap": do_mremap,
    "brk": do_brk,
    "open": do_open,
    "close": do_close,
    "unlink": do_unlink,
}


def run_batch(proc: Process, ops: Sequence[Any], stop_on_error: bool) -> list[OpResult]:
    """Execute ``ops`` in order, each as its own syscall (the mm's lock is released
    between two operations, so other requests interleave). One result per executed
    operation; an engine error is that operation's result, never an exception. If the
    process exits meanwhile, the batch ends with a ``NoSuchProcess`` result.

    O(sum of the operations' costs). Caller holds nothing; runs in a worker thread.
    """
    results: list[OpResult] = []
    for index, op in enumerate(ops):
        kind: str = op.op
        if not proc.alive:
            # The process exited (DELETE) while the batch ran: no syscalls on a dead mm.
            exc = NoSuchProcess(proc.pid)
            results.append(
                OpResult(index=index, op=kind, ok=False, error=type(exc).__name__, detail=str(exc))
            )
            break
        try:
            ret = DISPATCH[kind](proc, op)
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
            result = OpResult(index=index, op=kind, ok=True)
            if ret is not None:
                if ret[0] == "addr":
                    result.addr = hex_addr(ret[1])
                else:
                    result.fd = ret[1]
            results.append(result)
            continue
        if stop_on_error:
            break
    return results
