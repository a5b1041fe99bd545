"""VMA split, merge and unmap, in the kernel's order of operations (mm/vma.c, 6.16-6.18).

Every function here requires ``mmap_lock`` held for write by the caller. Each tree store
publishes one new version of the tree, so lock-free readers see the intermediate states
the kernel's RCU readers see: a shrunk VMA still spanning its old range (split), split
pieces next to detached VMAs (munmap before its clearing store), and so on
(mm/vma.c: ``__split_vma``, ``vms_gather_munmap_vmas``; lib/maple_tree.c in RCU mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .constants import ENOMEM, EPERM, PAGE_SHIFT, VM_ACCOUNT, VM_SEALED, VM_SPECIAL, VM_STICKY
from .errors import SyscallError
from .pages import put_runs, take_runs
from .sched import RESCHED_MASK, cond_resched
from .vma import Vma
from .vma_lock import vma_mark_attached, vma_mark_detached, vma_start_write

if TYPE_CHECKING:
    from .mm import Mm

# Flags that do not prevent a merge (VM_IGNORE_MERGE): the "sticky" ones, which the
# merged VMA then carries if any of the merged VMAs (or the new range) had them
# (VM_SOFTDIRTY, VM_MAYBE_GUARD; 6.19, in the 6.18.y host).
VM_IGNORE_MERGE = VM_STICKY


@dataclass
class MergeRange:
    """``struct vma_merge_struct``: a range with the attributes it would have."""

    start: int
    end: int
    pgoff: int
    flags: int
    file: object | None
    anon_vma: object | None
    anon_name: str | None
    prev: Vma | None
    next: Vma | None
    middle: Vma | None = None


def had_uncowed_parents(vma: Vma | None) -> bool:
    """``vma_had_uncowed_parents``: the VMA's anon_vma chain is not singular (it was
    inherited through fork), so it must not lend its anon_vma to a neighbour."""
    return vma is not None and vma.anon_vma is not None and vma.anon_vma.forked


def _is_mergeable_vma(vmg: MergeRange, vma: Vma) -> bool:
    # is_mergeable_vma(): flags (ignoring soft-dirty), same struct file, same anon name.
    return (
        not ((vma.vm_flags ^ vmg.flags) & ~VM_IGNORE_MERGE)
        and vma.vm_file is vmg.file
        and vma.anon_name == vmg.anon_name
        and vma.special_name is None
    )


def _is_mergeable_anon_vma(vmg: MergeRange, tgt: Vma) -> bool:
    # is_mergeable_anon_vma(): case 1 dup src into tgt, case 2 use tgt's, case 3 shared.
    tgt_anon = tgt.anon_vma
    src_anon = vmg.anon_vma
    if tgt_anon is None and src_anon is not None:
        return not had_uncowed_parents(vmg.middle)
    if tgt_anon is not None and src_anon is None:
        return not had_uncowed_parents(tgt)
    return src_anon is tgt_anon


def can_merge_left(vmg: MergeRange) -> bool:
    """``can_vma_merge_left`` / ``can_vma_merge_after``: ``prev`` can absorb the range."""
    prev = vmg.prev
    return (
        prev is not None
        and prev.vm_end == vmg.start
        and _is_mergeable_vma(vmg, prev)
        and _is_mergeable_anon_vma(vmg, prev)
        and prev.vm_pgoff + ((prev.vm_end - prev.vm_start) >> PAGE_SHIFT) == vmg.pgoff
    )


def can_merge_right(vmg: MergeRange, merge_left: bool) -> bool:
    """``can_vma_merge_right`` / ``can_vma_merge_before``: ``next`` can absorb the range.

    When ``prev`` merges too, prev's and next's anon_vmas must also be compatible
    (``are_anon_vmas_compatible``).
    """
    nxt = vmg.next
    if (
        nxt is None
        or vmg.end != nxt.vm_start
        or not _is_mergeable_vma(vmg, nxt)
        or not _is_mergeable_anon_vma(vmg, nxt)
        or vmg.pgoff + ((vmg.end - vmg.start) >> PAGE_SHIFT) != nxt.vm_pgoff
    ):
        return False
    if not merge_left:
        return True
    assert vmg.prev is not None
    a, b = vmg.prev.anon_vma, nxt.anon_vma
    return a is None or b is None or a is b


def _adopt_anon_vma(target: Vma, *donors: Vma | None, anon: object | None = None) -> None:
    # dup_anon_vma(): a target without anon_vma takes the one of a VMA it absorbs.
    if target.anon_vma is not None:
        return
    for donor in donors:
        if donor is not None and donor.anon_vma is not None:
            target.anon_vma = donor.anon_vma
            target.anon_vma.degree += 1
            return
    if anon is not None:
        target.anon_vma = anon  # type: ignore[assignment]
        target.anon_vma.degree += 1  # type: ignore[union-attr]


# -- tree updates -------------------------------------------------------------------------


def store_new(mm: Mm, vma: Vma) -> None:
    """``vma_iter_store_new``: write-lock, store over the VMA's range, attach. O(log n)."""
    vma_start_write(mm.mmap_lock, vma)
    mm.tree.store(vma.vm_start, vma.vm_end, vma)
    vma_mark_attached(mm.mmap_lock, vma)
    mm.map_count += 1


