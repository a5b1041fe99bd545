"""The files of ``/proc/<pid>`` and the machine-wide ``/proc/{meminfo,vmstat}``, each as
a ``seq_file`` source (:mod:`core.seq_file`) in the kernel's exact format.

Design note
===========

=================  ================================================  =====================
file               records, walk and lock                            kernel
=================  ================================================  =====================
``maps``           one line per VMA, then the gate; chunks by the    fs/proc/task_mmu.c
                   chosen maps reader (:mod:`core.maps_reader`):     ``show_map``
                   ``seqcount``, ``per_vma`` (6.17+) or
                   ``mmap_lock`` (≤ 6.16)
``smaps``          one block per VMA, then the gate's; each walk     ``show_smap``
                   holds ``mmap_lock`` for read (6.18:
                   ``lock_vma_range`` takes it for every file but
                   maps) or per-VMA locks (``per_vma``); readers
                   by name in :data:`SMAPS_READERS`
``smaps_rollup``   one record, by the same smaps reader              ``show_smaps_rollup``
``status``         one record; memory lines lock-free (``task_mem``) fs/proc/array.c
``statm``          one record (``task_statm``)                        ``proc_pid_statm``
``stat``           one record (``do_task_stat``)                     ``proc_pid_stat``
``cmdline``        one record                                         ``proc_pid_cmdline_read``
``comm``           one record                                         ``comm_show``
``meminfo``        one record, summed over the machine                fs/proc/meminfo.c
``vmstat``         one record: the events the engine counts           mm/vmstat.c
=================  ================================================  =====================

What the engine does not model is printed as a *stopped, single-threaded* process
with no parent of its own would show it (the values are in :data:`STOPPED`): state
``T (stopped)``, one thread, parent 1, no signals pending, blocked, ignored or
caught, no CPU time, started at boot (``starttime`` 0: the engine has no clock),
``exit_code`` 19 (``SIGSTOP``), its own process group and session, and ``argv`` of
one element, the process name (the engine keeps no argv or environment, so
``arg_start`` … ``env_end`` are 0). Credentials are the ``uid``/``gid`` the caller
gives (the mount passes its own, so the files' owner and ``Uid:`` agree). The machine
has the host's CPUs and memory size (``meminfo``'s ``MemTotal``); every page the
engine holds (anonymous pages, the page cache of mapped files, page tables) is
subtracted from it, and what is not modelled (buffers, slab, swap, huge pages) is 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .constants import PAGE_SHIFT, PAGE_SIZE
from .maps_reader import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_SMAPS_READER,
    MapsFile,
    Reader,
    SmapsReader,
    check_smaps_reader,
    read_smaps_rollup,
    smaps_chunk,
)
from .maps_reader import SMAPS_READERS as SMAPS_READER_NAMES
from .pages import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    PageKind,
    page_cache,
    resident_run_pages,
    run_pages,
    table_count,
)
from .seq_file import PAGE_SIZE as SEQ_BUFFER
from .seq_file import SeqChunk, SeqFile, SingleSource
from .smaps import render_statm, render_status_memory
from .vmstat import VmEventStatistics

if TYPE_CHECKING:
    from .files import Inode
    from .kernel import Kernel
    from .mm import Mm
    from .pages import Page
    from .process import Process
    from .vma import Vma

__all__ = [
    "DEFAULT_SMAPS_READER",
    "MACHINE_FILES",
    "PID_FILES",
    "SMAPS_READERS",
    "STOPPED",
    "MapsSource",
    "SmapsChunk",
    "SmapsSource",
    "open_machine_file",
    "open_pid_file",
    "render_cmdline",
    "render_comm",
    "render_meminfo",
    "render_stat",
    "render_status",
    "render_vmstat",
]

PID_FILES: Final = (
    "cmdline",
    "comm",
    "maps",
    "smaps",
    "smaps_rollup",
    "stat",
    "statm",
    "status",
)
"""The files of ``/proc/<pid>`` served, in ``readdir`` order (alphabetical here)."""
MACHINE_FILES: Final = ("meminfo", "vmstat")
"""The machine-wide files served at the top of the tree."""

RLIM_INFINITY: Final = (1 << 64) - 1
SIGSTOP: Final = 19
SIGCHLD: Final = 17
CAP_FULL_SET: Final = (1 << 41) - 1  # CAP_LAST_CAP = 40 (CAP_CHECKPOINT_RESTORE) in 6.18
MAX_NUMNODES_WORDS: Final = 32  # Mems_allowed: CONFIG_NODES_SHIFT=10, 32-bit groups


@dataclass(frozen=True)
class Stopped:
    """The values the engine does not model, as a stopped single-threaded process
    shows them (see the module docstring)."""

    state: str = "T (stopped)"
    state_letter: str = "T"
    ppid: int = 1
    threads: int = 1
    exit_code: int = SIGSTOP
    umask: str = "0022"
    #: ``SigQ``'s limit: RLIMIT_SIGPENDING of the 24 GiB 6.18 host (it scales with RAM).
    sigq_limit: int = 96367
    priority: int = 20
    starttime: int = 0


STOPPED: Final = Stopped()


# -- maps ------------------------------------------------------------------------------


class MapsSource:
    """``/proc/<pid>/maps`` with one of the three maps readers. Each :meth:`fill` is one
    :meth:`core.MapsFile.read` from the position: its own locks, nothing held after.
    ``info`` is the walk's :class:`~core.maps_reader.MapsSnapshot`."""

    __slots__ = ("_file",)

    def __init__(self, mm: Mm, reader: Reader, *, max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        self._file = MapsFile(mm, reader, max_retries=max_retries)

    @property
    def reader(self) -> Reader:
        return self._file.reader

    def fill(self, index: int, size: int, want: int) -> SeqChunk:
        """O(lines × attempts); see :mod:`core.maps_reader`."""
        f = self._file
        f.chunk_size = size
        f.seek(index)
        snap = f.read(want)
        return SeqChunk(snap.lines, snap.pos_end, snap)


# -- smaps -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmapsChunk:
    """One smaps walk: the reader, ``mm_lock_seq`` during it, the positions before and
    after, and how long ``mmap_lock`` was waited for and held (ns)."""

    reader: str
    blocks: int
    seq: int
    pos_begin: int
    pos_end: int
    mmap_lock_wait_ns: int
    mmap_lock_read_ns: int


SmapsWalk = Callable[["Mm", int, int, int], tuple[tuple[str, ...], SmapsChunk]]


def _smaps_walk(reader: SmapsReader) -> SmapsWalk:
    """The seq_file walk of ``reader`` (:func:`core.maps_reader.smaps_chunk`): 6.18's
    ``mmap_lock`` walk (``m_start`` → ``lock_vma_range`` takes ``mmap_read_lock`` for
    every file but maps) or the per-VMA one. O(VMAs shown + their resident pages)."""

    def walk(mm: Mm, pos: int, size: int, want: int) -> tuple[tuple[str, ...], SmapsChunk]:
        snap = smaps_chunk(mm, reader, pos, size, want)
        h = snap.hold
        wait_ns, held_ns = h.mmap_lock_wait_ns, h.mmap_lock_read_ns
        info = SmapsChunk(
            reader, len(snap.blocks), snap.seq_begin, pos, snap.pos_end, wait_ns, held_ns
        )
        return snap.blocks, info

    return walk


SMAPS_READERS: Final[dict[str, SmapsWalk]] = {r: _smaps_walk(r) for r in SMAPS_READER_NAMES}
"""smaps walks by name (:data:`core.maps_reader.SMAPS_READERS`): ``mmap_lock`` is
6.18's, ``per_vma`` the in-flight per-VMA series."""


class SmapsSource:
    """``/proc/<pid>/smaps``: blocks of ``show_smap`` by the walk named ``reader``
    (:data:`SMAPS_READERS`). ``info`` is a :class:`SmapsChunk`."""

    __slots__ = ("_walk", "mm", "reader")

    def __init__(self, mm: Mm, reader: str = DEFAULT_SMAPS_READER) -> None:
        walk = SMAPS_READERS.get(reader)
        if walk is None:
            from .errors import InvalidArgument

            raise InvalidArgument(
                f"unknown smaps reader {reader!r}; choose one of {', '.join(SMAPS_READERS)}"
            )
        self.mm = mm
        self.reader = reader
        self._walk = walk

    def fill(self, index: int, size: int, want: int) -> SeqChunk:
        blocks, info = self._walk(self.mm, index, size, want)
        return SeqChunk(blocks, info.pos_end, info)


# -- /proc/<pid>/stat, status, cmdline, comm ----------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskView:
    """What ``stat`` and ``status`` print of a process, as plain values (a remote
    service's answers fill one too)."""

    pid: int
    name: str
    min_flt: int = 0
    maj_flt: int = 0
    total_vm: int = 0  # pages
    rss: int = 0  # pages: file + anon + shmem
    start_code: int = 0
    end_code: int = 0
    start_stack: int = 0
    start_brk: int = 0
    fd_size: int = 64

    @classmethod
    def of(cls, proc: Process) -> TaskView:
        """The values of a live process (read without locks, as ``do_task_stat``)."""
        mm = proc.mm
        stat = mm.rss_stat
        return cls(
            pid=proc.pid,
            name=proc.name,
            min_flt=mm.min_flt,
            maj_flt=mm.maj_flt,
            total_vm=mm.total_vm,
            rss=stat[MM_FILEPAGES] + stat[MM_ANONPAGES] + stat[MM_SHMEMPAGES],
            start_code=getattr(mm, "start_code", 0),
            end_code=getattr(mm, "end_code", 0),
            start_stack=mm.start_stack,
            start_brk=mm.start_brk,
            fd_size=fd_size(max((fd for fd, _ in proc.files.items()), default=0)),
        )


def fd_size(top_fd: int) -> int:
    """``FDSize``: the fdtable starts at NR_OPEN_DEFAULT (BITS_PER_LONG) and doubles."""
    size = 64
    while size <= top_fd:
        size <<= 1
    return size


def render_stat(proc: Process) -> str:
    """``/proc/<pid>/stat`` of a live process: :func:`stat_text` of its values. O(1)."""
    return stat_text(TaskView.of(proc))


def stat_text(t: TaskView) -> str:
    """``/proc/<pid>/stat`` (``do_task_stat``, fs/proc/array.c): 52 fields, the name
    raw between parentheses. The engine's fields: pid, name, minflt, majflt, vsize,
    rss, startcode, endcode, startstack, start_brk; the rest as :data:`STOPPED`. O(1)."""
    s = STOPPED
    pid = t.pid
    fields = [
        s.state_letter,
        s.ppid,
        pid,  # pgrp
        pid,  # session
        0,  # tty_nr
        -1,  # tpgid
        0,  # flags: no PF_* a stopped, exec'd, non-randomised task keeps
        t.min_flt,
        0,  # cminflt
        t.maj_flt,
        0,  # cmajflt
        0, 0, 0, 0,  # utime stime cutime cstime
        s.priority,
        0,  # nice
        s.threads,
        0,  # itrealvalue
        s.starttime,
        t.total_vm << PAGE_SHIFT,  # vsize
        t.rss,
        RLIM_INFINITY,  # rsslim
        t.start_code,
        t.end_code,
        t.start_stack,
        0, 0,  # kstkesp kstkeip (only shown while dumping core)
        0, 0, 0, 0,  # signal blocked sigignore sigcatch
        1,  # wchan: 1 for a task that is not running (5.16+ hides the address)
        0, 0,  # nswap cnswap
        SIGCHLD,  # exit_signal
        0,  # processor
        0, 0,  # rt_priority policy
        0, 0, 0,  # delayacct_blkio_ticks guest_time cguest_time
        0, 0,  # start_data end_data
        t.start_brk,
        0, 0, 0, 0,  # arg_start arg_end env_start env_end
        s.exit_code,
    ]  # fmt: skip
    return f"{pid} ({t.name}) " + " ".join(map(str, fields)) + "\n"


def _escape_name(name: str) -> str:
    # proc_task_name(escape=true): seq_escape_str(ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\").
    table = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f", "\v": "\\v"}
    return "".join(table.get(c, c) for c in name)


def render_status(proc: Process, uid: int = 0, gid: int = 0) -> str:
    """``/proc/<pid>/status`` of a live process: :func:`status_text` with the memory
    lines of :func:`core.smaps.render_status_memory`. O(resident pages) (``VmPTE``)."""
    return status_text(TaskView.of(proc), render_status_memory(proc.mm), uid, gid)


def status_text(t: TaskView, memory: str, uid: int = 0, gid: int = 0) -> str:
    """``/proc/<pid>/status`` (``proc_pid_status``, fs/proc/array.c), the lines and
    order of the 6.18 host, with ``memory`` (``VmPeak`` … ``HugetlbPages``) in place;
    credentials ``uid``/``gid`` (capabilities: the full set for uid 0, none otherwise);
    the rest as :data:`STOPPED`. O(1)."""
    s = STOPPED
    pid = t.pid
    caps = f"{CAP_FULL_SET if uid == 0 else 0:016x}"
    ncpu = os.cpu_count() or 1
    cpus = f"{(1 << ncpu) - 1:x}"
    cpus_list = "0" if ncpu == 1 else f"0-{ncpu - 1}"
    mems = ",".join(["00000000"] * (MAX_NUMNODES_WORDS - 1) + ["00000001"])
    zero = "0" * 16
    head = (
        f"Name:\t{_escape_name(t.name)}\n"
        f"Umask:\t{s.umask}\n"
        f"State:\t{s.state}\n"
        f"Tgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{s.ppid}\nTracerPid:\t0\n"
        f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
        f"Gid:\t{gid}\t{gid}\t{gid}\t{gid}\n"
        f"FDSize:\t{t.fd_size}\n"
        "Groups:\t \n"
        f"NStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pid}\nNSsid:\t{pid}\n"
        "Kthread:\t0\n"
    )
    tail = (
        "CoreDumping:\t0\n"
        "THP_enabled:\t1\n"
        "untag_mask:\t0xffffffffffffffff\n"
        f"Threads:\t{s.threads}\n"
        f"SigQ:\t0/{s.sigq_limit}\n"
        f"SigPnd:\t{zero}\nShdPnd:\t{zero}\nSigBlk:\t{zero}\nSigIgn:\t{zero}\nSigCgt:\t{zero}\n"
        f"CapInh:\t{zero}\nCapPrm:\t{caps}\nCapEff:\t{caps}\nCapBnd:\t{CAP_FULL_SET:016x}\n"
        f"CapAmb:\t{zero}\n"
        "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n"
        "Speculation_Store_Bypass:\tvulnerable\n"
        "SpeculationIndirectBranch:\talways enabled\n"
        f"Cpus_allowed:\t{cpus}\nCpus_allowed_list:\t{cpus_list}\n"
        f"Mems_allowed:\t{mems}\nMems_allowed_list:\t0\n"
        "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n"
    )
    return head + memory + tail


def render_cmdline(proc: Process) -> str:
    """``/proc/<pid>/cmdline`` of a live process: :func:`cmdline_text` of its name."""
    return cmdline_text(proc.name)


def cmdline_text(name: str) -> str:
    """``/proc/<pid>/cmdline``: argv NUL-terminated; the engine keeps no argv, so one
    element, the name. O(1)."""
    return name + "\0"


def render_comm(proc: Process) -> str:
    """``/proc/<pid>/comm``: the name and a newline (``comm_show``). O(1)."""
    return proc.name + "\n"


# -- machine-wide -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MachinePages:
    """Pages the engine holds, machine-wide, in pages (``global_node_page_state``)."""

    anon: int  # NR_ANON_MAPPED: anonymous pages mapped somewhere
    file_mapped: int  # NR_FILE_MAPPED: page-cache pages (shmem included) mapped
    file: int  # NR_FILE_PAGES: the page cache of every mapped file (shmem included)
    shmem: int  # NR_SHMEM
    page_tables: int  # NR_PAGETABLE
    mlocked: int  # NR_MLOCK: mlocked folios (mapped by a VM_LOCKED VMA)


def machine_pages(kernel: Kernel) -> MachinePages:
    """Walk every process's resident pages once (each page counted once, however many
    PTEs map it). Holds the page lock per process. O(VMAs + runs + resident pages)."""
    from .constants import VM_LOCKED

    seen: set[int] = set()
    inodes: dict[int, Inode] = {}
    anon = mapped = mlocked = tables = 0
    with_runs: list[Vma] = []  # runs fork shared count once (core/pages.py)
    for proc in kernel.processes():
        mm = proc.mm
        points: list[int] = []
        ranges: list[tuple[int, int]] = []
        with mm.page_lock:
            for vma in mm.vmas():
                file = vma.vm_file
                if file is not None:
                    inodes[id(file.inode)] = file.inode
                locked = bool(vma.vm_flags & VM_LOCKED)
                if vma.runs:  # exclusive anonymous pages (core/pages.py): O(runs)
                    ranges += [(r.start, r.end) for r in vma.runs]
                    with_runs.append(vma)
                    mlocked += run_pages(vma) if locked else 0
                for addr, page in (vma.pages or {}).items():
                    points.append(addr)
                    if page.kind is PageKind.ZERO or id(page) in seen:
                        continue
                    seen.add(id(page))
                    # NR_MLOCK counts PG_mlocked folios, wherever they are mapped.
                    mlocked += page.mlock_count > 0
                    if page.kind is PageKind.ANON:
                        anon += 1
                    else:
                        mapped += 1
        tables += sum(table_count(points, ranges, shift) for shift in (21, 30, 39))
    folios: list[Page] = []  # folios mapped by runs alone (core/pages.py RunGroup)
    with kernel.page_lock:
        anon += resident_run_pages(with_runs, seen, folios)
    mlocked += sum(page.mlock_count > 0 for page in folios)
    file_pages = shmem = 0
    with kernel.page_lock:
        for inode in inodes.values():
            cache = page_cache(inode)
            file_pages += len(cache.pages)
            if cache.shmem:
                shmem += len(cache.pages)
    return MachinePages(anon, mapped, file_pages, shmem, tables, mlocked)


def _host_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * PAGE_SIZE
    except (ValueError, OSError):  # pragma: no cover - every Linux has it
        return 1 << 34


def render_meminfo(kernel: Kernel, mem_total: int | None = None) -> str:
    """``/proc/meminfo`` of the machine: :func:`meminfo_text` of its pages. O(pages)."""
    return meminfo_text(machine_pages(kernel), _committed(kernel), mem_total)


def _committed(kernel: Kernel) -> int:
    return sum(proc.mm.total_vm for proc in kernel.processes())


def meminfo_text(p: MachinePages, committed_pages: int, mem_total: int | None = None) -> str:
    """``/proc/meminfo`` (``meminfo_proc_show``), every line of the 6.18 host in its
    order and format. ``mem_total`` bytes (default: the host's); the engine's pages
    ``p`` are what is used; ``committed_pages`` the mapped virtual memory
    (``Committed_AS``); what the engine does not model is 0. O(1)."""
    total = (mem_total if mem_total is not None else _host_memory()) >> 10
    kb = PAGE_SIZE >> 10
    used = (p.anon + p.file + p.page_tables) * kb
    free = max(total - used, 0)
    available = free + (p.file - p.shmem) * kb  # si_mem_available without watermarks
    rows: list[tuple[str, int]] = [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", available),
        ("Buffers", 0),
        ("Cached", p.file * kb),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", (p.anon + p.file) * kb),
        ("Active(anon)", 0),
        ("Inactive(anon)", (p.anon + p.shmem) * kb),
        ("Active(file)", 0),
        ("Inactive(file)", (p.file - p.shmem) * kb),
        ("Unevictable", p.mlocked * kb),
        ("Mlocked", p.mlocked * kb),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Zswap", 0),
        ("Zswapped", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", p.anon * kb),
        ("Mapped", p.file_mapped * kb),
        ("Shmem", p.shmem * kb),
        ("KReclaimable", 0),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("KernelStack", 0),
        ("PageTables", p.page_tables * kb),
        ("SecPageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", total // 2),  # overcommit_ratio 50, no swap
        ("Committed_AS", committed_pages * kb),
        ("VmallocTotal", 34359738367),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("Percpu", 0),
        ("AnonHugePages", 0),
        ("ShmemHugePages", 0),
        ("ShmemPmdMapped", 0),
        ("FileHugePages", 0),
        ("FilePmdMapped", 0),
        ("Balloon", 0),
    ]
    out = [_meminfo_kb(name, value) for name, value in rows]
    out += [
        "HugePages_Total:       0\n",
        "HugePages_Free:        0\n",
        "HugePages_Rsvd:        0\n",
        "HugePages_Surp:        0\n",
        _meminfo_kb("Hugepagesize", 2048),
        _meminfo_kb("Hugetlb", 0),
        _meminfo_kb("DirectMap4k", 0),
        _meminfo_kb("DirectMap2M", 0),
        _meminfo_kb("DirectMap1G", 0),
    ]
    return "".join(out)


def _meminfo_kb(name: str, value: int) -> str:
    # show_val_kb(): the label literal padded to 16 columns ("MemTotal:       "), the
    # value at least 8 wide (seq_put_decimal_ull_width), then " kB".
    return f"{name + ':':<16}{value:>8} kB\n"


def render_vmstat(kernel: Kernel, extra: tuple[tuple[str, int], ...] = ()) -> str:
    """``/proc/vmstat`` of the machine: :func:`vmstat_text`. O(pages)."""
    return vmstat_text(machine_pages(kernel), kernel.vm_events.statistics(), extra)


def vmstat_text(
    p: MachinePages, ev: VmEventStatistics, extra: tuple[tuple[str, int], ...] = ()
) -> str:
    """``/proc/vmstat`` (``vmstat_show``): ``name value`` lines, in the kernel's order,
    for the counters the engine keeps: page counts, swap (none), ``pgfault``/
    ``pgmajfault``, the folios mlocked and munlocked, and the per-VMA-lock events
    (printed by kernels built with ``CONFIG_PER_VMA_LOCK_STATS``). ``extra`` lines (the
    simulator's own counters) follow. O(1)."""
    rows: list[tuple[str, int]] = [
        ("nr_free_pages", max((_host_memory() >> PAGE_SHIFT) - p.anon - p.file - p.page_tables, 0)),
        ("nr_mlock", p.mlocked),
        ("nr_anon_pages", p.anon),
        ("nr_mapped", p.file_mapped),
        ("nr_file_pages", p.file),
        ("nr_shmem", p.shmem),
        ("nr_page_table_pages", p.page_tables),
        ("pswpin", 0),
        ("pswpout", 0),
        ("pgfault", ev.pgfault),
        ("pgmajfault", ev.pgmajfault),
        ("unevictable_pgs_mlocked", ev.unevictable_pgs_mlocked),
        ("unevictable_pgs_munlocked", ev.unevictable_pgs_munlocked),
        ("vma_lock_success", ev.vma_lock_success),
        ("vma_lock_abort", ev.vma_lock_abort),
        ("vma_lock_retry", ev.vma_lock_retry),
        ("vma_lock_miss", ev.vma_lock_miss),
        *extra,
    ]
    return "".join(f"{name} {value}\n" for name, value in rows)


# -- opening ------------------------------------------------------------------------------


def open_pid_file(
    proc: Process,
    name: str,
    *,
    maps_reader: Reader = "seqcount",
    smaps_reader: str = DEFAULT_SMAPS_READER,
    max_retries: int = DEFAULT_MAX_RETRIES,
    uid: int = 0,
    gid: int = 0,
    buffer_size: int = SEQ_BUFFER,
) -> SeqFile:
    """``open("/proc/<pid>/<name>")``: a :class:`~core.seq_file.SeqFile` over the file's
    source. KeyError for a name not in :data:`PID_FILES`; InvalidArgument for an
    unknown reader. O(1): nothing is read before the first ``read``. ``buffer_size``
    other than ``PAGE_SIZE`` is not the kernel's: a larger buffer makes one walk of a
    large read cover more records (a static export reads each file in one walk)."""
    mm = proc.mm
    if name == "maps":
        return SeqFile(MapsSource(mm, maps_reader, max_retries=max_retries), buffer_size)
    if name == "smaps":
        return SeqFile(SmapsSource(mm, smaps_reader), buffer_size)
    renders: dict[str, Callable[[], str]] = {
        "smaps_rollup": lambda: read_smaps_rollup(mm, check_smaps_reader(smaps_reader)).text,
        "status": lambda: render_status(proc, uid, gid),
        "statm": lambda: render_statm(mm),
        "stat": lambda: render_stat(proc),
        "cmdline": lambda: render_cmdline(proc),
        "comm": lambda: render_comm(proc),
    }
    return SeqFile(SingleSource(renders[name]), buffer_size)


def open_machine_file(
    kernel: Kernel, name: str, extra: Callable[[], tuple[tuple[str, int], ...]] = tuple
) -> SeqFile:
    """``open("/proc/meminfo")`` or ``/proc/vmstat``; KeyError for another name.
    ``extra()`` supplies the simulator's lines appended to vmstat."""
    if name == "meminfo":
        return SeqFile(SingleSource(lambda: render_meminfo(kernel)))
    if name == "vmstat":
        return SeqFile(SingleSource(lambda: render_vmstat(kernel, extra())))
    raise KeyError(name)
