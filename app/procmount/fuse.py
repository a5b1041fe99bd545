"""The FUSE binding: a :class:`~app.procmount.tree.ProcTree` mounted with libfuse 3's
high-level API through ``mfusepy`` (ctypes; needs Debian's ``fuse3`` at run time and
nothing compiled).

Why mfusepy and not pyfuse3: both are maintained and speak FUSE 3, but pyfuse3 is a
Cython extension built against ``libfuse3-dev`` (a compiler, headers and pkg-config
on every machine without a matching wheel) and runs its handlers as trio tasks on one
thread, so a handler blocked on an engine lock (a maps read waiting for ``mmap_lock``
behind a held munmap) would have to be moved to a worker thread by hand. mfusepy uses
libfuse's multi-threaded loop: each request runs in its own libfuse thread, calls
into Python, and may block on an engine lock exactly as a kernel reader blocks in
``read()``, while other requests go on.

Every file is opened with ``direct_io``: the kernel then sends each ``read()`` of a
tool to us as one FUSE READ of the tool's ``count`` at the file offset (no page cache,
no readahead), and a short answer ends that ``read()``, which is what ``seq_file``
semantics need. ``st_size`` is 0, as in procfs.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import mfusepy

from core import EngineError

from .tree import READER_XATTR, ProcError, ProcTree

_log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class ProcOperations(mfusepy.Operations):  # type: ignore[misc]  # mfusepy has no types
    """FUSE operations over a :class:`ProcTree` (``raw_fi``: ``open`` gets the
    ``fuse_file_info`` so it can set ``direct_io``)."""

    use_ns = True

    def __init__(self, tree: ProcTree, on_ready: Callable[[], None] | None = None) -> None:
        self.tree = tree
        self._on_ready = on_ready

    def init(self, path: str) -> None:
        # FUSE_INIT answered: the mount serves requests from now on.
        if self._on_ready is not None:
            self._on_ready()

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        return _call(self.tree.getattr, path)

    def readdir(self, path: str, fh: int) -> list[str]:
        return _call(self.tree.readdir, path)

    def open(self, path: str, fi: Any) -> int:
        if fi.flags & os.O_ACCMODE != os.O_RDONLY:
            raise mfusepy.FuseOSError(errno.EACCES)
        fi.fh = _call(self.tree.open, path)
        fi.direct_io = 1  # every read() reaches read() below, with the tool's count
        return 0

    def read(self, path: str, size: int, offset: int, fi: Any) -> bytes:
        return _call(self.tree.read, fi.fh, size, offset)

    def release(self, path: str, fi: Any) -> int:
        self.tree.release(fi.fh)
        return 0

    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        if name != READER_XATTR or name not in _call(self.tree.xattrs, path):
            raise mfusepy.FuseOSError(errno.ENODATA)
        node = _call(self.tree.resolve, path)
        return self.tree.reader_of(node).encode()

    def listxattr(self, path: str) -> list[str]:
        return _call(self.tree.xattrs, path)

    def setxattr(self, path: str, name: str, value: bytes, options: int, position: int = 0) -> int:
        if name != READER_XATTR:
            raise mfusepy.FuseOSError(errno.ENOTSUP)
        _call(self.tree.set_reader, path, value.decode(errors="replace"))
        return 0

    def removexattr(self, path: str, name: str) -> int:
        if name != READER_XATTR:
            raise mfusepy.FuseOSError(errno.ENODATA)
        _call(self.tree.set_reader, path, None)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": 1024, "f_namemax": 255}


def _call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a tree operation; its errors become the errno FUSE answers (an engine error
    that escaped a file is EIO and is logged: the mount must not die of it)."""
    try:
        return fn(*args, **kwargs)
    except ProcError as exc:
        raise mfusepy.FuseOSError(exc.errno) from None
    except EngineError:
        _log.exception("engine error in a /proc operation")
        raise mfusepy.FuseOSError(errno.EIO) from None


def mount(
    tree: ProcTree,
    mountpoint: str,
    *,
    on_ready: Callable[[], None] | None = None,
    allow_other: bool = False,
    debug: bool = False,
) -> None:
    """Mount ``tree`` at ``mountpoint`` and serve until unmounted (``fusermount3 -u``)
    or SIGINT/SIGTERM/SIGHUP (libfuse's handlers). Blocks; call from the main thread.
    ``on_ready()`` runs in a libfuse thread once the kernel's FUSE_INIT is answered."""
    options: dict[str, Any] = {
        "fsname": "vmasim",
        "subtype": "vmasim",
        "default_permissions": True,
        # Requests served at once (libfuse's worker threads). Each may block on an
        # engine lock, as a reader blocks in read(); the rest go on in the others.
        "max_threads": MAX_THREADS,
        "max_idle_threads": MAX_IDLE_THREADS,  # libfuse 3.14 warns when it is left unset
    }
    if allow_other:
        options["allow_other"] = True
    mounted = threading.Event()

    def ready() -> None:
        mounted.set()
        if on_ready is not None:
            on_ready()

    try:
        mfusepy.FUSE(
            ProcOperations(tree, ready),
            mountpoint,
            raw_fi=True,
            foreground=True,
            debug=debug,
            **options,
        )
    except RuntimeError as exc:
        # fuse_main() answers 8 when its loop ended by a signal (the handler stores the
        # signal number as the session's error): a normal end once we were mounted.
        if not (mounted.is_set() and exc.args == (LOOP_ENDED,)):
            raise MountError(f"could not mount {mountpoint}: fuse_main() returned {exc}") from None


MAX_THREADS = 32
MAX_IDLE_THREADS = 8
LOOP_ENDED = 8
"""``fuse_main``'s status when its loop stopped with an error, such as a signal."""


class MountError(RuntimeError):
    """libfuse could not mount or serve (the mountpoint is missing, no ``/dev/fuse``...)."""
