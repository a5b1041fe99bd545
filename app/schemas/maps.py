"""``/proc`` views, maps snapshots and their streams."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from core.maps_reader import DEFAULT_MAX_RETRIES as DEFAULT_MAX_RETRIES
from core.maps_reader import Reader
from core.maps_reader import SmapsReader as SmapsReader

from .common import HexStr

# -- /proc views -------------------------------------------------------------------------

NAME_COLUMN = 73
"""The column a maps line's name starts at: ``seq_setwidth(m, 25 + sizeof(void *) * 6
- 1)`` then one pad space (``show_map_vma``, fs/proc/task_mmu.c)."""


def maps_lines(text: str) -> list[str]:
    """The lines of a maps text, without their newlines. O(len(text)).

    Split at ``"\\n"`` only: it is the one character ``show_map_vma`` escapes in a path
    (``seq_file_path(m, file, "\\n")``, fs/proc/task_mmu.c, prints it as ``\\012``),
    so a path may hold ``\\r``, ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``, ``\\x85``,
    ``\\u2028`` or ``\\u2029``, at which ``str.splitlines()`` would also split.

    >>> maps_lines("a\\rb\\n\\u2028c\\n")
    ['a\\rb', '\\u2028c']
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def split_maps_line(line: str) -> tuple[str, str, str, str, str, str]:
    """A maps line (no newline) as ``(range, perms, offset, dev, inode, name)``: five
    fields each followed by one space, then the name from :data:`NAME_COLUMN` (or right
    after the inode when the header is longer), ``""`` when there is none. The name is
    kept as printed: it may start or end with spaces or any other character but a
    newline. Raises ``ValueError`` for a line without the five fields. O(len(line)).

    >>> split_maps_line("7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 ")[5]
    ''
    """
    parts = line.split(" ", 5)
    if len(parts) != 6:
        raise ValueError(f"maps line {line!r} has fewer than 6 fields")
    rng, perms, offset, dev, inode, _rest = parts
    header = len(rng) + len(perms) + len(offset) + len(dev) + len(inode) + 5  # + spaces
    name = line[max(header, NAME_COLUMN - 1) + 1 :] if len(line) > header else ""
    return rng, perms, offset, dev, inode, name


class VmaOut(BaseModel):
    """One maps line as fields. ``addr``, ``perms``, ``path`` and ``size`` have
    psutil's ``memory_maps(grouped=False)`` names and formats."""

    addr: str = Field(description="psutil style: start-end in hex without 0x")
    start: HexStr
    end: HexStr
    perms: str = Field(examples=["rw-p"])
    offset: HexStr
    dev: str = Field(examples=["fe:00"])
    inode: int
    path: str = Field(description="file path, [heap]/[stack]/..., or empty")
    size: int = Field(description="bytes")


MapsReader = Reader

_SNAPSHOT_EXAMPLE: dict[str, Any] = {
    "reader": "seqcount",
    "seq_begin": 12,
    "seq_end": 12,
    "attempts": 1,
    "fell_back": False,
    "fallbacks": 0,
    "generation": 5,
    "consistent": True,
    "chunks": 1,
    "torn_at": [],
    "retry_reasons": [],
    "hold": {
        "rcu_ns": 41000,
        "mmap_lock_read_ns": 0,
        "mmap_lock_wait_ns": 0,
        "vma_read_ns": 0,
        "vma_read_max_ns": 0,
    },
}


class LockHoldOut(BaseModel):
    """Nanoseconds the read held (or waited for) each lock; ``*_max_ns`` the longest
    single hold."""

    rcu_ns: int
    mmap_lock_read_ns: int
    mmap_lock_wait_ns: int
    vma_read_ns: int
    vma_read_max_ns: int


