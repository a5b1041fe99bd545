"""The Ray actor that holds one machine: :class:`MachineHost`.

A host runs the embedded service (:func:`app.main.create_app` with
:class:`app.machines.EmbeddedMachines`) for exactly one machine, in its own worker
process, and answers the HTTP requests the front ends forward to it
(:meth:`MachineHost.request`) by running them through that app, as ASGI, in the
actor's event loop. So every route keeps its one implementation, and the REST
contract is the same in both backends by construction: the front end forwards the
request as received (method, path, query, headers, body) and relays the answer
(status, headers, body chunks) as the actor produces it.

The actor is *async* (its methods are coroutines on one event loop): engine calls
already run in the service's worker threads (:class:`app.workers.EnginePool`), so an
operation held at a pause point parks a worker thread, never the loop, and the
requests that release it get through. Each machine is its own actor (its own
process), so a hold never touches another machine.

State: the host's state file is ``<store>/<machine>/host.json``. The machine
``default`` *is* that file's default machine; any other machine ``m`` is the second
machine of its host, kept by :class:`~app.machines.EmbeddedMachines` in
``<store>/m/host.json.machines/m/`` (its manifest, checkpoint and journal). The
front end creates ``m`` by forwarding ``POST /machines`` to a fresh host; when the
actor restarts (its node died: ``max_restarts``), its lifespan restores the machine
from that directory before it answers anything, exactly as a restarted embedded
server does.

The app starts lazily, on the first call after the actor (re)starts
(:meth:`MachineHost._ensure_started`), under an ``asyncio.Lock``: Ray runs
``__init__`` synchronously, outside the actor's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.types import Message

from ..deployment import Deployment
from ..middleware import replay_body
from ..settings import Backend, Settings

_log = logging.getLogger("vmasim.cluster")

HOST_STATE = "host.json"
"""Each machine's host keeps its state under ``<store>/<machine>/host.json``."""

#: A forwarded request: method, path, raw query, headers, body, client address.
Forwarded = tuple[str, str, bytes, list[tuple[bytes, bytes]], bytes, tuple[str, int] | None]
#: What :meth:`MachineHost.request` yields: the ASGI messages ``http.response.start``
#: and ``http.response.body`` the app sent since the last item, in order.
Messages = list[Message]


def host_state_file(store: str, machine: str) -> str:
    """The state file of ``machine``'s host under the shared ``store``."""
    return os.path.join(store, machine, HOST_STATE)


class MachineHost:
    """One machine, served by an embedded app in this actor (see the module note)."""

    def __init__(self, machine: str, store: str, environ: dict[str, str]) -> None:
        self.machine = machine
        self.state_file = host_state_file(store, machine)
        os.makedirs(os.path.dirname(self.state_file), exist_ok=True)
        settings = Settings.from_env(environ)
        # The host holds its default machine and at most one other: the front ends
        # enforce VMASIM_MAX_MACHINES over the cluster.
        settings = dataclasses.replace(settings, max_machines=2)
        deployment = dataclasses.replace(
            Deployment.from_env(environ),
            token=None,  # the front ends check the token; the host is not exposed
            cors_origins=(),
            state_file=self.state_file,
        )
        self._settings = settings
        self._deployment = deployment
        self._app: Any = None
        self._lifespan: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._fence: int | None = None
        self._lock: asyncio.Lock | None = None

    async def _ensure_started(self) -> Any:
        """The app, its lifespan entered (machines restored) on first use. The lifespan
        runs in a task of its own: anyio's task groups end in the task that began them."""
        if self._app is not None:
            return self._app
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._app is None:
                from ..main import create_app  # the web stack, in the actor's process

                # One writer per journal: a node that Ray declared dead may still run
                # this machine's old process for a moment (its actor calls do not go
                # through the dead raylet). Wait for it to be gone before restoring.
                self._fence = await asyncio.to_thread(_fence, self.state_file + ".lock")

                # Embedded, whatever VMASIM_BACKEND this process inherited.
                app = create_app(self._settings, deployment=self._deployment, backend=Backend())
                started = asyncio.Event()
                self._stop = asyncio.Event()
                task = asyncio.ensure_future(self._serve(app, started, self._stop))
                waiter = asyncio.ensure_future(started.wait())
                await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
                if not started.is_set():
                    waiter.cancel()
                    task.result()  # the start-up error (a state file that cannot be read)
                self._lifespan = task
                self._app = app
                _log.info("machine %s served from %s", self.machine, self.state_file)
        return self._app

    @staticmethod
    async def _serve(app: Any, started: asyncio.Event, stop: asyncio.Event) -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    async def ready(self) -> str:
        """Start (restore) the machine if needed; its node's id, for placement."""
        await self._ensure_started()
        import ray

        return str(ray.get_runtime_context().get_node_id())

    async def request(self, forwarded: Forwarded) -> AsyncIterator[Messages]:
        """Run one forwarded HTTP request through the app; yield its response messages
        as they come (a Ray streaming generator: a maps stream flows chunk by chunk).
        Cancelled (the client went away): the app sees ``http.disconnect``."""
        app = await self._ensure_started()
        method, path, query, headers, body, client = forwarded
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query,
            "headers": headers,
            "client": client,
            "server": None,
        }
        out: asyncio.Queue[Message | None] = asyncio.Queue()
        disconnected = asyncio.Event()

        async def until_disconnected() -> Message:
            await disconnected.wait()
            return {"type": "http.disconnect"}

        receive = replay_body(body, until_disconnected)

        async def send(message: Message) -> None:
            await out.put(message)

        async def run() -> None:
            try:
                await app(scope, receive, send)
            finally:
                await out.put(None)

        task = asyncio.ensure_future(run())
        try:
            done = False
            while not done:
                batch: Messages = []
                first = await out.get()
                pending: list[Message | None] = [first]
                while not out.empty():  # what the app sent meanwhile: one item
                    pending.append(out.get_nowait())
                for message in pending:
                    if message is None:
                        done = True
                        break
                    batch.append(message)
                    if message["type"] == "http.response.body" and not message.get(
                        "more_body", False
                    ):
                        done = True
                if batch:
                    yield batch
        finally:
            disconnected.set()
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def call(self, forwarded: Forwarded) -> Messages:
        """:meth:`request` for an answer that is not a stream: every message at once."""
        messages: Messages = []
        async for batch in self.request(forwarded):
            messages.extend(batch)
        return messages

    async def check(self) -> int:
        """``_check()`` of the machines, their services and every process; returns the
        processes checked. For the tests."""
        app = await self._ensure_started()
        machines = app.machines
        machines._check()
        checked = 0
        for machine in machines.machines():
            machine.service._check()
            for proc in machine.service.kernel.processes():
                proc.mm._check()
                checked += 1
        return checked

    async def stop(self) -> None:
        """End the app's lifespan: a last checkpoint, the journal closed. Before the
        actor is killed for good (``DELETE``)."""
        task, self._lifespan = self._lifespan, None
        if task is not None:
            self._stop.set()
            await task
        self._app = None
        fence, self._fence = self._fence, None
        if fence is not None:
            os.close(fence)  # releases the lock


def _fence(path: str) -> int:
    """An exclusive lock on ``path``, held by this process until it closes the file or
    dies (the kernel releases it then). Blocks while another process holds it.
    ``fcntl`` locks: reliable on a local or same-host shared directory, the store this
    backend supports (see :mod:`app.cluster`). Blocking."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd
