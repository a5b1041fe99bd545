"""``/proc/<pid>/maps`` text, byte for byte as fs/proc/task_mmu.c prints it (``show_map_vma``).

``show_vma_header_prefix`` + ``show_map_vma`` + ``get_vma_name``::

    SSSSSSSS-EEEEEEEE PPPP OOOOOOOO MM:mm INODE <pad to column 73>NAME

Addresses and offset are lowercase hex zero-padded to at least 8 digits, device numbers
to at least 2, the inode is decimal and always followed by one space. A named line is
padded with spaces to 72 characters, then one more space, so the name starts at column
73; an unnamed line ends with that single trailing space.

The line cache
--------------
The kernel formats every line on every read; a Python loop cannot (formatting 65,530
lines alone costs about twice the kernel's whole read, see docs/performance.md). So each
VMA keeps its complete line, newline included, in ``vma._line`` as ``(stamp, line,
watch)``, and a render only joins cached lines:

* ``stamp`` is the VMA's generation (``vma._gen``) the line was built from. Writers bump
  the generation before and after every change of the fields a line shows
  (:meth:`Vma.set_range`, :meth:`Vma.set_flags`), so it is odd while a change is under
  way. A builder reads the generation first and stores its line only if the generation
  was even and is unchanged afterwards (a seqcount read section): a line read while the
  VMA is being changed is returned to that one reader but never cached as current.
* ``watch`` is the file's inode when the line shows a file path that may still gain
  `` (deleted)`` (``unlink`` changes the name without touching the VMA or the mm lock),
  else None; a cached line is current only while its watched inode is still linked.
* The line of an anonymous VMA is its line *without* ``[heap]``/``[stack]``: those two
  names come from the mm's ``start_brk``/``brk``/``start_stack``, not from the VMA. A
  render finds the at most few VMAs they apply to with tree lookups
  (:func:`_derived_names`) and replaces just those lines, so the per-VMA loop does no
  range comparisons and calls no Python function for a cached line.

Lines are built when first rendered, or seeded from the imported text by
:func:`seed_line` (``load_maps``) when that text is exactly what the kernel would print.

A whole render goes one step further and keeps the tuple of a whole leaf's lines on the
tree's leaf (:mod:`core.maps_memo`), so an unchanged leaf costs one reference per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ._engine import ENGINE
from .constants import PAGE_SHIFT, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE
from .maps_memo import LeafLines
from .sched import RESCHED_MASK, cond_resched
from .vma import Vma, check_live
from .vma_tree import Leaf, VmaTree

if TYPE_CHECKING:
    from .files import Inode
    from .mm import Mm

#: Which engine runs this module: the compiled render calls cond_resched() (see there).
_COMPILED = ENGINE == "compiled"

NAME_COLUMN = 72  # seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)
GATE_LINE = (
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
    + " " * (NAME_COLUMN - 55)
    + " [vsyscall]\n"
)

# rwx from VM_READ/VM_WRITE/VM_EXEC (bits 0-2), s/p from VM_MAYSHARE (0x80 >> 4 = bit 3).
assert (VM_READ, VM_WRITE, VM_EXEC, VM_MAYSHARE) == (1, 2, 4, 0x80)
_PERMS = tuple(
    ("r" if i & 1 else "-") + ("w" if i & 2 else "-") + ("x" if i & 4 else "-") + "ps"[i >> 3]
    for i in range(16)
)
_ANON_PREFIX = "%08x-%08x %s 00000000 00:00 0 "
_ANON_LINE = _ANON_PREFIX + "\n"
_FILE_PREFIX = "%08x-%08x %s %08x %02x:%02x %d "
_PAD = " " * (NAME_COLUMN + 1)


def perms(flags: int) -> str:
    """``rwxp``/``rwxs`` from ``vm_flags`` (``s`` follows VM_MAYSHARE). O(1)."""
    return _PERMS[(flags & 7) | (flags & VM_MAYSHARE) >> 4]


def escape_path(path: str) -> str:
    """``seq_path(..., "\\n")``: a newline in a path is printed as ``\\012``."""
    return path.replace("\n", "\\012")


def _named(prefix: str, name: str) -> str:
    # seq_pad(m, ' '): spaces up to column 72, then one more, then the name.
    n = len(prefix)
    return prefix + _PAD[n:] + name + "\n" if n < NAME_COLUMN else prefix + " " + name + "\n"


def _build(vma: Vma) -> tuple[str, Inode | None]:
    """The VMA's line (anonymous VMAs: without [heap]/[stack]) and the inode to watch.

    ``get_vma_name`` steps 1, 2 and 7; steps 5-6 are applied per render. O(1).
    """
    flags = vma.vm_flags
    perm = _PERMS[(flags & 7) | (flags & VM_MAYSHARE) >> 4]
    file = vma.vm_file
    if file is None:
        prefix = _ANON_PREFIX % (vma.vm_start, vma.vm_end, perm)
        name = vma.special_name
        if name is None:
            anon_name = vma.anon_name
            if anon_name is None:
                return prefix + "\n", None
            name = f"[anon:{anon_name}]"
        return _named(prefix, name), None
    inode = file.inode
    major, minor = inode.dev
    prefix = _FILE_PREFIX % (
        vma.vm_start,
        vma.vm_end,
        perm,
        vma.vm_pgoff << PAGE_SHIFT,
        major,
        minor,
        inode.ino,
    )
    if vma.anon_name is not None:
        return _named(prefix, f"[anon_shmem:{vma.anon_name}]"), None
    # Read ``unlinked`` before the path: a concurrent unlink then at worst leaves a
    # watched line without " (deleted)", which the next render sees is stale.
    watch = None if inode.unlinked else inode
    return _named(prefix, escape_path(inode.display_path())), watch


def _miss(vma: Vma) -> str:
    """Build ``vma``'s line and cache it if no writer changed the VMA meanwhile. O(1).

    Called for a VMA without a current cached line (a freed VMA never has one:
    :func:`core.vma.poison`).
    """
    return _miss_watch(vma)[0]


def _miss_watch(vma: Vma) -> tuple[str, Inode | None]:
    """:func:`_miss` and the inode the line watches (or None). O(1)."""
    check_live(vma, "a maps line")
    gen = vma._gen
    if vma.vm_file is None and vma.special_name is None and vma.anon_name is None:
        # The common case, inlined from _build(): plain anonymous memory.
        flags = vma.vm_flags
        perm = _PERMS[(flags & 7) | (flags & VM_MAYSHARE) >> 4]
        line = _ANON_LINE % (vma.vm_start, vma.vm_end, perm)
        watch = None
    else:
        line, watch = _build(vma)
    # Publish only a line built from one stable version of the fields (seqcount
    # read: even before, unchanged after). A lost race leaves a stale stamp that no
    # later generation matches, so a racing store costs at most a rebuild.
    if not gen & 1 and vma._gen == gen:
        vma._line = (gen, line, watch)
    return line, watch


def cached_line(vma: Vma) -> str:
    """``vma``'s line without ``[heap]``/``[stack]``, built at most once per change. O(1).

    Caller holds something that keeps ``vma`` from being freed (RCU, a VMA lock or
    ``mmap_lock``).
    """
    c = vma._line
    if c[0] == vma._gen and (c[2] is None or not c[2].unlinked):
        return c[1]
    return _miss(vma)


def _derivable(vma: Vma) -> bool:
    # get_vma_name() reaches steps 5-6 only without a file (1) or vm_ops name (2).
    return vma.vm_file is None and vma.special_name is None


def _label_heap(vma: Vma, brk: int, start_brk: int) -> bool:
    # vma_is_initial_heap() as the 6.18 host behaves: strict on both ends (a VMA that
    # only touches [start_brk, brk) is not the heap; see docs/kernel-differences.md).
    return vma.vm_start < brk and vma.vm_end > start_brk


def _label_stack(vma: Vma, start_stack: int) -> bool:
    # vma_is_initial_stack(): inclusive on both ends.
    return vma.vm_start <= start_stack <= vma.vm_end


def _with_label(vma: Vma, label: str) -> str:
    # Only derivable (file-less) VMAs get here: their prefix is the anonymous one.
    flags = vma.vm_flags
    perm = _PERMS[(flags & 7) | (flags & VM_MAYSHARE) >> 4]
    return _named(_ANON_PREFIX % (vma.vm_start, vma.vm_end, perm), label)


def vma_line(vma: Vma, brk: int, start_brk: int, start_stack: int) -> str:
    """One maps line for ``vma`` (with the newline), ``[heap]``/``[stack]`` included.

    O(1) amortised (cached line). Caller holds something that keeps ``vma`` from being
    freed (RCU, a VMA lock or ``mmap_lock``); a torn read of a VMA being changed yields
    a line that is never cached.
    """
    if _derivable(vma):
        if _label_heap(vma, brk, start_brk):
            return _with_label(vma, "[heap]")
        if _label_stack(vma, start_stack):
            return _with_label(vma, "[stack]")
    return cached_line(vma)


def _derived_names(
    tree: VmaTree[Vma], brk: int, start_brk: int, start_stack: int
) -> Iterator[tuple[int, str]]:
    """``(index, line)`` for the VMAs of ``tree`` that print ``[heap]`` or ``[stack]``.

    Heap candidates end above ``start_brk`` and start below ``brk``: a contiguous run
    starting at ``find(start_brk)``. Stack candidates are the at most two entries with
    ``start <= start_stack <= end``, starting at ``find(start_stack - 1)``. O(log n + k)
    for k candidates; ``tree`` must be the version being rendered.
    """
    heap: set[int] = set()
    i = tree.rank(start_brk)
    for start, _, vma in tree.iter_from(start_brk):
        if start >= brk:
            break
        if _derivable(vma) and _label_heap(vma, brk, start_brk):
            heap.add(i)
            yield i, _with_label(vma, "[heap]")
        i += 1
    i = tree.rank(start_stack - 1)
    for start, _, vma in tree.iter_from(start_stack - 1):
        if start > start_stack:
            break
        if i not in heap and _derivable(vma) and _label_stack(vma, start_stack):
            yield i, _with_label(vma, "[stack]")
        i += 1


def render_maps(mm: Mm, tree: VmaTree[Vma] | None = None, gate: bool = True) -> str:
    """The maps text of ``tree`` (default ``mm.tree``), plus the ``[vsyscall]`` gate line.

    :func:`render_maps_lines` joined; same cost and caller contract.
    """
    return "".join(render_maps_lines(mm, tree, gate))


def render_maps_lines(mm: Mm, tree: VmaTree[Vma] | None = None, gate: bool = True) -> list[str]:
    """The lines of the maps text of ``tree`` (default ``mm.tree``), each ending in
    ``"\n"``, plus the ``[vsyscall]`` gate line: the strings of the leaves' memos and
    the VMAs' cached lines, so the list costs one reference per line, not a copy of the
    text.

    O(n / B) with one memo per leaf of B lines (:mod:`core.maps_memo`), plus O(B) per
    leaf without a current memo (stored, then the render's new memos are kept if no
    write cycle overlapped it) and O(1) extra per VMA whose line is not cached. Uses one
    version of the tree throughout. Caller provides the consistency it needs between
    the tree and the mm's ``start_brk``/``brk``/``start_stack`` (``mm.maps()`` holds
    ``mmap_lock`` for read). An explicit ``tree`` (another version) reads and keeps no
    memo.
    """
    lock = mm.mmap_lock
    memo = mm.maps_memo
    seq = lock.seq  # before any VMA is looked at (MapsMemo.commit)
    own = tree is None
    snap = (mm.tree if tree is None else tree).snapshot()
    epoch = memo.drain(snap) if own else -1
    parts: list[str] = []
    built: list[tuple[Leaf[Vma], LeafLines]] = []
    since = 0
    for leaf in snap.leaves():
        m = leaf.memo
        if (
            not own
            or not isinstance(m, LeafLines)
            or m.epoch != epoch
            or (m.watches and _any_unlinked(m.watches))
        ):
            m = _leaf_lines(leaf.entries, epoch)
            if own:
                built.append((leaf, m))
        parts += m.lines
        if _COMPILED:
            # cond_resched() every RESCHED_MASK + 1 lines or so (seq_read_iter() between
            # records); the interpreter hands the GIL over by itself.
            since += len(m.lines)
            if since > RESCHED_MASK:
                since = 0
                cond_resched()
    memo.commit(lock, seq, epoch, built)
    for i, line in _derived_names(snap, mm.cur_brk, mm.start_brk, mm.start_stack):
        parts[i] = line
    if gate and mm.show_gate:
        parts.append(GATE_LINE)
    return parts


def _any_unlinked(watches: tuple[Inode, ...]) -> bool:
    return any(w.unlinked for w in watches)


def _leaf_lines(entries: list[tuple[int, int, Vma]], epoch: int) -> LeafLines:
    """A leaf's memo: its VMAs' cached lines (built where missing) and the inodes they
    watch. O(len(entries))."""
    lines: list[str] = []
    watches: list[Inode] = []
    for _, _, v in entries:
        c = v._line
        w = c[2]
        if c[0] == v._gen and (w is None or not w.unlinked):
            lines.append(c[1])
        else:
            line, w = _miss_watch(v)
            lines.append(line)
        if w is not None:
            watches.append(w)
    return LeafLines(epoch, tuple(lines), tuple(watches))


# ---------------------------------------------------------------------- seeding

_HEX8 = r"(?:[1-9a-f][0-9a-f]{8,15}|[0-9a-f]{8})"  # "%08x": no leading zero past 8 digits
_HEX2 = r"(?:[1-9a-f][0-9a-f]{2,}|[0-9a-f]{2})"
_CANONICAL_PREFIX = re.compile(
    rf"{_HEX8}-{_HEX8} [r-][w-][x-][ps] (?P<off>{_HEX8}) {_HEX2}:{_HEX2} (?:0|[1-9][0-9]*) "
)


def seed_line(vma: Vma, text: str, offset: int, dev: tuple[int, int], ino: int) -> bool:
    """Adopt ``text`` (one maps line, no newline) as ``vma``'s cached line if it is
    byte for byte what a render would build; return whether it was adopted.

    ``offset``, ``dev`` and ``ino`` are the values parsed from ``text``; ``vma`` must
    have been built from that line and still be detached (``load_maps``). O(len(text)).
    """
    m = _CANONICAL_PREFIX.match(text)
    if m is None:
        return False
    file = vma.vm_file
    if file is None:
        if offset or dev != (0, 0) or ino:
            return False  # an anonymous line always prints 00000000 00:00 0
    elif offset != vma.vm_pgoff << PAGE_SHIFT or dev != file.inode.dev or ino != file.inode.ino:
        return False
    gen = vma._gen
    line, watch = _build_name_only(vma)
    n = m.end()
    if line is None:
        ok = len(text) == n
    else:
        at = max(n, NAME_COLUMN) + 1
        ok = text[at:] == line and text[n:at] == " " * (at - n)
    if not ok:
        return False
    vma._line = (gen, text + "\n", watch)
    return True


def _build_name_only(vma: Vma) -> tuple[str | None, Inode | None]:
    # The name _build() would print, without formatting the prefix.
    file = vma.vm_file
    if file is None:
        if vma.special_name is not None:
            return vma.special_name, None
        if vma.anon_name is not None:
            return f"[anon:{vma.anon_name}]", None
        return None, None
    if vma.anon_name is not None:
        return f"[anon_shmem:{vma.anon_name}]", None
    inode = file.inode
    watch = None if inode.unlinked else inode
    return escape_path(inode.display_path()), watch


def check_line_cache(mm: Mm) -> None:
    """O(n): every current cached line of ``mm`` equals a freshly built one, and so
    does every line of a leaf memo a render would use (:mod:`core.maps_memo`: of the
    current epoch, no watched inode unlinked, no VMA of the leaf reported changed).

    Call while no writer runs (tests). AssertionError names the first bad VMA or leaf.
    """
    memo = mm.maps_memo
    changed = {id(v) for v in memo.changed}
    for leaf in mm.tree.leaves():
        m = leaf.memo
        if m is None:
            continue
        assert isinstance(m, LeafLines), m
        vmas = [v for _, _, v in leaf.entries]
        if m.epoch != memo.epoch or _any_unlinked(m.watches) or changed & set(map(id, vmas)):
            continue  # a render rebuilds it
        built = [_build(v) for v in vmas]
        lines = tuple(line for line, _ in built)
        watches = tuple(w for _, w in built if w is not None)
        if m.lines != lines or m.watches != watches:
            raise AssertionError(f"stale maps memo of the leaf from {leaf.entries[0][0]:#x}")
    for _, _, vma in mm.tree:
        c = vma._line
        if c[0] == vma._gen and (c[2] is None or not c[2].unlinked):
            fresh = _build(vma)
            if c[1:] != fresh:
                raise AssertionError(f"stale cached maps line for {vma!r}: {c!r} != {fresh!r}")
