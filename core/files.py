"""Simulated files: inodes, open file descriptions (``struct file``) and fd tables.

Only what mappings observe is modelled: an inode's device, number, size and path
(``/proc/<pid>/maps`` prints them; ``(deleted)`` once unlinked), and an open file's access
mode. Identity matters: VMAs merge only when they map the *same* ``struct file``
(``is_mergeable_vma`` compares ``vm_file`` pointers, mm/vma.c), so two ``open()`` calls of
one path never merge while one fd mapped twice does.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from .constants import EBADF, EINVAL, EMFILE, ENOENT, O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY
from .errors import InvalidArgument, SyscallError

# Simulated block device for regular files (fe:00, like the host's root filesystem) and
# the shmem mount backing shared anonymous memory (00:01, as ``show_map_vma`` prints it).
DISK_DEV = (0xFE, 0x00)
SHMEM_DEV = (0x00, 0x01)
MAX_FDS = 1024  # RLIMIT_NOFILE soft limit


@dataclass(eq=False)
class Inode:
    """A file's identity and size. ``eq=False``: identity is the object."""

    path: str
    ino: int
    dev: tuple[int, int]
    size: int
    unlinked: bool = False

    def display_path(self) -> str:
        """The name maps prints: ``d_path`` with `` (deleted)`` once unlinked."""
        return self.path + " (deleted)" if self.unlinked else self.path


class OpenFile:
    """``struct file``: one open file description, shared by dup'ed fds and mappings."""

    __slots__ = ("inode", "readable", "writable", "refs", "__weakref__")

    def __init__(self, inode: Inode, readable: bool, writable: bool) -> None:
        self.inode = inode
        self.readable = readable
        self.writable = writable
        self.refs = 1

    def get(self) -> None:
        """``get_file``."""
        self.refs += 1

    def put(self) -> None:
        """``fput``. The last reference to a shmem object gives its commit charge back
        (``shmem_evict_inode`` -> ``shmem_unacct_size``; see core/mmap.py)."""
        self.refs -= 1
        if not self.refs:
            release = self.inode.__dict__.pop("_on_release", None)
            if release is not None:
                self.inode.__dict__.pop("_commit_pages", None)
                release()

    def __repr__(self) -> str:
        mode = ("r" if self.readable else "") + ("w" if self.writable else "")
        return f"OpenFile({self.inode.path!r}, {mode})"


class FileSystem:
    """The simulated namespace: path -> inode, and the inode number allocator.

    Thread-safe: one lock guards the namespace (``i_rwsem``-like, coarse).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[str, Inode] = {}
        self._ino = itertools.count(1000)

    def lookup_or_create(self, path: str, size: int | None) -> Inode:
        """Return the inode at ``path``, creating it (size 0 unless given); a given
        ``size`` on an existing file truncates it to that size (``ftruncate``)."""
        _check_path(path)
        if size is not None and (not isinstance(size, int) or size < 0):
            raise InvalidArgument(f"file size {size!r} must be a non-negative integer")
        with self._lock:
            inode = self._by_path.get(path)
            if inode is None:
                inode = Inode(path, next(self._ino), DISK_DEV, size or 0)
                self._by_path[path] = inode
            elif size is not None:
                inode.size = size
            return inode

    def add_existing(self, path: str, dev: tuple[int, int], ino: int, size: int) -> Inode:
        """Register a file with a given device and inode (layouts imported from a real
        /proc/<pid>/maps keep the numbers they showed)."""
        with self._lock:
            inode = self._by_path.get(path)
            if inode is None or inode.dev != dev or inode.ino != ino:
                inode = Inode(path, ino, dev, size)
                self._by_path[path] = inode
            return inode

    def new_shmem(self, size: int) -> Inode:
        """The unlinked shmem file behind a shared anonymous mapping (``shmem_zero_setup``):
        maps shows it as ``/dev/zero (deleted)`` on device 00:01."""
        with self._lock:
            return Inode("/dev/zero", next(self._ino), SHMEM_DEV, size, unlinked=True)

    def unlink(self, path: str) -> None:
        """``unlink``: the name goes away; mappings keep the inode, shown ``(deleted)``."""
        _check_path(path)
        with self._lock:
            inode = self._by_path.pop(path, None)
            if inode is None:
                raise SyscallError(ENOENT, "unlink", f"no file at path {path!r}")
            inode.unlinked = True


class FdTable:
    """A process's file descriptor table. Lowest free fd first, from 3 (0-2 are stdio)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fds: dict[int, OpenFile] = {}

    def install(self, file: OpenFile) -> int:
        """Allocate the lowest free fd for ``file``. EMFILE past ``MAX_FDS``."""
        with self._lock:
            fd = 3
            while fd in self._fds:
                fd += 1
            if fd >= MAX_FDS:
                raise SyscallError(EMFILE, "open", f"all {MAX_FDS} file descriptors are in use")
            self._fds[fd] = file
            return fd

    def get(self, fd: int, syscall: str) -> OpenFile:
        """The open file behind ``fd``; EBADF if none."""
        with self._lock:
            file = self._fds.get(fd)
        if file is None:
            raise SyscallError(EBADF, syscall, f"fd {fd} is not open")
        return file

    def close(self, fd: int) -> None:
        """``close``: drop the fd; mappings keep their own reference."""
        with self._lock:
            file = self._fds.pop(fd, None)
        if file is None:
            raise SyscallError(EBADF, "close", f"fd {fd} is not open")
        file.put()

    def close_all(self) -> None:
        with self._lock:
            files = list(self._fds.values())
            self._fds.clear()
        for file in files:
            file.put()

    def items(self) -> list[tuple[int, OpenFile]]:
        with self._lock:
            return sorted(self._fds.items())

    def install_at(self, fd: int, file: OpenFile) -> None:
        """Place ``file`` at exactly ``fd`` (fork copies the table)."""
        with self._lock:
            self._fds[fd] = file


def open_mode(flags: int) -> tuple[bool, bool]:
    """``(readable, writable)`` for open(2) ``flags``; EINVAL for an invalid access mode."""
    if not isinstance(flags, int) or flags < 0:
        raise InvalidArgument(f"open flags {flags!r} must be a non-negative integer")
    mode = flags & O_ACCMODE
    if mode == O_RDONLY:
        return True, False
    if mode == O_WRONLY:
        return False, True
    if mode == O_RDWR:
        return True, True
    raise SyscallError(EINVAL, "open", f"access mode {mode:#o} is not O_RDONLY/O_WRONLY/O_RDWR")


def _check_path(path: object) -> None:
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise InvalidArgument(f"path {path!r} must be an absolute path without NUL bytes")
    if len(path) > 4095:
        raise InvalidArgument(f"path of {len(path)} bytes is longer than PATH_MAX")
