"""``mremap(2)`` (mm/mremap.c, 6.17/6.18 structure: ``do_mremap``, ``check_mremap_params``,
``check_prep_vma``, ``remap_move``, ``mremap_to``, ``mremap_at``, ``move_vma``).

Order of checks, as in the kernel: lengths are page-aligned first; flag, alignment and
range checks need no lock; then, under ``mmap_lock`` for write, a ``MREMAP_FIXED`` move
of unchanged length goes through ``remap_move`` (which may move several VMAs, keeping
the gaps between them), everything else looks up the one VMA at ``old_addr``.

A sealed source is refused with EPERM (``check_prep_vma``; in a multi-VMA move the VMAs
before it are already moved), and so is a sealed destination (its unmap). Growth of a
locked VMA checks ``RLIMIT_MEMLOCK`` (EAGAIN) and is faulted in after the unlock;
growth and moves of accounted memory charge the commit (ENOMEM, :mod:`core.overcommit`).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from .abi import page_align
from .constants import (
    EAGAIN,
    EFAULT,
    EINVAL,
    ENOMEM,
    EPERM,
    MAP_FIXED,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_MASK,
    PAGE_SHIFT,
    TASK_SIZE,
    U64,
    VM_ACCOUNT,
    VM_DONTEXPAND,
    VM_LOCKED,
    VM_LOCKED_MASK,
    VM_MAYSHARE,
    VM_PFNMAP,
    VM_SHARED,
)
from .errors import SyscallError
from .gup import mm_populate
from .mlock import mlock_future_ok
from .mseal import can_modify_vma
from .pages import (
    MATERIALIZE_MAX_PAGES,
    materialize,
    move_pte_bits,
    put_runs,
    run_pages_in,
    take_runs,
)
from .unmapped_area import get_unmapped_area
from .vma_lock import vma_start_write
from .vma_ops import MergeRange, merge_new_range, store_new

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma


class RemapType(Enum):
    NO_RESIZE = "no resize"
    SHRINK = "shrink"
    EXPAND = "expand"


def _fail(err: int, detail: str) -> SyscallError:
    return SyscallError(err, "mremap", detail)


def do_mremap(mm: Mm, addr: int, old_len: int, new_len: int, flags: int, new_addr: int) -> int:
    """The syscall body. Caller passes 64-bit unsigned values; takes ``mmap_lock``."""
    old_len = page_align(old_len)
    new_len = page_align(new_len)
    # check_mremap_params(): no lock needed.
    if flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP):
        raise _fail(EINVAL, f"unknown flags {flags:#x}")
    if addr & ~PAGE_MASK:
        raise _fail(EINVAL, f"old address {addr:#x} is not page aligned")
    if new_len == 0:
        raise _fail(EINVAL, "new length is 0")
    if new_len > TASK_SIZE:
        raise _fail(EINVAL, f"new length {new_len:#x} exceeds TASK_SIZE")
    implies_new = bool(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))
    if implies_new:
        if new_addr > TASK_SIZE - new_len:
            raise _fail(EINVAL, f"new range at {new_addr:#x} ends beyond TASK_SIZE")
        if new_addr & ~PAGE_MASK:
            raise _fail(EINVAL, f"new address {new_addr:#x} is not page aligned")
        if not flags & MREMAP_MAYMOVE:
            raise _fail(EINVAL, "MREMAP_FIXED/MREMAP_DONTUNMAP need MREMAP_MAYMOVE")
        if flags & MREMAP_DONTUNMAP and old_len != new_len:
            raise _fail(EINVAL, "MREMAP_DONTUNMAP cannot resize")
        if addr + old_len > new_addr and new_addr + new_len > addr:
            raise _fail(EINVAL, "the old and new ranges overlap")
    populate_expand = False
    with mm._write_locked("mremap"):
        if implies_new and mm.map_count + 2 >= mm.max_map_count - 3:
            raise _fail(ENOMEM, "too close to max_map_count to split and move")
        if flags & MREMAP_FIXED and old_len == new_len:
            return _remap_move(mm, addr, old_len, new_addr, flags)
        vma = mm.vma_lookup(addr)
        kind = _check_prep_vma(mm, vma, addr, old_len, new_len, flags)
        assert vma is not None
        # A locked VMA that grows is faulted in after the unlock (populate_expand).
        populate_expand = kind is RemapType.EXPAND and bool(vma.vm_flags & VM_LOCKED)
        if implies_new:
            result = _mremap_to(mm, vma, addr, old_len, new_len, flags, new_addr, kind)
        elif kind is RemapType.NO_RESIZE:
            return addr
        elif kind is RemapType.SHRINK:
            mm.do_munmap(addr + new_len, old_len - new_len, downgrade=True)
            return addr
        else:
            result = _expand_vma(mm, vma, addr, old_len, new_len, flags)
    if populate_expand:
        mm_populate(mm, result + old_len, new_len - old_len)
    return result


def _check_prep_vma(
    mm: Mm, vma: Vma | None, addr: int, old_len: int, new_len: int, flags: int
) -> RemapType:
    """``check_prep_vma``: the checks that need the VMA. Returns the remap type."""
    if vma is None:
        raise _fail(EFAULT, f"old address {addr:#x} is not mapped")
    if not can_modify_vma(vma):  # mseal()'d: mremap() is prohibited
        raise _fail(EPERM, f"VMA {vma.vm_start:#x}-{vma.vm_end:#x} is sealed (mseal)")
    if old_len == new_len:
        kind = RemapType.NO_RESIZE
    elif old_len > new_len:
        kind = RemapType.SHRINK
    else:
        kind = RemapType.EXPAND
    if kind is not RemapType.EXPAND and not flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        return kind  # nothing new gets mapped
    if old_len == 0 and not vma.vm_flags & (VM_SHARED | VM_MAYSHARE):
        raise _fail(EINVAL, "old_len 0 duplicates only shared mappings")
    if flags & MREMAP_DONTUNMAP and vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP):
        raise _fail(EINVAL, "MREMAP_DONTUNMAP on a special mapping")
    span = new_len if kind is RemapType.SHRINK else old_len
    if span > vma.vm_end - addr:
        raise _fail(EFAULT, f"[{addr:#x}, {addr + span:#x}) crosses the end of its VMA")
    if new_len == span:
        return kind
    pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
    if pgoff + (new_len >> PAGE_SHIFT) >= U64:
        raise _fail(EINVAL, "page offset overflows")
    if vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP):
        raise _fail(EFAULT, "a special mapping cannot grow")
    if not mlock_future_ok(mm, vma.vm_flags, new_len - span):
        raise _fail(EAGAIN, "growing the locked mapping would exceed RLIMIT_MEMLOCK")
    return kind


def _remap_move(mm: Mm, start: int, length: int, new_addr: int, flags: int) -> int:
    """``remap_move``: move every VMA of ``[start, start + length)`` (split as needed),
    keeping the gaps between them; no gap is allowed at the start. An error part-way
    leaves the VMAs moved so far where they went, as in the kernel."""
    end = start + length
    target = new_addr
    result: int | None = None
    last_end = 0
    pos = start
    # for_each_vma_range() searches [pos, end - 1]: once pos reaches end the walk stops,
    # even if the last move merged the destination into a VMA reaching back before end.
    while pos < end:
        entry = mm.tree.find(pos)
        if entry is None or entry[0] >= end:
            break
        vma = entry[2]
        addr = max(vma.vm_start, start)
        piece = min(end, vma.vm_end) - addr
        if result is None and start < vma.vm_start:
            raise _fail(EFAULT, f"old address {start:#x} is not mapped")
        offset = vma.vm_start - last_end if result is not None else 0
        last_end = vma.vm_end
        kind = _check_prep_vma(mm, vma, addr, piece, piece, flags)
        moved = _mremap_to(mm, vma, addr, piece, piece, flags, target + offset, kind)
        if result is None:
            result = moved
        target = moved + piece
        pos = last_end
    if result is None:
        raise _fail(EFAULT, f"nothing is mapped in [{start:#x}, {end:#x})")
    return result


def _mremap_to(
    mm: Mm,
    vma: Vma,
    addr: int,
    old_len: int,
    new_len: int,
    flags: int,
    new_addr: int,
    kind: RemapType,
) -> int:
    """``mremap_to``: unmap the destination (FIXED), shrink the source, move."""
    if flags & MREMAP_FIXED:
        mm.do_munmap(new_addr, new_len)
        found = mm.vma_lookup(addr)
        if found is None:
            raise _fail(EFAULT, f"old address {addr:#x} vanished with the destination")
        vma = found
    # vrm->delta is set once, from the lengths the caller gave: a shrink that moves
    # charges it again after the shrink gave it back (see _move_vma).
    delta = abs(new_len - old_len)
    if kind is RemapType.SHRINK:
        mm.do_munmap(addr + new_len, old_len - new_len)
        found = mm.vma_lookup(addr)
        if found is None:
            raise _fail(EFAULT, f"old address {addr:#x} is not mapped")
        vma = found
        old_len = new_len
    new_addr = _set_new_addr(mm, vma, addr, new_len, flags, new_addr)
    return _move_vma(mm, vma, addr, old_len, new_len, flags, new_addr, delta)


def _expand_vma(mm: Mm, vma: Vma, addr: int, old_len: int, new_len: int, flags: int) -> int:
    """``expand_vma``: grow in place when the range ends the VMA and the space after
    it is free (``vma_merge_extend`` may also join the next VMA); else move."""
    delta = new_len - old_len
    if vma.vm_end - addr == old_len and _expandable(mm, vma, delta):
        # expand_vma_in_place(): vrm_calc_charge() first.
        charged = _charge(mm, vma, delta >> PAGE_SHIFT)
        end = vma.vm_end
        merged = merge_new_range(
            mm,
            MergeRange(
                end,
                end + delta,
                vma.vm_pgoff + ((end - vma.vm_start) >> PAGE_SHIFT),
                vma.vm_flags,
                vma.vm_file,
                vma.anon_vma,
                vma.anon_name,
                vma,
                mm.find_vma(end + delta),
            ),
        )
        if merged is None:
            mm.kernel.commit.unacct(charged)  # vrm_uncharge()
            raise _fail(ENOMEM, "cannot expand this mapping in place")
        mm.vm_stat_account(merged.vm_flags, delta >> PAGE_SHIFT)
        return addr
    if not flags & MREMAP_MAYMOVE:
        raise _fail(ENOMEM, "cannot grow in place and MREMAP_MAYMOVE is not set")
    new_addr = _set_new_addr(mm, vma, addr, new_len, flags, 0)
    return _move_vma(mm, vma, addr, old_len, new_len, flags, new_addr, delta)


def _charge(mm: Mm, vma: Vma, pages: int) -> int:
    """``vrm_calc_charge``: an accounted VMA charges ``pages`` to the commit (ENOMEM if
    the overcommit policy refuses). Returns the pages charged."""
    if not vma.vm_flags & VM_ACCOUNT:
        return 0
    if not mm.kernel.commit.enough_memory(mm, pages):
        raise _fail(ENOMEM, f"the overcommit policy refuses {pages} more pages")
    return pages


def _expandable(mm: Mm, vma: Vma, delta: int) -> bool:
    # vma_expandable(): no overflow, nothing mapped after it, within TASK_SIZE.
    end = vma.vm_end + delta
    if end >= U64 or mm.tree.find_intersection(vma.vm_end, end) is not None:
        return False
    size = end - vma.vm_start
    return size <= TASK_SIZE and vma.vm_start <= TASK_SIZE - size


def _set_new_addr(mm: Mm, vma: Vma, addr: int, new_len: int, flags: int, hint: int) -> int:
    """``vrm_set_new_addr``: ``get_unmapped_area`` as a MAP_FIXED mmap (FIXED), a hinted
    one (DONTUNMAP) or an unhinted one."""
    map_flags = MAP_FIXED if flags & MREMAP_FIXED else 0
    if vma.vm_flags & VM_MAYSHARE:
        map_flags |= MAP_SHARED
    pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
    return get_unmapped_area(mm, vma.vm_file, hint, new_len, pgoff, map_flags, 0)


def _move_vma(
    mm: Mm,
    vma: Vma,
    addr: int,
    old_len: int,
    new_len: int,
    flags: int,
    new_addr: int,
    delta: int,
) -> int:
    """``move_vma``: copy the VMA to ``new_addr`` (merging there if possible), move the
    pages, then unmap the source (or, with DONTUNMAP, keep it empty).

    An accounted VMA charges ``delta`` (the size change the caller asked for), or
    the whole new length with DONTUNMAP, whose source keeps its own charge. The
    running kernel charges a shrinking move's delta although the shrink already gave it
    back: Committed_AS keeps it after the mapping is gone (docs/kernel-differences.md).
    """
    if mm.map_count >= mm.max_map_count - 3:
        raise _fail(ENOMEM, "too close to max_map_count")
    # DONTUNMAP leaves the source's unmoved folios mlocked once it loses VM_LOCKED
    # (below); runs of a locked VMA hold no per-folio mlock state, so they become pages
    # first, within the simulator's page-by-page bound (core/pages.py).
    keep_locked = bool(flags & MREMAP_DONTUNMAP and vma.vm_flags & VM_LOCKED and vma.runs)
    if keep_locked:
        held = run_pages_in(vma, vma.vm_start, vma.vm_end) - run_pages_in(vma, addr, addr + old_len)
        if held > MATERIALIZE_MAX_PAGES:
            raise _fail(
                ENOMEM,
                f"the source keeps {held} locked pages in runs; MREMAP_DONTUNMAP takes at "
                f"most {MATERIALIZE_MAX_PAGES} of them page by page",
            )
    _charge(mm, vma, (new_len if flags & MREMAP_DONTUNMAP else delta) >> PAGE_SHIFT)
    vma_start_write(mm.mmap_lock, vma)
    pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
    # copy_vma(): an unfaulted anonymous VMA takes a pgoff matching its new place,
    # to increase its chance of merging there.
    if vma.is_anonymous() and vma.anon_vma is None:
        pgoff = new_addr >> PAGE_SHIFT
    moved_pages = {}
    if vma.pages:
        moved_pages = {
            p - addr + new_addr: v for p, v in vma.pages.items() if addr <= p < addr + old_len
        }
        for p in moved_pages:
            del vma.pages[p - new_addr + addr]
        # move_ptes(): the entries move with their accessed/dirty bits.
        move_pte_bits(mm, [p - new_addr + addr for p in moved_pages], new_addr - addr)
    with mm.page_lock:
        moved_runs = take_runs(vma, addr, addr + old_len)
    src_start = vma.vm_start
    new_vma = merge_new_range(
        mm,
        MergeRange(
            new_addr,
            new_addr + new_len,
            pgoff,
            vma.vm_flags,
            vma.vm_file,
            vma.anon_vma,
            vma.anon_name,
            mm._prev_vma(new_addr),
            mm.find_vma(new_addr + new_len),
        ),
    )
    if new_vma is None:
        new_vma = vma.dup()
        new_vma.set_range(new_addr, new_addr + new_len, pgoff)
        new_vma.pages = None
        store_new(mm, new_vma)
    elif new_vma.vm_start <= src_start < new_vma.vm_end:
        # copy_vma(): the source itself was merged into new_vma (only an unfaulted
        # anonymous VMA can be: its pgoff was reset to the destination's above), so the
        # source range is unmapped from new_vma. Unmapping it from the merged-away
        # object would skip unmap_source_vma's VM_ACCOUNT dance and uncharge the moved
        # pages a second time.
        vma = new_vma
    if moved_pages:
        if new_vma.pages is None:
            new_vma.pages = {}
        new_vma.pages.update(moved_pages)
    if moved_runs:
        with mm.page_lock:
            put_runs(new_vma, moved_runs, new_addr - addr)
    mm.vm_stat_account(vma.vm_flags, new_len >> PAGE_SHIFT)
    if flags & MREMAP_DONTUNMAP:
        # dontunmap_complete(): the old VMA stays (empty) and loses VM_LOCKED only,
        # without an munlock walk: the folios it still maps stay mlocked.
        if keep_locked and vma.runs:
            with mm.page_lock:
                materialize(mm, vma, vma.vm_start, vma.vm_end)
        vma.set_flags(vma.vm_flags & ~VM_LOCKED_MASK)
        if new_vma is not vma and (vma.vm_start, vma.vm_end) == (addr, addr + old_len):
            vma.anon_vma = None  # unlink_anon_vmas(): all its pages moved away
        return new_addr
    mm.pause("mremap:before_unmap_source")  # the mapping is visible at both places
    _unmap_source_vma(mm, vma, addr, old_len)
    return new_addr


def _unmap_source_vma(mm: Mm, vma: Vma, addr: int, length: int) -> None:
    """``unmap_source_vma``: VM_ACCOUNT is cleared for the unmap (the move was already
    charged) and set again on the pieces that remain. A failing unmap is ignored, as in
    the kernel ("just get accounts right"); old_len 0 (a shared duplicate) lands here."""
    accountable = bool(vma.vm_flags & VM_ACCOUNT)
    vm_start, vm_end = vma.vm_start, vma.vm_end
    if accountable:
        vma.set_flags(vma.vm_flags & ~VM_ACCOUNT)
    try:
        mm.do_munmap(addr, length)
    except SyscallError:
        if accountable:
            vma.set_flags(vma.vm_flags | VM_ACCOUNT)
            # "OOM: unable to split vma, just get accounts right"
            mm.kernel.commit.acct(length >> PAGE_SHIFT)
        return
    if not accountable:
        return
    end = addr + length
    if vm_start < addr:
        before = mm._prev_vma(addr)
        if before is not None:
            vma_start_write(mm.mmap_lock, before)
            before.set_flags(before.vm_flags | VM_ACCOUNT)
    if vm_end > end:
        after = mm.find_vma(end)
        if after is not None:
            vma_start_write(mm.mmap_lock, after)
            after.set_flags(after.vm_flags | VM_ACCOUNT)
