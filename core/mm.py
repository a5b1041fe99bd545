"""``struct mm_struct`` and the memory-mapping system calls.

:class:`Mm` owns the VMA tree, ``mmap_lock`` with its sequence count, and the counters
``/proc`` shows. Its public methods are the syscalls, with Linux's names, arguments and
errnos (mm/mmap.c, mm/vma.c; the errors sections of mmap(2), munmap(2), mprotect(2),
mremap(2), brk(2), mlock(2), mseal(2)): :meth:`Mm.mmap`, :meth:`Mm.munmap`,
:meth:`Mm.mprotect`, :meth:`Mm.mremap`, :meth:`Mm.brk`, :meth:`Mm.mlock`,
:meth:`Mm.mlock2`, :meth:`Mm.munlock`, :meth:`Mm.mlockall`, :meth:`Mm.munlockall`,
:meth:`Mm.mseal` and :meth:`Mm.set_anon_name` (the body of
``prctl(PR_SET_VMA_ANON_NAME)``, see :meth:`core.process.Process.prctl`). A failing
call raises :class:`~core.errors.SyscallError`; an argument that is not an integer
raises :class:`~core.errors.InvalidArgument` before anything is locked.

Each syscall takes ``mmap_lock`` for write for its whole duration, like the kernel, and
munmap and brk-shrink downgrade it to read after the clearing store (``unlock=true`` in
``do_vmi_align_munmap``). The VMA-level work lives in :mod:`core.vma_ops`; address
selection in :mod:`core.unmapped_area`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

from .abi import u64
from .constants import (
    DEFAULT_MEMLOCK_RLIMIT,
    DEFAULT_MMAP_BASE,
    EINVAL,
    ENOMEM,
    MAP_ANONYMOUS,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_NONBLOCK,
    MAP_POPULATE,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    TASK_SIZE,
    U64,
    VM_ACCOUNT,
    VM_DATA_DEFAULT_FLAGS,
    VM_EXEC,
    VM_LOCKED,
    VM_LOCKED_MASK,
    VM_LOCKONFAULT,
    VM_SHARED,
    VM_STACK,
    VM_WRITE,
)
from .errors import InvalidArgument, SyscallError
from .fault import do_user_addr_fault, do_user_addr_fault_nowait
from .files import FdTable
from .gup import mm_populate
from .madvise import MadviseCounters, MadviseStatistics, do_madvise
from .maps_memo import MapsMemo
from .mmap import do_mmap, hugetlb_page_size
from .mmap_lock import SEQ_MASK, MmapLock
from .pages import PageKind, check_vma_pages, count_rss
from .pause import PauseRegistry
from .procmap_query import QueryCounters
from .sched import RESCHED_MASK, cond_resched
from .unmapped_area import vm_start_gap
from .vma import Vma, poison
from .vma_lock import vma_mark_detached, vma_start_write
from .vma_ops import (
    VMA_FREE_WORK,
    MergeRange,
    complete_munmap_vmas,
    gather_munmap_vmas,
    merge_new_range,
    store_new,
)
from .vma_tree import VmaTree
from .vmstat import VmEvents

if TYPE_CHECKING:
    from .fault import Access, FaultResult
    from .files import OpenFile
    from .hooks import ProfileHooks
    from .kernel import Kernel

_log = logging.getLogger(__name__)


class Mm:
    """One address space (``struct mm_struct``). Thread-safe: every syscall serialises on
    ``mmap_lock``; lock-free readers use :attr:`tree` under RCU."""

    def __init__(self, kernel: Kernel, mmap_base: int = DEFAULT_MMAP_BASE) -> None:
        self.kernel = kernel
        self.fs = kernel.fs
        self.rcu = kernel.rcu
        #: The machine's page-table lock (core/pages.py), one per Kernel.
        self.page_lock = kernel.page_lock
        self.mmap_lock = MmapLock()
        self.tree: VmaTree[Vma] = VmaTree()
        self.map_count = 0
        # Layout (arch_pick_mmap_layout without randomisation): top-down from
        # TASK_SIZE - 128 MiB; the legacy base is TASK_UNMAPPED_BASE.
        self.mmap_base = mmap_base
        self.mmap_legacy_base = (TASK_SIZE // 3 + PAGE_SIZE - 1) & PAGE_MASK
        self.start_brk = self.cur_brk = 0x555555559000
        self.start_stack = 0
        # The program's code and data and the strings on the stack, as execve (or an
        # imported layout) set them: VmExe and statm's text come from start/end_code.
        self.start_code = self.end_code = self.start_data = self.end_data = 0
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.def_flags = 0
        # vm_stat_account counters, in pages.
        self.total_vm = 0
        self.data_vm = 0
        self.exec_vm = 0
        self.stack_vm = 0
        self.locked_vm = 0
        self.hiwater_vm = 0
        self.cap_sys_rawio = False
        # The credentials the memory syscalls consult, as this host's root has them
        # (CapEff 0x1fffeffffff: every capability but CAP_SYS_RESOURCE): CAP_IPC_LOCK
        # lifts RLIMIT_MEMLOCK (mm/mlock.c), CAP_SYS_ADMIN the admin reserve of
        # overcommit mode 2 (mm/util.c), CAP_SYS_RESOURCE would allow raising a hard
        # limit (kernel/sys.c do_prlimit). The kernel keeps them per task; a process
        # here has one thread, so they live with its mm and fork copies them.
        self.cap_ipc_lock = True
        self.cap_sys_admin = True
        self.cap_sys_resource = False
        #: RLIMIT_MEMLOCK (soft, hard) in bytes (``ulimit -l`` on this host: 8192 kB).
        self.rlimit_memlock = (DEFAULT_MEMLOCK_RLIMIT, DEFAULT_MEMLOCK_RLIMIT)
        self.show_gate = True  # the x86-64 [vsyscall] gate VMA line at the end of maps
        self.fd_table = FdTable()  # replaced by the owning Process
        self.current_syscall = ""
        self._downgraded = False
        #: Named pause points (core/pause.py); ``pause()`` costs one bool test unless armed.
        self.pauses = PauseRegistry()
        #: An experiment's locking profile and cost model (core/hooks.py); None: the
        #: 6.18 fault path and no modelled costs.
        self.hooks: ProfileHooks | None = None
        # Generation of the layout: bumped by a write-lock cycle that stored into the
        # tree, moved the break, or changed VMA flags in place (see _write_cycle_end).
        self.generation = 0
        self._cycle_version: object = None
        self._cycle_brk = 0
        self._cycle_dirty = False
        #: The last validated overview's sums (``core.maps_overview``), reused while
        #: ``generation`` is theirs; one immutable object, replaced by one store.
        self.overview_cache: object = None
        #: The leaves' maps lines between renders and the VMAs changed in place since
        #: the last one (core/maps_memo.py).
        self.maps_memo = MapsMemo()
        #: Test/recorder hook, ``fn(mm, seq_after)``: run by every writer just before
        #: ``mmap_write_unlock``/``downgrade`` publishes the even count ``seq_after``,
        #: with the write lock held (the tree is the layout that count will stand for).
        self.on_write_unlock: Callable[[Mm, int], object] | None = None
        self.write_unlock_hook_errors = 0
        self.mmap_lock.on_write_locked = self._write_cycle_begin
        self.mmap_lock.on_write_unlocking = self._write_cycle_end
        self._dead = False
        # Pages and faults (core/pages.py, core/fault.py): rss_stat is indexed by
        # MM_FILEPAGES/MM_ANONPAGES/MM_SWAPENTS/MM_SHMEMPAGES and changed under PAGE_LOCK.
        self.rss_stat = [0, 0, 0, 0]
        self.hiwater_rss = 0
        self.min_flt = 0
        self.maj_flt = 0
        self.vm_events = VmEvents(kernel.vm_events)
        self.query_counts = QueryCounters(kernel.query_counts)  # PROCMAP_QUERY
        # A C-level callable (no Python frame on the fault path): reads the field the
        # validated Kernel.max_resident_pages property sets.
        self.resident_limit: Callable[[], int | None] = partial(
            getattr, kernel, "_max_resident_pages"
        )
        # The machine's resident pages (Kernel.resident, shared by every mm) and its
        # RAM in pages (a C-level callable, like resident_limit).
        self.machine_resident = kernel.resident
        self.ram_pages: Callable[[], int] = partial(getattr, kernel.commit, "ram_pages")
        self.stack_rlimit = 8 << 20  # RLIMIT_STACK soft limit (ulimit -s 8192)
        self.old_ptes: set[int] = set()  # addresses of PTEs without the young bit (fork)
        #: Addresses of anonymous PTEs whose dirty bit MADV_FREE cleared (core/pages.py).
        self.clean_ptes: set[int] = set()
        #: Addresses of shmem PTEs dirtied by a write through a writable PTE (the folio
        #: is dirtied when the PTE goes away; core/pages.py).
        self.dirty_ptes: set[int] = set()
        #: madvise calls by the lock they took (core/madvise.py).
        self.madvise_counts = MadviseCounters(kernel.madvise_counts)

    # -- sysctl ---------------------------------------------------------------------------

    @property
    def max_map_count(self) -> int:
        """``vm.max_map_count`` in force (the kernel reads the sysctl each time)."""
        return self.kernel.max_map_count

    # -- locking helpers ------------------------------------------------------------------

    @contextmanager
    def _write_locked(self, syscall: str) -> Iterator[None]:
        """``mmap_write_lock`` for one syscall; releases whatever mode the body left."""
        self.mmap_lock.write_lock()
        self.current_syscall = syscall
        try:
            yield
        finally:
            # Only this thread may reset the flag: it still holds the lock (write or,
            # after a downgrade, read, which no writer can share).
            downgraded, self._downgraded = self._downgraded, False
            if downgraded:
                self.mmap_lock.read_unlock()
            else:
                self.mmap_lock.write_unlock()

    def _downgrade(self) -> None:
        self.mmap_lock.write_downgrade()
        self._downgraded = True

    def pause(self, name: str) -> None:
        """A named pause point (:mod:`core.pause`). O(1) and allocation-free unless a
        point is armed; then the registry may park the calling thread (bounded)."""
        pauses = self.pauses
        if pauses.active:
            pauses.hit(name, self.current_syscall)

    @property
    def _pause_hook(self) -> Callable[[Mm, str], object] | None:
        """Older interface: ``mm._pause_hook = fn`` calls ``fn(mm, name)`` at every point."""
        return getattr(self, "_legacy_pause_hook", None)

    @_pause_hook.setter
    def _pause_hook(self, fn: Callable[[Mm, str], object] | None) -> None:
        self._legacy_pause_hook = fn
        self.pauses.set_hook(None if fn is None else partial(fn, self))

    def _write_cycle_begin(self) -> None:
        # mmap_lock.on_write_locked: remember what the layout looked like.
        self._cycle_version = self.tree.version
        self._cycle_brk = self.cur_brk
        self._cycle_dirty = False

    def _write_cycle_end(self) -> None:
        # mmap_lock.on_write_unlocking: still write-locked, count still odd.
        if (
            self._cycle_dirty
            or self.tree.version is not self._cycle_version
            or self.cur_brk != self._cycle_brk
        ):
            self.generation += 1
        self._cycle_dirty = False
        self._cycle_version = None
        hook = self.on_write_unlock
        if hook is not None:
            try:
                hook(self, (self.mmap_lock.seq + 1) & SEQ_MASK)
            except Exception:  # the unlock must happen whatever a recorder does
                self.write_unlock_hook_errors += 1
                _log.exception("on_write_unlock hook %r raised", hook)

    def free_vma(self, vma: Vma) -> None:
        """``vm_area_free`` via ``call_rcu``: poisoned after every current reader left."""
        self.rcu.call_rcu(partial(poison, vma))

    # -- accounting -----------------------------------------------------------------------

    def vm_stat_account(self, flags: int, npages: int) -> None:
        """``vm_stat_account``: total/exec/stack/data counters (caller holds write lock)."""
        self.total_vm += npages
        if self.total_vm > self.hiwater_vm:
            self.hiwater_vm = self.total_vm
        if flags & VM_EXEC and not flags & VM_WRITE and not flags & VM_STACK:
            self.exec_vm += npages
        elif flags & VM_STACK:
            self.stack_vm += npages
        elif flags & VM_WRITE and not flags & VM_SHARED:
            self.data_vm += npages
        if flags & VM_LOCKED:
            self.locked_vm += npages

    def unaccount_pages(self, vma: Vma) -> None:
        """Drop the resident pages of a VMA being unmapped (``zap_page_range``): RSS
        counters and mapcounts go down. O(pages of the VMA)."""
        from .pages import zap_vma_pages

        zap_vma_pages(self, vma)

    def get_rss(self) -> int:
        """``get_mm_rss``: resident pages (file + anon + shmem). O(1)."""
        stat = self.rss_stat
        return stat[0] + stat[1] + stat[3]

    # -- page faults ----------------------------------------------------------------------

    def fault(self, addr: int, access: Access) -> FaultResult:
        """A user page fault at ``addr`` for ``access`` (``"read"``, ``"write"`` or
        ``"exec"``), as x86 ``do_user_addr_fault`` handles it: per-VMA lock first,
        ``mmap_lock`` fallback. Caller holds no lock. O(log n). See :mod:`core.fault`."""
        return do_user_addr_fault(self, addr, access)

    def fault_nowait(self, addr: int, access: Access) -> FaultResult | None:
        """:meth:`fault` if it completes on the per-VMA-lock fast path without waiting,
        else None with nothing changed or counted (then call :meth:`fault`). Never
        blocks. O(log n). See :func:`core.fault.do_user_addr_fault_nowait`."""
        return do_user_addr_fault_nowait(self, addr, access)

    # -- lookups (caller holds mmap_lock in some mode, or accepts RCU semantics) ----------

    def find_vma(self, addr: int) -> Vma | None:
        """``find_vma``: first VMA with ``vm_end > addr``. O(log n)."""
        entry = self.tree.find(addr)
        return entry[2] if entry is not None else None

    def vma_lookup(self, addr: int) -> Vma | None:
        """``vma_lookup``: the VMA containing ``addr``. O(log n)."""
        entry = self.tree.walk(addr)
        return entry[2] if entry is not None else None

    def _prev_vma(self, addr: int) -> Vma | None:
        entry = self.tree.prev(addr)
        return entry[2] if entry is not None else None

    def vmas(self) -> list[Vma]:
        """Every VMA in address order (one tree version). O(n)."""
        return [entry[2] for entry in self.tree.iter_from(0)]

    # -- mmap -----------------------------------------------------------------------------

    def mmap(
        self, addr: int, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0
    ) -> int:
        """``mmap(2)``: returns the mapping's address. Takes ``mmap_lock`` for write.

        O(log n) plus O(k log n) for k VMAs replaced by ``MAP_FIXED``.
        """
        addr = u64("addr", addr)
        length = u64("length", length)
        prot = u64("prot", prot)
        flags = u64("flags", flags)
        offset = u64("offset", offset)
        if not isinstance(fd, int) or isinstance(fd, bool):
            raise InvalidArgument(f"fd {fd!r} is not an integer")
        # x86 sys_mmap: the offset must be page aligned before anything else.
        if offset & ~PAGE_MASK:
            raise SyscallError(EINVAL, "mmap", f"offset {offset:#x} is not page aligned")
        file: OpenFile | None = None
        huge = 0
        if not flags & MAP_ANONYMOUS:  # ksys_mmap_pgoff looks the fd up first
            file = self.fd_table.get(fd, "mmap")
            if flags & MAP_HUGETLB:
                raise SyscallError(EINVAL, "mmap", "MAP_HUGETLB on a file outside hugetlbfs")
        elif flags & MAP_HUGETLB:
            # ksys_mmap_pgoff(): anonymous MAP_HUGETLB maps a new hugetlbfs file, its
            # length rounded up to the huge page size (core/mmap.py, "hugetlb").
            huge = hugetlb_page_size(flags)
            length = (length + huge - 1) & ~(huge - 1) & (U64 - 1)
        with self._write_locked("mmap"):
            addr = do_mmap(self, file, addr, length, prot, flags, offset >> PAGE_SHIFT, huge)
        # vm_mmap_pgoff(): populate after mmap_write_unlock, when do_mmap asked for it
        # (a VM_LOCKED mapping, or MAP_POPULATE without MAP_NONBLOCK).
        locked = flags & MAP_LOCKED or self.def_flags & VM_LOCKED
        if locked or flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE:
            mm_populate(self, addr, length)
        return addr

    # -- munmap ---------------------------------------------------------------------------

    def munmap(self, addr: int, length: int) -> None:
        """``munmap(2)``. Takes ``mmap_lock`` for write, downgraded to read once the range
        is cleared. O(k log n) for k VMAs removed."""
        addr = u64("addr", addr)
        length = u64("length", length)
        with self._write_locked("munmap"):
            self.do_munmap(addr, length, downgrade=True)

    def do_munmap(self, start: int, length: int, downgrade: bool = False) -> None:
        """``do_vmi_munmap``: validate, gather (splits), clear in one store, complete.

        Caller holds ``mmap_lock`` for write; with ``downgrade`` it holds it for read on
        return.
        """
        if start & ~PAGE_MASK or start > TASK_SIZE or length > TASK_SIZE - start:
            raise SyscallError(
                EINVAL, self.current_syscall, f"range {start:#x}+{length:#x} is invalid"
            )
        end = start + ((length + PAGE_SIZE - 1) & PAGE_MASK)
        if end == start:
            raise SyscallError(EINVAL, self.current_syscall, "length is 0")
        first = self.tree.find_intersection(start, end)
        if first is None:
            return
        gathered = gather_munmap_vmas(self, first[2], start, end)
        self.pause("munmap:before_clear")
        # vma_iter_clear_gfp(): the hole appears atomically for RCU readers.
        self.tree.store(start, end, None)
        if downgrade:
            self._downgrade()
        complete_munmap_vmas(self, gathered)

    # -- mprotect -----------------------------------------------------------------------

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """``mprotect(2)``: left to right; a failure part-way leaves earlier VMAs changed,
        as in the kernel. Takes ``mmap_lock`` for write. O(k log n). See
        :mod:`core.mprotect`."""
        from .mprotect import do_mprotect_pkey

        do_mprotect_pkey(self, u64("addr", addr), u64("length", length), u64("prot", prot))

    # -- mremap ---------------------------------------------------------------------------

    def mremap(
        self, old_addr: int, old_len: int, new_len: int, flags: int, new_addr: int = 0
    ) -> int:
        """``mremap(2)``: shrink, grow in place, or move (6.17+: a ``MREMAP_FIXED`` move of
        unchanged length may span several VMAs). Returns the (new) address. Takes
        ``mmap_lock`` for write. O(k log n). See :mod:`core.mremap`."""
        from .mremap import do_mremap

        return do_mremap(
            self,
            u64("old_addr", old_addr),
            u64("old_len", old_len),
            u64("new_len", new_len),
            u64("flags", flags),
            u64("new_addr", new_addr),
        )

    # -- madvise --------------------------------------------------------------------------

    def madvise(self, addr: int, length: int, advice: int) -> None:
        """``madvise(2)``: ``advice`` (a ``MADV_*`` value) on ``[addr, addr + length)``.

        Takes ``mmap_lock`` for write for advice that changes VMA flags, for read for
        REMOVE/WILLNEED/COLD/PAGEOUT/POPULATE_*/COLLAPSE/GUARD_*, and a per-VMA read lock
        for DONTNEED/DONTNEED_LOCKED/FREE within one VMA (``mmap_lock`` for read
        otherwise); :meth:`madvise_statistics` counts them. A hole in the range is
        ENOMEM after the mapped parts were advised. O(k log n + pages). See
        :mod:`core.madvise`."""
        advice = u64("advice", advice)
        # The advice is a C int: the kernel sees the low 32 bits, sign-extended.
        advice = (advice & 0xFFFFFFFF) - ((advice & 0x80000000) << 1)
        do_madvise(self, u64("addr", addr), u64("length", length), advice)

    def madvise_statistics(self) -> MadviseStatistics:
        """madvise calls of this mm by the lock they ran under. O(1)."""
        return self.madvise_counts.statistics()

    # -- mlock, mseal, anonymous names (mm/mlock.c, mm/mseal.c, mm/madvise.c) ----------

    def mlock(self, addr: int, length: int) -> None:
        """``mlock(2)``: lock ``[addr & PAGE_MASK, PAGE_ALIGN(addr + length))`` and fault
        it in. Takes ``mmap_lock`` for write, then for read to populate. See
        :mod:`core.mlock` for the errnos and partial effects. O(k log n + pages)."""
        from .constants import VM_LOCKED
        from .mlock import do_mlock

        do_mlock(self, u64("addr", addr), u64("length", length), VM_LOCKED, "mlock")

    def mlock2(self, addr: int, length: int, flags: int = 0) -> None:
        """``mlock2(2)``: ``mlock`` with ``MLOCK_ONFAULT`` (lock without faulting in:
        ``VM_LOCKONFAULT``, smaps ``lf``). EINVAL for other flags. Same locking as
        :meth:`mlock`."""
        from .mlock import do_mlock, sys_mlock2_flags

        vm_flags = sys_mlock2_flags(u64("flags", flags))
        do_mlock(self, u64("addr", addr), u64("length", length), vm_flags, "mlock2")

    def munlock(self, addr: int, length: int) -> None:
        """``munlock(2)``: clear ``VM_LOCKED``/``VM_LOCKONFAULT`` in the range (ENOMEM at
        a hole, after the VMAs before it). Takes ``mmap_lock`` for write. O(k log n)."""
        from .mlock import do_munlock

        do_munlock(self, u64("addr", addr), u64("length", length))

    def mlockall(self, flags: int) -> None:
        """``mlockall(2)`` with ``MCL_CURRENT``/``MCL_FUTURE``/``MCL_ONFAULT``. Takes
        ``mmap_lock`` for write, then populates everything. O(n log n + pages)."""
        from .mlock import do_mlockall

        do_mlockall(self, u64("flags", flags))

    def munlockall(self) -> None:
        """``munlockall(2)``: unlock every VMA and forget ``MCL_FUTURE``. Takes
        ``mmap_lock`` for write. O(n log n)."""
        from .mlock import do_munlockall

        do_munlockall(self)

    def mseal(self, addr: int, length: int, flags: int = 0) -> None:
        """``mseal(2)``: seal the range against munmap, mprotect, mremap and
        discarding madvise (EPERM from then on). Takes ``mmap_lock`` for write.
        O(k log n). See :mod:`core.mseal`."""
        from .mseal import do_mseal

        do_mseal(self, u64("addr", addr), u64("length", length), u64("flags", flags))

    def set_anon_name(self, addr: int, size: int, name: str | bytes | None) -> None:
        """``prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, size, name)`` on a kernel built
        with ``CONFIG_ANON_VMA_NAME``: name the anonymous memory of the range (``None``
        clears it). The name is checked before ``mmap_lock`` is taken for write.
        O(k log n). See :mod:`core.anon_name` (and ``Process.prctl``, which also
        honours ``Kernel.config_anon_vma_name``)."""
        from .anon_name import madvise_set_anon_name, validate_anon_name

        addr = u64("addr", addr)
        size = u64("size", size)
        checked = validate_anon_name(name)
        with self._write_locked("prctl"):
            madvise_set_anon_name(self, addr, size, checked)

    # -- brk ------------------------------------------------------------------------------

    def brk(self, brk: int) -> int:
        """``brk(2)``: returns the new break, or the old one on any failure (never an
        errno). Takes ``mmap_lock`` for write. O(log n)."""
        brk = u64("brk", brk)
        with self._write_locked("brk"):
            origbrk = self.cur_brk
            if brk < self.start_brk:
                return origbrk
            newbrk = (brk + PAGE_SIZE - 1) & PAGE_MASK
            oldbrk = (self.cur_brk + PAGE_SIZE - 1) & PAGE_MASK
            if newbrk >= U64 or newbrk > TASK_SIZE:
                return origbrk
            if oldbrk == newbrk:
                self.cur_brk = brk
                return brk
            if brk <= self.cur_brk:
                # Always allow shrinking brk.
                entry = self.tree.find_intersection(newbrk, oldbrk)
                if entry is None or entry[0] >= oldbrk:
                    return origbrk
                self.cur_brk = brk
                try:
                    self.do_munmap(newbrk, oldbrk - newbrk, downgrade=True)
                except SyscallError:
                    self.cur_brk = origbrk
                    return origbrk
                return brk
            # check_brk_limits(): MCL_FUTURE may not lock past RLIMIT_MEMLOCK.
            from .mlock import mlock_future_ok

            if not mlock_future_ok(self, self.def_flags, newbrk - oldbrk):
                return origbrk
            # Only the next VMA's guard gap can block the growth.
            nxt = self.find_vma(oldbrk)
            if nxt is not None and newbrk + PAGE_SIZE > vm_start_gap(nxt):
                return origbrk
            brkvma = self._prev_vma(oldbrk)
            if brkvma is not None and brkvma.vm_start < self.start_brk:
                brkvma = None
            self.pause("brk:before_expand")
            try:
                self._do_brk_flags(brkvma, oldbrk, newbrk - oldbrk)
            except SyscallError:
                return origbrk
            self.cur_brk = brk
        # After mmap_write_unlock: an MCL_FUTURE heap is faulted in (brk(2) populate).
        if self.def_flags & VM_LOCKED:
            mm_populate(self, oldbrk, newbrk - oldbrk)
        return brk

    def _do_brk_flags(self, vma: Vma | None, addr: int, length: int, extra: int = 0) -> None:
        # extra: VM_EXEC for vm_brk_flags() of an executable ELF segment's bss.
        flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | self.def_flags | extra
        if self.map_count > self.max_map_count:
            raise SyscallError(ENOMEM, "brk", "map_count exceeds max_map_count")
        if not self.kernel.commit.enough_memory(self, length >> PAGE_SHIFT):
            raise SyscallError(ENOMEM, "brk", "the overcommit policy refuses the growth")
        if vma is not None and vma.vm_end == addr:
            merged = merge_new_range(
                self,
                MergeRange(
                    addr,
                    addr + length,
                    addr >> PAGE_SHIFT,
                    flags,
                    None,
                    None,
                    None,
                    vma,
                    None,
                ),
                just_expand=True,
            )
            if merged is not None:
                self.vm_stat_account(flags, length >> PAGE_SHIFT)
                return
        new = Vma.new(self, addr, addr + length, flags, addr >> PAGE_SHIFT)
        store_new(self, new)
        self.vm_stat_account(flags, length >> PAGE_SHIFT)

    # -- teardown -------------------------------------------------------------------------

    def exit_mmap(self) -> None:
        """``exit_mmap``: unmap everything (process exit). Takes ``mmap_lock`` for write."""
        with self._write_locked("exit"):
            for n, vma in enumerate(self.vmas(), 1):
                vma_start_write(self.mmap_lock, vma)
                if not n & RESCHED_MASK:
                    cond_resched()
            vmas = self.vmas()
            for n, vma in enumerate(vmas, 1):
                vma_mark_detached(self.mmap_lock, vma)
                if not n & RESCHED_MASK:
                    cond_resched()
            self.tree.store(0, U64, None)
            self.map_count = 0
            accounted = work = 0
            for vma in vmas:
                if vma.vm_flags & VM_ACCOUNT:
                    accounted += vma.pages_count
                work += VMA_FREE_WORK + len(vma.pages or ())
                self.unaccount_pages(vma)
                self.free_vma(vma)
                if work > RESCHED_MASK:
                    work = 0
                    cond_resched()  # unmap_vmas(): between two VMAs (page lock dropped)
            self.kernel.commit.unacct(accounted)  # exit_mmap(): vm_unacct_memory()
            self.total_vm = self.data_vm = self.exec_vm = self.stack_vm = self.locked_vm = 0
            self._dead = True

    # -- /proc ----------------------------------------------------------------------------

    def maps(self) -> str:
        """The text of ``/proc/<pid>/maps``, read under ``mmap_lock`` for read (always
        consistent). O(n); unchanged VMAs reuse their cached line."""
        from .procfs import render_maps

        self.mmap_lock.read_lock()
        try:
            return render_maps(self)
        finally:
            self.mmap_lock.read_unlock()

    def _check(self) -> None:
        """O(n): the tree's invariants, and the mm's own (VMA fields agree with the tree
        ranges, map_count, lock state) while no writer runs."""
        self.tree._check()
        count = 0
        prev_end = 0
        for start, end, vma in self.tree.iter_from(0):
            assert vma.vm_start == start and vma.vm_end == end, (vma, start, end)
            assert start >= prev_end and start < end, (start, end, prev_end)
            assert start & ~PAGE_MASK == 0 and end & ~PAGE_MASK == 0, vma
            assert vma.vm_refcnt >= 1, vma
            assert vma.vm_mm is self
            # VM_LOCKONFAULT only ever comes with VM_LOCKED (mlock2, mlockall).
            assert vma.vm_flags & VM_LOCKED_MASK != VM_LOCKONFAULT, vma
            check_vma_pages(vma)
            prev_end = end
            count += 1
        assert count == self.map_count, (count, self.map_count)
        assert self.locked_vm >= 0, self.locked_vm
        rss = count_rss(self.vmas())
        assert rss == self.rss_stat, (rss, self.rss_stat)
        # PTE bits (core/pages.py) only for mapped entries: an old PTE of any entry, a
        # clean one of an anonymous page, a dirty one of a shmem page.
        for bits, kinds in (
            (self.old_ptes, None),
            (self.clean_ptes, (PageKind.ANON,)),
            (self.dirty_ptes, (PageKind.SHMEM,)),
        ):
            for addr in bits:
                owner = self.vma_lookup(addr)
                page = (owner.pages or {}).get(addr) if owner is not None else None
                assert page is not None, ("PTE bits of an empty PTE", hex(addr))
                assert kinds is None or page.kind in kinds, (hex(addr), page)
