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

from tests.differential.realkernel import HostState, Run, Step, host_state
from tests.differential.trace import (
    LOCK_FIELDS,
    MADVISE_FORK_OPS,
    PAGE,
    TOUCH_ACCESS,
    Op,
    Trace,
    decode_name,
)

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


# The fields vmatrace prints as "-" for a VMA backed by a regular file (its page-cache
# page counts, which large folios make differ), unless the trace says "smaps all files".
_FILE_COUNTED = frozenset(
    {
        "Rss",
        "Pss",
        "Pss_Dirty",
        "Shared_Clean",
        "Shared_Dirty",
        "Private_Clean",
        "Private_Dirty",
        "Referenced",
        "Locked",
    }
)


def _arena_smaps_all(mm: Any, trace: Trace) -> tuple[str, ...]:
    """``~ <start>-<end> Label=value ...`` per arena VMA from the simulator's own smaps
    text (``core.smaps.show_smap``), as vmatrace.c's print_smaps_all() prints it."""
    smaps = importlib.import_module("core.smaps")
    out = []
    for vma in mm.vmas():
        if not (vma.vm_start < trace.end and vma.vm_end > trace.base):
            continue
        file = vma.vm_file
        major, minor = file.inode.dev if file is not None else (0, 0)
        regular = file is not None and (major or minor > 1) and not trace.smaps_files
        fields = [f"~ {vma.vm_start:x}-{vma.vm_end:x}"]
        for line in smaps.show_smap(mm, vma).splitlines()[1:]:
            label, _, value = line.partition(":")
            if label == "VmFlags":
                value = ",".join(value.split())
            else:
                value = value.split()[0] if value.split() else ""
            if regular and label in _FILE_COUNTED:
                value = "-"
            fields.append(f"{label}={value}")
        out.append(" ".join(fields))
    return tuple(out)


def _drain(kernel: Any) -> None:
    # vmatrace's drain: lru_add_drain() on the helper's CPU.
    pages = importlib.import_module("core.pages")
    with kernel.page_lock:
        pages.lru_add_drain(kernel.lru)


FILL_BASE = 0x3000_0000_0000
FILL_VMAS = 8


def _fill(core: Any, kernel: Any, mm: Any, headroom: int) -> None:
    """vmatrace's ``fill``: the mm ends ``headroom`` VMAs below ``vm.max_map_count``.

    The helper maps tens of thousands of VMAs to get there on the host; every limit
    check (``map_count`` against ``max_map_count`` in mmap, split_vma, munmap, mremap)
    depends only on the difference, so the simulated machine lowers its
    ``vm.max_map_count`` instead and maps a few alternating pages at FILL_BASE (the
    arena, all that is compared, is the same either way)."""
    flags = core.MAP_PRIVATE | core.MAP_ANONYMOUS | core.MAP_NORESERVE | core.MAP_FIXED_NOREPLACE
    mm.mmap(FILL_BASE, FILL_VMAS * PAGE, core.PROT_NONE, flags)
    for i in range(1, FILL_VMAS, 2):
        mm.mprotect(FILL_BASE + i * PAGE, PAGE, core.PROT_READ)
    kernel.max_map_count = mm.map_count + headroom


def _madvise_fork_op(core: Any, kernel: Any, proc: Any, op: Any) -> tuple[Any, str]:
    """Run a madvise/fork/drain/fill op; returns the process the trace goes on in and
    the result line."""
    mm = proc.mm
    if op.kind == "madvise":
        try:
            mm.madvise(*op.ints())
        finally:
            if "drain" in op.args:
                _drain(kernel)
        return proc, "= 0"
    if op.kind == "fork":
        child = proc.fork()
        return (child if op.args[0] == "child" else proc), "= 0"
    if op.kind == "drain":
        _drain(kernel)
        return proc, "= 0"
    _fill(core, kernel, mm, int(op.args[0]))
    return proc, "= 0"


