"""Replaying recorded memory syscalls into simulated processes (``vmasim replay``).

Two input formats:

* **The project's trace format** (``tests/differential/vmatrace.c`` documents it:
  ``arena``, ``open <slot> <file> <pages> rdwr|rdonly``, ``unlink``, ``mmap``, ``munmap``,
  ``mprotect``, ``mremap``, ``touch``, ``smaps``). Files are ``DIR/f<file>`` in the
  simulator's file system; ``touch`` becomes a batch ``fault``. Each operation runs as
  the trace says (the simulator chooses addresses, as the kernel did for vmatrace).

* **strace output** (:mod:`client.strace` reads every option's format). Recorded with

      setarch -R strace -f -y -v -s 4096 -o TRACE \\
          -e trace=%memory,%process,openat,open,creat,close,dup,dup2,dup3,fcntl,\\
      unlink,unlinkat,ftruncate,truncate,prctl PROGRAM ARGS

  a trace replays *every* task: each ``execve`` line builds the program's image as the
  kernel does (the engine's execve reads the same ELF files on this machine: program,
  ``ld.so``, stack, vDSO, break), ``clone``/``clone3``/``fork``/``vfork`` give a new
  task the parent's address space (``CLONE_VM``: a thread, or a vfork child until its
  execve) or a copy of it (``fork``), and the calls of each task apply to its address
  space. ``setarch -R`` makes the kernel's layout deterministic, so the image is where
  the real one was; ``-v -s 4096`` print the whole environment and arguments, whose
  bytes decide the size of the initial stack. ``%process`` is what tells a thread from
  a process: without clone lines, a trace with several pids cannot decide, and the
  summary says so (they are then replayed as threads of the first process, or as
  ``--unknown-pids`` says).

  The replay *follows* the trace: every successful ``mmap`` is applied with ``MAP_FIXED``
  at the address it returned (file mappings from the path ``-y`` printed, opened with
  the access mode of the traced ``open``, one simulated open per real one so that
  mappings merge as the real ones did; a file the trace never opened is opened
  read-only, or read-write for a shared writable mapping), an ``mremap`` that moved is
  applied with ``MREMAP_MAYMOVE|MREMAP_FIXED`` to where it went, ``munmap``,
  ``mprotect`` and ``brk`` as they were (a break that differs from the trace's is a
  failure). ``unlink`` and ``ftruncate`` apply to the simulated files (a deleted file's
  mappings show `` (deleted)``). ``madvise``, ``mlock``, ``mlock2``, ``munlock``, ``mlockall``,
  ``munlockall``, ``mseal`` (``syscall_0x1ce`` to strace before 6.10) and
  ``prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)`` apply as they were. A program that writes
  a file and then maps it needs its size: record ``write,writev,pwrite64,pwritev,
  pwritev2,fallocate,lseek`` as well and the replay follows the file's size (else it
  has the size the file has here, or 0). Calls that failed in
  the trace are skipped; so are the calls the replay does not apply (:data:`CALLS`
  maps each name to its handler; the memory calls that do not change the layout,
  other ``prctl`` options): the summary counts every skipped call by name and by
  thread.

  A trace without an ``execve`` line (``strace -p``, or ``-e trace=memory`` which hides
  it) replays into an empty process: then the calls on memory the trace never mapped
  (the program, ``ld.so``, the heap, the stack) fail here, and are counted apart in
  ``outside_trace``; so are all calls of an image whose break does not match the trace
  (a trace recorded with ASLR: its image is replayed empty).

Both are sent through ``POST /processes/{pid}/syscalls`` in batches of at most
:data:`BATCH` operations.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.flags import MADVISE_ADVICE, MAP_BITS, MCL_BITS, MLOCK_BITS, MREMAP_BITS, PROT_BITS
from app.schemas.maps import maps_lines, split_maps_line
from core.constants import (
    CLONE_FILES,
    CLONE_THREAD,
    CLONE_VFORK,
    CLONE_VM,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    PROT_WRITE,
    U64_MAX,
)

from .strace import Call, Source, c_string, calls, string_array

PAGE = 4096
BATCH = 5000
"""Operations per ``/syscalls`` request (below the default ``VMASIM_MAX_BATCH``)."""

STRACE_COMMAND = (
    "setarch -R strace -f -y -v -s 4096 -o TRACE -e trace=%memory,%process,openat,open,"
    "creat,close,dup,dup2,dup3,fcntl,unlink,unlinkat,ftruncate,truncate,prctl PROGRAM"
)
"""The recording command the README documents (threads, exec images, files, deletes)."""


class ReplayError(ValueError):
    """The input cannot be replayed: names the line and why."""


def detect(text: str) -> str:
    """``"trace"`` if the first meaningful line is an ``arena`` line, else ``"strace"``."""
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            return "trace" if line.split()[0] == "arena" else "strace"
    raise ReplayError("the input is empty")


@dataclass
class Plan:
    """The project's trace format as batch operations: ``ops`` with their input
    ``lines`` (the steps of :func:`plan_trace` add the opens)."""

    ops: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def _num(tok: str, where: str) -> int:
    tok = tok.strip()
    if tok == "NULL":
        return 0
    try:
        return int(tok, 0) & U64_MAX
    except ValueError:
        raise ReplayError(f"{where}: {tok!r} is not a number") from None


# -- the project's trace format ----------------------------------------------------------

_PROT_BITS = {"r": "PROT_READ", "w": "PROT_WRITE", "x": "PROT_EXEC"}
_TRACE_PROT = {"sem": "PROT_SEM", "growsdown": "PROT_GROWSDOWN", "growsup": "PROT_GROWSUP"}
_TRACE_MAP = {
    "shared_validate": "MAP_SHARED_VALIDATE",
    "shared": "MAP_SHARED",
    "private": "MAP_PRIVATE",
    "droppable": "MAP_DROPPABLE",
    "anonymous": "MAP_ANONYMOUS",
    "fixed_noreplace": "MAP_FIXED_NOREPLACE",
    "fixed": "MAP_FIXED",
    "growsdown": "MAP_GROWSDOWN",
    "noreserve": "MAP_NORESERVE",
    "sync": "MAP_SYNC",
    "stack": "MAP_STACK",
    "populate": "MAP_POPULATE",
    "locked": "MAP_LOCKED",
}
_TRACE_MREMAP = {
    "maymove": "MREMAP_MAYMOVE",
    "fixed": "MREMAP_FIXED",
    "dontunmap": "MREMAP_DONTUNMAP",
}
_TOUCH = {"r": "read", "w": "write", "x": "exec"}
_FIELDS = {"open": 5, "unlink": 2, "mmap": 7, "munmap": 3, "mprotect": 4, "mremap": 6, "touch": 3}


def _trace_bits(
    field_: str, names: dict[str, str], where: str, rwx: bool = False
) -> list[str | int]:
    out: list[str | int] = []
    for tok in field_.split("|"):
        if rwx and len(tok) == 3 and all(c in f"{bit}-" for c, bit in zip(tok, "rwx", strict=True)):
            out += [_PROT_BITS[c] for c in tok if c != "-"]
        elif tok in names:
            out.append(names[tok])
        else:
            value = _num(tok, where)
            if value:
                out.append(value)
    return out


def plan_trace(text: str, filedir: str = "/tmp/vmasim-replay") -> tuple[Plan, list[Any]]:
    """The trace as a list of *steps*: batch operations, and ``("open", slot, path,
    size, flags)`` tuples that must run alone (their fd is needed by later ``mmap``s).
    O(lines)."""
    plan = Plan()
    steps: list[Any] = []
    sized: set[int] = set()
    seen_arena = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tok = line.split()
        where = f"line {lineno}"
        if tok[0] == "arena":
            seen_arena = True
            continue
        if tok == ["smaps"]:
            continue
        if not seen_arena:
            raise ReplayError(f"{where}: a trace starts with an 'arena <base> <pages>' line")
        kind = tok[0]
        if kind not in _FIELDS or len(tok) != _FIELDS[kind]:
            raise ReplayError(f"{where}: bad trace line {line!r}")
        if kind == "open":
            if tok[4] not in ("rdwr", "rdonly"):
                raise ReplayError(f"{where}: bad open mode {tok[4]!r}")
            slot, file, pages = int(tok[1], 0), int(tok[2], 0), int(tok[3], 0)
            size = None if file in sized else pages * PAGE  # vmatrace: created once
            sized.add(file)
            flags = ["O_RDWR"] if tok[4] == "rdwr" else ["O_RDONLY"]
            steps.append(("open", slot, f"{filedir}/f{file}", size, flags))
            continue
        op: dict[str, Any]
        if kind == "unlink":
            op = {"op": "unlink", "path": f"{filedir}/f{int(tok[1], 0)}"}
        elif kind == "mmap":
            op = {
                "op": "mmap",
                "addr": _num(tok[1], where),
                "length": _num(tok[2], where),
                "prot": _trace_bits(tok[3], _TRACE_PROT, where, rwx=True),
                "flags": _trace_bits(tok[4], _TRACE_MAP, where),
                "fd": ("slot", int(tok[5], 0)),
                "offset": _num(tok[6], where),
            }
        elif kind == "munmap":
            op = {"op": "munmap", "addr": _num(tok[1], where), "length": _num(tok[2], where)}
        elif kind == "mprotect":
            op = {
                "op": "mprotect",
                "addr": _num(tok[1], where),
                "length": _num(tok[2], where),
                "prot": _trace_bits(tok[3], _TRACE_PROT, where, rwx=True),
            }
        elif kind == "mremap":
            op = {
                "op": "mremap",
                "old_addr": _num(tok[1], where),
                "old_len": _num(tok[2], where),
                "new_len": _num(tok[3], where),
                "flags": _trace_bits(tok[4], _TRACE_MREMAP, where),
                "new_addr": _num(tok[5], where),
            }
        else:  # touch
            if tok[2] not in _TOUCH:
                raise ReplayError(f"{where}: bad touch access {tok[2]!r}")
            op = {"op": "fault", "addr": _num(tok[1], where), "access": _TOUCH[tok[2]]}
        steps.append(op)
        plan.lines.append(lineno)
    if not seen_arena:
        raise ReplayError("a trace starts with an 'arena <base> <pages>' line")
    return plan, steps


# -- strace: the plan ------------------------------------------------------------------------

_FD_PATH = re.compile(r"^(-?\d+|AT_FDCWD)(?:<(.*)>(\(deleted\))?)?$")
_FLAGS_FIELD = re.compile(r"flags=([^,}]+)")
_CLONE_BITS = {
    "CLONE_VM": CLONE_VM,
    "CLONE_FILES": CLONE_FILES,
    "CLONE_VFORK": CLONE_VFORK,
    "CLONE_THREAD": CLONE_THREAD,
}
_O_ACCMODE = 3
_O_CLOEXEC = 0o2000000
_O_TRUNC = 0o1000
_O_APPEND = 0o2000
_FALLOC_FL_KEEP_SIZE = 0x01  # fallocate(2): FALLOC_FL_PUNCH_HOLE needs it too
_AT_REMOVEDIR = 0x200
_MODES = ("O_RDONLY", "O_WRONLY", "O_RDWR")
UNKNOWN_PIDS = ("threads", "processes", "ignore")
"""What to make of a pid first seen without a clone line: a thread of the first
process (the default), a separate process, or nothing."""


def _bits(tok: str, table: dict[str, int], where: str) -> int:
    """Flag names (``A|B``, ``-X verbose`` and ``-X raw`` forms too) as a number.
    ``ValueError`` names a flag the simulator does not know."""
    value = 0
    for part in tok.split("|"):
        part = part.strip()
        if not part or part in ("0", "PROT_NONE"):
            continue
        if part in table:
            value |= table[part]
        elif re.fullmatch(r"0x[0-9a-fA-F]+|\d+", part):
            value |= int(part, 0)
        else:
            raise ValueError(part)
    return value


def _fd(tok: str) -> tuple[int, str | None]:
    m = _FD_PATH.match(tok.strip())
    if m is None:
        raise ReplayError(f"{tok!r} is not an fd (did strace run with -y?)")
    fd = -100 if m.group(1) == "AT_FDCWD" else int(m.group(1))
    path = m.group(2)
    if path is not None and m.group(3):  # -y after an unlink: "3</tmp/x>(deleted)"
        path += " (deleted)"
    return fd, path


def _page_up(n: int) -> int:
    return (n + PAGE - 1) & ~(PAGE - 1)


class _Mapped:
    """The union of the ranges the trace has mapped so far, as sorted disjoint
    ``[start, end)`` intervals (adjacent ones joined). ``add`` is O(log n + k) for k
    intervals absorbed (plus the list insertion), ``contains`` O(log n)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        if start >= end:
            return
        lo = bisect.bisect_left(self.ends, start)  # first interval ending at/after start
        hi = bisect.bisect_right(self.starts, end)  # past the last starting at/before end
        if lo < hi:
            start, end = min(start, self.starts[lo]), max(end, self.ends[hi - 1])
        self.starts[lo:hi] = [start]
        self.ends[lo:hi] = [end]

    def contains(self, start: int, end: int) -> bool:
        """Whether every byte of ``[start, end)`` was mapped (an empty range is)."""
        if start >= end:
            return True
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.ends, strict=True))

    def copy(self) -> _Mapped:
        new = _Mapped()
        new.starts, new.ends = list(self.starts), list(self.ends)
        return new


