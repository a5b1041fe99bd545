"""Engine counters and lock statistics as one snapshot (:func:`vmstat`), served as JSON
by ``GET /vmstat`` and as Prometheus metrics by ``GET /metrics`` (:class:`EngineCollector`).

Both read the engine at request time; nothing is kept between requests (no global
mutable metrics). A snapshot is not atomic across counters, as summing the kernel's
per-CPU vmstat counters is not: each counter is read once, lock-free, and a fault in
progress may be counted in one and not yet in another.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core import Process
from core.pages import MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS

from .schemas.vmstat import (
    MmapLockOut,
    PageLockOut,
    ProcessVmstatOut,
    QueryStatsOut,
    RcuOut,
    RssOut,
    RwsemOut,
    ServiceStatsOut,
    VmEventsOut,
    VmstatOut,
)
from .service import Service

EVENTS = tuple(VmEventsOut.model_fields)
PREFIX = "vmasim"


def process_vmstat(proc: Process) -> ProcessVmstatOut:
    """One process's counters. O(1); takes no lock (``mmap_lock.statistics()`` takes
    only the semaphore's internal lock, briefly)."""
    mm = proc.mm
    stat = mm.rss_stat
    lock = mm.mmap_lock.statistics()
    return ProcessVmstatOut(
        pid=proc.pid,
        name=proc.name,
        map_count=mm.map_count,
        min_flt=mm.min_flt,
        maj_flt=mm.maj_flt,
        rss=RssOut(
            file=stat[MM_FILEPAGES],
            anon=stat[MM_ANONPAGES],
            shmem=stat[MM_SHMEMPAGES],
            swapents=stat[MM_SWAPENTS],
        ),
        events=VmEventsOut.of(mm.vm_events.statistics()),
        mmap_lock=MmapLockOut(
            seq=lock.seq,
            write_locked=lock.write_locked,
            write_cycles=lock.write_cycles,
            rwsem=RwsemOut.of(lock.rwsem),
        ),
        procmap_query=QueryStatsOut.of(mm.query_counts.statistics()),
    )


def vmstat(service: Service, pid: int | None = None) -> VmstatOut:
    """The machine-wide counters and every live process's (only ``pid``'s when given:
    ``NoSuchProcess`` if it is not live). O(p) for p live processes."""
    kernel = service.kernel
    procs = [kernel.get(pid)] if pid is not None else kernel.processes()
    rcu = kernel.rcu.statistics()
    svc = service.statistics()
    return VmstatOut(
        events=VmEventsOut.of(kernel.vm_events.statistics()),
        procmap_query=QueryStatsOut.of(kernel.query_counts.statistics()),
        rcu=RcuOut.of(rcu),
        page_lock=PageLockOut.of(kernel.page_lock.statistics()),
        service=ServiceStatsOut.of(svc),
        processes=[process_vmstat(p) for p in procs],
    )


