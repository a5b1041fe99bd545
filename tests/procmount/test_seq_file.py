"""``core.seq_file`` and ``core.proc_pid`` without FUSE: what one ``read()`` returns
(``seq_read_iter``), and the files' formats against the running kernel's."""

from __future__ import annotations

import os
import re

import pytest

from core import Kernel, Mm
from core.maps_reader import READERS
from core.proc_pid import (
    MACHINE_FILES,
    PID_FILES,
    open_machine_file,
    open_pid_file,
    render_meminfo,
    render_stat,
    render_status,
    render_vmstat,
)
from core.seq_file import PAGE_SIZE, SeqChunk, SeqFile
from core.smaps import render_smaps, render_smaps_rollup, render_statm
from tests.procmount.conftest import anon_maps


class Records:
    """Records of given lengths; remembers every walk's (index, size, want)."""

    def __init__(self, lengths: list[int]) -> None:
        self.records = [f"{i:03d}".ljust(n - 1, "x") + "\n" for i, n in enumerate(lengths)]
        self.walks: list[tuple[int, int, int]] = []

    def fill(self, index: int, size: int, want: int) -> SeqChunk:
        self.walks.append((index, size, want))
        out: list[str] = []
        total = 0
        i = index
        while i < len(self.records):
            rec = self.records[i]
            if out and (total + len(rec) >= size or total >= want):
                break
            out.append(rec)
            total += len(rec)
            i += 1
        return SeqChunk(tuple(out), i)

    @property
    def text(self) -> bytes:
        return "".join(self.records).encode()


def test_a_small_read_keeps_the_rest_of_its_walk_for_the_next() -> None:
    src = Records([100] * 50)
    f = SeqFile(src)
    first = f.read(1024)
    # The walk goes on while the buffer holds less than asked: 11 records (1100 bytes).
    assert src.walks == [(0, PAGE_SIZE, 1024)] and first.chunk is not None
    assert len(first.chunk.records) == 11 and first.data == src.text[:1024]
    second = f.read(1024)
    # 76 bytes from the buffer, then a walk for the 948 still wanted: 10 records.
    assert second.from_buffer == 76 and src.walks[-1] == (11, PAGE_SIZE, 948)
    assert second.data == src.text[1024:2048] and second.first_record == 11
    rest = f.read_all(4096)
    assert first.data + second.data + rest == src.text
    assert f.read(4096).eof


def test_reads_of_a_page_take_whole_records_below_the_buffer() -> None:
    src = Records([300] * 40)
    f = SeqFile(src)
    sizes = []
    while not (got := f.read(1 << 17)).eof:
        sizes.append(len(got.data))
    assert sizes == [13 * 300, 13 * 300, 13 * 300, 300]  # 4095 bytes at most per read()


def test_a_record_larger_than_the_buffer_grows_it() -> None:
    src = Records([100, 9000, 100])
    f = SeqFile(src)
    assert f.read(1 << 20).data == src.text[:100]
    assert f.read(1 << 20).data == src.text[100:9100]
    assert f.buffer_size == 16384  # doubled until the record fit, and kept
    assert f.read(1 << 20).data == src.text[9100:]


def test_a_full_user_buffer_still_walks_one_record() -> None:
    src = Records([100] * 5)
    f = SeqFile(src)
    f.read(150)  # walk 1: records 0-1, 50 bytes left over
    got = f.read(50)  # exactly the leftover: the kernel walks one more record anyway
    assert got.from_buffer == 50 and src.walks[-1] == (2, PAGE_SIZE, 0)
    assert f.read(30).chunk is None  # the buffer is not drained: no walk
    drained = f.read(70)  # drained exactly: walks again (record 4 waits in the buffer)
    assert drained.from_buffer == 70 and src.walks[-1] == (3, PAGE_SIZE, 0)


def test_a_seek_restarts_from_the_beginning() -> None:
    src = Records([100] * 10)
    f = SeqFile(src)
    f.read(4096)
    assert f.read(250, offset=0).data == src.text[:250]
    assert f.read(300, offset=450).data == src.text[450:750]
    assert f.read(0).data == b"" and f.read(10, offset=5000).eof


