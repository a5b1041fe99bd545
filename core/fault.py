"""The x86 user page-fault path: per-VMA lock fast path, ``mmap_lock`` fallback.

Design note
===========
:func:`do_user_addr_fault` follows arch/x86/mm/fault.c (6.9+) with the lock helpers of
mm/mmap_lock.c:

1. **Fast path** -- :func:`lock_vma_under_rcu`: an RCU walk of the VMA tree,
   ``vma_start_read``, then a re-check of the range. A VMA detached between walk and
   lock (``-EAGAIN``) counts ``vma_lock_miss`` and the walk is retried; a gap, a
   write-locked VMA or a VMA that no longer covers the address counts
   ``vma_lock_abort`` and the fault falls back. With the VMA read-locked,
   ``access_error`` may deliver SIGSEGV at once (counted as ``vma_lock_success``, the
   6.10 "accelerate pagefault when badaccess" behaviour); otherwise
   :func:`core.memory.handle_mm_fault` runs. ``VM_FAULT_RETRY`` counts
   ``vma_lock_retry`` and the fault is redone under ``mmap_lock``; any other result
   counts ``vma_lock_success``.
2. **Fallback** -- :func:`lock_mm_and_find_vma`: ``mmap_read_lock`` and ``find_vma``;
   below a ``VM_GROWSDOWN`` VMA the lock is dropped, retaken for write, the stack
   expanded (:func:`expand_downwards`, with the 256-page guard gap) and the lock
   downgraded. No VMA: SIGSEGV ``SEGV_MAPERR``.
3. **Accounting** -- ``mm_account_fault`` (mm/memory.c): ``pgfault`` for every
   completed fault, ``min_flt``/``maj_flt`` and ``pgmajfault`` for the successful ones.

There is one fault path. An anonymous write that finds its VMA ready (writable,
private, with an anon_vma) goes from the locked VMA straight to
:func:`core.memory.do_anonymous_page`, which is exactly where ``handle_mm_fault`` would
dispatch it after an ``access_error`` that cannot fire: the same function, two calls
fewer (the benchmarked fault). ``tests/core/test_fault_fast_path.py`` pins that both
routes give the same result.

**An entry that never waits** -- :func:`do_user_addr_fault_nowait` (``Mm.fault_nowait``),
for a caller that must not block: the service's event loop (app/service.py, "On the
event loop"). The kernel's precedent is KVM's asynchronous page fault
(virt/kvm/async_pf.c): a guest's fault is first tried with ``FOLL_NOWAIT``, which
mm/gup.c ``faultin_page`` turns into ``FAULT_FLAG_RETRY_NOWAIT`` (``handle_mm_fault``
returns ``VM_FAULT_RETRY`` instead of waiting), and only a fault that would wait is
handed to a worker (``kvm_setup_async_pf`` queues ``async_pf_execute``). Here the
attempt is the fast path of item 1 alone, one walk: ``vma_start_read`` is already a
try; with the VMA read-locked, either ``access_error`` (SIGSEGV ``SEGV_ACCERR``) or the
anonymous write of a page not yet present, :func:`core.memory.do_anonymous_page` with
``nowait`` (the page lock tried; ``VM_FAULT_RETRY`` instead of preparing an anon_vma,
taking a page out of a run, or raising ResidentLimitExceeded); a kernel address is
SIGSEGV at once, as in :func:`do_user_addr_fault`. Everything else returns None,
*declined*, before anything changed or was counted: a profile's hooks (which may charge
costs or sleep), any armed pause point (checked again at the two points the walk
passes), a gap or a write-locked or detached VMA (where :func:`lock_vma_under_rcu`
counts ABORT or MISS), whatever needs ``mmap_lock`` or would return ``VM_FAULT_RETRY``
(``handle_mm_fault``'s retry), stack expansion, file, present and read faults, a held
page lock (a checkpoint or a fork holds it over O(pages)). The caller then runs
:func:`do_user_addr_fault`, which counts what it meets itself: every event is counted
once. A completed fault counts what item 1 counts for it and returns the same result
(``misses`` 0: no walk was retried). Short locks that every holder holds for a few
operations (``vma_atomic``, the RCU domain's) are taken as everywhere.

The seam for experiments is ``Mm.hooks`` (:class:`core.hooks.ProfileHooks`, None for
every ordinary process): a locking profile may send every fault to ``mmap_lock``
(``per_vma_faults`` false, the pre-6.4 kernels), and is told when a fault starts,
when its page work runs under the fault's lock (where a cost model spends the time the
kernel spends zeroing or copying the page) and which path it completed on.

Pause points (``Mm.pause``) let tests stop a fault at ``fault:after_rcu_walk`` (VMA
found, not yet locked; still inside the RCU read section), ``fault:after_vma_lock``
(locked, range not yet re-checked), ``fault:before_anon_trylock`` (under the VMA lock,
about to ``mmap_read_trylock`` for ``anon_vma_prepare``) and ``fault:before_mmap_lock``
(about to take ``mmap_lock`` on the fallback path).

Compiled engine (``core/_engine.py``): the fast path is written for both engines. What
the compiler needs: :class:`FaultResult` writes its own ``__init__`` (a dataclass's
generated one stays interpreted Python, setting each field of a frozen class through
``object.__setattr__``: half the compiled fault's instructions), the constants it reads
are ``Final`` (folded into the code), and the VMA's bounds travel as two ints, not a
tuple. Interpreted, :func:`_ok_result` fills the instance dict directly instead.
Measured in docs/performance.md, "Compiled engine".

Simplified: kernel-mode faults, protection keys, shadow stacks, userfaultfd and hugetlb
are not modelled; a fatal signal never interrupts a fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args

from ._engine import ENGINE
from .constants import (
    ENOMEM,
    EPERM,
    MMAP_MIN_ADDR,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    STACK_GUARD_GAP,
    TASK_SIZE,
    U64,
    VM_ACCESS_FLAGS,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_SHARED,
    VM_WRITE,
)
from .errors import InvalidArgument, SyscallError
from .memory import (
    VM_FAULT_MAJOR,
    VM_FAULT_RETRY,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    do_anonymous_page,
    handle_mm_fault,
    mm_account_fault,
)
from .pages import GUARD_MARKER, run_at
from .rmap import anon_vma_prepare
from .sched import RESCHED_MASK_SLOW, cond_resched
from .vma_lock import ReadLockFailure, vma_end_read, vma_start_read, vma_start_write

if TYPE_CHECKING:
    from .hooks import ProfileHooks
    from .mm import Mm
    from .pages import PageName
    from .vma import Vma

__all__ = [
    "ACCESSES",
    "Access",
    "FaultOutcome",
    "FaultPath",
    "FaultResult",
    "SiCode",
    "TouchResult",
    "access_error",
    "do_user_addr_fault",
    "do_user_addr_fault_nowait",
    "expand_downwards",
    "lock_mm_and_find_vma",
    "lock_vma_under_rcu",
    "touch",
]

# -- the vocabulary (the one home of these words; app/ imports them) ------------------------

#: The access that faulted: a load, a store, or an instruction fetch.
Access = Literal["read", "write", "exec"]
ACCESSES: Final[tuple[Access, ...]] = get_args(Access)
#: What the faulting thread sees.
FaultOutcome = Literal["ok", "SIGSEGV", "SIGBUS"]
#: ``siginfo.si_code`` of a fault signal.
SiCode = Literal["SEGV_MAPERR", "SEGV_ACCERR", "BUS_ADRERR"]
#: Where a fault completed: ``vma_lock`` (the fast path), ``mmap_lock`` (fallback after
#: an ABORT, or every fault of a profile without per-VMA faults), ``retried``
#: (VM_FAULT_RETRY under the VMA lock, redone under mmap_lock), ``stack_expanded`` (the
#: fallback grew a VM_GROWSDOWN VMA), ``none`` (not a user address: no lock taken).
FaultPath = Literal["vma_lock", "mmap_lock", "retried", "stack_expanded", "none"]
FAULT_PATHS: Final[tuple[FaultPath, ...]] = get_args(FaultPath)

USER_ADDR_LIMIT: Final = TASK_SIZE + PAGE_SIZE  # 4-level paging: above it, no user address


# -- the result ---------------------------------------------------------------------------

#: Compiled (core/_engine.py), FaultResult is a native class: it has no instance
#: ``__dict__``, and its constructor is a C call that stores the fields.
_COMPILED: Final = ENGINE == "compiled"


@dataclass(frozen=True, init=False)
class FaultResult:
    """What one user page fault did.

    ``outcome`` with ``si_code`` for a signal; ``path`` is where it completed
    (:data:`FaultPath`); ``misses`` counts VMA_LOCK_MISS retries of the walk;
    ``vma_start``/``vma_end`` are the VMA it resolved to (None without one); ``page``
    names the page now mapped (:data:`core.pages.PageName`: ``cow`` is a private copy
    made by this fault) or None.
    """

    addr: int
    access: Access
    outcome: FaultOutcome
    si_code: SiCode | None
    path: FaultPath
    misses: int
    vma_start: int | None
    vma_end: int | None
    major: bool
    page: PageName | None

    def __init__(
        self,
        addr: int,
        access: Access,
        outcome: FaultOutcome,
        si_code: SiCode | None,
        path: FaultPath,
        misses: int,
        vma_start: int | None,
        vma_end: int | None,
        major: bool,
        page: PageName | None,
    ) -> None:
        # Written out (init=False): the dataclass's generated __init__ is interpreted
        # Python even in the compiled engine, and sets each field through
        # object.__setattr__ (about 1 µs: a third of a compiled fault). Compiled
        # (core/_engine.py), the stores below are writes to the native object's fields,
        # which no __setattr__ intercepts; interpreted, the frozen class's __setattr__
        # refuses them, and the instance dict takes the fields instead.
        if not _COMPILED:
            self.__dict__.update(
                addr=addr,
                access=access,
                outcome=outcome,
                si_code=si_code,
                path=path,
                misses=misses,
                vma_start=vma_start,
                vma_end=vma_end,
                major=major,
                page=page,
            )
            return
        self.addr = addr  # type: ignore[misc]
        self.access = access  # type: ignore[misc]
        self.outcome = outcome  # type: ignore[misc]
        self.si_code = si_code  # type: ignore[misc]
        self.path = path  # type: ignore[misc]
        self.misses = misses  # type: ignore[misc]
        self.vma_start = vma_start  # type: ignore[misc]
        self.vma_end = vma_end  # type: ignore[misc]
        self.major = major  # type: ignore[misc]
        self.page = page  # type: ignore[misc]

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def describe(self) -> str:
        """``ok`` or ``SIGSEGV SEGV_MAPERR`` -- the differential helper's format."""
        return "ok" if self.outcome == "ok" else f"{self.outcome} {self.si_code}"


