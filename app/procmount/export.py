"""``export``: the tree written out as ordinary files, for machines without FUSE.

Each file is read in one walk (a buffer as large as the file), so ``maps`` is one
reader pass (``seqcount``: one consistent snapshot) and ``smaps`` one ``mmap_lock``
hold; the files of one process are read one after the other, so two of them may show
different moments if writers run meanwhile. Tools read the result with
``PROCFS_PATH=DIR`` (psutil) or through ``run-against --proc DIR``.
"""

from __future__ import annotations

import os
import tempfile

from core import NoSuchProcess
from core.proc_pid import MACHINE_FILES, PID_FILES

from .tree import Backend, Options

_WHOLE = 1 << 40  # "as large as the file": one walk, one read


def export_tree(backend: Backend, directory: str, options: Options | None = None) -> list[int]:
    """Write ``DIR/{meminfo,vmstat}`` and ``DIR/<pid>/<file>`` for every live process;
    return the pids written. A process that exits meanwhile is skipped. Each file is
    written to a temporary name and renamed into place. O(total size of the texts)."""
    options = options if options is not None else Options()
    os.makedirs(directory, exist_ok=True)
    for name in MACHINE_FILES:
        seq = backend.open_machine_file(name, tuple)
        _write(directory, name, seq.read(_WHOLE).data)
    written = []
    for pid in backend.pids():
        texts = {}
        try:
            for name in PID_FILES:
                reader = options.maps_reader if name == "maps" else options.smaps_reader
                seq = backend.open_pid_file(pid, name, reader, options, buffer_size=_WHOLE)
                texts[name] = seq.read(_WHOLE).data
        except NoSuchProcess:
            continue
        sub = os.path.join(directory, str(pid))
        os.makedirs(sub, exist_ok=True)
        for name, data in texts.items():
            _write(sub, name, data)
        written.append(pid)
    return written


def _write(directory: str, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o444)
        os.replace(tmp, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
