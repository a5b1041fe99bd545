"""mlock, mlock2, munlock, mlockall, munlockall (core/mlock.py), RLIMIT_MEMLOCK and
CAP_IPC_LOCK. Every expectation here was first seen on the 6.18 host with
tests/differential/vmatrace.c (the ``locks`` traces of test_lock_diff.py compare the same
cases op by op); the comments name the kernel function that decides each."""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from functools import partial

import pytest

from core import (
    MADV_DONTFORK,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_LOCKED,
    MAP_PRIVATE,
    MAP_SHARED,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    MREMAP_DONTUNMAP,
    MREMAP_MAYMOVE,
    O_RDWR,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    RLIM_INFINITY,
    RLIMIT_MEMLOCK,
    Kernel,
    Mm,
    Process,
    SyscallError,
    render_smaps,
    render_status_memory,
)
from tests.concurrency import spawn

PG = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
FIXED = ANON | MAP_FIXED
BASE = 0x100000000000


@pytest.fixture
def proc() -> Process:
    return Kernel().spawn()


def expect_errno(name: str, call: Callable[[], object]) -> None:
    with pytest.raises(SyscallError) as info:
        call()
    assert info.value.name == name and info.value.errno == getattr(errno, name), str(info.value)


def layout(mm: Mm) -> list[tuple[int, int, str, int, int]]:
    """(start page, end page, flags, Locked kB, Rss kB) per VMA, relative to BASE."""
    out = []
    for block in re.split(r"\n(?=[0-9a-f]+-)", render_smaps(mm)):
        head = block.split(" ", 1)[0]
        start, end = (int(x, 16) for x in head.split("-"))
        if not BASE <= start < 1 << 47:  # the arena, not the [vsyscall] gate
            continue
        fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", block, re.M))
        vmflags = re.search(r"^VmFlags: (.*?) ?$", block, re.M)
        assert vmflags is not None
        out.append(
            (
                (start - BASE) // PG,
                (end - BASE) // PG,
                vmflags.group(1),
                int(fields["Locked"]),
                int(fields["Rss"]),
            )
        )
    mm._check()
    return out


def vmlck(mm: Mm) -> int:
    match = re.search(r"^VmLck:\s+(\d+) kB", render_status_memory(mm), re.M)
    assert match is not None
    return int(match.group(1))


