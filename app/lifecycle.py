"""Graceful shutdown: what happens between "stop" and the process exiting.

uvicorn's shutdown (``Server.shutdown``) stops accepting connections, waits for the
running requests (up to ``--timeout-graceful-shutdown``), and only then sends the ASGI
lifespan shutdown. A stream or a request parked at a pause point would make that wait
long, so the service must learn about the shutdown at its *start*:

1. :meth:`Lifecycle.begin_shutdown` runs first. It sets ``app.state.shutting_down`` (a
   ``threading.Event``, readable from worker threads and stream generators), wakes
   every async waiter (:meth:`ShutdownSignal.wait`), and disarms and releases every
   armed pause point of every process of every machine (``PauseRegistry.reset``), so a held syscall
   completes at once instead of after its hold timeout.
2. New requests get 503 (``app.limits``); open streams see a client disconnect and end,
   their chunked body terminated cleanly; in-flight requests finish normally.
3. The lifespan shutdown then saves the state (``app.persistence``) one last time.

Step 1 is triggered by whichever comes first: SIGTERM/SIGINT (the lifespan chains a
handler in front of uvicorn's when it runs in the main thread: ``uvicorn app.main:app``,
``vmasim serve``, the container), :class:`GracefulServer` (a ``uvicorn.Server`` whose
``shutdown`` calls it first: in-thread servers in tests), or the lifespan shutdown
itself (idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import anyio
import uvicorn

if TYPE_CHECKING:
    from .service import Service

_log = logging.getLogger("vmasim.lifecycle")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ShutdownSignal:
    """A ``threading.Event`` (:attr:`event`) that async code can also await.

    :meth:`set` runs on the event loop thread (from another thread use
    :meth:`set_threadsafe`); :meth:`wait` registers an ``anyio.Event`` woken by it.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self._waiters: set[anyio.Event] = set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        """Set the flag and wake every waiter. Event loop thread only. O(waiters)."""
        self.event.set()
        for waiter in list(self._waiters):
            waiter.set()

    async def wait(self) -> None:
        """Return once :meth:`set` ran."""
        if self.event.is_set():
            return
        waiter = anyio.Event()
        self._waiters.add(waiter)
        try:
            await waiter.wait()
        finally:
            self._waiters.discard(waiter)

    def waiters(self) -> int:
        return len(self._waiters)


@dataclass(frozen=True)
class LifecycleStatistics:
    """``Lifecycle.statistics()``: shutdown state and what it released."""

    shutting_down: bool
    waiters: int
    pause_holds_released: int
    signal_handler_installed: bool


class Lifecycle:
    """The shutdown sequence of one app (``app.state.lifecycle``)."""

    def __init__(self, services: Callable[[], Iterable[Service]]) -> None:
        #: Every machine's service now (machines come and go while serving).
        self.services = services
        self.shutdown = ShutdownSignal()
        self.released = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}

    @property
    def shutting_down(self) -> threading.Event:
        """The flag stream generators and worker threads may poll."""
        return self.shutdown.event

    def begin_shutdown(self) -> None:
        """Step 1 of the module note. Idempotent (each call wakes waiters and releases
        holds again); event loop thread, or before the loop runs. O(processes of all
        machines)."""
        if not self.shutdown.is_set():
            _log.info("graceful shutdown: refusing new requests, ending streams, releasing pauses")
        self.shutdown.set()
        for service in self.services():
            for proc in service.kernel.processes():
                pauses = proc.mm.pauses
                held = len(pauses.held())
                pauses.reset()
                self.released += held

    # -- signals ------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """Chain :meth:`begin_shutdown` in front of the current SIGINT/SIGTERM handlers
        (uvicorn's). Only in the main thread; call from the running event loop."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            previous = signal.getsignal(sig)
            self._previous[sig] = previous
            signal.signal(sig, self._make_handler(previous))

    def restore_signal_handlers(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _make_handler(self, previous: Any) -> Callable[[int, FrameType | None], None]:
        def handler(sig: int, frame: FrameType | None) -> None:
            # A signal handler runs between bytecodes of the main thread: do not take
            # engine locks here, schedule the work on the loop.
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self.begin_shutdown)
            if callable(previous):
                previous(sig, frame)

        return handler

    def statistics(self) -> LifecycleStatistics:
        return LifecycleStatistics(
            shutting_down=self.shutdown.is_set(),
            waiters=self.shutdown.waiters(),
            pause_holds_released=self.released,
            signal_handler_installed=bool(self._previous),
        )


class GracefulServer(uvicorn.Server):
    """A ``uvicorn.Server`` that begins the app's graceful shutdown (see the module
    note) before uvicorn waits for the open connections."""

    async def shutdown(self, sockets: Any = None) -> None:
        app = self.config.app
        lifecycle: Lifecycle | None = getattr(getattr(app, "state", None), "lifecycle", None)
        if lifecycle is not None:
            lifecycle.begin_shutdown()
        await super().shutdown(sockets)