# -- fast path ----------------------------------------------------------------------------


def lock_vma_under_rcu(mm: Mm, addr: int) -> tuple[Vma | None, int]:
    """``lock_vma_under_rcu`` (6.17/6.18): the read-locked VMA covering ``addr`` or
    None, and the number of MISS retries. Counts MISS and ABORT. Never blocks. O(log n)
    per walk. Caller holds nothing; on success it must ``vma_end_read``."""
    rcu = mm.rcu
    pauses = mm.pauses
    lock = mm.mmap_lock
    misses = 0
    while True:
        slot = rcu.read_lock()
        entry = mm.tree.walk(addr)
        if entry is None:
            rcu.read_unlock(slot)
            mm.vm_events.count("vma_lock_abort")
            return None, misses
        vma = entry[2]
        if pauses.active:
            mm.pause("fault:after_rcu_walk")
        failure = vma_start_read(lock, vma, mm)
        # 6.17+: vma_start_read drops RCU on failure; on success the caller does.
        rcu.read_unlock(slot)
        if failure is not None:
            if failure is ReadLockFailure.DETACHED:
                mm.vm_events.count("vma_lock_miss")
                misses += 1
                continue
            mm.vm_events.count("vma_lock_abort")
            return None, misses
        if pauses.active:
            mm.pause("fault:after_vma_lock")
        if not vma.vm_start <= addr < vma.vm_end:
            vma_end_read(lock, vma)
            mm.vm_events.count("vma_lock_abort")
            return None, misses
        return vma, misses


