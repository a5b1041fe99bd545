"""What one ``read()`` of a ``/proc`` file returns: ``seq_file`` (fs/seq_file.c).

Design note
===========

Every ``/proc/<pid>`` file the mount serves is a ``seq_file``: a sequence of records
(a maps line, an smaps block, or the whole text of a ``single_open`` file) produced by
an iterator (``seq_operations``: ``start``/``show``/``next``/``stop``), and a buffer of
``PAGE_SIZE`` bytes per open file. :class:`SeqFile` is ``seq_read_iter`` for one open
file, and a :class:`SeqSource` is its ``seq_operations``: :meth:`SeqSource.fill` is one
``start`` … ``show``/``next`` … ``stop`` walk, taking and dropping its own locks.

One ``read(fd, buf, count)`` (``seq_read_iter``):

1. If the file offset is not where the last read ended (``lseek``/``pread``), the
   position is recomputed from the start (``traverse``) and the buffer dropped.
2. Bytes left in the buffer by the previous read are copied first. If they do not all
   fit, the read returns without walking anything.
3. Otherwise one walk fills the buffer from the position (``m->index``): the first
   record always (the kernel doubles the buffer until it fits, and keeps the larger
   buffer), then further records while the buffer holds fewer bytes than the read
   still wants and the record fits the buffer (``seq_has_overflowed``).
4. As much of the buffer as the caller's ``count`` allows is returned; the rest stays
   for the next read, so a record cut by a small ``count`` is finished from the same
   walk, never re-read.

So a tool reading 1 KiB at a time (glibc stdio on ``/proc``: ``st_blksize`` is 1024)
makes walks of about 1 KiB of records; ``cat`` (128 KiB reads) makes walks of at most
4095 bytes. No lock is held between two reads: each walk starts where the previous
one stopped (for maps: after the end address of the last VMA shown).

Differences from fs/seq_file.c, none visible in the bytes a sequential reader gets:
``traverse`` re-walks one record per :meth:`SeqSource.fill` instead of one walk for
the whole skipped prefix, and a first record larger than the buffer is kept by the
same walk instead of by a second one with the doubled buffer. Sizes are counted in
characters of the records' text, which equals bytes for every ASCII record.

Locks: :class:`SeqFile` serialises its readers with one mutex (``m->lock``), held for
the walk of one read; a :class:`SeqSource` takes the engine locks it needs itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = ["PAGE_SIZE", "SeqChunk", "SeqFile", "SeqRead", "SeqSource", "SingleSource"]

PAGE_SIZE: Final = 4096
"""The buffer a ``seq_file`` starts with (``seq_buf_alloc(PAGE_SIZE)``)."""
_ENCODING: Final = "utf-8"


@dataclass(frozen=True, slots=True)
class SeqChunk:
    """One walk: its records (each a complete record's text), the position after the
    last one (``m->index``; the source's own encoding), and what the source wants to
    report about the walk (``info``: a :class:`~core.maps_reader.MapsSnapshot` for
    maps). No records means end of file."""

    records: tuple[str, ...]
    index: int
    info: object | None = None  # (not bare ``object``: mypyc cannot build that field)


class SeqSource(Protocol):
    """The ``seq_operations`` of a file."""

    def fill(self, index: int, size: int, want: int) -> SeqChunk:
        """One walk from position ``index`` (0: the start): the first record, then more
        while the total stays below ``want`` characters and each one keeps the total
        below ``size`` (the buffer). Takes and releases its own locks."""
        ...


class SingleSource:
    """``single_open``: the whole text is one record, rendered by ``render()`` when a
    read starts at position 0 (``single_start``/``single_next``)."""

    __slots__ = ("render",)

    def __init__(self, render: _Render) -> None:
        self.render = render

    def fill(self, index: int, size: int, want: int) -> SeqChunk:
        """O(render). The text once at position 0, then end of file."""
        if index != 0:
            return SeqChunk((), 1)
        text = self.render()
        return SeqChunk((text,) if text else (), 1)


class _Render(Protocol):
    def __call__(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SeqRead:
    """What one :meth:`SeqFile.read` did.

    ``data`` is what ``read()`` returned; ``from_buffer`` how many of its bytes were
    left in the buffer by an earlier walk; ``chunk`` the walk this read made (None:
    none, the buffer was enough or the file had ended before); ``first_record`` the
    number of records the file had produced before that walk (for maps: the line
    index of the walk's first line)."""

    offset: int
    count: int
    data: bytes
    from_buffer: int
    chunk: SeqChunk | None
    first_record: int

    @property
    def eof(self) -> bool:
        """True when nothing was returned (end of file)."""
        return not self.data


class SeqFile:
    """An open ``seq_file``: :meth:`read` is ``seq_read_iter``. Thread-safe (one mutex,
    like ``m->lock``); the position is per open file, as a file offset is."""

    def __init__(self, source: SeqSource, size: int = PAGE_SIZE) -> None:
        self.source = source
        self._lock = threading.Lock()
        self._size = size  # m->size
        self._index = 0  # m->index: the source's position for the next walk
        self._read_pos = 0  # m->read_pos: the file offset the last read ended at
        self._buf = b""  # m->buf[m->from:m->from + m->count]
        self._records = 0  # records produced since the start (line numbers for maps)

    @property
    def buffer_size(self) -> int:
        """``m->size``: PAGE_SIZE, doubled for every record that did not fit."""
        return self._size

    def read(self, count: int, offset: int | None = None) -> SeqRead:
        """``read(fd, buf, count)`` at file offset ``offset`` (None: where the last read
        ended). O(records of one walk) plus, after a seek, O(records before ``offset``)."""
        if count < 0 or (offset is not None and offset < 0):
            raise ValueError(f"read of {count} bytes at offset {offset} is invalid")
        with self._lock:
            if offset is None:
                offset = self._read_pos
            if count == 0:  # seq_read_iter(): nothing asked, nothing walked
                return SeqRead(offset, count, b"", 0, None, self._records)
            if offset != self._read_pos:
                self._traverse(offset)
            out = b""
            if self._buf:
                out = self._buf[:count]
                self._buf = self._buf[count:]
                if self._buf:  # the caller's buffer is full: no walk
                    self._read_pos += len(out)
                    return SeqRead(offset, count, out, len(out), None, self._records)
            from_buffer = len(out)
            first = self._records
            chunk = self.source.fill(self._index, self._size, count - from_buffer)
            self._index = chunk.index
            if chunk.records:
                self._records += len(chunk.records)
                while len(chunk.records[0]) >= self._size:  # "need a bigger buffer"
                    self._size <<= 1
                data = "".join(chunk.records).encode(_ENCODING, "surrogateescape")
                room = count - from_buffer
                out += data[:room]
                self._buf = data[room:]
            self._read_pos += len(out)
            return SeqRead(offset, count, out, from_buffer, chunk, first)

    def _traverse(self, offset: int) -> None:
        """``traverse``: the position from the start up to file offset ``offset``; the
        rest of the record containing it stays in the buffer. O(records before it)."""
        self._index = 0
        self._buf = b""
        self._records = 0
        pos = 0
        while pos < offset:
            chunk = self.source.fill(self._index, self._size, 1)  # one record per walk
            self._index = chunk.index
            if not chunk.records:
                break
            self._records += len(chunk.records)
            data = "".join(chunk.records).encode(_ENCODING, "surrogateescape")
            if pos + len(data) > offset:
                self._buf = data[offset - pos :]
                break
            pos += len(data)
        self._read_pos = offset

    def read_all(self, count: int = 128 * 1024) -> bytes:
        """Every remaining byte, ``count`` at a time (what ``cat`` does)."""
        parts: list[bytes] = []
        while True:
            got = self.read(count)
            if got.eof:
                return b"".join(parts)
            parts.append(got.data)
