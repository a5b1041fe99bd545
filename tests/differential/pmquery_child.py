"""Child process for the PROCMAP_QUERY differential test: real ioctls on its own maps.

Run as ``python -m tests.differential.pmquery_child DIR`` (by
``test_procmap_query_kernel.py``). It builds a small arena of mappings at
``0x100000000000`` (anonymous rw-/r--/---/r-x, shared anonymous, private and shared
file mappings of files in DIR, an ``[anon:...]`` name where the kernel has
CONFIG_ANON_VMA_NAME), reads ``/proc/self/maps`` (twice: once to build the query grid, once
after all allocations as the reference), issues ``PROCMAP_QUERY`` for a grid
of addresses (every VMA's first, middle and last byte and the byte before it) times
every flag combination plus the error cases, then reads the maps again. It prints one
JSON object: both maps texts and every query with its outcome. The parent only trusts
the run if the two texts are identical (nothing was mapped while querying).

Every buffer the queries use is allocated before the first maps read, and the results
are stored into them with ``memmove``, so the query loop itself does not map memory.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
from typing import Any

PROCMAP_QUERY = 0xC0686611
NEXT, FILE = 0x10, 0x20
R, W, X, S = 0x1, 0x2, 0x4, 0x8
FLAG_SETS = (0, NEXT, R, W, X, S, FILE, R | X, W | NEXT, X | NEXT, S | NEXT, FILE | NEXT,
             FILE | X | NEXT, R | W | NEXT, R | W | X | S | NEXT)  # fmt: skip
BASE = 0x100000000000
PG = 4096
MAX_QUERIES = 16384
NAME_SLOT = 1024
MAPS_BUF = 1 << 20

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
PR_SET_VMA, PR_SET_VMA_ANON_NAME = 0x53564D41, 0


class ProcmapQuery(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint64),
        ("query_flags", ctypes.c_uint64),
        ("query_addr", ctypes.c_uint64),
        ("vma_start", ctypes.c_uint64),
        ("vma_end", ctypes.c_uint64),
        ("vma_flags", ctypes.c_uint64),
        ("vma_page_size", ctypes.c_uint64),
        ("vma_offset", ctypes.c_uint64),
        ("inode", ctypes.c_uint64),
        ("dev_major", ctypes.c_uint32),
        ("dev_minor", ctypes.c_uint32),
        ("vma_name_size", ctypes.c_uint32),
        ("build_id_size", ctypes.c_uint32),
        ("vma_name_addr", ctypes.c_uint64),
        ("build_id_addr", ctypes.c_uint64),
    ]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long)  # fmt: skip
    libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
    libc.read.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
    libc.read.restype = ctypes.c_ssize_t
    libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_char_p)  # fmt: skip
    return libc


def _map(libc: ctypes.CDLL, addr: int, length: int, prot: int, flags: int, fd: int = -1,
         off: int = 0) -> None:  # fmt: skip
    got = libc.mmap(addr, length, prot, flags | MAP_FIXED, fd, off)
    if got != addr:
        raise OSError(ctypes.get_errno(), f"mmap at {addr:#x} failed")


def build_arena(libc: ctypes.CDLL, directory: str) -> bool:
    """Map the arena; returns whether the ``[anon:...]`` name could be set."""
    rw, ro = PROT_READ | PROT_WRITE, PROT_READ
    anon = MAP_PRIVATE | MAP_ANONYMOUS
    _map(libc, BASE, 2 * PG, rw, anon)  # A
    _map(libc, BASE + 3 * PG, 2 * PG, ro, anon)  # B (after a one-page hole)
    lib = os.path.join(directory, "lib.so")
    with open(lib, "wb") as f:
        f.write(b"\0" * 8 * PG)
    fd = os.open(lib, os.O_RDWR)
    _map(libc, BASE + 5 * PG, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 3 * PG)  # C
    _map(libc, BASE + 6 * PG, 2 * PG, rw, MAP_SHARED | MAP_ANONYMOUS)  # D: shmem
    _map(libc, BASE + 8 * PG, PG, PROT_NONE, anon)  # E
    ro_path = os.path.join(directory, "ro.bin")
    with open(ro_path, "wb") as f:
        f.write(b"\0" * PG)
    ro_fd = os.open(ro_path, os.O_RDONLY)
    _map(libc, BASE + 9 * PG, PG, ro, MAP_SHARED, ro_fd, 0)  # F: r--s, VM_SHARED clear
    _map(libc, BASE + 11 * PG, 2 * PG, rw, MAP_SHARED, fd, 0)  # G: rw-s file
    gone = os.path.join(directory, "deleted.bin")
    with open(gone, "wb") as f:
        f.write(b"\0" * PG)
    gone_fd = os.open(gone, os.O_RDONLY)
    _map(libc, BASE + 14 * PG, PG, ro, MAP_PRIVATE, gone_fd, 0)  # H: " (deleted)"
    os.unlink(gone)
    _map(libc, BASE + 16 * PG, 3 * PG, rw, anon)  # I: named below, if possible
    named = bool(libc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, BASE + 16 * PG, 3 * PG, b"pmq") == 0)
    for descriptor in (fd, ro_fd, gone_fd):
        os.close(descriptor)
    return named


def read_maps(libc: ctypes.CDLL, buf: Any) -> int:
    """Read /proc/self/maps into the preallocated ``buf``; returns the length."""
    fd = os.open("/proc/self/maps", os.O_RDONLY)
    total = 0
    while True:
        n = libc.read(fd, ctypes.addressof(buf) + total, MAPS_BUF - total)
        if n <= 0:
            break
        total += n
    os.close(fd)
    return total


def main() -> None:
    libc = _libc()
    named = build_arena(libc, sys.argv[1])
    maps_fd = os.open("/proc/self/maps", os.O_RDONLY)  # the fd the ioctls go to
    # Everything the query loop touches, allocated up front.
    maps1 = ctypes.create_string_buffer(MAPS_BUF)
    maps2 = ctypes.create_string_buffer(MAPS_BUF)
    queries = (ProcmapQuery * MAX_QUERIES)()
    results = (ProcmapQuery * MAX_QUERIES)()
    rets = (ctypes.c_int * MAX_QUERIES)()
    errnos = (ctypes.c_int * MAX_QUERIES)()
    names = ctypes.create_string_buffer(MAX_QUERIES * NAME_SLOT)
    big = ctypes.create_string_buffer(2 * PG)  # for struct sizes above 104
    name_buf = ctypes.create_string_buffer(PG)
    gc.disable()
    # The query grid, from a first look at the maps (building it allocates).
    first_len = read_maps(libc, maps1)
    text = maps1.raw[:first_len].decode()
    grid: list[tuple[int, int]] = []
    for line in text.splitlines():
        start_s, _, rest = line.partition("-")
        start, end = int(start_s, 16), int(rest.split(" ", 1)[0], 16)
        if start >= 0xFFFFFFFFFF600000:
            continue
        for addr in (start - 1, start, start + (end - start) // 2, end - 1):
            grid.extend((addr, flags) for flags in FLAG_SETS)
    specs: list[dict[str, int]] = [
        {"addr": a, "flags": f, "size": 104, "name_size": PG, "name_addr": 1} for a, f in grid
    ]
    c = BASE + 5 * PG
    specs += [
        {"addr": 0, "flags": NEXT, "size": 104, "name_size": PG, "name_addr": 1},
        {"addr": 0xFFFFFFFFFF600000, "flags": 0, "size": 104},
        {"addr": 0xFFFFFFFFFF600000, "flags": NEXT, "size": 104},
        {"addr": 0x7FFFFFFFEFFF, "flags": NEXT, "size": 104},
        {"addr": c, "flags": 0x40, "size": 104},
        {"addr": c, "flags": 1 << 63, "size": 104},
        {"addr": c, "flags": 0x40, "size": 4097},
        {"addr": c, "flags": 0, "size": 16},
        {"addr": c, "flags": 0, "size": 24},
        {"addr": c, "flags": 0, "size": 40},
        {"addr": c, "flags": 0, "size": 4097},
        {"addr": c, "flags": 0, "size": 112, "tail": 1},
        {"addr": c, "flags": 0, "size": 112},
        {"addr": c, "flags": 0, "size": 104, "name_size": 16},
        {"addr": c, "flags": 0, "size": 104, "name_addr": 1},
        {"addr": c, "flags": 0, "size": 104, "build_id_size": 20},
        {"addr": c, "flags": 0, "size": 104, "name_size": 4, "name_addr": 1},
        {"addr": BASE, "flags": 0, "size": 104, "name_size": 1, "name_addr": 1},
        {"addr": BASE + 2 * PG, "flags": 0, "size": 104},
    ]
    if len(specs) > MAX_QUERIES:
        raise SystemExit(f"too many queries: {len(specs)}")
    for i, spec in enumerate(specs):
        q = queries[i]
        q.size = spec["size"]
        q.query_flags = spec["flags"]
        q.query_addr = spec["addr"]
        q.vma_name_size = spec.get("name_size", 0)
        q.vma_name_addr = ctypes.addressof(name_buf) if spec.get("name_addr") else 0
        q.build_id_size = spec.get("build_id_size", 0)
    sz = ctypes.sizeof(ProcmapQuery)
    big_addr = ctypes.addressof(big)
    # The layout the queries see: read again now that the grid is built.
    len1 = read_maps(libc, maps1)
    # -- the query loop: no allocation from here to the second maps read ----------------
    for i in range(len(specs)):
        ctypes.memset(big_addr, 0, 2 * PG)
        ctypes.memmove(big_addr, ctypes.addressof(queries[i]), sz)
        if specs[i].get("tail"):
            big[sz + 3] = b"\x01"
        rets[i] = libc.ioctl(maps_fd, PROCMAP_QUERY, big_addr)
        errnos[i] = ctypes.get_errno()
        ctypes.memmove(ctypes.addressof(results[i]), big_addr, sz)
        ctypes.memmove(ctypes.addressof(names) + i * NAME_SLOT, name_buf, NAME_SLOT)
    len2 = read_maps(libc, maps2)
    gc.enable()
    out = []
    for i, spec in enumerate(specs):
        res = results[i]
        entry: dict[str, Any] = {"spec": spec, "ret": rets[i], "errno": errnos[i]}
        if rets[i] == 0:
            fields = [f[0] for f in ProcmapQuery._fields_]
            entry["out"] = {f: getattr(res, f) for f in fields}
            # string_at copies one slot; names.raw would copy all 16 MiB per query.
            slot = ctypes.string_at(ctypes.addressof(names) + i * NAME_SLOT, NAME_SLOT)
            entry["name"] = slot.split(b"\0", 1)[0].decode() if res.vma_name_size else ""
        out.append(entry)
    json.dump(
        {
            "maps": maps1.raw[:len1].decode(),
            "maps_after": maps2.raw[:len2].decode(),
            "anon_name": named,
            "queries": out,
        },
        sys.stdout,
    )
    os.close(maps_fd)


if __name__ == "__main__":
    main()
