"""One error model for the whole service: RFC 9457 ``application/problem+json``.

Every error leaves through :func:`problem_response`. Engine and service exceptions are
mapped to an HTTP status in one table, :data:`ERROR_TABLE`, resolved along the
exception's MRO (so a subclass inherits its base's entry, like starlette's
``_lookup_exception_handler``). Routes never build ``HTTPException`` for an engine
condition: they let the engine raise.

=====================  ======  ====================================================
exception              status  extension members
=====================  ======  ====================================================
NoSuchProcess          404     ``pid``
SyscallError           422     ``errno``, ``errno_name``, ``syscall``
InvalidArgument        422
LayoutError            422
NoMatchingVma          404     ``errno``, ``errno_name``, ``syscall`` (PROCMAP_QUERY ENOENT)
ResidentLimitExceeded  409     ``setting``, ``limit``, ``addr`` (a fault needed a page)
ProcessLimitReached    409     ``limit``, ``value``
RequestTooLarge        413     ``limit``, ``value``
UseAfterFree           500     (an engine bug)
EngineError            500
request validation     422     ``errors``: ``[{field, value, message}]``
other HTTP errors      4xx     (unknown route 404, wrong method 405)
=====================  ======  ====================================================

A syscall failure *inside a batch* is not an HTTP error: it is that operation's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import (
    EngineError,
    InvalidArgument,
    LayoutError,
    NoSuchProcess,
    SyscallError,
    UseAfterFree,
)
from core.errors import ResidentLimitExceeded

if TYPE_CHECKING:
    from collections.abc import Sequence

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:vmasim:problem:"
MAX_VALUE_CHARS = 200  # offending values are echoed, truncated to this many characters


class ServiceError(Exception):
    """Base of the errors the service (not the engine) raises."""


class LimitExceeded(ServiceError):
    """A configured limit (``VMASIM_*``) would be exceeded: names it and the values."""

    def __init__(self, setting: str, limit: int, value: int, what: str) -> None:
        self.setting = setting
        self.limit = limit
        self.value = value
        super().__init__(f"{what}: {value} exceeds {setting}={limit}")


class NoMatchingVma(SyscallError):
    """``PROCMAP_QUERY`` found no VMA (``ENOENT``): the resource asked for does not exist,
    so 404 rather than a failed call's 422. Raised by the query routes from the engine's
    ``SyscallError``; keeps its errno members."""

    def __init__(self, exc: SyscallError) -> None:
        super().__init__(exc.errno, exc.syscall, exc.detail)


class ProcessLimitReached(LimitExceeded):
    """Creating a process would exceed ``VMASIM_MAX_PROCESSES``."""


class RequestTooLarge(LimitExceeded):
    """A request body or batch is larger than its limit."""


@dataclass(frozen=True)
class ProblemKind:
    """One row of :data:`ERROR_TABLE`."""

    status: int
    slug: str
    title: str


ERROR_TABLE: dict[type[Exception], ProblemKind] = {
    NoSuchProcess: ProblemKind(404, "no-such-process", "No such process"),
    NoMatchingVma: ProblemKind(404, "no-matching-vma", "No VMA matches the query"),
    ResidentLimitExceeded: ProblemKind(
        409, "resident-limit", "The process reached its resident-page limit"
    ),
    SyscallError: ProblemKind(422, "syscall-error", "The system call failed"),
    InvalidArgument: ProblemKind(422, "invalid-argument", "Invalid argument"),
    LayoutError: ProblemKind(422, "layout-error", "The layout could not be imported"),
    UseAfterFree: ProblemKind(500, "use-after-free", "Engine bug: a freed VMA was used"),
    EngineError: ProblemKind(500, "engine-error", "Engine error"),
    ProcessLimitReached: ProblemKind(409, "process-limit", "Too many processes"),
    RequestTooLarge: ProblemKind(413, "too-large", "Request too large"),
    LimitExceeded: ProblemKind(409, "limit-exceeded", "A configured limit was reached"),
}
VALIDATION = ProblemKind(422, "validation-error", "The request is invalid")


class FieldError(BaseModel):
    """One invalid input: where, what was sent, and why it was refused."""

    field: str = Field(examples=["body.prot[1]"])
    value: Any = Field(default=None, examples=["PROT_FOO"])
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, plus the extension members of :data:`ERROR_TABLE`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:vmasim:problem:syscall-error",
                    "title": "The system call failed",
                    "status": 422,
                    "detail": "munmap: EINVAL (Invalid argument): length is 0",
                    "instance": "/processes/1000/munmap",
                    "errno": 22,
                    "errno_name": "EINVAL",
                    "syscall": "munmap",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errno: int | None = None
    errno_name: str | None = None
    syscall: str | None = None
    pid: int | None = None
    setting: str | None = Field(default=None, examples=["VMASIM_MAX_PROCESSES"])
    limit: int | None = None
    value: int | None = None
    addr: str | None = Field(default=None, examples=["0x7ffff7ffd000"])
    errors: list[FieldError] | None = None


def lookup(exc: BaseException) -> ProblemKind | None:
    """The table row for ``exc``: the first class of its MRO in the table."""
    for cls in type(exc).__mro__:
        kind = ERROR_TABLE.get(cls)
        if kind is not None:
            return kind
    return None


def problem_response(
    kind: ProblemKind, detail: str, instance: str | None, **extra: Any
) -> JSONResponse:
    """The one way an error leaves the service."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind.slug,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=kind.status, media_type=PROBLEM_JSON)


