"""``vmasim``: start the service, or talk to a running one.

::

    vmasim --version
    vmasim serve [--host 127.0.0.1] [--port 8000] [UVICORN OPTION ...]
    vmasim spawn [--layout typical]                 # prints the new pid
    vmasim exec [--env NAME=VALUE] [--aslr] [--pid PID] PATH [ARG ...]  # prints the pid
    vmasim ps
    vmasim maps PID [--json] [--reader seqcount|per_vma|mmap_lock] [--headers]
    vmasim smaps PID [--rollup] [--reader mmap_lock|per_vma] [--headers]
    vmasim status PID [--statm]
    vmasim watch PID [--interval 1] [--count N] [--only-changes] [--summary]
    vmasim replay FILE [--pid PID] [--format auto|trace|strace] [--maps]
    vmasim mmap PID LENGTH [--addr A] [--prot read,write] [--flags private,anonymous]
    vmasim munmap PID ADDR LENGTH
    vmasim madvise PID ADDR LENGTH ADVICE               # e.g. dontneed, MADV_DONTFORK
    vmasim mlock|munlock|mseal PID ADDR LENGTH
    vmasim mlock2 PID ADDR LENGTH [--flags onfault]
    vmasim mlockall PID FLAGS                       # e.g. current,future[,onfault]
    vmasim munlockall PID
    vmasim anon-name PID ADDR SIZE [NAME]           # prctl(PR_SET_VMA); no NAME clears
    vmasim fault PID ADDR [--access read|write|exec] [--json]
    vmasim fork PID [--name NAME]                   # prints the child's pid
    vmasim mount DIR [--port P] [--url URL] [--reader R] [--spawn typical] ...
    vmasim export-proc DIR [--url URL] [--state FILE] [--reader R]
    vmasim run-against PID [--proc DIR] -- COMMAND...  # {pid}: the placeholder's pid

``mount``, ``export-proc`` and ``run-against`` run ``python -m app.procmount`` (the
/proc mount: FUSE, a static export, a tool in a mount namespace); their options are
that module's (``vmasim mount --help``). ``run-against`` without ``--proc`` mounts the
service at ``--url`` for the command's run.
``serve`` listens on ``--host``/``--port``, else ``$VMASIM_HOST``/``$VMASIM_PORT``, else
127.0.0.1:8000; other options are uvicorn's and pass through (``--workers`` is refused).
Client commands use ``--url`` (default ``$VMASIM_URL`` or http://127.0.0.1:8000).
Numbers may be decimal or ``0x`` hex. Flag names are case-insensitive and the
``PROT_``/``MAP_``/``MADV_``/``MLOCK_``/``MCL_`` prefix is optional. Exit codes: 0 ok, 1 the
service refused the request (its problem detail is printed to stderr), 2 usage error,
3 service unreachable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO, get_args

import httpx

from app import VERSION_TEXT
from app.schemas.maps import SmapsReader

from .api import DEFAULT_HOST, DEFAULT_MACHINE, DEFAULT_PORT, DEFAULT_URL, ApiError, VmasimClient
from .commands import add_reader_options, add_replay_parser, add_watch_parser, replay, watch
from .replay import ReplayError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def _number(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return port


def listen_address(
    host: str | None, port: int | None, environ: Mapping[str, str]
) -> tuple[str, int]:
    """Where ``vmasim serve`` listens: ``--host``/``--port``, else ``VMASIM_HOST``/
    ``VMASIM_PORT``, else :data:`~client.api.DEFAULT_HOST`/``DEFAULT_PORT``. Raises
    :class:`ValueError` naming the variable when ``VMASIM_PORT`` is not a port."""
    if host is None:
        host = environ.get("VMASIM_HOST") or DEFAULT_HOST
    if port is None:
        raw = environ.get("VMASIM_PORT")
        try:
            port = _port(raw) if raw else DEFAULT_PORT
        except argparse.ArgumentTypeError:
            raise ValueError(f"VMASIM_PORT={raw!r} is not a TCP port (0-65535)") from None
    return host, port


def _names(prefix: str) -> Callable[[str], list[str | int]]:
    def parse(text: str) -> list[str | int]:
        out: list[str | int] = []
        for tok in filter(None, (t.strip() for t in text.split(","))):
            if tok[0].isdigit():
                out.append(_number(tok))
            else:
                name = tok.upper()
                out.append(name if name.startswith(prefix) else prefix + name)
        return out

    return parse


MACHINE_ACTIONS = ("list", "create", "show", "delete")


def _setting(text: str) -> tuple[str, int | bool]:
    """``name=value`` of ``machines create --set``: an integer (``0x`` too), or a bool."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not SETTING=VALUE")
    if raw.lower() in ("true", "false"):
        return name, raw.lower() == "true"
    try:
        return name, int(raw, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value is not an integer") from None


def _one(prefix: str) -> Callable[[str], str | int]:
    names = _names(prefix)

    def parse(text: str) -> str | int:
        items = names(text)
        if len(items) != 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not one name or number")
        return items[0]

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmasim",
        description="A simulated Linux process address space: run the REST service or "
        "talk to a running one.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION_TEXT}")
    parser.add_argument(
        "--url",
        default=os.environ.get("VMASIM_URL", DEFAULT_URL),
        help="service URL for client commands (default: $VMASIM_URL or %(default)s)",
    )
    parser.add_argument(
        "--machine",
        default=os.environ.get("VMASIM_MACHINE", DEFAULT_MACHINE),
        help="the simulated machine client commands act on "
        "(default: $VMASIM_MACHINE or %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "serve",
        help="run the service (one worker)",
        description=_SERVE,
        epilog=_SERVE_EPILOG,
        usage="%(prog)s [-h] [--host HOST] [--port PORT] [UVICORN OPTION ...]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # an abbreviation must not swallow a uvicorn option
    )
    p.add_argument(
        "--host",
        help="address to listen on; 0.0.0.0 for every interface "
        f"(default: $VMASIM_HOST if set, else {DEFAULT_HOST})",
    )
    p.add_argument(
        "--port",
        type=_port,
        help=f"TCP port; 0 for any free one (default: $VMASIM_PORT if set, else {DEFAULT_PORT})",
    )

    p = sub.add_parser(
        "spawn", help="create a process", description="Create a process and print its pid."
    )
    p.add_argument("--name", default="sim", help="process name (1-15 characters)")
    p.add_argument("--layout", choices=["empty", "typical"], default="empty")
    p.add_argument(
        "--maps-file",
        type=argparse.FileType("r"),
        help="import the layout from a /proc/<pid>/maps text ('-' for stdin)",
    )

    p = sub.add_parser(
        "exec",
        help="run a program's execve layout",
        description="Create a process whose address space is the one execve builds for "
        "the program at PATH on the server's machine (its segments, interpreter, stack, "
        "vDSO and break, as Linux places them), or with --pid replace that process's "
        "image. argv is PATH ARG ... (--argv0 replaces argv[0]); the environment is "
        "empty unless --env or --inherit-env give one (its size decides how many pages "
        "the stack starts with). Prints the pid.",
    )
    p.add_argument("--pid", type=int, help="execve in this process instead of a new one")
    p.add_argument("--name", help="the new process's name (default: the file name)")
    p.add_argument("--argv0", help="argv[0] (default: PATH)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="one variable")
    p.add_argument("--inherit-env", action="store_true", help="pass this shell's environment")
    p.add_argument("--aslr", action="store_true", help="randomise the layout (seeded)")
    p.add_argument("--seed", type=_number, help="with --aslr: the seed of the draws")
    p.add_argument("--json", action="store_true", help="print the process as JSON")
    p.add_argument("path", help="absolute path of the program or #! script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")

    sub.add_parser(
        "ps",
        help="list processes",
        description="List the live processes: pid, VMA count and name. VMAS is the kernel's "
        "map_count, the VMAs in the process's tree (the REST map_count field); `vmasim maps` "
        "prints one line more, the [vsyscall] gate VMA, which is not in the tree.",
    )

    p = sub.add_parser(
        "maps",
        help="print /proc/PID/maps",
        description="Print the maps text of a process, byte for byte as Linux prints it.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("--json", action="store_true", help="print maps.json instead")
    add_reader_options(p)
    p.add_argument(
        "--headers",
        action="store_true",
        help="also print the snapshot's metadata (X-Vmasim-* headers) to stderr",
    )
    p = sub.add_parser(
        "smaps",
        help="print /proc/PID/smaps or smaps_rollup",
        description="Print the smaps text of a process (or with --rollup its smaps_rollup), "
        "byte for byte as Linux prints it, as it arrives: a process of millions of VMAs "
        "or terabytes of memory is never held whole.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("--rollup", action="store_true", help="smaps_rollup: one summed record")
    p.add_argument(
        "--reader",
        choices=get_args(SmapsReader),
        default=None,
        help="smaps reader: mmap_lock (Linux 6.18, the default) or per_vma (the per-VMA "
        "lock series)",
    )
    p.add_argument(
        "--headers",
        action="store_true",
        help="also print the read's metadata (X-Vmasim-* headers) to stderr",
    )
    p = sub.add_parser(
        "status",
        help="print the memory lines of /proc/PID/status",
        description="Print the memory lines of /proc/PID/status (VmPeak ... HugetlbPages), "
        "or with --statm /proc/PID/statm.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("--statm", action="store_true", help="print /proc/PID/statm instead")
    add_watch_parser(sub)
    add_replay_parser(sub)

    p = sub.add_parser(
        "mmap", help="map memory", description="mmap(2) in a process; prints the address."
    )
    p.add_argument("pid", type=int)
    p.add_argument("length", type=_number)
    p.add_argument("--addr", type=_number, default=0, help="hint, or exact with fixed")
    p.add_argument(
        "--prot",
        type=_names("PROT_"),
        default=["PROT_READ", "PROT_WRITE"],
        help="comma-separated, e.g. read,write (default)",
    )
    p.add_argument(
        "--flags",
        type=_names("MAP_"),
        default=["MAP_PRIVATE", "MAP_ANONYMOUS"],
        help="comma-separated, e.g. private,anonymous (default),fixed",
    )
    p.add_argument("--fd", type=int, default=-1)
    p.add_argument("--offset", type=_number, default=0)

    p = sub.add_parser("munmap", help="unmap memory", description="munmap(2) in a process.")
    p.add_argument("pid", type=int)
    p.add_argument("addr", type=_number)
    p.add_argument("length", type=_number)

    for name, text in RANGE_CALLS.items():
        p = sub.add_parser(name, help=text, description=f"{name}(2) in a process: {text}.")
        p.add_argument("pid", type=int)
        p.add_argument("addr", type=_number)
        p.add_argument("length", type=_number)
        if name == "mlock2":
            p.add_argument(
                "--flags", type=_names("MLOCK_"), default=[], help="onfault: lock as pages fault"
            )
    p = sub.add_parser("madvise", help="advise on a range", description="madvise(2) in a process.")
    p.add_argument("pid", type=int)
    p.add_argument("addr", type=_number)
    p.add_argument("length", type=_number)
    p.add_argument("advice", type=_one("MADV_"), help="e.g. dontneed, MADV_FREE, 4")
    p = sub.add_parser(
        "mlockall",
        help="lock the whole address space",
        description="mlockall(2): current locks every mapping, future every later one, "
        "onfault (with either) locks without faulting in.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("flags", type=_names("MCL_"), help="comma-separated, e.g. current,future")
    p = sub.add_parser(
        "munlockall", help="unlock everything", description="munlockall(2) in a process."
    )
    p.add_argument("pid", type=int)
    p = sub.add_parser(
        "anon-name",
        help="name anonymous memory",
        description="prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ADDR, SIZE, NAME): maps shows "
        "[anon:NAME]; without NAME the name is cleared.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("addr", type=_number)
    p.add_argument("size", type=_number)
    p.add_argument("name", nargs="?", help="the name (omit to clear it)")

    p = sub.add_parser(
        "fault",
        help="raise a page fault",
        description="A user page fault at ADDR in a process. Prints the outcome (ok, or "
        "the signal and si_code), the path (vma_lock, mmap_lock, retried, stack_expanded), "
        "the VMA and the page mapped. A signal is an outcome: the exit code is still 0.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("addr", type=_number)
    p.add_argument("--access", choices=["read", "write", "exec"], default="read")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")

    for name, text in PROCMOUNT_COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text, add_help=False)
        p.add_argument("args", nargs=argparse.REMAINDER, help="see --help")

    p = sub.add_parser(
        "machines",
        help="list, create, show or delete simulated machines",
        description="Simulated machines: each has its own processes, pids, files and "
        "counters. `machines` lists them; `machines create [ID] --set ram_pages=262144 "
        "--set overcommit_memory=2` creates one with kernel settings; `machines show ID`, "
        "`machines delete ID`. Other commands act on --machine.",
    )
    p.add_argument("action", nargs="?", choices=MACHINE_ACTIONS, default="list")
    p.add_argument("id", nargs="?", help="the machine id (create: chosen by the service)")
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        type=_setting,
        metavar="SETTING=VALUE",
        help="create: a kernel setting (an integer, true or false); repeatable",
    )

    p = sub.add_parser(
        "fork",
        help="fork a process",
        description="fork(2): a child with a copy of the address space; prints its pid.",
    )
    p.add_argument("pid", type=int)
    p.add_argument("--name", help="the child's name (default: the parent's)")
    return parser


RANGE_CALLS = {
    "mlock": "lock a range and fault it in",
    "mlock2": "lock a range (--flags onfault: without faulting it in)",
    "munlock": "unlock a range",
    "mseal": "seal a range against munmap, mprotect, mremap and discarding madvise",
}
"""The subcommands taking PID ADDR LENGTH, by syscall name."""

HTTP_PROTOCOL = "app.http:BoundedH11Protocol"
"""uvicorn's ``--http`` for ``vmasim serve`` (``app.http.PROTOCOL``; the client does not
import the server, a test keeps the two equal)."""

# Wrapped by hand (RawDescriptionHelpFormatter): argparse would break "--log-level".
_SERVE = """\
Run the service with uvicorn on one worker: the engine's state (every simulated
process) lives in this process, so more workers would be disjoint machines.
Limits, the token and the state file come from VMASIM_* variables (README,
"Hardening settings")."""
_SERVE_EPILOG = """\
Other options are uvicorn's (see `uvicorn --help`) and pass through, e.g.
  vmasim serve --port 9000 --log-level debug --timeout-graceful-shutdown 10
--workers is refused."""


def _serve(args: argparse.Namespace, uvicorn_args: list[str]) -> int:
    """Run uvicorn's own command line on ``app.main:app`` (so every uvicorn option works),
    with one worker whatever ``UVICORN_WORKERS`` says. Returns uvicorn's exit code."""
    if any(a == "--workers" or a.startswith("--workers=") for a in uvicorn_args):
        sys.stderr.write("vmasim serve: --workers is refused: the state lives in one process\n")
        return EXIT_USAGE
    try:
        host, port = listen_address(args.host, args.port, os.environ)
    except ValueError as exc:
        sys.stderr.write(f"vmasim serve: {exc}\n")
        return EXIT_USAGE
    from uvicorn.main import main as uvicorn_main

    # The service's HTTP protocol (app.http.PROTOCOL: uvicorn's h11 with a deadline for
    # request heads); a --http of the caller's comes later and wins.
    argv = ["app.main:app", "--host", host, "--port", str(port), "--workers", "1"]
    argv += ["--http", HTTP_PROTOCOL]
    try:
        uvicorn_main.main(args=[*argv, *uvicorn_args], prog_name="vmasim serve")
    except SystemExit as exc:  # click ends every run with one, 0 included
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE if exc.code else EXIT_OK
    return EXIT_OK


PROCMOUNT_COMMANDS = {
    "mount": "mount the simulated machine as a procfs tree (FUSE) until unmounted",
    "export-proc": "write the simulated machine's procfs tree as ordinary files",
    "run-against": "run a tool with /proc/<placeholder> showing a simulated process",
}
PROCMOUNT_MODULE = "app.procmount"  # started by name: the client never imports the server


def procmount_argv(command: str, rest: list[str], url: str, url_given: bool) -> list[str]:
    """The ``python -m app.procmount`` command line of ``vmasim COMMAND REST...``.
    ``run-against`` without ``--proc``/``--url`` before ``--`` gets the CLI's ``--url``;
    ``mount``/``export-proc`` get it only when it was given explicitly."""
    sub = {"export-proc": "export"}.get(command, command)
    head = rest[: rest.index("--")] if "--" in rest else rest
    has_source = any(a in ("--proc", "--url") or a.startswith(("--proc=", "--url=")) for a in head)
    extra: list[str] = []
    if not has_source and (command == "run-against" or url_given):
        extra = ["--url", url]
    if command == "run-against" and extra:
        # options go before the PID's "--": insert right after the subcommand
        return [sys.executable, "-m", PROCMOUNT_MODULE, sub, *extra, *rest]
    return [sys.executable, "-m", PROCMOUNT_MODULE, sub, *rest, *extra]


def _procmount_at(words: list[str]) -> int | None:
    """The index of a procmount command in the CLI's words (after global options)."""
    i = 0
    while i < len(words):
        w = words[i]
        if w in PROCMOUNT_COMMANDS:
            return i
        if w == "--url":
            i += 2
        elif w.startswith("--url="):
            i += 1
        else:
            return None
    return None


def _procmount(argv: list[str]) -> int:
    """Run ``python -m app.procmount`` in a child process and return its exit code
    (Ctrl-C reaches it too: it unmounts and exits)."""
    import subprocess

    try:
        return subprocess.run(argv, check=False).returncode
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, api: VmasimClient, out: TextIO) -> None:
    cmd = args.command
    if cmd == "spawn":
        maps = args.maps_file.read() if args.maps_file is not None else None
        layout = None if maps is not None else args.layout
        proc = api.create_process(name=args.name, layout=layout, maps=maps)
        out.write(f"{proc.pid}\n")
    elif cmd == "exec":
        _exec(args, api, out)
    elif cmd == "ps":
        listing = api.list_processes()
        out.write(f"{'PID':>7} {'VMAS':>6} NAME\n")
        for p in listing.processes:
            out.write(f"{p.pid:>7} {p.map_count:>6} {p.name}\n")
    elif cmd == "maps":
        if args.json:
            snapshot = api.maps_json(args.pid, args.reader, args.max_retries)
            out.write(json.dumps(snapshot.model_dump(), indent=2) + "\n")
        else:
            _print_proc(api, out, args.pid, "maps", args.headers, reader=args.reader,
                        max_retries=args.max_retries)  # fmt: skip
    elif cmd == "smaps":
        view = "smaps_rollup" if args.rollup else "smaps"
        _print_proc(api, out, args.pid, view, args.headers, reader=args.reader)
    elif cmd == "status":
        _print_proc(api, out, args.pid, "statm" if args.statm else "status", False)
    elif cmd == "watch":
        watch(api, args, out)
    elif cmd == "replay":
        replay(api, args, out)
    elif cmd == "mmap":
        addr = api.mmap(
            args.pid, args.addr, args.length, args.prot, args.flags, fd=args.fd, offset=args.offset
        )
        out.write(f"{addr:#x}\n")
    elif cmd == "munmap":
        api.munmap(args.pid, args.addr, args.length)
    elif cmd == "madvise":
        api.madvise(args.pid, args.addr, args.length, args.advice)
    elif cmd in ("mlock", "munlock", "mseal"):
        getattr(api, cmd)(args.pid, args.addr, args.length)
    elif cmd == "mlock2":
        api.mlock2(args.pid, args.addr, args.length, args.flags)
    elif cmd == "mlockall":
        api.mlockall(args.pid, args.flags)
    elif cmd == "munlockall":
        api.munlockall(args.pid)
    elif cmd == "anon-name":
        api.set_anon_name(args.pid, args.addr, args.size, args.name)
    elif cmd == "fault":
        result = api.fault(args.pid, args.addr, args.access)
        if args.json:
            out.write(json.dumps(result.model_dump(), indent=2) + "\n")
        else:
            outcome = "ok" if result.ok else f"{result.outcome} {result.si_code}"
            vma = f"{result.vma_start}-{result.vma_end}" if result.vma_start else "no-vma"
            major = " major" if result.major else ""
            out.write(f"{outcome} {result.path} {vma} {result.page or '-'}{major}\n")
    elif cmd == "fork":
        out.write(f"{api.fork(args.pid, args.name).pid}\n")
    elif cmd == "machines":
        _machines(args, api, out)
    else:  # pragma: no cover - argparse rejects unknown commands
        raise AssertionError(cmd)


def _print_proc(
    api: VmasimClient, out: TextIO, pid: int, view: str, headers: bool, **params: Any
) -> None:
    """Write ``/proc/<pid>/<view>`` to ``out`` as it arrives, then with ``headers`` its
    ``X-Vmasim-*`` metadata to stderr."""
    with api.open_proc(pid, view, **params) as (meta, pieces):
        for piece in pieces:
            out.write(piece)
    if headers:
        sys.stderr.write("".join(f"# {k}: {v}\n" for k, v in meta.items()))


def _machines(args: argparse.Namespace, api: VmasimClient, out: TextIO) -> None:
    action = args.action
    if action == "list":
        listing = api.list_machines()
        out.write(f"{'MACHINE':<32} {'PROCS':>6} {'RAM_PAGES':>10} OVERCOMMIT\n")
        for m in listing.machines:
            s = m.settings
            out.write(f"{m.id:<32} {m.processes:>6} {s.ram_pages:>10} {s.overcommit_memory}\n")
    elif action == "create":
        out.write(f"{api.create_machine(args.id, **dict(args.settings)).id}\n")
    elif action == "show":
        out.write(json.dumps(api.get_machine(args.id).model_dump(), indent=2) + "\n")
    else:
        api.delete_machine(args.id)


def _exec(args: argparse.Namespace, api: VmasimClient, out: TextIO) -> None:
    argv = [args.argv0 if args.argv0 is not None else args.path, *args.args]
    env = [f"{k}={v}" for k, v in os.environ.items()] if args.inherit_env else []
    env += args.env
    if args.pid is not None:
        proc = api.execve(args.pid, args.path, argv, env, aslr=args.aslr, seed=args.seed)
    else:
        proc = api.spawn_exec(args.path, argv, env, name=args.name, aslr=args.aslr, seed=args.seed)
    if args.json:
        out.write(json.dumps(proc.model_dump(), indent=2) + "\n")
    else:
        out.write(f"{proc.pid}\n")


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point (``[project.scripts] vmasim``). Returns the exit code."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    at = _procmount_at(words)
    if at is not None:  # everything after the command is app.procmount's
        url = os.environ.get("VMASIM_URL", DEFAULT_URL)
        given = False
        for i, w in enumerate(words[:at]):
            if w.startswith("--url="):
                url, given = w.partition("=")[2], True
            elif w == "--url":
                url, given = words[i + 1], True
        return _procmount(procmount_argv(words[at], words[at + 1 :], url, given))
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        return _serve(args, extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "machines" and args.action in ("show", "delete") and args.id is None:
        parser.error(f"machines {args.action} needs a machine id")
    out = out if out is not None else sys.stdout
    try:
        with VmasimClient(args.url, machine=args.machine) as api:
            _run(args, api, out)
    except ApiError as exc:
        sys.stderr.write(f"vmasim: {exc}\n")
        return EXIT_REFUSED
    except ReplayError as exc:
        sys.stderr.write(f"vmasim: {exc}\n")
        return EXIT_USAGE
    except httpx.TransportError as exc:
        sys.stderr.write(f"vmasim: cannot reach {args.url}: {exc}\n")
        return EXIT_UNREACHABLE
    return EXIT_OK
