"""Reading ``/proc/<pid>/maps`` while writers run: three readers, whole or in chunks;
and the two smaps readers (``smaps``, ``smaps_rollup``: see "smaps readers" below).

Size: the three readers share the snapshot type, the chunking and the position rules of
``seq_file``; they are compared with each other line by line, so they live together.

Design note
===========

The kernel has had two ways to walk the VMAs for ``/proc/<pid>/maps`` and the
simulator adds the third that this service is built around (fs/proc/task_mmu.c,
mm/mmap_lock.c, include/linux/mmap_lock.h):

``"mmap_lock"`` (the kernel up to 6.16, ``m_start`` → ``mmap_read_lock_killable``)
    Hold ``mmap_lock`` for read for the walk. Always consistent; stalls writers, and
    through the rwsem's FIFO queue every fault that falls back behind a waiting writer.

``"seqcount"`` (this simulator's consistent snapshot)
    Walk the tree under RCU with no lock, bracketed by ``mmap_lock_speculate_try_begin``
    / ``mmap_lock_speculate_retry`` (the pair ``lock_next_vma`` and uprobes use). An
    odd count at the start (a writer holds the lock) or a changed count at the end (a
    write-lock cycle began meanwhile) discards the attempt. After ``max_retries``
    failed attempts the reader takes ``mmap_lock`` for read and finishes under it, so
    it always completes, in at most ``max_retries + 1`` attempts. A result is returned
    only when no write-lock cycle overlapped its walk, so it equals the address space
    as it stood between two cycles: the layout recorded at ``seq_begin`` (which then
    equals ``seq_end``). Writers never wait for it.

``"per_vma"`` (6.17+, ``lock_next_vma`` in mm/mmap_lock.c, used by fs/proc/task_mmu.c)
    Under RCU, look up the next VMA from the position (the previous VMA's end),
    ``vma_start_read`` it, and check it: detached → look up again; write-locked (or
    any other lock failure) → fall back; behind the position → fall back; ahead of the
    position while the count moved → look up again from the position and fall back if
    another VMA is there now (no false gap). The fallback
    (``lock_next_vma_under_mmap_lock``) takes ``mmap_lock`` for read just long enough to
    find and read-lock the VMA. Each line shows one VMA as it was at one moment, but
    different lines may show different moments ("sub-page tearing", proc.rst): a VMA
    changed at the position between two lookups can be reported twice (its old and its
    new form), never a gap where something stayed mapped. :attr:`MapsSnapshot.torn_at`
    marks the lines after which that may have happened.

Chunks (``seq_file``, fs/seq_file.c): :class:`MapsFile` returns at most ``chunk_size - 1``
(4095) bytes of whole lines per :meth:`MapsFile.read`, drops every lock between calls,
and resumes from the end address of the last VMA it returned (``priv->last_pos``), so
a slow consumer never holds a lock while it is not reading. The ``[vsyscall]`` gate
line comes last (``SENTINEL_VMA_GATE``). Lines are produced by
:func:`core.procfs.vma_line` / :func:`core.procfs.render_maps`, so they are byte for
byte what ``mm.maps()`` prints.

Every result carries its provenance (:class:`MapsSnapshot`): the reader, the count at
the start and end of the walk that produced it, attempts, whether it fell back to
``mmap_lock``, how long each lock was held, and ``mm.generation`` (bumped by every
write-lock cycle that changed the layout) so a client can tell a stale cached view.

Locks: callers hold nothing. The readers take RCU, VMA read locks and ``mmap_lock``
for read themselves, never hold a VMA read lock while waiting for ``mmap_lock``
(process_addrs.rst lock order), and release everything before returning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Generic, Literal, TypeVar, get_args

from .constants import PAGE_SHIFT
from .errors import InvalidArgument
from .hooks import vma_line  # procfs.vma_line plus the mm's cost hook
from .procfs import GATE_LINE, render_maps_lines
from .sched import RESCHED_MASK, RESCHED_MASK_SLOW, cond_resched
from .smaps import GATE_SMAP, MemSizeStats, rollup_text, smap_block, smap_walk
from .vma_lock import ReadLockFailure, vma_end_read, vma_start_read, vma_start_read_locked

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_READER",
    "DEFAULT_SMAPS_READER",
    "SMAPS_READERS",
    "SmapsFile",
    "SmapsReader",
    "SmapsSnapshot",
    "Speculation",
    "check_smaps_reader",
    "fold_smaps",
    "read_smaps",
    "read_smaps_rollup",
    "smaps_chunk",
    "MAX_RETRIES_LIMIT",
    "POS_END",
    "POS_GATE",
    "READERS",
    "Reader",
    "LockHoldTimes",
    "MapsFile",
    "MapsSnapshot",
    "check_int",
    "check_reader",
    "hold_read",
    "read_maps",
    "speculate",
]

#: The three ways to read maps: ``seqcount`` (lockless, validated by ``mm_lock_seq``;
#: the default), ``per_vma`` (6.17+ ``lock_next_vma``) and ``mmap_lock`` (up to 6.16).
Reader = Literal["seqcount", "per_vma", "mmap_lock"]
READERS: Final[tuple[Reader, ...]] = get_args(Reader)
DEFAULT_READER: Final[Reader] = "seqcount"
DEFAULT_MAX_RETRIES: Final = 3
MAX_RETRIES_LIMIT: Final = 1000
CHUNK_SIZE: Final = 4096
"""The seq_file buffer (``PAGE_SIZE``): a chunk holds at most ``CHUNK_SIZE - 1`` bytes."""
POS_GATE: Final = -2
"""Position after the last VMA: the gate line is next (``SENTINEL_VMA_GATE``)."""
POS_END: Final = -1
"""Position after the gate line: end of file (``SENTINEL_VMA_END``)."""

_ns = time.perf_counter_ns

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LockHoldTimes:
    """Nanoseconds a read spent holding each lock (``*_max_ns``: the longest single
    hold) and waiting for ``mmap_lock``. RCU is not a lock writers wait for, but a long
    read section delays the freeing of VMAs, so it is reported too."""

    rcu_ns: int = 0
    mmap_lock_read_ns: int = 0
    mmap_lock_wait_ns: int = 0
    vma_read_ns: int = 0
    vma_read_max_ns: int = 0


@dataclass(frozen=True, slots=True)
class MapsSnapshot:
    """What one read returned, and how it was obtained.

    ``lines`` are the maps lines (each ending in ``\\n``; the gate line included when it
    was reached). ``seq_begin``/``seq_end`` are ``mm_lock_seq`` at the start and end of
    the walk that produced the lines (for ``"seqcount"`` the successful attempt; equal
    and even for ``"mmap_lock"`` and ``"seqcount"``). ``attempts`` counts walks (for
    ``"per_vma"``: 1 plus the look-ups repeated because a VMA was detached);
    ``fell_back`` says whether ``mmap_lock`` was taken (``fallbacks`` how many times).
    ``generation`` is ``mm.generation`` as of the walk (``"per_vma"``: at its start).
    ``torn_at`` (``"per_vma"`` only) lists the indices ``i`` of lines that may show a
    later moment than line ``i - 1`` (line 0: than ``seq_begin``): the count changed or
    was odd when the VMA was locked. ``retry_reasons`` says why each discarded
    attempt was discarded. ``pos_begin``/``pos_end`` are the file positions (an address,
    :data:`POS_GATE` or :data:`POS_END`) before and after the read.
    """

    reader: Reader
    lines: tuple[str, ...]
    seq_begin: int
    seq_end: int
    attempts: int
    fell_back: bool
    hold: LockHoldTimes
    generation: int
    pos_begin: int = 0
    pos_end: int = POS_END
    torn_at: tuple[int, ...] = ()
    retry_reasons: tuple[str, ...] = ()
    fallbacks: int = 0
    line_seqs: tuple[int, ...] = field(default=(), repr=False)

    @property
    def eof(self) -> bool:
        """True when nothing follows (the gate was reached or there is none)."""
        return self.pos_end == POS_END

    @property
    def consistent(self) -> bool:
        """True if no write-lock cycle can have overlapped the walk (equal, even
        counts): the records are one moment of the address space."""
        return self.seq_begin == self.seq_end and not self.seq_begin & 1

    @property
    def text(self) -> str:
        """The lines joined: what ``read()`` returned."""
        return "".join(self.lines)

    def _check(self) -> None:
        """O(lines): the record's own invariants (any reader)."""
        assert self.reader in READERS, self.reader
        assert all(line.endswith("\n") for line in self.lines), self.lines
        assert GATE_LINE not in self.lines[:-1], "the gate line can only come last"
        assert self.attempts >= (1 if self.lines else 0), self.attempts
        assert self.fell_back == (self.fallbacks > 0), (self.fell_back, self.fallbacks)
        assert list(self.torn_at) == sorted(set(self.torn_at)), self.torn_at
        assert all(0 <= i < len(self.lines) for i in self.torn_at), self.torn_at
        assert self.reader == "per_vma" or not self.torn_at, self.torn_at
        if self.reader != "per_vma" and self.lines:
            assert self.consistent, (self.seq_begin, self.seq_end)
        ranges = self.ranges()
        for (s0, e0), (s1, e1) in zip(ranges, ranges[1:], strict=False):
            assert s0 < e0 and e0 < e1, (s0, e0, s1, e1)  # ends never go backwards
            assert s1 >= e0 or not self.consistent, (s0, e0, s1, e1)

    def ranges(self) -> list[tuple[int, int]]:
        """``(start, end)`` of every VMA line (the gate line excluded). O(lines)."""
        out = []
        for line in self.lines:
            if line is GATE_LINE or line == GATE_LINE:
                continue
            dash = line.index("-")
            out.append((int(line[:dash], 16), int(line[dash + 1 : line.index(" ")], 16)))
        return out


