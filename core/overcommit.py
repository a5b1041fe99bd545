"""Overcommit: the machine's commit charge and the policy that admits it (mm/util.c).

Design note
===========
Linux charges every mapping that may need fresh memory later -- private writable
memory (``VM_ACCOUNT``, ``accountable_mapping`` in mm/vma.c) and shmem objects -- to one
machine-wide counter, ``vm_committed_as`` (``Committed_AS`` in /proc/meminfo), when the
mapping is created or grows, and gives it back when it is unmapped or stops being
accountable. Every charge first asks ``__vm_enough_memory`` (through
``security_vm_enough_memory_mm``) whether the policy ``vm.overcommit_memory`` admits it:

* ``OVERCOMMIT_GUESS`` (0, the default): a single request larger than RAM plus swap
  fails; nothing else is checked (``Committed_AS`` is not even read). A 64 GiB private
  writable ``mmap`` on this 23.5 GiB host fails with ENOMEM, a 20 GiB one succeeds.
* ``OVERCOMMIT_ALWAYS`` (1): everything is admitted.
* ``OVERCOMMIT_NEVER`` (2): the charge must keep ``Committed_AS`` below
  ``vm_commit_limit()`` = ``overcommit_kbytes`` (or RAM x ``overcommit_ratio`` %) plus
  swap, less ``admin_reserve_kbytes`` for a caller without CAP_SYS_ADMIN and less
  min(total_vm / 32, ``user_reserve_kbytes``) for any process. ``MAP_NORESERVE`` is
  ignored in this mode (``do_mmap``).

The charge is taken before the check and dropped again when the check fails, as
``__vm_enough_memory`` does (``vm_acct_memory`` then ``vm_unacct_memory``). The callers
are the kernel's: ``mmap_region`` (the pages not already charged to the VMAs a
``MAP_FIXED`` mapping replaces), shared anonymous memory (``shmem_acct_size``),
``mprotect`` making unaccounted private memory writable, ``mremap`` growth and moves,
``brk`` and ``fork`` (every accounted VMA is charged again for the child). Unmapping,
``exit`` and ``mprotect`` to read-only of unfaulted anonymous memory uncharge.

The simulated machine starts with nothing committed: ``Committed_AS`` counts only
simulated processes. Its RAM and swap are settings (defaults: this host's
``MemTotal``/``SwapTotal``, see :mod:`core.constants`), so the same trace gives the same
answer on any machine. The lock is a leaf: it is taken with any mmap_lock held and
nothing is taken under it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .constants import (
    DEFAULT_ADMIN_RESERVE_KB,
    DEFAULT_OVERCOMMIT_RATIO,
    DEFAULT_USER_RESERVE_KB,
    HOST_MEMTOTAL_KB,
    HOST_SWAPTOTAL_KB,
    OVERCOMMIT_ALWAYS,
    OVERCOMMIT_GUESS,
    OVERCOMMIT_NEVER,
    PAGE_SHIFT,
)
from .errors import InvalidArgument

if TYPE_CHECKING:
    from .mm import Mm

__all__ = ["CommitStatistics", "VmCommit"]

_KB_SHIFT = PAGE_SHIFT - 10  # kB -> pages
_MAX_PAGES = 1 << 52  # 2**64 bytes: more than any setting can mean


def _setting(name: str, value: object, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidArgument(f"{name} {value!r} must be an integer in [{lo}, {hi}]")
    return int(value)


@dataclass(frozen=True)
class CommitStatistics:
    """:meth:`VmCommit.statistics`: the settings, the charge and the checks so far."""

    ram_pages: int
    swap_pages: int
    overcommit_memory: int
    overcommit_ratio: int
    overcommit_kbytes: int
    admin_reserve_kbytes: int
    user_reserve_kbytes: int
    #: ``vm_commit_limit()`` (CommitLimit), in pages.
    commit_limit_pages: int
    #: ``vm_committed_as`` (Committed_AS), in pages.
    committed_pages: int
    #: ``__vm_enough_memory`` calls, and how many refused their charge.
    checks: int
    refusals: int


class VmCommit:
    """``vm_committed_as`` and the overcommit sysctls of one machine. Thread-safe.

    Settings are validated properties; charging and checking are O(1) under one leaf
    lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._committed = 0
        self._checks = 0
        self._refusals = 0
        self._ram_pages = HOST_MEMTOTAL_KB >> _KB_SHIFT
        self._swap_pages = HOST_SWAPTOTAL_KB >> _KB_SHIFT
        self._mode = OVERCOMMIT_GUESS
        self._ratio = DEFAULT_OVERCOMMIT_RATIO
        self._kbytes = 0
        self._admin_reserve_kb = DEFAULT_ADMIN_RESERVE_KB
        self._user_reserve_kb = DEFAULT_USER_RESERVE_KB

    # -- settings ---------------------------------------------------------------------

    @property
    def ram_pages(self) -> int:
        """The machine's RAM in pages (``totalram_pages()``, MemTotal). At least 1."""
        return self._ram_pages

    @ram_pages.setter
    def ram_pages(self, value: int) -> None:
        self._ram_pages = _setting("ram_pages", value, 1, _MAX_PAGES)

    @property
    def swap_pages(self) -> int:
        """The machine's swap in pages (``total_swap_pages``, SwapTotal)."""
        return self._swap_pages

    @swap_pages.setter
    def swap_pages(self, value: int) -> None:
        self._swap_pages = _setting("swap_pages", value, 0, _MAX_PAGES)

    @property
    def overcommit_memory(self) -> int:
        """``vm.overcommit_memory``: 0 (heuristic), 1 (always), 2 (never)."""
        return self._mode

    @overcommit_memory.setter
    def overcommit_memory(self, value: int) -> None:
        self._mode = _setting("overcommit_memory", value, OVERCOMMIT_GUESS, OVERCOMMIT_NEVER)

    @property
    def overcommit_ratio(self) -> int:
        """``vm.overcommit_ratio`` (percent of RAM in mode 2). Setting it clears
        ``overcommit_kbytes``, as the sysctl handler does."""
        return self._ratio

    @overcommit_ratio.setter
    def overcommit_ratio(self, value: int) -> None:
        self._ratio = _setting("overcommit_ratio", value, 0, 1 << 31)
        self._kbytes = 0

    @property
    def overcommit_kbytes(self) -> int:
        """``vm.overcommit_kbytes`` (0: use the ratio). Setting it non-zero clears
        ``overcommit_ratio``, as the sysctl handler does."""
        return self._kbytes

    @overcommit_kbytes.setter
    def overcommit_kbytes(self, value: int) -> None:
        self._kbytes = _setting("overcommit_kbytes", value, 0, _MAX_PAGES << _KB_SHIFT)
        if self._kbytes:
            self._ratio = 0

    @property
    def admin_reserve_kbytes(self) -> int:
        """``vm.admin_reserve_kbytes``: kept back from callers without CAP_SYS_ADMIN."""
        return self._admin_reserve_kb

    @admin_reserve_kbytes.setter
    def admin_reserve_kbytes(self, value: int) -> None:
        self._admin_reserve_kb = _setting("admin_reserve_kbytes", value, 0, _MAX_PAGES << _KB_SHIFT)

    @property
    def user_reserve_kbytes(self) -> int:
        """``vm.user_reserve_kbytes``: the most one process's total_vm/32 reserves."""
        return self._user_reserve_kb

    @user_reserve_kbytes.setter
    def user_reserve_kbytes(self, value: int) -> None:
        self._user_reserve_kb = _setting("user_reserve_kbytes", value, 0, _MAX_PAGES << _KB_SHIFT)

    # -- the counter ------------------------------------------------------------------

    @property
    def committed(self) -> int:
        """``vm_committed_as`` in pages. O(1)."""
        return self._committed

    def vm_commit_limit(self) -> int:
        """``vm_commit_limit``: CommitLimit in pages. O(1)."""
        if self._kbytes:
            allowed = self._kbytes >> _KB_SHIFT
        else:
            allowed = self._ram_pages * self._ratio // 100
        return allowed + self._swap_pages

    def acct(self, pages: int) -> None:
        """``vm_acct_memory``: charge ``pages`` without a check. O(1)."""
        with self._lock:
            self._committed += pages

    def unacct(self, pages: int) -> None:
        """``vm_unacct_memory``: give ``pages`` back. O(1)."""
        with self._lock:
            self._committed -= pages

    def enough_memory(self, mm: Mm | None, pages: int) -> bool:
        """``security_vm_enough_memory_mm`` -> ``__vm_enough_memory``: charge ``pages``
        and keep the charge if the policy admits it (True), else drop it (False).

        ``mm`` (its ``total_vm`` and ``cap_sys_admin``) matters in mode 2 only. O(1);
        the caller may hold any mmap_lock.
        """
        with self._lock:
            self._checks += 1
            self._committed += pages
            mode = self._mode
            if mode == OVERCOMMIT_ALWAYS:
                return True
            if mode == OVERCOMMIT_GUESS:
                if pages <= self._ram_pages + self._swap_pages:
                    return True
            else:
                allowed = self.vm_commit_limit()
                if mm is None or not mm.cap_sys_admin:
                    allowed -= self._admin_reserve_kb >> _KB_SHIFT
                if mm is not None:
                    allowed -= min(mm.total_vm // 32, self._user_reserve_kb >> _KB_SHIFT)
                # The counter already holds the new charge (vm_acct_memory came first).
                if self._committed < allowed:
                    return True
            self._committed -= pages
            self._refusals += 1
            return False

    def statistics(self) -> CommitStatistics:
        """A consistent snapshot of the settings and counters. O(1)."""
        with self._lock:
            return CommitStatistics(
                ram_pages=self._ram_pages,
                swap_pages=self._swap_pages,
                overcommit_memory=self._mode,
                overcommit_ratio=self._ratio,
                overcommit_kbytes=self._kbytes,
                admin_reserve_kbytes=self._admin_reserve_kb,
                user_reserve_kbytes=self._user_reserve_kb,
                commit_limit_pages=self.vm_commit_limit(),
                committed_pages=self._committed,
                checks=self._checks,
                refusals=self._refusals,
            )

    def restore(self, committed: int, checks: int = 0, refusals: int = 0) -> None:
        """Set the counters (checkpoint restore of a machine not yet shared)."""
        with self._lock:
            self._committed = committed
            self._checks = checks
            self._refusals = refusals
