"""The client tests talk to the live server of tests/app/conftest.py."""

from __future__ import annotations

from tests.app.conftest import api, http, live_server, pid

__all__ = ["api", "http", "live_server", "pid"]
