"""/proc/<pid>/maps text (``show_map_vma``) and layouts imported from real maps."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

import core
from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    O_RDWR,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    LayoutError,
    Mm,
    procfs,
)
from core.layout import TYPICAL_MAPS
from core.procfs import check_line_cache
from core.vma import NO_LINE, Vma
from tests.differential.realkernel import find_compiler, kernel_version

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
    (line,) = proc.mm.maps().splitlines()  # the input had no gate line
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


# ---------------------------------------------------------------------- [heap] / [stack]

LABELS_SOURCE = Path(__file__).with_name("maps_labels.c")


def _real_label_steps(tmp_path: Path) -> list[tuple[str, int, int, int, str]]:
    """Run maps_labels.c: (step, start_brk, brk, start_stack, maps text) per step."""
    cc = find_compiler()
    version = kernel_version()
    if version is None or version < (6, 12) or platform.machine() not in ("x86_64", "amd64"):
        pytest.skip(f"needs Linux >= 6.12 on x86-64, this is {platform.platform()}")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) to build maps_labels.c")
    exe = tmp_path / "maps_labels"
    subprocess.run(
        [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(LABELS_SOURCE)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, timeout=30)
    steps = []
    for block in out.stdout.split("step ")[1:]:
        name, fields, rest = block.split("\n", 2)
        assert rest.endswith("end\n"), block
        values = fields.split()
        start_brk, brk, start_stack = (int(values[i], 16) for i in (1, 3, 5))
        steps.append((name, start_brk, brk, start_stack, rest.removesuffix("end\n")))
    return steps


def test_heap_and_stack_labels_match_the_real_kernel(tmp_path: Path) -> None:
    """VMA edges exactly on start_brk or brk: the kernel's text for each step is
    rendered by the simulator from the same VMAs and the same mm fields."""
    steps = _real_label_steps(tmp_path)
    assert [s[0] for s in steps] == [
        "initial",
        "vma_at_start_brk",
        "heap_two_pages",
        "vma_at_brk",
        "unaligned_brk",
        "heap_gone",
        "vma_across_brk",
    ]
    labelled = {}
    for name, start_brk, brk, start_stack, text in steps:
        mm = Kernel().spawn_from_maps(text).mm
        mm.start_brk, mm.cur_brk, mm.start_stack = start_brk, brk, start_stack
        assert mm.maps() == text, name
        labelled[name] = sum(line.endswith(" [heap]") for line in text.splitlines())
    # The steps do exercise both outcomes (a VMA touching the heap range is not [heap]).
    assert labelled == {
        "initial": 0,
        "vma_at_start_brk": 0,
        "heap_two_pages": 1,
        "vma_at_brk": 1,
        "unaligned_brk": 1,
        "heap_gone": 0,
        "vma_across_brk": 1,
    }


def _anon(mm: Mm, start: int, pages: int, prot: int = PROT_READ | PROT_WRITE) -> None:
    mm.mmap(start, pages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)


def _names(mm: Mm) -> dict[int, str]:
    return {
        int(line[: line.index("-")], 16): line[73:] if len(line) > 73 else ""
        for line in mm.maps().splitlines()
        if not line.endswith("[vsyscall]")
    }


def test_heap_label_needs_an_overlap_not_a_touch() -> None:
    # vma_is_initial_heap() on 6.18: vm_start < brk && vm_end > start_brk.
    mm = Kernel().spawn().mm
    mm.start_brk = mm.cur_brk = BASE + 4 * PG
    _anon(mm, BASE, 4, PROT_READ)  # ends at start_brk == brk
    _anon(mm, BASE + 4 * PG, 1)  # starts at start_brk == brk
    assert _names(mm) == {BASE: "", BASE + 4 * PG: ""}
    mm.munmap(BASE + 4 * PG, PG)
    assert mm.brk(BASE + 6 * PG) == BASE + 6 * PG
    _anon(mm, BASE + 6 * PG, 1, PROT_READ)  # starts at brk
    assert _names(mm) == {BASE: "", BASE + 4 * PG: "[heap]", BASE + 6 * PG: ""}
    assert mm.brk(BASE + 4 * PG) == BASE + 4 * PG  # the heap VMA goes
    _anon(mm, BASE + 4 * PG, 1, PROT_READ)  # merges with the VMA below: across brk
    assert _names(mm) == {BASE: "[heap]", BASE + 6 * PG: ""}


def test_stack_label_includes_both_ends_and_heap_wins() -> None:
    # vma_is_initial_stack(): vm_start <= start_stack <= vm_end.
    mm = Kernel().spawn().mm
    _anon(mm, BASE, 1, PROT_READ)
    _anon(mm, BASE + PG, 1)
    _anon(mm, BASE + 3 * PG, 1)
    mm.start_stack = BASE + PG  # the end of the first VMA and the start of the second
    assert _names(mm) == {BASE: "[stack]", BASE + PG: "[stack]", BASE + 3 * PG: ""}
    mm.start_brk, mm.cur_brk = BASE + PG, BASE + 2 * PG  # the second is the heap too
    assert _names(mm) == {BASE: "[stack]", BASE + PG: "[heap]", BASE + 3 * PG: ""}
    # A file or special mapping never takes either label (get_vma_name steps 1-2).
    proc = Kernel().spawn_from_maps(
        "100000000000-100000001000 r--p 00000000 fe:00 7                          /lib/x\n"
        "100000001000-100000002000 r-xp 00000000 00:00 0                          [vdso]\n"
    )
    proc.mm.start_stack = BASE + PG
    proc.mm.start_brk, proc.mm.cur_brk = BASE, BASE + 2 * PG
    assert _names(proc.mm) == {BASE: "/lib/x", BASE + PG: "[vdso]"}


def test_anon_name_is_kept_and_yields_to_heap() -> None:
    text = (
        "100000000000-100000001000 rw-p 00000000 00:00 0                          [anon:buf]\n"
        "100000001000-100000002000 r--p 00000000 00:00 0                          [anon:x y]\n"
    )
    proc = Kernel().spawn_from_maps(text)
    assert proc.mm.maps() == text  # no [vsyscall] line in, none out
    proc.mm.start_brk, proc.mm.cur_brk = BASE, BASE + PG
    assert _names(proc.mm) == {BASE: "[heap]", BASE + PG: "[anon:x y]"}


# ---------------------------------------------------------------------- the line cache


def test_imported_lines_are_seeded_only_when_canonical() -> None:
    canonical = TYPICAL_MAPS
    proc = Kernel().spawn_from_maps(canonical)
    vmas = proc.mm.vmas()
    seeded = [v for v in vmas if v._line != NO_LINE]
    # Every line but the derived [heap] and [stack] ones was adopted as it was read.
    assert len(seeded) == len(vmas) - 2
    assert {v.vm_start for v in vmas} - {v.vm_start for v in seeded} == {
        0x555555560000,  # [heap]
        0x7FFFFFFDE000,  # [stack]
    }
    check_line_cache(proc.mm)
    assert proc.mm.maps() == canonical
    # Non-canonical spellings load, are not adopted, and print the kernel's way.
    odd = (
        "100000000000-100000001000 rw-p 00000000 00:00 0\n"  # no trailing space
        "100000001000-100000002000 rw-p 00001000 00:00 0 \n"  # offset on anonymous memory
        "0100000002000-100000003000 r--p 00000000 fe:00 9 /x\n"  # 13 digits, short pad
    )
    proc = Kernel().spawn_from_maps(odd)
    assert all(v._line == NO_LINE for v in proc.mm.vmas())
    assert proc.mm.maps().splitlines()[:3] == [
        "100000000000-100000001000 rw-p 00000000 00:00 0 ",
        "100000001000-100000002000 rw-p 00000000 00:00 0 ",
        f"{'100000002000-100000003000 r--p 00000000 fe:00 9':<72} /x",
    ]
    check_line_cache(proc.mm)


@pytest.mark.skipif(
    core.ENGINE == "compiled",
    reason="patches procfs._build, which compiled code calls directly (the pure-Python "
    "engine's run of tests/core covers it: scripts/test)",
)
def test_a_line_built_while_a_writer_changes_the_vma_is_not_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    fd = proc.open("/data/f", O_RDWR, size=4 * PG)
    mm.mmap(BASE, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0)
    vma = mm.vmas()[0]
    real_build = procfs._build
    calls: list[tuple[str, object]] = []

    def racing_build(v: Vma) -> tuple[str, object]:
        # Forced interleaving: the reader has read the generation and built its line,
        # then a writer changes the VMA (vma_set_range) before the line is published.
        built = real_build(v)
        if not calls:
            v.set_range(BASE, BASE + PG, v.vm_pgoff)
        calls.append(built)
        return built

    monkeypatch.setattr(procfs, "_build", racing_build)
    torn = procfs.cached_line(vma)
    assert torn.startswith("100000000000-100000002000 r--p ") and torn.endswith(" /data/f\n")
    assert vma._line == NO_LINE  # the racing line was returned, never cached
    line = procfs.cached_line(vma)
    assert line.startswith("100000000000-100000001000 r--p ")
    assert vma._line[:2] == (vma._gen, line)  # the undisturbed second build is cached
    assert len(calls) == 2


def test_a_line_read_during_a_change_is_not_cached() -> None:
    # An odd generation means a writer is between the two bumps of set_range/set_flags.
    mm = Kernel().spawn().mm
    _anon(mm, BASE, 2)
    vma = mm.vmas()[0]
    vma._gen += 1
    assert procfs.cached_line(vma) == "100000000000-100000002000 rw-p 00000000 00:00 0 \n"
    assert vma._line == NO_LINE
    vma._gen += 1
    assert procfs.cached_line(vma) == "100000000000-100000002000 rw-p 00000000 00:00 0 \n"
    assert vma._line[0] == vma._gen
    assert mm.maps().startswith("100000000000-100000002000 rw-p 00000000 00:00 0 \n")


def test_cached_lines_follow_unlink_and_renders_reuse_them() -> None:
    proc = Kernel().spawn()
    mm = proc.mm
    fd = proc.open("/data/f", O_RDWR, size=4 * PG)
    mm.mmap(BASE, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0)
    _anon(mm, BASE + 2 * PG, 1)
    first = mm.maps()
    cached = [v._line for v in mm.vmas()]
    assert mm.maps() == first
    assert [v._line for v in mm.vmas()] == cached  # reused, not rebuilt
    proc.unlink("/data/f")
    assert mm.maps().splitlines()[0].endswith(" /data/f (deleted)")
    check_line_cache(mm)
