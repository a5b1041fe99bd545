"""Reading strace output: lines to calls.

Accepts what ``strace`` prints with any of these options: ``-f`` (pid prefixes
``1234 `` with ``-o``, ``[pid 1234] `` on a terminal), ``-ff -o PREFIX`` (one file per
pid, no prefix: the pid comes from the file name), ``-t``/``-tt``/``-ttt``/``-r``
(timestamps after the pid; ``-r``'s relative ones are read and ignored), ``-T``
(`` <0.000012>`` after the result), ``-X verbose`` (``0x3 /* PROT_READ|PROT_WRITE */``)
and ``-X raw`` (numbers only), ``-y`` (``3</path>``), ``-v`` and ``-s N`` (whole
argument and environment arrays, longer strings), and the ``<unfinished ...>``/
``<... resumed>`` pairs of concurrent calls. Signals, exit lines
(``+++ exited with 0 +++``) and strace's own messages are recognised; anything else is
ignored.

:func:`calls` yields one :class:`Call` per completed call (or exit), ordered as the
replay must apply them: by the line where the call *completed*, except the calls that
create a task (``clone``, ``clone3``, ``fork``, ``vfork``), which are placed where they
*started*, before anything the new task printed. Several ``-ff`` files are merged by
timestamp when they have one (``-t``/``-tt``/``-ttt``), else file by file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

_PID = re.compile(r"^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)")
_TIME = re.compile(r"^\s*(?:(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?|(\d+)\.(\d+))\s+")
_DURATION = re.compile(r"\s+<\d+(?:\.\d+)?>$")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(\?|-?(?:0x[0-9a-fA-F]+|\d+))(.*)$")
_RESUMED = re.compile(r"^<\.\.\.\s+(\w+)\s+resumed>\s?(.*)$")
_EXIT = re.compile(r"^\+\+\+ (?:exited with -?\d+|killed by \w+.*) \+\+\+$")
_ERRNO = re.compile(r"^\s+(E[A-Z0-9]+)\b")
_UNFINISHED = "<unfinished ...>"
STARTS_TASK = frozenset({"clone", "clone3", "fork", "vfork"})
RELATIVE_LIMIT = 1e8  # a "-ttt" time is seconds since 1970; "-r" ones are far below


@dataclass(frozen=True)
class Call:
    """One completed call (or ``name="+++exit"`` for a task's end).

    ``order`` sorts the calls of every input; ``where`` names the input line;
    ``ret`` is None for ``= ?``; ``ret_path`` is the path ``-y`` printed after a
    returned fd; ``err`` the errno name of a failed call."""

    order: tuple[float, int, int]
    where: str
    line: int
    tid: int | None
    name: str
    args: list[str]
    ret: int | None
    ret_path: str | None = None
    err: str | None = None
    timed: bool = False


@dataclass
class _Pending:
    head: str
    order: tuple[float, int, int]
    line: int


@dataclass
class Source:
    """One input: its text, the pid of a ``-ff`` file (None: pids are in the lines)
    and a name for messages."""

    text: str
    pid: int | None = None
    name: str = ""
    index: int = 0
    timed: bool = field(default=False, init=False)


def split_args(args: str) -> list[str]:
    """Top-level comma-separated arguments (commas inside quotes, ``<...>``, ``{}``,
    ``[]`` or ``()`` do not split); ``-X verbose`` comments are dropped.

    >>> split_args('0x3 /* PROT_READ|PROT_WRITE */, "a,b", {x=1, y=2}, 3</p, q>')
    ['0x3', '"a,b"', '{x=1, y=2}', '3</p, q>']
    """
    out: list[str] = []
    depth = 0
    quoted = False
    cur: list[str] = []
    i = 0
    n = len(args)
    while i < n:
        c = args[i]
        if quoted:
            cur.append(c)
            if c == "\\" and i + 1 < n:
                cur.append(args[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            cur.append(c)
        elif c == "/" and args.startswith("/*", i) and (end := args.find("*/", i + 2)) >= 0:
            i = end + 2
            continue
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


def _timestamp(m: re.Match[str]) -> float:
    if m.group(5) is not None:
        return float(f"{m.group(5)}.{m.group(6)}")
    seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    return seconds + float(f"0.{m.group(4) or 0}")


def _lines(source: Source) -> Iterator[tuple[int, int | None, float | None, str]]:
    """``(line number, pid, timestamp, body)`` of every line."""
    for lineno, raw in enumerate(source.text.splitlines(), 1):
        line = raw.rstrip()
        pid = source.pid
        m = _PID.match(line)
        if m is not None and source.pid is None:
            pid = int(m.group(1) or m.group(2))
            line = line[m.end() :]
        t = _TIME.match(line)
        stamp = None
        if t is not None and (t.group(5) is not None or t.group(1) is not None):
            stamp = _timestamp(t)
            line = line[t.end() :]
            if t.group(5) is not None and stamp < RELATIVE_LIMIT:
                stamp = None  # -r: time since the previous line, no use for merging
        yield lineno, pid, stamp, _DURATION.sub("", line)


def parse_source(source: Source) -> Iterator[Call]:
    """The calls of one input, in the order its lines give (see the module
    docstring for ``order``)."""
    pending: dict[int | None, _Pending] = {}
    prefix = f"{source.name} " if source.name else ""
    last_stamp = 0.0
    for lineno, pid, stamp, body in _lines(source):
        if stamp is not None:
            last_stamp = stamp
            source.timed = True
        order = (last_stamp if source.timed else 0.0, source.index, lineno)
        if not body or body.startswith("---"):
            continue
        if _EXIT.match(body):
            yield Call(order, f"{prefix}line {lineno}", lineno, pid, "+++exit", [], 0)
            continue
        if body.endswith(_UNFINISHED):
            pending[pid] = _Pending(body[: -len(_UNFINISHED)].rstrip(), order, lineno)
            continue
        start = order
        first_line = lineno
        resumed = _RESUMED.match(body)
        if resumed:
            part = pending.pop(pid, None)
            if part is None:
                continue  # the call started before the trace did
            rest = resumed.group(2)
            sep = "" if part.head.endswith("(") or rest.startswith(")") else ", "
            body = part.head + sep + rest
            start, first_line = part.order, part.line
        call = _CALL.match(body)
        if call is None:
            continue  # strace's own messages, "exited", "<detached ...>"
        name, args, ret_text, rest = call.groups()
        ret = None if ret_text == "?" else int(ret_text, 0)
        ret_path = None
        if rest.startswith("<") and (end := rest.rfind(">")) > 0:
            ret_path, rest = rest[1:end], rest[end + 1 :]
        errno = _ERRNO.match(rest)
        yield Call(
            start if name in STARTS_TASK else order,
            f"{prefix}line {first_line}",
            first_line,
            pid,
            name,
            split_args(args),
            ret,
            ret_path,
            errno.group(1) if errno else None,
            source.timed,
        )


def calls(sources: Iterable[Source]) -> list[Call]:
    """Every call of every input, in replay order. O(lines log lines)."""
    out: list[Call] = []
    for index, source in enumerate(sources):
        source.index = index
        out.extend(parse_source(source))
    out.sort(key=lambda c: c.order)
    return out


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", '"': '"', "\\": "\\"}


def c_string(tok: str) -> tuple[str, bool]:
    """A quoted strace string as text, and whether strace cut it (``"abc"...``).

    >>> c_string('"a\\\\tb\\\\x41\\\\101"...')
    ('a\\tbAA', True)
    """
    tok = tok.strip()
    cut = tok.endswith("...")
    if cut:
        tok = tok[:-3]
    if len(tok) < 2 or tok[0] != '"' or tok[-1] != '"':
        raise ValueError(f"{tok!r} is not a quoted string")
    body = tok[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 == len(body):
            out += c.encode()
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out += _ESCAPES[nxt].encode()
            i += 2
        elif nxt == "x":
            out.append(int(body[i + 2 : i + 4], 16))
            i += 4
        elif nxt.isdigit():
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(int(body[i + 1 : j], 8))
            i = j
        else:
            out += nxt.encode()
            i += 2
    return out.decode("utf-8", "surrogateescape"), cut


def string_array(tok: str) -> tuple[list[str], bool] | None:
    """A ``["a", "b"]`` array as strings and whether any part was cut (a string or the
    array itself); None for an array strace did not print (``0x7ff... /* 35 vars */``)."""
    tok = tok.strip()
    if not tok.startswith("["):
        return None
    inner = tok[1 : tok.rindex("]")] if "]" in tok else tok[1:]
    out: list[str] = []
    cut = False
    for part in split_args(inner):
        if not part:
            continue
        if part == "...":
            cut = True
            continue
        text, was_cut = c_string(part)
        out.append(text)
        cut = cut or was_cut
    return out, cut
