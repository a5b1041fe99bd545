"""``struct task_struct``, as far as the simulator needs one: a pid, a name, an
address space (:class:`~core.mm.Mm`) and an fd table. Its file calls (``open``,
``close``, ``unlink``), ``prctl(PR_SET_VMA)`` and ``setrlimit(RLIMIT_MEMLOCK)`` use
Linux's names and errnos. The machine that owns the processes is
:class:`core.kernel.Kernel`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .abi import u64
from .constants import (
    EINVAL,
    EPERM,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    RLIMIT_MEMLOCK,
)
from .errors import SyscallError
from .files import FdTable, OpenFile, open_mode
from .mm import Mm

if TYPE_CHECKING:
    from .exec import ExecImage
    from .kernel import Kernel


class Process:
    """One simulated process: pid, name, address space and open files."""

    def __init__(self, kernel: Kernel, pid: int, name: str) -> None:
        self.kernel = kernel
        self.pid = pid
        self.name = name
        self.files = FdTable()
        self.mm = Mm(kernel)
        self.mm.fd_table = self.files
        self.alive = True
        #: What the last execve loaded (None: a process not created by exec).
        self.image: ExecImage | None = None
        # cred_guard_mutex's role here: one execve of this process at a time.
        self._exec_lock = threading.Lock()

    def fork(self, name: str | None = None) -> Process:
        """``fork(2)``: a child with a copy of this address space (private pages
        copy-on-write in both, shared mappings shared, see :mod:`core.fork`) and of the fd
        table. Takes both mms' ``mmap_lock`` for write. O(n log n + resident pages)."""
        return self.kernel.fork(self.pid, name)

    def execve(
        self,
        path: str,
        argv: Sequence[str] | None = None,
        envp: Sequence[str] | Mapping[str, str] | None = None,
        *,
        aslr: bool = False,
        seed: int | None = None,
    ) -> ExecImage:
        """``execve(2)`` of the program at ``path`` on this machine (see
        :mod:`core.exec`): a new address space with the program, its interpreter,
        stack, vDSO and break, placed as Linux places them (``aslr`` False: as under
        ``setarch -R``; True: randomised from ``seed``). Raises ``SyscallError``
        (ENOENT, EACCES, ENOEXEC, E2BIG...); before the point of no return nothing
        changed, after it the process has exited."""
        from .exec import do_execve

        with self._exec_lock:
            self.image = do_execve(self, path, argv, envp, aslr=aslr, seed=seed)
            return self.image

    def open(self, path: str, flags: int, size: int | None = None) -> int:
        """``open(2)`` with ``O_CREAT`` semantics: the file is created when missing; a
        given ``size`` truncates it to that size. Returns the lowest free fd (from 3).

        Each call creates a new open file description: two opens of one file never
        merge in maps, one fd mapped twice does.
        """
        readable, writable = open_mode(flags)
        inode = self.kernel.fs.lookup_or_create(path, size)
        return self.files.install(OpenFile(inode, readable, writable))

    def close(self, fd: int) -> None:
        """``close(2)``: EBADF if ``fd`` is not open. Mappings keep the file."""
        self.files.close(fd)

    def unlink(self, path: str) -> None:
        """``unlink(2)``: ENOENT if missing; mappings then show ``(deleted)``."""
        self.kernel.fs.unlink(path)

    def prctl(
        self,
        option: int,
        arg2: int = 0,
        arg3: int = 0,
        arg4: int = 0,
        arg5: str | bytes | None = None,
    ) -> int:
        """``prctl(2)`` for the options the simulator has: ``PR_SET_VMA`` with
        ``PR_SET_VMA_ANON_NAME`` (``arg3`` address, ``arg4`` size, ``arg5`` the name, or
        None to clear it; see :meth:`Mm.set_anon_name`). Every other option, and
        ``PR_SET_VMA`` on a kernel without ``CONFIG_ANON_VMA_NAME``
        (``Kernel.config_anon_vma_name`` False, like this host's), is EINVAL. Returns 0.
        """
        option = u64("option", option) & 0xFFFFFFFF  # an int argument
        arg2 = u64("arg2", arg2)
        if option != PR_SET_VMA:
            raise SyscallError(EINVAL, "prctl", f"option {option:#x} is not simulated")
        if not self.kernel.config_anon_vma_name:
            raise SyscallError(EINVAL, "prctl", "the kernel is built without CONFIG_ANON_VMA_NAME")
        if arg2 != PR_SET_VMA_ANON_NAME:
            raise SyscallError(EINVAL, "prctl", f"PR_SET_VMA sub-option {arg2:#x} is unknown")
        self.mm.set_anon_name(arg3, arg4, arg5)
        return 0

    def getrlimit(self, resource: int) -> tuple[int, int]:
        """``getrlimit(2)``: ``(soft, hard)`` in bytes (``RLIM_INFINITY`` for none).
        Only ``RLIMIT_MEMLOCK`` is simulated (EINVAL otherwise). O(1)."""
        if resource != RLIMIT_MEMLOCK:
            raise SyscallError(EINVAL, "getrlimit", f"resource {resource!r} is not simulated")
        return self.mm.rlimit_memlock

    def setrlimit(self, resource: int, soft: int, hard: int) -> None:
        """``setrlimit(2)`` of ``RLIMIT_MEMLOCK`` (EINVAL for other resources): EINVAL if
        ``soft > hard``; raising the hard limit needs CAP_SYS_RESOURCE (EPERM; this
        host's root lacks it, see :class:`Mm`). Values are bytes, ``RLIM_INFINITY`` for
        none. O(1)."""
        if resource != RLIMIT_MEMLOCK:
            raise SyscallError(EINVAL, "setrlimit", f"resource {resource!r} is not simulated")
        soft = u64("soft", soft)
        hard = u64("hard", hard)
        if soft > hard:
            raise SyscallError(EINVAL, "setrlimit", f"soft limit {soft:#x} exceeds hard {hard:#x}")
        if hard > self.mm.rlimit_memlock[1] and not self.mm.cap_sys_resource:
            raise SyscallError(EPERM, "setrlimit", "raising the hard limit needs CAP_SYS_RESOURCE")
        self.mm.rlimit_memlock = (soft, hard)

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, name={self.name!r}, vmas={self.mm.map_count})"
