"""Taking maps snapshots for the service: one engine read, off the event loop.

Which engine read each reader uses (``core.maps_reader``):

``seqcount`` (the default) and ``mmap_lock``
    One :func:`core.read_maps` walk of the whole file in one worker thread. These
    readers exist to give *one consistent snapshot* (a single tree version, validated by
    ``mm_lock_seq`` or taken under ``mmap_lock``); cutting the walk into seq_file chunks
    would give up exactly that (each chunk would be a different moment). seqcount holds
    no lock at all (RCU only, writers never wait); mmap_lock holds ``mmap_lock`` for
    read for one walk, O(n), and releases it before the worker returns.

``per_vma``
    What ``read()`` of ``/proc/<pid>/maps`` does on Linux 6.17+: seq_file chunks of at
    most 4095 bytes through :class:`core.MapsFile`, each chunk a separate walk
    (``m_start``/``m_stop``) that takes and drops its own locks. Chunks are read in
    worker threads, :data:`CHUNKS_PER_CALL` per call; between calls the coroutine
    awaits holding nothing, and no lock is ever held between two chunks. The chunks'
    metadata are folded into one :class:`Snapshot` (:func:`fold`).

In every case the lines are complete before the first byte of a response is sent,
because the snapshot's metadata travels in headers (``/maps``) or in the same JSON
object (``/maps.json``, streams). A slow client therefore reads bytes from memory and
cannot hold, or delay the release of, any engine lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
import pydantic_core

from core import LockHoldTimes, MapsFile, MapsSnapshot, Mm, read_maps, read_overview
from core.maps_reader import Reader
from core.procfs import GATE_LINE

from .schemas.maps import LockHoldOut, SnapshotMeta, maps_lines, split_maps_line

if TYPE_CHECKING:
    from .workers import Runner

T = TypeVar("T")

CHUNK_SIZE = 4096
"""The seq_file buffer (``PAGE_SIZE``): a per_vma chunk holds at most 4095 bytes."""
CHUNKS_PER_CALL = 16
"""per_vma chunks read per worker-thread call (64 KiB of text; amortises the
thread hand-off without holding anything between chunks)."""
MAX_TORN_HEADER = 64
"""``X-Vmasim-Torn-At`` lists at most this many indices (the JSON forms list all)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A whole maps read: its lines and provenance (one or several engine reads).

    ``lines`` are the engine's own strings (each a VMA's cached line, ending in
    ``"\n"``): holding a snapshot costs one reference per line, not a copy of the text.
    Routes send it with :func:`text_chunks` / :func:`json_chunks`, which encode a bounded
    piece at a time; :attr:`text` joins the whole text (tests, small callers).
    """

    lines: tuple[str, ...]
    meta: SnapshotMeta

    @property
    def text(self) -> str:
        """The whole text, joined now. O(len(text)) time and memory."""
        return "".join(self.lines)

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def _check(self) -> None:
        """O(lines): the text and the metadata agree."""
        m = self.meta
        lines = self.line_count
        assert all(line.endswith("\n") for line in self.lines), self.lines[-1:]
        assert m.chunks >= 1 and m.attempts >= m.chunks, (m.attempts, m.chunks)
        assert m.fell_back == (m.fallbacks > 0), (m.fell_back, m.fallbacks)
        assert m.torn_at == sorted(set(m.torn_at)), m.torn_at
        assert all(0 <= i < lines for i in m.torn_at), (m.torn_at, lines)
        assert m.reader == "per_vma" or not m.torn_at, m.torn_at
        if m.consistent:
            assert m.seq_begin == m.seq_end and not m.seq_begin & 1 and not m.torn_at, m
        if m.reader != "per_vma" and lines:
            assert m.consistent, m

    def headers(self) -> dict[str, str]:
        """The metadata as ``X-Vmasim-*`` response headers. O(1) (torn list capped)."""
        m = self.meta
        torn = m.torn_at[:MAX_TORN_HEADER]
        return {
            "X-Vmasim-Reader": m.reader,
            "X-Vmasim-Seq-Begin": str(m.seq_begin),
            "X-Vmasim-Seq-End": str(m.seq_end),
            "X-Vmasim-Attempts": str(m.attempts),
            "X-Vmasim-Fallback": "true" if m.fell_back else "false",
            "X-Vmasim-Fallbacks": str(m.fallbacks),
            "X-Vmasim-Generation": str(m.generation),
            "X-Vmasim-Consistent": "true" if m.consistent else "false",
            "X-Vmasim-Chunks": str(m.chunks),
            "X-Vmasim-Torn": str(len(m.torn_at)),
            "X-Vmasim-Torn-At": ",".join(map(str, torn)),
            "X-Vmasim-Hold-Rcu-Ns": str(m.hold.rcu_ns),
            "X-Vmasim-Hold-Mmap-Lock-Ns": str(m.hold.mmap_lock_read_ns),
            "X-Vmasim-Wait-Mmap-Lock-Ns": str(m.hold.mmap_lock_wait_ns),
            "X-Vmasim-Hold-Vma-Ns": str(m.hold.vma_read_ns),
            "X-Vmasim-Hold-Vma-Max-Ns": str(m.hold.vma_read_max_ns),
        }


HEADER_DOCS: dict[str, str] = {
    "X-Vmasim-Reader": "the reader used: seqcount, per_vma or mmap_lock",
    "X-Vmasim-Seq-Begin": "mm_lock_seq when the walk that produced the lines began",
    "X-Vmasim-Seq-End": "mm_lock_seq when it ended (equal and even: consistent)",
    "X-Vmasim-Attempts": "walks made (seqcount: at most max_retries + 1)",
    "X-Vmasim-Fallback": "true if mmap_lock was taken for read",
    "X-Vmasim-Fallbacks": "how many times mmap_lock was taken",
    "X-Vmasim-Generation": "the layout generation the walk saw",
    "X-Vmasim-Consistent": "true if no write-lock cycle overlapped the walk",
    "X-Vmasim-Chunks": "seq_file reads the text was assembled from",
    "X-Vmasim-Torn": "number of lines that may show a later moment than the line before",
    "X-Vmasim-Torn-At": f"their indices, comma-separated (first {MAX_TORN_HEADER})",
    "X-Vmasim-Hold-Rcu-Ns": "ns inside RCU read sections",
    "X-Vmasim-Hold-Mmap-Lock-Ns": "ns holding mmap_lock for read",
    "X-Vmasim-Wait-Mmap-Lock-Ns": "ns waiting for mmap_lock",
    "X-Vmasim-Hold-Vma-Ns": "ns holding per-VMA read locks",
    "X-Vmasim-Hold-Vma-Max-Ns": "longest single per-VMA read lock hold, ns",
}


def _hold(h: LockHoldTimes) -> LockHoldOut:
    return LockHoldOut(
        rcu_ns=h.rcu_ns,
        mmap_lock_read_ns=h.mmap_lock_read_ns,
        mmap_lock_wait_ns=h.mmap_lock_wait_ns,
        vma_read_ns=h.vma_read_ns,
        vma_read_max_ns=h.vma_read_max_ns,
    )


def fold(chunks: list[MapsSnapshot], reader: Reader) -> Snapshot:
    """One :class:`Snapshot` from consecutive chunks of one file read. O(lines).

    ``seq_begin`` is the first chunk's, ``seq_end`` the last's; attempts, fallbacks
    and hold times add up (``vma_read_max_ns``: the maximum); ``generation`` is the
    first chunk's. A chunk whose walk began at another ``mm_lock_seq`` than the previous
    chunk's ended marks its first line torn (the layout may have changed between the
    two reads), in addition to the torn lines the chunks report themselves.
    """
    if not chunks:
        raise ValueError("fold() needs at least one chunk")
    first, last = chunks[0], chunks[-1]
    torn: list[int] = []
    reasons: list[str] = []
    offset = 0
    prev_end = first.seq_begin
    rcu = mread = mwait = vma = vmax = 0
    for c in chunks:
        if c.lines and (c.seq_begin != prev_end or c.seq_begin & 1):
            torn.append(offset)
        torn.extend(offset + i for i in c.torn_at)
        reasons.extend(c.retry_reasons)
        prev_end = c.seq_end
        offset += len(c.lines)
        h = c.hold
        rcu += h.rcu_ns
        mread += h.mmap_lock_read_ns
        mwait += h.mmap_lock_wait_ns
        vma += h.vma_read_ns
        vmax = max(vmax, h.vma_read_max_ns)
    fallbacks = sum(c.fallbacks for c in chunks)
    meta = SnapshotMeta(
        reader=reader,
        seq_begin=first.seq_begin,
        seq_end=last.seq_end,
        attempts=sum(c.attempts for c in chunks),
        fell_back=fallbacks > 0,
        fallbacks=fallbacks,
        generation=first.generation,
        consistent=not torn
        and all(c.consistent for c in chunks if c.lines)
        and first.seq_begin == last.seq_end,
        chunks=len(chunks),
        torn_at=sorted(set(torn)),
        retry_reasons=reasons,
        hold=LockHoldOut(
            rcu_ns=rcu,
            mmap_lock_read_ns=mread,
            mmap_lock_wait_ns=mwait,
            vma_read_ns=vma,
            vma_read_max_ns=vmax,
        ),
    )
    lines = first.lines if len(chunks) == 1 else tuple(ln for c in chunks for ln in c.lines)
    return Snapshot(lines, meta)


def vma_dicts(text: str) -> list[dict[str, Any]]:
    """The maps lines of ``text`` as :class:`~app.schemas.VmaOut` dictionaries, without
    building models (``/maps.json`` of 65,530 VMAs: pydantic objects cost over a
    second). Same fields and values as :func:`app.procviews.parse_maps` (a test checks
    it). O(len(text))."""
    return [_vma_dict(line) for line in maps_lines(text)]


def _vma_dict(line: str) -> dict[str, Any]:
    rng, perms, offset, dev, inode, path = split_maps_line(line)
    dash = rng.index("-")
    start, end = int(rng[:dash], 16), int(rng[dash + 1 :], 16)
    return {
        "addr": rng,
        "start": f"{start:#x}",
        "end": f"{end:#x}",
        "perms": perms,
        "offset": f"{int(offset, 16):#x}",
        "dev": dev,
        "inode": int(inode),
        "path": path,
        "size": end - start,
    }


BODY_CHUNK = 64 * 1024
"""Bytes of text per response chunk (:func:`text_chunks`, :func:`json_chunks`): what a
response body holds encoded at a time, whatever the snapshot's size."""


def _groups(lines: Sequence[str], limit: int) -> Iterator[Sequence[str]]:
    """Consecutive runs of ``lines`` of about ``limit`` characters each (a single longer
    line alone). O(len(lines))."""
    i, n = 0, len(lines)
    while i < n:
        j, size = i, 0
        while j < n and (j == i or size + len(lines[j]) <= limit):
            size += len(lines[j])
            j += 1
        yield lines[i:j]
        i = j


def text_chunks(lines: Sequence[str], limit: int = BODY_CHUNK) -> Iterator[bytes]:
    """The text of ``lines`` as UTF-8 pieces of at most ``limit`` characters' worth of
    lines (one maps line is at most ``PATH_MAX`` + 100 bytes, so a piece is bounded):
    the whole text is never encoded, or joined, at once. O(len(text))."""
    for group in _groups(lines, limit):
        yield "".join(group).encode()


def json_chunks(
    head: dict[str, Any], lines: Sequence[str], limit: int = BODY_CHUNK, tail: bytes = b""
) -> Iterator[bytes]:
    """``head`` as a JSON object with one more key, ``"vmas"``: the lines as
    :class:`~app.schemas.VmaOut` objects (:func:`vma_dicts`), serialised a group of
    about ``limit`` characters of text at a time, then ``tail`` (more members, each
    after a comma) before the closing brace. Byte for byte
    ``pydantic_core.to_json({**head, "vmas": vma_dicts(text)})`` without ``tail``.
    O(len(text))."""
    opening = pydantic_core.to_json(head)
    yield opening[:-1] + (b',"vmas":[' if len(opening) > 2 else b'"vmas":[')
    sep = b""
    for group in _groups(lines, limit):
        body = pydantic_core.to_json([_vma_dict(line[:-1]) for line in group])
        yield sep + body[1:-1]
        sep = b","
    yield b"]" + tail + b"}"


