"""The engine as the service holds it: one :class:`core.Kernel` plus the service's own
bookkeeping (the process limit).

There is deliberately no global engine lock: every syscall serialises on its mm's
``mmap_lock`` inside the engine, exactly as in the kernel, so concurrent requests race
the way the studied code races. The only lock here, :attr:`Service._table_lock`,
protects the service's check-then-spawn of the process limit; it is never held while
the engine runs (a spawn *reserves* a slot under the lock and builds the layout
outside it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

import anyio.to_thread

from core import Kernel, Process

from .errors import ProcessLimitReached
from .schemas.vmstat import ServiceStatistics
from .settings import Settings

T = TypeVar("T")


async def in_worker(fn: Callable[..., T], *args: object) -> T:
    """Run a blocking engine call in a worker thread (anyio's default limiter, sized by
    ``VMASIM_WORKER_THREADS``), never on the event loop."""
    return await anyio.to_thread.run_sync(partial(fn, *args))


class Service:
    """The kernel, the settings and the process-limit bookkeeping. Thread-safe."""

    def __init__(self, settings: Settings, kernel: Kernel | None = None) -> None:
        self.settings = settings
        self.kernel = kernel if kernel is not None else Kernel(settings.max_map_count)
        # VMASIM_MAX_RESIDENT_PAGES: a fault needing a page beyond it raises
        # ResidentLimitExceeded (409) instead of growing the service's memory.
        self.kernel.max_resident_pages = settings.max_resident_pages
        # Page faults: short engine calls on the hottest route, run on a plain thread
        # pool (threads start on first use). Its hand-off costs less than half of
        # anyio's to_thread (measured in docs/performance.md, "REST").
        self._fault_pool = ThreadPoolExecutor(
            max_workers=settings.worker_threads, thread_name_prefix="vmasim-fault"
        )
        self._table_lock = threading.Lock()
        self._reserved = 0  # spawns between the limit check and their return
        self._spawned = 0
        self._rejected = 0

    def spawn(self, name: str, layout: str | None, maps: str | None) -> Process:
        """Create a process (empty, typical, or imported from maps text) within
        ``VMASIM_MAX_PROCESSES``. Blocking (the layout is built here): call it in a
        worker thread. O(n) in the VMAs of the layout; the table lock is held O(p) for
        p live processes, never while the layout is built.

        Raises :class:`ProcessLimitReached`, or the engine's ``LayoutError`` /
        ``InvalidArgument`` (then no process is left behind).
        """
        with self._process_slot():
            if maps is not None:
                return self.kernel.spawn_from_maps(maps, name)
            return self.kernel.spawn(name, layout or "empty")

    def spawn_exec(
        self,
        name: str | None,
        path: str,
        argv: list[str],
        envp: list[str] | dict[str, str],
        aslr: bool,
        seed: int | None,
    ) -> Process:
        """Create a process running the program at ``path`` (``core.Kernel.spawn_exec``)
        within ``VMASIM_MAX_PROCESSES``. Blocking: call it in a worker thread. Raises
        :class:`ProcessLimitReached` or the engine's ``SyscallError`` /
        ``InvalidArgument`` (then no process is left behind)."""
        with self._process_slot():
            proc, _ = self.kernel.spawn_exec(path, argv, envp, name=name, aslr=aslr, seed=seed)
            return proc

    async def run_fault(self, fn: Callable[..., T], *args: object) -> T:
        """Run a page fault (``fn(*args)``, which may block on ``mmap_lock``) in the
        fault thread pool, never on the event loop. At most ``VMASIM_WORKER_THREADS``
        faults run at once. asyncio only (uvicorn's loop)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._fault_pool, partial(fn, *args))

    def fork(self, pid: int, name: str | None = None) -> Process:
        """``fork(2)`` of process ``pid`` within ``VMASIM_MAX_PROCESSES``: the child, with
        a copy of the address space (``dup_mmap`` takes both mms' ``mmap_lock`` for
        write) and of the fd table. Blocking: call it in a worker thread.
        O(n log n + resident pages) for the parent's n VMAs.

        Raises :class:`ProcessLimitReached`, or the engine's ``NoSuchProcess`` /
        ``InvalidArgument`` (then no child is left behind).
        """
        with self._process_slot():
            return self.kernel.fork(pid, name)

    @contextmanager
    def _process_slot(self) -> Iterator[None]:
        # Reserve one process under the table lock, build it outside the lock.
        limit = self.settings.max_processes
        with self._table_lock:
            live = len(self.kernel.processes())
            # Conservative: a finishing spawn is briefly counted twice (in the kernel's
            # table and in _reserved), so the limit can refuse early but never overshoot.
            if live + self._reserved >= limit:
                self._rejected += 1
                raise ProcessLimitReached(
                    "VMASIM_MAX_PROCESSES", limit, live + self._reserved + 1, "processes"
                )
            self._reserved += 1
        try:
            yield
        finally:
            with self._table_lock:
                self._reserved -= 1
        with self._table_lock:
            self._spawned += 1

    def statistics(self) -> ServiceStatistics:
        """O(p) for p live processes."""
        held = self._table_lock.locked()
        with self._table_lock:
            return ServiceStatistics(
                processes=len(self.kernel.processes()),
                reserved=self._reserved,
                limit=self.settings.max_processes,
                spawned=self._spawned,
                rejected=self._rejected,
                table_lock_held=held,
            )

    def _check(self) -> None:
        """O(p): the bookkeeping agrees with the kernel while no spawn is in flight."""
        with self._table_lock:
            assert self._reserved >= 0, self._reserved
            live = len(self.kernel.processes())
            assert self._reserved > 0 or live <= self.settings.max_processes, (
                live,
                self.settings.max_processes,
            )
