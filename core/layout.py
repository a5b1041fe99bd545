"""Initial address-space layouts: a typical process, or one read from real maps text.

``load_maps`` rebuilds VMAs from the text of a real ``/proc/<pid>/maps``: addresses,
permissions, offsets, devices, inodes and names are kept exactly, so the simulated
process prints the same text back. The ``[vsyscall]`` gate line is not a VMA: it is
printed again exactly when the input had it (a machine booted with ``vsyscall=none``
has none). What the text cannot say is chosen the way the kernel would have set it for
such a mapping: ``VM_MAY*`` bits, ``VM_ACCOUNT`` on private writable memory,
``VM_GROWSDOWN`` on ``[stack]``, ``VM_SHARED`` on writable shared mappings.

The mm fields the layout implies are derived as ``execve`` would have set them
(:func:`derive_mm_fields`), so the imported process behaves like the real one:

* ``mmap_base``, the top of the top-down mmap area: the end of the highest mapping
  below the stack's reserved gap that is not the program, its heap or its stack (the
  dynamic loader, mapped first at ``mmap_base``; or a static program's vDSO). New
  mmaps are then placed where the real process would place them. Without a
  ``[stack]`` line the default stays.
* ``start_brk``/``brk``: the first ``[heap]`` line's start and the last one's end (a
  heap split by ``mprotect`` prints several ``[heap]`` lines); without a heap, the end
  of the program's image (where ``load_elf_binary`` puts an unrandomised break).
* ``start_code``/``end_code`` (``VmExe``, statm's ``text``): the program's executable
  mappings, the program being the file mapped at offset 0 just below the heap (or,
  without a heap, the lowest one that is not a shared library).

The "typical" layout is ``/usr/bin/sleep``-like, captured on the 6.18 host with
``setarch -R`` (no randomisation), without the locale files.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .constants import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    STACK_GUARD_GAP,
    TASK_SIZE,
    VM_ACCOUNT,
    VM_DONTDUMP,
    VM_DONTEXPAND,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_IO,
    VM_MAYEXEC,
    VM_MAYREAD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
)
from .errors import LayoutError
from .files import SHMEM_DEV, OpenFile
from .procfs import seed_line
from .vma import Vma
from .vma_ops import store_new

if TYPE_CHECKING:
    from .mm import Mm
    from .process import Process

TYPICAL_MAPS = """\
555555554000-555555556000 r--p 00000000 fe:00 260131                     /usr/bin/sleep
555555556000-55555555b000 r-xp 00002000 fe:00 260131                     /usr/bin/sleep
55555555b000-55555555e000 r--p 00007000 fe:00 260131                     /usr/bin/sleep
55555555e000-55555555f000 r--p 00009000 fe:00 260131                     /usr/bin/sleep
55555555f000-555555560000 rw-p 0000a000 fe:00 260131                     /usr/bin/sleep
555555560000-555555581000 rw-p 00000000 00:00 0                          [heap]
7ffff7dd2000-7ffff7dd5000 rw-p 00000000 00:00 0 
7ffff7dd5000-7ffff7dfb000 r--p 00000000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7ffff7dfb000-7ffff7f51000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7ffff7f51000-7ffff7fa4000 r--p 0017c000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7ffff7fa4000-7ffff7fa8000 r--p 001cf000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7ffff7fa8000-7ffff7faa000 rw-p 001d3000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7ffff7faa000-7ffff7fb7000 rw-p 00000000 00:00 0 
7ffff7fc0000-7ffff7fc2000 rw-p 00000000 00:00 0 
7ffff7fc2000-7ffff7fc6000 r--p 00000000 00:00 0                          [vvar]
7ffff7fc6000-7ffff7fc8000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]
7ffff7fca000-7ffff7fcb000 r--p 00000000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7fcb000-7ffff7ff1000 r-xp 00001000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ff1000-7ffff7ffb000 r--p 00027000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ffb000-7ffff7ffd000 r--p 00031000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ffd000-7ffff7fff000 rw-p 00033000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
"""

LAYOUTS = ("empty", "typical")

_LINE = re.compile(
    r"^(?P<start>[0-9a-f]{8,16})-(?P<end>[0-9a-f]{8,16}) "
    r"(?P<perms>[r-][w-][x-][ps]) (?P<offset>[0-9a-f]{8,16}) "
    r"(?P<major>[0-9a-f]{2,3}):(?P<minor>[0-9a-f]{2,5}) (?P<ino>\d+) ?(?P<name>.*)$"
)
_SPECIAL = {"[vdso]", "[vvar]", "[vvar_vclock]", "[uprobes]", "[vectors]", "[sigpage]"}
_GATE_START = 0xFFFFFFFFFF600000


def apply_layout(proc: Process, layout: str) -> None:
    """Give a new process one of :data:`LAYOUTS`. LayoutError for an unknown name."""
    if layout == "empty":
        return
    if layout == "typical":
        load_maps(proc, TYPICAL_MAPS)
        return
    raise LayoutError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


Row = tuple[int, int, str, int, tuple[int, int], int, str, str]


def _parse(text: str) -> tuple[list[Row], bool]:
    """The rows of ``text`` and whether it had the ``[vsyscall]`` gate line."""
    if not isinstance(text, str):
        raise LayoutError(f"maps text must be a string, not {type(text).__name__}")
    rows: list[Row] = []
    gate = False
    prev_end = 0
    # Lines end at "\n" only: the one character a maps path cannot hold unescaped.
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            raise LayoutError(f"line {lineno} is not a maps line: {line[:80]!r}")
        start, end = int(m["start"], 16), int(m["end"], 16)
        if start == _GATE_START:
            gate = True  # the gate VMA is printed by the kernel, not stored in the mm
            continue
        if start & ~PAGE_MASK or end & ~PAGE_MASK:
            raise LayoutError(f"line {lineno}: range {start:#x}-{end:#x} is not page aligned")
        if not start < end or end > TASK_SIZE + PAGE_SIZE:
            raise LayoutError(f"line {lineno}: range {start:#x}-{end:#x} is empty or too high")
        if start < prev_end:
            raise LayoutError(
                f"line {lineno}: {start:#x} overlaps or precedes the previous line's end "
                f"{prev_end:#x}"
            )
        offset = int(m["offset"], 16)
        if offset & ~PAGE_MASK:
            raise LayoutError(f"line {lineno}: offset {offset:#x} is not page aligned")
        prev_end = end
        dev = (int(m["major"], 16), int(m["minor"], 16))
        rows.append((start, end, m["perms"], offset, dev, int(m["ino"]), m["name"].strip(), line))
    return rows, gate


def _program(rows: list[Row], heaps: list[tuple[int, int]]) -> Row | None:
    """The row starting the program's image: a private file mapping at offset 0 that
    ends just below the heap (the break follows the image, at most 1 GiB above it with
    ASLR); without a heap, the lowest such mapping whose name is not a shared library's."""
    firsts = [row for row in rows if row[6].startswith("/") and row[3] == 0 and row[2][3] == "p"]
    if not firsts:
        return None
    if heaps:
        ends: dict[tuple[str, tuple[int, int], int], int] = {}
        for row in rows:
            key = (row[6], row[4], row[5])
            ends[key] = max(ends.get(key, 0), row[1])
        below = [r for r in firsts if ends[(r[6], r[4], r[5])] <= heaps[0][0]]
        if below:
            return max(below, key=lambda r: ends[(r[6], r[4], r[5])])
    programs = [r for r in firsts if ".so" not in r[6].rsplit("/", 1)[-1]]
    return (programs or firsts)[0]