def json_text_chunks(lines: Sequence[str], limit: int = BODY_CHUNK) -> Iterator[bytes]:
    """The text of ``lines`` as one JSON string, in pieces (each piece's characters
    escaped on their own, which is the escaping of the whole). O(len(text))."""
    yield b'"'
    for group in _groups(lines, limit):
        yield pydantic_core.to_json("".join(group))[1:-1]
    yield b'"'


def overview(lines: Sequence[str], groups: int) -> list[dict[str, Any]]:
    """``lines`` summarised in at most ``groups`` runs of consecutive lines of equal
    length (:class:`~app.schemas.maps.MapsGroupOut` dictionaries); the ``[vsyscall]``
    gate line, if last, is a run of its own (it is not a VMA of the tree). O(lines).
    """
    if groups < 1:
        raise ValueError(f"groups {groups} must be at least 1")
    body = lines[:-1] if lines and lines[-1] == GATE_LINE else lines
    out: list[dict[str, Any]] = []
    per = -(-len(body) // groups) if body else 1
    for k in range(0, len(body), per):
        run = body[k : k + per]
        size = 0
        end = ""
        for line in run:
            dash = line.index("-")
            end = line[dash + 1 : line.index(" ", dash)]
            size += int(end, 16) - int(line[:dash], 16)
        out.append({"line": run[0][:-1], "end": f"0x{end}", "vmas": len(run), "size": size})
    if len(body) < len(lines):
        gate = lines[-1][:-1]
        end = gate[gate.index("-") + 1 : gate.index(" ")]
        size = int(end, 16) - int(gate[: gate.index("-")], 16)
        out.append({"line": gate, "end": f"0x{end}", "vmas": 1, "size": size})
    return out


@dataclass(frozen=True, slots=True)
class Overview:
    """A ``format=overview`` snapshot read from the tree (:func:`core.read_overview`):
    its runs as :class:`~app.schemas.maps.MapsGroupOut` dictionaries, the number of
    lines the text would have, and the read's provenance (one read section: ``chunks``
    1, nothing torn). ``reused``: the sums came from the mm's generation cache."""

    groups: list[dict[str, Any]]
    count: int
    meta: SnapshotMeta
    reused: bool

    @property
    def line_count(self) -> int:
        return self.count


def _overview_of(mm: Mm, reader: Reader, max_retries: int, groups: int) -> Overview:
    """Runs in a worker thread: the engine's overview and its JSON-ready form.
    O(n) additions (C sums, yielding the GIL between leaves), or O(groups) on a
    generation-cache hit; O(groups) here."""
    o = read_overview(mm, groups, reader, max_retries=max_retries)
    meta = SnapshotMeta(
        reader=o.reader,
        seq_begin=o.seq_begin,
        seq_end=o.seq_end,
        attempts=o.attempts,
        fell_back=o.fallbacks > 0,
        fallbacks=o.fallbacks,
        generation=o.generation,
        consistent=o.consistent,
        chunks=1,
        torn_at=[],
        retry_reasons=list(o.retry_reasons),
        hold=_hold(o.hold),
    )
    # "end" as the text prints it (%08lx), so the runs equal overview()'s of that text.
    dicts = [
        {"line": r.line, "end": f"0x{r.end:08x}", "vmas": r.vmas, "size": r.size} for r in o.runs
    ]
    return Overview(dicts, o.count, meta, o.reused)


async def take_overview(
    mm: Mm, reader: Reader, max_retries: int, groups: int, run: Runner | None = None
) -> Overview:
    """An overview of ``mm``'s maps in at most ``groups`` runs (plus the gate's),
    computed from the tree in a worker thread (readers ``seqcount`` and ``mmap_lock``;
    the caller reads ``per_vma`` with :func:`take_snapshot` and summarises its lines
    with :func:`overview`). Nothing O(VMAs) on the event loop; no lock held across an
    ``await``. Arguments validated by the route."""
    run = run or _anyio_run
    return await run(_overview_of, mm, reader, max_retries, groups)


def _read_chunks(f: MapsFile, n: int) -> list[MapsSnapshot]:
    """Up to ``n`` chunks of ``f`` (fewer at end of file; the end-of-file read is
    included as an empty chunk). Runs in a worker thread; holds nothing on return."""
    out = []
    for _ in range(n):
        snap = f.read()
        out.append(snap)
        if snap.eof:
            break
    return out


async def take_snapshot(
    mm: Mm, reader: Reader, max_retries: int, run: Runner | None = None
) -> Snapshot:
    """A whole maps read with ``reader`` (see the module docstring), never on the event
    loop and holding no lock across an ``await``. O(n) per attempt.

    ``run`` runs the engine reads in a worker thread (the service's pool,
    :meth:`app.service.Service.run`, whose waits free their thread; anyio's threads by
    default). The caller holds nothing; ``reader`` and ``max_retries`` were validated
    by the route (the engine raises ``InvalidArgument`` otherwise).
    """
    run = run or _anyio_run
    if reader != "per_vma":
        snap = await run(_read_whole, mm, reader, max_retries)
        return fold([snap], reader)
    f = MapsFile(mm, "per_vma", chunk_size=CHUNK_SIZE, max_retries=max_retries)
    chunks: list[MapsSnapshot] = []
    while True:
        batch = await run(_read_chunks, f, CHUNKS_PER_CALL)
        chunks.extend(batch)
        if batch[-1].eof:
            break
    # The end-of-file read carries no lines; keep it only if it is all there is.
    with_lines = [c for c in chunks if c.lines] or chunks[:1]
    return fold(with_lines, reader)


async def _anyio_run(fn: Callable[..., T], /, *args: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args))


def _read_whole(mm: Mm, reader: Reader, max_retries: int) -> MapsSnapshot:
    return read_maps(mm, reader, max_retries=max_retries)
