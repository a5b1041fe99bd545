"""Names of anonymous memory: ``prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, size, name)``
(kernel/sys.c ``prctl_set_vma``, mm/madvise.c ``madvise_set_anon_name``, 6.18).

A name is a VMA attribute like a flag: setting it on part of a VMA splits it, and
``is_mergeable_vma`` merges only VMAs whose names are equal (``anon_vma_name_eq``), so
neighbours named alike join again. Private anonymous memory shows it in maps as
``[anon:NAME]``, shared anonymous memory as ``[anon_shmem:NAME]``; ``[heap]`` and
``[stack]`` win over it (``get_vma_name``). A NULL name clears it.

Validation, in the kernel's order:

1. ``prctl``: an option other than ``PR_SET_VMA_ANON_NAME`` is EINVAL; so is every call
   on a kernel built without ``CONFIG_ANON_VMA_NAME`` (this host's;
   ``Kernel.config_anon_vma_name``).
2. The name is read as a C string of at most 79 bytes plus NUL (``strndup_user``:
   longer is EINVAL); each byte must be printable ASCII other than ``\\`$[]``
   (``is_valid_name_char``), else EINVAL. An empty name is valid (``[anon:]``).
3. The range: EINVAL for an unaligned start or a wrapping length; a zero length does
   nothing.
4. The walk (``madvise_walk_vmas``): each VMA part gets the name; a file-backed VMA
   (other than shared anonymous memory) stops the walk with EBADF, a split refused at
   ``vm.max_map_count`` with EAGAIN (madvise's ENOMEM -> EAGAIN); a hole in the range
   is ENOMEM returned after the mapped parts were named.

Sealed VMAs can be named (naming discards nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    ANON_VMA_NAME_INVALID_CHARS,
    ANON_VMA_NAME_MAX_LEN,
    EAGAIN,
    EBADF,
    EINVAL,
    ENOMEM,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    U64,
)
from .errors import InvalidArgument, SyscallError
from .pages import is_shmem
from .vma_lock import vma_start_write
from .vma_ops import MergeRange, vma_modify

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = ["madvise_set_anon_name", "validate_anon_name"]

_INVALID = frozenset(ANON_VMA_NAME_INVALID_CHARS.encode())


def validate_anon_name(name: str | bytes | None) -> str | None:
    """The name ``prctl_set_vma`` would store, or SyscallError(EINVAL).

    ``name`` is what the user pointer points to: ``None`` is NULL (clear the name);
    a ``str`` is encoded as UTF-8; the string ends at its first NUL byte, as C reads
    it. O(len(name)).
    """
    if name is None:
        return None
    if isinstance(name, str):
        raw = name.encode("utf-8", "surrogateescape")
    elif isinstance(name, bytes):
        raw = name
    else:
        raise InvalidArgument(f"anon name {name!r} must be a string, bytes or None")
    raw = raw.split(b"\0", 1)[0]
    if len(raw) + 1 > ANON_VMA_NAME_MAX_LEN:
        raise SyscallError(
            EINVAL,
            "prctl",
            f"name of {len(raw)} bytes exceeds {ANON_VMA_NAME_MAX_LEN - 1} (ANON_VMA_NAME_MAX_LEN)",
        )
    for i, byte in enumerate(raw):
        if not 0x1F < byte < 0x7F or byte in _INVALID:
            raise SyscallError(
                EINVAL, "prctl", f"name byte {i} ({byte:#04x}) is not a valid name character"
            )
    return raw.decode("ascii")


def _is_anon_shmem(vma: Vma) -> bool:
    # vma_is_anon_shmem(): shared anonymous memory (the only shmem files simulated).
    file = vma.vm_file
    return file is not None and is_shmem(file.inode)


def _update_name(mm: Mm, vma: Vma, prev: Vma | None, start: int, end: int, name: str | None) -> Vma:
    # madvise_update_vma() with __MADV_SET_ANON_VMA_NAME: vma_modify_name().
    if vma.anon_name == name:
        return vma
    try:
        result = vma_modify(
            mm,
            MergeRange(
                start,
                end,
                vma.vm_pgoff + ((start - vma.vm_start) >> PAGE_SHIFT),
                vma.vm_flags,
                vma.vm_file,
                vma.anon_vma,
                name,
                prev,
                mm.find_vma(vma.vm_end),
                middle=vma,
            ),
        )
    except SyscallError as exc:
        if exc.errno == ENOMEM:  # madvise() returns EAGAIN for kernel resources
            raise SyscallError(EAGAIN, "prctl", exc.detail) from None
        raise
    vma_start_write(mm.mmap_lock, result)
    result.set_anon_name(name)
    mm._cycle_dirty = True
    return result


def madvise_set_anon_name(mm: Mm, start: int, length: int, name: str | None) -> None:
    """``madvise_set_anon_name``: name (or, with ``None``, unname) the anonymous memory
    of ``[start, start + length)``. Caller holds ``mmap_lock`` for write. O(k log n)."""
    if start & ~PAGE_MASK:
        raise SyscallError(EINVAL, "prctl", f"address {start:#x} is not page aligned")
    aligned = ((length + PAGE_SIZE - 1) & PAGE_MASK) % U64
    if length and not aligned:
        raise SyscallError(EINVAL, "prctl", f"size {length:#x} wraps when page aligned")
    end = start + aligned
    if end >= U64:
        raise SyscallError(EINVAL, "prctl", f"range {start:#x}+{aligned:#x} wraps")
    if end == start:
        return
    # madvise_walk_vmas()
    vma = mm.find_vma(start)
    prev = mm._prev_vma(start)
    if vma is not None and start > vma.vm_start:
        prev = vma
    unmapped = False
    while True:
        if vma is None:
            raise SyscallError(ENOMEM, "prctl", f"no mapping at or after {start:#x}")
        if start < vma.vm_start:
            unmapped = True  # a gap: carry on, report ENOMEM at the end
            start = vma.vm_start
            if start >= end:
                break
        range_end = min(vma.vm_end, end)
        if vma.vm_file is not None and not _is_anon_shmem(vma):
            raise SyscallError(EBADF, "prctl", f"VMA at {vma.vm_start:#x} maps a file")
        vma = _update_name(mm, vma, prev, start, range_end, name)
        prev = vma
        range_end = max(range_end, vma.vm_end)
        if range_end >= end:
            break
        mm.pause("prctl:between_vmas")
        vma = mm.find_vma(vma.vm_end)
        start = range_end
    if unmapped:
        raise SyscallError(ENOMEM, "prctl", "part of the range is not mapped")
