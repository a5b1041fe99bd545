"""``python -m app.procmount``: mount, export, run-against (``vmasim mount`` etc. run it).

::

    python -m app.procmount mount DIR [--port P [--host H]] [--url URL] [--spawn LAYOUT]...
                                      [--reader R] [--smaps-reader R] [--max-retries N]
                                      [--read-log FILE] [--allow-other]
    python -m app.procmount export DIR [--url URL | --state FILE] [--spawn LAYOUT]...
    python -m app.procmount run-against PID [--proc DIR | --url URL] -- COMMAND...

``mount`` serves an engine in this process (created empty, with ``--spawn`` processes,
and driven over REST when ``--port`` is given: the service runs in this process on
that port) or, with ``--url``, a running service. Once the mount answers, one JSON
line goes to stdout: ``{"event": "mounted", "mountpoint": ..., "url": ..., "pid": ...}``.
It serves until unmounted (``fusermount3 -u DIR``) or SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import IO, Any

from core import Kernel, load_state
from core.errors import EngineError
from core.maps_reader import DEFAULT_MAX_RETRIES, MAX_RETRIES_LIMIT, READERS

from .tree import Backend, LocalBackend, Options, ProcTree, ReadLog

LAYOUTS = ("empty", "typical")
READY_TIMEOUT = 60.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.procmount",
        description="The simulated machine as a procfs tree: a FUSE mount, a static "
        "export, or a tool run against it.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("mount", help="mount the tree (FUSE) and serve until unmounted")
    p.add_argument("mountpoint")
    _source_options(p)
    p.add_argument("--host", default="127.0.0.1", help="REST service address (with --port)")
    p.add_argument(
        "--port", type=int, default=None, help="also serve the REST API on this port (0: any)"
    )
    p.add_argument("--read-log", default=None, help="append one JSON line per read() here")
    p.add_argument("--allow-other", action="store_true", help="let other users read it")
    p.add_argument("--debug", action="store_true", help="libfuse's debug output")

    p = sub.add_parser("export", help="write the tree as ordinary files")
    p.add_argument("directory")
    _source_options(p)
    p.add_argument("--state", default=None, help="a saved machine (VMASIM_STATE_FILE format)")

    p = sub.add_parser(
        "run-against",
        help="run a tool with /proc/<placeholder> showing a simulated process",
        usage="%(prog)s [-h] [--proc DIR | --url URL] PID -- COMMAND...",
    )
    p.add_argument("pid", type=int, help="the simulated process")
    p.add_argument("--proc", default=None, help="a mount or export to take it from")
    p.add_argument("--url", default=None, help="mount this service for the command's run")
    p.set_defaults(argv=[])  # the command: everything after "--" ({pid} is replaced)
    return parser


def _source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=None, help="read a running service instead of an engine")
    p.add_argument(
        "--spawn",
        action="append",
        default=[],
        choices=LAYOUTS,
        help="create a process with this layout at start (repeatable; local engine only)",
    )
    p.add_argument("--reader", choices=READERS, default="seqcount", help="maps reader")
    p.add_argument("--smaps-reader", default="mmap_lock", help="smaps walk")
    p.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        help=f"seqcount: failed walks before mmap_lock (0-{MAX_RETRIES_LIMIT})",
    )


def _options(args: argparse.Namespace) -> Options:
    return Options(
        maps_reader=args.reader, smaps_reader=args.smaps_reader, max_retries=args.max_retries
    )


def _remote(url: str) -> Backend:
    from .remote import RemoteBackend

    return RemoteBackend(url)


# -- mount --------------------------------------------------------------------------------


class _Rest:
    """The REST service on a thread of this process, over the mount's engine."""

    def __init__(self, kernel: Kernel, host: str, port: int) -> None:
        import uvicorn

        from app.main import create_app

        self.app = create_app(kernel=kernel)
        config = uvicorn.Config(self.app, host=host, port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="vmasim-rest", daemon=True)

    def kernel(self) -> Kernel:
        kernel: Kernel = self.app.state.service.kernel  # replaced if a state is restored
        return kernel

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.server.started:  # set by uvicorn once it listens
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the REST service did not start")
            time.sleep(0.01)
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _mount(args: argparse.Namespace) -> int:
    # The options first: a bad one is refused (exit 2) before libfuse is looked for.
    options = _options(args)
    from .fuse import mount

    os.makedirs(args.mountpoint, exist_ok=True)
    rest: _Rest | None = None
    url = args.url
    backend: Backend
    if args.url is not None:
        if args.spawn or args.port is not None:
            sys.stderr.write("--spawn and --port need the local engine (no --url)\n")
            return 2
        backend = _remote(args.url)
    else:
        kernel = Kernel()
        for layout in args.spawn:
            kernel.spawn("sim", layout)
        if args.port is not None:
            rest = _Rest(kernel, args.host, args.port)
            backend = LocalBackend(rest.kernel)
        else:
            backend = LocalBackend(lambda: kernel)
    log_file: IO[str] | None = open(args.read_log, "a") if args.read_log else None  # noqa: SIM115
    tree = ProcTree(backend, options, ReadLog(log_file) if log_file is not None else None)
    try:
        if rest is not None:
            url = rest.start()
        ready = {
            "event": "mounted",
            "mountpoint": os.path.abspath(args.mountpoint),
            "url": url,
            "pid": os.getpid(),
            "pids": backend.pids(),
        }

        def announce() -> None:
            sys.stdout.write(json.dumps(ready) + "\n")
            sys.stdout.flush()

        mount(
            tree,
            args.mountpoint,
            on_ready=announce,
            allow_other=args.allow_other,
            debug=args.debug,
        )
    finally:
        if rest is not None:
            rest.stop()
        if log_file is not None:
            log_file.close()
    return 0


