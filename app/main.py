"""The ASGI application: ``uvicorn app.main:app``."""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    """Build the service. No side effects: tests and the OpenAPI exporter call this."""
    app = FastAPI(
        title="vmasim",
        version="0.1.0",
        summary="A simulated Linux process address space and its /proc/<pid>/maps.",
    )

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    return app


app = create_app()