@pytest.fixture
def mm() -> Mm:
    kernel = Kernel()
    proc = kernel.spawn_from_maps(anon_maps(300), "many")
    proc.mm.fault(0x100000000, "write")
    return proc.mm


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("count", [1, 100, 1024, 4096, 1 << 17])
def test_maps_through_seq_file_is_the_kernels_text(mm: Mm, reader: str, count: int) -> None:
    proc = mm.kernel.processes()[0]
    f = open_pid_file(proc, "maps", maps_reader=reader)  # type: ignore[arg-type]
    assert f.read_all(count).decode() == mm.maps()


def test_smaps_walks_hold_mmap_lock_per_read(mm: Mm) -> None:
    proc = mm.kernel.processes()[0]
    f = open_pid_file(proc, "smaps")
    before = mm.mmap_lock.statistics().rwsem.read_acquisitions
    walks = 0
    parts = []
    while not (got := f.read(4096)).eof:
        parts.append(got.data)
        walks += got.chunk is not None
    assert b"".join(parts).decode() == render_smaps(mm)
    assert walks > 50  # one walk per read, each under its own mmap_lock hold
    assert mm.mmap_lock.statistics().rwsem.read_acquisitions - before == walks + 1


def test_single_record_files_are_their_renders(mm: Mm) -> None:
    proc = mm.kernel.processes()[0]
    texts = {
        "smaps_rollup": render_smaps_rollup(mm),
        "statm": render_statm(mm),
        "stat": render_stat(proc),
        "status": render_status(proc),
        "cmdline": "many\0",
        "comm": "many\n",
    }
    for name, text in texts.items():
        assert open_pid_file(proc, name).read_all(7).decode() == text, name
    assert set(texts) | {"maps", "smaps"} == set(PID_FILES)
    for name in MACHINE_FILES:
        assert open_machine_file(mm.kernel, name).read_all().decode()


# -- the formats, against the running kernel ---------------------------------------------


def _host(path: str) -> str:
    with open(path) as f:
        return f.read()


def _names(text: str, sep: str) -> list[str]:
    return [line.split(sep, 1)[0] for line in text.splitlines()]


def test_status_has_the_hosts_lines_in_its_order(mm: Mm) -> None:
    proc = mm.kernel.processes()[0]
    ours = render_status(proc, os.getuid(), os.getgid())
    assert _names(ours, ":") == _names(_host("/proc/self/status"), ":")
    pattern = re.compile(r"^[A-Za-z_()0-9]+:\t.*$")
    assert all(pattern.match(line) for line in ours.splitlines())
    assert "State:\tT (stopped)\n" in ours and "Threads:\t1\n" in ours


def test_stat_has_the_hosts_fields(mm: Mm) -> None:
    proc = mm.kernel.processes()[0]
    ours = render_stat(proc)
    host = _host("/proc/self/stat")
    assert len(ours.rsplit(")", 1)[1].split()) == len(host.rsplit(")", 1)[1].split())
    fields = ours.rsplit(")", 1)[1].split()
    assert fields[0] == "T" and int(fields[7]) == mm.min_flt == 1  # state, minflt
    assert int(fields[20]) == mm.total_vm * 4096 and int(fields[21]) == 1  # vsize, rss


def test_meminfo_has_the_hosts_lines_in_its_format(mm: Mm) -> None:
    ours = render_meminfo(mm.kernel)
    host = _host("/proc/meminfo")
    assert _names(ours, ":") == _names(host, ":")
    width = {line.split(":")[0]: len(line) for line in host.splitlines()}
    for line in ours.splitlines():
        name, value = line.split(":")[0], line.split()[1]
        if len(value) <= 8:  # lines whose number fills its column are as wide as ours
            assert len(line) == width[name] + 8 - len(_host_value(host, name)), line
    assert "AnonPages:             4 kB\n" in ours  # the one page the fault made


def _host_value(host: str, name: str) -> str:
    for line in host.splitlines():
        if line.startswith(name + ":"):
            return line.split()[1].rjust(8)
    raise KeyError(name)


def test_vmstat_lines_follow_the_hosts_order(mm: Mm) -> None:
    ours = _names(render_vmstat(mm.kernel), " ")
    host = _names(_host("/proc/vmstat"), " ")
    kernel_lines = [n for n in ours if not n.startswith("vma_lock_")]
    assert [n for n in host if n in kernel_lines] == kernel_lines
    assert "pgfault 1\n" in render_vmstat(mm.kernel)
