"""Overcommit and the commit charge (core/overcommit.py): the heuristic the 6.18 host
applies by default, modes 1 and 2, and Committed_AS through every syscall that charges
or uncharges it (mm/util.c ``__vm_enough_memory``; the callers in mm/vma.c, mprotect.c,
mremap.c, mmap.c, kernel/fork.c)."""

from __future__ import annotations

import errno
import random
from collections.abc import Callable

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    OVERCOMMIT_ALWAYS,
    OVERCOMMIT_NEVER,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    InvalidArgument,
    Kernel,
    Mm,
    Process,
    SyscallError,
    dump_kernel,
    load_kernel,
)
from core.checkpoint import committed_by_mappings
from tests.engines import PYTHON_ENGINE_ONLY

PG = 4096
GIB = 1 << 30
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
FIXED = ANON | MAP_FIXED
BASE = 0x100000000000


@pytest.fixture
def kernel() -> Kernel:
    return Kernel()


@pytest.fixture
def proc(kernel: Kernel) -> Process:
    return kernel.spawn()


def expect_errno(name: str, call: Callable[[], object]) -> None:
    with pytest.raises(SyscallError) as info:
        call()
    assert info.value.name == name and info.value.errno == getattr(errno, name), str(info.value)


def committed(kernel: Kernel) -> int:
    return kernel.statistics().commit.committed_pages


