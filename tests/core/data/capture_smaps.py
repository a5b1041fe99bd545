"""Capture tests/core/data/smaps_host.txt from the running kernel (run as a script).

Each scenario maps memory with Python's mmap, touches pages by indexing, forks where
needed and records the smaps block of the mapping; test_smaps.py replays the same
steps on the simulator. Usage: python tests/core/data/capture_smaps.py > smaps_host.txt
"""

from __future__ import annotations

import ctypes
import mmap
import os
import re
import sys
import tempfile

PG = 4096


def smaps_of(addr: int) -> str:
    with open("/proc/self/smaps") as f:
        text = f.read()
    for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", text):
        start, end = block.split(" ")[0].split("-")
        if int(start, 16) <= addr < int(end, 16):
            return block.rstrip("\n") + "\n"
    raise LookupError(hex(addr))


def addr_of(m: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


def main() -> None:
    out: dict[str, str] = {}

    def show(title: str, m: mmap.mmap) -> None:
        out[title] = smaps_of(addr_of(m))

    path = os.path.join(tempfile.mkdtemp(), "smexp_trunc.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, 4 * PG)
    m = mmap.mmap(-1, 4 * PG, mmap.MAP_SHARED)
    _ = m[0]
    m[PG] = 1
    show("shmem", m)
    sf = mmap.mmap(fd, 4 * PG, mmap.MAP_SHARED)
    sf[0] = 1
    show("shared_file_w0", sf)
    a = mmap.mmap(-1, 4 * PG, mmap.MAP_PRIVATE)
    a[0] = 1
    a[PG] = 1
    _ = a[2 * PG]
    pid = os.fork()
    if pid == 0:
        pid2 = os.fork()
        if pid2 == 0:
            show("grandchild_anon", a)
            sys.stdout.write("## grandchild_anon\n" + out["grandchild_anon"])
            os._exit(0)
        os.waitpid(pid2, 0)
        show("child_anon", a)
        a[0] = 2
        show("child_anon_after_w0", a)
        for k in ("child_anon", "child_anon_after_w0"):
            sys.stdout.write(f"## {k}\n" + out[k])
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    for k in ("shmem", "shared_file_w0"):
        sys.stdout.write(f"## {k}\n" + out[k])


if __name__ == "__main__":
    main()
