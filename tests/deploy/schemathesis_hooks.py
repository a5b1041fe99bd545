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


# -- a check of our own ---------------------------------------------------------------------

import schemathesis  # noqa: E402

VALIDATION_PROBLEM = "urn:vmasim:problem:validation-error"


@schemathesis.check
def schema_valid_input_passes_validation(ctx: Any, response: Any, case: Any) -> None:
    """A request the OpenAPI document calls valid is never refused as *invalid input*.

    The service may still refuse it: a simulated syscall fails for well-formed arguments
    as the kernel's does (EINVAL for a zero length, ENOMEM for a hole, EBADF for a closed
    fd: a 422 ``syscall-error`` with the errno), a pause point may already be armed, an
    imported maps text may not parse. Those are answers about the machine, not about
    the request's shape; schemathesis's own ``positive_data_acceptance`` cannot tell
    them apart and is off where they occur (tests/deploy/test_schemathesis.py,
    README). This check keeps the part that matters everywhere: a 422 *validation*
    problem for a schema-valid request is a disagreement between the document and the
    validators."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return
    try:
        problem = response.json()
    except ValueError:
        return  # not a problem document: the content-type checks report it
    if isinstance(problem, dict) and problem.get("type") == VALIDATION_PROBLEM:
        raise AssertionError(f"schema-valid request refused by validation: {problem.get('detail')}")
