"""``MAP_POPULATE`` and ``MAP_LOCKED`` fault the mapping in at ``mmap`` time (mm/gup.c
``populate_vma_page_range``), compared with the running kernel."""

from __future__ import annotations

import ctypes
import re
import sys

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_LOCKED,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    render_smaps,
)

MAP_NONBLOCK = 0x10000
RW = PROT_READ | PROT_WRITE
PAGES = 4
# (name, prot, flags): every case of populate_vma_page_range's choice of fault.
CASES = [
    ("private rw", RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE),
    ("private write-only", PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE),
    ("private read-only", PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE),
    ("private exec-only", PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE),
    ("private none", PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE),
    ("shared rw", RW, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE),
    ("locked rw", RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED),
    ("populate nonblock", RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_NONBLOCK),
]
FIELDS = ("Rss", "Anonymous", "Locked")


def _fields(smaps: str, start: int) -> dict[str, int]:
    for block in re.split(r"\n(?=[0-9a-f]+-)", smaps):
        if int(block.split("-", 1)[0], 16) == start:
            values = dict(re.findall(r"^(\w+):\s+(\d+) kB", block, re.M))
            return {k: int(values[k]) for k in FIELDS}
    raise AssertionError(f"no VMA at {start:#x}")


def _simulated(prot: int, flags: int) -> dict[str, int]:
    mm = Kernel().spawn().mm
    addr = mm.mmap(0, PAGES * PAGE_SIZE, prot, flags)
    mm._check()
    return _fields(render_smaps(mm), addr)


# What the 6.18 host showed for the cases above (see test_matches_the_running_kernel).
EXPECTED = {
    "private rw": {"Rss": 16, "Anonymous": 16, "Locked": 0},
    "private write-only": {"Rss": 16, "Anonymous": 16, "Locked": 0},
    "private read-only": {"Rss": 0, "Anonymous": 0, "Locked": 0},
    "private exec-only": {"Rss": 0, "Anonymous": 0, "Locked": 0},
    "private none": {"Rss": 0, "Anonymous": 0, "Locked": 0},
    "shared rw": {"Rss": 16, "Anonymous": 0, "Locked": 0},
    "locked rw": {"Rss": 16, "Anonymous": 16, "Locked": 16},
    "populate nonblock": {"Rss": 0, "Anonymous": 0, "Locked": 0},
}


@pytest.mark.parametrize(("name", "prot", "flags"), CASES)
def test_population_as_the_kernel_does_it(name: str, prot: int, flags: int) -> None:
    assert _simulated(prot, flags) == EXPECTED[name]


def test_populate_faults_are_accounted_without_vma_lock_events() -> None:
    mm = Kernel().spawn().mm
    mm.mmap(0, PAGES * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE)
    events = mm.vm_events.statistics()
    assert (events.pgfault, mm.min_flt, mm.maj_flt) == (PAGES, PAGES, 0)
    assert events.vma_lock_success == events.vma_lock_abort == 0


@pytest.mark.kernel
@pytest.mark.skipif(sys.platform != "linux", reason="needs Linux")
def test_matches_the_running_kernel() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]
    libc.mmap.argtypes += [ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    for name, prot, flags in CASES:
        # An rwx page on each side (no case is rwx) keeps the mapping from merging.
        rwx = PROT_READ | PROT_WRITE | PROT_EXEC
        base = libc.mmap(None, (PAGES + 2) * PAGE_SIZE, rwx, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        assert base not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
        addr = libc.mmap(base + PAGE_SIZE, PAGES * PAGE_SIZE, prot, flags | 0x10, -1, 0)
        try:
            with open("/proc/self/smaps") as f:
                real = _fields(f.read(), addr)
        finally:
            libc.munmap(base, (PAGES + 2) * PAGE_SIZE)
        assert real == EXPECTED[name] == _simulated(prot, flags), name
