"""The front end of the cluster backend: find a machine's actor by name, forward to it.

:class:`ClusterFrontEnd` is the front end's handle on the Ray cluster (connect, find,
create and remove machine actors); :class:`ClusterForwarder` is the ASGI middleware
that sends each request to the actor of its machine. A front end keeps no state of
its own: the machines are Ray's named actors (namespace ``VMASIM_RAY_NAMESPACE``,
name ``machine:<id>``; Ray's GCS is the registry), their state is in the shared store,
so any number of front ends serve the same machines.

Which requests cross the actor boundary (one streaming actor call each): every
request of a machine -- ``/machines/{id}/...`` to ``id``'s actor, the unprefixed
process routes (and ``/vmstat``, ``/metrics``, ``/experiments``) to ``default``'s --
including ``GET`` and ``DELETE /machines/{id}``. The front end answers itself only
what no machine holds: ``/healthz``, the documentation and the live page's files,
and the collection ``/machines`` (``POST``: a new actor, then the request forwarded
to it; ``GET``: each actor's own description, gathered).

An actor that cannot answer -- its node died and Ray restarts it elsewhere
(``max_restarts=-1``), restoring the machine from its journal -- is a 503
``machine-unavailable`` with ``Retry-After`` (:class:`app.errors.MachineUnavailable`),
never a 500. Ray never re-runs a request on the restarted actor
(``max_task_retries=0``): a state change whose answer was lost may have happened
(journaled) or not, exactly like a lost answer of the embedded service; one that was
answered is in the journal, which the restarted actor replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import ray
import ray.exceptions
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import (
    MachineExists,
    MachineLimitReached,
    MachineUnavailable,
    NoSuchMachine,
    error_response,
)
from ..limits import is_stream
from ..machines import MACHINES_SUFFIX, MANIFEST
from ..middleware import replay_body
from ..schemas.machines import DEFAULT_MACHINE, MACHINE_ID_PATTERN
from ..settings import Backend
from .host import HOST_STATE, Forwarded, MachineHost, host_state_file

_log = logging.getLogger("vmasim.cluster")

ACTOR_PREFIX = "machine:"
"""A machine's actor is named ``machine:<id>`` in the namespace."""
KILL_TIMEOUT = 30.0
"""Seconds a delete waits for Ray to release a killed actor's name."""
_MACHINE_ID = re.compile(MACHINE_ID_PATTERN)
_MACHINE_PATH = re.compile(r"^/machines/([^/]+)(/.*)?$")
#: Answered by the front end itself: liveness, the documentation, the live page.
_LOCAL = re.compile(
    r"^/(healthz|docs|docs/oauth2-redirect|redoc|openapi\.json|ui/?)$|^/(docs-assets|ui/assets)/"
)

#: The actor class: async (its methods are coroutines on one loop; engine calls run in
#: the service's worker threads), so a hold parks a thread, never the loop.
RemoteHost = ray.remote(MachineHost)


def actor_name(machine: str) -> str:
    return ACTOR_PREFIX + machine


