"""Imported processes behave like the real one (core/layout.py ``derive_mm_fields``):
``mmap_base``, the break and the code bounds come from the layout, several ``[heap]``
lines keep their label, a layout without ``[vsyscall]`` stays without it; and new
mmaps in an imported copy of a live process land where the real kernel put them.

The placement test runs ``mmap_probe.c`` in several shapes (ASLR on, as programs
normally run; no ASLR; libraries loaded, malloc holes, thread stacks; stack limits of
64 MiB and unlimited), imports the maps it printed and makes the same calls in the
copy. At least 95% must give the same result (all of them do on the 6.18 host,
ENOMEM for the 1 TiB mapping the overcommit heuristic refuses included); any other
may only be that kind: a mapping larger than RAM and swap that one side refused (the
engine's commit accounting follows the machine settings it is given, core/overcommit.py).
"""

from __future__ import annotations

import os
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from core import O_RDONLY, Kernel
from core.constants import ENOMEM, PAGE_SIZE
from core.layout import TYPICAL_MAPS
from core.smaps import render_statm, render_status_memory
from tests.differential.realkernel import find_compiler, unsupported_reason

HERE = Path(__file__).parent


def _status(mm: object) -> dict[str, int]:
    text = render_status_memory(mm)  # type: ignore[arg-type]
    return {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()}


def test_typical_layout_has_its_code_mmap_base_and_heap() -> None:
    mm = Kernel().spawn(layout="typical").mm
    assert mm.mmap_base == 0x7FFFF7FFF000  # ld.so's end: mapped first, at mmap_base
    assert (mm.start_brk, mm.cur_brk) == (0x555555560000, 0x555555581000)
    assert (mm.start_code, mm.end_code) == (0x555555556000, 0x55555555B000)
    assert _status(mm)["VmExe"] == 20 and render_statm(mm).split()[3] == "5"
    assert _status(mm)["VmLib"] == mm.exec_vm * 4 - 20  # ld.so, libc, vDSO
    assert mm.maps() == TYPICAL_MAPS


def test_several_heap_lines_keep_their_label() -> None:
    text = (
        "555555554000-555555556000 r--p 00000000 fe:00 11 /usr/bin/x\n"
        "555555556000-555555557000 r-xp 00002000 fe:00 11 /usr/bin/x\n"
        "555555558000-555555560000 rw-p 00000000 00:00 0 [heap]\n"
        "555555560000-555555561000 r--p 00000000 00:00 0 [heap]\n"
        "555555561000-555555580000 rw-p 00000000 00:00 0 [heap]\n"
    )
    canonical = Kernel().spawn_from_maps(text).mm.maps()  # the columns as Linux pads them
    mm = Kernel().spawn_from_maps(canonical).mm
    assert mm.maps() == canonical and canonical.count("[heap]") == 3
    assert (mm.start_brk, mm.cur_brk) == (0x555555558000, 0x555555580000)
    assert "[vsyscall]" not in canonical  # none in the input, none out
    # The break grows from the last heap line, as in the real process.
    assert mm.brk(0x555555582000) == 0x555555582000
    assert mm.maps().count("[heap]") == 3 and "555555561000-555555582000" in mm.maps()


def test_without_a_heap_the_break_starts_after_the_program() -> None:
    text = "".join(TYPICAL_MAPS.splitlines(keepends=True)[:5])  # the program only
    mm = Kernel().spawn_from_maps(text).mm
    assert mm.start_brk == mm.cur_brk == 0x555555560000


@pytest.mark.skipif(not os.access("/usr/bin/true", os.X_OK), reason="needs /usr/bin/true")
@pytest.mark.parametrize("aslr", [False, True])
def test_an_exec_image_imported_keeps_its_fields(aslr: bool) -> None:
    proc, _ = Kernel().spawn_exec("/usr/bin/true", ["true"], aslr=aslr, seed=3)
    copy = Kernel().spawn_from_maps(proc.mm.maps()).mm
    mm = proc.mm
    assert copy.maps() == mm.maps()
    # The text shows the code's pages, not the segment's bytes: VmExe is what agrees.
    page = ~(PAGE_SIZE - 1)
    assert copy.start_code == mm.start_code & page
    assert copy.end_code == (mm.end_code + PAGE_SIZE - 1) & page
    assert copy.mmap_base == mm.mmap_base
    assert copy.start_brk == mm.start_brk or aslr  # ASLR moved the break off the image
    assert _status(copy)["VmExe"] == _status(mm)["VmExe"] > 0


