"""The ``watch`` and ``replay`` commands of ``vmasim`` (and the maps reader options).

``vmasim watch PID`` prints the snapshots of ``GET /processes/PID/maps/stream`` as they
arrive: a ``#`` line with the snapshot's provenance, then (unless ``--summary``) the
maps text. ``vmasim replay FILE`` replays a trace (the project's format or strace
output, see :mod:`client.replay`) into a new process (or ``--pid``) and prints a JSON
summary line.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any, TextIO, get_args

from app.schemas.maps import DEFAULT_MAX_RETRIES, MapsReader

from .api import VmasimClient
from .replay import (
    STRACE_COMMAND,
    UNKNOWN_PIDS,
    ReplayError,
    clip,
    detect,
    plan_strace,
    plan_trace,
    read_sources,
    run_strace,
    run_trace,
)

READERS: list[str] = list(get_args(MapsReader))


def add_reader_options(p: argparse.ArgumentParser) -> None:
    """``--reader`` and ``--max-retries`` (maps, watch)."""
    p.add_argument(
        "--reader",
        choices=READERS,
        default=None,
        help="maps reader: seqcount (lockless, consistent; the service default), "
        "per_vma (Linux 6.17+) or mmap_lock (<= 6.16)",
    )
    p.add_argument(
        "--max-retries",
        type=int,
        default=None,
        help="seqcount: failed lockless walks before taking mmap_lock "
        f"(default {DEFAULT_MAX_RETRIES})",
    )


def add_watch_parser(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="live maps snapshots",
        description="Print maps snapshots of a process as the service streams them "
        "(GET /processes/PID/maps/stream) until --count snapshots, --max-duration "
        "seconds, the process exits, or Ctrl-C.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between snapshots")
    p.add_argument("--count", type=int, default=None, help="stop after this many")
    p.add_argument("--max-duration", type=float, default=None, help="stop after seconds")
    p.add_argument(
        "--only-changes",
        action="store_true",
        help="only snapshots whose layout generation changed",
    )
    p.add_argument(
        "--summary", action="store_true", help="only the '#' line of each snapshot, no text"
    )
    add_reader_options(p)


def _fill(text: str) -> str:
    return textwrap.fill(text, width=88)


_REPLAY_INTRO = _fill(
    "Replay a trace (tests/differential format) or strace output into simulated "
    "processes. Record programs with"
)


def add_replay_parser(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a trace or strace output",
        description=_REPLAY_INTRO
        + "\n  "
        + STRACE_COMMAND
        + "\n\n"
        + _fill(
            "Each execve line builds the program's image (the ELF files of this machine), "
            "clone/fork/vfork lines give threads their process's address space and forked "
            "processes a copy; mmaps are applied with MAP_FIXED at the addresses they "
            "returned, files opened with the traced access mode; munmap, mprotect, mremap, "
            "brk, unlink and ftruncate as they were. Prints a JSON summary line: calls that "
            "failed here (or a break that differs) are 'failed'; without an exec image, "
            "calls on memory the trace never mapped are counted in 'outside_trace'; every "
            "call not replayed is counted in 'skipped', by name and by thread; 'processes' "
            "maps each traced process to its simulated pid."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "file",
        nargs="+",
        help="the trace ('-' for stdin), or the per-pid files of strace -ff (PREFIX.PID)",
    )
    p.add_argument("--pid", type=int, default=None, help="replay into this process")
    p.add_argument("--format", choices=["auto", "trace", "strace"], default="auto")
    p.add_argument(
        "--trace-pid",
        type=int,
        default=None,
        help="strace: replay only this pid's calls (as one process)",
    )
    p.add_argument(
        "--unknown-pids",
        choices=UNKNOWN_PIDS,
        default="threads",
        help="strace: a pid first seen without a clone line (a trace recorded without "
        "%%process) is a thread of the first process (default), a process, or ignored",
    )
    p.add_argument(
        "--cwd",
        default=None,
        help="strace: the directory relative paths start from when the trace does not "
        "show it (default: this one)",
    )
    p.add_argument(
        "--filedir", default="/tmp/vmasim-replay", help="trace format: directory of f<N>"
    )
    p.add_argument("--maps", action="store_true", help="then print the first process's maps")
    p.add_argument(
        "--all-maps",
        action="store_true",
        help="strace: then print every replayed process's maps, each after a '# ' line",
    )
    p.add_argument(
        "--covered",
        action="store_true",
        help="strace: print only the parts of the maps the trace mapped",
    )


def _line(item: Any) -> str:
    s = item.snapshot
    torn = f" torn {len(s.torn_at)}" if s.torn_at else ""
    return (
        f"# snapshot {item.index} t={item.elapsed:.3f}s pid {item.pid} reader {s.reader}"
        f" generation {s.generation} seq {s.seq_begin}..{s.seq_end} attempts {s.attempts}"
        f" fallback {'yes' if s.fell_back else 'no'}{torn} vmas {item.count}\n"
    )


def watch(api: VmasimClient, args: argparse.Namespace, out: TextIO) -> None:
    """Print snapshots as they arrive. Ctrl-C ends quietly (the stream is closed)."""
    options = {
        "interval": args.interval,
        "count": args.count,
        "max_duration": args.max_duration,
        "only_changes": args.only_changes or None,
        "reader": args.reader,
        "max_retries": args.max_retries,
        "format": None if args.summary else "text",
    }
    stream = api.maps_stream(args.pid, **options)
    try:
        for item in stream:
            out.write(_line(item))
            if item.text is not None:
                out.write(item.text)
            out.flush()
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as exc:
        raise ReplayError(f"cannot read {path!r}: {exc.strerror}") from None


def replay(api: VmasimClient, args: argparse.Namespace, out: TextIO) -> None:
    """Replay ``args.file``; raises :class:`ReplayError` for input it cannot read."""
    sources = read_sources(args.file, _read)
    fmt = detect(sources[0].text) if args.format == "auto" else args.format
    if fmt == "trace":
        if len(sources) > 1:
            raise ReplayError("the trace format is one file")
        plan, steps = plan_trace(sources[0].text, args.filedir)
        pid = args.pid if args.pid is not None else api.create_process(name="replay").pid
        outcome = run_trace(api, pid, plan, steps)
    else:
        splan = plan_strace(sources, args.trace_pid, args.cwd, args.unknown_pids)
        if not splan.steps:
            raise ReplayError(
                "no replayable call found (expected strace -f -y output; record with: "
                f"{STRACE_COMMAND})"
            )
        outcome = run_strace(api, splan, args.pid)
        pid = outcome.pid
    out.write(json.dumps(outcome.summary(fmt)) + "\n")
    if args.all_maps and outcome.processes:
        for proc in outcome.processes:
            out.write(f"# pid {proc['pid']} trace_pid {proc['trace_pid']} exe {proc['exe']}\n")
            out.write(api.maps(proc["pid"]))
    elif args.maps or args.covered:
        maps = api.maps(pid)
        if args.covered and fmt == "strace":
            for rng, perms, offset, path in clip(maps, outcome.covered):
                out.write(f"{rng} {perms} {offset} {path}\n".replace(" \n", "\n"))
        else:
            out.write(maps)
