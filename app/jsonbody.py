"""Request bodies: one JSON reader for every route, RFC 8259 exactly.

Design note
===========
FastAPI reads a JSON body with ``json.loads``, which is more lenient than JSON: it
takes ``NaN``, ``Infinity`` and ``-Infinity``, reads ``1e999`` as an infinite float,
reads ``2856.0`` as a float that a strict integer field then refuses although JSON
Schema counts it as the integer 2856, and passes lone surrogates (``"\\ud800"``)
through to models whose error reply cannot then be encoded as UTF-8. Each route
(:class:`JsonRoute`) reads its body here instead, before FastAPI sees it, and a body
that breaks a rule is a 422 problem naming the field (:func:`read_json`):

* the text is UTF-8 (RFC 8259 §8.1) and valid JSON (line, column and offset of the
  first error otherwise);
* ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON numbers;
* a number with an integral value (``2856``, ``2856.0``, ``2.856e3``) is that integer,
  exactly (decimal arithmetic: ``9007199254740993.0`` is not rounded through a
  double); any other number is a float; an integer of more than
  :data:`MAX_INT_DIGITS` digits, or a fraction outside a double's range (``1e999``
  is integral and far past every limit), is refused at its field;
* a string or member name holding a lone surrogate is refused (it is not a Unicode
  character: RFC 8259 §8.2 leaves its meaning undefined, and it has no UTF-8 form).

What reaches the models is therefore made of ``dict``, ``list``, ``str``, ``int``,
finite ``float``, ``bool`` and ``None`` only, and the request models are strict
(:class:`app.schemas.common.InModel`): an integer field takes an ``int`` (so
``2856.0`` is accepted, ``true``, ``"12"`` and ``2.5`` are not), a string field a
``str`` (``0`` is not a name), a boolean field ``true``/``false``. These are JSON
Schema's rules for ``integer``, ``string`` and ``boolean``, so the OpenAPI document
says exactly what is accepted.

Cost: one ``json.loads`` (as FastAPI's own). The walk of the decoded document that
finds the fields to name is needed only when the decoder met a number JSON does not
have or the text holds an escape of a surrogate (``\\ud800``-``\\udfff``: strict
UTF-8 text cannot hold a surrogate itself), which one C regex scan of the text tells;
otherwise it is skipped (a 10,000-operation batch: about 1.3 µs per operation saved,
docs/performance.md). Both are O(size of the body).
"""

from __future__ import annotations

import email.message
import functools
import json
import re
import threading
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from .errors import json_syntax_error, validation_problem