def remove_detached(mm: Mm, vma: Vma) -> None:
    """``vma_mark_detached`` + ``remove_vma``: the VMA is already out of the tree (or
    covered by the store that replaced it); free it after a grace period."""
    vma_mark_detached(mm.mmap_lock, vma)
    mm.free_vma(vma)


def split_vma(mm: Mm, vma: Vma, addr: int, new_below: bool, check_limit: bool) -> Vma:
    """``__split_vma`` (``split_vma`` when ``check_limit``): cut ``vma`` at ``addr``.

    The new piece is ``[vm_start, addr)`` when ``new_below``, else ``[addr, vm_end)``;
    the original object keeps the other part. Order as in the kernel: write-lock both,
    shrink the original in place (pause point ``split:after_shrink``: the tree still maps
    the old range to it), then store the new piece (it becomes attached). Returns the
    new piece. ``split_vma`` fails with ENOMEM at ``map_count >= max_map_count``.
    O(log n).
    """
    if check_limit and mm.map_count >= mm.max_map_count:
        raise SyscallError(
            ENOMEM, mm.current_syscall, f"split would exceed max_map_count {mm.max_map_count}"
        )
    new = vma.dup()
    delta = (addr - vma.vm_start) >> PAGE_SHIFT
    if new_below:
        new.set_range(vma.vm_start, addr, vma.vm_pgoff)
    else:
        new.set_range(addr, vma.vm_end, vma.vm_pgoff + delta)
    vma_start_write(mm.mmap_lock, vma)
    vma_start_write(mm.mmap_lock, new)
    # Only now: a fault holding the VMA read lock may still be adding pages until
    # vma_start_write() has drained it (the kernel splits page tables under the
    # write-locked VMA too).
    if vma.pages:
        new.pages = {p: v for p, v in vma.pages.items() if new.vm_start <= p < new.vm_end}
        vma.pages = {p: v for p, v in vma.pages.items() if not new.vm_start <= p < new.vm_end}
    if vma.runs:
        with mm.page_lock:  # a populate under mmap_lock for read cannot run; faults can
            put_runs(new, take_runs(vma, new.vm_start, new.vm_end))
    if new_below:
        vma.set_range(addr, vma.vm_end, vma.vm_pgoff + delta)
    else:
        vma.set_range(vma.vm_start, addr, vma.vm_pgoff)
    mm.pause("split:after_shrink")
    store_new(mm, new)
    return new


def merge_new_range(mm: Mm, vmg: MergeRange, just_expand: bool = False) -> Vma | None:
    """``vma_merge_new_range``: let ``prev`` and/or ``next`` absorb a new range.

    Returns the expanded VMA, or None when no merge is possible. Merging prev and next
    together removes next. O(log n).
    """
    if vmg.flags & VM_SPECIAL or (vmg.prev is None and vmg.next is None):
        return None
    left = can_merge_left(vmg)
    right = not just_expand and can_merge_right(vmg, left)
    if not left and not right:
        return None
    lock = mm.mmap_lock
    if left:
        target = vmg.prev
        assert target is not None
        remove = vmg.next if right else None
        start, pgoff = target.vm_start, target.vm_pgoff
        end = remove.vm_end if remove is not None else vmg.end
    else:
        target = vmg.next
        assert target is not None
        remove = None
        start, pgoff, end = vmg.start, vmg.pgoff, target.vm_end
    # vma_expand() -> commit_merge(): lock, update in place, one overwriting store.
    vma_start_write(lock, target)
    if remove is not None:
        vma_start_write(lock, remove)
    _adopt_anon_vma(target, remove, anon=vmg.anon_vma)
    _merge_pages(target, remove)
    _set_sticky(target, vmg.flags, remove)
    target.set_range(start, end, pgoff)
    mm.tree.store(start, end, target)
    if remove is not None:
        remove_detached(mm, remove)
        mm.map_count -= 1
    return target


