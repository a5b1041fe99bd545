"""The simulated machine.

:class:`Kernel` holds what Linux keeps once per machine: the process table (pid
allocation as ``alloc_pid`` does, exit), the file system, the RCU domain every address
space is walked under, the page-table lock (:class:`~core.pages.PageLock`), the
machine-wide event counters of ``/proc/vmstat`` and of ``PROCMAP_QUERY``, and the
sysctls (``vm.max_map_count``) and limits. Two ``Kernel`` objects share nothing, so an
experiment's machine never contends with the service's.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

from .constants import DEFAULT_MAX_MAP_COUNT, PID_MAX
from .errors import InvalidArgument, NoSuchProcess
from .files import FileSystem
from .madvise import MadviseCounters
from .pages import LruBatches, PageLock
from .process import Process
from .procmap_query import QueryCounters
from .rcu import RcuDomain
from .vmstat import VmEvents

if TYPE_CHECKING:
    from collections.abc import Iterator


class Kernel:
    """The simulated machine: process table, files, RCU, machine-wide locks and
    counters, and sysctls. Thread-safe."""

    def __init__(self, max_map_count: int = DEFAULT_MAX_MAP_COUNT) -> None:
        self.fs = FileSystem()
        self.rcu = RcuDomain()
        self.max_map_count = max_map_count
        self._lock = threading.Lock()
        self._procs: dict[int, Process] = {}
        self._next_pid = itertools.count(1000)
        #: The page-table / folio / page-cache lock of this machine (core/pages.py).
        self.page_lock = PageLock()
        #: The LRU folio batches (one CPU's ``cpu_fbatches``), under ``page_lock``.
        self.lru = LruBatches()
        #: Machine-wide madvise calls by lock mode; every mm's counts count here too.
        self.madvise_counts = MadviseCounters()
        #: Machine-wide /proc/vmstat fault events; every mm's events count here too.
        self.vm_events = VmEvents()
        #: Machine-wide PROCMAP_QUERY counters; every mm's counters count here too.
        self.query_counts = QueryCounters()
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