def access_error(access: Access, vma: Vma, present: bool) -> bool:
    """x86 ``access_error``: a write needs ``VM_WRITE``; a read or fetch needs the VMA to
    be accessible, and a fetch from a present page of a non-exec VMA is a protection
    fault (the page was mapped NX). Reading a ``-w-`` VMA succeeds. O(1)."""
    flags = vma.vm_flags
    if access == "write":
        return not flags & VM_WRITE
    if access == "exec" and present and not flags & VM_EXEC:
        return True
    return not flags & VM_ACCESS_FLAGS


# -- fallback -----------------------------------------------------------------------------


def lock_mm_and_find_vma(mm: Mm, addr: int) -> tuple[Vma | None, bool]:
    """``lock_mm_and_find_vma``: the VMA covering ``addr`` with ``mmap_lock`` held for
    read, growing a ``VM_GROWSDOWN`` VMA above a gap (write lock, then downgrade).
    Returns ``(vma, expanded)``; on ``(None, _)`` no lock is held. O(log n)."""
    lock = mm.mmap_lock
    mm.pause("fault:before_mmap_lock")
    lock.read_lock()
    vma = mm.find_vma(addr)
    if vma is not None and vma.vm_start <= addr:
        return vma, False
    if vma is None or not vma.vm_flags & VM_GROWSDOWN:
        lock.read_unlock()
        return None, False
    # Stack expansion needs the write lock; there is no upgrade.
    lock.read_unlock()
    lock.write_lock()
    vma = mm.find_vma(addr)
    if vma is not None and vma.vm_start <= addr:
        lock.write_downgrade()
        return vma, False
    if vma is None or not vma.vm_flags & VM_GROWSDOWN:
        lock.write_unlock()
        return None, False
    try:
        expand_downwards(mm, vma, addr)
    except SyscallError:
        lock.write_unlock()
        return None, False
    lock.write_downgrade()
    return vma, True