# -- argument checks ---------------------------------------------------------------------


def check_reader(reader: object) -> Reader:
    """``reader`` if it names a maps reader; InvalidArgument naming the choices if not."""
    for known in READERS:
        if reader == known and isinstance(reader, str):
            return known
    raise InvalidArgument(f"unknown maps reader {reader!r}; choose one of {', '.join(READERS)}")


def check_int(what: str, value: object, low: int, high: int) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) in ``[low, high]``; InvalidArgument
    naming ``what`` if not. The readers' options (``chunk_size``, ``max_retries``) and
    :mod:`core.maps_overview`'s are checked by it. O(1)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(f"{what} {value!r} is not an integer in [{low}, {high}]")
    return value


# -- shared walk -------------------------------------------------------------------------


class _Acc:
    """Lines of one chunk and the position after them (``m->count`` and ``*ppos``);
    ``size``, their bytes, is kept by :meth:`add` for :meth:`fits` (a whole walk,
    which has no limit, does not keep it)."""

    __slots__ = ("limit", "lines", "pos", "size", "want")

    def __init__(self, pos: int, limit: int | None, want: int | None = None) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.pos = pos
        self.limit = limit
        self.want = want

    def fits(self, line: str) -> bool:
        # seq_puts(): a record is kept only if count + len < size; the first record of
        # a read is always kept (the kernel doubles the buffer for it). seq_read_iter()
        # shows a further record only while the buffer holds less than the read asked
        # for (m->count < iov_iter_count()): ``want``, None for "as much as fits".
        limit = self.limit
        if limit is None or not self.lines:
            return True
        want = self.want
        return self.size + len(line) < limit and (want is None or self.size < want)

    def add(self, line: str, pos: int) -> None:
        self.lines.append(line)
        self.size += len(line)
        self.pos = pos


def _walk(mm: Mm, acc: _Acc) -> None:
    """Fill ``acc`` from ``acc.pos`` with one tree version (``m_start``/``m_next``
    under ``mmap_lock``, or a speculative RCU walk). O(lines) plus O(log n)."""
    pos = acc.pos
    if pos == POS_END:
        return
    if pos != POS_GATE:
        brk, start_brk, start_stack = mm.cur_brk, mm.start_brk, mm.start_stack
        for n, (_, _, vma) in enumerate(mm.tree.iter_from(pos), 1):
            line = vma_line(vma, brk, start_brk, start_stack)
            if not acc.fits(line):
                return
            acc.add(line, vma.vm_end)
            if not n & RESCHED_MASK:
                cond_resched()  # seq_read_iter() between records
        acc.pos = POS_GATE
    _gate(mm, acc)


