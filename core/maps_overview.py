"""An overview of ``/proc/<pid>/maps`` computed from the VMAs: runs of consecutive VMAs,
their first line, end, count and bytes, without rendering or parsing the text.

Design note
===========

A process of millions of VMAs cannot be drawn line by line, so the live page asks for
at most a few thousand runs of consecutive lines (``format=overview``). Summarising the
text means rendering every line (a cached string per VMA, but 2,200,000 of them) and
parsing each back to two integers. Everything a run shows is already in the tree:

* its length in bytes is the sum of its entries' stored ranges
  (:meth:`core.vma_tree.VmaTree.runs`: its span minus its holes, a C sum of each
  leaf's cached holes, O(n) additions in about n / 64 steps);
* its end is its last entry's end, its count ``per`` (the last run: the rest);
* its first line is one :func:`core.hooks.vma_line` of its first VMA, which prints
  ``[heap]``/``[stack]`` from ``brk``/``start_brk``/``start_stack`` read in the same
  section, byte for byte the line the text of the same read would hold.

The ``[vsyscall]`` gate line, if shown, is a run of its own (it is not in the tree).
Runs are cut exactly as ``app.snapshots.overview`` cuts the lines (``per`` =
``ceil(n / groups)``), so the two agree on any consistent read (a test checks it on
random layouts, both engines).

Which moment it shows (the readers of :mod:`core.maps_reader`):

``seqcount``
    One tree version walked under RCU between ``mmap_lock_speculate_try_begin`` and
    ``mmap_lock_speculate_retry``; an attempt that a write-lock cycle overlapped is
    discarded, and after ``max_retries`` the read finishes under ``mmap_lock`` for
    read. So the overview is of the address space as it stood between two write-lock
    cycles (``seq_begin == seq_end``, even): what the seqcount text read would show.
    (In a version taken mid-cycle the tree's ranges could differ from the VMAs' own
    fields, ``__split_vma``'s window; a validated read cannot see one.)

``mmap_lock``
    The same computation holding ``mmap_lock`` for read (the kernel up to 6.16).

``per_vma`` has no overview here: its point is a line-by-line walk whose lines may
show different moments (``torn_at``); an overview of it is an overview of its lines.

Generation cache: the sums depend on the layout only, and ``mm.generation`` names the
layout (bumped by every write-lock cycle that stored into the tree, moved the break or
changed flags in place, :meth:`core.mm.Mm._write_cycle_end`). A validated read keeps
its runs on the mm (:attr:`core.mm.Mm.overview_cache`, one immutable object, replaced
with one reference store); a later read that sees the same generation inside its own
validated section reuses the sums and renders only the runs' first lines again (a line
can change without a layout change: a file unlinked prints `` (deleted)``). So a
second page on an unchanged process costs O(groups), not O(n).

Locks: callers hold nothing; the readers take RCU or ``mmap_lock`` for read
themselves and release them before returning. Long sums yield the GIL
(``cond_resched``) between leaves, as the text walk does between records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .errors import InvalidArgument
from .hooks import vma_line
from .maps_reader import (
    DEFAULT_MAX_RETRIES,
    MAX_RETRIES_LIMIT,
    LockHoldTimes,
    Reader,
    check_int,
    check_reader,
    hold_read,
    speculate,
)
from .procfs import GATE_LINE

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = ["MAX_GROUPS", "MapsOverview", "MapsRun", "read_overview"]

#: The most runs an overview may be asked for (each is a line of text to send).
MAX_GROUPS: Final = 1 << 20

#: The gate line's range (``[vsyscall]``, ``ffffffffff600000-ffffffffff601000``).
_GATE_START: Final = int(GATE_LINE[: GATE_LINE.index("-")], 16)
_GATE_END: Final = int(GATE_LINE[GATE_LINE.index("-") + 1 : GATE_LINE.index(" ")], 16)


@dataclass(frozen=True, slots=True)
class MapsRun:
    """Consecutive maps lines: the first as printed (no newline), the end of the last,
    how many lines and how many bytes they map (holes between them excluded)."""

    line: str
    end: int
    vmas: int
    size: int


@dataclass(frozen=True, slots=True)
class MapsOverview:
    """What one overview read returned and how (the fields of
    :class:`core.maps_reader.MapsSnapshot` that describe a read; ``count`` is the number
    of lines the text would have, the gate line included). ``reused``: the sums were
    those of an earlier validated read of the same ``generation``."""

    reader: Reader
    runs: tuple[MapsRun, ...]
    count: int
    seq_begin: int
    seq_end: int
    attempts: int
    fallbacks: int
    hold: LockHoldTimes
    generation: int
    retry_reasons: tuple[str, ...]
    reused: bool

    @property
    def consistent(self) -> bool:
        """True if no write-lock cycle overlapped the read (equal, even counts)."""
        return self.seq_begin == self.seq_end and not self.seq_begin & 1


class _Sums:
    """The layout-only part of an overview: per run, its first VMA, end, count, bytes.
    Immutable once built; ``Mm.overview_cache`` holds the last validated one."""

    __slots__ = ("generation", "groups", "n", "runs")

    def __init__(
        self, generation: int, groups: int, n: int, runs: list[tuple[Vma, int, int, int]]
    ) -> None:
        self.generation = generation
        self.groups = groups
        self.n = n
        self.runs = runs


def _sums(mm: Mm, groups: int, generation: int) -> tuple[_Sums, bool]:
    """The runs of the current tree version, or the cached ones if ``generation`` is
    theirs. Caller holds RCU (inside a seqcount section it validates afterwards) or
    ``mmap_lock`` for read. O(n) additions; O(1) on a hit."""
    cached = mm.overview_cache
    if isinstance(cached, _Sums) and cached.generation == generation and cached.groups == groups:
        return cached, True
    tree = mm.tree.snapshot()
    n = len(tree)
    per = -(-n // groups) if n else 1
    runs = [(entry[2], end, k, size) for entry, end, k, size in tree.runs(per)]
    return _Sums(generation, groups, n, runs), False


def _render(mm: Mm, sums: _Sums) -> tuple[MapsRun, ...]:
    """The runs with their first lines, rendered now. O(groups). Same caller contract
    as :func:`_sums` (the VMAs are kept alive by what the caller holds)."""
    brk, start_brk, start_stack = mm.cur_brk, mm.start_brk, mm.start_stack
    out = [
        MapsRun(vma_line(vma, brk, start_brk, start_stack)[:-1], end, k, size)
        for vma, end, k, size in sums.runs
    ]
    if mm.show_gate:
        out.append(MapsRun(GATE_LINE[:-1], _GATE_END, 1, _GATE_END - _GATE_START))
    return tuple(out)


def _count(mm: Mm, sums: _Sums) -> int:
    return sums.n + (1 if mm.show_gate else 0)


def read_overview(
    mm: Mm,
    groups: int,
    reader: Reader = "seqcount",
    *,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> MapsOverview:
    """``/proc/<pid>/maps`` of ``mm`` in at most ``groups`` runs of consecutive VMAs
    (plus the gate line's own run), read with ``reader`` (see the module docstring).
    Caller holds no lock. O(n) additions per attempt (C sums, a yield between leaves),
    O(groups) when the layout's generation is the cached one.

    Raises :class:`~core.errors.InvalidArgument` for ``groups`` outside
    ``[1, MAX_GROUPS]``, an unknown reader, ``per_vma``, or ``max_retries`` outside
    ``[0, MAX_RETRIES_LIMIT]``.
    """
    check_int("groups", groups, 1, MAX_GROUPS)
    check_reader(reader)
    if reader == "per_vma":
        raise InvalidArgument(
            "per_vma has no overview from the tree: its lines may show different moments; "
            "summarise the lines of a per_vma read instead"
        )
    check_int("max_retries", max_retries, 0, MAX_RETRIES_LIMIT)
    if mm._dead:  # mmget_not_zero() failed: an empty file
        seq = mm.mmap_lock.seq
        return MapsOverview(
            reader, (), 0, seq, seq, 0, 0, LockHoldTimes(), mm.generation, (), False
        )
    if reader == "seqcount":
        return _read_seqcount(mm, groups, max_retries)
    return _read_mmap_lock(mm, groups, reader, 1, 0, (), 0)


def _read_seqcount(mm: Mm, groups: int, max_retries: int) -> MapsOverview:
    """Speculative RCU sections validated by ``mm_lock_seq``
    (:func:`core.maps_reader.speculate`, as the seqcount text read); ``mmap_lock`` for
    read after ``max_retries`` failed attempts."""

    def section() -> tuple[_Sums, bool, tuple[MapsRun, ...], int, int]:
        generation = mm.generation
        sums, reused = _sums(mm, groups, generation)
        return sums, reused, _render(mm, sums), _count(mm, sums), generation

    spec = speculate(mm, section, max_retries)
    reasons = tuple(spec.reasons)
    if spec.result is None:
        return _read_mmap_lock(mm, groups, "seqcount", max_retries + 1, spec.rcu_ns, reasons, 1)
    sums, reused, runs, count, generation = spec.result
    if not reused:
        mm.overview_cache = sums  # validated: the layout of ``generation``
    seq = spec.seq
    hold = LockHoldTimes(rcu_ns=spec.rcu_ns)
    return MapsOverview(
        "seqcount", runs, count, seq, seq, spec.attempts, 0, hold, generation, reasons, reused
    )


def _read_mmap_lock(
    mm: Mm,
    groups: int,
    reader: Reader,
    attempts: int,
    rcu_ns: int,
    reasons: tuple[str, ...],
    fallbacks: int,
) -> MapsOverview:
    """The overview holding ``mmap_lock`` for read (the ``mmap_lock`` reader, or the
    seqcount reader's fallback, ``fallbacks`` = 1; :func:`core.maps_reader.hold_read`)."""

    def section() -> tuple[int, _Sums, bool, tuple[MapsRun, ...], int]:
        generation = mm.generation
        sums, reused = _sums(mm, groups, generation)
        return generation, sums, reused, _render(mm, sums), _count(mm, sums)

    (generation, sums, reused, runs, count), seq, hold = hold_read(mm, section, rcu_ns)
    if not reused:
        mm.overview_cache = sums
    return MapsOverview(
        reader, runs, count, seq, seq, attempts, fallbacks, hold, generation, reasons, reused
    )
