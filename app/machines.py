"""Simulated machines: the resource ``/machines``, and the backend that holds them.

Design note
===========
A **machine** is everything one simulated host has: a :class:`core.Kernel` (its pid
space, files, counters and sysctls), the service around it (:class:`app.service.Service`:
worker pool, journal, process limit), its state on disk (:class:`app.persistence.StateKeeper`:
checkpoint plus journal), and its experiment jobs (:class:`app.jobs.JobManager`). Two
machines share none of these, so the same pid numbers live in both and a pause point
held in one never delays the other. The machine ``default`` always exists and serves
the routes without a prefix, as the service did before machines existed; every route
of a process is also served under ``/machines/{machine}`` (:mod:`app.deps` finds the
machine from the path).

A machine's kernel takes the settings :meth:`core.Kernel.configure` accepts
(:data:`core.kernel.SETTINGS`: RAM, swap, the overcommit sysctls, ``vm.max_map_count``,
the resident bound...), over the environment's (``VMASIM_MAX_MAP_COUNT``,
``VMASIM_MAX_RESIDENT_PAGES``). They are validated there, once: a bad value is the
kernel's ``InvalidArgument`` (422) and nothing is created.

**The seam.** Routes reach machines through :class:`MachineBackend`, never through a
table of their own. :class:`EmbeddedMachines` holds each machine in this process. The
cluster backend (:mod:`app.cluster`, ``VMASIM_BACKEND=ray``) plugs in one level up: each
machine is a Ray actor that runs this very module for its one machine, and the server
in front forwards every request of a machine (everything under ``/machines/{machine}``,
and the unprefixed routes for ``default``) to that actor, before it reaches a route.

**Durability** (with ``VMASIM_STATE_FILE``). The default machine keeps the state file
and its journal exactly where they were. Machine ``m`` lives in its own directory
``<state file>.machines/m/``: ``machine.json`` (its id and kernel settings) and its own
checkpoint ``state.json`` with journal ``state.json.journal`` (:mod:`app.persistence`).
``POST /machines`` answers once ``machine.json`` is durable (written atomically,
:func:`core.checkpoint.write_atomically`); ``DELETE`` answers once it is gone -- the file is
the machine's existence, so a crash in between leaves either the machine or a
directory without it, which the next start removes. At start every machine is
restored from its own checkpoint and journal (:meth:`EmbeddedMachines.run`).

**Deletion.** The machine leaves the table first (new requests: 404; its id stays
reserved until its files are gone), its pause points are disarmed and their holds
released (no new arms: every pid is marked exiting), state changes still running are
waited for (:meth:`app.service.Service.retire`; later ones get 404), its processes
exit (their streams end with ``exited``), its jobs are cancelled, its journal is
committed and closed, then its files are removed.

Locks: :attr:`EmbeddedMachines._lock` guards the table and the count of creations in
flight; it is held O(1), never across I/O or an await.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import anyio.to_thread

from core import InvalidArgument, NoSuchProcess, StateError
from core.checkpoint import read_state, remove_stale_temps, write_atomically

from .deployment import Deployment
from .errors import DefaultMachineKept, MachineExists, MachineLimitReached, NoSuchMachine
from .jobs import JobManager
from .lifecycle import ShutdownSignal
from .persistence import StateKeeper, lifespan_state
from .schemas.machines import DEFAULT_MACHINE, MACHINE_ID_PATTERN
from .service import Service, in_worker
from .settings import Settings
from .workers import WaitListener

_log = logging.getLogger("vmasim.machines")

_MACHINE_ID = re.compile(MACHINE_ID_PATTERN)
MACHINES_SUFFIX = ".machines"
"""``<state file>.machines/`` holds one directory per machine but the default."""
MANIFEST = "machine.json"
STATE = "state.json"
MANIFEST_VERSION = 1


def machines_dir(state_file: str) -> str:
    """Where the machines other than ``default`` keep their state."""
    return state_file + MACHINES_SUFFIX


class Machine:
    """One simulated machine: its service, state keeper and jobs (see the module note).
    ``stopping`` ends its lifetime (periodic saves stop, a last checkpoint is taken,
    the journal is closed); ``stopped`` is set once that is done."""

    def __init__(
        self,
        name: str,
        service: Service,
        keeper: StateKeeper,
        jobs: JobManager,
        created_at: float,
        directory: str | None = None,
    ) -> None:
        self.name = name
        self.service = service
        self.keeper = keeper
        self.jobs = jobs
        self.created_at = created_at
        #: Its state directory (None: the default machine, or no state file).
        self.directory = directory
        self.stopping = ShutdownSignal()
        self.stopped = anyio.Event()

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_MACHINE

    def settings(self) -> dict[str, Any]:
        """The kernel's settings in force (:meth:`core.Kernel.settings`). O(1)."""
        return self.service.kernel.settings()

    def release(self) -> int:
        """Disarm every pause point of every process and release their holds; returns
        the operations released. O(processes)."""
        released = 0
        for proc in self.service.kernel.processes():
            pauses = proc.mm.pauses
            released += len(pauses.held())
            pauses.reset()
        return released