def _gate(mm: Mm, acc: _Acc) -> None:
    if not mm.show_gate:
        acc.pos = POS_END
    elif acc.fits(GATE_LINE):
        acc.add(GATE_LINE, POS_END)


def _whole(mm: Mm, pos: int, limit: int | None) -> bool:
    """Whether a walk may take :func:`_walk_whole`: it reads the whole file, and ``mm``
    has no locking profile. A profiled mm (``mm.hooks``, lab/profiles.py) is walked line
    by line even then, so that each line passes its ``show_map_vma`` hook, the cost and
    preemption point the profile charges there (:func:`core.hooks.vma_line`), as its
    chunked reads do."""
    return pos == 0 and limit is None and mm.hooks is None


def _walk_whole(mm: Mm, acc: _Acc) -> None:
    """A whole-file walk from position 0 through :func:`.procfs.render_maps_lines`
    (its cached-line fast path; the lines are the VMAs' own strings, no copy of the
    text); same bytes as :func:`_walk`. O(n). Calls no cost hook: :func:`_whole`."""
    acc.lines = render_maps_lines(mm)
    # ``size`` is left alone: only ``fits`` reads it, for a limit a whole walk does not
    # have, and summing 65,530 lengths would take longer than the render itself.
    acc.pos = POS_END


def _empty(reader: Reader, mm: Mm, pos: int) -> MapsSnapshot:
    seq = mm.mmap_lock.seq
    return MapsSnapshot(reader, (), seq, seq, 0, False, LockHoldTimes(), mm.generation, pos, pos)


# -- "mmap_lock" -------------------------------------------------------------------------


def hold_read(mm: Mm, section: Callable[[], T], rcu_ns: int = 0) -> tuple[T, int, LockHoldTimes]:
    """``section()`` run holding ``mmap_lock`` for read (``mmap_read_lock``), with the
    sequence count it ran at and how long the lock was waited for and held (``rcu_ns``:
    a seqcount reader's RCU time before it fell back here). Caller holds no lock.
    O(section)."""
    lock = mm.mmap_lock
    t0 = _ns()
    lock.read_lock()
    t1 = _ns()
    try:
        seq = lock.seq
        result = section()
    finally:
        lock.read_unlock()
        t2 = _ns()
    hold = LockHoldTimes(rcu_ns=rcu_ns, mmap_lock_read_ns=t2 - t1, mmap_lock_wait_ns=t1 - t0)
    return result, seq, hold


def _read_mmap_lock(mm: Mm, pos: int, limit: int | None, want: int | None = None) -> MapsSnapshot:
    """``m_start`` ≤ 6.16: ``mmap_read_lock`` for the chunk (:func:`hold_read`). O(lines)."""

    def section() -> tuple[_Acc, int]:
        acc = _Acc(pos, limit, want)
        generation = mm.generation
        if _whole(mm, pos, limit):
            _walk_whole(mm, acc)
        else:
            _walk(mm, acc)
        return acc, generation

    (acc, generation), seq, hold = hold_read(mm, section)
    return MapsSnapshot(
        "mmap_lock", tuple(acc.lines), seq, seq, 1, False, hold, generation, pos, acc.pos
    )


# -- "seqcount" --------------------------------------------------------------------------


class Speculation(Generic[T]):
    """What :func:`speculate` made of its attempts: the validated ``result`` (None if
    every attempt was discarded), the count it stands for, attempts made, why each
    discarded one was discarded, and the ns spent in RCU read sections."""

    __slots__ = ("attempts", "rcu_ns", "reasons", "result", "seq")

    def __init__(self) -> None:
        self.result: T | None = None
        self.seq = 0
        self.attempts = 0
        self.reasons: list[str] = []
        self.rcu_ns = 0


def speculate(mm: Mm, section: Callable[[], T], max_retries: int) -> Speculation[T]:
    """Up to ``max_retries`` runs of ``section`` under RCU with no lock, each between
    ``mmap_lock_speculate_try_begin`` and ``mmap_lock_speculate_retry``: the first
    that no write-lock cycle overlapped is kept (an odd count at the start skips the
    attempt, a changed count at the end discards it). ``section`` must only read (it
    may run several times) and return what it read. The caller falls back to
    ``mmap_lock`` for read when ``result`` is None. O(attempts × section)."""
    lock = mm.mmap_lock
    rcu = mm.rcu
    out: Speculation[T] = Speculation()
    for attempt in range(1, max_retries + 1):
        out.attempts = attempt
        ok, seq = lock.speculate_try_begin()
        if not ok:
            out.reasons.append(f"mmap_lock write-locked at start (seq {seq})")
            continue
        mm.pause("maps:seqcount_after_begin")
        t0 = _ns()
        rcu.read_lock()
        try:
            result = section()
        finally:
            rcu.read_unlock()
            out.rcu_ns += _ns() - t0
        mm.pause("maps:seqcount_before_validate")
        if lock.speculate_retry(seq):
            out.reasons.append(f"seq moved from {seq} to {lock.seq} during the walk")
            continue
        out.result = result
        out.seq = seq
        return out
    return out


def _read_seqcount(
    mm: Mm, pos: int, limit: int | None, max_retries: int, want: int | None = None
) -> MapsSnapshot:
    """Speculative RCU walks validated by ``mm_lock_seq`` (:func:`speculate`);
    ``mmap_lock`` after ``max_retries`` failures. O(attempts × lines)."""
    whole = _whole(mm, pos, limit)

    def section() -> tuple[_Acc, int]:
        acc = _Acc(pos, limit, want)
        generation = mm.generation
        if whole:
            _walk_whole(mm, acc)
        else:
            _walk(mm, acc)
        return acc, generation

    spec = speculate(mm, section, max_retries)
    if spec.result is not None:
        acc, generation = spec.result
        return MapsSnapshot(
            "seqcount",
            tuple(acc.lines),
            spec.seq,
            spec.seq,
            spec.attempts,
            False,
            LockHoldTimes(rcu_ns=spec.rcu_ns),
            generation,
            pos,
            acc.pos,
            retry_reasons=tuple(spec.reasons),
        )
    # Fallback: finish under mmap_lock for read (mmap_read_lock_killable).
    snap = _read_mmap_lock(mm, pos, limit, want)
    return MapsSnapshot(
        "seqcount",
        snap.lines,
        snap.seq_begin,
        snap.seq_end,
        max_retries + 1,
        True,
        LockHoldTimes(
            rcu_ns=spec.rcu_ns,
            mmap_lock_read_ns=snap.hold.mmap_lock_read_ns,
            mmap_lock_wait_ns=snap.hold.mmap_lock_wait_ns,
        ),
        snap.generation,
        pos,
        snap.pos_end,
        retry_reasons=tuple(spec.reasons),
        fallbacks=1,
    )