def expand_downwards(mm: Mm, vma: Vma, addr: int) -> None:
    """``expand_downwards`` (mm/mmap.c): lower ``vma``'s start to the page of ``addr``.

    Fails (SyscallError EPERM/ENOMEM) below ``mmap_min_addr``, when the previous
    accessible non-stack VMA would end up closer than ``stack_guard_gap`` (256 pages),
    past ``RLIMIT_STACK``, past ``RLIMIT_MEMLOCK`` for a locked stack, or when the
    overcommit policy refuses the new pages; only the anon_vma (prepared first, as in
    the kernel) stays. Caller holds ``mmap_lock`` for write. O(log n).
    """
    address = addr & PAGE_MASK
    if address < MMAP_MIN_ADDR:
        raise SyscallError(EPERM, "fault", f"stack growth to {address:#x} below mmap_min_addr")
    prev = mm._prev_vma(vma.vm_start)
    if (
        prev is not None
        and not prev.vm_flags & VM_GROWSDOWN
        and prev.vm_flags & VM_ACCESS_FLAGS
        and address - prev.vm_end < STACK_GUARD_GAP
    ):
        raise SyscallError(
            ENOMEM,
            "fault",
            f"stack growth to {address:#x} comes within the guard gap of the VMA "
            f"ending at {prev.vm_end:#x}",
        )
    # The anon_vma comes first: it stays even when the accounting below refuses.
    anon_vma_prepare(mm, vma)
    vma_start_write(mm.mmap_lock, vma)
    grow = (vma.vm_start - address) >> PAGE_SHIFT
    _acct_stack_growth(mm, vma, vma.vm_end - address, grow)
    vma.set_range(address, vma.vm_end, vma.vm_pgoff - grow)
    mm.tree.store(address, vma.vm_end, vma)
    mm.vm_stat_account(vma.vm_flags, grow)


def _acct_stack_growth(mm: Mm, vma: Vma, size: int, grow: int) -> None:
    # acct_stack_growth(): RLIMIT_STACK, the mlock limit of a locked stack, then the
    # overcommit charge of the new pages (always charged, "the final test"; may_expand_vm
    # is not modelled).
    from .mlock import mlock_future_ok

    if size > mm.stack_rlimit:
        raise SyscallError(
            ENOMEM, "fault", f"stack of {size:#x} bytes exceeds RLIMIT_STACK {mm.stack_rlimit:#x}"
        )
    if not mlock_future_ok(mm, vma.vm_flags, grow << PAGE_SHIFT):
        raise SyscallError(ENOMEM, "fault", "a locked stack may not grow past RLIMIT_MEMLOCK")
    if not mm.kernel.commit.enough_memory(mm, grow):
        raise SyscallError(ENOMEM, "fault", f"the overcommit policy refuses {grow} stack pages")


# -- the arch fault handler ---------------------------------------------------------------