def merge_existing_range(mm: Mm, vmg: MergeRange) -> Vma | None:
    """``vma_merge_existing_range``: an attribute change of ``[start, end)`` inside
    ``vmg.middle`` may extend prev over it, pull next back over it, or join all three.
    Only tried when the range touches an edge of middle. Returns the VMA now covering
    the range, or None (the caller splits instead). O(log n).
    """
    middle = vmg.middle
    assert middle is not None
    start, end = vmg.start, vmg.end
    left_side = start == middle.vm_start
    right_side = end == middle.vm_end
    if vmg.flags & VM_SPECIAL or (not left_side and not right_side):
        return None
    merge_left = left_side and can_merge_left(vmg)
    merge_right = right_side and can_merge_right(vmg, merge_left)
    if not merge_left and not merge_right:
        return None
    lock = mm.mmap_lock
    prev, nxt = vmg.prev, vmg.next
    vma_start_write(lock, middle)
    if merge_left:
        assert prev is not None
        vma_start_write(lock, prev)
    if merge_right:
        assert nxt is not None
        vma_start_write(lock, nxt)
    removed: list[Vma] = []
    # The merged VMA carries every sticky flag of the range and of the VMAs it absorbs.
    _set_sticky(prev if merge_left else nxt, vmg.flags, middle, nxt if merge_right else None)
    if merge_left and merge_right:
        assert prev is not None and nxt is not None
        target = prev
        _adopt_anon_vma(prev, middle, nxt)
        _merge_pages(prev, middle)
        _merge_pages(prev, nxt)
        prev.set_range(prev.vm_start, nxt.vm_end, prev.vm_pgoff)
        mm.tree.store(prev.vm_start, prev.vm_end, prev)
        removed = [middle, nxt]
    elif merge_left:
        assert prev is not None
        target = prev
        _adopt_anon_vma(prev, middle)
        _move_pages(middle, prev, start, end)
        prev.set_range(prev.vm_start, end, prev.vm_pgoff)
        if right_side:
            removed = [middle]
        else:
            middle.set_range(end, middle.vm_end, middle.vm_pgoff + ((end - start) >> PAGE_SHIFT))
        mm.tree.store(prev.vm_start, end, prev)
    else:
        assert nxt is not None
        target = nxt
        _adopt_anon_vma(nxt, middle)
        _move_pages(middle, nxt, start, end)
        nxt.set_range(start, nxt.vm_end, nxt.vm_pgoff - ((end - start) >> PAGE_SHIFT))
        if left_side:
            removed = [middle]
        else:
            middle.set_range(middle.vm_start, start, middle.vm_pgoff)
        mm.tree.store(start, nxt.vm_end, nxt)
    for vma in removed:
        remove_detached(mm, vma)
        mm.map_count -= 1
    return target


def _set_sticky(target: Vma | None, flags: int, *others: Vma | None) -> None:
    # vma_expand() / vma_merge_existing_range(): OR the sticky flags in.
    assert target is not None
    sticky = flags & VM_STICKY
    for other in others:
        if other is not None:
            sticky |= other.vm_flags & VM_STICKY
    if sticky & ~target.vm_flags:
        target.set_flags(target.vm_flags | sticky)


def _merge_pages(target: Vma, other: Vma | None) -> None:
    if other is not None and other.pages:
        if target.pages is None:
            target.pages = {}
        target.pages.update(other.pages)
    if other is not None and other.runs:
        put_runs(target, other.runs)
        other.runs = None


def _move_pages(src: Vma, dst: Vma, start: int, end: int) -> None:
    if src.runs:
        put_runs(dst, take_runs(src, start, end))
    if not src.pages:
        return
    moved = {p: v for p, v in src.pages.items() if start <= p < end}
    if moved:
        for p in moved:
            del src.pages[p]
        if dst.pages is None:
            dst.pages = {}
        dst.pages.update(moved)


def vma_modify(mm: Mm, vmg: MergeRange) -> Vma:
    """``vma_modify``: merge if possible, else split off the parts of middle outside
    ``[start, end)`` (front first, then back; a failing second split leaves the first in
    place, as in the kernel). Returns the VMA that now spans exactly the range (or more,
    after a merge). O(log n).
    """
    merged = merge_existing_range(mm, vmg)
    if merged is not None:
        return merged
    vma = vmg.middle
    assert vma is not None
    if vma.vm_start < vmg.start:
        split_vma(mm, vma, vmg.start, new_below=True, check_limit=True)
    if vma.vm_end > vmg.end:
        split_vma(mm, vma, vmg.end, new_below=False, check_limit=True)
    return vma


def vma_reset_flags(mm: Mm, vma: Vma, flags: int) -> None:
    """``vm_flags_reset`` after ``vma_modify_flags``: give ``vma`` (the VMA
    :func:`vma_modify` returned) ``flags``, keeping the sticky flags a merge brought in
    (``vma_modify_flags`` hands them back to its caller, 6.19 in the 6.18.y host).
    Write-locks the VMA. Caller holds ``mmap_lock`` for write. O(1)."""
    vma_start_write(mm.mmap_lock, vma)
    vma.set_flags(flags | (vma.vm_flags & VM_STICKY))
    mm._cycle_dirty = True  # flags changed in place, maybe without a tree store


