"""Replaying recorded memory syscalls into a simulated process (``vmasim replay``).

Two input formats:

* **The project's trace format** (``tests/differential/vmatrace.c`` documents it:
  ``arena``, ``open <slot> <file> <pages> rdwr|rdonly``, ``unlink``, ``mmap``, ``munmap``,
  ``mprotect``, ``mremap``, ``touch``, ``smaps``). Files are ``DIR/f<file>`` in the
  simulator's file system; ``touch`` becomes a batch ``fault``. Each operation runs as
  the trace says (the simulator chooses addresses, as the kernel did for vmatrace).

* **strace output** of ``strace -f -y -e trace=memory,openat,close PROGRAM`` (with or
  without ``-o``; pid prefixes ``1234 `` / ``[pid 1234] `` and ``<unfinished ...>`` /
  ``<... resumed>`` pairs are understood). Only the first process of the trace is
  replayed (``-f`` children have their own address spaces). The address space the
  kernel built at ``execve`` (the program, the loader, stack, vDSO) is not in the trace,
  so the replay *follows* the trace instead of re-deciding it: every successful
  ``mmap`` is applied with ``MAP_FIXED`` at the address it returned (file mappings from
  the path ``-y`` printed, opened ``O_RDWR`` in the simulator with the size of that
  path on this machine when it exists), an ``mremap`` that moved is applied with
  ``MREMAP_MAYMOVE|MREMAP_FIXED`` to where it went, ``munmap`` and ``mprotect`` as they
  were. Calls that failed in the trace are skipped, as are ``brk`` (the simulated
  process has its own heap start), ``madvise``, ``msync``, ``mlock`` and the other
  memory calls that do not change the layout. The replayed layout therefore equals the
  real one on :func:`covered` ranges, the parts of the address space the trace mapped.

  Some calls touch memory the trace never mapped: above all the dynamic loader's RELRO
  ``mprotect(..., PROT_READ)`` of the program and of ``ld.so`` itself (glibc's
  ``_dl_protect_relro``, ``elf/dl-reloc.c``), both mapped by ``execve``, whose mappings
  no strace line shows; also anything on the ``brk`` heap, the stack or the vDSO.
  Those ranges are empty in the replay, so the calls fail (``mprotect``: ``ENOMEM``)
  where the kernel's succeeded. Until replay models ``execve``, such a call is marked
  at planning time (:attr:`Plan.outside`, "outside the trace") and its failure is
  counted apart from the plain failures, which remain real differences.

Both are sent through ``POST /processes/{pid}/syscalls`` in batches of at most
:data:`BATCH` operations.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.schemas.maps import maps_lines, split_maps_line
from core.constants import U64_MAX

PAGE = 4096
BATCH = 5000
"""Operations per ``/syscalls`` request (below the default ``VMASIM_MAX_BATCH``)."""

LAYOUT_CALLS = frozenset({"mmap", "munmap", "mprotect", "mremap"})
"""strace calls replayed; every other traced call is counted in ``skipped``."""

# MAP_FIXED_NOREPLACE is replaced by MAP_FIXED (the call succeeded: nothing was there).
_DROP_MAP = {"MAP_FIXED_NOREPLACE"}


class ReplayError(ValueError):
    """The input cannot be replayed: names the line and why."""


@dataclass
class Plan:
    """Operations for the batch endpoint, files to open first, and what was skipped."""

    ops: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, int | None] = field(default_factory=dict)  # path -> size to create
    skipped: dict[str, int] = field(default_factory=dict)
    covered: list[tuple[int, int]] = field(default_factory=list)
    pid: int | None = None
    lines: list[int] = field(default_factory=list)  # input line of each op
    outside: set[int] = field(default_factory=set)
    """Indexes in ``ops`` of calls on a range the trace had not mapped (see the module
    docstring): their failures are not differences."""

    def skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1


def detect(text: str) -> str:
    """``"trace"`` if the first meaningful line is an ``arena`` line, else ``"strace"``."""
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            return "trace" if line.split()[0] == "arena" else "strace"
    raise ReplayError("the input is empty")


# -- the project's trace format ----------------------------------------------------------

_PROT_BITS = {"r": "PROT_READ", "w": "PROT_WRITE", "x": "PROT_EXEC"}
_TRACE_PROT = {"sem": "PROT_SEM", "growsdown": "PROT_GROWSDOWN", "growsup": "PROT_GROWSUP"}
_TRACE_MAP = {
    "shared_validate": "MAP_SHARED_VALIDATE",
    "shared": "MAP_SHARED",
    "private": "MAP_PRIVATE",
    "anonymous": "MAP_ANONYMOUS",
    "fixed_noreplace": "MAP_FIXED_NOREPLACE",
    "fixed": "MAP_FIXED",
    "growsdown": "MAP_GROWSDOWN",
    "noreserve": "MAP_NORESERVE",
    "sync": "MAP_SYNC",
    "stack": "MAP_STACK",
}
_TRACE_MREMAP = {
    "maymove": "MREMAP_MAYMOVE",
    "fixed": "MREMAP_FIXED",
    "dontunmap": "MREMAP_DONTUNMAP",
}
_TOUCH = {"r": "read", "w": "write", "x": "exec"}
_FIELDS = {"open": 5, "unlink": 2, "mmap": 7, "munmap": 3, "mprotect": 4, "mremap": 6, "touch": 3}


def _num(tok: str, where: str) -> int:
    try:
        return int(tok, 0) & U64_MAX
    except ValueError:
        raise ReplayError(f"{where}: {tok!r} is not a number") from None


def _bits(field_: str, names: dict[str, str], where: str, rwx: bool = False) -> list[str | int]:
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
                "prot": _bits(tok[3], _TRACE_PROT, where, rwx=True),
                "flags": _bits(tok[4], _TRACE_MAP, where),
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
                "prot": _bits(tok[3], _TRACE_PROT, where, rwx=True),
            }
        elif kind == "mremap":
            op = {
                "op": "mremap",
                "old_addr": _num(tok[1], where),
                "old_len": _num(tok[2], where),
                "new_len": _num(tok[3], where),
                "flags": _bits(tok[4], _TRACE_MREMAP, where),
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


# -- strace ------------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\w+)(?:<[^>]*>)?(?:\s+(E[A-Z0-9]+)\b.*)?$")
_RESUMED = re.compile(r"^<\.\.\.\s+(\w+)\s+resumed>\s?(.*)$")
_FD_PATH = re.compile(r"^(-?\d+)(?:<(.*)>)?$")


def _split_args(args: str) -> list[str]:
    """Top-level comma-separated arguments (commas inside quotes, ``<...>``, ``{}``,
    ``[]`` or ``()`` do not split)."""
    out: list[str] = []
    depth = 0
    quoted = False
    cur: list[str] = []
    i = 0
    while i < len(args):
        c = args[i]
        if quoted:
            cur.append(c)
            if c == "\\" and i + 1 < len(args):
                cur.append(args[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            cur.append(c)
        elif c in "<{[(":
            depth += 1
            cur.append(c)
        elif c in ">}])":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur or out:
        out.append("".join(cur).strip())
    return out


def _strace_num(tok: str, where: str) -> int:
    return 0 if tok == "NULL" else _num(tok, where)


def _names(tok: str, where: str, drop: set[str] | None = None) -> list[str | int]:
    out: list[str | int] = []
    for part in tok.split("|"):
        part = part.strip()
        if part in ("PROT_NONE", "0") or (drop and part in drop):
            continue
        out.append(
            part
            if re.fullmatch(r"[A-Z_0-9]+", part) and not part[0].isdigit()
            else _num(part, where)
        )
    return out


def _calls(text: str) -> Iterable[tuple[int, int | None, str, list[str], int, str | None]]:
    """``(line number, pid or None, name, args, return value, errno name)`` of every
    completed call, ``<unfinished ...>``/``<... resumed>`` pairs joined."""
    pending: dict[int | None, tuple[int, str]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        m = _PREFIX.match(line)
        pid_text = (m.group(1) or m.group(2)) if m else None
        pid = int(pid_text) if pid_text else None
        body = line[m.end() :] if m else line
        if not body or body.startswith(("+++", "---")):
            continue
        if body.endswith("<unfinished ...>"):
            pending[pid] = (lineno, body[: -len("<unfinished ...>")].rstrip())
            continue
        resumed = _RESUMED.match(body)
        if resumed:
            start = pending.pop(pid, None)
            if start is None:
                continue
            lineno, head = start
            sep = "" if head.endswith("(") or resumed.group(2).startswith(")") else ", "
            body = head + sep + resumed.group(2)
        call = _CALL.match(body)
        if call is None:
            continue  # signals, "exited", strace's own messages
        name, args, ret, err = call.groups()
        try:
            value = int(ret, 0)
        except ValueError:
            continue  # "?" (the process died in the call)
        yield lineno, pid, name, _split_args(args), value, err


def _fd_path(tok: str) -> tuple[int, str | None]:
    m = _FD_PATH.match(tok)
    if m is None:
        raise ReplayError(f"{tok!r} is not an fd (did strace run with -y?)")
    return int(m.group(1)), m.group(2)


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


def _page_up(n: int) -> int:
    return (n + PAGE - 1) & ~(PAGE - 1)


def plan_strace(text: str, only_pid: int | None = None) -> Plan:
    """The strace output as batch operations for the first traced process (or
    ``only_pid``). O(lines). Raises :class:`ReplayError` naming a line that has a
    replayable call with unreadable arguments."""
    plan = Plan()
    mapped = _Mapped()
    for lineno, pid, name, args, ret, err in _calls(text):
        if plan.pid is None and only_pid is None:
            plan.pid = pid
        if pid != (only_pid if only_pid is not None else plan.pid):
            continue
        if name not in LAYOUT_CALLS:
            if name not in ("openat", "open", "close"):
                plan.skip(name)
            continue
        if ret == -1 or err is not None:
            plan.skip(f"{name} (failed in the trace)")
            continue
        where = f"line {lineno}"
        try:
            if name == "mmap":
                _addr, length, prot, flags, fd, offset = args
                fd_num, path = _fd_path(fd)
                op: dict[str, Any] = {
                    "op": "mmap",
                    "addr": ret,
                    "length": _strace_num(length, where),
                    "prot": _names(prot, where),
                    "flags": [*_names(flags, where, _DROP_MAP | {"MAP_FIXED"}), "MAP_FIXED"],
                    "fd": -1,
                    "offset": _strace_num(offset, where),
                }
                if fd_num >= 0 and "MAP_ANONYMOUS" not in op["flags"]:
                    if path is None:
                        raise ReplayError(f"{where}: fd {fd_num} has no path (strace -y)")
                    op["fd"] = ("path", path)
                    plan.files.setdefault(path, _file_size(path))
                mapped.add(ret, ret + _page_up(op["length"]))
            elif name == "munmap":
                addr, length = args
                op = {
                    "op": "munmap",
                    "addr": _strace_num(addr, where),
                    "length": _strace_num(length, where),
                }
            elif name == "mprotect":
                addr, length, prot = args
                op = {
                    "op": "mprotect",
                    "addr": _strace_num(addr, where),
                    "length": _strace_num(length, where),
                    "prot": _names(prot, where),
                }
            else:  # mremap
                old, old_len, new_len, flags, *rest = args
                old_addr = _strace_num(old, where)
                names = _names(flags, where)
                new_addr = _strace_num(rest[0], where) if rest else 0
                if ret != old_addr:
                    names = [n for n in names if n not in ("MREMAP_MAYMOVE", "MREMAP_FIXED")]
                    names += ["MREMAP_MAYMOVE", "MREMAP_FIXED"]
                    new_addr = ret
                op = {
                    "op": "mremap",
                    "old_addr": old_addr,
                    "old_len": _strace_num(old_len, where),
                    "new_len": _strace_num(new_len, where),
                    "flags": names,
                    "new_addr": new_addr,
                }
                touched = (old_addr, old_addr + _page_up(op["old_len"]))
                if not mapped.contains(*touched):
                    plan.outside.add(len(plan.ops))
                mapped.add(ret, ret + _page_up(op["new_len"]))
        except ValueError as exc:  # wrong argument count, bad number
            if isinstance(exc, ReplayError):
                raise
            raise ReplayError(f"{where}: cannot read the arguments of {name}: {exc}") from None
        if name in ("munmap", "mprotect"):
            start = op["addr"]
            if not mapped.contains(start, start + _page_up(op["length"])):
                plan.outside.add(len(plan.ops))
        plan.ops.append(op)
        plan.lines.append(lineno)
    plan.covered = mapped.ranges()
    return plan


def _file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


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


def covered_lines(plan: Plan) -> int:
    """Pages of the address space the trace mapped (for the summary)."""
    return sum(e - s for s, e in plan.covered) // PAGE


def chunks(ops: list[dict[str, Any]], size: int = BATCH) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(ops), size):
        yield ops[i : i + size]


# -- running a plan ----------------------------------------------------------------------


def outside_note(n: int) -> str:
    """The summary's sentence on the ``n`` failures counted in ``outside_trace``."""
    calls = "1 call" if n == 1 else f"{n} calls"
    return (
        f"{calls} touched memory the trace never mapped and failed here: execve maps the "
        "program, ld.so, the stack and the vDSO before tracing begins (the loader's RELRO "
        "mprotects of the program and of ld.so are such calls), and brk is not replayed. "
        "They are counted in outside_trace, not failed, until replay models execve."
    )