def _result(
    addr: int,
    access: Access,
    ret: int,
    path: FaultPath,
    misses: int,
    vma: tuple[int, int] | None,
    major: bool,
    page: PageName | None,
    signal: tuple[FaultOutcome, SiCode] | None = None,
) -> FaultResult:
    if signal is None:
        if ret & VM_FAULT_SIGBUS:
            signal = ("SIGBUS", "BUS_ADRERR")
        elif ret & VM_FAULT_SIGSEGV:
            signal = ("SIGSEGV", "SEGV_MAPERR")
    start, end = vma if vma is not None else (None, None)
    if signal is None:
        return FaultResult(addr, access, "ok", None, path, misses, start, end, major, page)
    return FaultResult(addr, access, signal[0], signal[1], path, misses, start, end, False, None)


_new_result = object.__new__


def _ok_result(
    addr: int, access: Access, misses: int, start: int, end: int, page: PageName | None
) -> FaultResult:
    # The result of a fault completed under the VMA lock: same fields, in the same
    # order, as _result(..., "vma_lock"). Interpreted, built without a Python frame for
    # FaultResult.__init__: the instance dict's items are stored directly (cheaper than
    # dict.update(**kw), which builds a keyword dict first). O(1).
    if _COMPILED:
        return FaultResult(addr, access, "ok", None, "vma_lock", misses, start, end, False, page)
    result: FaultResult = _new_result(FaultResult)
    d = result.__dict__
    d["addr"] = addr
    d["access"] = access
    d["outcome"] = "ok"
    d["si_code"] = None
    d["path"] = "vma_lock"
    d["misses"] = misses
    d["vma_start"] = start
    d["vma_end"] = end
    d["major"] = False
    d["page"] = page
    return result


def _present(vma: Vma, addr: int) -> bool:
    # A guard marker is a non-present PTE (the CPU reports no X86_PF_PROT for it).
    pages = vma.pages
    if vma.runs and run_at(vma, addr & PAGE_MASK) is not None:
        return True  # a page of a run (core/pages.py)
    if not pages:
        return False
    page = pages.get(addr & PAGE_MASK)
    return page is not None and page is not GUARD_MARKER


def do_user_addr_fault(
    mm: Mm, addr: int, access: Access, *, _nx_refault: bool = False
) -> FaultResult:
    """x86 ``do_user_addr_fault`` for a user-mode fault at ``addr``.

    Takes and releases the locks itself (caller holds none). Thread-safe. O(log n).
    A fetch from a non-exec VMA runs twice, as on the CPU: the first (not-present)
    fault maps the page NX, the retried fetch (``_nx_refault``, internal) gets
    SEGV_ACCERR. The fast path is written out here rather than in a helper: one Python
    frame less on the benchmarked fault.
    """
    if type(addr) is not int and (not isinstance(addr, int) or isinstance(addr, bool)):
        raise InvalidArgument(f"fault address {addr!r} is not a 64-bit unsigned integer")
    if not 0 <= addr < U64:
        raise InvalidArgument(f"fault address {addr!r} is not a 64-bit unsigned integer")
    if access not in ACCESSES:
        raise InvalidArgument(f"fault access {access!r} is not one of read, write, exec")
    if addr >= USER_ADDR_LIMIT:
        # fault_in_kernel_space(): bad_area_nosemaphore, no lock taken.
        return _result(addr, access, 0, "none", 0, None, False, None, ("SIGSEGV", "SEGV_MAPERR"))
    hooks = mm.hooks
    if hooks is not None:
        result = _profiled_fault(mm, addr, access, hooks)
    else:
        vma, misses = lock_vma_under_rcu(mm, addr)
        if vma is None:
            result = _mmap_lock_path(mm, addr, access, "mmap_lock", misses, False)
        else:
            if access == "write" and _anon_write_ready(vma):
                # An anonymous write to a ready VMA (writable, private, with an
                # anon_vma): access_error() cannot fire, and handle_mm_fault() would
                # dispatch a not-present page to do_anonymous_page(), which cannot
                # return VM_FAULT_RETRY here. A present page takes the general route.
                page_addr = addr & PAGE_MASK
                pages = vma.pages
                if pages is None or page_addr not in pages:
                    start = vma.vm_start  # read while the VMA is locked
                    end = vma.vm_end
                    try:
                        page = do_anonymous_page(mm, vma, page_addr, True, True)[1]
                    finally:
                        vma_end_read(mm.mmap_lock, vma)
                    for bump in mm.vm_events.fast_path_bumps:
                        bump()
                    mm.min_flt += 1
                    return _ok_result(addr, access, misses, start, end, page)
            result = _vma_locked_path(mm, vma, addr, access, misses, None)
    if access == "exec" and not _nx_refault and result.ok and result.vma_start is not None:
        vma = mm.vma_lookup(addr)
        if vma is not None and not vma.vm_flags & VM_EXEC:
            # The page is now present but NX: the CPU re-executes the fetch, which
            # faults again with X86_PF_PROT and access_error() refuses it.
            return do_user_addr_fault(mm, addr, access, _nx_refault=True)
    return result