@dataclass(eq=False)
class FileRef:
    """One real open file description: its path, the access mode it was opened with,
    the size a new simulated file gets, and how many fd-table entries hold it."""

    id: int
    path: str
    mode: str
    size: int | None
    cloexec: bool
    refs: int = 0
    opened: set[int] = field(default_factory=set)
    """Spaces where the simulated open exists (its fd is the replay's, per process)."""
    deleted: bool = False
    pos: int = 0
    """The file offset ``write`` and ``lseek`` move (shared by dup'ed fds, as the open
    file description's is)."""
    append: bool = False
    unlinked_unopened: bool = False
    """Unlinked in the trace before the simulation opened it (it opens files at their
    first mapping): that first open is followed by the unlink."""


@dataclass(eq=False)
class Space:
    """One simulated address space: a process of the service once the replay runs.
    ``image``: built by an execve of the trace (the whole layout is then comparable
    with the real one); ``tgid``: the traced process it belongs to."""

    id: int
    tgid: int | None
    exe: str | None
    image: bool
    mapped: _Mapped = field(default_factory=_Mapped)
    first_brk: int | None = None
    brk_calls: int = 0
    threads: set[int] = field(default_factory=set)


@dataclass(eq=False)
class Task:
    """A traced thread: its address space, fd table (shared with ``CLONE_FILES``
    tasks) and working directory."""

    tid: int | None
    tgid: int | None
    space: Space | None
    fds: dict[int, FileRef]
    cwd: str | None


@dataclass(frozen=True)
class Op:
    """A batch operation for ``space``. ``fd`` names a :class:`FileRef` whose simulated
    fd goes in the op; ``expect`` is brk's result in the trace; ``outside``: it touches
    memory the trace never mapped (a failure then only counts as a difference in a
    space built by execve); ``needs_image``: only meaningful there (brk)."""

    space: int
    op: dict[str, Any]
    where: str
    tid: int | None
    ref: int | None = None
    expect: int | None = None
    outside: bool = False
    needs_image: bool = False
    release: bool = False  # a close: forget the ref's fd afterwards


@dataclass(frozen=True)
class SpawnStep:
    space: int
    name: str


@dataclass(frozen=True)
class ExecStep:
    space: int
    reuse: int | None  # execve in that space's process (else a new process)
    path: str
    argv: list[str]
    envp: list[str]
    name: str
    where: str


@dataclass(frozen=True)
class ForkStep:
    parent: int
    child: int
    where: str


@dataclass(frozen=True)
class OpenStep:
    space: int
    ref: FileRef
    where: str


@dataclass(frozen=True)
class TruncateStep:
    space: int
    path: str
    size: int
    where: str


Step = Op | SpawnStep | ExecStep | ForkStep | OpenStep | TruncateStep


@dataclass
class StracePlan:
    """strace output as steps for the service, with what was skipped and why."""

    steps: list[Step] = field(default_factory=list)
    spaces: dict[int, Space] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_by_thread: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    root: int | None = None
    undecided: set[int] = field(default_factory=set)
    process_calls: int = 0

    def skip(self, what: str, tid: int | None) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1
        per = self.skipped_by_thread.setdefault(str(tid), {})
        per[what] = per.get(what, 0) + 1

    @property
    def ops(self) -> list[Op]:
        return [s for s in self.steps if isinstance(s, Op)]

    def covered(self, space: int | None = None) -> list[tuple[int, int]]:
        """The ranges the trace mapped in ``space`` (default: the first process)."""
        sid = self.root if space is None else space
        return [] if sid is None else self.spaces[sid].mapped.ranges()

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


Handler = Callable[["_Planner", Call, Task], None]


class _Planner:
    """Walks the calls, keeping each task's address space and fd table."""

    def __init__(self, cwd: str, unknown_pids: str, only_pid: int | None) -> None:
        if unknown_pids not in UNKNOWN_PIDS:
            raise ReplayError(f"unknown_pids must be one of {', '.join(UNKNOWN_PIDS)}")
        self.plan = StracePlan()
        self.cwd = cwd
        self.unknown_pids = unknown_pids
        self.only_pid = only_pid
        self.tasks: dict[int | None, Task] = {}
        self.first: Task | None = None
        self._ids = iter(range(1, 1 << 62))
        self.first_cwd: dict[int | None, str] = {}
        self.simulated: dict[str, list[FileRef]] = {}

    # -- spaces and tasks ---------------------------------------------------------------

    def new_space(self, tgid: int | None, exe: str | None, image: bool) -> Space:
        space = Space(next(self._ids), tgid, exe, image)
        self.plan.spaces[space.id] = space
        if self.plan.root is None:
            self.plan.root = space.id
        return space

    def spawn_empty(self, task: Task, where: str) -> Space:
        space = self.new_space(task.tgid, None, False)
        space.threads.add(task.tid or 0)
        task.space = space
        self.plan.steps.append(SpawnStep(space.id, "replay"))
        return space

    def task(self, call: Call) -> Task | None:
        tid = call.tid
        task = self.tasks.get(tid)
        if task is not None:
            return task
        if self.first is None:
            task = Task(tid, tid, None, {}, self.first_cwd.get(tid))
            self.first = task
        else:
            self.plan.undecided.add(tid or 0)
            if self.unknown_pids == "ignore":
                return None
            if self.unknown_pids == "threads":
                root = self.first
                task = Task(tid, root.tgid, root.space, root.fds, root.cwd)
                if root.space is not None:
                    root.space.threads.add(tid or 0)
            else:
                task = Task(tid, tid, None, {}, self.first_cwd.get(tid))
        self.tasks[tid] = task
        return task

    def space_of(self, task: Task, where: str) -> Space:
        return task.space if task.space is not None else self.spawn_empty(task, where)

    # -- files --------------------------------------------------------------------------

    def install(self, task: Task, fd: int, ref: FileRef) -> None:
        self.release(task, fd)
        task.fds[fd] = ref
        ref.refs += 1

    def release(self, task: Task, fd: int) -> None:
        ref = task.fds.pop(fd, None)
        if ref is None:
            return
        ref.refs -= 1
        if ref.refs <= 0:
            for sid in sorted(ref.opened):
                self.plan.steps.append(
                    Op(sid, {"op": "close", "fd": -1}, "", task.tid, ref.id, release=True)
                )
            ref.opened.clear()

    def new_ref(self, path: str, mode: str, cloexec: bool, size: int | None) -> FileRef:
        return FileRef(next(self._ids), path, mode, size, cloexec)

    def ensure_open(self, space: Space, ref: FileRef, where: str, tid: int | None = None) -> None:
        if space.id not in ref.opened:
            first = not ref.opened
            ref.opened.add(space.id)
            self.simulated.setdefault(ref.path, []).append(ref)
            self.plan.steps.append(OpenStep(space.id, ref, where))
            if first and ref.unlinked_unopened:
                unlink = {"op": "unlink", "path": ref.path}
                self.plan.steps.append(Op(space.id, unlink, where, tid))

    def simulated_files(self, path: str) -> list[FileRef]:
        """The open files of ``path`` the simulation has (not deleted since)."""
        return [ref for ref in self.simulated.get(path, []) if not ref.deleted]

    def resolve(self, task: Task, dir_tok: str | None, path: str) -> str:
        if path.startswith("/"):
            return posixpath.normpath(path)
        base = None
        if dir_tok is not None:
            _, base = _fd(dir_tok)
        base = base or task.cwd or self.first_cwd.get(task.tid) or self.cwd
        return posixpath.normpath(posixpath.join(base, path))

    def learn_cwd(self, task: Task, call: Call) -> None:
        if call.args and call.args[0].startswith(("AT_FDCWD<", "-100<")):
            task.cwd = _fd(call.args[0])[1] or task.cwd

    # -- the walk -----------------------------------------------------------------------

    def feed(self, call: Call) -> None:
        if self.only_pid is not None and call.tid not in (self.only_pid, None):
            if call.name != "+++exit":
                self.plan.skip("(another process: --trace-pid)", call.tid)
            return
        if call.name == "+++exit":
            self.tasks.pop(call.tid, None)
            return
        task = self.task(call)
        if task is None:
            self.plan.skip(f"{call.name} (unknown pid ignored)", call.tid)
            return
        handler = CALLS.get(call.name)
        if handler is None:
            self.plan.skip(call.name, call.tid)
            return
        if call.err is not None:
            self.plan.skip(f"{call.name} (failed in the trace)", call.tid)
            return
        if call.ret is None and call.name not in ("exit", "exit_group"):
            self.plan.skip(f"{call.name} (no result in the trace)", call.tid)
            return
        try:
            handler(self, call, task)
        except ReplayError:
            raise
        except (ValueError, IndexError) as exc:
            raise ReplayError(
                f"{call.where}: cannot read the arguments of {call.name}: {exc}"
            ) from None

    def finish(self) -> StracePlan:
        plan = self.plan
        if plan.undecided:
            tids = ", ".join(str(t) for t in sorted(plan.undecided)[:5])
            how = {
                "threads": "replayed as threads of the first process",
                "processes": "replayed as separate processes",
                "ignore": "not replayed",
            }[self.unknown_pids]
            plan.note(
                f"{len(plan.undecided)} pid(s) ({tids}...) appear without a clone/fork/vfork "
                f"line, so the trace cannot tell threads from processes; they were {how}. "
                f"Record with: {STRACE_COMMAND}"
            )
        return plan


