"""vmasim's engine: a simulated Linux 6.18 x86-64 process address space.

Pure Python, thread-safe, and free of any web dependency. Start from :class:`Kernel`::

    >>> from core import Kernel, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS
    >>> proc = Kernel().spawn()
    >>> addr = proc.mm.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> hex(addr)
    '0x7ffff7ffd000'
    >>> proc.mm.maps().splitlines()[0]  # unnamed lines end with one space
    '7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 '
"""

from __future__ import annotations

from .constants import DEFAULT_MAX_MAP_COUNT as DEFAULT_MAX_MAP_COUNT
from .constants import MAP_ANONYMOUS as MAP_ANONYMOUS
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
from .constants import MREMAP_DONTUNMAP as MREMAP_DONTUNMAP
from .constants import MREMAP_FIXED as MREMAP_FIXED
from .constants import MREMAP_MAYMOVE as MREMAP_MAYMOVE
from .constants import O_RDONLY as O_RDONLY
from .constants import O_RDWR as O_RDWR
from .constants import O_WRONLY as O_WRONLY
from .constants import PAGE_SIZE as PAGE_SIZE
from .constants import PROT_EXEC as PROT_EXEC
from .constants import PROT_GROWSDOWN as PROT_GROWSDOWN
from .constants import PROT_NONE as PROT_NONE
from .constants import PROT_READ as PROT_READ
from .constants import PROT_WRITE as PROT_WRITE
from .constants import TASK_SIZE as TASK_SIZE
from .errors import EngineError as EngineError
from .errors import InvalidArgument as InvalidArgument
from .errors import LayoutError as LayoutError
from .errors import NoSuchProcess as NoSuchProcess
from .errors import SyscallError as SyscallError
from .errors import UseAfterFree as UseAfterFree
from .mm import Mm as Mm
from .mmap_lock import MmapLock as MmapLock
from .process import Kernel as Kernel
from .process import Process as Process
from .rcu import RcuDomain as RcuDomain
from .rwsem import RwSemaphore as RwSemaphore
from .vma import Vma as Vma
from .vma_tree import VmaTree as VmaTree

__all__ = [
    "DEFAULT_MAX_MAP_COUNT",
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
    "MAP_STACK",
    "MAP_SYNC",
    "MREMAP_DONTUNMAP",
    "MREMAP_FIXED",
    "MREMAP_MAYMOVE",
    "O_RDONLY",
    "O_RDWR",
    "O_WRONLY",
    "PAGE_SIZE",
    "PROT_EXEC",
    "PROT_GROWSDOWN",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "TASK_SIZE",
    "EngineError",
    "InvalidArgument",
    "Kernel",
    "LayoutError",
    "Mm",
    "MmapLock",
    "NoSuchProcess",
    "Process",
    "RcuDomain",
    "RwSemaphore",
    "SyscallError",
    "UseAfterFree",
    "Vma",
    "VmaTree",
]