def test_mlock_splits_populates_and_counts(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mlock(BASE + 2 * PG, 2 * PG)
    assert layout(mm) == [
        (0, 2, "rd wr mr mw me ac", 0, 0),
        (2, 4, "rd wr mr mw me lo ac", 8, 8),  # faulted in with write faults
        (4, 16, "rd wr mr mw me ac", 0, 0),
    ]
    assert vmlck(mm) == 8 and mm.locked_vm == 2


def test_onfault_locks_without_faulting_and_merges(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mlock2(BASE + 6 * PG, 2 * PG, MLOCK_ONFAULT)
    mm.mlock2(BASE + 4 * PG, 2 * PG, MLOCK_ONFAULT)  # same flags: merges with the first
    assert layout(mm)[1] == (4, 8, "rd wr mr mw me lo lf ac", 0, 0)
    assert vmlck(mm) == 16  # VM_LOCKONFAULT pages count in locked_vm
    # A touch of an lf page makes it resident and Locked.
    assert mm.fault(BASE + 5 * PG, "write").ok
    assert layout(mm)[1] == (4, 8, "rd wr mr mw me lo lf ac", 4, 4)


def test_munlock_merges_back_and_uncounts(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mlock(BASE + 2 * PG, 2 * PG)
    mm.mlock2(BASE + 4 * PG, 4 * PG, MLOCK_ONFAULT)
    mm.munlock(BASE + 3 * PG, 4 * PG)
    assert [(s, e, f) for s, e, f, _, _ in layout(mm)] == [
        (0, 2, "rd wr mr mw me ac"),
        (2, 3, "rd wr mr mw me lo ac"),
        (3, 7, "rd wr mr mw me ac"),
        (7, 8, "rd wr mr mw me lo lf ac"),
        (8, 16, "rd wr mr mw me ac"),
    ]
    assert vmlck(mm) == 8
    mm.munlock(BASE, 16 * PG)
    assert [(s, e) for s, e, *_ in layout(mm)] == [(0, 16)]
    assert vmlck(mm) == 0


def test_prot_none_is_locked_but_fails_to_populate(proc: Process) -> None:
    # populate_vma_page_range(): -EFAULT for an inaccessible VMA, after
    # apply_vma_lock_flags() set VM_LOCKED: __mlock_posix_error_return() -> ENOMEM.
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, PROT_NONE, FIXED)
    expect_errno("ENOMEM", lambda: mm.mlock(BASE, 4 * PG))
    assert layout(mm) == [(0, 4, "mr mw me lo", 0, 0)]
    assert vmlck(mm) == 16


def test_file_page_beyond_eof_fails_population(proc: Process) -> None:
    mm = proc.mm
    fd = proc.open("/tmp/f", O_RDWR, size=2 * PG)
    mm.mmap(BASE, 4 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd)
    expect_errno("ENOMEM", lambda: mm.mlock(BASE, 4 * PG))  # SIGBUS on page 2
    start, end, flags, _, rss = layout(mm)[0]
    assert (start, end, flags, rss) == (0, 4, "rd sh mr mw me ms lo", 8)


def test_holes_stop_the_walk_after_earlier_vmas(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mmap(BASE + 8 * PG, 4 * PG, RW, FIXED)
    expect_errno("ENOMEM", lambda: mm.mlock(BASE + 2 * PG, 8 * PG))
    # The first VMA's part was locked (but not populated: the error came first).
    assert layout(mm) == [
        (0, 2, "rd wr mr mw me ac", 0, 0),
        (2, 4, "rd wr mr mw me lo ac", 0, 0),
        (8, 12, "rd wr mr mw me ac", 0, 0),
    ]
    expect_errno("ENOMEM", lambda: mm.mlock(BASE + 5 * PG, PG))  # nothing mapped there
    expect_errno("ENOMEM", lambda: mm.munlock(BASE + 5 * PG, PG))


def test_unaligned_start_rounds_and_invalid_flags(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mlock(BASE + 1, PG)  # covers [BASE, BASE + 2 pages)
    assert layout(mm)[0][:3] == (0, 2, "rd wr mr mw me lo ac")
    expect_errno("EINVAL", lambda: mm.mlock2(BASE, PG, 2))
    mm.mlock2(BASE, PG, 1 << 32 | MLOCK_ONFAULT)  # an int: the high bits are dropped
    mm.mlock(BASE, 0)  # nothing
    for flags in (0, MCL_ONFAULT, 8):
        expect_errno("EINVAL", partial(mm.mlockall, flags))


def test_mlockall_current_future_onfault_and_munlockall(proc: Process) -> None:
    mm = proc.mm
    mm.mlockall(MCL_FUTURE)
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mmap(BASE + 4 * PG, 4 * PG, PROT_READ, FIXED)
    assert layout(mm) == [
        (0, 4, "rd wr mr mw me lo ac", 16, 16),  # locked and faulted in at mmap time
        (4, 8, "rd mr mw me lo", 0, 0),  # the zero page is not counted
    ]
    mm.mlockall(MCL_FUTURE | MCL_ONFAULT)
    mm.mmap(BASE + 8 * PG, 4 * PG, RW, FIXED)
    assert layout(mm)[2] == (8, 12, "rd wr mr mw me lo lf ac", 0, 0)
    assert vmlck(mm) == 48
    mm.munlockall()
    assert all("lo" not in flags for _, _, flags, _, _ in layout(mm))
    assert vmlck(mm) == 0 and mm.def_flags == 0
    mm.mmap(BASE + 12 * PG, 4 * PG, RW, FIXED)  # merges: nothing is locked any more
    assert [(s, e) for s, e, *_ in layout(mm)] == [(0, 4), (4, 8), (8, 16)]
    mm.mlockall(MCL_CURRENT | MCL_ONFAULT)
    assert {flags for _, _, flags, _, _ in layout(mm)} == {
        "rd wr mr mw me lo lf ac",
        "rd mr mw me lo lf",
    }
    mm.mlockall(MCL_CURRENT)  # lf goes, and everything is faulted in
    assert [rss for *_, rss in layout(mm)] == [16, 0, 32]


def test_special_vmas_are_never_locked() -> None:
    proc = Kernel().spawn(layout="typical")
    mm = proc.mm
    mm.mlockall(MCL_CURRENT)
    for vma in mm.vmas():
        locked = bool(vma.vm_flags & 0x2000)
        assert locked == (vma.special_name is None), vma
    special = sum(v.pages_count for v in mm.vmas() if v.special_name is not None)
    assert mm.locked_vm == mm.total_vm - special
    mm._check()


def test_rlimit_without_cap_ipc_lock(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mlock(BASE, 2 * PG)
    proc.setrlimit(RLIMIT_MEMLOCK, 4 * PG, 4 * PG)
    assert mm.cap_ipc_lock  # this host's root: the limit is not enforced...
    mm.mlock(BASE + 8 * PG, 8 * PG)
    mm.munlock(BASE + 8 * PG, 8 * PG)
    mm.cap_ipc_lock = False  # ...until the capability is dropped
    expect_errno("ENOMEM", lambda: mm.mlock(BASE + 12 * PG, 4 * PG))  # 2 + 4 > 4
    expect_errno("ENOMEM", lambda: mm.mlock(BASE + 12 * PG, 3 * PG))
    # count_mm_mlocked_page_nr(): pages locked already are not counted twice.
    mm.mlock(BASE, 4 * PG)
    expect_errno("EAGAIN", lambda: mm.mmap(BASE + 32 * PG, PG, RW, FIXED | MAP_LOCKED))
    proc.setrlimit(RLIMIT_MEMLOCK, 0, 0)
    expect_errno("EPERM", lambda: mm.mlock(BASE, PG))  # can_do_mlock()
    expect_errno("EPERM", lambda: mm.mlockall(MCL_FUTURE))
    expect_errno("EPERM", lambda: mm.mmap(BASE + 32 * PG, PG, RW, FIXED | MAP_LOCKED))
    mm.munlock(BASE, PG)  # munlock needs no permission
    assert layout(mm)[0][:3] == (0, 1, "rd wr mr mw me ac")


def test_mlockall_current_compares_total_vm(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 8 * PG, RW, FIXED)
    mm.cap_ipc_lock = False
    proc.setrlimit(RLIMIT_MEMLOCK, 4 * PG, 4 * PG)
    expect_errno("ENOMEM", lambda: mm.mlockall(MCL_CURRENT))
    mm.mlockall(MCL_FUTURE)  # MCL_FUTURE alone is not checked against total_vm...
    # ...but the next mapping is (mlock_future_ok in do_mmap).
    expect_errno("EAGAIN", lambda: mm.mmap(BASE + 16 * PG, 8 * PG, RW, FIXED))
    mm.mmap(BASE + 16 * PG, 4 * PG, RW, FIXED)
    assert mm.brk(mm.cur_brk + PG) == mm.cur_brk  # brk: check_brk_limits -> EAGAIN


def test_setrlimit_rules(proc: Process) -> None:
    assert proc.getrlimit(RLIMIT_MEMLOCK) == (8 << 20, 8 << 20)  # ulimit -l 8192
    expect_errno("EINVAL", lambda: proc.setrlimit(RLIMIT_MEMLOCK, 2 * PG, PG))
    expect_errno("EPERM", lambda: proc.setrlimit(RLIMIT_MEMLOCK, PG, RLIM_INFINITY))
    proc.setrlimit(RLIMIT_MEMLOCK, PG, 2 * PG)
    expect_errno("EPERM", lambda: proc.setrlimit(RLIMIT_MEMLOCK, PG, 4 * PG))
    proc.mm.cap_sys_resource = True
    proc.setrlimit(RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY)
    assert proc.getrlimit(RLIMIT_MEMLOCK) == (RLIM_INFINITY, RLIM_INFINITY)
    expect_errno("EINVAL", lambda: proc.getrlimit(3))


def test_fork_keeps_limits_but_not_locks(proc: Process) -> None:
    mm = proc.mm
    mm.mlockall(MCL_CURRENT | MCL_FUTURE)
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    proc.setrlimit(RLIMIT_MEMLOCK, PG, PG)
    mm.cap_ipc_lock = False
    child = proc.fork()
    cmm = child.mm
    assert cmm.locked_vm == 0 and cmm.def_flags == 0  # mm_init(): VM_INIT_DEF_MASK
    assert layout(cmm) == [(0, 4, "rd wr mr mw me ac", 0, 16)]
    assert child.getrlimit(RLIMIT_MEMLOCK) == (PG, PG) and not cmm.cap_ipc_lock
    assert vmlck(mm) == 16


def test_fork_skips_a_locked_dontfork_vma(proc: Process) -> None:
    # dup_mmap(): a VM_DONTCOPY VMA is only taken off the child's total_vm
    # (vm_stat_account leaves locked_vm alone): the child's VmLck stays 0, as on the
    # host (a differential seed mixing mlock and MADV_DONTFORK found it at -4 kB).
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mlock(BASE + PG, PG)
    mm.madvise(BASE + PG, PG, MADV_DONTFORK)
    child = proc.fork()
    assert child.mm.locked_vm == 0 and vmlck(child.mm) == 0
    assert child.mm.total_vm == mm.total_vm - 1
    assert vmlck(mm) == 4


def test_mremap_of_locked_memory(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mlock(BASE, 4 * PG)
    # Growth in place is locked and faulted in after the unlock (populate_expand).
    assert mm.mremap(BASE, 4 * PG, 6 * PG, 0) == BASE
    assert layout(mm) == [(0, 6, "rd wr mr mw me lo ac", 24, 24)]
    assert vmlck(mm) == 24
    # MREMAP_DONTUNMAP: the old VMA loses VM_LOCKED but locked_vm is not reduced
    # (dontunmap_complete: "we won't unmap", the host shows the same VmLck).
    assert mm.mremap(BASE, 6 * PG, 6 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, BASE + 16 * PG)
    assert layout(mm) == [
        (0, 6, "rd wr mr mw me ac", 0, 0),
        (16, 22, "rd wr mr mw me lo ac", 24, 24),
    ]
    assert vmlck(mm) == 48
    mm.cap_ipc_lock = False
    proc.setrlimit(RLIMIT_MEMLOCK, 8 * PG, 8 * PG)
    expect_errno("EAGAIN", lambda: mm.mremap(BASE + 16 * PG, 6 * PG, 12 * PG, 0))


def test_mprotect_writable_populates_locked_private_memory(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, PROT_READ, FIXED | MAP_LOCKED)
    assert layout(mm) == [(0, 4, "rd mr mw me lo", 0, 0)]  # zero pages only
    mm.mprotect(BASE, 4 * PG, RW)
    assert layout(mm) == [(0, 4, "rd wr mr mw me lo ac", 16, 16)]  # COW broken now


def test_split_refused_at_max_map_count(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    proc.kernel.max_map_count = mm.map_count + 1
    expect_errno("ENOMEM", lambda: mm.mlock(BASE + 2 * PG, PG))  # second split refused
    assert [(s, e, f) for s, e, f, _, _ in layout(mm)] == [
        (0, 2, "rd wr mr mw me ac"),
        (2, 16, "rd wr mr mw me ac"),
    ]
    mm.mlock(BASE, 16 * PG)  # no split needed: fine at the limit
    assert vmlck(mm) == 64


def test_mlock_waits_between_vmas_at_its_pause_point(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 2 * PG, RW, FIXED)
    mm.mmap(BASE + 2 * PG, 2 * PG, PROT_READ, FIXED)
    mm.pauses.arm("mlock:between_vmas")
    worker = spawn(mm.mlock2, BASE, 4 * PG, MLOCK_ONFAULT, name="locker")
    held = mm.pauses.wait_for_hold("mlock:between_vmas")
    assert held.op == "mlock2"
    assert mm.mmap_lock.statistics().rwsem.writer == "locker"
    with mm.rcu.read_section():
        flags = [v.vm_flags & 0x82000 for _, _, v in mm.tree.iter_from(0)]
    assert flags == [0x82000, 0]  # the first VMA is locked, the second not yet
    mm.pauses.release(held)
    worker.join()
    assert [f & 0x82000 for f in (v.vm_flags for v in mm.vmas())] == [0x82000, 0x82000]
    mm._check()