# -- "per_vma" ---------------------------------------------------------------------------


class _PerVmaWalk:
    """One ``per_vma`` chunk: ``lock_vma_range`` … ``get_next_vma`` … ``unlock_vma_range``
    (fs/proc/task_mmu.c, 6.17+). Holds RCU (or ``mmap_lock`` after an ``-EAGAIN``
    fallback) for the chunk and at most one VMA read lock at a time."""

    __slots__ = (
        "attempts",
        "fallbacks",
        "locked",
        "locked_at",
        "mm",
        "mmap_locked",
        "mmap_ns",
        "mmap_since",
        "mmap_wait_ns",
        "rcu_ns",
        "rcu_since",
        "reasons",
        "vma_max_ns",
        "vma_ns",
    )

    def __init__(self, mm: Mm) -> None:
        self.mm = mm
        self.locked: Vma | None = None
        self.locked_at = 0
        self.mmap_locked = False
        self.attempts = 1
        self.fallbacks = 0
        self.reasons: list[str] = []
        self.rcu_ns = self.rcu_since = 0
        self.mmap_ns = self.mmap_wait_ns = self.mmap_since = 0
        self.vma_ns = self.vma_max_ns = 0

    # RCU and mmap_lock bookkeeping, with hold times.

    def _rcu_lock(self) -> None:
        self.mm.rcu.read_lock()
        self.rcu_since = _ns()

    def _rcu_unlock(self) -> None:
        self.rcu_ns += _ns() - self.rcu_since
        self.mm.rcu.read_unlock()

    def _mmap_read_lock(self) -> None:
        t0 = _ns()
        self.mm.mmap_lock.read_lock()
        self.mmap_since = _ns()
        self.mmap_wait_ns += self.mmap_since - t0

    def _mmap_read_unlock(self) -> None:
        self.mmap_ns += _ns() - self.mmap_since
        self.mm.mmap_lock.read_unlock()

    def _hold_vma(self, vma: Vma) -> None:
        self.locked = vma
        self.locked_at = _ns()

    def unlock_vma(self) -> None:
        """``unlock_vma``: drop the VMA read lock taken for the previous line."""
        vma = self.locked
        if vma is not None:
            self.locked = None
            vma_end_read(self.mm.mmap_lock, vma)
            held = _ns() - self.locked_at
            self.vma_ns += held
            self.vma_max_ns = max(self.vma_max_ns, held)

    def lock_range(self) -> None:
        """``lock_vma_range`` for maps: RCU only."""
        self._rcu_lock()

    def unlock_range(self) -> None:
        """``unlock_vma_range``."""
        if self.mmap_locked:
            self._mmap_read_unlock()
            self.mmap_locked = False
        else:
            self.unlock_vma()
            self._rcu_unlock()

    def fallback_to_mmap_lock(self) -> None:
        """``fallback_to_mmap_lock``: the rest of this chunk under ``mmap_lock``."""
        self._rcu_unlock()
        self._mmap_read_lock()
        self.mmap_locked = True
        self.fallbacks += 1

    def next_vma(self, from_addr: int) -> Vma | None | ReadLockFailure:
        """``get_next_vma``: the next VMA at or after ``from_addr``, stable until the
        next call (VMA read lock, or ``mmap_lock``). ``ReadLockFailure.WRITER_WAITING``
        stands for ``-EAGAIN`` (reference overflow in the fallback)."""
        mm = self.mm
        if self.mmap_locked:
            entry = mm.tree.find(from_addr)
            return entry[2] if entry is not None else None
        self.unlock_vma()
        vma = self._lock_next_vma(from_addr)
        if isinstance(vma, ReadLockFailure):
            return vma
        if vma is not None:
            self._hold_vma(vma)
        return vma

    def _lock_next_vma(self, from_addr: int) -> Vma | None | ReadLockFailure:
        """``lock_next_vma`` (mm/mmap_lock.c, 6.17+). Called and returns with RCU held."""
        mm = self.mm
        lock = mm.mmap_lock
        while True:
            # Start speculation in case the VMA has to be verified later.
            unlocked, seq = lock.speculate_try_begin()
            entry = mm.tree.find(from_addr)  # vma_iter_set(from_addr); vma_next()
            if entry is None:
                return None
            vma = entry[2]
            mm.pause("maps:per_vma_after_find")
            failure = vma_start_read(lock, vma, mm)
            if failure is ReadLockFailure.DETACHED:
                # Knocked out from under us: look up again from the position.
                self.attempts += 1
                self.reasons.append(f"VMA at {entry[0]:#x} detached; looked up again")
                continue
            if failure is not None:
                self.reasons.append(f"VMA at {entry[0]:#x}: {failure.value}")
                return self._under_mmap_lock(from_addr)
            if from_addr >= vma.vm_end:
                # Shrunk or moved behind the position after the lookup.
                vma_end_read(lock, vma)
                self.reasons.append(f"VMA found for {from_addr:#x} now ends below it")
                return self._under_mmap_lock(from_addr)
            if from_addr < vma.vm_start and (not unlocked or lock.speculate_retry(seq)):
                # A gap before the VMA: make sure nothing was installed in it meanwhile.
                again = mm.tree.find(from_addr)
                if again is None or again[2] is not vma:
                    vma_end_read(lock, vma)
                    self.reasons.append(f"layout before {vma.vm_start:#x} changed")
                    return self._under_mmap_lock(from_addr)
            return vma

    def _under_mmap_lock(self, from_addr: int) -> Vma | None | ReadLockFailure:
        """``lock_next_vma_under_mmap_lock``: a short ``mmap_read_lock`` to find and
        read-lock the next VMA; RCU is dropped around it and re-entered."""
        mm = self.mm
        lock = mm.mmap_lock
        self.fallbacks += 1
        self._rcu_unlock()
        self._mmap_read_lock()
        try:
            entry = mm.tree.find(from_addr)
            result: Vma | None | ReadLockFailure = None
            if entry is not None:
                vma = entry[2]
                result = vma if vma_start_read_locked(lock, vma) else ReadLockFailure.WRITER_WAITING
        finally:
            self._mmap_read_unlock()
            self._rcu_lock()
        return result

    def hold_times(self) -> LockHoldTimes:
        return LockHoldTimes(
            self.rcu_ns, self.mmap_ns, self.mmap_wait_ns, self.vma_ns, self.vma_max_ns
        )