def _anon_write_ready(vma: Vma) -> bool:
    # A private anonymous VMA that is writable and has its anon_vma: a write to a page
    # not present there is do_anonymous_page()'s, with no check that can refuse it.
    return (
        vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE
        and vma.anon_vma is not None
        and vma.vm_file is None
        and vma.special_name is None
    )


def do_user_addr_fault_nowait(mm: Mm, addr: int, access: Access) -> FaultResult | None:
    """:func:`do_user_addr_fault` if it completes on the fast path without waiting, else
    None with nothing changed and nothing counted (design note, "An entry that never
    waits"): the caller then
    runs :func:`do_user_addr_fault` where it may wait. Never blocks, never raises an
    engine error (invalid input is declined: the full fault reports it). Caller holds
    no lock. O(log n)."""
    if type(addr) is not int or not 0 <= addr < U64 or access not in ACCESSES:
        return None
    if addr >= USER_ADDR_LIMIT:
        # fault_in_kernel_space(): bad_area_nosemaphore, no lock taken, nothing counted.
        return _result(addr, access, 0, "none", 0, None, False, None, ("SIGSEGV", "SEGV_MAPERR"))
    pauses = mm.pauses
    if mm.hooks is not None or pauses.active:
        return None
    # lock_vma_under_rcu(), one walk, counting nothing: every failure declines.
    lock = mm.mmap_lock
    rcu = mm.rcu
    slot = rcu.read_lock()
    entry = mm.tree.walk(addr)
    if entry is None or pauses.active:  # at fault:after_rcu_walk
        rcu.read_unlock(slot)
        return None
    vma = entry[2]
    failure = vma_start_read(lock, vma, mm)
    rcu.read_unlock(slot)
    if failure is not None:
        return None
    if pauses.active or not vma.vm_start <= addr < vma.vm_end:  # at fault:after_vma_lock
        vma_end_read(lock, vma)
        return None
    start = vma.vm_start  # read while the VMA is locked
    end = vma.vm_end
    if access == "write" and _anon_write_ready(vma):
        page_addr = addr & PAGE_MASK
        pages = vma.pages
        if pages is None or page_addr not in pages:
            try:
                ret, page = do_anonymous_page(mm, vma, page_addr, True, True, True)
            finally:
                vma_end_read(lock, vma)
            if ret:
                return None  # VM_FAULT_RETRY (FAULT_FLAG_RETRY_NOWAIT): declined
            for bump in mm.vm_events.fast_path_bumps:
                bump()
            mm.min_flt += 1
            return _ok_result(addr, access, 0, start, end, page)
    elif access_error(access, vma, _present(vma, addr)):
        vma_end_read(lock, vma)
        mm.vm_events.count("vma_lock_success")
        return _result(
            addr, access, 0, "vma_lock", 0, (start, end), False, None, ("SIGSEGV", "SEGV_ACCERR")
        )
    vma_end_read(lock, vma)
    return None


@dataclass(frozen=True)
class TouchResult:
    """What :func:`touch` did: the faults it took, how many completed (``ok``), were
    major, completed under the per-VMA lock (``vma_lock``), and the first fault that
    delivered a signal (None if none did)."""

    faults: int
    ok: int
    major: int
    vma_lock: int
    first_signal: FaultResult | None