def spans(mm: Mm) -> list[tuple[int, int]]:
    mm._check()
    return [((v.vm_start - BASE) // PG, (v.vm_end - BASE) // PG) for v in mm.vmas()]


def test_host_defaults(kernel: Kernel) -> None:
    stats = kernel.statistics().commit
    # MemTotal 24683772 kB, no swap, ratio 50: CommitLimit 12341884 kB as /proc/meminfo.
    assert (stats.ram_pages, stats.swap_pages) == (24683772 // 4, 0)
    assert stats.commit_limit_pages * 4 == 12341884
    assert (stats.overcommit_memory, stats.overcommit_ratio, stats.overcommit_kbytes) == (0, 50, 0)


def test_heuristic_refuses_a_single_request_larger_than_ram_and_swap(
    kernel: Kernel, proc: Process
) -> None:
    mm = proc.mm
    expect_errno("ENOMEM", lambda: mm.mmap(0, 64 * GIB, RW, ANON))
    expect_errno("ENOMEM", lambda: mm.mmap(0, 64 * GIB, RW, MAP_SHARED | MAP_ANONYMOUS))
    mm.mmap(0, 64 * GIB, RW, ANON | MAP_NORESERVE)
    mm.mmap(0, 64 * GIB, PROT_READ, ANON)  # not accountable
    mm.mmap(0, 20 * GIB, RW, ANON)  # fits: the heuristic does not add requests up
    mm.mmap(0, 20 * GIB, RW, ANON)
    assert committed(kernel) == 40 * GIB // PG
    ram = kernel.ram_pages
    mm.mmap(0, ram * PG, RW, ANON)  # exactly RAM + swap: admitted
    expect_errno("ENOMEM", lambda: mm.mmap(0, (ram + 1) * PG, RW, ANON))
    kernel.swap_pages = 1
    mm.mmap(0, (ram + 1) * PG, RW, ANON)
    assert kernel.statistics().commit.refusals == 3


def test_failed_fixed_mapping_keeps_the_gather_split(proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    expect_errno("ENOMEM", lambda: mm.mmap(BASE + 2 * PG, 64 * GIB, RW, FIXED))
    assert spans(mm) == [(0, 2), (2, 4)]  # re-attached, but split (as on the host)


def test_failed_shared_anonymous_fixed_mapping_leaves_a_hole(kernel: Kernel, proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    expect_errno(
        "ENOMEM", lambda: mm.mmap(BASE + PG, 64 * GIB, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    )
    assert spans(mm) == [(0, 1)]
    assert committed(kernel) == 1


def test_mprotect_and_mremap_charge_growth(kernel: Kernel, proc: Process) -> None:
    mm = proc.mm
    mm.mmap(BASE, 32 * GIB, PROT_READ, FIXED)
    assert committed(kernel) == 0
    expect_errno("ENOMEM", lambda: mm.mprotect(BASE, 32 * GIB, RW))
    mm.mprotect(BASE, PG, RW)
    assert committed(kernel) == 1
    expect_errno("ENOMEM", lambda: mm.mprotect(BASE, 32 * GIB, RW))  # the second VMA
    assert spans(mm) == [(0, 1), (1, 32 * GIB // PG)]
    mm.mmap(BASE - 16 * PG, PG, RW, FIXED)
    expect_errno("ENOMEM", lambda: mm.mremap(BASE - 16 * PG, PG, 32 * GIB, MREMAP_MAYMOVE))
    assert committed(kernel) == 2
    mm.mremap(BASE - 16 * PG, PG, 8 * PG, 0)  # grows in place: charges 7 pages
    assert committed(kernel) == 9 == committed_by_mappings(kernel)


def test_committed_follows_every_syscall(kernel: Kernel, proc: Process) -> None:
    mm = proc.mm

    def check(pages: int) -> None:
        assert committed(kernel) == pages == committed_by_mappings(kernel)

    mm.mmap(BASE, 8 * PG, RW, FIXED)
    check(8)
    mm.mmap(BASE + 4 * PG, 8 * PG, RW, FIXED)  # replaces 4 charged pages: +4
    check(12)
    mm.mmap(BASE + 2 * PG, 2 * PG, PROT_READ, FIXED)  # not accountable: -2
    check(10)
    mm.munmap(BASE, PG)
    check(9)
    mm.mprotect(BASE + 4 * PG, 8 * PG, PROT_READ)  # unfaulted anonymous: gives it back
    check(1)
    assert mm.fault(BASE + PG, "write").ok
    mm.mprotect(BASE + PG, PG, PROT_READ)  # faulted (anon_vma): keeps VM_ACCOUNT
    check(1)
    mm.mprotect(BASE + 2 * PG, 2 * PG, RW)
    check(3)
    shm = mm.mmap(0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS)
    check(7)
    mm.mmap(0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE)
    check(7)
    start = mm.cur_brk
    mm.brk(start + 3 * PG)
    check(10)
    child = proc.fork()  # the child's 6 accounted pages are charged again
    check(16)
    kernel.exit(child.pid)
    check(10)
    mm.munmap(shm, 4 * PG)
    kernel.rcu.barrier()  # the shmem object goes with its last reference
    check(6)
    mm.mremap(BASE + 2 * PG, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, BASE + 64 * PG)
    check(8)  # the old range keeps its charge, the new one is charged too
    mm.brk(start)
    check(5)


def test_mremap_shrink_and_move_keeps_the_delta_charged(kernel: Kernel, proc: Process) -> None:
    # vrm_calc_charge() charges vrm->delta after shrink_vma() gave it back; the 6.18
    # host's Committed_AS keeps old_len - new_len after the mapping is gone.
    mm = proc.mm
    mm.mmap(BASE, 16 * PG, RW, FIXED)
    mm.mremap(BASE, 16 * PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 64 * PG)
    assert committed(kernel) == 16
    mm.munmap(BASE + 64 * PG, PG)
    assert committed(kernel) == 15 and committed_by_mappings(kernel) == 0


def test_mode_always_admits_everything(kernel: Kernel, proc: Process) -> None:
    kernel.overcommit_memory = OVERCOMMIT_ALWAYS
    proc.mm.mmap(0, 1 << 46, RW, ANON)
    assert committed(kernel) == (1 << 46) // PG


def test_mode_never_keeps_committed_below_the_limit(kernel: Kernel, proc: Process) -> None:
    mm = proc.mm
    kernel.configure(overcommit_memory=OVERCOMMIT_NEVER, overcommit_kbytes=1024 * 1024)
    limit = 1024 * 1024 // 4  # 1 GiB in pages; root keeps no admin reserve
    assert kernel.statistics().commit.commit_limit_pages == limit
    # MAP_NORESERVE is ignored in this mode.
    expect_errno("ENOMEM", lambda: mm.mmap(0, 2 * GIB, RW, ANON | MAP_NORESERVE))
    # The user reserve: min(total_vm / 32, user_reserve_kbytes) of this process.
    mm.mmap(0, 512 * 1024 * PG // 4, PROT_READ, ANON)  # total_vm 128 Ki pages: 4096
    allowed = limit - 4096
    mm.mmap(0, (allowed - 1) * PG, RW, ANON)
    expect_errno("ENOMEM", lambda: mm.mmap(0, PG, RW, ANON))
    # Without CAP_SYS_ADMIN the admin reserve is kept back too.
    mm.cap_sys_admin = False
    assert mm.brk(mm.cur_brk + PG) == mm.cur_brk
    kernel.overcommit_ratio = 100  # clears overcommit_kbytes
    assert kernel.overcommit_kbytes == 0
    mm.mmap(0, PG, RW, ANON)


@PYTHON_ENGINE_ONLY
def test_settings_are_validated_and_configure_is_all_or_nothing(kernel: Kernel) -> None:
    for name, bad in [
        ("ram_pages", 0),
        ("swap_pages", -1),
        ("overcommit_memory", 3),
        ("overcommit_ratio", -1),
        ("overcommit_kbytes", "1"),
        ("config_anon_vma_name", 1),
    ]:
        with pytest.raises(InvalidArgument):
            setattr(kernel, name, bad)
    before = kernel.settings()
    with pytest.raises(InvalidArgument):
        kernel.configure(ram_pages=100, overcommit_memory=7)
    with pytest.raises(InvalidArgument, match="unknown kernel setting"):
        kernel.configure(ram=1)
    assert kernel.settings() == before
    kernel.configure(ram_pages=100, swap_pages=50, overcommit_kbytes=64)
    assert kernel.statistics().commit.commit_limit_pages == 16 + 50


def test_settings_and_charge_survive_a_checkpoint(kernel: Kernel, proc: Process) -> None:
    mm = proc.mm
    kernel.configure(ram_pages=1 << 20, swap_pages=3, overcommit_memory=OVERCOMMIT_NEVER)
    kernel.overcommit_ratio = 90
    kernel.config_anon_vma_name = False
    mm.mmap(BASE, 4 * PG, RW, FIXED)
    mm.mmap(0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS)
    mm.mremap(BASE, 4 * PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 64 * PG)  # drift 3
    restored = load_kernel(dump_kernel(kernel))
    assert restored.settings() == kernel.settings()
    assert committed(restored) == committed(kernel) == 4 + 1 + 3
    # The shmem object still gives its charge back when its mapping goes.
    rmm = restored.get(proc.pid).mm
    shm = next(v for v in rmm.vmas() if v.vm_file is not None)
    rmm.munmap(shm.vm_start, 4 * PG)
    restored.rcu.barrier()
    assert committed(restored) == 4


def test_mremap_merging_into_its_own_source_charges_the_growth(
    kernel: Kernel, proc: Process
) -> None:
    """An unfaulted anonymous VMA moved to a range between its previous neighbour and
    itself merges with both (copy_vma(): its pgoff is reset to the destination's), so
    the source range is unmapped from the merged VMA with VM_ACCOUNT cleared: the
    growth stays charged. The 6.18 host: a 1 GiB VMA grown to 2 GiB this way raised
    Committed_AS by exactly 1,048,576 kB."""
    mm = proc.mm
    mm.mmap(BASE, 13 * PG, RW, FIXED)
    mm.mmap(BASE + 17 * PG, 2 * PG, RW, FIXED)
    mm.mmap(BASE + 20 * PG, 4 * PG, PROT_READ, FIXED)  # no room to grow in place
    assert committed(kernel) == 15
    mm.mremap(BASE + 17 * PG, 2 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 13 * PG)
    assert spans(mm) == [(0, 17), (20, 24)]
    assert committed(kernel) == 17 == committed_by_mappings(kernel)
    kernel.exit(proc.pid)
    assert committed(kernel) == 0


@pytest.mark.parametrize("seed", range(6))
def test_a_random_mix_keeps_the_charge_equal_to_the_mappings(kernel: Kernel, seed: int) -> None:
    """The load test's mix (mmap, partial munmap and mprotect, mremap growing or shrinking
    with MREMAP_MAYMOVE, brk, faults, exits): after every call Committed_AS is what the
    mappings hold, and nothing is left once every process exits (a drift below zero once
    made a saved state impossible to load)."""
    rnd = random.Random(seed)
    procs = [kernel.spawn(layout="typical") for _ in range(3)]
    regions: dict[int, list[list[int]]] = {p.pid: [] for p in procs}
    for _ in range(600):
        proc = rnd.choice(procs)
        mm, regs = proc.mm, regions[proc.pid]
        op = rnd.choice(("mmap", "mmap", "munmap", "mprotect", "mremap", "brk", "fault", "exit"))
        try:
            if op == "mmap":
                n = rnd.choice((1, 2, 4, 16, 64))
                regs.append([mm.mmap(0, n * PG, RW, ANON), n])
            elif op == "munmap" and regs:
                r = rnd.choice(regs)
                keep = rnd.randrange(r[1]) if r[1] > 1 and rnd.random() < 0.3 else 0
                mm.munmap(r[0] + keep * PG, (r[1] - keep) * PG)
                if keep:
                    r[1] = keep
                else:
                    regs.remove(r)
            elif op == "mprotect" and regs:
                r = rnd.choice(regs)
                first = rnd.randrange(r[1])
                prot = rnd.choice((PROT_READ, RW, PROT_NONE))
                mm.mprotect(r[0] + first * PG, rnd.randint(1, r[1] - first) * PG, prot)
            elif op == "mremap" and regs:
                r = rnd.choice(regs)
                n = max(1, r[1] * 2 if rnd.random() < 0.6 else r[1] // 2)
                r[0], r[1] = mm.mremap(r[0], r[1] * PG, n * PG, MREMAP_MAYMOVE), n
            elif op == "brk":
                mm.brk(max(mm.start_brk, mm.cur_brk + rnd.randint(-32, 32) * PG))
            elif op == "fault" and regs:
                r = rnd.choice(regs)
                mm.fault(r[0] + rnd.randrange(r[1]) * PG, rnd.choice(("read", "write")))
            elif op == "exit":
                kernel.exit(proc.pid)
                procs.remove(proc)
                procs.append(kernel.spawn(layout="typical"))
                regions[procs[-1].pid] = []
        except SyscallError:
            pass  # e.g. ENOMEM from a region split by mprotect: still accounted right
        assert committed(kernel) == committed_by_mappings(kernel), (seed, op)
    for proc in procs:
        kernel.exit(proc.pid)
    assert committed(kernel) == 0
