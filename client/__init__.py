"""vmasim's client floor: the typed HTTP client (:class:`VmasimClient`), the ``vmasim``
command line (:mod:`client.cli`) and the replay of recorded syscalls
(:mod:`client.replay`).

It talks to a running service over HTTP with the request/response models of
:mod:`app.schemas`, and never imports the server itself (``vmasim serve`` starts it by
its import string); ``tests/test_layering.py`` keeps it so.
"""

from __future__ import annotations

from .api import DEFAULT_URL, ApiError, VmasimClient

__all__ = ["DEFAULT_URL", "ApiError", "VmasimClient"]
