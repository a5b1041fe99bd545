"""vmasim's engine: a simulated Linux 6.18 x86-64 process address space.

Thread-safe, and free of any web dependency. Start from :class:`Kernel`::

    >>> from core import Kernel, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS
    >>> proc = Kernel().spawn()
    >>> addr = proc.mm.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> hex(addr)
    '0x7ffff7ffd000'
    >>> proc.mm.maps().splitlines()[0]  # unnamed lines end with one space
    '7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 '
"""

from __future__ import annotations

# First: decides which engine the imports below load (compiled or pure Python).
from ._engine import ARENAS as ARENAS
from ._engine import ENGINE as ENGINE
from ._engine import ENGINE_DETAIL as ENGINE_DETAIL
from .checkpoint import dump_kernel as dump_kernel
from .checkpoint import load_kernel as load_kernel
from .checkpoint import load_state as load_state
from .checkpoint import save_state as save_state
from .constants import DEFAULT_MAX_MAP_COUNT as DEFAULT_MAX_MAP_COUNT
from .constants import MADV_COLD as MADV_COLD
from .constants import MADV_COLLAPSE as MADV_COLLAPSE
from .constants import MADV_DODUMP as MADV_DODUMP
from .constants import MADV_DOFORK as MADV_DOFORK
from .constants import MADV_DONTDUMP as MADV_DONTDUMP
from .constants import MADV_DONTFORK as MADV_DONTFORK
from .constants import MADV_DONTNEED as MADV_DONTNEED
from .constants import MADV_DONTNEED_LOCKED as MADV_DONTNEED_LOCKED
from .constants import MADV_FREE as MADV_FREE
from .constants import MADV_GUARD_INSTALL as MADV_GUARD_INSTALL
from .constants import MADV_GUARD_REMOVE as MADV_GUARD_REMOVE
from .constants import MADV_HUGEPAGE as MADV_HUGEPAGE
from .constants import MADV_KEEPONFORK as MADV_KEEPONFORK
from .constants import MADV_MERGEABLE as MADV_MERGEABLE
from .constants import MADV_NOHUGEPAGE as MADV_NOHUGEPAGE
from .constants import MADV_NORMAL as MADV_NORMAL
from .constants import MADV_PAGEOUT as MADV_PAGEOUT
from .constants import MADV_POPULATE_READ as MADV_POPULATE_READ
from .constants import MADV_POPULATE_WRITE as MADV_POPULATE_WRITE
from .constants import MADV_RANDOM as MADV_RANDOM
from .constants import MADV_REMOVE as MADV_REMOVE
from .constants import MADV_SEQUENTIAL as MADV_SEQUENTIAL
from .constants import MADV_UNMERGEABLE as MADV_UNMERGEABLE
from .constants import MADV_WILLNEED as MADV_WILLNEED
from .constants import MADV_WIPEONFORK as MADV_WIPEONFORK
from .constants import MAP_ANONYMOUS as MAP_ANONYMOUS
from .constants import MAP_DROPPABLE as MAP_DROPPABLE
from .constants import MAP_FIXED as MAP_FIXED
from .constants import MAP_FIXED_NOREPLACE as MAP_FIXED_NOREPLACE
from .constants import MAP_GROWSDOWN as MAP_GROWSDOWN
from .constants import MAP_LOCKED as MAP_LOCKED
from .constants import MAP_NORESERVE as MAP_NORESERVE
from .constants import MAP_POPULATE as MAP_POPULATE
from .constants import MAP_PRIVATE as MAP_PRIVATE
from .constants import MAP_SHARED as MAP_SHARED
from .constants import MAP_SHARED_VALIDATE as MAP_SHARED_VALIDATE
from .constants import MAP_STACK as MAP_STACK
from .constants import MAP_SYNC as MAP_SYNC
from .constants import MCL_CURRENT as MCL_CURRENT
from .constants import MCL_FUTURE as MCL_FUTURE
from .constants import MCL_ONFAULT as MCL_ONFAULT
from .constants import MLOCK_ONFAULT as MLOCK_ONFAULT
from .constants import MREMAP_DONTUNMAP as MREMAP_DONTUNMAP
from .constants import MREMAP_FIXED as MREMAP_FIXED
from .constants import MREMAP_MAYMOVE as MREMAP_MAYMOVE
from .constants import O_RDONLY as O_RDONLY
from .constants import O_RDWR as O_RDWR
from .constants import O_WRONLY as O_WRONLY
from .constants import OVERCOMMIT_ALWAYS as OVERCOMMIT_ALWAYS
from .constants import OVERCOMMIT_GUESS as OVERCOMMIT_GUESS
from .constants import OVERCOMMIT_NEVER as OVERCOMMIT_NEVER
from .constants import PAGE_SIZE as PAGE_SIZE
from .constants import PR_SET_VMA as PR_SET_VMA
from .constants import PR_SET_VMA_ANON_NAME as PR_SET_VMA_ANON_NAME
from .constants import PROT_EXEC as PROT_EXEC
from .constants import PROT_GROWSDOWN as PROT_GROWSDOWN
from .constants import PROT_NONE as PROT_NONE
from .constants import PROT_READ as PROT_READ
from .constants import PROT_WRITE as PROT_WRITE
from .constants import RLIM_INFINITY as RLIM_INFINITY
from .constants import RLIMIT_MEMLOCK as RLIMIT_MEMLOCK
from .constants import TASK_SIZE as TASK_SIZE
from .constants import VM_LOCKED as VM_LOCKED
from .constants import VM_LOCKONFAULT as VM_LOCKONFAULT
from .constants import VM_SEALED as VM_SEALED
from .errors import EngineError as EngineError
from .errors import InvalidArgument as InvalidArgument
from .errors import LayoutError as LayoutError
from .errors import NoSuchProcess as NoSuchProcess
from .errors import PauseTimeout as PauseTimeout
from .errors import ResidentLimitExceeded as ResidentLimitExceeded
from .errors import StateError as StateError
from .errors import SyscallError as SyscallError
from .errors import UnknownPausePoint as UnknownPausePoint
from .errors import UseAfterFree as UseAfterFree
from .fault import FaultResult as FaultResult
from .kernel import Kernel as Kernel
from .kernel import KernelStatistics as KernelStatistics
from .madvise import MadviseStatistics as MadviseStatistics
from .maps_overview import MapsOverview as MapsOverview
from .maps_overview import MapsRun as MapsRun
from .maps_overview import read_overview as read_overview
from .maps_reader import READERS as MAPS_READERS
from .maps_reader import LockHoldTimes as LockHoldTimes
from .maps_reader import MapsFile as MapsFile
from .maps_reader import MapsSnapshot as MapsSnapshot
from .maps_reader import read_maps as read_maps
from .mm import Mm as Mm
from .mmap_lock import MmapLock as MmapLock
from .overcommit import CommitStatistics as CommitStatistics
from .pause import HeldOperation as HeldOperation
from .pause import PauseRegistry as PauseRegistry
from .process import Process as Process
from .procmap_query import PROCMAP_QUERY as PROCMAP_QUERY
from .procmap_query import PROCMAP_QUERY_COVERING_OR_NEXT_VMA as PROCMAP_QUERY_COVERING_OR_NEXT_VMA
from .procmap_query import PROCMAP_QUERY_FILE_BACKED_VMA as PROCMAP_QUERY_FILE_BACKED_VMA
from .procmap_query import PROCMAP_QUERY_VMA_EXECUTABLE as PROCMAP_QUERY_VMA_EXECUTABLE
from .procmap_query import PROCMAP_QUERY_VMA_READABLE as PROCMAP_QUERY_VMA_READABLE
from .procmap_query import PROCMAP_QUERY_VMA_SHARED as PROCMAP_QUERY_VMA_SHARED
from .procmap_query import PROCMAP_QUERY_VMA_WRITABLE as PROCMAP_QUERY_VMA_WRITABLE
from .procmap_query import ProcmapQueryArgs as ProcmapQueryArgs
from .procmap_query import QueryPath as QueryPath
from .procmap_query import VmaQueryResult as VmaQueryResult
from .procmap_query import do_procmap_query as do_procmap_query
from .procmap_query import procmap_query as procmap_query
from .procmap_query import procmap_query_batch as procmap_query_batch
from .rcu import RcuDomain as RcuDomain
from .rwsem import RwSemaphore as RwSemaphore
from .smaps import render_smaps as render_smaps
from .smaps import render_smaps_rollup as render_smaps_rollup
from .smaps import render_statm as render_statm
from .smaps import render_status_memory as render_status_memory
from .vma import Vma as Vma
from .vma_tree import VmaTree as VmaTree
from .vmstat import VmEventStatistics as VmEventStatistics