class ClusterFrontEnd:
    """One front end's view of the machines on the cluster (see the module note)."""

    def __init__(
        self,
        backend: Backend,
        max_machines: int,
        retry_after: int,
        environ: Mapping[str, str],
    ) -> None:
        assert backend.store is not None
        self.backend = backend
        self.store = backend.store
        self.namespace = backend.namespace
        self.max_machines = max_machines
        self.retry_after = retry_after
        #: What the actors are built with: this front end's VMASIM_* settings.
        self.environ = {k: v for k, v in environ.items() if k.startswith("VMASIM_")}
        self.connected_here = False
        #: Actor handles found by name (see :meth:`host`).
        self._handles: dict[str, Any] = {}

    # -- lifetime ---------------------------------------------------------------------

    def connect(self) -> None:
        """Join the cluster (unless this process already has). Blocking."""
        if not ray.is_initialized():
            ray.init(
                address=self.backend.ray_address or "auto",
                namespace=self.namespace,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
            self.connected_here = True

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Connect, make sure every machine of the store has its actor (after a whole
        cluster restarted, they are created again and restore themselves), serve."""
        await asyncio.to_thread(self.connect)
        os.makedirs(self.store, exist_ok=True)
        for machine in self.saved():
            self.spawn(machine, get_if_exists=True)
        try:
            await self.host(DEFAULT_MACHINE).ready.remote()
        except ray.exceptions.RayError as exc:
            _log.warning("machine default not ready yet: %s", exc)
        try:
            yield
        finally:
            if self.connected_here:
                ray.shutdown()  # the actors are detached: they stay

    def saved(self) -> list[str]:
        """``default`` and every machine whose manifest is in the store."""
        found = [DEFAULT_MACHINE]
        for name in sorted(os.listdir(self.store)):
            if name == DEFAULT_MACHINE or not _MACHINE_ID.match(name):
                continue
            manifest = os.path.join(
                host_state_file(self.store, name) + MACHINES_SUFFIX, name, MANIFEST
            )
            if os.path.exists(manifest):
                found.append(name)
        return found

    # -- actors -----------------------------------------------------------------------

    def spawn(self, machine: str, get_if_exists: bool = False) -> Any:
        """The actor of ``machine``, created: detached (it outlives this front end),
        restarted without end on another node when its node dies, spread over nodes.
        ``ValueError`` if the name is taken (unless ``get_if_exists``)."""
        return RemoteHost.options(
            name=actor_name(machine),
            namespace=self.namespace,
            lifetime="detached",
            get_if_exists=get_if_exists,
            max_restarts=-1,
            max_task_retries=0,
            max_concurrency=1000,
            num_cpus=0,
            scheduling_strategy="SPREAD",
        ).remote(machine, self.store, self.environ)

    def host(self, machine: str) -> Any:
        """The actor of ``machine``; ``NoSuchMachine`` if there is none (``default``
        is created again if it is missing). A handle found once is kept (a lookup is
        a round trip to Ray's registry); :meth:`forget` drops it when its actor turns
        out dead for good (deleted, perhaps through another front end)."""
        handle = self._handles.get(machine)  # one dict read: safe from any thread
        if handle is not None:
            return handle
        try:
            handle = ray.get_actor(actor_name(machine), namespace=self.namespace)
        except ValueError:
            if machine != DEFAULT_MACHINE:
                raise NoSuchMachine(machine) from None
            handle = self.spawn(machine, get_if_exists=True)
        self._handles[machine] = handle
        return handle

    def forget(self, machine: str) -> None:
        self._handles.pop(machine, None)

    def names(self) -> list[str]:
        """Every machine with an actor, ``default`` first, then by id."""
        names = {
            entry["name"][len(ACTOR_PREFIX) :]
            for entry in ray.util.list_named_actors(all_namespaces=True)
            if entry.get("namespace") == self.namespace and entry["name"].startswith(ACTOR_PREFIX)
        }
        names.discard(DEFAULT_MACHINE)
        return [DEFAULT_MACHINE, *sorted(names)]

    def kill(self, machine: str, handle: Any) -> None:
        """End ``machine``'s actor for good, wait until its name is free (bounded) and
        remove its directory. Blocking."""
        self.forget(machine)
        ray.kill(handle, no_restart=True)
        deadline = time.monotonic() + KILL_TIMEOUT
        while time.monotonic() < deadline:
            try:
                ray.get_actor(actor_name(machine), namespace=self.namespace)
            except ValueError:
                break
            time.sleep(0.01)
        shutil.rmtree(os.path.join(self.store, machine), ignore_errors=True)

    def unavailable(self, machine: str, exc: BaseException) -> MachineUnavailable:
        return MachineUnavailable(machine, self.retry_after, type(exc).__name__)


_UNAVAILABLE = (
    ray.exceptions.RayActorError,
    ray.exceptions.ActorUnschedulableError,
    ray.exceptions.TaskCancelledError,
)


class ClusterForwarder:
    """ASGI: each request of a machine goes to that machine's actor (see the module
    note); the others to ``app``, this front end's own routes."""

    def __init__(self, app: ASGIApp, front: ClusterFrontEnd) -> None:
        self.app = app
        self.front = front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or _LOCAL.match(path):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if path in ("/machines", "/machines/"):
            if method == "POST":
                await self._create(scope, receive, send)
            elif method in ("GET", "HEAD"):
                await self._list(scope, receive, send)
            else:
                await self.app(scope, receive, send)  # 405 from the route table
            return
        match = _MACHINE_PATH.match(path)
        machine = DEFAULT_MACHINE
        if match is not None:
            machine = match[1]
            if not _MACHINE_ID.match(machine):
                await self.app(scope, receive, send)  # the routes' 422 for the path
                return
        body = await _read_body(receive)
        try:
            handle = self.front.host(machine)
        except NoSuchMachine as exc:
            await error_response(exc, path)(scope, receive, send)
            return
        deleting = (
            method == "DELETE"
            and match is not None
            and match[2] is None
            and machine != DEFAULT_MACHINE
        )
        if not deleting:
            await self._forward(machine, handle, scope, body, receive, send)
            return
        # DELETE /machines/{id}: the machine's own app deletes it (its files), then its
        # actor ends and its name is free, and only then the answer leaves: no front
        # end finds the machine once one answered that it is gone.
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        status = await self._forward(machine, handle, scope, body, receive, keep)
        if status == 204:
            with contextlib.suppress(ray.exceptions.RayError):
                await handle.stop.remote()
            await asyncio.to_thread(self.front.kill, machine, handle)
        for message in answer:
            await send(message)

    async def _forward(
        self,
        machine: str,
        handle: Any,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        rewrite: Any = None,
    ) -> int:
        """Send one request to ``handle`` and relay its answer; returns its status
        (503 if the actor could not answer). A client that goes away cancels the
        actor's side (the app there sees ``http.disconnect``)."""
        forwarded: Forwarded = (
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            [(bytes(k), bytes(v)) for k, v in scope.get("headers", ())],
            body,
            tuple(scope["client"]) if scope.get("client") else None,
        )
        status = 0
        ended = False
        # A stream (app.limits.is_stream) flows item by item through a streaming
        # generator; any other answer is bounded and comes back whole from one plain
        # actor call (one round trip instead of one per item, and the generator's end).
        gen = handle.request.remote(forwarded) if is_stream(scope) else None
        whole: Any = handle.call.remote(forwarded) if gen is None else None

        async def relay_all(messages: list[Message]) -> None:
            nonlocal status, ended
            for message in messages:
                if message["type"] == "http.response.start":
                    status = message["status"]
                elif not message.get("more_body", False):
                    ended = True
                await send(message)

        async def pump() -> None:
            if gen is None:
                await relay_all(await whole)
                return
            async for ref in gen:
                await relay_all(await ref)

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        relay = asyncio.ensure_future(pump())
        watch = asyncio.ensure_future(disconnected())
        try:
            await asyncio.wait([relay, watch], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (relay, watch):
                task.cancel()
            if not relay.done() or watch.done():
                with contextlib.suppress(Exception):
                    ray.cancel(gen if gen is not None else whole)
        if relay.done() and not relay.cancelled():
            exc = relay.exception()
            if exc is not None:
                if not isinstance(exc, _UNAVAILABLE):
                    raise exc
                if status == 0:
                    gone: Exception = self.front.unavailable(machine, exc)
                    if isinstance(exc, ray.exceptions.ActorDiedError):
                        self.front.forget(machine)
                        try:  # for good (deleted meanwhile), or restarting?
                            self.front.host(machine)
                        except NoSuchMachine as missing:
                            gone = missing
                    problem = error_response(gone, scope["path"])
                    await problem(scope, receive, send)
                    return problem.status_code
                if not ended:  # the actor died mid-stream: end the body where it stopped
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        return status

    async def _create(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /machines``: a new actor named for the id, then the request forwarded
        to it, whose own app validates and creates the machine (durable when it
        answers 201). Any other answer: the actor is removed. A body this cannot read
        an id from goes to this front end's route, for its 422."""
        body = await _read_body(receive)
        readable, name = _requested_id(body)
        if not readable:
            await self.app(scope, replay_body(body, receive), send)
            return
        front = self.front
        names = await asyncio.to_thread(front.names)
        try:
            if len(names) >= front.max_machines:
                raise MachineLimitReached(
                    "VMASIM_MAX_MACHINES", front.max_machines, len(names) + 1, "machines"
                )
            if name is None:
                name = next(
                    f"machine-{n}" for n in range(1, len(names) + 2) if f"machine-{n}" not in names
                )
            if name in names:
                raise MachineExists(name)
            try:
                handle = front.spawn(name)
            except ValueError:
                raise MachineExists(name) from None
        except (MachineExists, MachineLimitReached) as exc:
            await error_response(exc, scope["path"])(scope, receive, send)
            return
        if _requested_id(body)[1] is None:  # the id chosen here: the host must use it
            doc = json.loads(body)
            doc["id"] = name
            body = json.dumps(doc).encode()
            scope = {
                **scope,
                "headers": [
                    (k, str(len(body)).encode()) if k.lower() == b"content-length" else (k, v)
                    for k, v in scope.get("headers", ())
                ],
            }
        try:
            status = await self._forward(name, handle, scope, body, receive, send)
        except BaseException:
            await asyncio.to_thread(front.kill, name, handle)
            raise
        if status != 201:
            await asyncio.to_thread(front.kill, name, handle)

    async def _list(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /machines``: every actor's ``GET /machines/{id}``, gathered."""
        front = self.front
        names = await asyncio.to_thread(front.names)
        headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() == b"authorization"]

        async def describe(name: str) -> dict[str, Any] | None:
            handle = front.host(name)
            forwarded: Forwarded = ("GET", f"/machines/{name}", b"", headers, b"", None)
            start: Message = {}
            chunks = []
            try:
                async for ref in handle.request.remote(forwarded):
                    for message in await ref:
                        if message["type"] == "http.response.start":
                            start = message
                        else:
                            chunks.append(message.get("body", b""))
            except ray.exceptions.ActorDiedError:
                front.forget(name)  # deleted meanwhile (or restarting: then not listed)
                return None
            if start.get("status") != 200:
                return None  # deleted meanwhile
            doc: dict[str, Any] = json.loads(b"".join(chunks))
            return doc

        try:
            found = await asyncio.gather(*(describe(n) for n in names))
        except NoSuchMachine:
            found = []
        except _UNAVAILABLE as exc:
            await error_response(front.unavailable("*", exc), scope["path"])(scope, receive, send)
            return
        machines = [doc for doc in found if doc is not None]
        body = json.dumps(
            {"count": len(machines), "limit": front.max_machines, "machines": machines},
            separators=(",", ":"),
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _requested_id(body: bytes) -> tuple[bool, str | None]:
    """Whether a ``POST /machines`` body is a JSON object with a valid or no ``id``
    (if not: the route's 422), and the id it asks for (None: none)."""
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError:
        return False, None
    if not isinstance(doc, dict):
        return False, None
    name = doc.get("id")
    if name is None:
        return True, None
    if isinstance(name, str) and _MACHINE_ID.fullmatch(name):
        return True, name
    return False, None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


__all__ = ["HOST_STATE", "ClusterForwarder", "ClusterFrontEnd"]
