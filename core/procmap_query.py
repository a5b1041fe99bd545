"""``PROCMAP_QUERY``: point queries of an address space (fs/proc/task_mmu.c, 6.18).

Size: one module for one ioctl; its argument struct, its locking context and its
batch form share the check order and the counters, which split modules would have to
re-export to each other.

Design note
===========

What is modelled
----------------
The ``PROCMAP_QUERY`` ioctl (v6.11, ``_IOWR('f', 17, struct procmap_query)``) on an
open ``/proc/<pid>/maps`` fd answers "which VMA covers (or follows) this address?"
without rendering any text (``do_procmap_query`` in fs/proc/task_mmu.c,
include/uapi/linux/fs.h). :func:`do_procmap_query` mirrors
``do_procmap_query`` field by field on a :class:`ProcmapQueryArgs` (the input half of
``struct procmap_query``), with the kernel's order of checks:

1. ``size > PAGE_SIZE`` → ``E2BIG``; ``size < offsetofend(query_addr)`` (24) → ``EINVAL``;
   ``copy_struct_from_user``: input fields beyond ``size`` read as zero, non-zero bytes
   beyond the kernel's 104-byte struct → ``E2BIG``.
2. unknown ``query_flags`` bits → ``EINVAL``; ``vma_name_size``/``vma_name_addr`` (and the
   build-id pair) not both zero or both non-zero → ``EINVAL``.
3. dead mm (``mmget_not_zero`` fails) → ``ESRCH``.
4. ``query_matching_vma``: from the first VMA with ``vm_end > addr``, skip VMAs without a
   file when ``FILE_BACKED_VMA`` is asked, and VMAs lacking any requested permission bit
   (``SHARED`` means ``VM_MAYSHARE``); accept a covering VMA, or any match with
   ``COVERING_OR_NEXT_VMA``; otherwise ``ENOENT``. The gate VMA (``[vsyscall]``) is not
   in the tree and is never returned.
5. the name exactly as ``get_vma_name`` gives it to both maps and the ioctl, but
   *unescaped* (``d_path``, not ``seq_path``): the file path with `` (deleted)``,
   ``[anon_shmem:x]``, the special mapping's name, ``[heap]``, ``[stack]``, ``[anon:x]``;
   ``vma_name_size`` counts the terminating NUL; a name that does not fit
   ``min(PATH_MAX, vma_name_size)`` → ``ENAMETOOLONG``.
6. the output is copied back only up to the caller's ``size``.

Build IDs are not modelled: a query asking for one gets ``build_id_size = 0``, the
kernel's answer for a VMA without an ELF build ID.

Locking (6.18)
--------------
6.11–6.17 held ``mmap_lock`` for read around the lookup. 6.18 ("fs/proc/task_mmu:
execute PROCMAP_QUERY ioctl under per-vma locks") keeps a ``proc_maps_locking_ctx`` on
the caller's stack and, for every VMA it examines, calls ``lock_next_vma`` under RCU,
which read-locks the VMA with ``vma_start_read``:

* detached VMA (``-EAGAIN`` inside ``vma_start_read``): re-walk from the same address;
* write-locked VMA, refcount limit, VMA behind the position, or a possible false gap
  (the VMA starts above the position and ``mm_lock_seq`` moved since the walk, and a
  re-walk finds a different VMA): fall back to ``lock_next_vma_under_mmap_lock``, which
  takes ``mmap_lock`` for read only long enough to re-find and read-lock the VMA
  (so the reader waits for a writer in progress instead of reporting its transient
  state);
* ``vma_start_read_locked`` overflow there (``-EAGAIN``): the rest of the query runs
  under ``mmap_read_lock`` with plain ``find_vma``.

The previously locked VMA is dropped before the next one is looked up, and
``query_vma_teardown`` releases the VMA or ``mmap_lock`` before results are copied out.
Which path served each lookup is counted (:func:`query_statistics`); the kernel has no
such counters (``lock_next_vma`` counts no vmstat events). ``mmap_read_lock_killable``
cannot fail here: the simulator has no signals, so ``EINTR`` is never returned.

A reader pause point, ``"procmap_query:after_walk"`` (through :meth:`Mm.pause`), sits
between the RCU walk and ``vma_start_read``, where a racing writer can detach the VMA.
"""

from __future__ import annotations

import struct
import threading
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import Enum
from operator import add
from typing import TYPE_CHECKING, Final

from ._engine import ENGINE
from .abi import u32, u64
from .constants import (
    E2BIG,
    EINVAL,
    ENAMETOOLONG,
    ENOENT,
    ESRCH,
    PAGE_SHIFT,
    PAGE_SIZE,
    U64,
    VM_EXEC,
    VM_MAYSHARE,
    VM_READ,
    VM_WRITE,
)
from .errors import InvalidArgument, SyscallError
from .sched import RESCHED_MASK_SLOW, cond_resched
from .vma_lock import (
    ReadLockFailure,
    vma_end_read,
    vma_start_read,
    vma_start_read_locked,
)

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "PROCMAP_QUERY",
    "PROCMAP_QUERY_COVERING_OR_NEXT_VMA",
    "PROCMAP_QUERY_FILE_BACKED_VMA",
    "PROCMAP_QUERY_SIZE",
    "PROCMAP_QUERY_VMA_EXECUTABLE",
    "PROCMAP_QUERY_VMA_READABLE",
    "PROCMAP_QUERY_VMA_SHARED",
    "PROCMAP_QUERY_VMA_WRITABLE",
    "ProcmapQueryArgs",
    "QueryCounters",
    "QueryPath",
    "QueryStatistics",
    "VmaQueryResult",
    "do_procmap_query",
    "procmap_query",
    "procmap_query_batch",
    "query_statistics",
]

# include/uapi/linux/fs.h
PROCMAP_QUERY: Final = 0xC0686611  # _IOWR('f', 17, struct procmap_query)
PROCMAP_QUERY_VMA_READABLE: Final = 0x01
PROCMAP_QUERY_VMA_WRITABLE: Final = 0x02
PROCMAP_QUERY_VMA_EXECUTABLE: Final = 0x04
PROCMAP_QUERY_VMA_SHARED: Final = 0x08
PROCMAP_QUERY_COVERING_OR_NEXT_VMA: Final = 0x10
PROCMAP_QUERY_FILE_BACKED_VMA: Final = 0x20
# fs/proc/task_mmu.c
PROCMAP_QUERY_VMA_FLAGS: Final = 0x0F
PROCMAP_QUERY_VALID_FLAGS_MASK: Final = 0x3F

PATH_MAX: Final = 4096
_new_object = object.__new__
#: Compiled (core/_engine.py), VmaQueryResult is a native class: no instance ``__dict__``.
_COMPILED: Final = ENGINE == "compiled"
_SYSCALL = "ioctl(PROCMAP_QUERY)"

# struct procmap_query, native (little-endian) x86-64 layout: 104 bytes.
_LAYOUT = struct.Struct("<QQQQQQQQQIIIIQQ")
PROCMAP_QUERY_SIZE: Final = _LAYOUT.size
_MIN_SIZE = 24  # offsetofend(struct procmap_query, query_addr)
# (offset, end) of the input fields copy_struct_from_user may cut off.
_OFF_VMA_NAME_SIZE = (80, 84)
_OFF_BUILD_ID_SIZE = (84, 88)
_OFF_VMA_NAME_ADDR = (88, 96)
_OFF_BUILD_ID_ADDR = (96, 104)

# PROCMAP_QUERY_VMA_* bit -> vm_flags bit (query_matching_vma, do_procmap_query).
_PERM_BITS = (
    (PROCMAP_QUERY_VMA_READABLE, VM_READ),
    (PROCMAP_QUERY_VMA_WRITABLE, VM_WRITE),
    (PROCMAP_QUERY_VMA_EXECUTABLE, VM_EXEC),
    (PROCMAP_QUERY_VMA_SHARED, VM_MAYSHARE),
)


class QueryPath(Enum):
    """How the VMA a lookup returned was stabilised (6.18 ``query_vma_find_by_addr``)."""

    VMA_LOCK = "per-VMA lock taken under RCU (lock_next_vma)"
    VMA_LOCK_VIA_MMAP_LOCK = (
        "per-VMA lock taken under a brief mmap_lock read hold (lock_next_vma_under_mmap_lock)"
    )
    MMAP_LOCK = "mmap_lock held for read for the rest of the query (refcount overflow)"


@dataclass(frozen=True, slots=True)
class ProcmapQueryArgs:
    """The caller's half of ``struct procmap_query`` (what ``copy_struct_from_user`` reads).

    ``size`` is the caller's struct size (104 for the 6.11+ layout). ``vma_name_addr`` and
    ``build_id_addr`` stand for user pointers: only zero versus non-zero matters.
    ``tail`` holds the bytes the caller put after the 104-byte struct when ``size`` is
    larger (the kernel rejects any non-zero one with ``E2BIG``).
    """

    query_addr: int
    query_flags: int = 0
    size: int = PROCMAP_QUERY_SIZE
    vma_name_size: int = 0
    vma_name_addr: int = 0
    build_id_size: int = 0
    build_id_addr: int = 0
    tail: bytes = b""


@dataclass(frozen=True)
class VmaQueryResult:
    """What ``PROCMAP_QUERY`` writes back, plus the name and the lock path.

    ``vma_flags`` holds ``PROCMAP_QUERY_VMA_*`` bits (``SHARED`` = ``VM_MAYSHARE``);
    ``vma_offset``, ``inode`` and the device are those of the mapped file, 0 without one.
    ``vma_name`` is None when no name was asked for (or copied), ``""`` when the VMA has
    none; ``vma_name_size`` is its length in bytes including the NUL (0 for none).
    Fields past the caller's ``size`` keep the caller's (zero) input. ``path`` says how
    the returned VMA was locked. (No ``slots``: the engine builds results by filling
    ``__dict__``, three times faster than the frozen ``__init__``.)
    """

    vma_start: int
    vma_end: int
    vma_flags: int
    vma_page_size: int
    vma_offset: int
    inode: int
    dev_major: int
    dev_minor: int
    vma_name_size: int
    build_id_size: int
    vma_name: str | None
    path: QueryPath


@dataclass(frozen=True, slots=True)
class QueryStatistics:
    """Counters of :func:`do_procmap_query` (see :func:`query_statistics`).

    ``queries`` — calls; ``found`` — calls that returned a VMA; ``enoent`` — no match;
    ``rejected`` — ``EINVAL``/``E2BIG``/``ESRCH``/``ENAMETOOLONG``. Per VMA examined:
    ``vma_locked`` — read-locked under RCU; ``mmap_lock_assisted`` — read-locked under a
    brief ``mmap_lock`` hold (``lock_next_vma_under_mmap_lock``); ``mmap_locked`` — found
    with ``mmap_lock`` held for the rest of the query. ``detached_retries`` — walks redone
    because the VMA found was detached; ``gap_rechecks`` — re-walks made to rule out a
    false gap (the VMA starts above the position and the mm changed since the walk).
    """

    queries: int
    found: int
    enoent: int
    rejected: int
    vma_locked: int
    mmap_lock_assisted: int
    mmap_locked: int
    detached_retries: int
    gap_rechecks: int


# Counter indexes (the field order of QueryStatistics).
(
    _QUERIES,
    _FOUND,
    _ENOENT,
    _REJECTED,
    _VMA_LOCKED,
    _ASSISTED,
    _MMAP_LOCKED,
    _RETRIES,
    _RECHECKS,
) = range(len(fields(QueryStatistics)))

_NCOUNTS = len(fields(QueryStatistics))


class QueryCounters:
    """The counters of one mm's queries, or of a whole machine's (``parent`` is the
    Kernel's set: every query counts in both). One lock acquisition per query, so a
    snapshot is consistent across counters."""

    __slots__ = ("_counts", "_lock", "parent")

    def __init__(self, parent: QueryCounters | None = None) -> None:
        self._lock = threading.Lock()
        self._counts = [0] * _NCOUNTS
        self.parent = parent

    def add(self, deltas: list[int]) -> None:
        """Add one query's ``deltas`` here and in the parent. O(1)."""
        with self._lock:
            self._counts[:] = map(add, self._counts, deltas)
        if self.parent is not None:
            self.parent.add(deltas)

    def statistics(self) -> QueryStatistics:
        """A consistent snapshot. O(1)."""
        with self._lock:
            return QueryStatistics(*self._counts)

    def _check(self) -> None:
        """O(1): each query ended in exactly one outcome, and every VMA returned was
        locked by one of the three paths."""
        with self._lock:
            c = list(self._counts)
        assert c[_FOUND] + c[_ENOENT] + c[_REJECTED] == c[_QUERIES], c
        assert c[_VMA_LOCKED] + c[_ASSISTED] + c[_MMAP_LOCKED] >= c[_FOUND], c
        assert min(c) >= 0, c


def query_statistics(mm: Mm) -> QueryStatistics:
    """Counters of every query on ``mm`` (``mm.kernel.query_counts.statistics()`` for
    the whole machine). O(1)."""
    return mm.query_counts.statistics()


# -- locking (6.18 proc_maps_locking_ctx, lock_next_vma) ------------------------------------


class _EAgain:
    """``ERR_PTR(-EAGAIN)`` from ``lock_next_vma_under_mmap_lock`` (refcount overflow)."""


_EAGAIN = _EAgain()


class _LockCtx:
    """``struct proc_maps_locking_ctx``, on the caller's stack (never shared by calls)."""

    __slots__ = ("deltas", "locked_vma", "mm", "mmap_locked", "query_addr")

    def __init__(self, mm: Mm, query_addr: int) -> None:
        self.mm = mm
        self.query_addr = query_addr
        self.mmap_locked = False  # query_vma_setup(): reset_lock_ctx()
        self.locked_vma: Vma | None = None
        self.deltas = [0] * _NCOUNTS
        self.deltas[_QUERIES] = 1

    def unlock_vma(self) -> None:
        """``unlock_ctx_vma``."""
        vma = self.locked_vma
        if vma is not None:
            self.locked_vma = None
            vma_end_read(self.mm.mmap_lock, vma)

    def teardown(self) -> None:
        """``query_vma_teardown``: drop ``mmap_lock`` or the locked VMA."""
        if self.mmap_locked:
            self.mmap_locked = False
            self.mm.mmap_lock.read_unlock()
        else:
            self.unlock_vma()


def _lock_next_vma_under_mmap_lock(mm: Mm, from_addr: int) -> Vma | _EAgain | None:
    """``lock_next_vma_under_mmap_lock``: re-find the VMA under ``mmap_lock`` (read) and
    read-lock it; ``-EAGAIN`` on reference overflow. Caller holds no lock. O(log n) plus
    the wait for a writer in progress."""
    lock = mm.mmap_lock
    lock.read_lock()  # mmap_read_lock_killable(): no signals in the simulator
    try:
        vma = mm.find_vma(from_addr)
        if vma is not None and not vma_start_read_locked(lock, vma):
            return _EAGAIN
        return vma
    finally:
        lock.read_unlock()


def _lock_next_vma(ctx: _LockCtx, from_addr: int) -> Vma | _EAgain | None:
    """``lock_next_vma``: the first VMA with ``vm_end > from_addr``, read-locked.

    Caller is inside an RCU read section (it is left and re-entered around the
    ``mmap_lock`` fallback, as in the kernel). O(log n) per walk.
    """
    mm = ctx.mm
    lock = mm.mmap_lock
    rcu = mm.rcu
    tree = mm.tree
    while True:
        # Start mmap_lock speculation in case the VMA must be verified later.
        seq = lock.seq
        mmap_unlocked = not seq & 1
        entry = tree.find(from_addr)  # vma_next(vmi) from from_addr
        if entry is None:
            return None
        vma = entry[2]
        mm.pause("procmap_query:after_walk")
        failure = vma_start_read(lock, vma, mm)
        if failure is None:
            if from_addr >= vma.vm_end:
                # The VMA was shrunk (or moved) behind the position after the walk.
                break
            if from_addr < vma.vm_start and (not mmap_unlocked or lock.seq != seq):
                # It may have been shrunk with another VMA installed in front of it:
                # re-walk, so that no gap is reported that never existed.
                ctx.deltas[_RECHECKS] += 1
                again = tree.find(from_addr)
                if again is None or again[2] is not vma:
                    break
            ctx.deltas[_VMA_LOCKED] += 1
            return vma
        if failure is ReadLockFailure.DETACHED:
            ctx.deltas[_RETRIES] += 1  # -EAGAIN: replaced; search again
            continue
        # Write-locked, writer waiting (refcount limit) or recycled: fall back.
        rcu.read_unlock()
        return _fallback(ctx, from_addr)
    # fallback_unlock:
    rcu.read_unlock()
    vma_end_read(lock, vma)
    return _fallback(ctx, from_addr)


def _fallback(ctx: _LockCtx, from_addr: int) -> Vma | _EAgain | None:
    # Entered outside RCU; returns inside it, like the kernel's fallback label.
    try:
        vma = _lock_next_vma_under_mmap_lock(ctx.mm, from_addr)
    finally:
        ctx.mm.rcu.read_lock()
    if vma is not None and vma is not _EAGAIN:
        ctx.deltas[_ASSISTED] += 1
    return vma


def _query_vma_find_by_addr(ctx: _LockCtx, addr: int) -> tuple[Vma | None, QueryPath]:
    """``query_vma_find_by_addr`` (CONFIG_PER_VMA_LOCK). O(log n)."""
    mm = ctx.mm
    if ctx.mmap_locked:
        ctx.deltas[_MMAP_LOCKED] += 1
        return mm.find_vma(addr), QueryPath.MMAP_LOCK
    # Unlock the previously locked VMA and find the next one under RCU.
    ctx.unlock_vma()
    before = ctx.deltas[_ASSISTED]
    mm.rcu.read_lock()
    try:
        vma = _lock_next_vma(ctx, addr)
    finally:
        mm.rcu.read_unlock()
    if vma is None:
        return None, QueryPath.VMA_LOCK
    if not isinstance(vma, _EAgain):
        ctx.locked_vma = vma
        assisted = ctx.deltas[_ASSISTED] != before
        return vma, QueryPath.VMA_LOCK_VIA_MMAP_LOCK if assisted else QueryPath.VMA_LOCK
    # Fall back to mmap_lock on vm_refcnt overflow, for the rest of the query.
    mm.mmap_lock.read_lock()
    ctx.mmap_locked = True
    ctx.deltas[_MMAP_LOCKED] += 1
    return mm.find_vma(addr), QueryPath.MMAP_LOCK


def _query_matching_vma(ctx: _LockCtx, addr: int, flags: int) -> tuple[Vma, QueryPath]:
    """``query_matching_vma``: O(k log n) for k VMAs examined. Raises ENOENT."""
    perm = 0
    for bit, vm_bit in _PERM_BITS:
        if flags & bit:
            perm |= vm_bit
    next_ok = bool(flags & PROCMAP_QUERY_COVERING_OR_NEXT_VMA)
    file_only = bool(flags & PROCMAP_QUERY_FILE_BACKED_VMA)
    while True:
        vma, path = _query_vma_find_by_addr(ctx, addr)
        if vma is None:
            break
        matches = (not file_only or vma.vm_file is not None) and vma.vm_flags & perm == perm
        if matches and (next_ok or vma.vm_start <= addr):
            return vma, path
        # Skip it: keep iterating only if the caller accepts the next match.
        addr = vma.vm_end
        if not next_ok:
            break
    raise SyscallError(
        ENOENT,
        _SYSCALL,
        f"no VMA matches query_addr {ctx.query_addr:#x} with query_flags {flags:#x}",
    )


# -- names (get_vma_name) ------------------------------------------------------------------


def vma_name(vma: Vma) -> str | None:
    """``get_vma_name`` as ``PROCMAP_QUERY`` formats it (``d_path``: no escaping).

    Caller holds the VMA's read lock or ``mmap_lock``. O(1).
    """
    file = vma.vm_file
    if file is not None:
        if vma.anon_name is not None:
            return f"[anon_shmem:{vma.anon_name}]"
        return file.inode.display_path()
    if vma.special_name is not None:  # vm_ops->name(): [vdso], [vvar], ...
        return vma.special_name
    mm = vma.vm_mm
    start, end = vma.vm_start, vma.vm_end
    # vma_is_initial_heap(): strict comparisons, as the 6.18 host shows (docs/kernel-differences.md)
    # (docs/kernel-differences.md; core/procfs.py labels maps lines the same way).
    if start < mm.cur_brk and end > mm.start_brk:
        return "[heap]"
    if start <= mm.start_stack <= end:  # vma_is_initial_stack()
        return "[stack]"
    if vma.anon_name is not None:
        return f"[anon:{vma.anon_name}]"
    return None


# -- the ioctl -----------------------------------------------------------------------------


def _within(size: int, field: tuple[int, int], value: int) -> int:
    """``copy_struct_from_user`` zero-fills what lies beyond the caller's ``size``;
    a field cut in two keeps its low (little-endian) bytes."""
    start, end = field
    if size >= end:
        return value
    if size <= start:
        return 0
    return value & ((1 << (8 * (size - start))) - 1)


def do_procmap_query(mm: Mm, args: ProcmapQueryArgs) -> VmaQueryResult:
    """``do_procmap_query``: the ``PROCMAP_QUERY`` ioctl on ``mm``'s maps file.

    Raises :class:`~core.errors.SyscallError` with the kernel's errno and order of
    checks (module docstring), or :class:`~core.errors.InvalidArgument` for a value that
    does not fit its C field; nothing changes either way. The caller holds no lock: RCU,
    per-VMA read locks and, on contention, ``mmap_lock`` for read are taken and released
    inside. O(k log n) for the k VMAs examined (1 for a covering query).
    """
    if not isinstance(args.tail, bytes | bytearray):
        raise InvalidArgument(f"tail {args.tail!r} is not bytes")
    return _do_query(
        mm,
        u64("size", args.size),
        u64("query_flags", args.query_flags),
        u64("query_addr", args.query_addr),
        u32("vma_name_size", args.vma_name_size),
        u64("vma_name_addr", args.vma_name_addr),
        u32("build_id_size", args.build_id_size),
        u64("build_id_addr", args.build_id_addr),
        bytes(args.tail),
    )


def _reject(mm: Mm, err: int, detail: str) -> SyscallError:
    deltas = [0] * _NCOUNTS
    deltas[_QUERIES] = deltas[_REJECTED] = 1
    mm.query_counts.add(deltas)
    return SyscallError(err, _SYSCALL, detail)


def _do_query(
    mm: Mm,
    usize: int,
    flags: int,
    addr: int,
    in_name_size: int,
    in_name_addr: int,
    in_build_id_size: int,
    in_build_id_addr: int,
    tail: bytes,
) -> VmaQueryResult:
    # Argument struct can never be that large: reject abuse.
    if usize > PAGE_SIZE:
        raise _reject(mm, E2BIG, f"size {usize} exceeds PAGE_SIZE {PAGE_SIZE}")
    # It must hold at least query_flags and query_addr.
    if usize < _MIN_SIZE:
        raise _reject(mm, EINVAL, f"size {usize} is below offsetofend(query_addr) {_MIN_SIZE}")
    name_size, name_addr = in_name_size, in_name_addr
    build_id_size, build_id_addr = in_build_id_size, in_build_id_addr
    if usize < PROCMAP_QUERY_SIZE:
        # copy_struct_from_user(): what lies beyond the caller's struct reads as zero.
        name_size = _within(usize, _OFF_VMA_NAME_SIZE, name_size)
        build_id_size = _within(usize, _OFF_BUILD_ID_SIZE, build_id_size)
        name_addr = _within(usize, _OFF_VMA_NAME_ADDR, name_addr)
        build_id_addr = _within(usize, _OFF_BUILD_ID_ADDR, build_id_addr)
    elif any(tail[: usize - PROCMAP_QUERY_SIZE]):
        # ... and unknown trailing bytes of a larger struct must be zero.
        raise _reject(mm, E2BIG, f"non-zero bytes beyond the {PROCMAP_QUERY_SIZE}-byte struct")
    if flags & ~PROCMAP_QUERY_VALID_FLAGS_MASK:
        raise _reject(
            mm,
            EINVAL,
            f"query_flags {flags:#x} has unknown bits {flags & ~PROCMAP_QUERY_VALID_FLAGS_MASK:#x}",
        )
    # Either both buffer address and size are set, or both are zero.
    if bool(name_size) != bool(name_addr):
        raise _reject(
            mm,
            EINVAL,
            f"vma_name_size {name_size} and vma_name_addr {name_addr:#x} must be both zero "
            "or both non-zero",
        )
    if bool(build_id_size) != bool(build_id_addr):
        raise _reject(
            mm,
            EINVAL,
            f"build_id_size {build_id_size} and build_id_addr {build_id_addr:#x} must be both "
            "zero or both non-zero",
        )
    if mm._dead:  # mmget_not_zero() fails once the address space has exited
        raise _reject(mm, ESRCH, "the address space has exited")

    ctx = _LockCtx(mm, addr)  # query_vma_setup(): nothing locked yet
    name_requested = bool(name_size)
    name: str | None = None
    try:
        try:
            vma, path = _query_matching_vma(ctx, addr, flags)
        except SyscallError:
            ctx.deltas[_ENOENT] += 1
            raise
        vm_flags = vma.vm_flags
        out_flags = (
            (PROCMAP_QUERY_VMA_READABLE if vm_flags & VM_READ else 0)
            | (PROCMAP_QUERY_VMA_WRITABLE if vm_flags & VM_WRITE else 0)
            | (PROCMAP_QUERY_VMA_EXECUTABLE if vm_flags & VM_EXEC else 0)
            | (PROCMAP_QUERY_VMA_SHARED if vm_flags & VM_MAYSHARE else 0)
        )
        file = vma.vm_file
        if file is not None:
            inode = file.inode  # file_user_inode()
            offset = vma.vm_pgoff << PAGE_SHIFT
            major, minor = inode.dev
            ino = inode.ino
        else:
            offset = major = minor = ino = 0
        if name_requested:
            buf_size = min(PATH_MAX, name_size)
            name = vma_name(vma)
            if name is None:
                name_size = 0
            else:
                name_size = len(name.encode("utf-8", "surrogateescape")) + 1
                if name_size > buf_size:
                    ctx.deltas[_REJECTED] += 1
                    raise SyscallError(
                        ENAMETOOLONG,
                        _SYSCALL,
                        f"name {name!r} needs {name_size} bytes; the buffer has {buf_size}",
                    )
        start, end = vma.vm_start, vma.vm_end
        ctx.deltas[_FOUND] += 1
    finally:
        # Unlock the VMA or mmap_lock before copying anything to the caller.
        ctx.teardown()
        mm.query_counts.add(ctx.deltas)
    # build_id_parse() is not modelled: the answer for "no build ID" is size 0.
    if usize < PROCMAP_QUERY_SIZE:
        # copy_to_user(uarg, &karg, min(sizeof(karg), usize)): the rest of the caller's
        # struct keeps its input (zero where the outputs go).
        kernel = _LAYOUT.pack(
            usize, flags, addr, start, end, out_flags, PAGE_SIZE, offset, ino, major, minor,
            name_size, 0, name_addr, build_id_addr,
        )  # fmt: skip
        user = _LAYOUT.pack(
            usize, flags, addr, 0, 0, 0, 0, 0, 0, 0, 0,
            in_name_size, in_build_id_size, in_name_addr, in_build_id_addr,
        )  # fmt: skip
        v = _LAYOUT.unpack(kernel[:usize] + user[usize:])
        start, end, out_flags, page_size, offset, ino, major, minor = v[3:11]
        name_size, build_id_size = v[11], v[12]
    else:
        page_size = PAGE_SIZE  # vma_kernel_pagesize(): no hugetlb
        build_id_size = 0
    name_out = (name or "") if name_requested else None
    if _COMPILED:
        return VmaQueryResult(
            start, end, out_flags, page_size, offset, ino, major, minor, name_size,
            build_id_size, name_out, path,
        )  # fmt: skip
    result: VmaQueryResult = _new_object(VmaQueryResult)
    result.__dict__.update(
        vma_start=start,
        vma_end=end,
        vma_flags=out_flags,
        vma_page_size=page_size,
        vma_offset=offset,
        inode=ino,
        dev_major=major,
        dev_minor=minor,
        vma_name_size=name_size,
        build_id_size=build_id_size,
        vma_name=name_out,
        path=path,
    )
    return result


