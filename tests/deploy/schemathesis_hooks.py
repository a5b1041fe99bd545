"""Loaded by the schemathesis CLI in :mod:`tests.deploy.test_schemathesis` through
``SCHEMATHESIS_HOOKS`` (a file path).

CPython 3.11.7 can raise ``SystemError: AST constructor recursion depth mismatch``
from ``ast.parse`` of a source fragment that does not parse (gh-106905, fixed in
later releases) instead of ``SyntaxError``. Hypothesis parses lambda sources only to
*describe* strategies (their ``repr``) and handles ``SyntaxError``; this turns the
interpreter bug into the same "unknown source" description, so it cannot fail a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis.internal import lambda_sources

_describe: Callable[..., Any] = lambda_sources._lambda_description


def _lambda_description(f: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


setattr(lambda_sources, "_lambda_description", _lambda_description)  # noqa: B010
