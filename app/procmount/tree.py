"""The procfs tree a mount shows, independent of FUSE: paths, attributes, open files,
reads, the per-file reader choice, the read log and the mount's own counters.

::

    /                 meminfo  vmstat  <pid>...
    /<pid>/           cmdline comm maps smaps smaps_rollup stat statm status

Every open file is a :class:`core.seq_file.SeqFile`, so each ``read()`` a tool makes is
one ``seq_read_iter`` (one walk by the chosen reader, no lock held between reads).
Where the files come from is a :class:`Backend`: :class:`LocalBackend` (an engine in
this process) or :class:`app.procmount.remote.RemoteBackend` (a running service).

The maps reader is chosen per mount (``--reader``) and per file: the extended attribute
``user.vmasim.reader`` of ``<pid>/maps`` (or ``<pid>/smaps``) overrides it for the
files opened after it was set, e.g. ``setfattr -n user.vmasim.reader -v per_vma
DIR/1000/maps``; removing it restores the mount's default.

Thread-safe: FUSE calls these methods from several threads. One lock guards the
handle table, the overrides and the counters; it is never held during a read.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

from core import Kernel, MapsSnapshot, NoSuchProcess
from core.errors import InvalidArgument
from core.maps_reader import DEFAULT_MAX_RETRIES, DEFAULT_READER, Reader, check_reader
from core.proc_pid import (
    DEFAULT_SMAPS_READER,
    MACHINE_FILES,
    PID_FILES,
    SMAPS_READERS,
    SmapsChunk,
    open_machine_file,
    open_pid_file,
)
from core.seq_file import PAGE_SIZE, SeqFile, SeqRead

READER_XATTR = "user.vmasim.reader"
"""The extended attribute that selects the reader of one ``maps``/``smaps`` file."""
BLKSIZE = 1024
"""``st_blksize`` of every file, as procfs reports it: glibc stdio then reads /proc
files 1 KiB at a time, and so it reads the mount."""


Extra = Callable[[], tuple[tuple[str, int], ...]]
"""The mount's own ``vmstat`` lines, read when the file is read."""


class ProcError(OSError):
    """A failed file operation, with the errno FUSE answers."""

    def __init__(self, code: int, what: str = "") -> None:
        super().__init__(code, os.strerror(code) + (f": {what}" if what else ""))


@dataclass(frozen=True)
class Options:
    """The mount's defaults: the maps reader, the smaps walk and seqcount's retries."""

    maps_reader: Reader = DEFAULT_READER
    smaps_reader: str = DEFAULT_SMAPS_READER
    max_retries: int = DEFAULT_MAX_RETRIES
    uid: int = field(default_factory=os.getuid)
    gid: int = field(default_factory=os.getgid)

    def __post_init__(self) -> None:
        check_reader(self.maps_reader)
        check_smaps_reader(self.smaps_reader)


def check_smaps_reader(reader: str) -> str:
    """``reader`` if it names a smaps walk; InvalidArgument naming the choices if not."""
    if reader not in SMAPS_READERS:
        raise InvalidArgument(
            f"unknown smaps reader {reader!r}; choose one of {', '.join(SMAPS_READERS)}"
        )
    return reader


class Backend(Protocol):
    """Where the files come from."""

    def pids(self) -> list[int]:
        """The live pids, ascending."""
        ...

    def has_pid(self, pid: int) -> bool: ...

    def open_pid_file(
        self, pid: int, name: str, reader: str, options: Options, buffer_size: int = PAGE_SIZE
    ) -> SeqFile:
        """Open ``/proc/<pid>/<name>`` (``reader``: the maps or smaps reader for those two
        files). Raises ``NoSuchProcess``."""
        ...

    def open_machine_file(self, name: str, extra: Extra) -> SeqFile:
        """Open ``/proc/meminfo`` or ``/proc/vmstat`` (``extra()``: the mount's own lines)."""
        ...


class LocalBackend:
    """The engine of this process. ``kernel()`` returns the current :class:`core.Kernel`
    (the service may replace it when it restores a saved state)."""

    def __init__(self, kernel: Callable[[], Kernel]) -> None:
        self._kernel = kernel

    def pids(self) -> list[int]:
        return [p.pid for p in self._kernel().processes()]

    def has_pid(self, pid: int) -> bool:
        try:
            self._kernel().get(pid)
        except NoSuchProcess:
            return False
        return True

    def open_pid_file(
        self, pid: int, name: str, reader: str, options: Options, buffer_size: int = PAGE_SIZE
    ) -> SeqFile:
        proc = self._kernel().get(pid)
        return open_pid_file(
            proc,
            name,
            maps_reader=check_reader(reader) if name == "maps" else options.maps_reader,
            smaps_reader=reader if name == "smaps" else options.smaps_reader,
            max_retries=options.max_retries,
            uid=options.uid,
            gid=options.gid,
            buffer_size=buffer_size,
        )

    def open_machine_file(self, name: str, extra: Extra) -> SeqFile:
        return open_machine_file(self._kernel(), name, extra)