def touch(mm: Mm, addr: int, end: int, access: Access, stop_on_signal: bool) -> TouchResult:
    """One user fault per page of ``[addr, end)`` (at ``addr``, then at each page
    boundary), in ascending order, as a program touching its memory takes them: each a
    separate :func:`do_user_addr_fault` taking and releasing its own locks, so other
    threads interleave between two pages. Stops after the first signal when
    ``stop_on_signal``. An engine error (the resident-page limit) propagates with the
    pages before it mapped. O(pages * log n).

    The loop is here, compiled with the fault path, rather than in its callers: an
    interpreted loop costs a quarter of a compiled fault per page (docs/performance.md,
    "Compiled engine")."""
    faults = ok = major = fast = 0
    first: FaultResult | None = None
    while addr < end:
        r = do_user_addr_fault(mm, addr, access)
        faults += 1
        if r.outcome == "ok":
            ok += 1
            if r.major:
                major += 1
            if r.path == "vma_lock":
                fast += 1
        else:
            if first is None:
                first = r
            if stop_on_signal:
                break
        addr = (addr | (PAGE_SIZE - 1)) + 1  # the next page boundary
        if not faults & RESCHED_MASK_SLOW:
            cond_resched()  # compiled code never gives the GIL away by itself
    return TouchResult(faults, ok, major, fast, first)


def _profiled_fault(mm: Mm, addr: int, access: Access, hooks: ProfileHooks) -> FaultResult:
    # do_user_addr_fault() for a user address under an experiment's profile.
    hooks.fault_started()
    if not hooks.per_vma_faults:
        result = _mmap_lock_path(mm, addr, access, "mmap_lock", 0, False, hooks)
    else:
        vma, misses = lock_vma_under_rcu(mm, addr)
        if vma is None:
            result = _mmap_lock_path(mm, addr, access, "mmap_lock", misses, False, hooks)
        else:
            result = _vma_locked_path(mm, vma, addr, access, misses, hooks)
    hooks.fault_finished(result.path)
    return result


def _vma_locked_path(
    mm: Mm, vma: Vma, addr: int, access: Access, misses: int, hooks: ProfileHooks | None
) -> FaultResult:
    # do_user_addr_fault() after lock_vma_under_rcu() returned ``vma`` read-locked.
    events = mm.vm_events
    rng = (vma.vm_start, vma.vm_end)
    if access_error(access, vma, _present(vma, addr)):
        vma_end_read(mm.mmap_lock, vma)
        events.count("vma_lock_success")
        return _result(
            addr, access, 0, "vma_lock", misses, rng, False, None, ("SIGSEGV", "SEGV_ACCERR")
        )
    try:
        if hooks is not None:
            hooks.fault_page_work()
        ret, page = handle_mm_fault(mm, vma, addr, access, vma_locked=True)
    finally:
        # RETRY means the handler dropped the VMA lock; here it is dropped for it.
        vma_end_read(mm.mmap_lock, vma)
    if not ret:
        # A minor fault completed under the VMA lock: vma_lock_success and pgfault.
        for bump in events.fast_path_bumps:
            bump()
        mm.min_flt += 1
        return _ok_result(addr, access, misses, rng[0], rng[1], page)
    if not ret & VM_FAULT_RETRY:
        events.count("vma_lock_success")
        major = mm_account_fault(mm, ret, tried=False)
        return _result(addr, access, ret, "vma_lock", misses, rng, major, page)
    events.count("vma_lock_retry")
    tried = bool(ret & VM_FAULT_MAJOR)  # FAULT_FLAG_TRIED
    return _mmap_lock_path(mm, addr, access, "retried", misses, tried, hooks)


def _mmap_lock_path(
    mm: Mm,
    addr: int,
    access: Access,
    path: FaultPath,
    misses: int,
    tried: bool,
    hooks: ProfileHooks | None = None,
) -> FaultResult:
    # do_user_addr_fault() from "lock_mmap:": lock_mm_and_find_vma() and retries.
    while True:
        vma, expanded = lock_mm_and_find_vma(mm, addr)
        if vma is None:
            return _result(
                addr, access, 0, path, misses, None, False, None, ("SIGSEGV", "SEGV_MAPERR")
            )
        if expanded:
            path = "stack_expanded"
        rng = (vma.vm_start, vma.vm_end)
        if access_error(access, vma, _present(vma, addr)):
            mm.mmap_lock.read_unlock()
            return _result(
                addr, access, 0, path, misses, rng, False, None, ("SIGSEGV", "SEGV_ACCERR")
            )
        try:
            if hooks is not None:
                hooks.fault_page_work()
            ret, page = handle_mm_fault(mm, vma, addr, access, vma_locked=False)
        finally:
            mm.mmap_lock.read_unlock()
        if ret & VM_FAULT_RETRY:
            tried = True
            continue
        major = mm_account_fault(mm, ret, tried)
        return _result(addr, access, ret, path, misses, rng, major, page)
