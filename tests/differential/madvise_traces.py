"""Random traces that mix madvise(2) and fork with the calls and touches of
:class:`tests.differential.trace.Generator` (issue 13 part A).

Every trace reports every smaps field of each arena VMA after each op
(``smaps all``). The generator aims madvise at the places where the kernel's
behaviour is interesting: ranges over several VMAs and holes, parts of one VMA
(splits, and merges back), pages that were touched (DONTNEED, FREE, COLD, PAGEOUT,
guard markers over present pages), pages of files and of shared anonymous memory
(REMOVE, WILLNEED, POPULATE past EOF), and argument errors. ``fork child`` goes on in
the child (its Referenced bits, DONTFORK and WIPEONFORK VMAs, guard markers),
``fork parent`` in the parent (pages now shared, COW).

Every MADV_FREE and MADV_COLD drains the LRU batches before anything looks
(``madvise ... drain``): their effect on LazyFree and on the LRU lists waits in per-CPU
batches that other processes on the host's CPU may drain at any moment, so only the
drained state is deterministic; the batches themselves are checked by
``tests/core/test_madvise.py`` against host recordings.

With ``boundary`` the trace starts with ``fill <headroom>``: the process is then a few
VMAs short of ``vm.max_map_count`` and splits start failing (EAGAIN for madvise); such
traces compare results and maps lines only (see :meth:`MadviseGenerator.generate`).

:class:`SealLockGenerator` adds part B's mlock, mlock2, munlock and mseal to these
traces: sealed VMAs refusing discarding advice (EPERM), locked ones refusing DONTNEED,
FREE, COLD, PAGEOUT, REMOVE and GUARD_INSTALL (EINVAL), population by mlock over
touched, freed and guarded pages, forks of locked and sealed VMAs.
"""

from __future__ import annotations

from tests.differential.trace import (
    ARENA_BASE,
    ARENA_PAGES,
    MADV_NAMES,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE,
    U64,
    Generator,
    LockGenerator,
    Op,
    Trace,
)

# (advice, weight): what a random madvise asks for.
ADVICE_CHOICES: list[tuple[str, int]] = [
    ("dontneed", 12),
    ("free", 8),
    ("cold", 5),
    ("pageout", 4),
    ("willneed", 4),
    ("remove", 3),
    ("populate_read", 5),
    ("populate_write", 6),
    ("guard_install", 7),
    ("guard_remove", 4),
    ("normal", 3),
    ("random", 3),
    ("sequential", 3),
    ("dontfork", 3),
    ("dofork", 2),
    ("wipeonfork", 3),
    ("keeponfork", 2),
    ("dontdump", 2),
    ("dodump", 2),
    ("hugepage", 3),
    ("nohugepage", 2),
    ("mergeable", 2),
    ("unmergeable", 2),
    ("dontneed_locked", 2),
    ("collapse", 1),
]
_NAMES = [name for name, _ in ADVICE_CHOICES]
_WEIGHTS = [weight for _, weight in ADVICE_CHOICES]
# Numbers madvise_behavior_valid() refuses (EINVAL before any lookup).
INVALID_ADVICE = [5, 6, 7, 26, 99, 100, 101, 104, 0xFFFFFFFF, U64]
MAX_FORKS = 2