@dataclass(frozen=True)
class MachinesStatistics:
    """``MachineBackend.statistics()``: machines now and the bound, creations in flight,
    and counts of machines created, refused (the bound or a taken id), deleted and
    restored at start."""

    machines: int
    limit: int
    reserved: int
    created: int
    refused: int
    deleted: int
    restored: int


class MachineBackend(Protocol):
    """Where machines live. The routes and dependencies use only this."""

    @property
    def default(self) -> Machine: ...

    def get(self, name: str) -> Machine:
        """The machine ``name``; ``NoSuchMachine`` if there is none. O(1), any thread."""
        ...

    def machines(self) -> list[Machine]:
        """Every machine, ``default`` first, then by id."""
        ...

    def services(self) -> list[Service]: ...

    async def create(self, name: str | None, settings: Mapping[str, Any]) -> Machine:
        """A new machine (an id is chosen when ``name`` is None), durable when this
        returns. ``MachineExists``, ``MachineLimitReached``, or the kernel's
        ``InvalidArgument`` for a bad setting (then nothing is created)."""
        ...

    async def delete(self, name: str) -> None:
        """Delete the machine and its state. ``NoSuchMachine``, ``DefaultMachineKept``."""
        ...

    def run(self) -> AbstractAsyncContextManager[None]:
        """The backend's lifetime: restore every machine, serve, save at the end."""
        ...

    def statistics(self) -> MachinesStatistics: ...