# -- new mmaps in imported copies of live processes ------------------------------------------

SCENARIOS = {
    "plain": ("plain", False, None),
    "no ASLR": ("plain", True, None),
    "libraries": ("dlopen", False, None),
    "malloc holes": ("malloc", False, None),
    "threads": ("threads", False, None),
    "64 MiB stack limit": ("plain", False, 64 << 20),
    "unlimited stack": ("threads", False, resource.RLIM_INFINITY),
}


@dataclass(frozen=True)
class Probe:
    maps: str
    calls: list[tuple[str, list[int], int]]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    reason = unsupported_reason()
    if reason is not None:
        pytest.skip(f"live-process placement: {reason}")
    cc = find_compiler()
    assert cc is not None
    out = tmp_path_factory.mktemp("probe")
    exe = out / "mmap_probe"
    build = subprocess.run(
        [cc, "-O2", "-Wall", "-pthread", "-o", str(exe), str(HERE / "mmap_probe.c"), "-ldl"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    small, big = out / "small", out / "big"
    small.write_bytes(b"s" * PAGE_SIZE)
    big.write_bytes(b"b" * (3 * 1024 * 1024 + 2 * PAGE_SIZE))
    return exe, small, big


def run_probe(exe: Path, mode: str, norandom: bool, stack: int | None, files: list[Path]) -> Probe:
    def limits() -> None:
        if stack is not None:
            resource.setrlimit(resource.RLIMIT_STACK, (stack, resource.RLIM_INFINITY))

    cmd = (["setarch", "-R"] if norandom else []) + [str(exe), mode, *map(str, files)]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, check=False, preexec_fn=limits
    )
    assert done.returncode == 0, done.stderr
    maps = "".join(line + "\n" for line in done.stdout.splitlines() if not line.startswith("#"))
    calls = []
    for line in done.stdout.splitlines():
        if line.startswith("#"):
            head, _, result = line[1:].partition(" = ")
            kind, *args = head.split()
            calls.append((kind, [int(a, 0) for a in args], int(result)))
    return Probe(maps, calls)


def replay_in_copy(probe: Probe, files: list[Path]) -> list[int]:
    """The probe's calls in a copy imported from its maps: each result (an address,
    0, or -errno)."""
    from core import SyscallError

    proc = Kernel().spawn_from_maps(probe.maps)
    fds = [proc.open(str(f), O_RDONLY, size=f.stat().st_size) for f in files]
    out = []
    for kind, args, _ in probe.calls:
        try:
            if kind == "munmap":
                proc.mm.munmap(*args)
                out.append(0)
            else:
                addr, length, prot, flags, file, off = args
                fd = -1 if file < 0 else fds[file]
                out.append(proc.mm.mmap(addr, length, prot, flags, fd, off))
        except SyscallError as exc:
            out.append(-exc.errno)
    proc.mm._check()
    return out


def _ram_and_swap() -> int:
    meminfo = Path("/proc/meminfo").read_text().split("\n")
    kb = {line.split(":")[0]: int(line.split()[1]) for line in meminfo if line}
    return (kb["MemTotal"] + kb["SwapTotal"]) * 1024


def test_new_mmaps_land_where_the_kernel_put_them(probe: tuple[Path, Path, Path]) -> None:
    exe, small, big = probe
    total = same = 0
    unexplained = []
    for name, (mode, norandom, stack) in SCENARIOS.items():
        run = run_probe(exe, mode, norandom, stack, [small, big])
        got = replay_in_copy(run, [small, big])
        for (kind, args, want), result in zip(run.calls, got, strict=True):
            if kind != "mmap":
                continue
            total += 1
            if result == want:
                same += 1
            elif want == -ENOMEM and args[1] > _ram_and_swap():
                pass  # overcommit: the kernel refuses what exceeds RAM + swap
            else:
                unexplained.append(
                    f"{name}: mmap{tuple(hex(a) for a in args)} {want:#x} {result:#x}"
                )
    assert total >= 100
    assert same / total >= 0.95, f"{same}/{total} placed as the kernel did"
    assert not unexplained, "\n".join(unexplained)