def exception_extras(exc: BaseException) -> dict[str, Any]:
    """Extension members carried by an engine or service exception."""
    if isinstance(exc, SyscallError):
        return {"errno": exc.errno, "errno_name": exc.name, "syscall": exc.syscall}
    if isinstance(exc, NoSuchProcess):
        return {"pid": exc.pid}
    if isinstance(exc, LimitExceeded):
        return {"setting": exc.setting, "limit": exc.limit, "value": exc.value}
    if isinstance(exc, ResidentLimitExceeded):
        return {
            "setting": "VMASIM_MAX_RESIDENT_PAGES",
            "limit": exc.limit,
            "addr": f"{exc.addr:#x}",
        }
    return {}


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic errors as ``{field, value, message}``: the field as a dotted path with
    list indices (``body.prot[1]``), the offending value (truncated), the reason."""
    out = []
    for err in errors:
        field = ""
        for part in err.get("loc", ()):
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else part)
        value = err.get("input")
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            value = value[:MAX_VALUE_CHARS] + "..."
        elif not isinstance(value, (str, int, float, bool, type(None))):
            text = repr(value)
            value = text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append({"field": field, "value": value, "message": message})
    return out


async def _engine_error(request: Request, exc: Exception) -> JSONResponse:
    kind = lookup(exc) or ERROR_TABLE[EngineError]
    return problem_response(kind, str(exc), request.url.path, **exception_extras(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    parts = [f"{e['field']}: {e['message']} (got {e['value']!r})" for e in errors[:5]]
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    detail = f"{len(errors)} invalid input(s): " + "; ".join(parts) + more
    return problem_response(VALIDATION, detail, request.url.path, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's 400 for a body that is not text (invalid UTF-8): an invalid request
        # like any other, so the documented 422 (found by schemathesis).
        message = "the body is not valid UTF-8 JSON"
        errors = [{"field": "body", "value": None, "message": message}]
        return problem_response(VALIDATION, f"1 invalid input(s): body: {message}",
                                request.url.path, errors=errors)  # fmt: skip
    kind = ProblemKind(exc.status_code, f"http-{exc.status_code}", _phrase(exc.status_code))
    response = problem_response(kind, str(exc.detail), request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install(app: FastAPI) -> None:
    """Register the handlers: one per table root, validation, and plain HTTP errors."""
    app.add_exception_handler(EngineError, _engine_error)
    app.add_exception_handler(ServiceError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def responses(*exceptions: type[Exception]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route: the problem statuses it can return (from the
    table) plus the validation error."""
    by_status: dict[int, list[str]] = {}
    for exc in exceptions:
        kind = ERROR_TABLE[exc]
        by_status.setdefault(kind.status, []).append(exc.__name__)
    by_status.setdefault(422, []).append("request validation")
    return {
        status: {
            "model": Problem,
            "description": "Problem details: " + ", ".join(names),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status, names in sorted(by_status.items())
    }