@dataclass
class Outcome:
    """What a replay did: the process, operations sent, and the ones whose outcome
    differs from the input's (a strace call that succeeded but failed here, or any
    failure of a trace-format operation), with their input line. Failures of calls on
    ranges the trace never mapped (:attr:`Plan.outside`) are kept apart in ``outside``."""

    pid: int
    ops: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    outside: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, plan: Plan, fmt: str) -> dict[str, Any]:
        out = {
            "pid": self.pid,
            "format": fmt,
            "ops": self.ops,
            "failed": len(self.failed),
            "failures": self.failed[:20],
            "outside_trace": len(self.outside),
            "outside_trace_calls": self.outside[:20],
            "skipped": dict(sorted(plan.skipped.items())),
            "covered_pages": covered_lines(plan),
        }
        if self.outside:
            out["note"] = outside_note(len(self.outside))
        return out


def _resolve(op: dict[str, Any], fds: dict[Any, int]) -> dict[str, Any]:
    fd = op.get("fd")
    if isinstance(fd, tuple):
        op = {**op, "fd": -1 if fd == ("slot", -1) else fds.get(fd, -1)}
    return op


def run(api: Any, pid: int, plan: Plan, steps: list[Any] | None = None) -> Outcome:
    """Execute ``plan`` (strace: ``plan.files`` then ``plan.ops``; trace format: the
    ``steps`` of :func:`plan_trace`) in process ``pid`` through ``api`` (a
    :class:`client.api.VmasimClient`). Blocking; O(operations) plus one request per
    :data:`BATCH` operations and per file opened."""
    out = Outcome(pid)
    fds: dict[Any, int] = {}
    for path, size in plan.files.items():
        fds[("path", path)] = api.open_file(pid, path, ["O_RDWR"], size).fd
    pending: list[dict[str, Any]] = []
    lines = iter(plan.lines)
    sent_lines: list[int] = []

    def flush() -> None:
        for chunk in chunks(pending):
            batch = api.syscalls(pid, [_resolve(op, fds) for op in chunk])
            for result in batch.results:
                index = out.ops + result.index
                lineno = sent_lines[index]
                if not result.ok:
                    what = result.errno_name or result.error
                    if result.fault is not None:  # a touch that faulted: as vmatrace prints it
                        what = f"{result.fault.outcome} {result.fault.si_code}"
                    (out.outside if index in plan.outside else out.failed).append(
                        {
                            "line": lineno,
                            "op": result.op,
                            "errno_name": what,
                            "detail": result.detail,
                        }
                    )
            out.ops += len(chunk)
        pending.clear()

    for step in steps if steps is not None else plan.ops:
        if isinstance(step, tuple):  # ("open", slot, path, size, flags)
            flush()
            _, slot, path, size, flags = step
            fds[("slot", slot)] = api.open_file(pid, path, flags, size).fd
            continue
        pending.append(step)
        sent_lines.append(next(lines))
    flush()
    return out
