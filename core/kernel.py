"""The simulated machine.

:class:`Kernel` holds what Linux keeps once per machine: the process table (pid
allocation as ``alloc_pid`` does, exit), the file system, the RCU domain every address
space is walked under, the page-table lock (:class:`~core.pages.PageLock`), the
machine-wide event counters of ``/proc/vmstat`` and of ``PROCMAP_QUERY``, and the
sysctls (``vm.max_map_count``, the overcommit policy) and limits. Two ``Kernel``
objects share nothing, so an experiment's machine never contends with the service's.

The machine's memory -- RAM and swap in pages, ``vm.overcommit_*`` and the commit
charge ``Committed_AS`` -- lives in :class:`~core.overcommit.VmCommit`
(``Kernel.commit``); the settings are also properties here (:data:`SETTINGS`,
:meth:`Kernel.configure`, :meth:`Kernel.settings`), validated in one place.

Compiled (hatch_build.py), :class:`Kernel` allows interpreted subclasses (a test's kernel
that stops a spawn half-way: tests/app/test_concurrency.py): its methods are then called
through Python's dispatch, which the machine-level calls here can afford.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mypy_extensions import mypyc_attr

from .constants import DEFAULT_MAX_MAP_COUNT, PID_MAX
from .errors import InvalidArgument, NoSuchProcess
from .files import FileSystem
from .madvise import MadviseCounters
from .overcommit import CommitStatistics, VmCommit
from .pages import LruBatches, PageLock, resident_run_pages
from .process import Process
from .procmap_query import QueryCounters
from .rcu import RcuDomain
from .vmstat import VmEvents

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from .exec import ExecImage
    from .vma import Vma

#: The machine settings :meth:`Kernel.configure` accepts (each a validated property).
SETTINGS = (
    "max_map_count",
    "max_resident_pages",
    "ram_pages",
    "swap_pages",
    "overcommit_memory",
    "overcommit_ratio",
    "overcommit_kbytes",
    "admin_reserve_kbytes",
    "user_reserve_kbytes",
    "config_anon_vma_name",
)


@dataclass(frozen=True)
class KernelStatistics:
    """:meth:`Kernel.statistics`: the process count, the settings and the commit charge."""

    processes: int
    max_map_count: int
    max_resident_pages: int | None
    config_anon_vma_name: bool
    commit: CommitStatistics


@mypyc_attr(allow_interpreted_subclasses=True)
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
        #: The machine's resident pages: pages mapped by at least one PTE of any mm (a
        #: page shared by fork or a file counts once), changed under ``page_lock`` by
        #: ``core.pages`` as mapcounts go from 0 to 1 and back. Bounded by
        #: :attr:`ram_pages`. A one-element list: every mm holds the same list.
        self.resident = [0]
        #: The commit charge and the overcommit policy (core/overcommit.py).
        self.commit = VmCommit()
        self._config_anon_vma_name = True

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
        """An optional per-process resident-page cap (None, the default: none; the
        machine's RAM, :attr:`ram_pages`, bounds resident memory in any case). A fault
        or populate that would map a new page past it raises
        :class:`~core.pages.ResidentLimitExceeded`."""
        return self._max_resident_pages

    @max_resident_pages.setter
    def max_resident_pages(self, value: int | None) -> None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise InvalidArgument(f"max_resident_pages {value!r} must be None or an integer >= 0")
        self._max_resident_pages = value

    # -- memory and overcommit settings (the one home is VmCommit) ---------------------

    @property
    def ram_pages(self) -> int:
        """RAM in pages (MemTotal; default this host's,
        :data:`~core.constants.HOST_MEMTOTAL_KB`)."""
        return self.commit.ram_pages

    @ram_pages.setter
    def ram_pages(self, value: int) -> None:
        self.commit.ram_pages = value

    @property
    def swap_pages(self) -> int:
        """Swap in pages (SwapTotal; default this host's: none)."""
        return self.commit.swap_pages

    @swap_pages.setter
    def swap_pages(self, value: int) -> None:
        self.commit.swap_pages = value

    @property
    def overcommit_memory(self) -> int:
        """``vm.overcommit_memory`` (0 heuristic, 1 always, 2 never; default 0)."""
        return self.commit.overcommit_memory

    @overcommit_memory.setter
    def overcommit_memory(self, value: int) -> None:
        self.commit.overcommit_memory = value

    @property
    def overcommit_ratio(self) -> int:
        """``vm.overcommit_ratio`` (default 50)."""
        return self.commit.overcommit_ratio

    @overcommit_ratio.setter
    def overcommit_ratio(self, value: int) -> None:
        self.commit.overcommit_ratio = value

    @property
    def overcommit_kbytes(self) -> int:
        """``vm.overcommit_kbytes`` (default 0: the ratio applies)."""
        return self.commit.overcommit_kbytes

    @overcommit_kbytes.setter
    def overcommit_kbytes(self, value: int) -> None:
        self.commit.overcommit_kbytes = value

    @property
    def admin_reserve_kbytes(self) -> int:
        """``vm.admin_reserve_kbytes`` (mode 2 only)."""
        return self.commit.admin_reserve_kbytes

    @admin_reserve_kbytes.setter
    def admin_reserve_kbytes(self, value: int) -> None:
        self.commit.admin_reserve_kbytes = value

    @property
    def user_reserve_kbytes(self) -> int:
        """``vm.user_reserve_kbytes`` (mode 2 only)."""
        return self.commit.user_reserve_kbytes

    @user_reserve_kbytes.setter
    def user_reserve_kbytes(self, value: int) -> None:
        self.commit.user_reserve_kbytes = value

    @property
    def config_anon_vma_name(self) -> bool:
        """``CONFIG_ANON_VMA_NAME``: whether ``prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)``
        names anonymous memory (True, as the kernel source builds it with the option)
        or fails with EINVAL (False, as this host's kernel, built without it, does)."""
        return self._config_anon_vma_name

    @config_anon_vma_name.setter
    def config_anon_vma_name(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise InvalidArgument(f"config_anon_vma_name {value!r} must be true or false")
        self._config_anon_vma_name = value

    def settings(self) -> dict[str, Any]:
        """Every :data:`SETTINGS` value, by name. O(1)."""
        return {name: getattr(self, name) for name in SETTINGS}

    def configure(self, **settings: Any) -> None:
        """Set several :data:`SETTINGS` at once, all or nothing: an unknown name or a bad
        value raises InvalidArgument and leaves every setting as it was. (The ratio and
        kbytes clear each other as their sysctls do; the last one given wins.)"""
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise InvalidArgument(
                f"unknown kernel setting(s) {', '.join(unknown)}; known: {', '.join(SETTINGS)}"
            )
        before = self.settings()
        try:
            for name, value in settings.items():
                setattr(self, name, value)
        except InvalidArgument:
            for name in SETTINGS:
                if name in ("overcommit_ratio", "overcommit_kbytes"):
                    continue
                setattr(self, name, before[name])
            self.commit.overcommit_ratio = before["overcommit_ratio"]
            if before["overcommit_kbytes"]:
                self.commit.overcommit_kbytes = before["overcommit_kbytes"]
            raise

    def statistics(self) -> KernelStatistics:
        """Processes, settings and the commit charge (:class:`KernelStatistics`). O(1)."""
        with self._lock:
            nprocs = len(self._procs)
        return KernelStatistics(
            processes=nprocs,
            max_map_count=self.max_map_count,
            max_resident_pages=self.max_resident_pages,
            config_anon_vma_name=self.config_anon_vma_name,
            commit=self.commit.statistics(),
        )

    def fork(self, pid: int, name: str | None = None) -> Process:
        """``fork(2)`` of process ``pid`` (NoSuchProcess if absent): the child gets a new
        pid, the parent's name (or ``name``), a duplicated address space and fd table."""
        from .fork import dup_mmap

        parent = self.get(pid)
        child = self.spawn(name if name is not None else parent.name)
        child.image = parent.image  # the child runs the same program
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

    def spawn_exec(
        self,
        path: str,
        argv: Sequence[str] | None = None,
        envp: Sequence[str] | Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        aslr: bool = False,
        seed: int | None = None,
    ) -> tuple[Process, ExecImage]:
        """A new process running the program at ``path`` (a real executable or ``#!``
        script on this machine) with ``argv`` and ``envp``: its address space is the
        one ``execve`` builds before the first instruction (:mod:`core.exec`). Returns
        the process and what was loaded. ``SyscallError`` as execve(2) fails; then no
        process is left behind."""
        proc = self.spawn(name if name is not None else "exec")
        try:
            image = proc.execve(path, argv, envp, aslr=aslr, seed=seed)
        except BaseException:
            if proc.alive:
                self.exit(proc.pid)
            raise
        if name is not None:
            proc.name = name
        return proc, image

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

    def _check(self) -> None:
        """O(pages of every process): :attr:`resident` counts the distinct pages mapped,
        and every process's structures pass their own ``_check()``. Caller keeps the
        machine quiescent (no syscall or fault running)."""
        seen: set[int] = set()
        vmas: list[Vma] = []
        for proc in self.processes():
            proc.mm._check()
            for vma in proc.mm.vmas():
                vmas.append(vma)
                for page in (vma.pages or {}).values():
                    if page.rss_counter >= 0:
                        seen.add(id(page))
        mapped = len(seen)
        in_runs = resident_run_pages(vmas, seen)  # runs' folios, each once (core/pages.py)
        assert self.resident[0] == mapped + in_runs, (self.resident[0], mapped, in_runs)

    def processes(self) -> list[Process]:
        """The live processes, by pid."""
        with self._lock:
            return [self._procs[pid] for pid in sorted(self._procs)]

    def __iter__(self) -> Iterator[Process]:
        return iter(self.processes())
