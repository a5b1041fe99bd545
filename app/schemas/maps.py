"""``/proc`` views, maps snapshots and their streams."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from core.maps_reader import DEFAULT_MAX_RETRIES as DEFAULT_MAX_RETRIES
from core.maps_reader import Reader

from .common import HexStr

# -- /proc views -------------------------------------------------------------------------


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


MapsOut.model_rebuild()