def procmap_query(
    mm: Mm,
    addr: int,
    flags: int = 0,
    *,
    want_name: bool = True,
    name_buf_size: int = PATH_MAX,
) -> VmaQueryResult:
    """Query ``mm`` for the VMA covering ``addr`` (or the next match, with
    ``PROCMAP_QUERY_COVERING_OR_NEXT_VMA``): one ``PROCMAP_QUERY`` ioctl with a full-size
    struct and, if ``want_name``, a name buffer of ``name_buf_size`` bytes.

    Raises ``SyscallError`` (``ENOENT`` when nothing matches, ``EINVAL`` for unknown
    flags, ``ESRCH`` after exit, ``ENAMETOOLONG`` when the name does not fit) or
    ``InvalidArgument`` for a non-integer. The caller holds no lock. O(k log n) for the
    k VMAs examined.

    >>> from core import Kernel
    >>> proc = Kernel().spawn(layout="typical")
    >>> r = procmap_query(proc.mm, 0x555555560123)
    >>> hex(r.vma_start), hex(r.vma_end), r.vma_flags, r.vma_name, r.vma_name_size
    ('0x555555560000', '0x555555581000', 3, '[heap]', 7)
    """
    if type(addr) is not int or not 0 <= addr < U64:
        addr = u64("addr", addr)
    if type(flags) is not int or not 0 <= flags < U64:
        flags = u64("flags", flags)
    if want_name:
        size = u32("name_buf_size", name_buf_size)
        return _do_query(mm, PROCMAP_QUERY_SIZE, flags, addr, size, 1 if size else 0, 0, 0, b"")
    return _do_query(mm, PROCMAP_QUERY_SIZE, flags, addr, 0, 0, 0, 0, b"")


def procmap_query_batch(
    mm: Mm, addrs: Sequence[int], flags: int = 0, *, want_name: bool = True
) -> list[VmaQueryResult | None]:
    """Resolve many addresses the way the kernel's selftest benchmark does
    (``resolve_addrs_ioctl`` in tools/testing/selftests/bpf/procfs_query.c).

    The addresses are visited in ascending order; each ``PROCMAP_QUERY`` (with
    ``COVERING_OR_NEXT_VMA`` added to ``flags``) returns the next matching VMA, which
    then resolves every remaining address it covers, so one query serves all addresses
    of a VMA and addresses in holes (or in VMAs ``flags`` excludes) stay None. Returns
    one entry per address, in the input order. Each query is independent (nothing is
    held between them), so under concurrent changes the answers may come from
    different moments, as with the ioctl. O(m log m + k log n) for m addresses falling
    in k distinct VMAs. The caller holds no lock.
    """
    if isinstance(addrs, str | bytes):
        raise InvalidArgument(f"addrs {addrs!r} must be a sequence of integers")
    values = list(addrs)
    # Validate in C where possible; the slow path names the offending element.
    if values and not (set(map(type, values)) == {int} and min(values) >= 0 and max(values) < U64):
        values = [u64(f"addrs[{i}]", a) for i, a in enumerate(values)]
    flags = u64("flags", flags) | PROCMAP_QUERY_COVERING_OR_NEXT_VMA
    svals = sorted(values)
    n = len(svals)
    found: list[VmaQueryResult | None] = [None] * n
    i = queries = 0
    while i < n:
        queries += 1
        if not queries & RESCHED_MASK_SLOW:
            cond_resched()  # between two ioctls: nothing held
        try:
            r = procmap_query(mm, svals[i], flags, want_name=want_name)
        except SyscallError as exc:
            if exc.errno != ENOENT:
                raise
            break  # nothing matches at or above this address: the rest stay None
        # Addresses below the VMA fell in a hole (or in VMAs the flags exclude).
        i = bisect_left(svals, r.vma_start, i)
        j = bisect_left(svals, r.vma_end, i)
        found[i:j] = [r] * (j - i)
        i = j  # > the old i: the VMA ends above the address queried
    if svals == values:
        return found
    # Back to the input order.
    order = sorted(range(n), key=values.__getitem__)
    out: list[VmaQueryResult | None] = [None] * n
    for k, res in zip(order, found, strict=True):
        out[k] = res
    return out
