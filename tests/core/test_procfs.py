"""/proc/<pid>/maps text (kernel-notes §7.1) and layouts imported from real maps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    O_RDWR,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    LayoutError,
)
from core.layout import TYPICAL_MAPS

PG = 4096
BASE = 0x100000000000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a real /proc")
def test_real_proc_self_maps_round_trips_byte_for_byte() -> None:
    text = Path("/proc/self/maps").read_text()
    proc = Kernel().spawn_from_maps(text)
    assert proc.mm.maps() == text
    proc.mm._check()


def test_typical_layout_prints_what_the_host_printed() -> None:
    mm = Kernel().spawn(layout="typical").mm
    assert mm.maps() == TYPICAL_MAPS
    line = next(x for x in mm.maps().splitlines() if x.endswith("[heap]"))
    assert line.index("[heap]") == 73
    stack = next(x for x in mm.maps().splitlines() if x.endswith("[stack]"))
    assert stack.startswith("7ffffffde000-7ffffffff000 rw-p")


def test_unnamed_line_ends_with_one_space_and_named_lines_pad_to_column_73() -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    mm.mmap(BASE, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    fd = proc.open("/tmp/odd\nname", O_RDWR, size=PG)
    mm.mmap(BASE + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0)
    first, second, gate = mm.maps().splitlines()
    assert first == "100000000000-100000001000 rw-p 00000000 00:00 0 "
    assert len(first) == 48
    assert second.index("/tmp/odd\\012name") == 73  # a newline prints as \012
    assert (
        gate == "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0" + " " * 18 + "[vsyscall]"
    )


def test_long_prefix_gets_one_extra_space_only() -> None:
    text = "100000000000-100000001000 r--p 00000000 fe:00 12345678901234567890123456 /x\n"
    proc = Kernel().spawn_from_maps(text)
    (line, _gate) = proc.mm.maps().splitlines()
    assert line == "100000000000-100000001000 r--p 00000000 fe:00 12345678901234567890123456  /x"


def test_cached_lines_follow_every_change() -> None:
    mm = Kernel().spawn().mm
    mm.mmap(BASE, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    before = mm.maps()
    mm.mprotect(BASE, 4 * PG, PROT_READ)
    assert mm.maps() == before.replace("rw-p", "r--p")
    mm.munmap(BASE + PG, PG)  # split: the original VMA shrinks in place
    assert mm.maps().splitlines()[:2] == [
        "100000000000-100000001000 r--p 00000000 00:00 0 ",
        "100000002000-100000004000 r--p 00000000 00:00 0 ",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("garbage\n", r"^line 1 is not a maps line: 'garbage'$"),
        (
            "100000000001-100000002000 r--p 00000000 00:00 0 \n",
            r"^line 1: range 0x100000000001-0x100000002000 is not page aligned$",
        ),
        (
            "100000000000-100000002000 r--p 00000000 00:00 0 \n"
            "100000001000-100000003000 r--p 00000000 00:00 0 \n",
            r"^line 2: 0x100000001000 overlaps or precedes the previous line's end",
        ),
        (
            "100000002000-100000001000 r--p 00000000 00:00 0 \n",
            r"^line 1: range 0x100000002000-0x100000001000 is empty or too high$",
        ),
    ],
)
def test_bad_layouts_name_the_line_and_leave_no_process(text: str, message: str) -> None:
    kernel = Kernel()
    with pytest.raises(LayoutError, match=message):
        kernel.spawn_from_maps(text)
    assert kernel.processes() == []


def test_unknown_layout_is_rejected() -> None:
    kernel = Kernel()
    with pytest.raises(LayoutError, match=r"^unknown layout 'weird'; expected one of"):
        kernel.spawn(layout="weird")
    assert kernel.processes() == []
