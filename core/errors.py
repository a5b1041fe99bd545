"""The engine's errors, in one hierarchy.

::

    EngineError                 base of everything the engine raises on purpose
    ├── SyscallError            a simulated syscall failed; carries the Linux errno
    ├── InvalidArgument         a caller passed a value the engine cannot accept
    │                           (not a syscall failure: a type or range error)
    ├── NoSuchProcess           no process with that pid
    ├── LayoutError             a /proc/<pid>/maps text could not be imported
    └── UseAfterFree            a freed (poisoned) VMA was touched: an RCU bug

The web layer maps these to HTTP statuses in one table (app/errors.py).
"""

from __future__ import annotations

import errno as _errno
import os as _os

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
