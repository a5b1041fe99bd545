"""``/proc/<pid>/maps`` text, byte for byte as fs/proc/task_mmu.c prints it (notes §7.1).

``show_vma_header_prefix`` + ``show_map_vma`` + ``get_vma_name``::

    SSSSSSSS-EEEEEEEE PPPP OOOOOOOO MM:mm INODE <pad to column 73>NAME

Addresses and offset are lowercase hex zero-padded to at least 8 digits, device numbers
to at least 2, the inode is decimal and always followed by one space. A named line is
padded with spaces to 72 characters, then one more space, so the name starts at column
73; an unnamed line ends with that single trailing space.

Each VMA's line prefix is built once and cached on the VMA, tagged with the VMA's
generation counter (bumped twice around every change of its fields), so a line read
while a writer changes the VMA is never cached as current.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .constants import PAGE_SHIFT, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE
from .vma import Vma

if TYPE_CHECKING:
    from .mm import Mm

NAME_COLUMN = 72  # seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)
GATE_LINE = (
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
    + " " * (NAME_COLUMN - 55)
    + " [vsyscall]\n"
)


def perms(flags: int) -> str:
    """``rwxp``/``rwxs`` from ``vm_flags`` (``s`` follows VM_MAYSHARE)."""
    return (
        ("r" if flags & VM_READ else "-")
        + ("w" if flags & VM_WRITE else "-")
        + ("x" if flags & VM_EXEC else "-")
        + ("s" if flags & VM_MAYSHARE else "p")
    )


def escape_path(path: str) -> str:
    """``seq_path(..., "\\n")``: a newline in a path is printed as ``\\012``."""
    return path.replace("\n", "\\012")


def _fixed_name(vma: Vma) -> str | None:
    # get_vma_name() steps 1-2 (and the imported-layout names): names that do not
    # depend on the mm's brk or stack fields.
    file = vma.vm_file
    if file is not None:
        if vma.anon_name is not None:
            return f"[anon_shmem:{vma.anon_name}]"
        return escape_path(file.inode.display_path())
    if vma.special_name is not None:
        return vma.special_name
    return None


def _build_prefix(vma: Vma) -> tuple[str, str | None]:
    file = vma.vm_file
    if file is not None:
        major, minor = file.inode.dev
        ino = file.inode.ino
        offset = vma.vm_pgoff << PAGE_SHIFT
    else:
        major = minor = ino = 0
        offset = 0
    prefix = (
        f"{vma.vm_start:08x}-{vma.vm_end:08x} {perms(vma.vm_flags)} "
        f"{offset:08x} {major:02x}:{minor:02x} {ino} "
    )
    return prefix, _fixed_name(vma)


def _pad(prefix: str) -> str:
    # seq_pad(m, ' '): spaces up to the width, then one more.
    return prefix.ljust(NAME_COLUMN) + " "


def vma_line(vma: Vma, brk: int, start_brk: int, start_stack: int) -> str:
    """One maps line for ``vma`` (with the newline). O(1) amortised (cached prefix).

    Caller holds something that keeps ``vma`` from being freed (RCU, a VMA lock or
    ``mmap_lock``); a torn read of a VMA being changed yields a line that is never
    cached.
    """
    gen = vma._gen
    cached = vma._line
    file = vma.vm_file
    # The name of a file mapping also changes when the file is unlinked.
    stamp = gen if file is None or not file.inode.unlinked else -1 - gen
    if cached is not None and cached[0] == stamp:
        line = cached[1]
    else:
        prefix, name = _build_prefix(vma)
        if name is not None:
            line = _pad(prefix) + name + "\n"
        else:
            line = prefix  # anonymous: the name may be derived below
        if not gen & 1 and vma._gen == gen:
            vma._line = (stamp, line)
    if line[-1] == "\n":
        return line
    # get_vma_name() steps 5-6: [heap] and [stack] are derived from the mm's fields.
    start, end = vma.vm_start, vma.vm_end
    if start <= brk and end >= start_brk:
        return _pad(line) + "[heap]\n"
    if start <= start_stack <= end:
        return _pad(line) + "[stack]\n"
    return line + "\n"


def render_maps(mm: Mm, entries: Iterable[tuple[int, int, Vma]], gate: bool = True) -> str:
    """The maps text of ``entries`` (tree entries in address order), plus the
    ``[vsyscall]`` gate line. O(n). Caller provides the consistency it needs."""
    brk, start_brk, start_stack = mm.cur_brk, mm.start_brk, mm.start_stack
    parts = [vma_line(e[2], brk, start_brk, start_stack) for e in entries]
    if gate and mm.show_gate:
        parts.append(GATE_LINE)
    return "".join(parts)