class MadviseGenerator(Generator):
    """:class:`Generator` plus madvise, fork and drain; ``boundary`` starts the trace
    with ``fill``. Deterministic for a seed."""

    def __init__(
        self,
        seed: int,
        base: int = ARENA_BASE,
        pages: int = ARENA_PAGES,
        fork: bool = True,
        boundary: bool = False,
    ) -> None:
        super().__init__(seed, base, pages, touches=True)
        self.fork = fork
        self.boundary = boundary
        self.forks = 0
        self.dontfork: set[int] = set()  # pages the shadow believes are VM_DONTCOPY

    # --- shadow ------------------------------------------------------------

    def shadow_map(
        self,
        start: int,
        n: int,
        src: tuple[str, int],
        pgoff: int,
        prot: int,
        shared: bool,
        growsdown: bool,
    ) -> None:
        super().shadow_map(start, n, src, pgoff, prot, shared, growsdown)
        self.dontfork.difference_update(range(start, start + n))

    def shadow_clear(self, start: int, end: int) -> None:
        super().shadow_clear(start, end)
        self.dontfork.difference_update(range(start, end))

    def emit(self, op: Op) -> None:
        """As :meth:`Generator.emit`; in a boundary trace, nothing may land outside the
        arena: a new VMA there could merge with one of the helper's own (the libc data
        or the scratch page) on the host and not in the simulator, and near the limit
        the two VMA counts must stay equal. Hinted mmaps become MAP_FIXED_NOREPLACE,
        mremap may not move."""
        if self.boundary and op.kind == "mmap":
            addr, length, prot, flags, slot, off = op.ints()
            if not flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
                op = Op(
                    "mmap",
                    (addr & ~(PAGE - 1), length, prot, flags | MAP_FIXED_NOREPLACE, slot, off),
                )
        elif self.boundary and op.kind == "mremap":
            old, old_len, new_len, flags, new = op.ints()
            if flags & MREMAP_MAYMOVE and not flags & MREMAP_FIXED:
                op = Op("mremap", (old, old_len, new_len, flags & ~MREMAP_MAYMOVE, new))
        super().emit(op)

    # --- operations --------------------------------------------------------

    def madvise_range(self) -> tuple[int, int]:
        """Pages [s, e): across VMAs and holes, one run or part of it, or one page."""
        r = self.rng.random()
        if r < 0.45:
            return self.span()
        mapped = [i for i, p in enumerate(self.pages) if p is not None]
        if r < 0.8 or not mapped:
            runs = self.runs()
            if runs:
                rs, re_ = self.rng.choice(runs)
                s = self.rng.randint(rs, re_ - 1) if self.chance(0.5) else rs
                e = self.rng.randint(s + 1, re_) if self.chance(0.5) else re_
                return s, e
            return self.span()
        s = self.rng.choice(mapped)
        return s, s + 1

    def op_madvise(self) -> None:
        if self.chance(0.04):
            return self.op_madvise_invalid()
        advice = self.rng.choices(_NAMES, _WEIGHTS)[0]
        s, e = self.madvise_range()
        args: tuple[int | str, ...] = (self.addr(s), self.byte_len(e - s), MADV_NAMES[advice])
        if advice in ("free", "cold"):
            args += ("drain",)  # see the module note
        self.emit(Op("madvise", args))
        if advice == "dontfork":
            self.dontfork.update(i for i in range(s, e) if self.pages[i] is not None)
        elif advice == "dofork":
            self.dontfork.difference_update(range(s, e))
        return None

    def op_madvise_invalid(self) -> None:
        a = self.addr(min(self.interesting_page(), self.npages - 2))
        choices = [
            Op("madvise", (a, PAGE, self.rng.choice(INVALID_ADVICE))),
            Op("madvise", (a + 0x10, PAGE, MADV_NAMES["dontneed"])),  # unaligned
            Op("madvise", (a, U64 - PAGE + 2, MADV_NAMES["random"])),  # length wraps
            Op("madvise", (a, 0, MADV_NAMES["guard_install"])),  # empty: success
        ]
        self.emit(self.rng.choice(choices))

    def op_fork(self) -> None:
        who = "child" if self.chance(0.7) else "parent"
        self.forks += 1
        self.emit(Op("fork", (who,)))
        if who == "child":
            for i in sorted(self.dontfork):
                self.pages[i] = None  # DONTFORK VMAs are not copied
            self.dontfork.clear()

    def step(self) -> None:
        r = self.rng.random()
        if r < 0.35:
            self.op_madvise()
        elif r < 0.37 and self.fork and self.forks < MAX_FORKS:
            self.op_fork()
        else:
            super().step()

    def generate(self, n_ops: int) -> Trace:
        for _ in range(self.rng.randint(1, 4)):
            self.op_open()
        if self.boundary:
            self.emit(Op("fill", (self.rng.randint(0, 3),)))
        while len(self.ops) < n_ops:
            self.step()
        # Near the limit the helper has some 65,000 VMAs: reading all of their smaps
        # after every op would take seconds, so boundary traces compare maps only.
        full = not self.boundary
        return Trace(self.base, self.npages, self.ops[:n_ops], smaps=full, smaps_all=full)


class SealLockGenerator(MadviseGenerator, LockGenerator):
    """:class:`MadviseGenerator` with :class:`~tests.differential.trace.LockGenerator`'s
    mlock, mlock2, munlock and mseal (not mlockall, credentials or names: they are
    about the helper's own memory and the host's configuration, which the lock traces
    cover). Reports ``smaps all`` and ``locks`` (VmLck) after every op."""

    def step(self) -> None:
        r = self.rng.random()
        if r < 0.12:
            self.seal_lock_op()
        elif r < 0.42:
            self.op_madvise()
        elif r < 0.44 and self.fork and self.forks < MAX_FORKS:
            self.op_fork()
        else:
            Generator.step(self)  # not LockGenerator's mix

    def seal_lock_op(self) -> None:
        r = self.rng.random()
        if r < 0.3:
            self.op_mlock()
        elif r < 0.5:
            self.op_mlock2()
        elif r < 0.8:
            self.op_munlock()
        else:
            self.op_mseal()

    def generate(self, n_ops: int) -> Trace:
        trace = super().generate(n_ops)
        trace.locks = True
        return trace


def generate_seal_lock(seed: int, n_ops: int) -> Trace:
    """A madvise trace with mlock/mseal ops for ``seed`` (same seed, same trace)."""
    return SealLockGenerator(seed).generate(n_ops)


def generate_madvise(seed: int, n_ops: int, fork: bool = True, boundary: bool = False) -> Trace:
    """The madvise trace for ``seed`` (same seed, same trace)."""
    return MadviseGenerator(seed, fork=fork, boundary=boundary).generate(n_ops)
