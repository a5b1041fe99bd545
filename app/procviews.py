"""``/proc/<pid>/*`` views built from the engine's text.

``maps.json`` is derived from the *same* text ``GET /maps`` serves (one consistent
snapshot, read by the engine under ``mmap_lock`` for read), by parsing each line the
way ``show_map_vma`` (fs/proc/task_mmu.c) prints it: six space-separated header
fields, then the name starting at column 73 (or right after the header when it is
longer than 72 characters).
"""

from __future__ import annotations

from .schemas.common import hex_addr
from .schemas.maps import VmaOut, maps_lines, split_maps_line


class MapsParseError(ValueError):
    """A maps line does not have the kernel's shape (an engine bug)."""


def parse_maps_line(line: str) -> VmaOut:
    """One maps line (without its newline) as fields, psutil-compatible where psutil
    has the field (``addr``, ``perms``, ``path``; ``size`` in bytes). O(len(line)).

    >>> v = parse_maps_line("7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 ")
    >>> v.addr, v.start, v.size, v.path
    ('7ffff7ffd000-7ffff7fff000', '0x7ffff7ffd000', 8192, '')
    """
    try:
        rng, perms, offset, dev, inode, path = split_maps_line(line)
        start_s, end_s = rng.split("-")
        start, end = int(start_s, 16), int(end_s, 16)
        off = int(offset, 16)
        ino = int(inode)
    except ValueError:
        raise MapsParseError(f"maps line {line!r} does not have the kernel's shape") from None
    return VmaOut(
        addr=rng,
        start=hex_addr(start),
        end=hex_addr(end),
        perms=perms,
        offset=hex_addr(off),
        dev=dev,
        inode=ino,
        path=path,
        size=end - start,
    )


def parse_maps(text: str) -> list[VmaOut]:
    """Every line of a maps text (:func:`~app.schemas.maps.maps_lines`: split at
    newlines only). O(len(text))."""
    return [parse_maps_line(line) for line in maps_lines(text)]