# -- munmap -------------------------------------------------------------------------------


@dataclass
class Gathered:
    """``struct vma_munmap_struct``: the VMAs collected for removal, already detached."""

    start: int
    end: int
    vmas: list[Vma]
    prev: Vma | None
    next: Vma | None


def gather_munmap_vmas(mm: Mm, first: Vma, start: int, end: int) -> Gathered:
    """``vms_gather_munmap_vmas``: split at ``start`` and ``end`` (each split visible at
    once), write-lock and detach every VMA of the range (still in the tree).

    On failure the splits stay and the detached VMAs are re-attached
    (``reattach_vmas``). O(k log n) for k VMAs.
    """
    lock = mm.mmap_lock
    vma = first
    if start > vma.vm_start:
        # Two splits would raise map_count by one: refuse at the limit; a single split
        # at an edge may go "just above its limit temporarily".
        if end < vma.vm_end and mm.map_count >= mm.max_map_count:
            raise SyscallError(
                ENOMEM,
                mm.current_syscall,
                f"unmapping [{start:#x}, {end:#x}) inside one VMA would exceed "
                f"max_map_count {mm.max_map_count}",
            )
        # Don't bother splitting the VMA if we can't unmap it anyway (mseal).
        if vma.vm_flags & VM_SEALED:
            raise _sealed(mm, vma)
        split_vma(mm, vma, start, new_below=True, check_limit=False)
    prev = mm.tree.prev(start)
    vmas: list[Vma] = []
    try:
        pos = start
        while True:
            entry = mm.tree.find(pos)
            if entry is None or entry[0] >= end:
                break
            vma = entry[2]
            if vma.vm_flags & VM_SEALED:
                raise _sealed(mm, vma)
            if vma.vm_end > end:
                split_vma(mm, vma, end, new_below=False, check_limit=False)
            vma_start_write(lock, vma)
            vma_mark_detached(lock, vma)
            vmas.append(vma)
            pos = vma.vm_end
            if not len(vmas) & RESCHED_MASK:
                cond_resched()  # mmap_lock held for write: only its waiters wait
    except SyscallError:
        for vma in vmas:
            vma_mark_attached(lock, vma)
        raise
    nxt_entry = mm.tree.find(end)
    return Gathered(
        start, end, vmas, prev[2] if prev else None, nxt_entry[2] if nxt_entry else None
    )


def _sealed(mm: Mm, vma: Vma) -> SyscallError:
    # can_modify_vma() failed in vms_gather_munmap_vmas().
    return SyscallError(
        EPERM, mm.current_syscall, f"VMA {vma.vm_start:#x}-{vma.vm_end:#x} is sealed (mseal)"
    )


def nr_accounted(gathered: Gathered) -> int:
    """``vms->nr_accounted``: pages of the gathered VMAs charged to the commit
    (``VM_ACCOUNT``). O(k)."""
    return sum(vma.pages_count for vma in gathered.vmas if vma.vm_flags & VM_ACCOUNT)


#: What freeing one VMA costs, in pages zapped (for :func:`cond_resched` pacing):
#: accounting, the tree's and the VMA lock's work, ``call_rcu``.
VMA_FREE_WORK: Final = 8


def complete_munmap_vmas(mm: Mm, gathered: Gathered, unacct: bool = True) -> None:
    """``vms_complete_munmap_vmas``: account and free the removed VMAs, and give their
    commit charge back (``vm_unacct_memory(nr_accounted)``; not when ``unacct`` is
    False: a ``MAP_FIXED`` mapping that replaced them took their charge over). The
    caller has already cleared (or overwritten) their range in the tree."""
    mm.map_count -= len(gathered.vmas)
    if unacct:
        mm.kernel.commit.unacct(nr_accounted(gathered))
    work = 0
    for vma in gathered.vmas:
        # unmap_vmas() -> zap_pte_range() calls cond_resched() as it goes; the page
        # lock held by each VMA's zap (zap_vma_pages) allows it only between two VMAs.
        work += VMA_FREE_WORK + len(vma.pages or ())
        mm.vm_stat_account(vma.vm_flags, -vma.pages_count)
        mm.unaccount_pages(vma)
        mm.free_vma(vma)
        if work > RESCHED_MASK:
            work = 0
            cond_resched()


def reattach_vmas(mm: Mm, gathered: Gathered) -> None:
    """``reattach_vmas``: undo the detach of a gather that is abandoned before the
    range was cleared; splits made by the gather stay. O(k)."""
    for vma in gathered.vmas:
        vma_mark_attached(mm.mmap_lock, vma)
