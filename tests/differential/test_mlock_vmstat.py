"""``/proc/vmstat``'s ``unevictable_pgs_mlocked``/``unevictable_pgs_munlocked``: the
simulator against the running kernel (issue 13).

Each script runs in a real process (``mlockstat.c``, pinned to one CPU) and in a fresh
simulated one; at every ``snap`` both report how much the two counters grew. What the
scripts pin down (mm/mlock.c, 6.18): a folio counts as mlocked once, when a fault or
populate maps it into a ``VM_LOCKED`` VMA or ``mlock`` finds it mapped; a munlock goes
through the per-CPU mlock batch and counts when the batch drains: at 31 entries (mlock
entries included) or at the next ``lru_add_drain`` (``mlock``/``munlock`` before and
after their walk, the end of populate, MADV_COLD/PAGEOUT/FREE), never at munmap or
MADV_DONTNEED_LOCKED themselves.

The counters are machine-wide, and the batch is drained by whatever else runs on the
helper's CPU and calls ``lru_add_drain`` (an mlock, a populate, MADV_COLD...): on a busy
machine the kernel may count a queued munlock a step early. A script whose
output differs is run again (up to eight times, a few milliseconds each) before the
difference counts; the simulator's side is deterministic.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.differential.realkernel import CFLAGS, find_compiler, unsupported_reason

pytestmark = pytest.mark.kernel

SOURCE = Path(__file__).with_name("mlockstat.c")
#: Runs of a script on the kernel before a difference counts (see the module note).
ATTEMPTS = 8

#: name -> script (one command per line; see mlockstat.c).
SCRIPTS: dict[str, str] = {
    # munmap of 100 locked pages: three batches of 31 drain, 7 wait for the next mlock.
    "munmap_leaves_a_partial_batch": """
        mmap 0 100
        touch 0 0 100
        snap
        mlock 0
        snap
        munlock 0
        snap
        mlock 0
        snap
        munmap 0
        snap
        mmap 1 1
        mlock 1
        snap
        munlock 1
        snap
    """,
    # Neither munmap nor MADV_DONTNEED_LOCKED drains; MADV_COLD and mlock do.
    "what_drains": """
        mmap 0 10
        touch 0 0 10
        mlock 0
        mmap 1 5
        touch 1 0 5
        snap
        munmap 0
        snap
        munmap 1
        snap
        mmap 2 1
        touch 2 0 1
        madvise 2 cold
        snap
        madvise 2 free
        madvise 2 pageout
        snap
        mmap 3 20 locked
        snap
        madvise 3 dontneed
        madvise 3 dontneed_locked
        snap
        mmap 4 10
        touch 4 0 10
        mlock 4
        snap
    """,
    # MLOCK_ONFAULT mlocks what is touched; munlock counts only mlocked folios.
    "onfault": """
        mmap 0 20
        onfault 0
        snap
        touch 0 0 5
        snap
        munlock 0
        snap
        mmap 1 20 locked
        munlock 1
        snap
    """,
    # Populate drains at the end (the batch is empty after MAP_LOCKED or mlock), plain
    # faults into a locked VMA do not: the next munmap fills the batch sooner.
    "populate_drains_faults_do_not": """
        mmap 0 15
        touch 0 0 15
        mlock 0
        mmap 1 20 locked
        snap
        munmap 0
        snap
        mmap 2 15
        touch 2 0 15
        mlock 2
        mmap 3 20
        onfault 3
        touch 3 0 20
        snap
        munmap 2
        snap
        mmap 4 15
        touch 4 0 15
        mlock 4
        mmap 5 20
        mlock 5
        snap
        munmap 4
        snap
        mmap 6 5
        touch 6 0 5
        mlock 6
        munmap 6
        mmap 7 2 populate
        snap
    """,
    # A COW break in a locked VMA mlocks the copy and munlocks the original; a child's
    # exit munlocks its locked folios (queued on this CPU); mremap moves PTEs without
    # touching mlock state, a shrink munlocks the tail, a locked growth populates.
    "fork_cow_exit_mremap": """
        mmap 0 10
        touch 0 0 10
        mlock 0
        snap
        fork
        touch 0 1 2
        snap
        reap
        mmap 1 1
        touch 1 0 1
        madvise 1 cold
        snap
        mremap 0 4
        snap
        mremap 0 12 maymove
        snap
        madvise 1 cold
        snap
        child_locked 8
        snap
        madvise 1 cold
        snap
    """,
}


def _commands(script: str) -> list[list[str]]:
    return [line.split() for line in script.strip().splitlines()]


def run_simulator(script: str) -> list[str]:
    """The script on a fresh simulated machine: one line per ``snap``."""
    from core import (
        MADV_COLD,
        MADV_DONTNEED,
        MADV_DONTNEED_LOCKED,
        MADV_FREE,
        MADV_PAGEOUT,
        MADV_POPULATE_WRITE,
        MAP_ANONYMOUS,
        MAP_LOCKED,
        MAP_POPULATE,
        MAP_PRIVATE,
        MLOCK_ONFAULT,
        MREMAP_MAYMOVE,
        PAGE_SIZE,
        PROT_READ,
        PROT_WRITE,
        Kernel,
        SyscallError,
    )

    advice = {
        "cold": MADV_COLD,
        "pageout": MADV_PAGEOUT,
        "free": MADV_FREE,
        "dontneed": MADV_DONTNEED,
        "dontneed_locked": MADV_DONTNEED_LOCKED,
        "populate_write": MADV_POPULATE_WRITE,
    }
    kernel = Kernel()
    proc = kernel.spawn()
    mm = proc.mm
    slots: dict[int, tuple[int, int]] = {}
    child_pid: int | None = None
    last = (0, 0)
    out: list[str] = []

    # The commands that act on a slot's whole range; their errors are part of the
    # script, as in the helper.
    ranged: dict[str, Callable[[int, int, list[str]], object]] = {
        "mlock": lambda addr, size, _: mm.mlock(addr, size),
        "onfault": lambda addr, size, _: mm.mlock2(addr, size, MLOCK_ONFAULT),
        "munlock": lambda addr, size, _: mm.munlock(addr, size),
        "munmap": lambda addr, size, _: mm.munmap(addr, size),
        "madvise": lambda addr, size, args: mm.madvise(addr, size, advice[args[1]]),
    }

    for cmd, *args in _commands(script):
        nums = [int(a) for a in args if a.isdigit()]
        if cmd in ranged:
            addr, pages = slots[nums[0]]
            try:
                ranged[cmd](addr, pages * PAGE_SIZE, args)
            except SyscallError:
                pass
        elif cmd == "snap":
            ev = kernel.vm_events.statistics()
            now = (ev.unevictable_pgs_mlocked, ev.unevictable_pgs_munlocked)
            out.append(f"mlocked +{now[0] - last[0]} munlocked +{now[1] - last[1]}")
            last = now
        elif cmd == "mmap":
            flags = MAP_PRIVATE | MAP_ANONYMOUS
            if "locked" in args[2:]:
                flags |= MAP_LOCKED
            if "populate" in args[2:]:
                flags |= MAP_POPULATE
            addr = mm.mmap(0, nums[1] * PAGE_SIZE, PROT_READ | PROT_WRITE, flags)
            slots[nums[0]] = (addr, nums[1])
        elif cmd == "touch":
            base = slots[nums[0]][0]
            for i in range(nums[1], nums[1] + nums[2]):
                mm.fault(base + i * PAGE_SIZE, "write")
        elif cmd == "mremap":
            flags = MREMAP_MAYMOVE if args[2:] == ["maymove"] else 0
            addr, pages = slots[nums[0]]
            new = mm.mremap(addr, pages * PAGE_SIZE, nums[1] * PAGE_SIZE, flags)
            slots[nums[0]] = (new, nums[1])
        elif cmd == "fork":
            child_pid = proc.fork().pid
        elif cmd == "reap":
            assert child_pid is not None
            kernel.exit(child_pid)
            child_pid = None
        elif cmd == "child_locked":
            child = proc.fork()
            locked = MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED
            child.mm.mmap(0, nums[0] * PAGE_SIZE, PROT_READ | PROT_WRITE, locked)
            kernel.exit(child.pid)
        else:
            raise AssertionError(f"unknown command {cmd}")
    mm._check()
    kernel.lru._check()
    return out


@pytest.fixture(scope="module")
def mlockstat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = unsupported_reason()
    if reason is not None:
        pytest.skip(f"differential tests against the real kernel: {reason}")
    cc = find_compiler()
    assert cc is not None
    exe = tmp_path_factory.mktemp("mlockstat") / "mlockstat"
    subprocess.run([cc, *CFLAGS, "-o", str(exe), str(SOURCE)], check=True, capture_output=True)
    return exe


def run_kernel(helper: Path, script: str) -> list[str]:
    """The script in a real process: one line per ``snap``."""
    text = "\n".join(" ".join(c) for c in _commands(script)) + "\n"
    proc = subprocess.run(
        [str(helper)], input=text, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_mlock_counters_match_the_kernel(mlockstat: Path, name: str) -> None:
    script = SCRIPTS[name]
    sim = run_simulator(script)
    assert len(sim) == script.count("snap")
    runs = []
    for _ in range(ATTEMPTS):
        real = run_kernel(mlockstat, script)
        if real == sim:
            return
        runs.append(real)
    lines = script.strip().splitlines()
    snaps = [i for i, line in enumerate(lines) if line.strip() == "snap"]
    report = "\n".join(
        f"snap {k} (line {snaps[k] + 1}): kernel {runs[0][k] if k < len(runs[0]) else '-'}, "
        f"simulator {s}"
        for k, s in enumerate(sim)
    )
    pytest.fail(f"{name}: the counters differ in {ATTEMPTS} runs of the kernel:\n{report}")


def test_the_simulator_counts_per_process_and_machine_wide() -> None:
    """The events count in the mm that caused them and in its machine (as the other
    vmstat events do); a munlock queued by an exited process counts machine-wide."""
    from core import (
        MAP_ANONYMOUS,
        MAP_LOCKED,
        MAP_PRIVATE,
        PAGE_SIZE,
        PROT_READ,
        PROT_WRITE,
        Kernel,
    )

    kernel = Kernel()
    a, b = kernel.spawn(), kernel.spawn()
    flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED
    addr = a.mm.mmap(0, 40 * PAGE_SIZE, PROT_READ | PROT_WRITE, flags)
    b.mm.mmap(0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, flags)
    a.mm.munmap(addr, 40 * PAGE_SIZE)  # 31 drain now (the batch was empty), 9 wait
    ea, eb, ek = (x.statistics() for x in (a.mm.vm_events, b.mm.vm_events, kernel.vm_events))
    assert (ea.unevictable_pgs_mlocked, ea.unevictable_pgs_munlocked) == (40, 31)
    assert (eb.unevictable_pgs_mlocked, eb.unevictable_pgs_munlocked) == (3, 0)
    assert (ek.unevictable_pgs_mlocked, ek.unevictable_pgs_munlocked) == (43, 31)
    kernel.exit(b.pid)  # 3 more queued: 12 wait
    kernel.exit(a.pid)
    assert len(kernel.lru.mlock) == 12
    c = kernel.spawn()
    c.mm.mlock(c.mm.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS), 4096)
    ek = kernel.vm_events.statistics()
    assert (ek.unevictable_pgs_mlocked, ek.unevictable_pgs_munlocked) == (44, 43)
    assert kernel.lru.mlock == []
