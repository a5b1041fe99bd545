"""Statistics: ``GET /vmstat`` (and the same figures in ``/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from core.mmap_lock import MmapLockStatistics
from core.pages import PageLockStatistics
from core.procmap_query import QueryStatistics
from core.rcu import RcuStatistics
from core.rwsem import RwSemaphoreStatistics
from core.vmstat import VmEventStatistics

from .common import MapCount, Mirror

# -- statistics (GET /vmstat) ------------------------------------------------------------


class VmEventsOut(Mirror, source=VmEventStatistics):
    """``/proc/vmstat``'s per-VMA-lock events (``count_vm_vma_lock_event``) and fault
    counts: ``vma_lock_success`` (fault completed under the VMA lock), ``_abort`` (fell
    back to ``mmap_lock``), ``_retry`` (handler asked for a retry under ``mmap_lock``),
    ``_miss`` (the VMA found was detached; walk redone), ``pgfault``, ``pgmajfault``,
    and ``unevictable_pgs_mlocked``/``_munlocked`` (folios that became mlocked, and
    munlocked folios as the per-CPU mlock batch drains: in batches of 31, or at the next
    ``lru_add_drain``)."""

    vma_lock_success: int
    vma_lock_abort: int
    vma_lock_retry: int
    vma_lock_miss: int
    pgfault: int
    pgmajfault: int
    unevictable_pgs_mlocked: int
    unevictable_pgs_munlocked: int


class RwsemOut(Mirror, source=RwSemaphoreStatistics, omit=("reader_threads",)):
    """An rw-semaphore's holders, waiters and acquisition counters (wait times in s)."""

    readers: int
    writer: str | None = None
    waiting_readers: int
    waiting_writers: int
    read_acquisitions: int
    write_acquisitions: int
    read_contended: int
    write_contended: int
    read_wait_total_s: float
    write_wait_total_s: float
    read_wait_max_s: float
    write_wait_max_s: float
    timeouts: int


class MmapLockOut(Mirror, source=MmapLockStatistics):
    """One mm's ``mmap_lock``: ``mm_lock_seq``, whether it is write-locked now, the
    write-lock cycles, and the rw-semaphore's counters."""

    seq: int
    write_locked: bool
    write_cycles: int
    rwsem: RwsemOut


class QueryStatsOut(Mirror, source=QueryStatistics):
    """``PROCMAP_QUERY`` counters (the kernel has none; see ``core.procmap_query``):
    calls and outcomes, and how each VMA examined was locked."""

    queries: int
    found: int
    enoent: int
    rejected: int
    vma_locked: int
    mmap_lock_assisted: int
    mmap_locked: int
    detached_retries: int
    gap_rechecks: int


class RssOut(BaseModel):
    """Resident pages by RSS counter (``MM_FILEPAGES``, ``MM_ANONPAGES``,
    ``MM_SHMEMPAGES``, ``MM_SWAPENTS``)."""

    file: int
    anon: int
    shmem: int
    swapents: int


class ProcessVmstatOut(BaseModel):
    """One process: its events, fault counts (``min_flt``/``maj_flt`` as in
    ``/proc/<pid>/stat``), resident pages, VMAs and lock statistics."""

    pid: int
    name: str
    map_count: MapCount
    min_flt: int
    maj_flt: int
    rss: RssOut
    events: VmEventsOut
    mmap_lock: MmapLockOut
    procmap_query: QueryStatsOut


class RcuOut(Mirror, source=RcuStatistics, omit=("last_callback_error",)):
    """The kernel-wide RCU domain: readers now, grace periods, deferred frees."""

    readers_in_section: int
    registered_threads: int
    grace_periods: int
    readers_blocking_gp: int
    pending_callbacks: int
    callbacks_run: int
    callback_errors: int


class PageLockOut(Mirror, source=PageLockStatistics):
    """The page-table/page-cache lock (one, kernel-wide)."""

    locked: bool
    acquisitions: int
    contended: int


# The service's own counters live here, beside the model that shows them, so that the
# schemas (which the client floor imports) need nothing of the server.
@dataclass(frozen=True)
class ServiceStatistics:
    """A snapshot of the service's own state (``Service.statistics()``).

    ``processes`` live, ``reserved`` spawns in progress, ``limit`` the process limit,
    ``spawned``/``rejected`` counters, ``table_lock_held`` whether the table lock is
    taken right now.
    """

    processes: int
    reserved: int
    limit: int
    spawned: int
    rejected: int
    table_lock_held: bool


class ServiceStatsOut(Mirror, source=ServiceStatistics, omit=("table_lock_held",)):
    """The service's process table: live, being created, the limit, counters."""

    processes: int
    reserved: int
    limit: int
    spawned: int
    rejected: int


_ZERO_EVENTS = dict.fromkeys(VmEventStatistics.__dataclass_fields__, 0)


class VmstatOut(BaseModel):
    """Machine-wide counters (``events`` sums every process that ever ran), the
    kernel-wide locks, and each live process (or the one asked for)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": {**_ZERO_EVENTS, "vma_lock_success": 3, "pgfault": 3},
                    "procmap_query": {
                        "queries": 1,
                        "found": 1,
                        "enoent": 0,
                        "rejected": 0,
                        "vma_locked": 1,
                        "mmap_lock_assisted": 0,
                        "mmap_locked": 0,
                        "detached_retries": 0,
                        "gap_rechecks": 0,
                    },
                    "rcu": {
                        "readers_in_section": 0,
                        "registered_threads": 2,
                        "grace_periods": 4,
                        "readers_blocking_gp": 0,
                        "pending_callbacks": 0,
                        "callbacks_run": 4,
                        "callback_errors": 0,
                    },
                    "page_lock": {"locked": False, "acquisitions": 3, "contended": 0},
                    "service": {
                        "processes": 1,
                        "reserved": 0,
                        "limit": 256,
                        "spawned": 1,
                        "rejected": 0,
                    },
                    "processes": [],
                }
            ]
        }
    )

    events: VmEventsOut
    procmap_query: QueryStatsOut
    rcu: RcuOut
    page_lock: PageLockOut
    service: ServiceStatsOut
    processes: list[ProcessVmstatOut]
