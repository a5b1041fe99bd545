"""``/processes/{pid}/maps/stream`` (JSON Lines) and ``/maps/events`` (SSE): maps
snapshots over time.

Every snapshot is one :func:`app.snapshots.take_snapshot` (worker threads, no lock held
across an ``await``), sent as a :class:`~app.schemas.MapsStreamItem`: its sequence
numbers, attempts, fallback, generation and tearing, and the VMAs as fields
(``format=vmas``, the default: what a program wants) or the kernel's text
(``format=text``: what a person diffs).

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
import time
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass
from typing import Annotated, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from core import NoSuchProcess, Process
from core.maps_reader import DEFAULT_MAX_RETRIES, DEFAULT_READER, Reader

from ..deps import MaxRetriesQuery, ProcessDep, ReaderQuery, ServiceDep, SettingsDep
from ..errors import LimitExceeded, responses
from ..jsonbody import JsonRoute
from ..procviews import parse_maps
from ..schemas.common import DecimalText
from ..schemas.maps import MapsStreamItem
from ..snapshots import Snapshot, take_snapshot
from ..streams import StreamRegistry, streams_for
from ..workers import Runner

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}", tags=["proc"])

IDLE_POLL = 0.005
"""Seconds between generation checks of an ``only_changes`` stream with ``interval``
0 while nothing changes (a floor, so an idle stream does not spin)."""


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
        Literal["vmas", "text"],
        Query(
            description="vmas: the VMAs as fields; text: the maps text",
            openapi_examples={"vmas": {"value": "vmas"}, "text": {"value": "text"}},
        ),
    ] = "vmas",
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
    )


StreamOptionsDep = Annotated[StreamOptions, Depends(stream_options)]


class _End:
    """Why a stream ended (set by :func:`snapshots`, read by the SSE route)."""

    __slots__ = ("reason", "sent")

    def __init__(self) -> None:
        self.reason = "disconnected"
        self.sent = 0


def _item(index: int, pid: int, elapsed: float, snap: Snapshot, fmt: str) -> MapsStreamItem:
    return MapsStreamItem(
        index=index,
        pid=pid,
        elapsed=elapsed,
        count=snap.line_count,
        snapshot=snap.meta,
        vmas=parse_maps(snap.text) if fmt == "vmas" else None,
        text=snap.text if fmt == "text" else None,
    )


async def snapshots(
    proc: Process, opts: StreamOptions, registry: StreamRegistry, end: _End, run: Runner
) -> AsyncGenerator[MapsStreamItem, None]:
    """The snapshots of one stream. Holds no lock while suspended. The registration
    in ``registry`` is closed in ``finally`` whatever ends the stream."""
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
                snap = await take_snapshot(proc.mm, opts.reader, opts.max_retries, run)
                if not proc.alive:  # exited during the read: its text is empty
                    reason = "exited"
                    break
                if not opts.only_changes or snap.meta.generation != last_generation:
                    last_generation = snap.meta.generation
                    elapsed = round(time.monotonic() - start, 6)
                    # Building the VmaOut models is O(n): not on the event loop.
                    item = await anyio.to_thread.run_sync(
                        _item, sent, proc.pid, elapsed, snap, opts.format
                    )
                    sent += 1
                    end.sent = sent
                    registry.sent()
                    yield item
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
            await anyio.sleep(min(wait, remaining))
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
        self.gen: AsyncGenerator[MapsStreamItem, None] | None = None

    def track(
        self, gen: AsyncGenerator[MapsStreamItem, None]
    ) -> AsyncGenerator[MapsStreamItem, None]:
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


@router.get(
    "/maps/stream",
    summary="A stream of maps snapshots (JSON Lines)",
    responses={
        200: {
            "description": "One MapsStreamItem per line (application/jsonl)",
            "content": {
                "application/jsonl": {
                    "example": '{"index":0,"pid":1000,"elapsed":0.0,"count":1,...}\n'
                }
            },
        },
        **STREAM_ERRORS,
    },
)
async def maps_stream(
    proc: ProcessDep, opts: StreamOptionsDep, service: ServiceDep, handle: StreamHandleDep
) -> AsyncIterable[MapsStreamItem]:
    """Snapshots of `/proc/<pid>/maps` as JSON Lines, every `interval` seconds, until
    `count` were sent, `max_duration` passed or the process exited. Each line carries
    the snapshot's sequence numbers, attempts, fallback, generation and tearing
    (`snapshot`), and the VMAs (`format=vmas`) or the text (`format=text`). With
    `only_changes`, a snapshot is sent only when the layout generation moved. Limits:
    `VMASIM_MAX_STREAM_SNAPSHOTS`, `VMASIM_MAX_STREAM_SECONDS` (409 beyond). A client
    may disconnect at any time; the server stops reading and holds nothing."""
    end = _End()
    items = handle.track(snapshots(proc, opts, streams_for(service), end, service.run))
    async with contextlib.aclosing(items):
        async for item in items:
            yield item


@router.get(
    "/maps/events",
    summary="A stream of maps snapshots (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`snapshot` events (data: a MapsStreamItem, id: its index), "
            "then one `end` event with the reason",
            "content": {
                "text/event-stream": {
                    "example": 'event: snapshot\ndata: {"index":0,"pid":1000,...}\nid: 0\n\n'
                    'event: end\ndata: {"reason":"count","sent":1}\n\n'
                }
            },
        },
        **STREAM_ERRORS,
    },
)
async def maps_events(
    proc: ProcessDep, opts: StreamOptionsDep, service: ServiceDep, handle: StreamHandleDep
) -> AsyncIterable[ServerSentEvent]:
    """The same snapshots as `GET /maps/stream`, as Server-Sent Events for browsers
    (`new EventSource(url)`): each a `snapshot` event whose `id` is its index, and a
    final `end` event `{"reason": "count" | "duration" | "exited", "sent": n}`."""
    end = _End()
    items = handle.track(snapshots(proc, opts, streams_for(service), end, service.run))
    async with contextlib.aclosing(items):
        async for item in items:
            yield ServerSentEvent(data=item, event="snapshot", id=str(item.index))
    yield ServerSentEvent(data={"reason": end.reason, "sent": end.sent}, event="end")
