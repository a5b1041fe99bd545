"""Reading ``/proc/<pid>/maps`` while writers run: three readers, whole or in chunks.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, get_args

from .errors import InvalidArgument
from .hooks import vma_line  # procfs.vma_line plus the mm's cost hook
from .procfs import GATE_LINE, render_maps
from .vma_lock import ReadLockFailure, vma_end_read, vma_start_read, vma_start_read_locked

if TYPE_CHECKING:
    from .mm import Mm
    from .vma import Vma

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_READER",
    "MAX_RETRIES_LIMIT",
    "POS_END",
    "POS_GATE",
    "READERS",
    "Reader",
    "LockHoldTimes",
    "MapsFile",
    "MapsSnapshot",
    "check_reader",
    "read_maps",
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
    def text(self) -> str:
        """The lines joined: what ``read()`` returned."""
        return "".join(self.lines)

    @property
    def eof(self) -> bool:
        """True when nothing follows (the gate line was reached or there is none)."""
        return self.pos_end == POS_END

    @property
    def consistent(self) -> bool:
        """True if no write-lock cycle can have overlapped the walk (equal, even
        counts): the lines are one moment of the address space."""
        return self.seq_begin == self.seq_end and not self.seq_begin & 1

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


def _check_int(what: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(f"{what} {value!r} is not an integer in [{low}, {high}]")
    return value


# -- shared walk -------------------------------------------------------------------------


class _Acc:
    """Lines of one chunk and the position after them (``m->count`` and ``*ppos``)."""

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
        for _, _, vma in mm.tree.iter_from(pos):
            line = vma_line(vma, brk, start_brk, start_stack)
            if not acc.fits(line):
                return
            acc.add(line, vma.vm_end)
        acc.pos = POS_GATE
    _gate(mm, acc)


def _gate(mm: Mm, acc: _Acc) -> None:
    if not mm.show_gate:
        acc.pos = POS_END
    elif acc.fits(GATE_LINE):
        acc.add(GATE_LINE, POS_END)


def _walk_whole(mm: Mm, acc: _Acc) -> None:
    """A whole-file walk from position 0 through :func:`render_maps` (its cached-line
    fast path); same bytes as :func:`_walk`. O(n)."""
    text = render_maps(mm)
    # Split at "\n" only: a path may hold "\r", "\x85", "\u2028"... (only "\n" is
    # escaped, seq_file_path(m, file, "\n")), where str.splitlines() would split too.
    lines = text.split("\n")
    lines.pop()  # "" after the last newline (or the empty text)
    acc.lines = [line + "\n" for line in lines]
    acc.size = len(text)
    acc.pos = POS_END


def _empty(reader: Reader, mm: Mm, pos: int) -> MapsSnapshot:
    seq = mm.mmap_lock.seq
    return MapsSnapshot(reader, (), seq, seq, 0, False, LockHoldTimes(), mm.generation, pos, pos)


# -- "mmap_lock" -------------------------------------------------------------------------


def _read_mmap_lock(mm: Mm, pos: int, limit: int | None, want: int | None = None) -> MapsSnapshot:
    """``m_start`` ≤ 6.16: ``mmap_read_lock`` for the chunk. O(lines)."""
    lock = mm.mmap_lock
    acc = _Acc(pos, limit, want)
    t0 = _ns()
    lock.read_lock()
    t1 = _ns()
    try:
        seq = lock.seq
        generation = mm.generation
        if pos == 0 and limit is None:
            _walk_whole(mm, acc)
        else:
            _walk(mm, acc)
    finally:
        lock.read_unlock()
        t2 = _ns()
    hold = LockHoldTimes(mmap_lock_read_ns=t2 - t1, mmap_lock_wait_ns=t1 - t0)
    return MapsSnapshot(
        "mmap_lock", tuple(acc.lines), seq, seq, 1, False, hold, generation, pos, acc.pos
    )


# -- "seqcount" --------------------------------------------------------------------------


def _read_seqcount(
    mm: Mm, pos: int, limit: int | None, max_retries: int, want: int | None = None
) -> MapsSnapshot:
    """Speculative RCU walks validated by ``mm_lock_seq``; ``mmap_lock`` after
    ``max_retries`` failures. O(attempts × lines)."""
    lock = mm.mmap_lock
    rcu = mm.rcu
    whole = pos == 0 and limit is None
    reasons: list[str] = []
    rcu_ns = 0
    for attempt in range(1, max_retries + 1):
        ok, seq = lock.speculate_try_begin()
        if not ok:
            reasons.append(f"mmap_lock write-locked at start (seq {seq})")
            continue
        mm.pause("maps:seqcount_after_begin")
        acc = _Acc(pos, limit, want)
        t0 = _ns()
        rcu.read_lock()
        try:
            generation = mm.generation
            if whole:
                _walk_whole(mm, acc)
            else:
                _walk(mm, acc)
        finally:
            rcu.read_unlock()
            rcu_ns += _ns() - t0
        mm.pause("maps:seqcount_before_validate")
        if lock.speculate_retry(seq):
            reasons.append(f"seq moved from {seq} to {lock.seq} during the walk")
            continue
        return MapsSnapshot(
            "seqcount",
            tuple(acc.lines),
            seq,
            seq,
            attempt,
            False,
            LockHoldTimes(rcu_ns=rcu_ns),
            generation,
            pos,
            acc.pos,
            retry_reasons=tuple(reasons),
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
            rcu_ns=rcu_ns,
            mmap_lock_read_ns=snap.hold.mmap_lock_read_ns,
            mmap_lock_wait_ns=snap.hold.mmap_lock_wait_ns,
        ),
        snap.generation,
        pos,
        snap.pos_end,
        retry_reasons=tuple(reasons),
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
    _check_int("max_retries", max_retries, 0, MAX_RETRIES_LIMIT)
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
        self.chunk_size = _check_int("chunk_size", chunk_size, 2, 1 << 24)
        self.max_retries = _check_int("max_retries", max_retries, 0, MAX_RETRIES_LIMIT)
        self._pos = 0

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
