"""The REST job tests use the live server of tests/app/conftest.py."""

from __future__ import annotations

from tests.app.conftest import http, live_server

__all__ = ["http", "live_server"]