__all__ = [
    "ARENAS",
    "DEFAULT_MAX_MAP_COUNT",
    "ENGINE",
    "ENGINE_DETAIL",
    "MADV_COLD",
    "MADV_COLLAPSE",
    "MADV_DODUMP",
    "MADV_DOFORK",
    "MADV_DONTDUMP",
    "MADV_DONTFORK",
    "MADV_DONTNEED",
    "MADV_DONTNEED_LOCKED",
    "MADV_FREE",
    "MADV_GUARD_INSTALL",
    "MADV_GUARD_REMOVE",
    "MADV_HUGEPAGE",
    "MADV_KEEPONFORK",
    "MADV_MERGEABLE",
    "MADV_NOHUGEPAGE",
    "MADV_NORMAL",
    "MADV_PAGEOUT",
    "MADV_POPULATE_READ",
    "MADV_POPULATE_WRITE",
    "MADV_RANDOM",
    "MADV_REMOVE",
    "MADV_SEQUENTIAL",
    "MADV_UNMERGEABLE",
    "MADV_WILLNEED",
    "MADV_WIPEONFORK",
    "MAPS_READERS",
    "MAP_ANONYMOUS",
    "MAP_FIXED",
    "MAP_FIXED_NOREPLACE",
    "MAP_GROWSDOWN",
    "MAP_LOCKED",
    "MAP_NORESERVE",
    "MAP_POPULATE",
    "MAP_PRIVATE",
    "MAP_SHARED",
    "MAP_SHARED_VALIDATE",
    "MAP_DROPPABLE",
    "MAP_STACK",
    "MAP_SYNC",
    "MREMAP_DONTUNMAP",
    "MREMAP_FIXED",
    "MREMAP_MAYMOVE",
    "MCL_CURRENT",
    "MCL_FUTURE",
    "MCL_ONFAULT",
    "MLOCK_ONFAULT",
    "OVERCOMMIT_ALWAYS",
    "OVERCOMMIT_GUESS",
    "OVERCOMMIT_NEVER",
    "PR_SET_VMA",
    "PR_SET_VMA_ANON_NAME",
    "RLIM_INFINITY",
    "RLIMIT_MEMLOCK",
    "VM_LOCKED",
    "VM_LOCKONFAULT",
    "VM_SEALED",
    "O_RDONLY",
    "O_RDWR",
    "O_WRONLY",
    "PAGE_SIZE",
    "PROCMAP_QUERY",
    "PROCMAP_QUERY_COVERING_OR_NEXT_VMA",
    "PROCMAP_QUERY_FILE_BACKED_VMA",
    "PROCMAP_QUERY_VMA_EXECUTABLE",
    "PROCMAP_QUERY_VMA_READABLE",
    "PROCMAP_QUERY_VMA_SHARED",
    "PROCMAP_QUERY_VMA_WRITABLE",
    "PROT_EXEC",
    "PROT_GROWSDOWN",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "TASK_SIZE",
    "CommitStatistics",
    "EngineError",
    "FaultResult",
    "HeldOperation",
    "InvalidArgument",
    "Kernel",
    "KernelStatistics",
    "LayoutError",
    "LockHoldTimes",
    "MadviseStatistics",
    "MapsFile",
    "MapsOverview",
    "MapsRun",
    "MapsSnapshot",
    "Mm",
    "MmapLock",
    "NoSuchProcess",
    "PauseRegistry",
    "PauseTimeout",
    "Process",
    "ProcmapQueryArgs",
    "QueryPath",
    "RcuDomain",
    "ResidentLimitExceeded",
    "RwSemaphore",
    "StateError",
    "SyscallError",
    "UnknownPausePoint",
    "UseAfterFree",
    "Vma",
    "VmEventStatistics",
    "VmaQueryResult",
    "VmaTree",
    "do_procmap_query",
    "dump_kernel",
    "load_kernel",
    "load_state",
    "procmap_query",
    "procmap_query_batch",
    "read_maps",
    "read_overview",
    "render_smaps",
    "render_smaps_rollup",
    "render_statm",
    "render_status_memory",
    "save_state",
]