class EngineCollector(Collector):
    """A Prometheus collector reading :func:`vmstat` at scrape time. Counters are
    ``*_total``; per-process series carry a ``pid`` label (bounded by
    ``VMASIM_MAX_PROCESSES``)."""

    def __init__(self, service: Service) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        s = vmstat(self._service)
        p = PREFIX

        events = CounterMetricFamily(
            f"{p}_vm_events", "Machine-wide /proc/vmstat fault events", labels=["event"]
        )
        for name in EVENTS:
            events.add_metric([name], getattr(s.events, name))
        yield events

        query = CounterMetricFamily(
            f"{p}_procmap_query", "PROCMAP_QUERY calls by outcome", labels=["outcome"]
        )
        for outcome in ("found", "enoent", "rejected"):
            query.add_metric([outcome], getattr(s.procmap_query, outcome))
        yield query
        query_lock = CounterMetricFamily(
            f"{p}_procmap_query_vmas",
            "VMAs examined by PROCMAP_QUERY, by how they were locked",
            labels=["lock"],
        )
        for field in ("vma_locked", "mmap_lock_assisted", "mmap_locked"):
            query_lock.add_metric([field], getattr(s.procmap_query, field))
        yield query_lock

        rcu = s.rcu
        yield CounterMetricFamily(
            f"{p}_rcu_grace_periods", "Completed RCU grace periods", value=rcu.grace_periods
        )
        yield CounterMetricFamily(
            f"{p}_rcu_callbacks", "RCU callbacks run (deferred VMA frees)", value=rcu.callbacks_run
        )
        yield GaugeMetricFamily(
            f"{p}_rcu_pending_callbacks", "RCU callbacks queued", value=rcu.pending_callbacks
        )
        yield GaugeMetricFamily(
            f"{p}_rcu_readers", "Threads inside an RCU read section", value=rcu.readers_in_section
        )
        yield CounterMetricFamily(
            f"{p}_page_lock_acquisitions",
            "Page-table lock acquisitions",
            value=s.page_lock.acquisitions,
        )
        yield CounterMetricFamily(
            f"{p}_page_lock_contended",
            "Page-table lock acquisitions that found it held",
            value=s.page_lock.contended,
        )
        yield GaugeMetricFamily(f"{p}_processes", "Live processes", value=s.service.processes)
        yield GaugeMetricFamily(
            f"{p}_processes_limit", "VMASIM_MAX_PROCESSES", value=s.service.limit
        )
        yield CounterMetricFamily(
            f"{p}_processes_spawned", "Processes created", value=s.service.spawned
        )

        pid = ["pid"]
        pev = CounterMetricFamily(
            f"{p}_process_vm_events", "Per-process fault events", labels=["pid", "event"]
        )
        faults = CounterMetricFamily(
            f"{p}_process_faults", "Faults by type (min_flt, maj_flt)", labels=["pid", "type"]
        )
        rss = GaugeMetricFamily(
            f"{p}_process_resident_pages", "Resident pages by kind", labels=["pid", "kind"]
        )
        vmas = GaugeMetricFamily(f"{p}_process_vmas", "VMAs (map_count)", labels=pid)
        acq = CounterMetricFamily(
            f"{p}_mmap_lock_acquisitions", "mmap_lock acquisitions", labels=["pid", "mode"]
        )
        cont = CounterMetricFamily(
            f"{p}_mmap_lock_contended",
            "mmap_lock acquisitions that had to wait",
            labels=["pid", "mode"],
        )
        wait = CounterMetricFamily(
            f"{p}_mmap_lock_wait_seconds",
            "Time contended mmap_lock acquisitions waited",
            labels=["pid", "mode"],
        )
        waiters = GaugeMetricFamily(
            f"{p}_mmap_lock_waiters", "Threads queued on mmap_lock", labels=["pid", "mode"]
        )
        cycles = CounterMetricFamily(
            f"{p}_mmap_lock_write_cycles", "mmap_lock write-lock cycles", labels=pid
        )
        for proc in s.processes:
            key = str(proc.pid)
            for name in EVENTS:
                pev.add_metric([key, name], getattr(proc.events, name))
            faults.add_metric([key, "minor"], proc.min_flt)
            faults.add_metric([key, "major"], proc.maj_flt)
            for kind in ("file", "anon", "shmem"):
                rss.add_metric([key, kind], getattr(proc.rss, kind))
            vmas.add_metric([key], proc.map_count)
            sem = proc.mmap_lock.rwsem
            for mode in ("read", "write"):
                acq.add_metric([key, mode], getattr(sem, f"{mode}_acquisitions"))
                cont.add_metric([key, mode], getattr(sem, f"{mode}_contended"))
                wait.add_metric([key, mode], getattr(sem, f"{mode}_wait_total_s"))
            waiters.add_metric([key, "read"], sem.waiting_readers)
            waiters.add_metric([key, "write"], sem.waiting_writers)
            cycles.add_metric([key], proc.mmap_lock.write_cycles)
        yield from (pev, faults, rss, vmas, acq, cont, wait, waiters, cycles)