class SnapshotMeta(BaseModel):
    """How one maps snapshot was read (``core.maps_reader.MapsSnapshot``).

    ``seq_begin``/``seq_end``: ``mm_lock_seq`` at the start and end of the walk that
    produced the lines (odd: a writer held ``mmap_lock``). ``attempts``: walks made
    (seqcount: at most ``max_retries + 1``). ``fell_back``: ``mmap_lock`` was taken
    for read (``fallbacks`` times). ``generation``: the layout generation the walk saw.
    ``consistent``: no write-lock cycle overlapped the walk. ``torn_at``: indices of
    lines that may show a later moment than the line before them (per_vma only).
    ``chunks``: seq_file reads the snapshot was assembled from."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SNAPSHOT_EXAMPLE]})

    reader: MapsReader
    seq_begin: int
    seq_end: int
    attempts: int
    fell_back: bool
    fallbacks: int
    generation: int
    consistent: bool
    chunks: int
    torn_at: list[int]
    retry_reasons: list[str]
    hold: LockHoldOut


class MapsOut(BaseModel):
    """The same snapshot as ``GET /processes/{pid}/maps``, as fields."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pid": 1000,
                    "count": 1,
                    "snapshot": _SNAPSHOT_EXAMPLE,
                    "vmas": [
                        {
                            "addr": "7ffff7ffd000-7ffff7fff000",
                            "start": "0x7ffff7ffd000",
                            "end": "0x7ffff7fff000",
                            "perms": "rw-p",
                            "offset": "0x0",
                            "dev": "00:00",
                            "inode": 0,
                            "path": "",
                            "size": 8192,
                        }
                    ],
                }
            ]
        }
    )

    pid: int
    count: int
    snapshot: SnapshotMeta = Field(description="how the snapshot was read (as /maps headers)")
    vmas: list[VmaOut]


# -- maps snapshots, streams and pause points (app/snapshots.py, app/routes/stream.py,
# app/routes/pause.py) ---------------------------------------------------------------------


class MapsGroupOut(BaseModel):
    """Consecutive maps lines summarised (``format=overview``): the first line as
    printed, the end of the last, how many lines and how many bytes they map."""

    line: str = Field(description="the group's first maps line, without the newline")
    end: str = Field(description="end of the group's last VMA (0x...)")
    vmas: int = Field(description="maps lines in the group")
    size: int = Field(description="bytes mapped by them (holes between them excluded)")


class OverviewOut(BaseModel):
    """How the runs of a ``format=overview`` snapshot were computed."""

    source: Literal["tree", "lines"] = Field(
        description="tree (readers seqcount and mmap_lock): summed from the VMAs of the "
        "one tree version the read validated (`snapshot`: consistent, seq_begin == "
        "seq_end), each run's first line rendered in the same read section: the runs "
        "the text of that read would give, without rendering it; lines (per_vma): "
        "summarised from the read's lines, which may show different moments (`torn_at`)"
    )
    reused: bool = Field(
        description="tree: the runs' sums were those of an earlier validated read of the "
        "same layout `generation` (only the first lines were rendered again)"
    )


class MapsStreamItem(BaseModel):
    """One snapshot of a maps stream (a JSON line, or the data of an SSE ``snapshot``
    event). ``index`` counts the snapshots sent (0-based), ``elapsed`` is seconds since
    the stream started; the VMAs as fields (``format=vmas``) or the kernel's text
    (``format=text``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "index": 0,
                    "pid": 1000,
                    "elapsed": 0.0,
                    "count": 1,
                    "snapshot": _SNAPSHOT_EXAMPLE,
                    "vmas": [
                        {
                            "addr": "7ffff7ffd000-7ffff7fff000",
                            "start": "0x7ffff7ffd000",
                            "end": "0x7ffff7fff000",
                            "perms": "rw-p",
                            "offset": "0x0",
                            "dev": "00:00",
                            "inode": 0,
                            "path": "",
                            "size": 8192,
                        }
                    ],
                }
            ]
        }
    )

    index: int
    pid: int
    elapsed: float
    count: int = Field(description="number of maps lines")
    snapshot: SnapshotMeta
    vmas: list[VmaOut] | None = None
    text: str | None = None
    groups: list[MapsGroupOut] | None = Field(
        default=None,
        description="format=overview: the lines in at most `groups` runs of consecutive "
        "lines (the [vsyscall] gate line a run of its own)",
    )
    overview: OverviewOut | None = Field(
        default=None, description="format=overview: how the runs were computed"
    )


MapsOut.model_rebuild()
