"""Service settings, read from the environment (``VMASIM_*``), with limits.

Nothing here appears in the OpenAPI document: limits are enforced at run time and
reported in errors, so the committed document does not depend on the environment.

| variable | default | what |
|---|---|---|
| ``VMASIM_MAX_PROCESSES`` | 256 | live simulated processes, per machine |
| ``VMASIM_MAX_BATCH`` | 10000 | operations in one ``POST /processes/{pid}/syscalls`` |
| ``VMASIM_MAX_BODY_BYTES`` | 16 MiB | request body size (a maps text of 65,530 VMAs is ~6 MiB) |
| ``VMASIM_WORKER_THREADS`` | 32 | engine calls running at once in worker threads |
| ``VMASIM_MAX_MAP_COUNT`` | 65530 | the simulated ``vm.max_map_count`` |
| ``VMASIM_MAX_STREAM_SNAPSHOTS`` | 100000 | snapshots in one maps stream (JSONL or SSE) |
| ``VMASIM_MAX_STREAM_SECONDS`` | 3600 | lifetime of one maps stream, seconds |
| ``VMASIM_MAX_PAUSE_POINTS`` | 8 | pause points armed at once in one process |
| ``VMASIM_MAX_RESIDENT_PAGES`` | 0 | a cap on one process's resident pages (0: none; RAM bounds) |
| ``VMASIM_MAX_BATCH_PAGES`` | 1048576 | pages faulted by the ``touch`` ops of one batch |
| ``VMASIM_MAX_EXPERIMENT_JOBS`` | 8 | experiment jobs per machine (queued, running, finished) |
| ``VMASIM_MAX_MACHINES`` | 16 | simulated machines, the ``default`` one included |
| ``VMASIM_GC_FREEZE_BATCH`` | 1000 | a batch this long freezes the heap (``app.heap``; 0: never) |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from core import DEFAULT_MAX_MAP_COUNT

ENV_PREFIX = "VMASIM_"


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Limits and sizes of one service instance. Every field has an ``[lo, hi]`` range."""

    max_processes: int = 256
    max_batch: int = 10_000
    max_body_bytes: int = 16 << 20
    worker_threads: int = 32
    max_map_count: int = DEFAULT_MAX_MAP_COUNT
    max_stream_snapshots: int = 100_000
    max_stream_seconds: int = 3600
    max_pause_points: int = 8
    #: 0: no per-process cap (:attr:`resident_cap`); the machine's RAM bounds resident
    #: memory, counted in runs where it is uniform (core/pages.py).
    max_resident_pages: int = 0
    max_batch_pages: int = 1 << 20
    max_experiment_jobs: int = 8
    max_machines: int = 16
    #: After a batch of at least this many executed operations the service moves the
    #: heap into the cyclic GC's permanent generation (``gc.freeze()``), collecting it
    #: whole when it has doubled: bulk builds stop paying repeated full collections of
    #: the engine's long-lived objects (app/heap.py). 0: never.
    gc_freeze_batch: int = 1000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            lo, hi = _RANGES[f.name]
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise SettingsError(
                    f"{env_name(f.name)}={value!r} must be an integer in [{lo}, {hi}]"
                )

    @property
    def resident_cap(self) -> int | None:
        """``Kernel.max_resident_pages`` for :attr:`max_resident_pages` (0: None)."""
        return self.max_resident_pages or None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from ``VMASIM_*`` variables; unset ones keep their defaults.

        Raises :class:`SettingsError` naming the variable and its value.
        """
        values: dict[str, int] = {}
        for f in fields(cls):
            key = env_name(f.name)
            raw = environ.get(key)
            if raw is None:
                continue
            try:
                values[f.name] = int(raw.strip().replace("_", ""), 0)
            except ValueError:
                raise SettingsError(f"{key}={raw!r} is not an integer") from None
        return cls(**values)


_RANGES: dict[str, tuple[int, int]] = {
    "max_processes": (1, 100_000),
    "max_batch": (1, 1_000_000),
    "max_body_bytes": (1024, 1 << 30),
    "worker_threads": (1, 1024),
    "max_map_count": (0, 1 << 31),
    "max_stream_snapshots": (1, 1 << 31),
    "max_stream_seconds": (1, 7 * 24 * 3600),
    "max_pause_points": (1, 1000),
    "max_resident_pages": (0, 1 << 36),
    "max_batch_pages": (1, 1 << 30),
    "max_experiment_jobs": (1, 1000),
    "max_machines": (1, 10_000),
    "gc_freeze_batch": (0, 1_000_000),
}


def env_name(field: str) -> str:
    """The environment variable of a :class:`Settings` field: ``VMASIM_`` + its name.

    >>> env_name("max_experiment_jobs")
    'VMASIM_MAX_EXPERIMENT_JOBS'
    """
    if field not in _RANGES:
        raise KeyError(field)
    return ENV_PREFIX + field.upper()


BACKENDS = ("embedded", "ray")
"""``VMASIM_BACKEND``: where machines live (:mod:`app.machines`, :mod:`app.cluster`)."""


@dataclass(frozen=True)
class Backend:
    """Where the machines live, from the environment.

    ``VMASIM_BACKEND``
        ``embedded`` (the default: machines in this process) or ``ray`` (one Ray
        actor per machine, :mod:`app.cluster`).
    ``VMASIM_RAY_ADDRESS``
        The Ray cluster to join (``ray.init(address=...)``); unset: ``auto``, the
        cluster of the local node.
    ``VMASIM_CLUSTER_STORE``
        With ``ray``, required: the directory every node reaches (a shared volume)
        that holds each machine's checkpoint and journal.
    ``VMASIM_RAY_NAMESPACE``
        The Ray namespace of the machines' named actors (default ``vmasim``).
    ``VMASIM_RAY_MACHINE_RESOURCE``
        A custom Ray resource a node must offer to host machines: each machine's
        actor takes one unit of it (``ray start --resources='{"<name>": <slots>}'``),
        so machines live only on the nodes that offer it (the compose stack's Ray
        workers; not its head nor its front ends). Unset: any node (the default).
    """

    kind: str = "embedded"
    ray_address: str | None = None
    store: str | None = None
    namespace: str = "vmasim"
    machine_resource: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in BACKENDS:
            raise SettingsError(f"{ENV_PREFIX}BACKEND={self.kind!r} must be one of {BACKENDS}")
        if self.kind == "ray" and not self.store:
            raise SettingsError(
                f"{ENV_PREFIX}BACKEND=ray needs {ENV_PREFIX}CLUSTER_STORE: a directory "
                "every Ray node reaches, for the machines' checkpoints and journals"
            )
        if not self.namespace:
            raise SettingsError(f"{ENV_PREFIX}RAY_NAMESPACE must not be empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Backend:
        """The backend the ``VMASIM_*`` variables choose. :class:`SettingsError` for a
        bad one.

        >>> Backend.from_env({}).kind
        'embedded'
        """
        return cls(
            kind=environ.get(ENV_PREFIX + "BACKEND", "embedded").strip() or "embedded",
            ray_address=environ.get(ENV_PREFIX + "RAY_ADDRESS") or None,
            store=environ.get(ENV_PREFIX + "CLUSTER_STORE") or None,
            namespace=environ.get(ENV_PREFIX + "RAY_NAMESPACE", "vmasim"),
            machine_resource=environ.get(ENV_PREFIX + "RAY_MACHINE_RESOURCE") or None,
        )
