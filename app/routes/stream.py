"""``/processes/{pid}/maps/stream`` (JSON Lines) and ``/maps/events`` (SSE): maps
snapshots over time.

Every snapshot is one :func:`app.snapshots.take_snapshot` (worker threads, no lock held
across an ``await``), sent as a :class:`~app.schemas.MapsStreamItem`: its sequence
numbers, attempts, fallback, generation and tearing, and the VMAs as fields
(``format=vmas``, the default: what a program wants) or the kernel's text
(``format=text``: what a person diffs), or runs of consecutive VMAs
(``format=overview``: what a page can draw of millions of VMAs). An overview with the
``seqcount`` or ``mmap_lock`` reader is :func:`app.snapshots.take_overview`: summed
from one validated tree version in a worker thread (``core.maps_overview``, no text
rendered or parsed, cached per layout generation); with ``per_vma`` it is a
:func:`~app.snapshots.take_snapshot` read summarised by
:func:`app.snapshots.overview`, whose lines may show different moments.

An item is written in pieces (:func:`item_chunks`: the JSON of about
:data:`app.snapshots.BODY_CHUNK` characters of maps text each, built in a worker
thread and sent before the next is built), so a snapshot of millions of VMAs is never
held as models, nor as one JSON string, in the server: the routes stream bytes
themselves rather than letting FastAPI serialise whole items. The SSE route sends
the keep-alive comment FastAPI's would (``: ping`` after :data:`PING_INTERVAL` idle
seconds).

Everything that can fail is checked in dependencies, before the response starts
(FastAPI cannot turn an exception raised inside a streaming body into an error): the
pid (404), the options (422), and the stream limits ``VMASIM_MAX_STREAM_SNAPSHOTS`` and
``VMASIM_MAX_STREAM_SECONDS`` (409 naming the setting). Inside the body nothing
raises: a process that exits ends the stream (SSE: an ``end`` event says why).

A client that disconnects is noticed by the server (``http.disconnect``), which cancels
the response task; the cancellation reaches the generator at its current ``await``
(a sleep, or a worker-thread read, which first completes and releases its locks), its
``finally`` closes the registration in :mod:`app.streams`, and nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Annotated, Literal

import anyio
import anyio.to_thread
import pydantic_core
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event

from core import NoSuchProcess, Process
from core.maps_reader import DEFAULT_MAX_RETRIES, DEFAULT_READER, Reader

from ..deps import MaxRetriesQuery, ProcessDep, ReaderQuery, ServiceDep, SettingsDep
from ..errors import LimitExceeded, responses
from ..jsonbody import JsonRoute
from ..schemas.common import DecimalText
from ..schemas.maps import MapsStreamItem
from ..snapshots import (
    BODY_CHUNK,
    Overview,
    Snapshot,
    json_chunks,
    json_text_chunks,
    overview,
    take_overview,
    take_snapshot,
)
from ..streams import StreamRegistry, streams_for
from ..workers import Runner

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["proc"])

IDLE_POLL = 0.005
"""Seconds between generation checks of an ``only_changes`` stream with ``interval``
0 while nothing changes (a floor, so an idle stream does not spin)."""
DEFAULT_GROUPS = 4096
"""Runs of a ``format=overview`` snapshot unless ``groups`` says otherwise."""
MAX_GROUPS = 65536
"""The most runs ``groups`` may ask for (an overview is one bounded piece of JSON)."""
PING_INTERVAL = 15.0
"""Idle seconds after which an SSE stream sends a keep-alive comment (FastAPI's own
interval for its event streams)."""


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Validated stream parameters (limits applied)."""

    reader: Reader
    max_retries: int
    interval: float
    count: int
    duration: float
    only_changes: bool
    format: str
    groups: int