def derive_mm_fields(mm: Mm, rows: list[Row]) -> None:
    """Set ``mm``'s ``mmap_base``, ``start_brk``/``brk``, ``start_stack`` and the
    code/data bounds from an imported layout (see the module docstring). O(n)."""
    heaps = [(start, end) for start, end, *_, name, _line in rows if name == "[heap]"]
    stacks = [(start, end) for start, end, *_, name, _line in rows if name == "[stack]"]
    exe = _program(rows, heaps)
    image_end = 0
    not_mmap = {start for start, *_, name, _line in rows if name in ("[heap]", "[stack]")}
    if exe is not None:
        name, dev, ino = exe[6], exe[4], exe[5]
        image = [row for row in rows if (row[6], row[4], row[5]) == (name, dev, ino)]
        code = [row for row in image if row[2][2] == "x"]
        if code:
            mm.start_code = min(row[0] for row in code)
            mm.end_code = max(row[1] for row in code)
        mm.start_data, mm.end_data = image[-1][0], image[-1][1]
        not_mmap |= {row[0] for row in image}
        # The image ends with its last file mapping, or the bss after it.
        image_end = image[-1][1]
        for start, end, _perms, _off, _dev, _ino, rname, _line in rows:
            if start == image_end and not rname:
                image_end = end
                not_mmap.add(start)
                break
    if heaps:
        mm.start_brk, mm.cur_brk = heaps[0][0], heaps[-1][1]
    elif image_end:
        mm.start_brk = mm.cur_brk = image_end
    if stacks:
        stack_start, stack_end = stacks[-1]
        mm.start_stack = stack_end - PAGE_SIZE
        # mmap_base() leaves at least RLIMIT_STACK plus the guard gap below the stack
        # top, and the first top-down mapping (ld.so, or a static program's vDSO) ends
        # exactly at mmap_base: the highest end of a mapping that is neither the
        # program's image, its heap nor its stack. (With an unlimited stack the mmap
        # area is below the program.)
        ceiling = min(stack_end - mm.stack_rlimit - STACK_GUARD_GAP, stack_start)
        tops = [end for start, end, *_ in rows if start not in not_mmap and end <= ceiling]
        if tops:
            mm.mmap_base = max(tops)


