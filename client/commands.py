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
from typing import Any, TextIO, get_args

from app.schemas.maps import DEFAULT_MAX_RETRIES, MapsReader

from .api import VmasimClient
from .replay import ReplayError, clip, detect, plan_strace, plan_trace, run

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


def add_replay_parser(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a trace or strace output",
        description="Replay a trace (tests/differential format) or the output of "
        "`strace -f -y -e trace=memory,openat,close PROGRAM` into a simulated process. "
        "strace: mmaps are applied with MAP_FIXED at the addresses they returned, file "
        "mappings from the traced paths; failed calls, brk and calls that do not change "
        "the layout are skipped. Prints a JSON summary line: calls that failed here are "
        "'failed', except those on memory the trace never mapped (execve's program and "
        "ld.so, e.g. the loader's RELRO mprotects), counted in 'outside_trace'.",
    )
    p.add_argument("file", help="the trace ('-' for stdin)")
    p.add_argument("--pid", type=int, default=None, help="replay into this process")
    p.add_argument("--format", choices=["auto", "trace", "strace"], default="auto")
    p.add_argument(
        "--trace-pid",
        type=int,
        default=None,
        help="strace -f: the process to replay (default: the first one traced)",
    )
    p.add_argument(
        "--filedir", default="/tmp/vmasim-replay", help="trace format: directory of f<N>"
    )
    p.add_argument("--maps", action="store_true", help="then print the replayed maps")
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


def replay(api: VmasimClient, args: argparse.Namespace, out: TextIO) -> None:
    """Replay ``args.file``; raises :class:`ReplayError` for input it cannot read."""
    if args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.file, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as exc:
            raise ReplayError(f"cannot read {args.file!r}: {exc.strerror}") from None
    fmt = detect(text) if args.format == "auto" else args.format
    if fmt == "trace":
        plan, steps = plan_trace(text, args.filedir)
    else:
        plan, steps = plan_strace(text, args.trace_pid), None
        if not plan.ops:
            raise ReplayError(
                "no replayable mmap/munmap/mprotect/mremap call found "
                "(expected `strace -f -y -e trace=memory,openat,close` output)"
            )
    pid = args.pid if args.pid is not None else api.create_process(name="replay").pid
    outcome = run(api, pid, plan, steps)
    out.write(json.dumps(outcome.summary(plan, fmt)) + "\n")
    if args.maps or args.covered:
        maps = api.maps(pid)
        if args.covered and fmt == "strace":
            for rng, perms, offset, path in clip(maps, plan.covered):
                out.write(f"{rng} {perms} {offset} {path}\n".replace(" \n", "\n"))
        else:
            out.write(maps)
