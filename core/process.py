"""Processes and the simulated kernel that owns them.

:class:`Kernel` holds the process table (pid allocation, exit), the simulated file
system, the RCU domain shared by every address space, and the sysctls
(``vm.max_map_count``). A :class:`Process` has an :class:`~core.mm.Mm` and an fd table;
its file calls (``open``, ``close``, ``unlink``) use Linux's names and errnos.
"""

from __future__ import annotations

import functools
import itertools
import threading
from typing import TYPE_CHECKING

from .constants import DEFAULT_MAX_MAP_COUNT
from .errors import InvalidArgument, NoSuchProcess
from .files import FdTable, FileSystem, OpenFile, open_mode
from .mm import Mm
from .rcu import RcuDomain

if TYPE_CHECKING:
    from collections.abc import Iterator

PID_MAX = 4194304  # /proc/sys/kernel/pid_max on 64-bit


class Process:
    """One simulated process: pid, name, address space and open files."""

    def __init__(self, kernel: Kernel, pid: int, name: str) -> None:
        self.kernel = kernel
        self.pid = pid
        self.name = name
        self.files = FdTable()
        self.mm = Mm(kernel.fs, kernel.rcu, max_map_count=lambda: kernel.max_map_count)
        self.mm.fd_table = self.files
        self.mm.vm_events.parent = kernel.vm_events
        # A C-level callable (no Python frame on the fault path): reads the field the
        # validated max_resident_pages property sets.
        self.mm.resident_limit = functools.partial(getattr, kernel, "_max_resident_pages")
        self.alive = True

    def fork(self, name: str | None = None) -> Process:
        """``fork(2)``: a child with a copy of this address space (private pages
        copy-on-write in both, shared mappings shared, see :mod:`core.fork`) and of the fd
        table. Takes both mms' ``mmap_lock`` for write. O(n log n + resident pages)."""
        return self.kernel.fork(self.pid, name)

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


class Kernel:
    """The simulated machine: process table, files, RCU and sysctls. Thread-safe."""

    def __init__(self, max_map_count: int = DEFAULT_MAX_MAP_COUNT) -> None:
        self.fs = FileSystem()
        self.rcu = RcuDomain()
        self.max_map_count = max_map_count
        self._lock = threading.Lock()
        self._procs: dict[int, Process] = {}
        self._next_pid = itertools.count(1000)
        from .fault import VmEvents

        self.vm_events = VmEvents()  # machine-wide /proc/vmstat fault events
        self._max_resident_pages: int | None = None

    @property
    def max_map_count(self) -> int:
        """``vm.max_map_count`` (default 65530); read by every mm on each check."""
        return self._max_map_count

    @max_map_count.setter
    def max_map_count(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1 << 31:
            raise InvalidArgument(f"max_map_count {value!r} must be an integer in [0, 2**31]")
        self._max_map_count = value

    @property
    def max_resident_pages(self) -> int | None:
        """Per-process resident-page limit (None: unlimited). A fault that would map a
        new page past it raises :class:`~core.pages.ResidentLimitExceeded`."""
        return self._max_resident_pages

    @max_resident_pages.setter
    def max_resident_pages(self, value: int | None) -> None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise InvalidArgument(f"max_resident_pages {value!r} must be None or an integer >= 0")
        self._max_resident_pages = value

    def fork(self, pid: int, name: str | None = None) -> Process:
        """``fork(2)`` of process ``pid`` (NoSuchProcess if absent): the child gets a new
        pid, the parent's name (or ``name``), a duplicated address space and fd table."""
        from .fork import dup_mmap

        parent = self.get(pid)
        child = self.spawn(name if name is not None else parent.name)
        try:
            dup_mmap(parent.mm, child.mm)
            for fd, file in parent.files.items():
                file.get()
                child.files.install_at(fd, file)
        except BaseException:
            self.exit(child.pid)
            raise
        return child

    def spawn(self, name: str = "sim", layout: str = "empty") -> Process:
        """Create a process. ``layout`` is ``"empty"`` (no VMAs) or ``"typical"`` (a
        program, heap, libc, ld.so, vvar, vdso and stack, as a process started without
        ASLR has). O(1) for empty."""
        if not isinstance(name, str) or not 0 < len(name) <= 15:
            raise InvalidArgument(f"process name {name!r} must be 1 to 15 characters")
        with self._lock:
            pid = next(self._next_pid)
            while pid in self._procs:
                pid = next(self._next_pid)
            if pid >= PID_MAX:
                raise InvalidArgument("pid space exhausted")
            proc = Process(self, pid, name)
            self._procs[pid] = proc
        if layout != "empty":
            from .layout import apply_layout

            try:
                apply_layout(proc, layout)
            except BaseException:
                self.exit(pid)
                raise
        return proc

    def spawn_from_maps(self, text: str, name: str = "imported") -> Process:
        """Create a process whose address space is the layout in ``text``, the content
        of a real ``/proc/<pid>/maps``. Raises LayoutError naming the bad line."""
        from .layout import load_maps

        proc = self.spawn(name)
        try:
            load_maps(proc, text)
        except BaseException:
            self.exit(proc.pid)
            raise
        return proc

    def get(self, pid: int) -> Process:
        """The live process ``pid``; NoSuchProcess otherwise."""
        with self._lock:
            proc = self._procs.get(pid)
        if proc is None:
            raise NoSuchProcess(pid)
        return proc

    def exit(self, pid: int) -> None:
        """Process exit: unmap everything, close every fd, free the pid."""
        with self._lock:
            proc = self._procs.pop(pid, None)
        if proc is None:
            raise NoSuchProcess(pid)
        proc.alive = False
        proc.mm.exit_mmap()
        proc.files.close_all()

    def processes(self) -> list[Process]:
        """The live processes, by pid."""
        with self._lock:
            return [self._procs[pid] for pid in sorted(self._procs)]

    def __iter__(self) -> Iterator[Process]:
        return iter(self.processes())
