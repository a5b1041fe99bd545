"""Servers to kill, started fast: the crash test's zygote.

Importing the service takes seconds on a loaded machine (FastAPI, pydantic, the lab);
the crash test starts a server twenty times or more. This process imports it once,
then for each line ``serve <port>`` on stdin forks a child that builds a fresh app
(from the ``VMASIM_*`` environment: it restores the machine from the state file and
journal, as any start does) and serves it with uvicorn on ``port``; it answers with the
child's pid. The test kills that pid with SIGKILL, then sends ``wait <pid>`` and reads
back how it ended (this process is its parent, so it reaps it). ``quit`` ends.

Run as ``python -m tests.app.crash_server`` (the test does, with the environment set).
"""

from __future__ import annotations

import os
import signal
import sys

import uvicorn

import app.main  # noqa: F401 - the heavy imports, once, before any fork
from app.http import PROTOCOL


def _serve(port: int) -> None:
    from app.main import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning", http=PROTOCOL)


def main() -> int:
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "serve":
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                try:
                    _serve(int(arg))
                finally:
                    os._exit(0)
            print(pid, flush=True)  # noqa: T201 - the answer to the test
        elif command == "wait":
            _, status = os.waitpid(int(arg), 0)
            print(os.waitstatus_to_exitcode(status), flush=True)  # noqa: T201
        elif command == "quit":
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
