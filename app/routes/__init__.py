"""One router per resource; :func:`include_all` mounts them in documentation order."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from . import (
    docs,
    experiments,
    faults,
    files,
    fork,
    health,
    machines,
    maps,
    pause,
    processes,
    procfs,
    query,
    stats,
    stream,
    syscalls,
)


def include_all(app: FastAPI, prefix: str = "", **options: Any) -> None:
    """Mount every router on ``app``. With a ``prefix`` (``/machines/{machine}``, see
    :mod:`app.main`) the routers of one machine are mounted again under it, with
    ``options`` for ``include_router``; ``/healthz``, the docs and ``/machines`` itself
    are mounted only without one."""
    for module in (
        processes,
        fork,
        files,
        syscalls,
        faults,
        maps,
        stream,
        procfs,
        query,
        pause,
        stats,
        experiments,
        health,
    ):
        if prefix and module is health:
            continue
        if module is health:  # answered by every front end itself: never a machine's 503
            app.include_router(module.router, prefix=prefix)
            continue
        app.include_router(module.router, prefix=prefix, **options)
    if not prefix:
        app.include_router(machines.router, **options)
        docs.install(app)
