"""One router per resource; :func:`include_all` mounts them in documentation order."""

from __future__ import annotations

from fastapi import FastAPI

from . import (
    docs,
    experiments,
    faults,
    files,
    fork,
    health,
    maps,
    pause,
    processes,
    procfs,
    query,
    stats,
    stream,
    syscalls,
)


def include_all(app: FastAPI) -> None:
    """Mount every router on ``app``."""
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
        app.include_router(module.router)
    docs.install(app)