def load_maps(proc: Process, text: str) -> None:
    """Populate ``proc`` (which must have no VMAs) from maps ``text``. O(n log n).

    Raises LayoutError naming the first bad line; nothing is changed in that case.
    """
    rows, gate = _parse(text)
    mm = proc.mm
    if len(rows) > mm.max_map_count:
        raise LayoutError(f"{len(rows)} mappings exceed max_map_count {mm.max_map_count}")
    files: dict[tuple[str, tuple[int, int], int, bool], OpenFile] = {}
    with mm._write_locked("load_maps"):
        if mm.map_count:
            raise LayoutError("the process already has mappings")
        for start, end, perms, offset, dev, ino, name, line in rows:
            flags = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
            flags |= (VM_READ if perms[0] == "r" else 0) | (VM_WRITE if perms[1] == "w" else 0)
            flags |= VM_EXEC if perms[2] == "x" else 0
            shared = perms[3] == "s"
            file: OpenFile | None = None
            special: str | None = None
            anon_name: str | None = None
            pgoff = offset >> PAGE_SHIFT
            if name.startswith("/") or (shared and ino):
                path = name.removesuffix(" (deleted)") if name else f"/anon-inode-{ino}"
                deleted = name.endswith(" (deleted)")
                key = (path, dev, ino, shared and perms[1] == "w")
                file = files.get(key)
                if file is None:
                    if dev == SHMEM_DEV or deleted:
                        inode = mm.fs.new_shmem(0) if path == "/dev/zero" else None
                        if inode is None:
                            from .files import Inode

                            inode = Inode(path, ino, dev, 0, unlinked=True)
                        inode.ino, inode.dev = ino, dev
                    else:
                        inode = mm.fs.add_existing(path, dev, ino, 0)
                    file = OpenFile(inode, True, key[3])
                    files[key] = file
                else:
                    file.get()
                file.inode.size = max(file.inode.size, offset + end - start)
            elif name in _SPECIAL:
                special = name
                if name == "[vdso]":
                    flags |= VM_DONTEXPAND
                else:
                    flags = (flags & VM_READ) | VM_MAYREAD | VM_IO | VM_PFNMAP
                    flags |= VM_DONTEXPAND | VM_DONTDUMP
            elif name.startswith("[anon:") and name.endswith("]"):
                anon_name = name[6:-1]
            elif name == "[stack]":
                flags |= VM_GROWSDOWN
            elif name == "[heap]":
                pass  # a label derived from start_brk/brk (derive_mm_fields)
            elif name:
                special = name  # another bracketed name: keep it verbatim
            if shared:
                flags |= VM_MAYSHARE | (VM_SHARED if perms[1] == "w" else 0)
                if perms[1] != "w" and file is not None and not file.writable:
                    flags &= ~VM_MAYWRITE
            elif file is None and special is None:
                pgoff = start >> PAGE_SHIFT
            if flags & (VM_WRITE | VM_SHARED) == VM_WRITE and special is None:
                flags |= VM_ACCOUNT
            vma = Vma.new(mm, start, end, flags, pgoff, file, special)
            vma.anon_name = anon_name
            # The parsed line becomes the VMA's cached maps line when it is exactly
            # what a render would print, so the first render formats nothing.
            seed_line(vma, line, offset, dev, ino)
            store_new(mm, vma)
            mm.vm_stat_account(flags, (end - start) >> PAGE_SHIFT)
            if flags & VM_ACCOUNT:
                # The imported process charged its private writable memory when it
                # mapped it: Committed_AS includes it (no overcommit check now).
                mm.kernel.commit.acct((end - start) >> PAGE_SHIFT)
        derive_mm_fields(mm, rows)
        mm.show_gate = gate