MAX_INT_DIGITS = 40
"""Digits an integer may have (every limit of the API is below 2**64, 20 digits): a
longer one is refused at its field rather than carried as a huge integer."""

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON escape that may decode to a surrogate (also a valid pair, and a literal
# backslash before "ud8..": then the walk runs and finds nothing, which is only slower).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_UNSET: Any = object()


class NotJsonNumber:
    """What the decoder leaves where a number JSON does not have was (``NaN``,
    ``Infinity``, ``-Infinity``) or one out of range (``1e999``): the text as sent."""

    __slots__ = ("text", "why")

    def __init__(self, text: str, why: str) -> None:
        self.text = text
        self.why = why


class BodyError(ValueError):
    """The body breaks a rule of the module note: ``errors`` in the shape of
    :func:`app.errors.field_errors`; ``raw`` when the value shown is the body's text."""

    def __init__(self, errors: list[dict[str, Any]], raw: bool = False) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors
        self.raw = raw


def _constant(name: str) -> NotJsonNumber:
    return NotJsonNumber(name, f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


def _int(text: str) -> int | NotJsonNumber:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return NotJsonNumber(text, f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _number(text: str) -> int | float | NotJsonNumber:
    """A JSON number with a fraction or an exponent: an integer if its value is
    integral, else a float."""
    value = Decimal(text)
    if value == value.to_integral_value():
        if value.adjusted() >= MAX_INT_DIGITS:
            return NotJsonNumber(text, f"an integer of more than {MAX_INT_DIGITS} digits")
        return int(value)
    as_float = float(value)
    if as_float in (float("inf"), float("-inf")):
        return NotJsonNumber(text, "out of the range of a double")
    return as_float


_READING = threading.local()
"""``odd``: whether the decoding running in this thread met a number JSON lacks."""


def _odd(value: NotJsonNumber) -> NotJsonNumber:
    _READING.odd = True
    return value


def _parse_int(digits: str) -> int | NotJsonNumber:
    if len(digits) <= MAX_INT_DIGITS:  # the common case, without a call
        return int(digits)
    value = _int(digits)
    return _odd(value) if isinstance(value, NotJsonNumber) else value


def _parse_float(number: str) -> int | float | NotJsonNumber:
    value = _number(number)
    return _odd(value) if isinstance(value, NotJsonNumber) else value


def _parse_constant(name: str) -> NotJsonNumber:
    return _odd(_constant(name))


_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
)
"""One decoder for every body: ``json.loads`` with hooks builds a new one (and its
scanner) per call. Shared by threads as ``json``'s own default decoder is; what one
decoding met is recorded per thread (:data:`_READING`)."""


def _where(path: tuple[str | int, ...]) -> str:
    field = "body"
    for part in path:
        field += f"[{part}]" if isinstance(part, int) else f".{part}"
    return field


def _check(value: Any, path: tuple[str | int, ...], errors: list[dict[str, Any]]) -> None:
    """Append an error for every value of the module note's rules below ``value``."""
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            errors.append(_surrogate(value, path))
    elif isinstance(value, dict):
        for key, item in value.items():
            if not key.isascii() and _SURROGATE.search(key):
                errors.append(_surrogate(key, path, member=True))
            _check(item, (*path, key), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, (*path, index), errors)
    elif isinstance(value, NotJsonNumber):
        message = f"{value.why}: send a finite number in range"
        errors.append({"field": _where(path), "value": value.text, "message": message})


def _surrogate(text: str, path: tuple[str | int, ...], member: bool = False) -> dict[str, Any]:
    code = ord(_SURROGATE.search(text)[0])  # type: ignore[index]
    what = "member name" if member else "string"
    message = (
        f"the {what} holds a lone surrogate (\\u{code:04x}), which is not a Unicode "
        "character: send text that is valid UTF-8"
    )
    # The value is echoed with the surrogate escaped, so the reply is valid UTF-8.
    echoed = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return {"field": _where(path), "value": echoed, "message": message}


def read_json(body: bytes) -> Any:
    """The document in ``body`` under the rules of the module note. O(len(body)).

    Raises :class:`BodyError` with the field errors."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex()
        message = f"not valid JSON: not UTF-8 text (byte 0x{byte} at offset {exc.start}: "
        raise BodyError([{"field": "body", "message": message + f"{exc.reason})"}]) from None
    _READING.odd = False  # set by the decoder's hooks (_odd) when they meet such a number
    try:
        if text.startswith("\ufeff"):  # json.loads refuses a BOM before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        doc = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BodyError([json_syntax_error(text, exc.pos, exc.msg)], raw=True) from None
    except RecursionError:
        message = "not valid JSON for this service: nested too deeply"
        raise BodyError([{"field": "body", "message": message}]) from None
    odd: bool = _READING.odd
    if not odd and not _SURROGATE_ESCAPE.search(text):
        return doc  # nothing for the walk to find
    errors: list[dict[str, Any]] = []
    _check(doc, (), errors)
    if errors:
        raise BodyError(errors)
    return doc


@functools.lru_cache(maxsize=64)
def is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this ``Content-Type`` as JSON (``application/json``
    or ``application/*+json``); without one it does not (``strict_content_type``).

    Cached (64 values, least recently used first out): clients send a handful of
    distinct values, and the parse by ``email.message`` (FastAPI's own) costs more
    than a small request's JSON."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class JsonRequest(Request):
    """A request whose ``json()`` is :func:`read_json` (raises :class:`BodyError`)."""

    _doc: Any = _UNSET

    async def json(self) -> Any:
        if self._doc is _UNSET:
            self._doc = read_json(await self.body())
        return self._doc


class JsonRoute(APIRoute):
    """Every route of the service: a JSON body is read by :func:`read_json` before the
    route's own handling (FastAPI then takes the decoded document from
    :meth:`JsonRequest.json`), and a body that breaks its rules is a 422 problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def read_body_first(request: Request) -> Response:
            # The request FastAPI's request_response made becomes a JsonRequest: a
            # subclass adding a method and a class attribute only, so the object is
            # the same (its body, headers and state read once), without building a
            # second Request per request (about 7,500 instructions; FastAPI offers no
            # hook for the class: docs/performance.md, "The fault route, third pass").
            request.__class__ = JsonRequest
            if is_json(request.headers.get("content-type")) and await request.body():
                try:
                    await request.json()
                except BodyError as exc:
                    return validation_problem(exc.errors, request.url.path, raw_body=exc.raw)
            return await handler(request)

        return read_body_first
