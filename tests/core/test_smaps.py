"""smaps, smaps_rollup, status and statm text (fs/proc/task_mmu.c ``show_smap``).

The expected blocks are the kernel's own output: appendix A.5 and
``data/smaps_host.txt``, captured on the 6.18 host by ``data/capture_smaps.py`` (the
same steps are replayed here on the simulator). Only the header line's address range,
inode and path are normalised.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import (
    MADV_PAGEOUT,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_LOCKED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_RDWR,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
)
from core.constants import VM_HUGEPAGE
from core.smaps import (
    GATE_SMAP,
    render_smaps,
    render_smaps_rollup,
    render_statm,
    render_status_memory,
    show_smap,
    vm_flags_mnemonics,
)

PG = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

A5 = (
    "7f48c377a000-7f48c3782000 rw-p 00000000 00:00 0 \n"
    """\
Size:                 32 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                  12 kB
Pss:                  12 kB
Pss_Dirty:            12 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:        12 kB
Referenced:           12 kB
Anonymous:            12 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
"""
    "VmFlags: rd wr mr mw me ac \n"
)

_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ (\S+) (\S+) (\S+) \d+ *(.*)$", re.M)


def _norm(block: str) -> str:
    # Keep perms, offset, device and whether a name is shown; drop addresses, inode, path.
    return _HEADER.sub(lambda m: f"RANGE {m[1]} {m[2]} {m[3]} INO {bool(m[4])}", block)


def _host_blocks() -> dict[str, str]:
    text = (Path(__file__).parent / "data" / "smaps_host.txt").read_text()
    blocks = {}
    for part in text.split("## ")[1:]:
        name, body = part.split("\n", 1)
        blocks[name] = body
    return blocks


def test_appendix_a5_eight_pages_three_written_one_read():
    mm = Kernel().spawn().mm
    a = mm.mmap(0x7F48C377A000, 8 * PG, RW, ANON | MAP_FIXED)
    for i in range(3):
        mm.fault(a + i * PG, "write")
    mm.fault(a + 5 * PG, "read")
    assert show_smap(mm, mm.vma_lookup(a)) == A5  # type: ignore[arg-type]
    assert render_smaps(mm) == A5 + GATE_SMAP


def test_host_scenarios_match_the_kernel_text():
    host = _host_blocks()
    kernel = Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    fd = proc.open("/tmp/smexp_trunc.bin", O_RDWR, size=4 * PG)
    m = mm.mmap(0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS)
    mm.fault(m, "read")
    mm.fault(m + PG, "write")
    sf = mm.mmap(0, 4 * PG, RW, MAP_SHARED, fd, 0)
    mm.fault(sf, "write")
    a = mm.mmap(0, 4 * PG, RW, ANON)
    mm.fault(a, "write")
    mm.fault(a + PG, "write")
    mm.fault(a + 2 * PG, "read")
    child = proc.fork()
    grandchild = child.fork()
    got = {"grandchild_anon": show_smap(grandchild.mm, grandchild.mm.vma_lookup(a))}  # type: ignore[arg-type]
    kernel.exit(grandchild.pid)
    got["child_anon"] = show_smap(child.mm, child.mm.vma_lookup(a))  # type: ignore[arg-type]
    child.mm.fault(a, "write")
    got["child_anon_after_w0"] = show_smap(child.mm, child.mm.vma_lookup(a))  # type: ignore[arg-type]
    kernel.exit(child.pid)
    got["shmem"] = show_smap(mm, mm.vma_lookup(m))  # type: ignore[arg-type]
    got["shared_file_w0"] = show_smap(mm, mm.vma_lookup(sf))  # type: ignore[arg-type]
    assert set(got) == set(host)
    for name, text in host.items():
        assert _norm(got[name]) == _norm(text), name
    mm._check()


def test_rollup_sums_every_vma_and_spans_them():
    mm = Kernel().spawn().mm
    a = mm.mmap(0x10000000, 4 * PG, RW, ANON | MAP_FIXED)
    b = mm.mmap(0x20000000, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    mm.fault(a, "write")
    mm.fault(b, "read")
    text = render_smaps_rollup(mm)
    lines = text.splitlines()
    assert lines[0] == "10000000-20004000 ---p 00000000 00:00 0" + " " * 34 + "[rollup]"
    assert lines[1:7] == [
        "Rss:                   8 kB",
        "Pss:                   8 kB",
        "Pss_Dirty:             4 kB",
        "Pss_Anon:              4 kB",
        "Pss_File:              0 kB",
        "Pss_Shmem:             4 kB",
    ]
    assert lines[-1] == "Locked:                0 kB" and len(lines) == 23


def test_rollup_of_an_empty_mm():
    mm = Kernel().spawn().mm
    assert render_smaps_rollup(mm).splitlines()[0].startswith("00000000-00000000 ---p")


def test_locked_and_vmflags_mnemonics():
    mm = Kernel().spawn().mm
    a = mm.mmap(0, 2 * PG, RW, ANON | MAP_LOCKED)  # populated at mmap (mm/gup.c)
    block = show_smap(mm, mm.vma_lookup(a))  # type: ignore[arg-type]
    assert "Locked:                8 kB\n" in block
    assert block.endswith("VmFlags: rd wr mr mw me lo ac \n")
    assert vm_flags_mnemonics(1 << 39) == "VmFlags: ?? \n"  # no mnemonic on x86-64
    assert vm_flags_mnemonics(1 << 40 | VM_HUGEPAGE) == "VmFlags: hg dp \n"  # by bit
    assert vm_flags_mnemonics(VM_HUGEPAGE) == "VmFlags: hg \n"


def test_status_and_statm_follow_rss_and_vm_counters():
    kernel = Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    fd = proc.open("/data/f", O_RDWR, size=8 * PG)
    a = mm.mmap(0, 8 * PG, RW, ANON)
    f = mm.mmap(0, 8 * PG, PROT_READ, MAP_PRIVATE, fd, 0)
    s = mm.mmap(0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS)
    for i in range(5):
        mm.fault(a + i * PG, "write")
    for i in range(3):
        mm.fault(f + i * PG, "read")
    mm.fault(s, "write")
    status = render_status_memory(mm)
    assert status.splitlines()[:10] == [
        "VmPeak:\t      72 kB",
        "VmSize:\t      72 kB",
        "VmLck:\t       0 kB",
        "VmPin:\t       0 kB",
        "VmHWM:\t      56 kB",
        "VmRSS:\t      56 kB",
        "RssAnon:\t      20 kB",
        "RssFile:\t      32 kB",
        "RssShmem:\t       4 kB",
        "VmData:\t      32 kB",
    ]
    assert status.endswith("VmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\n")
    assert "VmPTE:\t      12 kB\n" in status  # one PTE, one PMD and one PUD table
    assert render_statm(mm) == "18 14 9 0 0 8 0\n"
    mm.munmap(a, 8 * PG)
    status = render_status_memory(mm)
    assert "VmHWM:\t      56 kB\n" in status and "VmRSS:\t      36 kB\n" in status


def test_pageout_keeps_the_peak_in_vmhwm():
    """Reclaim's unmapping (``try_to_unmap_one``, mm/rmap.c) does ``update_hiwater_rss``
    before it lowers RSS, as every unmapping does. Host, 6.18, no swap: 4,096 written
    shmem pages, then MADV_PAGEOUT: VmRSS 17,880 -> 1,496 kB, VmHWM 17,880 -> 17,712 kB
    (the peak, less the per-CPU RSS counters' lag, which the simulator does not model)."""
    mm = Kernel().spawn().mm
    s = mm.mmap(0, 64 * PG, RW, MAP_SHARED | MAP_ANONYMOUS)
    for i in range(64):
        mm.fault(s + i * PG, "write")
    mm.madvise(s, 64 * PG, MADV_PAGEOUT)
    status = render_status_memory(mm)
    assert "VmHWM:\t     256 kB\n" in status and "VmRSS:\t       0 kB\n" in status


@pytest.mark.parametrize("layout", ["typical"])
def test_typical_layout_smaps_has_one_block_per_maps_line(layout):
    mm = Kernel().spawn(layout=layout).mm
    text = render_smaps(mm)
    assert text.count("VmFlags: ") == mm.map_count + 1  # and the [vsyscall] gate
    headers = [line for line in text.splitlines() if _HEADER.match(line)]
    assert "".join(h + "\n" for h in headers) == mm.maps()


def test_gate_block_is_the_hosts():
    """The 6.18 host lists [vsyscall] in smaps (m_next ends with the gate VMA)."""
    host = Path("/proc/self/smaps").read_text()
    start = host.index("ffffffffff600000-ffffffffff601000")
    assert host[start:] == GATE_SMAP
    assert "[vsyscall]" not in render_smaps_rollup(Kernel().spawn(layout="typical").mm)
