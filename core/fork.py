"""fork(): duplicating an address space (kernel/fork.c ``dup_mm`` / ``dup_mmap``).

Every VMA of the parent is copied in address order into the child, except ``VM_DONTCOPY``
ones (uncharged from the child's counters). A copied VMA that has an anon_vma gets a new one
whose chain links to the parent's (``anon_vma_fork``); the simulator marks it ``forked``,
which is what decides later merges (``reusable_anon_vma`` and ``is_mergeable_anon_vma`` in
mm/vma.c: a VMA with uncowed parents neither lends its anon_vma to a neighbour nor merges
with an anon_vma-less one). Page tables are copied only where ``vma_needs_copy`` says so
(the parent VMA has an anon_vma): every page the parent maps there is then mapped by the
child too, so private pages become copy-on-write for both (mapcount 2). File-backed and
shared VMAs without anon_vma are not copied; the child faults them in from the page cache.
``VM_WIPEONFORK`` VMAs are copied empty, without anon_vma (and without guard markers,
as the host shows); ``VM_LOCKED`` is not inherited, nor is ``MCL_FUTURE``
(``mm->def_flags``); every accounted VMA copied is charged to the commit again
(``security_vm_enough_memory_mm`` in ``dup_mmap``). A VMA that may hold guard markers
(``VM_MAYBE_GUARD``, part of ``VM_COPY_ON_FORK``) has its page table copied even without
an anon_vma, so the child keeps the markers. A copied PTE keeps its dirty bit and becomes
old (not young) in the child; a child's read sets the accessed bit again. Runs of
uniform anonymous pages (core/pages.py) are shared as runs: a 2 TiB populated heap forks
in O(runs), its folios mapcount 2 until a COW break, a zap or an exit tells them apart.

Both mms are write-locked for the copy and every parent VMA is write-locked
(``vma_start_write`` in ``dup_mmap``), so no fault of the parent runs meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    ENOMEM,
    VM_ACCOUNT,
    VM_COPY_ON_FORK,
    VM_DONTCOPY,
    VM_INIT_DEF_MASK,
    VM_LOCKED,
    VM_LOCKONFAULT,
    VM_WIPEONFORK,
)
from .errors import SyscallError
from .pages import MATERIALIZE_MAX_PAGES, copy_pte_range, run_pages_in
from .vma import AnonVma
from .vma_lock import vma_start_write
from .vma_ops import store_new

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma


def _needs_copy(src: Vma) -> bool:
    # vma_needs_copy(): raw PFN mappings, VMAs with guard markers, VMAs with anonymous
    # pages.
    return bool(src.vm_flags & VM_COPY_ON_FORK) or src.anon_vma is not None


def dup_mmap(old: Mm, new: Mm) -> None:
    """Copy ``old``'s VMAs, pages and counters into the empty ``new``.

    Takes ``old.mmap_lock`` then ``new.mmap_lock`` for write (caller holds neither).
    O(n log n + pages).
    """
    old.mmap_lock.write_lock()
    try:
        new.mmap_lock.write_lock()
        try:
            _dup_locked(old, new)
        finally:
            new.mmap_lock.write_unlock()
    finally:
        old.mmap_lock.write_unlock()


def _dup_locked(old: Mm, new: Mm) -> None:
    if new.map_count:
        raise RuntimeError("dup_mmap into a non-empty mm")
    for name in (
        "start_brk",
        "cur_brk",
        "start_stack",
        "mmap_base",
        "mmap_legacy_base",
        "total_vm",
        "data_vm",
        "exec_vm",
        "stack_vm",
        "stack_rlimit",
        "show_gate",
        "cap_sys_rawio",
        # Credentials and rlimits are the task's: the child inherits them.
        "cap_ipc_lock",
        "cap_sys_admin",
        "cap_sys_resource",
        "rlimit_memlock",
    ):
        setattr(new, name, getattr(old, name))
    # mm_init(): MCL_FUTURE is not inherited (only VM_INIT_DEF_MASK bits are).
    new.def_flags = old.def_flags & VM_INIT_DEF_MASK
    for attr in ("start_code", "end_code"):
        if hasattr(old, attr):
            setattr(new, attr, getattr(old, attr))
    new.locked_vm = 0
    # A locked VMA's runs are copied as pages (core/pages.py copy_pte_range): refused,
    # before anything is copied, past what one call may turn into pages.
    held = sum(
        run_pages_in(vma, vma.vm_start, vma.vm_end)
        for vma in old.vmas()
        if vma.vm_flags & VM_LOCKED and not vma.vm_flags & (VM_DONTCOPY | VM_WIPEONFORK)
    )
    if held > MATERIALIZE_MAX_PAGES:
        raise SyscallError(
            ENOMEM,
            "fork",
            f"the parent holds {held} pages in runs of locked memory; the simulator "
            f"copies at most {MATERIALIZE_MAX_PAGES} of them page by page",
        )
    for vma in old.vmas():
        vma_start_write(old.mmap_lock, vma)
        if vma.vm_flags & VM_DONTCOPY:
            # The kernel's vm_stat_account() leaves locked_vm alone (ours counts it):
            # the child's locked_vm stays 0.
            new.vm_stat_account(vma.vm_flags & ~(VM_LOCKED | VM_LOCKONFAULT), -vma.pages_count)
            continue
        # The child's copy of accounted memory is charged again (ENOMEM if refused;
        # the caller then exits the child, which gives back what was charged so far).
        if vma.vm_flags & VM_ACCOUNT and not old.kernel.commit.enough_memory(old, vma.pages_count):
            raise SyscallError(ENOMEM, "fork", "the overcommit policy refuses the child's copy")
        tmp = vma.dup()
        tmp.vm_mm = new
        tmp.vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT)
        if tmp.anon_vma is not None:
            tmp.anon_vma.degree -= 1
            # anon_vma_fork(): a child anon_vma chained to the parent's (none when
            # the child's copy is wiped).
            tmp.anon_vma = None if vma.vm_flags & VM_WIPEONFORK else AnonVma(forked=True)
            if tmp.anon_vma is not None:
                tmp.anon_vma.degree += 1
        store_new(new, tmp)
        if not vma.vm_flags & VM_WIPEONFORK and _needs_copy(vma):
            copy_pte_range(new, tmp, vma)
    # dup_mm(): the child's high-water marks start from what it has now.
    new.hiwater_rss = new.get_rss()
    new.hiwater_vm = new.total_vm
