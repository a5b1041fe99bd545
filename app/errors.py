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
NoSuchJob              404     ``job_id`` (an experiment job, or its result)
NoSuchMachine          404     ``machine`` (no simulated machine with that id)
MachineExists          409     ``machine`` (``POST /machines`` with a taken id)
MachineLimitReached    409     ``limit``, ``value`` (``VMASIM_MAX_MACHINES``)
DefaultMachineKept     409     ``machine`` (``DELETE /machines/default``)
ResidentLimitExceeded  409     ``setting``, ``limit``, ``addr`` (a fault needed a page: the
                               process's limit, or the machine's RAM, ``ram_pages``)
ProcessLimitReached    409     ``limit``, ``value``
RequestTooLarge        413     ``limit``, ``value``
RequestTimeout         408     ``setting``, ``limit`` (seconds), ``value`` (bytes received)
JournalUnavailable     503     (the journal's store failed; see the log)
MachineUnavailable     503     ``machine``; header ``Retry-After`` (cluster backend: the
                               machine's actor is restarting on another node)
UseAfterFree           500     (an engine bug)
EngineError            500
request validation     422     ``errors``: ``[{field, value, message}]`` (:func:`field_errors`)
other HTTP errors      4xx     (unknown route 404, wrong method 405)
=====================  ======  ====================================================

A syscall failure *inside a batch* is not an HTTP error: it is that operation's result.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

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


class NoSuchJob(ServiceError, LookupError):
    """No experiment job with that id is kept (or it has no result yet)."""

    def __init__(self, job_id: int, what: str = "experiment job") -> None:
        self.job_id = job_id
        super().__init__(f"no {what} {job_id}")


class NoSuchMachine(ServiceError, LookupError):
    """No simulated machine with that id (:mod:`app.machines`)."""

    def __init__(self, machine: str) -> None:
        self.machine = machine
        super().__init__(f"no machine {machine!r}")


class MachineExists(ServiceError):
    """``POST /machines`` named an id a machine already has."""

    def __init__(self, machine: str) -> None:
        self.machine = machine
        super().__init__(f"machine {machine!r} exists already")


class DefaultMachineKept(ServiceError):
    """The ``default`` machine serves the unprefixed routes: it cannot be deleted."""

    def __init__(self, machine: str) -> None:
        self.machine = machine
        super().__init__(
            f"machine {machine!r} serves the routes without /machines/{{machine}}: "
            "it cannot be deleted (delete its processes instead)"
        )


class MachineLimitReached(LimitExceeded):
    """Creating a machine would exceed ``VMASIM_MAX_MACHINES``."""


class ProcessLimitReached(LimitExceeded):
    """Creating a process would exceed ``VMASIM_MAX_PROCESSES``."""


class RequestTooLarge(LimitExceeded):
    """A request body or batch is larger than its limit."""


class JournalUnavailable(ServiceError):
    """The journal of state changes could not be written (a failing disk): nothing
    more is acknowledged until the service restarts (:mod:`app.journal`)."""


class MachineUnavailable(ServiceError):
    """Cluster backend (:mod:`app.cluster`): the machine's actor is not reachable now
    (its node died and Ray is restarting it elsewhere from its journal). The request
    was not acknowledged: retry after ``retry_after`` seconds (``Retry-After``)."""

    def __init__(self, machine: str, retry_after: int, cause: str) -> None:
        self.machine = machine
        self.retry_after = retry_after
        super().__init__(
            f"machine {machine!r} is moving to another node ({cause}); "
            f"retry in {retry_after} s: an operation not answered may or may not have "
            "happened, one answered is kept"
        )


class RequestTimeout(LimitExceeded):
    """A request's body did not arrive within its deadline (``VMASIM_BODY_TIMEOUT``
    seconds once the head arrived): ``value`` is the bytes received by then."""

    def __init__(self, setting: str, limit: int, received: int) -> None:
        super().__init__(setting, limit, received, "request body")
        self.args = (
            f"the request body did not arrive within {setting}={limit} s "
            f"({received} bytes received): send it at once after the headers",
        )


@dataclass(frozen=True)
class ProblemKind:
    """One row of :data:`ERROR_TABLE`."""

    status: int
    slug: str
    title: str


ERROR_TABLE: dict[type[Exception], ProblemKind] = {
    NoSuchProcess: ProblemKind(404, "no-such-process", "No such process"),
    NoMatchingVma: ProblemKind(404, "no-matching-vma", "No VMA matches the query"),
    NoSuchJob: ProblemKind(404, "no-such-experiment", "No such experiment job"),
    NoSuchMachine: ProblemKind(404, "no-such-machine", "No such machine"),
    MachineExists: ProblemKind(409, "machine-exists", "The machine exists already"),
    DefaultMachineKept: ProblemKind(
        409, "default-machine", "The default machine cannot be deleted"
    ),
    MachineLimitReached: ProblemKind(409, "machine-limit", "Too many machines"),
    ResidentLimitExceeded: ProblemKind(
        409, "resident-limit", "A resident-page limit was reached (the process's or the machine's)"
    ),
    SyscallError: ProblemKind(422, "syscall-error", "The system call failed"),
    InvalidArgument: ProblemKind(422, "invalid-argument", "Invalid argument"),
    LayoutError: ProblemKind(422, "layout-error", "The layout could not be imported"),
    UseAfterFree: ProblemKind(500, "use-after-free", "Engine bug: a freed VMA was used"),
    EngineError: ProblemKind(500, "engine-error", "Engine error"),
    ProcessLimitReached: ProblemKind(409, "process-limit", "Too many processes"),
    RequestTooLarge: ProblemKind(413, "too-large", "Request too large"),
    JournalUnavailable: ProblemKind(
        503, "journal-unavailable", "State changes cannot be made durable now"
    ),
    MachineUnavailable: ProblemKind(
        503, "machine-unavailable", "The machine is moving to another node"
    ),
    RequestTimeout: ProblemKind(408, "request-timeout", "The request was not received in time"),
    LimitExceeded: ProblemKind(409, "limit-exceeded", "A configured limit was reached"),
}
VALIDATION = ProblemKind(422, "validation-error", "The request is invalid")


class FieldError(BaseModel):
    """One invalid input: where, what was sent, and why it was refused."""

    field: str = Field(examples=["body.prot[1]"])
    value: Any = Field(
        default=None,
        examples=["PROT_FOO"],
        description="the value sent, as JSON (cut past 200 characters); absent when the "
        "field is missing",
    )
    message: str = Field(description="why it was refused and, where it helps, what to send")


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
    machine: str | None = Field(default=None, examples=["default"])
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


class ProblemResponse(JSONResponse):
    """``application/problem+json``, encoded so that no content can make the encoding
    fail (a 500 while reporting a 4xx): text is UTF-8 with any lone surrogate escaped,
    and a float JSON cannot carry (``NaN``, ``Infinity``) is sent as its name."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        try:
            return json.dumps(
                content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode("utf-8")
        except (UnicodeEncodeError, ValueError):
            return json.dumps(_jsonable(content), separators=(",", ":")).encode("ascii")


def _jsonable(value: Any) -> Any:
    """``value`` with every float JSON lacks replaced by its name (``"NaN"``); strings
    stay (the caller encodes them with ``ensure_ascii``, which escapes surrogates)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


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
    return ProblemResponse(body, status_code=kind.status)


def exception_extras(exc: BaseException) -> dict[str, Any]:
    """Extension members carried by an engine or service exception."""
    if isinstance(exc, SyscallError):
        return {"errno": exc.errno, "errno_name": exc.name, "syscall": exc.syscall}
    if isinstance(exc, NoSuchProcess):
        return {"pid": exc.pid}
    if isinstance(exc, NoSuchJob):
        return {"job_id": exc.job_id}
    if isinstance(exc, (NoSuchMachine, MachineExists, DefaultMachineKept, MachineUnavailable)):
        return {"machine": exc.machine}
    if isinstance(exc, LimitExceeded):
        return {"setting": exc.setting, "limit": exc.limit, "value": exc.value}
    if isinstance(exc, ResidentLimitExceeded):
        return {
            "setting": "ram_pages" if exc.machine else "VMASIM_MAX_RESIDENT_PAGES",
            "limit": exc.limit,
            "addr": f"{exc.addr:#x}",
        }
    return {}


# pydantic error types whose message speaks Python (dictionary, list) or names no
# remedy, by what the client should read instead. Every other message is pydantic's.
MESSAGES = {
    "missing": "required, but missing",  # + what to send (field_errors)
    "extra_forbidden": "unknown field: this request has no such member",
    "model_attributes_type": "should be a JSON object",
    "model_type": "should be a JSON object",
    "dict_type": "should be a JSON object",
    "list_type": "should be a JSON array",
}
SEND_JSON = "send Content-Type: application/json"


def json_value(value: object) -> object:
    """``value`` as a JSON response can carry it, never a Python repr: JSON values as
    they are; bytes as text; a string, or an array or object whose JSON is longer than
    :data:`MAX_VALUE_CHARS`, cut to that many characters and ``...``; ``NaN`` and
    ``Infinity`` (Python's JSON decoder accepts them in a body) as those strings.

    >>> json_value({"a": [1, None]}), json_value(b"x"), json_value(float("nan"))
    ({'a': [1, None]}, 'x', 'NaN')
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return _cut(_printable(value))
    if value is None or isinstance(value, (bool, int)):
        return value
    if not isinstance(value, (float, list, tuple, dict)):
        return _cut(str(value))
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or Infinity somewhere in it: the text as sent
        return _cut(json.dumps(value, ensure_ascii=False))
    return value if len(text) <= MAX_VALUE_CHARS else _cut(text)


def _printable(text: str) -> str:
    """``text`` with any lone surrogate written as ``\\udXXX`` (it has no UTF-8 form)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if not text.isascii() else text


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."


def _field(loc: Sequence[Any]) -> str:
    """pydantic's ``loc`` as a dotted path with list indices: ``body.prot[1]``."""
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return field


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic errors as ``{field, value, message}``: the field as a dotted path with
    list indices (``body.prot[1]``), the value sent (:func:`json_value`; no ``value``
    when the field is missing), the reason (:data:`MESSAGES`, else pydantic's)."""
    out = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        names = [part for part in loc[1:] if isinstance(part, str)]
        if kind == "missing" and not names:
            message = "the request has no body: send a JSON object (Content-Type: "
            message += "application/json)"
        elif kind == "missing":
            message = f"{MESSAGES[kind]}: send {json.dumps(names[-1])}"
        else:
            message = MESSAGES.get(kind) or str(err.get("msg", "invalid"))
        entry: dict[str, Any] = {
            "field": _field(loc),
            "message": message.removeprefix("Value error, "),
        }
        if kind != "missing":
            entry["value"] = json_value(err.get("input"))
        out.append(entry)
    return out


def json_syntax_error(document: str, pos: int, reason: str) -> dict[str, Any]:
    """The field error for a body that is not valid JSON: where (line, column and
    character offset, as :class:`json.JSONDecodeError` counts them) and why (the
    decoder's message); the value is the text around that place."""
    where = json.JSONDecodeError(reason, document, pos)
    message = f"not valid JSON: {reason} at line {where.lineno} column "
    message += f"{where.colno} (char {pos})"
    value = document
    if len(document) > MAX_VALUE_CHARS:  # the window of the text around the error
        start = max(0, min(pos - MAX_VALUE_CHARS // 2, len(document) - MAX_VALUE_CHARS))
        end = start + MAX_VALUE_CHARS
        value = ("..." if start > 0 else "") + document[start:end]
        value += "..." if end < len(document) else ""
    return {"field": "body", "value": value, "message": message}


def unread_body_error(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The field error for a body FastAPI did not parse because its ``Content-Type`` is
    not JSON or absent (``strict_content_type``, FastAPI's default: a browser can send a
    body without that header cross-site, without a CORS preflight)."""
    if content_type:
        why = f"its Content-Type is {json.dumps(content_type)}"
    else:
        why = "the request has no Content-Type"
    message = f"not read as JSON because {why}: {SEND_JSON}"
    return {"field": "body", "value": json_value(body), "message": message}


def describe(errors: Sequence[dict[str, Any]], raw_body: bool = False) -> str:
    """The ``detail`` of a validation problem: each field, why, and the value sent as
    JSON (unless the message already quotes it, or it is the ``raw_body`` text, which
    only ``errors`` carries), at most five."""
    parts = []
    for e in errors[:5]:
        part = f"{e['field']}: {e['message']}"
        if "value" in e and not (raw_body and e["field"] == "body"):
            shown = json.dumps(e["value"], ensure_ascii=False)
            if shown not in e["message"]:
                part += f" (got {shown})"
        parts.append(part)
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    noun = "input" if len(errors) == 1 else "inputs"
    return f"{len(errors)} invalid {noun}: " + "; ".join(parts) + more


def validation_problem(
    errors: list[dict[str, Any]], instance: str | None, raw_body: bool = False
) -> JSONResponse:
    """The 422 problem for ``errors`` (from :func:`field_errors` and its siblings)."""
    detail = describe(errors, raw_body)
    return problem_response(VALIDATION, detail, instance, errors=errors)


async def _engine_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc, request.url.path)


def error_response(exc: Exception, instance: str | None) -> JSONResponse:
    """The problem for an engine or service exception (its table row), with
    ``Retry-After`` when the exception says when to retry."""
    kind = lookup(exc) or ERROR_TABLE[EngineError]
    response = problem_response(kind, str(exc), instance, **exception_extras(exc))
    if isinstance(exc, MachineUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    raw_body = True
    if raw and raw[0].get("type") == "json_invalid":
        # FastAPI's decode error: loc ("body", offset), input {}, the document in exc.body
        document = exc.body
        if isinstance(document, bytes):
            document = document.decode("utf-8", "replace")
        reason = str(raw[0].get("ctx", {}).get("error", "invalid JSON"))
        errors = [json_syntax_error(str(document), int(raw[0]["loc"][-1]), reason)]
    elif any(_loc(e)[:1] == ("body",) and isinstance(e.get("input"), bytes) for e in raw):
        # The body arrived as bytes: FastAPI did not parse it, its Content-Type not JSON.
        body = next(e["input"] for e in raw if isinstance(e.get("input"), bytes))
        errors = [unread_body_error(body, request.headers.get("content-type"))]
        errors += field_errors([e for e in raw if _loc(e)[:1] != ("body",)])
    else:
        errors, raw_body = field_errors(raw), False
    return validation_problem(errors, request.url.path, raw_body)


def _loc(error: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(error.get("loc", ()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's 400 for a JSON body that is not text: an invalid request like any
        # other, so the documented 422 (found by schemathesis).
        cause = exc.__cause__
        message = "not valid JSON: not UTF-8 text"
        if isinstance(cause, UnicodeDecodeError):
            byte = cause.object[cause.start : cause.start + 1].hex()
            message += f" (byte 0x{byte} at offset {cause.start}: {cause.reason})"
        return validation_problem([{"field": "body", "message": message}], request.url.path)
    kind = ProblemKind(exc.status_code, f"http-{exc.status_code}", _phrase(exc.status_code))
    response = problem_response(kind, str(exc.detail), request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        # RFC 9110 §15.5.6: every method the resource has, not only those of the first
        # route that matched the path (GET and POST /processes are two routes).
        response.headers["Allow"] = allowed_methods(request)
    return response


def allowed_methods(request: Request) -> str:
    """The methods of every route whose path matches the request's, ``Allow`` style."""
    methods: set[str] = set()
    # FastAPI keeps an included router as one entry of app.routes: walk the routes it
    # holds, each with its full path (a router mounted twice, as the machine routes
    # are, yields each route twice).
    for route in iter_route_contexts(request.app.routes):
        path = route.path
        if path is not None and _path_regex(path).match(request.url.path):
            methods |= set(route.methods or ())
    return ", ".join(sorted(methods))


@functools.lru_cache(maxsize=1024)
def _path_regex(path: str) -> re.Pattern[str]:
    return compile_path(path)[0]


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
