"""One router per resource; :func:`include_all` mounts them in documentation order."""

from __future__ import annotations

from fastapi import FastAPI

from . import docs, files, health, maps, processes, syscalls


def include_all(app: FastAPI) -> None:
    """Mount every router on ``app``."""
    for module in (processes, files, syscalls, maps, health):
        app.include_router(module.router)
    docs.install(app)