# -- export -------------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    from .export import export_tree

    backend: Backend
    if args.url is not None:
        backend = _remote(args.url)
    else:
        kernel = load_state(args.state) if args.state else Kernel()
        for layout in args.spawn:
            kernel.spawn("sim", layout)
        backend = LocalBackend(lambda: kernel)
    try:
        pids = export_tree(backend, args.directory, _options(args))
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()
    sys.stdout.write(json.dumps({"event": "exported", "directory": args.directory, "pids": pids}))
    sys.stdout.write("\n")
    return 0


# -- run-against --------------------------------------------------------------------------


def start_mount(
    mountpoint: str, extra: Sequence[str] = (), stderr: IO[bytes] | None = None
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start ``python -m app.procmount mount MOUNTPOINT EXTRA...`` and wait for its ready
    line; returns the process and the line. Raises RuntimeError if it exits first."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.procmount", "mount", mountpoint, *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until mounted, or EOF if it died
    if not line:
        proc.wait()
        raise RuntimeError(f"the mount at {mountpoint} exited with {proc.returncode}")
    ready: dict[str, Any] = json.loads(line)
    return proc, ready


def stop_mount(proc: subprocess.Popen[bytes], mountpoint: str) -> None:
    """Unmount (libfuse's SIGTERM handler unmounts) and reap, by pid."""
    if proc.stdout is not None:
        proc.stdout.close()
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(FileNotFoundError):
                subprocess.run(["fusermount3", "-u", "-z", mountpoint], check=False)
            proc.kill()
            proc.wait()


def _run_against(args: argparse.Namespace) -> int:
    from .run_against import RunAgainstError, run_against

    argv = list(args.argv)
    if not argv:
        sys.stderr.write("run-against: no command (put it after --)\n")
        return 2
    try:
        if args.proc is not None:
            return run_against(args.proc, args.pid, argv)
        if args.url is None:
            sys.stderr.write("run-against: give --proc DIR (a mount or export) or --url URL\n")
            return 2
        with tempfile.TemporaryDirectory(prefix="vmasim-proc-") as tmp:
            proc, _ = start_mount(tmp, ["--url", args.url])
            try:
                return run_against(tmp, args.pid, argv)
            finally:
                stop_mount(proc, tmp)
    except RunAgainstError as exc:
        sys.stderr.write(f"run-against: {exc}\n")
        return 2


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "mount": _mount,
    "export": _export,
    "run-against": _run_against,
}


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if words[:1] == ["run-against"] and "--" in words:  # the tool's own options follow
        at = words.index("--")
        words, command = words[:at], words[at + 1 :]
    args = build_parser().parse_args(words)
    args.argv = command
    try:
        return COMMANDS[args.command](args)
    except EngineError as exc:  # a bad option value (reader, state file...)
        sys.stderr.write(f"{args.command}: {exc}\n")
        return 2
    except (OSError, RuntimeError) as exc:  # unreachable service, no FUSE, mount failed
        sys.stderr.write(f"{args.command}: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