def _read_per_vma(mm: Mm, pos: int, limit: int | None, want: int | None = None) -> MapsSnapshot:
    """One chunk with per-VMA locks (``m_start``/``m_next``/``m_stop`` over
    ``proc_get_vma``). O(lines × log n)."""
    lock = mm.mmap_lock
    acc = _Acc(pos, limit, want)
    seqs: list[int] = []
    torn: list[int] = []
    walk = _PerVmaWalk(mm)
    seq_begin = lock.seq
    generation = mm.generation
    if pos == POS_END:
        return _empty("per_vma", mm, pos)
    walk.lock_range()
    try:
        if pos != POS_GATE:
            brk, start_brk, start_stack = mm.cur_brk, mm.start_brk, mm.start_stack
            prev_seq = seq_begin
            while True:
                if acc.lines and not walk.mmap_locked:
                    walk.unlock_vma()  # get_next_vma() drops the previous VMA first
                    mm.pause("maps:per_vma_between_vmas")
                    if not len(acc.lines) & RESCHED_MASK:
                        cond_resched()  # under RCU only: seq_read_iter() between records
                vma = walk.next_vma(acc.pos)
                if isinstance(vma, ReadLockFailure):  # -EAGAIN: proc_get_vma falls back
                    walk.unlock_vma()
                    walk.fallback_to_mmap_lock()
                    continue
                if vma is None:
                    break
                seq = lock.seq
                line = vma_line(vma, brk, start_brk, start_stack)
                if not acc.fits(line):
                    break  # re-found from the position by the next read
                if seq != prev_seq or seq & 1:
                    torn.append(len(acc.lines))
                prev_seq = seq
                seqs.append(seq)
                acc.add(line, vma.vm_end)
            if vma is None:
                acc.pos = POS_GATE
        if acc.pos == POS_GATE:
            _gate(mm, acc)
    finally:
        walk.unlock_range()
    return MapsSnapshot(
        "per_vma",
        tuple(acc.lines),
        seq_begin,
        lock.seq,
        walk.attempts,
        walk.fallbacks > 0,
        walk.hold_times(),
        generation,
        pos,
        acc.pos,
        torn_at=tuple(torn),
        retry_reasons=tuple(walk.reasons),
        fallbacks=walk.fallbacks,
        line_seqs=tuple(seqs),
    )


# -- public API --------------------------------------------------------------------------


def _read(
    mm: Mm,
    reader: Reader,
    pos: int,
    limit: int | None,
    max_retries: int,
    want: int | None = None,
) -> MapsSnapshot:
    if mm._dead:  # mmget_not_zero() failed: end of file
        return _empty(reader, mm, POS_END)
    if reader == "mmap_lock":
        if pos == POS_END:
            return _empty(reader, mm, pos)
        return _read_mmap_lock(mm, pos, limit, want)
    if reader == "seqcount":
        if pos == POS_END:
            return _empty(reader, mm, pos)
        return _read_seqcount(mm, pos, limit, max_retries, want)
    return _read_per_vma(mm, pos, limit, want)


def read_maps(
    mm: Mm, reader: Reader = DEFAULT_READER, *, max_retries: int = DEFAULT_MAX_RETRIES
) -> MapsSnapshot:
    """The whole of ``/proc/<pid>/maps`` in one walk with ``reader`` (see the module
    docstring). Caller holds no lock. O(n) per attempt; ``"seqcount"`` makes at most
    ``max_retries + 1`` attempts.

    Raises :class:`~core.errors.InvalidArgument` for an unknown reader or a
    ``max_retries`` outside ``[0, MAX_RETRIES_LIMIT]``.
    """
    check_reader(reader)
    check_int("max_retries", max_retries, 0, MAX_RETRIES_LIMIT)
    return _read(mm, reader, 0, None, max_retries)


