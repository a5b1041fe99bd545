"""Running traces on the simulator (``core``), producing the helper's output format.

The engine is imported lazily (and through importlib, so that type checking and
test collection do not depend on it): ``engine_missing_reason()`` tells the tests
whether it can be used yet.
"""

from __future__ import annotations

import errno as _errno
import importlib
import traceback
from typing import Any

from tests.differential.realkernel import Run, Step
from tests.differential.trace import PAGE, TOUCH_ACCESS, Trace

# The directory the simulated files live in. Only basenames are compared, but a
# realistic absolute path keeps the name column the same shape as the kernel's.
SIM_FILEDIR = "/tmp/vmasim-difftest/files"

# Errno names as the helper prints them (Python's errorcode has aliases first).
_NAMES = {v: k for k, v in vars(_errno).items() if k.startswith("E") and isinstance(v, int)}
_NAMES.update({_errno.EOPNOTSUPP: "EOPNOTSUPP", _errno.EAGAIN: "EAGAIN", _errno.EDEADLK: "EDEADLK"})


def errno_name(err: int) -> str:
    """The errno's symbolic name as vmatrace.c prints it.

    >>> errno_name(95), errno_name(12)
    ('EOPNOTSUPP', 'ENOMEM')
    """
    return _NAMES.get(err, f"E{err}")


def load_engine() -> Any:
    """The ``core`` module, once it provides ``Kernel``."""
    core = importlib.import_module("core")
    if not hasattr(core, "Kernel"):
        raise ImportError("core does not provide Kernel yet")
    return core


def engine_missing_reason() -> str | None:
    try:
        load_engine()
    except ImportError as exc:
        return f"the simulator engine is not available: {exc}"
    return None


def _arena_lines(maps_text: str, trace: Trace) -> tuple[str, ...]:
    out = []
    for line in maps_text.splitlines():
        try:
            start_s, end_s = line.split(" ", 1)[0].split("-")
            start, end = int(start_s, 16), int(end_s, 16)
        except ValueError:
            out.append(line)  # unparsable: keep it, it will show up as a mismatch
            continue
        if start < trace.end and end > trace.base:
            out.append(line)
    return tuple(out)


def _arena_smaps(mm: Any, trace: Trace) -> tuple[str, ...]:
    """``~ <start>-<end> Rss=<kB> Anonymous=<kB>`` per arena VMA, as vmatrace prints
    (``Rss=-`` for a VMA backed by a regular file, whose fault-around is not modelled)."""
    smaps = importlib.import_module("core.smaps")
    pages = importlib.import_module("core.pages")
    out = []
    for vma in mm.vmas():
        if vma.vm_start < trace.end and vma.vm_end > trace.base:
            mss = smaps.smap_gather_stats(mm, vma)
            file = vma.vm_file
            regular = file is not None and not pages.is_shmem(file.inode)
            rss = "-" if regular else str(mss.resident >> 10)
            out.append(
                f"~ {vma.vm_start:x}-{vma.vm_end:x} Rss={rss} Anonymous={mss.anonymous >> 10}"
            )
    return tuple(out)


def run_sim(trace: Trace, filedir: str = SIM_FILEDIR) -> Run:
    """Run ``trace`` in a new simulated process of a new simulated kernel.

    A ``SyscallError`` becomes ``! ENAME``; any other exception from the engine
    becomes ``! CRASH <type>: <message>`` (and the trace goes on), so that a crash
    is reported like any other mismatch, with the seed and the op.
    """
    core = load_engine()
    kernel = core.Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    slots: dict[int, int] = {}
    steps: list[Step] = []
    for op in trace.ops:
        a = op.args
        try:
            if op.kind == "open":
                flags = core.O_RDWR if a[3] == "rdwr" else core.O_RDONLY
                path = f"{filedir}/f{a[1]}"
                slot, _file, pages = op.ints()
                slots[slot] = proc.open(path, flags, size=pages * PAGE)
                result = "= 0"
            elif op.kind == "unlink":
                proc.unlink(f"{filedir}/f{a[0]}")
                result = "= 0"
            elif op.kind == "mmap":
                addr, length, prot, flags, slot, off = op.ints()
                fd = -1 if slot < 0 else slots.get(slot, -1)
                result = f"= {mm.mmap(addr, length, prot, flags, fd=fd, offset=off):#x}"
            elif op.kind == "munmap":
                mm.munmap(*op.ints())
                result = "= 0"
            elif op.kind == "mprotect":
                mm.mprotect(*op.ints())
                result = "= 0"
            elif op.kind == "mremap":
                old, old_len, new_len, flags, new = op.ints()
                result = f"= {mm.mremap(old, old_len, new_len, flags, new_addr=new):#x}"
            elif op.kind == "touch":
                fault = mm.fault(op.args[0], TOUCH_ACCESS[str(op.args[1])])
                result = "= ok" if fault.ok else f"! {fault.outcome} {fault.si_code}"
            else:
                raise ValueError(op.kind)
        except core.SyscallError as exc:
            result = f"! {errno_name(exc.errno)}"
        except Exception as exc:  # an engine bug: report it as a mismatch
            last = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
            result = f"! CRASH {type(exc).__name__} at {where}: {exc}"
        try:
            maps = _arena_lines(mm.maps(), trace)
            if trace.smaps:
                maps += _arena_smaps(mm, trace)
        except Exception as exc:
            maps = (f"<maps() raised {type(exc).__name__}: {exc}>",)
        steps.append(Step(result, maps))
    return Run(steps, filedir)


def format_steps(trace: Trace, run: Run) -> str:
    """The helper's output format, for side-by-side debugging."""
    out = []
    for step in run.steps:
        out.append(step.result)
        out += step.maps
        out.append(".")
    return "\n".join(out) + "\n"