# -- the handlers: one per call name (CALLS) ---------------------------------------------


def _mmap(p: _Planner, call: Call, task: Task) -> None:
    _addr, length_tok, prot_tok, flags_tok, fd_tok, off_tok = call.args
    where = call.where
    ret = call.ret or 0
    try:
        prot = _bits(prot_tok, PROT_BITS, where)
        flags = _bits(flags_tok, MAP_BITS, where)
    except ValueError as unknown:
        p.plan.skip(f"mmap (flag {unknown} not simulated)", call.tid)
        return
    flags = (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED
    length = _num(length_tok, where)
    space = p.space_of(task, where)
    op: dict[str, Any] = {
        "op": "mmap",
        "addr": ret,
        "length": length,
        "prot": [prot],
        "flags": [flags],
        "fd": -1,
        "offset": _num(off_tok, where),
    }
    ref_id = None
    if not flags & MAP_ANONYMOUS:
        fd, path = _fd(fd_tok)
        if path is None:
            raise ReplayError(f"{where}: {fd_tok!r} has no path (did strace run with -y?)")
        ref = task.fds.get(fd)
        if ref is None or ref.path != path.removesuffix(" (deleted)"):
            # Opened before the trace began (or by an untraced dup): the access mode
            # the mapping needs, read-only unless it is a shared writable mapping.
            writable = flags & MAP_SHARED and prot & PROT_WRITE
            ref = p.new_ref(path, "O_RDWR" if writable else "O_RDONLY", False, _file_size(path))
            p.install(task, fd, ref)
        p.ensure_open(space, ref, where, call.tid)
        ref_id = ref.id
    space.mapped.add(ret, ret + _page_up(length))
    p.plan.steps.append(Op(space.id, op, where, call.tid, ref_id))


def _range_op(p: _Planner, call: Call, task: Task) -> None:
    where = call.where
    space = p.space_of(task, where)
    if call.name == "munmap":
        addr_tok, len_tok = call.args
        op: dict[str, Any] = {
            "op": "munmap",
            "addr": _num(addr_tok, where),
            "length": _num(len_tok, where),
        }
    else:
        addr_tok, len_tok, prot_tok = call.args
        try:
            prot = _bits(prot_tok, PROT_BITS, where)
        except ValueError as unknown:
            p.plan.skip(f"mprotect (flag {unknown} not simulated)", call.tid)
            return
        op = {
            "op": "mprotect",
            "addr": _num(addr_tok, where),
            "length": _num(len_tok, where),
            "prot": [prot],
        }
    start = op["addr"]
    outside = not space.mapped.contains(start, start + _page_up(op["length"]))
    p.plan.steps.append(Op(space.id, op, where, call.tid, outside=outside))


def _mremap(p: _Planner, call: Call, task: Task) -> None:
    where = call.where
    old_tok, old_len_tok, new_len_tok, flags_tok, *rest = call.args
    space = p.space_of(task, where)
    old_addr = _num(old_tok, where)
    try:
        flags = _bits(flags_tok, MREMAP_BITS, where)
    except ValueError as unknown:
        p.plan.skip(f"mremap (flag {unknown} not simulated)", call.tid)
        return
    new_addr = _num(rest[0], where) if rest else 0
    ret = call.ret or 0
    if ret != old_addr:  # it moved: to where the kernel put it
        flags |= MREMAP_MAYMOVE | MREMAP_FIXED
        new_addr = ret
    op: dict[str, Any] = {
        "op": "mremap",
        "old_addr": old_addr,
        "old_len": _num(old_len_tok, where),
        "new_len": _num(new_len_tok, where),
        "flags": [flags],
        "new_addr": new_addr,
    }
    old_len, new_len = _num(old_len_tok, where), _num(new_len_tok, where)
    outside = not space.mapped.contains(old_addr, old_addr + _page_up(old_len))
    space.mapped.add(ret, ret + _page_up(new_len))
    p.plan.steps.append(Op(space.id, op, where, call.tid, outside=outside))


def _brk(p: _Planner, call: Call, task: Task) -> None:
    where = call.where
    space = p.space_of(task, where)
    addr = _num(call.args[0], where)
    space.brk_calls += 1
    if space.brk_calls == 1 and addr == 0:
        space.first_brk = call.ret
    op = {"op": "brk", "addr": addr}
    p.plan.steps.append(Op(space.id, op, where, call.tid, expect=call.ret, needs_image=True))


def _open(p: _Planner, call: Call, task: Task) -> None:
    p.learn_cwd(task, call)
    fd = call.ret or 0
    if call.name == "creat":
        path_tok, flags_tok = call.args[0], "O_WRONLY|O_CREAT|O_TRUNC"
        dir_tok = None
    elif call.name == "open":
        path_tok, flags_tok, dir_tok = call.args[0], call.args[1], None
    else:  # openat
        dir_tok, path_tok, flags_tok = call.args[0], call.args[1], call.args[2]
    path = call.ret_path or p.resolve(task, dir_tok, c_string(path_tok)[0])
    mode = next((m for m in _MODES if m in flags_tok), None)
    numeric = 0
    if mode is None:
        numeric = _num(flags_tok.split("|")[0], call.where)
        mode = _MODES[numeric & _O_ACCMODE] if numeric & _O_ACCMODE < 3 else "O_RDWR"
    cloexec = "O_CLOEXEC" in flags_tok or bool(numeric & _O_CLOEXEC)
    truncated = "O_TRUNC" in flags_tok or bool(numeric & _O_TRUNC)
    size = 0 if truncated else (_file_size(path) or 0)
    ref = p.new_ref(path, mode, cloexec, size)
    ref.append = "O_APPEND" in flags_tok or bool(numeric & _O_APPEND)
    p.install(task, fd, ref)


def _close(p: _Planner, call: Call, task: Task) -> None:
    p.release(task, _fd(call.args[0])[0])


def _dup(p: _Planner, call: Call, task: Task) -> None:
    if call.name == "fcntl":
        cmd = call.args[1] if len(call.args) > 1 else ""
        if not cmd.startswith("F_DUPFD") and cmd not in ("0", "0x0", "1030", "0x406"):
            p.plan.skip("fcntl", call.tid)
            return
    old = _fd(call.args[0])[0]
    ref = task.fds.get(old)
    new = call.ret or 0
    if ref is not None and new != old:
        p.install(task, new, ref)


def _unlink(p: _Planner, call: Call, task: Task) -> None:
    if call.name == "unlinkat":
        dir_tok, path_tok = call.args[0], call.args[1]
        flags = call.args[2] if len(call.args) > 2 else "0"
        if "AT_REMOVEDIR" in flags or (flags.startswith("0x") and int(flags, 16) & _AT_REMOVEDIR):
            p.plan.skip("unlinkat (AT_REMOVEDIR)", call.tid)
            return
    else:
        dir_tok, path_tok = None, call.args[0]
    path = p.resolve(task, dir_tok, c_string(path_tok)[0])
    opened = p.simulated_files(path)
    # Open in the trace but not simulated yet (shm_open, shm_unlink, then mmap): the
    # simulation unlinks it right after its first open (_Planner.ensure_open).
    pending = [r for r in _refs(p) if r.path == path and not r.opened and not r.deleted]
    for ref in pending:
        ref.deleted = ref.unlinked_unopened = True
    if not opened:
        if not pending:
            p.plan.skip(f"{call.name} (a file the replay never opened)", call.tid)
        return
    space = p.space_of(task, call.where)
    p.plan.steps.append(Op(space.id, {"op": "unlink", "path": path}, call.where, call.tid))
    for ref in opened:
        ref.deleted = True  # a later open of the path is another file


def _refs(p: _Planner) -> Iterable[FileRef]:
    seen: set[int] = set()
    for task in p.tasks.values():
        for ref in task.fds.values():
            if ref.id not in seen:
                seen.add(ref.id)
                yield ref


def _written(p: _Planner, call: Call, task: Task) -> None:
    """``write``, ``writev``, ``pwrite64``, ``pwritev``, ``pwritev2``, ``fallocate`` and
    ``lseek`` (present when the trace was recorded with them): the size a file reaches
    before the program maps it. Past its end a mapping's pages are SIGBUS and a populate
    of them EFAULT, so a file written and then mapped must have that size here too."""
    m = re.match(r"\s*(\d+)", call.args[0])
    ref = task.fds.get(int(m.group(1))) if m else None
    if ref is None:
        p.plan.skip(f"{call.name} (not a file the trace opened)", call.tid)
        return
    ret = call.ret or 0
    name = call.name
    if name == "lseek":
        ref.pos = ret
        return
    if name in ("write", "writev"):
        start = (ref.size or 0) if ref.append else ref.pos
        ref.pos = end = start + ret
    elif name == "fallocate":
        mode = call.args[1]
        keep = "KEEP_SIZE" in mode or (mode.isdigit() and int(mode) & _FALLOC_FL_KEEP_SIZE)
        if keep or "PUNCH_HOLE" in mode:
            return
        end = _num(call.args[2], call.where) + _num(call.args[3], call.where)
    else:  # pwrite64 (fd, buf, count, offset), pwritev[2] (fd, iov, iovcnt, offset...)
        end = _num(call.args[3], call.where) + ret
    if ref.size is not None and end <= ref.size:
        return
    ref.size = end
    # A simulated file grows now (an unsimulated one is opened at its size later).
    if ref.opened and not ref.deleted:
        space = p.space_of(task, call.where)
        p.plan.steps.append(TruncateStep(space.id, ref.path, end, call.where))


def _truncate(p: _Planner, call: Call, task: Task) -> None:
    size = _num(call.args[1], call.where)
    if call.name == "ftruncate":
        ref = task.fds.get(_fd(call.args[0])[0])
        refs = [] if ref is None else [ref]
    else:
        path = p.resolve(task, None, c_string(call.args[0])[0])
        refs = p.simulated_files(path)
    if not refs:
        p.plan.skip(f"{call.name} (a file the replay never opened)", call.tid)
        return
    for ref in refs:
        ref.size = size
    if any(ref in p.simulated.get(ref.path, ()) for ref in refs):
        space = p.space_of(task, call.where)
        p.plan.steps.append(TruncateStep(space.id, refs[0].path, size, call.where))


def _clone(p: _Planner, call: Call, task: Task) -> None:
    p.plan.process_calls += 1
    child_tid = call.ret
    if not child_tid or child_tid < 0:
        return
    if call.name == "fork":
        flags = 0
    elif call.name == "vfork":
        flags = CLONE_VM | CLONE_VFORK
    else:
        m = _FLAGS_FIELD.search(",".join(call.args))
        flags = 0
        if m is not None:
            for part in m.group(1).split("|"):
                part = part.strip()
                if part in _CLONE_BITS:
                    flags |= _CLONE_BITS[part]
                elif re.fullmatch(r"0x[0-9a-fA-F]+|\d+", part):
                    flags |= int(part, 0)
    parent = p.space_of(task, call.where)
    if flags & CLONE_FILES:
        fds = task.fds
    else:
        fds = dict(task.fds)
        for ref in fds.values():
            ref.refs += 1
    tgid = task.tgid if flags & CLONE_THREAD else child_tid
    if flags & CLONE_VM:
        space = parent  # a thread, or a vfork child until its execve
    else:
        space = p.new_space(tgid, parent.exe, parent.image)
        space.mapped = parent.mapped.copy()
        space.first_brk, space.brk_calls = parent.first_brk, parent.brk_calls
        for ref in _refs(p):
            if parent.id in ref.opened:
                ref.opened.add(space.id)
        p.plan.steps.append(ForkStep(parent.id, space.id, call.where))
    space.threads.add(child_tid)
    p.plan.undecided.discard(child_tid)
    p.tasks[child_tid] = Task(child_tid, tgid, space, fds, task.cwd)


def _execve(p: _Planner, call: Call, task: Task) -> None:
    p.plan.process_calls += 1
    args = call.args
    if call.name == "execveat":
        dir_tok, path_tok, argv_tok, envp_tok = args[0], args[1], args[2], args[3]
    else:
        dir_tok, path_tok, argv_tok, envp_tok = None, args[0], args[1], args[2]
    raw_path, cut = c_string(path_tok)
    path = p.resolve(task, dir_tok, raw_path)
    argv_read = string_array(argv_tok)
    envp_read = string_array(envp_tok)
    argv, argv_cut = argv_read if argv_read is not None else ([path], True)
    envp, envp_cut = envp_read if envp_read is not None else ([], True)
    if envp_read is None:
        p.plan.note(
            "an execve's environment was not printed (record with -v): its process's "
            "initial stack may be a page smaller than the real one"
        )
    if cut or argv_cut or (envp_cut and envp_read is not None):
        p.plan.note(
            "strace cut an execve's strings (record with -s 4096 or more): its "
            "process's initial stack may differ from the real one"
        )
    old = task.space
    # execve takes over the thread group (de_thread): its other threads end.
    if old is not None:
        for tid, other in list(p.tasks.items()):
            if other is not task and other.space is old and other.tgid == task.tgid:
                del p.tasks[tid]
    shared = old is not None and any(
        other.space is old and other.tgid != task.tgid for other in p.tasks.values()
    )
    # unshare_files(), then the close-on-exec descriptors go.
    task.fds = dict(task.fds)
    for ref in task.fds.values():
        ref.refs += 1
    for fd in [fd for fd, ref in task.fds.items() if ref.cloexec]:
        p.release(task, fd)
    space = p.new_space(task.tgid, path, True)
    space.threads.add(task.tid or 0)
    reuse = None if old is None or shared else old.id
    name = (posixpath.basename(path) or "replay")[:15]
    p.plan.steps.append(ExecStep(space.id, reuse, path, argv, envp, name, call.where))
    task.space = space


def _exit(p: _Planner, call: Call, task: Task) -> None:
    p.plan.process_calls += 1


def _lock_range(p: _Planner, call: Call, task: Task) -> None:
    """``mlock``, ``mlock2``, ``munlock`` and ``mseal`` (also strace < 6.10's
    ``syscall_0x1ce``, which is mseal on x86-64): a range, and flags for mlock2/mseal."""
    where = call.where
    kind = _RAW_SYSCALLS.get(call.name, call.name)
    addr_tok, len_tok, *rest = call.args
    op: dict[str, Any] = {
        "op": kind,
        "addr": _num(addr_tok, where),
        "length": _num(len_tok, where),
    }
    if kind == "mlock2":
        try:
            op["flags"] = [_bits(rest[0], MLOCK_BITS, where)]
        except ValueError as unknown:
            p.plan.skip(f"mlock2 (flag {unknown} not simulated)", call.tid)
            return
    elif kind == "mseal":
        op["flags"] = _num(rest[0], where)
    _range_step(p, call, task, op)


def _madvise(p: _Planner, call: Call, task: Task) -> None:
    """``madvise(addr, length, MADV_...)`` (a number with ``-X raw``)."""
    where = call.where
    addr_tok, len_tok, advice_tok = call.args
    advice_tok = advice_tok.strip()
    if advice_tok in MADVISE_ADVICE:
        advice: int = MADVISE_ADVICE[advice_tok]
    elif re.fullmatch(r"-?(?:0x[0-9a-fA-F]+|\d+)", advice_tok):
        advice = int(advice_tok, 0) & 0xFFFFFFFF
    else:
        p.plan.skip(f"madvise ({advice_tok} not simulated)", call.tid)
        return
    op: dict[str, Any] = {
        "op": "madvise",
        "addr": _num(addr_tok, where),
        "length": _num(len_tok, where),
        "advice": advice,
    }
    _range_step(p, call, task, op)


def _lock_all(p: _Planner, call: Call, task: Task) -> None:
    """``mlockall(FLAGS)`` and ``munlockall()``: the whole address space."""
    op: dict[str, Any] = {"op": call.name}
    if call.name == "mlockall":
        try:
            op["flags"] = [_bits(call.args[0], MCL_BITS, call.where)]
        except ValueError as unknown:
            p.plan.skip(f"mlockall (flag {unknown} not simulated)", call.tid)
            return
    space = p.space_of(task, call.where)
    p.plan.steps.append(Op(space.id, op, call.where, call.tid))


def _prctl(p: _Planner, call: Call, task: Task) -> None:
    """``prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, size, "name"|NULL)``; every other
    prctl is skipped, counted by its option."""
    option = call.args[0].strip() if call.args else ""
    attr = call.args[1].strip() if len(call.args) > 1 else ""
    if option not in ("PR_SET_VMA", hex(PR_SET_VMA)) or attr not in (
        "PR_SET_VMA_ANON_NAME",
        str(PR_SET_VMA_ANON_NAME),
        hex(PR_SET_VMA_ANON_NAME),
    ):
        p.plan.skip(f"prctl ({option or '?'})", call.tid)
        return
    where = call.where
    name_tok = call.args[4].strip()
    if name_tok in ("NULL", "0", "0x0"):
        name = None
    else:
        name, cut = c_string(name_tok)
        if cut:
            raise ReplayError(f"{where}: the name was cut by strace (record with -s 4096)")
    op: dict[str, Any] = {
        "op": "prctl",
        "addr": _num(call.args[2], where),
        "size": _num(call.args[3], where),
        "name": name,
    }
    _range_step(p, call, task, op, length=op["size"])


def _range_step(
    p: _Planner, call: Call, task: Task, op: dict[str, Any], length: int | None = None
) -> None:
    space = p.space_of(task, call.where)
    start = op["addr"]
    end = start + _page_up(op["length"] if length is None else length)
    outside = not space.mapped.contains(start & ~(PAGE - 1), end)
    p.plan.steps.append(Op(space.id, op, call.where, call.tid, outside=outside))


_RAW_SYSCALLS = {"syscall_0x1ce": "mseal"}
"""Calls an older strace prints by number (x86-64 numbers): mseal is 462 (strace 6.10
names it; Debian 12's strace 6.1 prints ``syscall_0x1ce(addr, len, flags, ...)``)."""


CALLS: dict[str, Handler | None] = {
    "mmap": _mmap,
    "munmap": _range_op,
    "mprotect": _range_op,
    "mremap": _mremap,
    "brk": _brk,
    "openat": _open,
    "open": _open,
    "creat": _open,
    "close": _close,
    "dup": _dup,
    "dup2": _dup,
    "dup3": _dup,
    "fcntl": _dup,
    "unlink": _unlink,
    "unlinkat": _unlink,
    "ftruncate": _truncate,
    "truncate": _truncate,
    "write": _written,
    "writev": _written,
    "pwrite64": _written,
    "pwritev": _written,
    "pwritev2": _written,
    "fallocate": _written,
    "lseek": _written,
    "clone": _clone,
    "clone3": _clone,
    "fork": _clone,
    "vfork": _clone,
    "execve": _execve,
    "execveat": _execve,
    "exit": _exit,
    "exit_group": _exit,
    "madvise": _madvise,
    "mlock": _lock_range,
    "mlock2": _lock_range,
    "munlock": _lock_range,
    "mseal": _lock_range,
    "syscall_0x1ce": _lock_range,
    "mlockall": _lock_all,
    "munlockall": _lock_all,
    "prctl": _prctl,
}
"""The replay's call table: one entry per call name. A name absent (or None) is not
replayed and is counted in ``skipped``."""


def plan_strace(
    text: str | list[Source],
    only_pid: int | None = None,
    cwd: str | None = None,
    unknown_pids: str = "threads",
) -> StracePlan:
    """strace output (one text, or the per-pid files of ``-ff``) as steps. O(lines log
    lines). Raises :class:`ReplayError` naming a line with a replayable call whose
    arguments cannot be read."""
    sources = [Source(text)] if isinstance(text, str) else text
    planner = _Planner(cwd or os.getcwd(), unknown_pids, only_pid)
    all_calls = calls(sources)
    for call in all_calls:
        if call.tid not in planner.first_cwd and call.args:
            head = call.args[0]
            if head.startswith(("AT_FDCWD<", "-100<")):
                planner.first_cwd[call.tid] = _fd(head)[1] or ""
    for call in all_calls:
        planner.feed(call)
    if len(sources) > 1 and not all(s.timed for s in sources):
        planner.plan.note(
            "per-pid files without timestamps were replayed one after the other; "
            "record -ff traces with -ttt so their calls can be merged in time order"
        )
    return planner.finish()


def _file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def read_sources(paths: list[str], read: Callable[[str], str]) -> list[Source]:
    """The inputs of ``vmasim replay``: one file, or the ``-ff`` files ``PREFIX.PID``
    (the pid from the suffix)."""
    if len(paths) == 1:
        return [Source(read(paths[0]))]
    out = []
    for path in paths:
        m = re.search(r"\.(\d+)$", path)
        if m is None:
            raise ReplayError(f"{path!r}: strace -ff files are named PREFIX.PID")
        out.append(Source(read(path), int(m.group(1)), posixpath.basename(path)))
    return out


# -- comparing layouts -------------------------------------------------------------------


def clip(maps_text: str, ranges: list[tuple[int, int]]) -> list[tuple[str, str, str, str]]:
    """The parts of a maps text inside ``ranges`` as ``(start-end, perms, offset,
    path)``, offsets adjusted to the clipped start; device and inode dropped (they
    name the simulator's files). O(lines × ranges)."""
    out = []
    for line in maps_lines(maps_text):
        rng, perms, offset_s, _dev, inode, path = split_maps_line(line)
        start_s, end_s = rng.split("-")
        start, end = int(start_s, 16), int(end_s, 16)
        offset = int(offset_s, 16)
        anon = inode == "0"
        for lo, hi in ranges:
            s, e = max(start, lo), min(end, hi)
            if s < e:
                off = offset if anon else offset + (s - start)
                out.append((f"{s:x}-{e:x}", perms, f"{off:08x}", path))
    return out


def coalesce(entries: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """Join adjacent :func:`clip` entries that map the same way (same perms and path,
    and for files contiguous offsets): the layout page by page, independent of where
    VMA boundaries fall (merge decisions). O(entries)."""
    out: list[tuple[str, str, str, str]] = []
    for rng, perms, offset, path in entries:
        start, end = (int(x, 16) for x in rng.split("-"))
        if out:
            prng, pperms, poff, ppath = out[-1]
            pstart, pend = (int(x, 16) for x in prng.split("-"))
            contiguous = path == "" or int(poff, 16) + (pend - pstart) == int(offset, 16)
            if pend == start and (pperms, ppath) == (perms, path) and contiguous:
                out[-1] = (f"{pstart:x}-{end:x}", perms, poff, path)
                continue
        out.append((rng, perms, offset, path))
    return out


def covered_lines(ranges: list[tuple[int, int]]) -> int:
    """Pages of the address space the trace mapped (for the summary)."""
    return sum(e - s for s, e in ranges) // PAGE


def chunks(ops: list[Any], size: int = BATCH) -> Iterable[list[Any]]:
    for i in range(0, len(ops), size):
        yield ops[i : i + size]


# -- running a plan ----------------------------------------------------------------------


def outside_note(n: int) -> str:
    """The summary's sentence on the ``n`` failures counted in ``outside_trace``."""
    calls_ = "1 call" if n == 1 else f"{n} calls"
    return (
        f"{calls_} touched memory the trace never mapped and failed here: the process's "
        "image was not replayed (no execve line in the trace, or a break that differs "
        "from the trace's: recorded with ASLR?), so the program, ld.so, the heap and the "
        "stack are missing. They are counted in outside_trace, not failed."
    )


@dataclass
class Outcome:
    """What a replay did: the first process, operations sent, and the ones whose
    outcome differs from the input's (a call that succeeded in the trace but failed
    here, a break that differs, or any failure of a trace-format operation), with
    their input line. Failures of calls on ranges the trace never mapped in a process
    without an image are kept apart in ``outside``."""

    pid: int
    ops: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    outside: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_by_thread: dict[str, dict[str, int]] = field(default_factory=dict)
    processes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    covered: list[tuple[int, int]] = field(default_factory=list)

    def summary(self, fmt: str) -> dict[str, Any]:
        notes = list(self.notes)
        if self.outside:
            notes.append(outside_note(len(self.outside)))
        out: dict[str, Any] = {
            "pid": self.pid,
            "format": fmt,
            "ops": self.ops,
            "failed": len(self.failed),
            "failures": self.failed[:20],
            "outside_trace": len(self.outside),
            "outside_trace_calls": self.outside[:20],
            "skipped": dict(sorted(self.skipped.items())),
        }
        if self.skipped_by_thread:
            out["skipped_by_thread"] = {
                tid: dict(sorted(v.items())) for tid, v in sorted(self.skipped_by_thread.items())
            }
        if self.processes:
            out["processes"] = self.processes
        out["covered_pages"] = covered_lines(self.covered)
        if notes:
            out["notes"] = notes
        return out

    def skip(self, what: str, tid: int | None) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1
        per = self.skipped_by_thread.setdefault(str(tid), {})
        per[what] = per.get(what, 0) + 1


def _failure(where: str, op: str, what: str | None, detail: str | None) -> dict[str, Any]:
    """A failure entry: the input line (and the file, for ``-ff`` inputs), the call and
    what went wrong."""
    source, _, line = where.rpartition("line ")
    entry: dict[str, Any] = {"line": int(line) if line.isdigit() else where}
    if source.strip():
        entry["file"] = source.strip()
    entry.update(op=op, errno_name=what, detail=detail)
    return entry


def run_trace(api: Any, pid: int, plan: Plan, steps: list[Any]) -> Outcome:
    """Execute the ``steps`` of :func:`plan_trace` in process ``pid`` through ``api``
    (a :class:`client.api.VmasimClient`). Blocking; one request per :data:`BATCH`
    operations and per file opened."""
    out = Outcome(pid)
    out.skipped = dict(plan.skipped)
    fds: dict[Any, int] = {}
    pending: list[dict[str, Any]] = []
    lines = iter(plan.lines)
    sent_lines: list[int] = []

    def flush() -> None:
        for chunk in chunks(pending):
            ops = []
            for op in chunk:
                fd = op.get("fd")
                if isinstance(fd, tuple):
                    op = {**op, "fd": -1 if fd == ("slot", -1) else fds.get(fd, -1)}
                ops.append(op)
            batch = api.syscalls(pid, ops)
            for result in batch.results:
                if result.ok:
                    continue
                what = result.errno_name or result.error
                if result.fault is not None:  # a touch that faulted: as vmatrace prints it
                    what = f"{result.fault.outcome} {result.fault.si_code}"
                line = sent_lines[out.ops + result.index]
                out.failed.append(_failure(f"line {line}", result.op, what, result.detail))
            out.ops += len(chunk)
        pending.clear()

    for step in steps:
        if isinstance(step, tuple):  # ("open", slot, path, size, flags)
            flush()
            _, slot, path, size, flags = step
            fds[("slot", slot)] = api.open_file(pid, path, flags, size).fd
            continue
        pending.append(step)
        sent_lines.append(next(lines))
    flush()
    return out


class _Runner:
    """Runs a :class:`StracePlan`: one service process per space, one simulated fd per
    (space, open file), consecutive operations of one space in one batch request."""

    def __init__(self, api: Any, plan: StracePlan, into_pid: int | None) -> None:
        self.api = api
        self.plan = plan
        self.into_pid = into_pid
        self.pid: dict[int, int] = {}
        self.image: dict[int, bool] = {}
        self.fds: dict[tuple[int, int], int] = {}
        self.out = Outcome(-1)
        self.out.skipped = dict(plan.skipped)
        self.out.skipped_by_thread = {k: dict(v) for k, v in plan.skipped_by_thread.items()}
        self.out.notes = list(plan.notes)
        self.pending: list[Op] = []

    def run(self) -> Outcome:
        for step in self.plan.steps:
            if isinstance(step, Op):
                if self.pending and self.pending[-1].space != step.space:
                    self.flush()
                self.pending.append(step)
                continue
            self.flush()
            self.control(step)
        self.flush()
        out = self.out
        root = self.plan.root
        out.pid = self.pid.get(root, -1) if root is not None else -1
        out.covered = self.plan.covered()
        latest: dict[int, dict[str, Any]] = {}  # an in-place execve reuses the pid
        for sid, space in self.plan.spaces.items():
            if sid in self.pid:
                latest[self.pid[sid]] = {
                    "trace_pid": space.tgid,
                    "pid": self.pid[sid],
                    "exe": space.exe,
                    "image": self.image.get(sid, False),
                    "threads": sorted(space.threads),
                }
        out.processes = list(latest.values())
        return out

    def _new_process(self, sid: int, name: str) -> int:
        if sid == self.plan.root and self.into_pid is not None:
            pid = self.into_pid
        else:
            pid = self.api.create_process(name=name).pid
        self.pid[sid] = pid
        self.image[sid] = False
        return pid

    def control(self, step: Step) -> None:
        api = self.api
        if isinstance(step, SpawnStep):
            self._new_process(step.space, step.name)
        elif isinstance(step, ExecStep):
            self._exec(step)
        elif isinstance(step, ForkStep):
            parent = self.pid.get(step.parent)
            if parent is None:
                return
            self.pid[step.child] = api.fork(parent).pid
            self.image[step.child] = self.image[step.parent]
            for (sid, ref_id), fd in list(self.fds.items()):
                if sid == step.parent:
                    self.fds[(step.child, ref_id)] = fd
        elif isinstance(step, OpenStep):
            pid = self.pid.get(step.space)
            if pid is None:
                return
            ref = step.ref
            try:
                fd = api.open_file(pid, ref.path, [ref.mode], ref.size).fd
            except Exception as exc:  # an ApiError: the path cannot be a simulated file
                self.out.failed.append(_failure(step.where, "open", "open failed", str(exc)))
                return
            self.fds[(step.space, ref.id)] = fd
        elif isinstance(step, TruncateStep):
            pid = self.pid.get(step.space)
            if pid is not None:
                fd = api.open_file(pid, step.path, ["O_RDWR"], step.size).fd
                api.close_file(pid, fd)

    def _exec(self, step: ExecStep) -> None:
        api = self.api
        space = self.plan.spaces[step.space]
        reuse = self.pid.get(step.reuse) if step.reuse is not None else None
        if reuse is None and step.space == self.plan.root and self.into_pid is not None:
            reuse = self.into_pid
        try:
            if reuse is not None:
                proc = api.execve(reuse, step.path, step.argv, step.envp)
            else:
                proc = api.spawn_exec(step.path, step.argv, step.envp, name=step.name)
        except Exception as exc:  # ApiError: the program is not on this machine, say
            problem = getattr(exc, "problem", {}) or {}
            self.out.failed.append(
                _failure(step.where, "execve", problem.get("errno_name"), str(exc))
            )
            if reuse is not None:
                self.pid[step.space] = reuse
                self.image[step.space] = False
            else:
                self._new_process(step.space, step.name)
            return
        self.pid[step.space] = proc.pid
        self.image[step.space] = True
        if space.first_brk is not None and int(proc.brk, 16) != space.first_brk:
            # The kernel put the break elsewhere: a layout randomised by ASLR. Replay
            # this process without its image rather than against the wrong one.
            api.delete_process(proc.pid)
            for sid in [sid for sid, pid in self.pid.items() if pid == proc.pid]:
                del self.pid[sid]
            self._new_process(step.space, step.name)
            self.out.notes.append(
                f"{step.where}: the break of {step.path} is {space.first_brk:#x} in the trace, "
                f"{proc.brk} here: the trace was recorded with ASLR (record under "
                "setarch -R); that process was replayed without its exec image"
            )

    def flush(self) -> None:
        if not self.pending:
            return
        space = self.pending[0].space
        pid = self.pid.get(space)
        sent: list[Op] = []
        ops: list[dict[str, Any]] = []
        for step in self.pending:
            if pid is None:
                self.out.skip(f"{step.op['op']} (its process could not be created)", step.tid)
                continue
            if step.needs_image and not self.image.get(space):
                self.out.skip(f"{step.op['op']} (no exec image: the break is unknown)", step.tid)
                continue
            op = step.op
            if step.ref is not None:
                fd = self.fds.get((space, step.ref), -1)
                op = {**op, "fd": fd}
                if step.release:
                    self.fds.pop((space, step.ref), None)
                    if fd < 0:
                        continue
            sent.append(step)
            ops.append(op)
        self.pending = []
        if pid is None:
            return
        for start in range(0, len(ops), BATCH):
            batch = self.api.syscalls(pid, ops[start : start + BATCH])
            for result in batch.results:
                step = sent[start + result.index]
                self._check(step, result, space)
            self.out.ops += len(batch.results)

    def _check(self, step: Op, result: Any, space: int) -> None:
        if result.ok:
            if step.expect is not None and result.addr is not None:
                got = int(result.addr, 16)
                if got != step.expect:
                    self.out.failed.append(
                        _failure(
                            step.where,
                            result.op,
                            "MISMATCH",
                            f"returned {got:#x}, the trace {step.expect:#x}",
                        )
                    )
            return
        what = result.errno_name or result.error
        entry = _failure(step.where, result.op, what, result.detail)
        if step.outside and not self.image.get(space):
            self.out.outside.append(entry)
        else:
            self.out.failed.append(entry)


def run_strace(api: Any, plan: StracePlan, into_pid: int | None = None) -> Outcome:
    """Execute ``plan`` through ``api`` (a :class:`client.api.VmasimClient`): a process
    per traced address space (the first one is ``into_pid`` when given). Blocking; one
    request per process created, forked or exec'd, per file opened, and per run of at
    most :data:`BATCH` consecutive operations of one process."""
    return _Runner(api, plan, into_pid).run()