class EmbeddedMachines:
    """Machines held in this process (see the module note). Thread-safe for lookups;
    :meth:`create`, :meth:`delete` and :meth:`run` on the event loop."""

    def __init__(
        self,
        settings: Settings,
        deployment: Deployment,
        default: Service | None = None,
        listener: WaitListener | None = None,
    ) -> None:
        self.settings = settings
        self.deployment = deployment
        self.listener = listener
        self._lock = threading.Lock()
        self._table: dict[str, Machine] = {}
        self._reserved: set[str] = set()
        self._tg: anyio.abc.TaskGroup | None = None
        self.created = 0
        self.refused = 0
        self.deleted = 0
        self.restored = 0
        service = default if default is not None else Service(settings)
        keeper = self._keeper(service, deployment.state_file)
        machine = Machine(
            DEFAULT_MACHINE, service, keeper, self._jobs(DEFAULT_MACHINE), created_at=time.time()
        )
        self._adopt(machine)
        self._table[DEFAULT_MACHINE] = machine

    # -- lookups ----------------------------------------------------------------------

    @property
    def default(self) -> Machine:
        return self._table[DEFAULT_MACHINE]

    def get(self, name: str) -> Machine:
        machine = self._table.get(name)  # one dict read: no lock needed
        if machine is None:
            raise NoSuchMachine(name)
        return machine

    def machines(self) -> list[Machine]:
        with self._lock:
            table = dict(self._table)
        default = table.pop(DEFAULT_MACHINE)
        return [default, *(table[name] for name in sorted(table))]

    def services(self) -> list[Service]:
        return [m.service for m in self.machines()]

    # -- building blocks --------------------------------------------------------------

    def _keeper(self, service: Service, path: str | None) -> StateKeeper:
        d = self.deployment
        return StateKeeper(service, path, d.state_interval, d.durability, d.journal_sync)

    def _jobs(self, name: str) -> JobManager:
        return JobManager(self.settings.max_experiment_jobs, machine=name)

    def listen(self, listener: WaitListener) -> None:
        """Tell ``listener`` (admission control) when engine calls of any machine,
        present or future, wait. Before serving."""
        self.listener = listener
        for machine in self.machines():
            self._adopt(machine)

    def _adopt(self, machine: Machine) -> None:
        if self.listener is not None:
            machine.service.pool.listener = self.listener

    def _build(self, name: str, kernel_settings: Mapping[str, Any], created_at: float) -> Machine:
        """A machine not yet restored or serving. ``InvalidArgument`` for a bad setting."""
        service = Service(self.settings, kernel_settings=kernel_settings, machine=name)
        directory = None
        state = None
        if self.deployment.state_file is not None:
            directory = os.path.join(machines_dir(self.deployment.state_file), name)
            state = os.path.join(directory, STATE)
        machine = Machine(
            name, service, self._keeper(service, state), self._jobs(name), created_at, directory
        )
        self._adopt(machine)
        return machine

    @contextmanager
    def _slot(self, name: str) -> Iterator[None]:
        """Reserve ``name`` and one machine of ``VMASIM_MAX_MACHINES`` while it is built."""
        limit = self.settings.max_machines
        with self._lock:
            if name in self._table or name in self._reserved:
                self.refused += 1
                raise MachineExists(name)
            count = len(self._table) + len(self._reserved)
            if count >= limit:
                self.refused += 1
                raise MachineLimitReached("VMASIM_MAX_MACHINES", limit, count + 1, "machines")
            self._reserved.add(name)
        try:
            yield
        finally:
            with self._lock:
                self._reserved.discard(name)

    def _free_name(self) -> str:
        with self._lock:
            taken = set(self._table) | self._reserved
        n = 1
        while f"machine-{n}" in taken:
            n += 1
        return f"machine-{n}"

    # -- create and delete ------------------------------------------------------------

    async def create(self, name: str | None, settings: Mapping[str, Any]) -> Machine:
        if name is None:
            name = self._free_name()
        if not _MACHINE_ID.match(name):  # the schema checks it too; the backend must
            raise InvalidArgument(f"machine id {name!r} must match {MACHINE_ID_PATTERN}")
        with self._slot(name):
            machine = self._build(name, settings, time.time())
            try:
                if machine.directory is not None:
                    await in_worker(self._write_manifest, machine)
                await anyio.to_thread.run_sync(machine.keeper.restore)  # opens its journal
                await self._start(machine)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(machine.keeper.close)
                    if machine.directory is not None:
                        await in_worker(_remove_machine_dir, machine.directory)
                raise
            with self._lock:
                self._table[name] = machine
                self.created += 1
        _log.info("machine %s created", name)
        return machine

    def _write_manifest(self, machine: Machine) -> None:
        """``<dir>/machine.json``, durable (the machine exists from here on)."""
        assert machine.directory is not None
        if os.path.exists(machine.directory):  # a leftover of an interrupted delete
            shutil.rmtree(machine.directory)
        os.makedirs(machine.directory)
        _fsync_dir(os.path.dirname(machine.directory))
        doc = {
            "version": MANIFEST_VERSION,
            "id": machine.name,
            "created_at": machine.created_at,
            "settings": machine.settings(),
        }
        data = json.dumps(doc, separators=(",", ":")).encode()
        write_atomically(data, os.path.join(machine.directory, MANIFEST))

    async def delete(self, name: str) -> None:
        if name == DEFAULT_MACHINE:
            raise DefaultMachineKept(name)
        with self._lock:
            machine = self._table.pop(name, None)
            if machine is None:
                raise NoSuchMachine(name)
            self._reserved.add(name)  # no new machine of that name until its files go
        try:
            service = machine.service
            service.exiting.update(p.pid for p in service.kernel.processes())  # no new arms
            machine.release()  # no operation may stay held at a pause point
            await service.retire()
            await service.run(_exit_all, service)  # its streams end ("exited")
            await in_worker(machine.jobs.shutdown)
            machine.stopping.set()
            await machine.stopped.wait()
            if machine.directory is not None:
                await in_worker(_remove_machine_dir, machine.directory)
            with self._lock:
                self.deleted += 1
        finally:
            with self._lock:
                self._reserved.discard(name)
        _log.info("machine %s deleted", name)

    # -- lifetime ---------------------------------------------------------------------

    async def _start(self, machine: Machine) -> None:
        assert self._tg is not None, "EmbeddedMachines.run() is not active"
        await self._tg.start(self._serve, machine)

    async def _serve(self, machine: Machine, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            async with lifespan_state(machine.keeper, machine.stopping, restore=False):
                task_status.started()
                await machine.stopping.wait()
        finally:
            machine.stopped.set()

    def _load_saved(self) -> list[Machine]:
        """The machines saved under ``<state file>.machines/``, restored (blocking).
        A directory without ``machine.json`` is what an interrupted create or delete
        left: removed. ``StateError`` for a manifest or state that cannot be read."""
        state_file = self.deployment.state_file
        if state_file is None:
            return []
        root = machines_dir(state_file)
        if not os.path.isdir(root):
            return []
        loaded = []
        for name in sorted(os.listdir(root)):
            directory = os.path.join(root, name)
            if not os.path.isdir(directory):
                continue
            manifest = os.path.join(directory, MANIFEST)
            remove_stale_temps(manifest)
            if not os.path.exists(manifest):
                _log.info("removing %s: a machine created or deleted half-way", directory)
                _remove_machine_dir(directory)
                continue
            doc = read_state(manifest)
            if (
                not isinstance(doc, dict)
                or doc.get("id") != name
                or not _MACHINE_ID.match(name)
                or not isinstance(doc.get("settings"), dict)
            ):
                raise StateError(f"machine manifest {manifest!r} is not a machine {name!r}")
            created_at = doc.get("created_at")
            try:
                machine = self._build(
                    name,
                    doc["settings"],
                    float(created_at) if isinstance(created_at, (int, float)) else time.time(),
                )
            except Exception as exc:
                raise StateError(f"machine manifest {manifest!r}: {exc}") from None
            machine.keeper.restore()
            loaded.append(machine)
        if len(loaded) + 1 > self.settings.max_machines:
            _log.warning(
                "%d machines restored, more than VMASIM_MAX_MACHINES=%d: no new ones "
                "until some are deleted",
                len(loaded) + 1,
                self.settings.max_machines,
            )
        return loaded

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Restore every machine (the default first; a startup error names the file),
        serve them, and at the end take each one's last checkpoint and close its
        journal, and stop the jobs."""
        await anyio.to_thread.run_sync(self.default.keeper.restore)
        saved = await anyio.to_thread.run_sync(self._load_saved)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                try:
                    for machine in [self.default, *saved]:
                        await tg.start(self._serve, machine)
                        if not machine.is_default:
                            with self._lock:
                                self._table[machine.name] = machine
                                self.restored += 1
                    yield
                finally:
                    for machine in self.machines():
                        machine.stopping.set()
        finally:
            self._tg = None
            for machine in self.machines():
                with anyio.CancelScope(shield=True):
                    await in_worker(machine.jobs.shutdown)

    def begin_shutdown(self) -> int:
        """Release every hold of every machine (graceful shutdown). O(processes)."""
        return sum(machine.release() for machine in self.machines())

    def statistics(self) -> MachinesStatistics:
        with self._lock:
            return MachinesStatistics(
                machines=len(self._table),
                limit=self.settings.max_machines,
                reserved=len(self._reserved),
                created=self.created,
                refused=self.refused,
                deleted=self.deleted,
                restored=self.restored,
            )

    def _check(self) -> None:
        """O(machines): the default is there, names are valid and match their service,
        the bound holds (but for machines restored over a lowered bound)."""
        with self._lock:
            assert DEFAULT_MACHINE in self._table
            for name, machine in self._table.items():
                assert machine.name == name == machine.service.machine or (
                    name == DEFAULT_MACHINE and machine.service.machine == DEFAULT_MACHINE
                ), name
                assert _MACHINE_ID.match(name), name
            assert not self._reserved & set(self._table), self._reserved
            assert len(self._table) + len(self._reserved) <= max(
                self.settings.max_machines, self.restored + 1
            )


def _exit_all(service: Service) -> None:
    """Every process of a machine being deleted exits (not journaled: the journal goes
    with it). Blocking: in a worker of its pool."""
    for proc in service.kernel.processes():
        try:
            service.kernel.exit(proc.pid)
        except NoSuchProcess:  # exited meanwhile
            pass


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_machine_dir(directory: str) -> None:
    """Remove a machine's directory: its manifest first (the machine is gone once that
    is durable), then its checkpoint, journal and the directory. Blocking."""
    manifest = os.path.join(directory, MANIFEST)
    try:
        os.unlink(manifest)
        _fsync_dir(directory)
    except FileNotFoundError:
        pass
    shutil.rmtree(directory, ignore_errors=True)
    _fsync_dir(os.path.dirname(directory))