async def stream_options(
    settings: SettingsDep,
    reader: ReaderQuery = DEFAULT_READER,
    max_retries: MaxRetriesQuery = DEFAULT_MAX_RETRIES,
    interval: Annotated[
        float,
        Query(
            ge=0,
            le=3600,
            allow_inf_nan=False,
            description="seconds between snapshots (0: as fast as they can be read)",
            openapi_examples={"one per second": {"value": 1.0}, "fast": {"value": 0.1}},
        ),
    ] = 1.0,
    count: Annotated[
        int | None,
        Query(
            ge=1,
            description="snapshots to send, then end (default and maximum: "
            "VMASIM_MAX_STREAM_SNAPSHOTS)",
            openapi_examples={"ten": {"value": 10}},
        ),
        DecimalText,
    ] = None,
    max_duration: Annotated[
        float | None,
        Query(
            gt=0,
            allow_inf_nan=False,
            description="seconds after which the stream ends (default and maximum: "
            "VMASIM_MAX_STREAM_SECONDS)",
            openapi_examples={"a minute": {"value": 60}},
        ),
    ] = None,
    only_changes: Annotated[
        bool,
        Query(
            description="send a snapshot only when the layout generation changed since "
            "the last one sent (the first is always sent)",
            openapi_examples={"every snapshot": {"value": False}, "changes": {"value": True}},
        ),
    ] = False,
    format: Annotated[
        Literal["vmas", "text", "overview"],
        Query(
            description="vmas: the VMAs as fields; text: the maps text; overview: at most "
            "`groups` runs of consecutive lines (for processes too big to draw line by line): "
            "summed from the tree's VMAs for the seqcount and mmap_lock readers, without "
            "rendering the text (`overview.source`), from the read's lines for per_vma",
            openapi_examples={
                "vmas": {"value": "vmas"},
                "text": {"value": "text"},
                "overview": {"value": "overview"},
            },
        ),
    ] = "vmas",
    groups: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_GROUPS,
            description="format=overview: the most runs a snapshot is summarised in",
            openapi_examples={"a canvas": {"value": 4096}},
        ),
        DecimalText,
    ] = DEFAULT_GROUPS,
) -> StreamOptions:
    """The stream's options, with the limits of the settings applied (409 beyond)."""
    limit = settings.max_stream_snapshots
    if count is not None and count > limit:
        raise LimitExceeded("VMASIM_MAX_STREAM_SNAPSHOTS", limit, count, "stream count")
    seconds = settings.max_stream_seconds
    if max_duration is not None and max_duration > seconds:
        raise LimitExceeded(
            "VMASIM_MAX_STREAM_SECONDS", seconds, int(max_duration), "stream max_duration"
        )
    return StreamOptions(
        reader,
        max_retries,
        interval,
        limit if count is None else count,
        float(seconds if max_duration is None else max_duration),
        only_changes,
        format,
        groups,
    )


StreamOptionsDep = Annotated[StreamOptions, Depends(stream_options)]


class _End:
    """Why a stream ended (set by :func:`snapshots`, read by the SSE route)."""

    __slots__ = ("reason", "sent")

    def __init__(self) -> None:
        self.reason = "disconnected"
        self.sent = 0


@dataclass(frozen=True, slots=True)
class Shot:
    """One snapshot of a stream, to be sent: its index, seconds since the start."""

    index: int
    elapsed: float
    snap: Snapshot | Overview


def item_chunks(pid: int, shot: Shot, fmt: str, groups: int = DEFAULT_GROUPS) -> Iterator[bytes]:
    """The JSON of one :class:`~app.schemas.MapsStreamItem` (no newline), in pieces of
    bounded size (:func:`app.snapshots.json_chunks`). Pure computation: the routes run
    it in worker threads. O(len(text)); an :class:`~app.snapshots.Overview` O(groups)."""
    snap = shot.snap
    head = MapsStreamItem(
        index=shot.index, pid=pid, elapsed=shot.elapsed, count=snap.line_count, snapshot=snap.meta
    ).model_dump(mode="json", exclude={"vmas", "text", "groups", "overview"})
    if isinstance(snap, Overview):
        how = {"source": "tree", "reused": snap.reused}
        yield pydantic_core.to_json({**head, "vmas": None, "text": None, "overview": how})[:-1]
        yield b',"groups":' + pydantic_core.to_json(snap.groups) + b"}"
        return
    if fmt == "vmas":
        yield from json_chunks(head, snap.lines, tail=b',"text":null,"groups":null,"overview":null')
        return
    if fmt == "overview":
        how = {"source": "lines", "reused": False}
        yield pydantic_core.to_json({**head, "vmas": None, "text": None, "overview": how})[:-1]
        yield b',"groups":' + pydantic_core.to_json(overview(snap.lines, groups)) + b"}"
        return
    yield pydantic_core.to_json(head)[:-1] + b',"vmas":null,"text":'
    yield from json_text_chunks(snap.lines)
    yield b',"groups":null,"overview":null}'