def run_sim(trace: Trace, filedir: str = SIM_FILEDIR, host: HostState | None = None) -> Run:
    """Run ``trace`` in a new simulated process of a new simulated kernel.

    The machine and the process start as ``host`` (default: this host, see
    :func:`~tests.differential.realkernel.host_state`) says: RAM, swap, overcommit
    mode, CONFIG_ANON_VMA_NAME, RLIMIT_MEMLOCK and capabilities.

    A ``SyscallError`` becomes ``! ENAME``; any other exception from the engine
    becomes ``! CRASH <type>: <message>`` (and the trace goes on), so that a crash
    is reported like any other mismatch, with the seed and the op.
    """
    core = load_engine()
    kernel = core.Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    _like_host(kernel, mm, host if host is not None else host_state())
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
            elif op.kind in LOCK_FIELDS:
                result = run_lock_op(core, kernel, proc, op)
            elif op.kind in MADVISE_FORK_OPS:
                proc, result = _madvise_fork_op(core, kernel, proc, op)
                mm = proc.mm
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
            if trace.smaps_all:
                maps += _arena_smaps_all(mm, trace)
            elif trace.smaps:
                maps += _arena_smaps(mm, trace)
            if trace.locks:
                maps += arena_locks(mm, trace)
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


# ----------------------------------------------------------------------------
# mlock, mseal, anonymous names, limits and the max_map_count boundary (issue 13 part B)


def _like_host(kernel: Any, mm: Any, host: HostState) -> None:
    """Give the new machine and process the host's settings (where known)."""
    if host.ram_pages is not None:
        kernel.ram_pages = max(host.ram_pages, 1)
    if host.swap_pages is not None:
        kernel.swap_pages = host.swap_pages
    if host.overcommit_memory is not None:
        kernel.overcommit_memory = host.overcommit_memory
    if host.anon_vma_name is not None:
        kernel.config_anon_vma_name = host.anon_vma_name
    if host.rlimit_memlock is not None:
        mm.rlimit_memlock = host.rlimit_memlock
    if host.cap_ipc_lock is not None:
        mm.cap_ipc_lock = host.cap_ipc_lock
    if host.cap_sys_resource is not None:
        mm.cap_sys_resource = host.cap_sys_resource


def run_lock_op(core: Any, kernel: Any, proc: Any, op: Op) -> str:
    """One lock/seal/name/limit operation on the simulator, as its result line."""
    mm = proc.mm
    a = op.ints()
    if op.kind == "mlock":
        mm.mlock(*a)
    elif op.kind == "mlock2":
        mm.mlock2(*a)
    elif op.kind == "munlock":
        mm.munlock(*a)
    elif op.kind == "mlockall":
        mm.mlockall(*a)
    elif op.kind == "munlockall":
        mm.munlockall()
    elif op.kind == "mseal":
        mm.mseal(*a)
    elif op.kind == "prctl_anon_name":
        name = decode_name(str(op.args[2]))
        proc.prctl(core.PR_SET_VMA, core.PR_SET_VMA_ANON_NAME, a[0], a[1], name)
    elif op.kind == "memlock":
        proc.setrlimit(core.RLIMIT_MEMLOCK, *a)
    elif op.kind == "cap_ipc_lock":
        mm.cap_ipc_lock = bool(a[0])
    elif op.kind == "headroom":
        # vmatrace maps or unmaps filler VMAs outside the arena until map_count plus
        # the headroom is vm.max_map_count; the simulated process has no fillers, so
        # its limit moves instead.
        kernel.max_map_count = mm.map_count + a[0]
    else:
        raise ValueError(op.kind)
    return "= 0"


def arena_locks(mm: Any, trace: Trace) -> tuple[str, ...]:
    """``@ <start>-<end> Locked=<kB> VmFlags=<flags>`` per arena VMA and ``@ VmLck=<kB>``
    (less the locked VMAs outside the arena), as vmatrace prints them in ``locks``
    mode (``Locked=-`` for a VMA backed by a regular file)."""
    smaps = importlib.import_module("core.smaps")
    pages = importlib.import_module("core.pages")
    constants = importlib.import_module("core.constants")
    out = []
    outside = 0
    for vma in mm.vmas():
        if vma.vm_start < trace.end and vma.vm_end > trace.base:
            flags = smaps.vm_flags_mnemonics(vma.vm_flags)[len("VmFlags: ") :].strip()
            file = vma.vm_file
            if file is not None and not pages.is_shmem(file.inode):
                locked = "-"
            else:
                mss = smaps.smap_gather_stats(mm, vma)
                locked = str((mss.pss_locked >> smaps.PSS_SHIFT) >> 10)
            out.append(f"@ {vma.vm_start:x}-{vma.vm_end:x} Locked={locked} VmFlags={flags}")
        elif vma.vm_flags & constants.VM_LOCKED:
            outside += (vma.vm_end - vma.vm_start) >> 10
    out.append(f"@ VmLck={(mm.locked_vm * PAGE >> 10) - outside}")
    return tuple(out)