# -- counters --------------------------------------------------------------------------


class ReadCounters:
    """What the mount's maps and smaps walks did, summed since the mount started; shown
    as the last lines of ``vmstat`` (``vmasim_*``: the simulator's, not the kernel's)."""

    NAMES = (
        "vmasim_maps_walks",
        "vmasim_maps_seqcount_retry",
        "vmasim_maps_seqcount_fallback",
        "vmasim_maps_per_vma_retry",
        "vmasim_maps_per_vma_fallback",
        "vmasim_maps_per_vma_torn",
        "vmasim_maps_mmap_lock_walks",
        "vmasim_smaps_walks",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(self.NAMES, 0)

    def count(self, info: object) -> None:
        """Add one walk's provenance (a MapsSnapshot or SmapsChunk). O(1)."""
        with self._lock:
            v = self._values
            if isinstance(info, MapsSnapshot):
                if not info.lines and not info.attempts:
                    return  # end of file: no walk
                v["vmasim_maps_walks"] += 1
                if info.reader == "seqcount":
                    v["vmasim_maps_seqcount_retry"] += len(info.retry_reasons)
                    v["vmasim_maps_seqcount_fallback"] += info.fallbacks
                elif info.reader == "per_vma":
                    v["vmasim_maps_per_vma_retry"] += info.attempts - 1
                    v["vmasim_maps_per_vma_fallback"] += info.fallbacks
                    v["vmasim_maps_per_vma_torn"] += len(info.torn_at)
                else:
                    v["vmasim_maps_mmap_lock_walks"] += 1
            elif isinstance(info, SmapsChunk):
                v["vmasim_smaps_walks"] += 1

    def lines(self) -> tuple[tuple[str, int], ...]:
        with self._lock:
            return tuple(self._values.items())


# -- the read log ------------------------------------------------------------------------


def walk_record(read: SeqRead) -> dict[str, object] | None:
    """The walk of one read as JSON-able fields (torn lines as line numbers of the
    file), or None if the read made no walk."""
    chunk = read.chunk
    if chunk is None:
        return None
    info = chunk.info
    first = read.first_record
    if isinstance(info, MapsSnapshot):
        return {
            "reader": info.reader,
            "first_line": first,
            "lines": len(info.lines),
            "pos_begin": info.pos_begin,
            "pos_end": info.pos_end,
            "seq_begin": info.seq_begin,
            "seq_end": info.seq_end,
            "consistent": info.consistent,
            "attempts": info.attempts,
            "fallbacks": info.fallbacks,
            "torn_at": [first + i for i in info.torn_at],
            "retry_reasons": list(info.retry_reasons),
        }
    if isinstance(info, SmapsChunk):
        return {
            "reader": info.reader,
            "first_block": first,
            "blocks": info.blocks,
            "pos_begin": info.pos_begin,
            "pos_end": info.pos_end,
            "seq": info.seq,
            "mmap_lock_wait_ns": info.mmap_lock_wait_ns,
            "mmap_lock_read_ns": info.mmap_lock_read_ns,
        }
    return {"records": len(chunk.records), "first_record": first}


class ReadLog:
    """One JSON line per ``read()`` served (``--read-log FILE``): the path, offset and
    count asked, bytes returned, how many came from the buffer, and the walk's
    provenance (:func:`walk_record`). Flushed per line, so a test or a person can follow
    it while tools read."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, path: str, fh: int, read: SeqRead) -> None:
        entry = {
            "t": time.monotonic(),
            "path": path,
            "fh": fh,
            "offset": read.offset,
            "count": read.count,
            "returned": len(read.data),
            "from_buffer": read.from_buffer,
            "walk": walk_record(read),
        }
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


# -- the tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A resolved path: the root, a pid directory, a pid file or a machine file."""

    kind: str  # "root" | "pid" | "pid_file" | "machine_file"
    pid: int = 0
    name: str = ""


class ProcTree:
    """The tree over a :class:`Backend` with the mount's :class:`Options`."""

    def __init__(
        self, backend: Backend, options: Options | None = None, log: ReadLog | None = None
    ) -> None:
        self.backend = backend
        self.options = options if options is not None else Options()
        self.log = log
        self.counters = ReadCounters()
        self.started_ns = time.time_ns()  # every entry's times (use_ns: nanoseconds)
        self._lock = threading.Lock()
        self._handles: dict[int, tuple[str, SeqFile]] = {}
        self._ids = itertools.count(1)
        self._readers: dict[tuple[int, str], str] = {}

    # -- paths -------------------------------------------------------------------------

    def resolve(self, path: str) -> Node:
        """The node at ``path`` (``/``, ``/meminfo``, ``/1000``, ``/1000/maps``);
        ENOENT otherwise. O(1) plus a process-table lookup."""
        parts = [p for p in path.split("/") if p]
        if not parts:
            return Node("root")
        head = parts[0]
        if len(parts) == 1 and head in MACHINE_FILES:
            return Node("machine_file", name=head)
        if not head.isdigit() or head != str(int(head)) or len(parts) > 2:
            raise ProcError(errno.ENOENT, path)
        pid = int(head)
        if not self.backend.has_pid(pid):
            raise ProcError(errno.ENOENT, path)
        if len(parts) == 1:
            return Node("pid", pid)
        if parts[1] not in PID_FILES:
            raise ProcError(errno.ENOENT, path)
        return Node("pid_file", pid, parts[1])

    def getattr(self, path: str) -> dict[str, int]:
        """``stat``: procfs's modes and sizes (0), ``st_blksize`` 1024."""
        node = self.resolve(path)
        t = self.started_ns
        base: dict[str, int] = {
            "st_uid": self.options.uid,
            "st_gid": self.options.gid,
            "st_atime": t,
            "st_mtime": t,
            "st_ctime": t,
            "st_blksize": BLKSIZE,
            "st_size": 0,
        }
        if node.kind in ("root", "pid"):
            return base | {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2}
        mode = 0o644 if node.name == "comm" else 0o444
        return base | {"st_mode": stat.S_IFREG | mode, "st_nlink": 1}

    def readdir(self, path: str) -> list[str]:
        node = self.resolve(path)
        if node.kind == "root":
            return [".", "..", *MACHINE_FILES, *map(str, self.backend.pids())]
        if node.kind == "pid":
            return [".", "..", *PID_FILES]
        raise ProcError(errno.ENOTDIR, path)

    # -- the reader choice -------------------------------------------------------------

    def reader_of(self, node: Node) -> str:
        """The reader a newly opened ``maps``/``smaps`` of this node uses."""
        with self._lock:
            chosen = self._readers.get((node.pid, node.name))
        if chosen is not None:
            return chosen
        return self.options.maps_reader if node.name == "maps" else self.options.smaps_reader

    def set_reader(self, path: str, value: str | None) -> None:
        """Set (None: remove) the ``user.vmasim.reader`` override of ``path``. EINVAL
        for an unknown reader (naming the choices), ENOTSUP for files without one."""
        node = self.resolve(path)
        if node.kind != "pid_file" or node.name not in ("maps", "smaps"):
            raise ProcError(errno.ENOTSUP, f"{path} has no reader")
        if value is not None:
            try:
                check_reader(value) if node.name == "maps" else check_smaps_reader(value)
            except InvalidArgument as exc:
                raise ProcError(errno.EINVAL, str(exc)) from None
        with self._lock:
            if value is None:
                self._readers.pop((node.pid, node.name), None)
            else:
                self._readers[(node.pid, node.name)] = value

    def xattrs(self, path: str) -> list[str]:
        node = self.resolve(path)
        return [READER_XATTR] if node.kind == "pid_file" and node.name in ("maps", "smaps") else []

    # -- open/read/release -------------------------------------------------------------

    def open(self, path: str) -> int:
        """A handle on a new :class:`SeqFile` (each ``open`` is its own seq_file)."""
        node = self.resolve(path)
        if node.kind == "pid_file":
            try:
                seq = self.backend.open_pid_file(
                    node.pid, node.name, self.reader_of(node), self.options
                )
            except NoSuchProcess:
                raise ProcError(errno.ENOENT, path) from None
        elif node.kind == "machine_file":
            seq = self.backend.open_machine_file(node.name, self.counters.lines)
        else:
            raise ProcError(errno.EISDIR, path)
        with self._lock:
            fh = next(self._ids)
            self._handles[fh] = (path, seq)
        return fh

    def read(self, fh: int, size: int, offset: int) -> bytes:
        """One ``read()``: one :meth:`SeqFile.read`. EBADF for an unknown handle."""
        with self._lock:
            entry = self._handles.get(fh)
        if entry is None:
            raise ProcError(errno.EBADF)
        path, seq = entry
        got = seq.read(size, offset)
        if got.chunk is not None:
            self.counters.count(got.chunk.info)
        if self.log is not None:
            self.log.write(path, fh, got)
        return got.data

    def release(self, fh: int) -> None:
        with self._lock:
            self._handles.pop(fh, None)

    def open_handles(self) -> int:
        with self._lock:
            return len(self._handles)

    def walk(self) -> Iterator[str]:
        """Every file path of the tree, machine files first (export)."""
        for name in MACHINE_FILES:
            yield f"/{name}"
        for pid in self.backend.pids():
            for name in PID_FILES:
                yield f"/{pid}/{name}"
