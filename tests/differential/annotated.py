"""Hand-written traces annotated with the kernel's expected output.

An annotated trace is a trace whose operation lines may be followed by:

* a result line, ``= 0x...``, ``= 0``, ``= OUT`` or ``! ENAME`` (normalised form);
* the expected arena maps after the op, one ``> `` line each, in normalised form
  (see compare.py) and ending in ``$`` so that trailing spaces are visible, or a
  single ``> (empty)`` for an empty arena; `` @73 `` in such a line stands for the
  spaces that put the name at column 73, as the kernel pads it.

An op followed by no result line has no result expectation, and one followed by no
``>`` line has no maps expectation.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.differential.compare import normalise_maps, normalise_result
from tests.differential.realkernel import Run
from tests.differential.trace import Trace, TraceSyntaxError, parse_trace


@dataclass
class Expect:
    result: str | None = None
    maps: list[str] | None = None


_DIRECTIVES = ("arena", "smaps", "locks")  # "smaps all [files]" too


def _is_op(line: str) -> bool:
    """Is this (stripped) trace line an operation, not a comment or a directive?"""
    return bool(line) and not line.startswith("#") and line.split()[0] not in _DIRECTIVES


def parse_annotated(text: str) -> tuple[Trace, list[Expect]]:
    plain: list[str] = []
    expects: list[Expect] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("= ", "! ")):
            if not expects or expects[-1].result is not None:
                raise TraceSyntaxError(f"result line without an op: {raw!r}")
            expects[-1].result = line
        elif line.startswith(">"):
            if not expects:
                raise TraceSyntaxError(f"maps line without an op: {raw!r}")
            body = raw.split(">", 1)[1][1:]
            e = expects[-1]
            if e.maps is None:
                e.maps = []
            if body.strip() == "(empty)":
                continue
            if not body.endswith("$"):
                raise TraceSyntaxError(f"expected maps lines end in '$': {raw!r}")
            body = body[:-1]
            if " @73 " in body:
                head, name = body.split(" @73 ", 1)
                body = head + " " * max(1, 73 - len(head)) + name
            e.maps.append(body)
        else:
            plain.append(raw)
            if _is_op(line):
                expects.append(Expect())
    trace = parse_trace("\n".join(plain))
    assert len(trace.ops) == len(expects)
    return trace, expects


def check_expectations(trace: Trace, expects: list[Expect], run: Run) -> list[str]:
    """Human-readable differences between a run and the annotations (empty if none)."""
    problems = []
    for i, (op, exp) in enumerate(zip(trace.ops, expects, strict=True)):
        step = run.steps[i]
        got_result = normalise_result(op, step.result, trace)
        got_maps = normalise_maps(step.maps, run.filedir)
        if exp.result is not None and got_result != exp.result:
            problems.append(f"#{i} {op}\n    result {got_result!r}, expected {exp.result!r}")
        if exp.maps is not None and got_maps != exp.maps:
            lines = "\n".join(f"      > {m}$" for m in got_maps) or "      > (empty)"
            want = "\n".join(f"      > {m}$" for m in exp.maps) or "      > (empty)"
            problems.append(f"#{i} {op}\n    maps:\n{lines}\n    expected:\n{want}")
    return problems


def annotate(text: str, run: Run, trace: Trace) -> str:
    """``text`` (a plain trace, comments kept) with the run's results and maps written
    after each op in the annotated form (names at column 73 as `` @73 ``): the kernel's
    output, to review and paste into a fixed trace (``run.py --annotate``)."""
    out: list[str] = []
    steps = iter(zip(trace.ops, run.steps, strict=True))
    for raw in text.splitlines():
        out.append(raw)
        line = raw.strip()
        if not _is_op(line):
            continue
        op, step = next(steps)
        out.append(normalise_result(op, step.result, trace))
        maps = normalise_maps(step.maps, run.filedir)
        for m in maps:
            fields = m.split(" ", 5)
            if len(fields) == 6 and fields[0][0] not in "@~" and len(m) > 73 and m[72] == " ":
                head = " ".join(fields[:5])
                if m[73] != " " and m[len(head) : 73].strip() == "":
                    m = f"{head} @73 {m[73:]}"
            out.append(f"> {m}$")
        if not maps:
            out.append("> (empty)")
    return "\n".join(out) + "\n"