class MapsFile:
    """An open ``/proc/<pid>/maps``: :meth:`read` returns the next chunk of whole lines.

    Each chunk holds at most ``chunk_size - 1`` bytes (one longer line alone if it
    does not fit an empty chunk), is produced by one ``reader`` pass that takes and
    drops its own locks, and resumes at the end address of the previous chunk's last
    VMA. Not thread-safe (like a file offset, one consumer at a time).

    >>> from core import Kernel
    >>> f = MapsFile(Kernel().spawn().mm, "per_vma")
    >>> [chunk.text for chunk in f]
    ['ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\\n']
    """

    def __init__(
        self,
        mm: Mm,
        reader: Reader = DEFAULT_READER,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        self.mm = mm
        self.reader = check_reader(reader)
        self.chunk_size = check_int("chunk_size", chunk_size, 2, 1 << 24)
        self.max_retries = check_int("max_retries", max_retries, 0, MAX_RETRIES_LIMIT)
        self._pos = 0
        self._lines = 0  # lines read since the last cond_resched()

    @property
    def position(self) -> int:
        """The next position: an address, :data:`POS_GATE` or :data:`POS_END`."""
        return self._pos

    def rewind(self) -> None:
        """``lseek(fd, 0, SEEK_SET)``: start over."""
        self._pos = 0

    def read(self, want: int | None = None) -> MapsSnapshot:
        """The next chunk (no lines at end of file). O(lines in the chunk × attempts).

        ``want`` is the byte count the ``read()`` asked for: after the first line, lines
        are added only while the chunk holds fewer bytes (``seq_read_iter``); None adds
        lines while they fit the buffer. :class:`core.seq_file.SeqFile` keeps the bytes
        of the last line that the caller's buffer had no room for."""
        snap = _read(self.mm, self.reader, self._pos, self.chunk_size, self.max_retries, want)
        self._pos = snap.pos_end
        self._lines += len(snap.lines)
        if self._lines > RESCHED_MASK:
            self._lines = 0
            cond_resched()  # between two read()s, nothing held
        return snap

    def seek(self, pos: int) -> None:
        """Set the position (an address, :data:`POS_GATE` or :data:`POS_END`), as
        ``m->index``/``priv->last_pos`` stand between two reads."""
        self._pos = pos

    def __iter__(self) -> Iterator[MapsSnapshot]:
        """Chunks until end of file (the empty end-of-file chunk is not yielded)."""
        while True:
            snap = self.read()
            if not snap.lines:
                return
            yield snap

    def read_all(self) -> str:
        """Every remaining chunk joined (what ``cat`` prints)."""
        return "".join(chunk.text for chunk in self)


# -- smaps readers -----------------------------------------------------------------------
#
# ``/proc/<pid>/smaps`` and ``smaps_rollup`` walk each VMA's page tables
# (``smap_gather_stats`` -> ``walk_page_vma``), which may sleep, so they never walk
# under RCU alone. Two readers:
#
# ``"mmap_lock"`` (6.18): ``m_start`` -> ``lock_vma_range`` takes ``mmap_read_lock`` for
#     every file but maps, and holds it across ``show_smap`` of every VMA of the chunk,
#     page walks included; ``show_smaps_rollup`` holds it for the whole walk, dropping it
#     between two VMAs only when ``mmap_lock_is_contended`` (fs/proc/task_mmu.c). A
#     queued writer therefore waits for the walk of at least one whole VMA -- for a
#     heap in one VMA, time proportional to its resident pages -- and every
#     ``mmap_lock`` reader queued behind that writer (a fault that falls back, e.g. the
#     first fault of a VMA without an ``anon_vma``) waits too (rwsem FIFO).
# ``"per_vma"`` (the in-flight series, April 2026, Suren Baghdasaryan): ``lock_next_vma``
#     read-locks one VMA at a time as the maps reader does; RCU is dropped around the
#     page walk (it may sleep), which runs under the VMA read lock alone. A writer to
#     another VMA never waits; a writer to the walked VMA waits in ``vma_start_write``
#     for that VMA's walk only. ``smaps_rollup`` uses the same walk here (the series
#     as published converts smaps and numa_maps; the rollup is the same page walk).


#: The two smaps readers: ``mmap_lock`` (6.18, the default) and ``per_vma`` (the
#: in-flight per-VMA series).
SmapsReader = Literal["mmap_lock", "per_vma"]
SMAPS_READERS: Final[tuple[SmapsReader, ...]] = get_args(SmapsReader)
DEFAULT_SMAPS_READER: Final[SmapsReader] = "mmap_lock"


@dataclass(frozen=True, slots=True)
class SmapsSnapshot:
    """What one smaps (or smaps_rollup) read returned, and how it was obtained.

    ``blocks`` are the records (one ``show_smap`` block per VMA, the gate's last; for
    smaps_rollup the one record). ``seq_begin``/``seq_end`` are ``mm_lock_seq`` at the
    start and end, ``generation`` ``mm.generation`` at the start. ``pages_walked`` and
    ``vmas_walked`` count the resident pages and VMAs whose page tables were walked.
    ``fallbacks`` counts ``mmap_lock`` fallbacks of the ``per_vma`` reader;
    ``lock_drops`` the times the 6.18 rollup dropped ``mmap_lock`` for a waiting
    writer. ``chunks`` is the number of ``read()`` walks folded in. ``hold`` has the
    lock hold and wait times (``mmap_lock_read_ns`` is the page walks' exposure to
    writers under ``"mmap_lock"``; ``vma_read_max_ns`` the longest single VMA walk
    under ``"per_vma"``)."""

    reader: SmapsReader
    blocks: tuple[str, ...]
    seq_begin: int
    seq_end: int
    generation: int
    hold: LockHoldTimes
    pos_begin: int = 0
    pos_end: int = POS_END
    pages_walked: int = 0
    vmas_walked: int = 0
    fallbacks: int = 0
    lock_drops: int = 0
    chunks: int = 1

    @property
    def eof(self) -> bool:
        """True when nothing follows (the gate was reached or there is none)."""
        return self.pos_end == POS_END

    @property
    def consistent(self) -> bool:
        """True if no write-lock cycle can have overlapped the walk (equal, even
        counts): the records are one moment of the address space."""
        return self.seq_begin == self.seq_end and not self.seq_begin & 1

    @property
    def text(self) -> str:
        """The blocks joined: what the ``read()`` calls returned."""
        return "".join(self.blocks)

    def _check(self) -> None:
        """O(blocks): the record's own invariants (either reader)."""
        assert self.reader in SMAPS_READERS, self.reader
        assert all(b.endswith("\n") for b in self.blocks), self.blocks
        assert GATE_SMAP not in self.blocks[:-1], "the gate's block can only come last"
        assert min(self.pages_walked, self.vmas_walked, self.lock_drops, self.chunks) >= 0
        assert self.reader == "per_vma" or not self.fallbacks, self.fallbacks
        assert self.reader == "mmap_lock" or not self.lock_drops, self.lock_drops
        if self.reader == "mmap_lock" and not self.lock_drops and self.chunks == 1:
            assert self.consistent, (self.seq_begin, self.seq_end)  # one mmap_lock hold
        if self.reader == "per_vma" and not self.fallbacks:
            assert not self.hold.mmap_lock_read_ns, self.hold  # never took mmap_lock


def check_smaps_reader(reader: object) -> SmapsReader:
    """``reader`` if it names a smaps reader; InvalidArgument otherwise."""
    if reader not in SMAPS_READERS:
        raise InvalidArgument(
            f"unknown smaps reader {reader!r}; choose one of {', '.join(SMAPS_READERS)}"
        )
    return reader


class _Blocks:
    """The blocks of one smaps chunk and the ``seq_read_iter`` fill rule (as
    :class:`_Acc` for maps lines)."""

    __slots__ = ("blocks", "limit", "pages", "pos", "total", "vmas", "want")

    def __init__(self, pos: int, limit: int | None, want: int | None) -> None:
        self.blocks: list[str] = []
        self.total = 0
        self.pos = pos
        self.limit = limit
        self.want = want
        self.pages = 0
        self.vmas = 0

    def fits(self, text: str) -> bool:
        if not self.blocks or self.limit is None:
            return True
        want = self.want
        return self.total + len(text) < self.limit and (want is None or self.total < want)

    def add(self, text: str, pos: int) -> None:
        self.blocks.append(text)
        self.total += len(text)
        self.pos = pos

    def gate(self, mm: Mm) -> None:
        """After the last VMA: the gate's block, if shown and it fits."""
        if not mm.show_gate:
            self.pos = POS_END
        elif self.fits(GATE_SMAP):
            self.add(GATE_SMAP, POS_END)


def _smap(mm: Mm, vma: Vma, acc: _Blocks) -> str:
    """``show_smap`` of ``vma`` (page walk included), counted. Caller holds the reader's
    lock for ``vma``."""
    block, mss = smap_block(mm, vma)
    acc.vmas += 1
    acc.pages += mss.resident >> PAGE_SHIFT
    if not acc.vmas & RESCHED_MASK_SLOW:
        cond_resched()  # seq_read_iter() between records
    return block


def _smaps_mmap_lock(mm: Mm, pos: int, limit: int | None, want: int | None) -> SmapsSnapshot:
    """One chunk of 6.18's smaps: ``mmap_read_lock`` from ``m_start`` to ``m_stop``,
    ``show_smap`` (page walk included) for each VMA that fits. O(VMAs shown + their
    resident pages)."""
    acc = _Blocks(pos, limit, want)

    def section() -> int:
        generation = mm.generation
        if pos != POS_GATE:
            for _, vm_end, vma in mm.tree.iter_from(pos):
                mm.pause("smaps:mmap_lock_walk")
                block = _smap(mm, vma, acc)
                if not acc.fits(block):
                    break  # m_stop; the next read() shows it again from the position
                acc.add(block, vm_end)
            else:
                acc.pos = POS_GATE
        if acc.pos == POS_GATE:
            acc.gate(mm)
        return generation

    generation, seq, hold = hold_read(mm, section)
    return SmapsSnapshot(
        "mmap_lock", tuple(acc.blocks), seq, seq, generation, hold, pos, acc.pos,
        acc.pages, acc.vmas,
    )  # fmt: skip


def _smaps_per_vma(mm: Mm, pos: int, limit: int | None, want: int | None) -> SmapsSnapshot:
    """One chunk of the per-VMA smaps: ``lock_next_vma`` per VMA (as the maps reader),
    RCU dropped around each page walk, which runs under the VMA read lock alone.
    O(VMAs shown × log n + their resident pages)."""
    lock = mm.mmap_lock
    acc = _Blocks(pos, limit, want)
    walk = _PerVmaWalk(mm)
    seq_begin = lock.seq
    generation = mm.generation
    walk.lock_range()
    try:
        if pos != POS_GATE:
            while True:
                vma = walk.next_vma(acc.pos)
                if isinstance(vma, ReadLockFailure):  # -EAGAIN: the rest under mmap_lock
                    walk.unlock_vma()
                    walk.fallback_to_mmap_lock()
                    continue
                if vma is None:
                    acc.pos = POS_GATE
                    break
                if walk.mmap_locked:
                    block = _smap(mm, vma, acc)
                else:
                    walk._rcu_unlock()  # the page walk may sleep: RCU is dropped
                    try:
                        mm.pause("smaps:per_vma_walk")
                        block = _smap(mm, vma, acc)
                    finally:
                        walk._rcu_lock()
                if not acc.fits(block):
                    break
                acc.add(block, vma.vm_end)
        if acc.pos == POS_GATE:
            acc.gate(mm)
    finally:
        walk.unlock_range()
    return SmapsSnapshot(
        "per_vma", tuple(acc.blocks), seq_begin, lock.seq, generation, walk.hold_times(),
        pos, acc.pos, acc.pages, acc.vmas, walk.fallbacks,
    )  # fmt: skip


def smaps_chunk(
    mm: Mm, reader: SmapsReader, pos: int, limit: int | None = CHUNK_SIZE, want: int | None = None
) -> SmapsSnapshot:
    """One ``read()`` of ``/proc/<pid>/smaps`` from position ``pos`` (an address,
    :data:`POS_GATE` or :data:`POS_END`) with ``reader``: the blocks that fit ``limit``
    bytes (None: all). Caller holds no lock."""
    if pos == POS_END or mm._dead:
        seq = mm.mmap_lock.seq
        return SmapsSnapshot(reader, (), seq, seq, mm.generation, LockHoldTimes(), pos, POS_END)
    if reader == "mmap_lock":
        return _smaps_mmap_lock(mm, pos, limit, want)
    return _smaps_per_vma(mm, pos, limit, want)


class SmapsFile:
    """An open ``/proc/<pid>/smaps``: :meth:`read` returns the next chunk of whole
    blocks (at most ``chunk_size - 1`` bytes, or one larger block alone), each walked
    with its own locks; the position is the end of the last VMA returned. Not
    thread-safe (one consumer, like a file offset)."""

    def __init__(
        self, mm: Mm, reader: SmapsReader = DEFAULT_SMAPS_READER, *, chunk_size: int = CHUNK_SIZE
    ) -> None:
        self.mm = mm
        self.reader = check_smaps_reader(reader)
        self.chunk_size = check_int("chunk_size", chunk_size, 2, 1 << 24)
        self._pos = 0
        self._blocks = 0  # blocks read since the last cond_resched()

    @property
    def position(self) -> int:
        return self._pos

    def seek(self, pos: int) -> None:
        self._pos = pos

    def read(self, want: int | None = None) -> SmapsSnapshot:
        """The next chunk (no blocks at end of file). O(blocks + their resident pages)."""
        snap = smaps_chunk(self.mm, self.reader, self._pos, self.chunk_size, want)
        self._pos = snap.pos_end
        self._blocks += len(snap.blocks)
        if self._blocks > RESCHED_MASK_SLOW:
            self._blocks = 0
            cond_resched()  # between two read()s, nothing held
        return snap

    def __iter__(self) -> Iterator[SmapsSnapshot]:
        while True:
            snap = self.read()
            if not snap.blocks:
                return
            yield snap


def fold_smaps(chunks: list[SmapsSnapshot], reader: SmapsReader, mm: Mm) -> SmapsSnapshot:
    """Chunks of one pass joined into one snapshot: counts and hold times summed, the
    first chunk's start and the last one's end (``vma_read_max_ns`` the largest)."""
    if not chunks:
        seq = mm.mmap_lock.seq
        return SmapsSnapshot(
            reader, (), seq, seq, mm.generation, LockHoldTimes(), 0, POS_END, chunks=0
        )
    h = [c.hold for c in chunks]
    hold = LockHoldTimes(
        sum(x.rcu_ns for x in h),
        sum(x.mmap_lock_read_ns for x in h),
        sum(x.mmap_lock_wait_ns for x in h),
        sum(x.vma_read_ns for x in h),
        max(x.vma_read_max_ns for x in h),
    )
    return SmapsSnapshot(
        reader,
        tuple(b for c in chunks for b in c.blocks),
        chunks[0].seq_begin,
        chunks[-1].seq_end,
        chunks[0].generation,
        hold,
        chunks[0].pos_begin,
        chunks[-1].pos_end,
        sum(c.pages_walked for c in chunks),
        sum(c.vmas_walked for c in chunks),
        sum(c.fallbacks for c in chunks),
        sum(c.lock_drops for c in chunks),
        len(chunks),
    )


def read_smaps(
    mm: Mm, reader: SmapsReader = DEFAULT_SMAPS_READER, *, chunk_size: int = CHUNK_SIZE
) -> SmapsSnapshot:
    """The whole of ``/proc/<pid>/smaps`` read as ``cat`` reads it: ``chunk_size``
    chunks, locks dropped between them. Caller holds no lock. O(VMAs + resident pages)."""
    f = SmapsFile(mm, reader, chunk_size=chunk_size)
    return fold_smaps(list(f), f.reader, mm)


def read_smaps_rollup(mm: Mm, reader: SmapsReader = DEFAULT_SMAPS_READER) -> SmapsSnapshot:
    """``/proc/<pid>/smaps_rollup`` (``show_smaps_rollup``): one record summing every
    VMA. ``"mmap_lock"``: one ``mmap_read_lock`` hold for the walk, dropped and retaken
    between two VMAs when ``mmap_lock_is_contended`` (the walk resumes at the last VMA's
    end, inside a VMA that grew across it); ``"per_vma"``: the per-VMA walk. Caller
    holds no lock. O(VMAs + resident pages)."""
    check_smaps_reader(reader)
    lock = mm.mmap_lock
    generation = mm.generation
    if mm._dead:
        seq = lock.seq
        return SmapsSnapshot(reader, (), seq, seq, generation, LockHoldTimes(), 0, POS_END)
    total = MemSizeStats()
    first = last = 0
    pages = vmas = 0
    if reader == "per_vma":
        walk = _PerVmaWalk(mm)
        seq_begin = lock.seq
        walk.lock_range()
        try:
            while True:
                vma = walk.next_vma(last)
                if isinstance(vma, ReadLockFailure):
                    walk.unlock_vma()
                    walk.fallback_to_mmap_lock()
                    continue
                if vma is None:
                    break
                if not vmas:
                    first = vma.vm_start
                if walk.mmap_locked:
                    mss = smap_walk(mm, vma)
                else:
                    walk._rcu_unlock()
                    try:
                        mm.pause("smaps:per_vma_walk")
                        mss = smap_walk(mm, vma)
                    finally:
                        walk._rcu_lock()
                total.add(mss)
                pages += mss.resident >> PAGE_SHIFT
                vmas += 1
                last = vma.vm_end
                if not vmas & RESCHED_MASK_SLOW:
                    cond_resched()  # under RCU, or mmap_lock after a fallback
        finally:
            walk.unlock_range()
        text = rollup_text(first, last, total)
        return SmapsSnapshot(
            reader, (text,), seq_begin, lock.seq, generation, walk.hold_times(), 0, POS_END,
            pages, vmas, walk.fallbacks,
        )  # fmt: skip
    drops = 0
    wait_ns = read_ns = 0
    t0 = _ns()
    lock.read_lock()
    since = _ns()
    wait_ns += since - t0
    seq_begin = lock.seq
    try:
        pos = 0
        while True:
            entry = mm.tree.find(pos)
            if entry is None:
                break
            vma = entry[2]
            if not vmas:
                first = vma.vm_start
            mm.pause("smaps:mmap_lock_walk")
            mss = smap_walk(mm, vma, pos)  # from ``last_vma_end`` if the VMA grew across it
            total.add(mss)
            pages += mss.resident >> PAGE_SHIFT
            vmas += 1
            last = pos = vma.vm_end
            if not vmas & RESCHED_MASK_SLOW:
                cond_resched()  # under mmap_lock for read, as the kernel's walk
            if lock.is_contended():
                # "Release mmap_lock temporarily if someone wants to access it for
                # write request" (show_smaps_rollup): the writer goes first.
                drops += 1
                lock.read_unlock()
                now = _ns()
                read_ns += now - since
                lock.read_lock()
                since = _ns()
                wait_ns += since - now
    finally:
        seq_end = lock.seq
        lock.read_unlock()
        read_ns += _ns() - since
    text = rollup_text(first, last, total)
    hold = LockHoldTimes(mmap_lock_read_ns=read_ns, mmap_lock_wait_ns=wait_ns)
    return SmapsSnapshot(
        reader, (text,), seq_begin, seq_end, generation, hold, 0, POS_END, pages, vmas,
        lock_drops=drops,
    )  # fmt: skip