async def snapshots(
    proc: Process,
    opts: StreamOptions,
    registry: StreamRegistry,
    end: _End,
    run: Runner,
    ping: float | None = None,
) -> AsyncGenerator[Shot | None, None]:
    """The snapshots of one stream; with ``ping``, also ``None`` after every ``ping``
    seconds spent waiting (a keep-alive is due). Holds no lock while suspended. The
    registration in ``registry`` is closed in ``finally`` whatever ends the stream."""
    stream_id = registry.open(proc.pid)
    reason = "disconnected"  # unless the loop ends by itself
    try:
        start = time.monotonic()
        deadline = start + opts.duration
        last_generation: int | None = None
        sent = 0
        while True:
            if not proc.alive:
                reason = "exited"
                break
            if opts.only_changes and proc.mm.generation == last_generation:
                pass  # nothing changed: no read at all (generation is one int load)
            else:
                snap: Snapshot | Overview
                if opts.format == "overview" and opts.reader != "per_vma":
                    # From the tree, in a worker thread: no text rendered or parsed.
                    snap = await take_overview(
                        proc.mm, opts.reader, opts.max_retries, opts.groups, run
                    )
                else:
                    snap = await take_snapshot(proc.mm, opts.reader, opts.max_retries, run)
                if not proc.alive:  # exited during the read: its text is empty
                    reason = "exited"
                    break
                if not opts.only_changes or snap.meta.generation != last_generation:
                    last_generation = snap.meta.generation
                    elapsed = round(time.monotonic() - start, 6)
                    shot = Shot(sent, elapsed, snap)
                    sent += 1
                    end.sent = sent
                    registry.sent()
                    yield shot
                    if sent >= opts.count:
                        reason = "count"
                        break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reason = "duration"
                break
            wait = opts.interval
            if opts.only_changes and sent and proc.mm.generation == last_generation:
                wait = max(wait, IDLE_POLL)
            wait = min(wait, remaining)
            while ping is not None and wait > ping:
                await anyio.sleep(ping)
                wait -= ping
                yield None
            await anyio.sleep(wait)
    except Exception:
        reason = "error"
        raise
    finally:
        end.reason = reason
        registry.close(stream_id, reason)


class StreamHandle:
    """Closes a stream's snapshot generator when the request ends, however it ends.

    Closing must not wait for the generator's finalisation: after a client disconnects
    the generator may be left suspended at a ``yield`` (FastAPI's SSE producer runs
    ahead of the consumer and is cancelled while the generator waits there), and only
    the garbage collector would close it. The request's exit stack runs
    :func:`stream_handle`'s teardown after the response ended or was cancelled; it
    closes the generator, whose ``finally`` unregisters the stream."""

    __slots__ = ("gen",)

    def __init__(self) -> None:
        self.gen: AsyncGenerator[Shot | None, None] | None = None

    def track(self, gen: AsyncGenerator[Shot | None, None]) -> AsyncGenerator[Shot | None, None]:
        self.gen = gen
        return gen

    async def close(self) -> None:
        gen, self.gen = self.gen, None
        if gen is not None:
            with contextlib.suppress(RuntimeError):  # running in another task: it ends itself
                await gen.aclose()


async def stream_handle() -> AsyncGenerator[StreamHandle, None]:
    """A :class:`StreamHandle` closed when the request's exit stack unwinds."""
    handle = StreamHandle()
    try:
        yield handle
    finally:
        await handle.close()


StreamHandleDep = Annotated[StreamHandle, Depends(stream_handle)]

STREAM_ERRORS = responses(NoSuchProcess, LimitExceeded)


class JsonLinesResponse(StreamingResponse):
    """``application/jsonl``: one JSON value per line."""

    media_type = "application/jsonl"


class EventStreamResponse(StreamingResponse):
    """``text/event-stream``, not cached or buffered by proxies (as FastAPI's own)."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[bytes], status_code: int = 200) -> None:
        super().__init__(
            content,
            status_code,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _gather(pieces: Iterator[bytes]) -> bytes:
    """The next pieces of ``pieces`` joined, about :data:`BODY_CHUNK` bytes (b"" at
    the end): one worker-thread call per send, however small the pieces."""
    out: list[bytes] = []
    size = 0
    for piece in pieces:
        out.append(piece)
        size += len(piece)
        if size >= BODY_CHUNK:
            break
    return b"".join(out)


async def _in_threads(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``pieces`` produced in worker threads, sent about :data:`BODY_CHUNK` bytes at a
    time (a small snapshot's item is one call and one send)."""
    while data := await anyio.to_thread.run_sync(_gather, pieces):
        yield data


