"""The engine's errors, in one hierarchy.

::

    EngineError                 base of everything the engine raises on purpose
    ├── SyscallError            a simulated syscall failed; carries the Linux errno
    ├── InvalidArgument         a caller passed a value the engine cannot accept
    │   │                       (not a syscall failure: a type or range error)
    │   └── UnknownPausePoint   a pause point name the engine does not have
    ├── NoSuchProcess           no process with that pid
    ├── LayoutError             a /proc/<pid>/maps text could not be imported
    ├── StateError              a state file or document cannot be loaded
    ├── ResidentLimitExceeded   a fault needed a page past the resident limit
    ├── PauseTimeout            no operation reached a pause point in time
    └── UseAfterFree            a freed (poisoned) VMA was touched: an RCU bug

Each also derives from the builtin exception a Python caller would catch for it
(``ValueError``, ``LookupError``, ``MemoryError``, ``TimeoutError``...).

The web layer maps these to HTTP statuses in one table (app/errors.py).
"""

from __future__ import annotations

import errno as _errno
import os as _os
from collections.abc import Iterable

# Where Python's errno module picks an alias, use the name the kernel's headers use.
_ERRNO_NAMES = {_errno.EOPNOTSUPP: "EOPNOTSUPP", _errno.EAGAIN: "EAGAIN", _errno.EDEADLK: "EDEADLK"}


class EngineError(Exception):
    """Base class of every error the engine raises deliberately."""


class SyscallError(EngineError):
    """A simulated system call failed with ``errno``, exactly as Linux would.

    ``name`` is the symbolic errno (``"ENOMEM"``), ``errno`` its number, ``syscall``
    the call that failed. The message names the offending value.
    """

    def __init__(self, err: int, syscall: str, detail: str) -> None:
        self.errno = err
        self.name = _ERRNO_NAMES.get(err) or _errno.errorcode.get(err, f"E{err}")
        self.syscall = syscall
        self.detail = detail
        super().__init__(f"{syscall}: {self.name} ({_os.strerror(err)}): {detail}")


class InvalidArgument(EngineError, ValueError):
    """An engine call got a value of the wrong type or outside the simulated machine."""


class NoSuchProcess(EngineError, LookupError):
    """No process with the given pid exists (or it has exited)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        super().__init__(f"no process with pid {pid}")


class LayoutError(EngineError, ValueError):
    """A layout (for example the text of a real /proc/<pid>/maps) could not be loaded."""


class UseAfterFree(EngineError, RuntimeError):
    """A VMA was touched after its RCU grace period ended and it was freed.

    This is never expected: it means a reader used a VMA without holding RCU, a VMA
    lock or mmap_lock, which the kernel would turn into memory corruption.
    """


class UnknownPausePoint(InvalidArgument, KeyError):
    """A pause point name that the engine does not have (``known``: the names it has)."""

    def __init__(self, name: object, known: Iterable[str]) -> None:
        self.point = name
        super().__init__(f"unknown pause point {name!r}; known points: {', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class StateError(EngineError):
    """A state file or document cannot be loaded: names the offending value."""


class ResidentLimitExceeded(EngineError, MemoryError):
    """A fault needed a new page but the process is at ``Kernel.max_resident_pages``
    (``machine`` False), or the machine's RAM is full: ``Kernel.ram_pages`` pages are
    mapped (``machine`` True; the kernel would reclaim, then OOM-kill: see
    docs/kernel-differences.md).

    Raised before anything changed (no page allocated, no counter moved, no lock held).
    """

    def __init__(self, limit: int, addr: int, machine: bool = False) -> None:
        self.limit = limit
        self.addr = addr
        self.machine = machine
        if machine:
            text = f"the machine's RAM of {limit} pages is full"
        else:
            text = f"the process already has its limit of {limit} resident pages"
        super().__init__(f"fault at {addr:#x} needs a new page but {text}")


class PauseTimeout(EngineError, TimeoutError):
    """No operation reached a pause point before the wait timed out."""
