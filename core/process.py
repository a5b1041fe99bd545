"""``struct task_struct``, as far as the simulator needs one: a pid, a name, an
address space (:class:`~core.mm.Mm`) and an fd table. Its file calls (``open``,
``close``, ``unlink``) use Linux's names and errnos. The machine that owns the
processes is :class:`core.kernel.Kernel`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

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

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, name={self.name!r}, vmas={self.mm.map_count})"