async def _jsonl(
    pid: int, opts: StreamOptions, shots: AsyncGenerator[Shot | None, None]
) -> AsyncIterator[bytes]:
    async with contextlib.aclosing(shots):
        async for shot in shots:
            if shot is not None:
                async for piece in _in_threads(
                    chain(item_chunks(pid, shot, opts.format, opts.groups), (b"\n",))
                ):
                    yield piece


async def _sse(
    pid: int, opts: StreamOptions, shots: AsyncGenerator[Shot | None, None], end: _End
) -> AsyncIterator[bytes]:
    async with contextlib.aclosing(shots):
        async for shot in shots:
            if shot is None:
                yield KEEPALIVE_COMMENT
                continue
            head = b"event: snapshot\ndata: "
            tail = f"\nid: {shot.index}\n\n".encode()
            body = item_chunks(pid, shot, opts.format, opts.groups)
            async for piece in _in_threads(chain((head,), body, (tail,))):
                yield piece
    data = json.dumps({"reason": end.reason, "sent": end.sent})
    yield format_sse_event(data_str=data, event="end")


ITEM_SCHEMA = {"$ref": "#/components/schemas/MapsStreamItem"}


@router.get(
    "/maps/stream",
    summary="A stream of maps snapshots (JSON Lines)",
    response_class=JsonLinesResponse,
    responses={
        200: {
            "description": "One MapsStreamItem per line (application/jsonl)",
            "content": {
                "application/jsonl": {
                    "itemSchema": ITEM_SCHEMA,
                    "schema": {
                        "type": "string",
                        "description": "application/jsonl: each line one JSON value, "
                        "matching `x-itemSchema`",
                    },
                    "example": '{"index":0,"pid":1000,"elapsed":0.0,"count":1,...}\n',
                }
            },
        },
        **STREAM_ERRORS,
    },
)
async def maps_stream(
    proc: ProcessDep, opts: StreamOptionsDep, service: ServiceDep, handle: StreamHandleDep
) -> JsonLinesResponse:
    """Snapshots of `/proc/<pid>/maps` as JSON Lines, every `interval` seconds, until
    `count` were sent, `max_duration` passed or the process exited. Each line carries
    the snapshot's sequence numbers, attempts, fallback, generation and tearing
    (`snapshot`), and the VMAs (`format=vmas`) or the text (`format=text`). With
    `only_changes`, a snapshot is sent only when the layout generation moved. Limits:
    `VMASIM_MAX_STREAM_SNAPSHOTS`, `VMASIM_MAX_STREAM_SECONDS` (409 beyond). A client
    may disconnect at any time; the server stops reading and holds nothing."""
    shots = handle.track(snapshots(proc, opts, streams_for(service), _End(), service.run))
    return JsonLinesResponse(_jsonl(proc.pid, opts, shots))


SSE_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "data": {"type": "string"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


@router.get(
    "/maps/events",
    summary="A stream of maps snapshots (Server-Sent Events)",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "`snapshot` events (data: a MapsStreamItem, id: its index), "
            "then one `end` event with the reason",
            "content": {
                "text/event-stream": {
                    "itemSchema": SSE_EVENT_SCHEMA,
                    "schema": {"description": "one event of the stream", **SSE_EVENT_SCHEMA},
                    "example": 'event: snapshot\ndata: {"index":0,"pid":1000,...}\nid: 0\n\n'
                    'event: end\ndata: {"reason":"count","sent":1}\n\n',
                }
            },
        },
        **STREAM_ERRORS,
    },
)
async def maps_events(
    proc: ProcessDep, opts: StreamOptionsDep, service: ServiceDep, handle: StreamHandleDep
) -> EventStreamResponse:
    """The same snapshots as `GET /maps/stream`, as Server-Sent Events for browsers
    (`new EventSource(url)`): each a `snapshot` event whose `id` is its index, and a
    final `end` event `{"reason": "count" | "duration" | "exited", "sent": n}`."""
    end = _End()
    registry = streams_for(service)
    shots = handle.track(snapshots(proc, opts, registry, end, service.run, PING_INTERVAL))
    return EventStreamResponse(_sse(proc.pid, opts, shots, end))
