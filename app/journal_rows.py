"""The operations of a journal segment as rows: one kind, its fields named once.

Design note
===========
A batch segment (:mod:`app.journal`, "Batches") records up to ``SEGMENT_OPS``
consecutive operations of one batch. Its first format (version 1, ``"ops"``) wrote each
operation as pydantic's JSON of the op model, field names included: 75 bytes and about
1.8 µs of the committer's CPU per ``mprotect`` of a bulk build, holding the GIL that the
batch's worker needs (``pydantic_core`` serialises holding it). The operations of a
build are of one kind, so version 2 (``"v": 2``) writes the kind and the field names
once and every operation as a row of its values:
``{"kind": "mprotect", "fields": ["addr", "length", "prot"], "rows": [[17592186048512,
4096, ["PROT_READ"]], ...]}``: 36 bytes and about 0.9 µs (one ``attrgetter`` call per op,
then the C encoder of :mod:`json`). A segment mixing kinds keeps version 1.

Rows are written only for op models whose every field holds JSON's own values (int,
str, bool, None, literals and lists of them) with no custom serialiser
(:func:`row_fields`, decided once per model): then ``json.dumps`` of the attribute
writes what pydantic's JSON mode writes, and the replay validates the rebuilt
dictionaries through the same models the route used (:func:`decode_rows`), so a row
replays to the operation that ran. Every batch op model qualifies today (their fields
are addresses, lengths, flag names and paths); one that does not is written as
version 1, never guessed at.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from operator import attrgetter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, PlainSerializer, TypeAdapter, WrapSerializer

from .schemas.batch import BatchOp

VERSION = 2
"""The segment format with rows (version 1: ``"ops"``, pydantic's JSON of each op)."""
OPS = TypeAdapter(list[BatchOp])
"""A batch's operations, as the route validates them (both formats replay through it)."""
_SCALARS = (int, str, bool, type(None))


def _plain(tp: Any) -> bool:
    """Whether every value of annotation ``tp`` is JSON's own, so that ``json.dumps``
    and pydantic's JSON mode write it alike."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        return _plain(args[0]) and not any(
            isinstance(m, PlainSerializer | WrapSerializer) for m in args[1:]
        )
    if origin is Literal:
        return all(isinstance(a, _SCALARS) for a in args)
    if origin is typing.Union or origin is types.UnionType:
        return all(_plain(a) for a in args)
    if origin is list:
        return len(args) == 1 and _plain(args[0])
    return tp in _SCALARS


def row_fields(cls: type[BaseModel]) -> tuple[str, ...] | None:
    """The fields a row of ``cls`` holds, in order (``op`` left out: the segment names
    the kind once), or None if one of them may hold a value that is not JSON's own.
    O(fields)."""
    decorators = cls.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers:
        return None
    names = []
    for name, info in cls.model_fields.items():
        if any(isinstance(m, PlainSerializer | WrapSerializer) for m in info.metadata):
            return None
        if not _plain(info.annotation):
            return None
        if name != "op":
            names.append(name)
    return tuple(names)


ROW_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {
    cls: fields
    for cls in typing.get_args(typing.get_args(BatchOp)[0])
    if (fields := row_fields(cls)) is not None
}
"""The batch op models written as rows, and their fields (:func:`row_fields`)."""
_GETTERS = {cls: attrgetter(*fields) for cls, fields in ROW_FIELDS.items() if len(fields) > 1}


def encode_rows(ops: Sequence[Any]) -> dict[str, Any] | None:
    """The version-2 part of a segment of batch ops ``ops`` (``kind``, ``fields``,
    ``rows``), or None if they are not all of one kind written as rows. O(ops)."""
    cls = type(ops[0])
    fields = ROW_FIELDS.get(cls)
    if fields is None or any(type(op) is not cls for op in ops):
        return None
    getter = _GETTERS.get(cls)
    if getter is not None:
        rows: list[Any] = list(map(getter, ops))  # tuples: json writes them as arrays
    elif fields:
        rows = [(getattr(op, fields[0]),) for op in ops]
    else:
        rows = [() for _ in ops]
    return {"kind": ops[0].op, "fields": list(fields), "rows": rows}


def decode_rows(record: dict[str, Any]) -> list[Any]:
    """The batch ops of a version-2 segment, validated as the route validates a batch.
    Raises ``ValueError`` (a pydantic ``ValidationError`` among them) for a record that
    does not hold them. O(ops)."""
    kind, fields, rows = record["kind"], record["fields"], record["rows"]
    if not isinstance(fields, list) or not isinstance(rows, list):
        raise ValueError("a segment's fields and rows are lists")
    if not all(isinstance(row, list) for row in rows):
        raise ValueError("a segment's rows are lists")
    # zip(strict=True): a row of another length raises ValueError.
    ops = [{"op": kind, **dict(zip(fields, row, strict=True))} for row in rows]
    return OPS.validate_python(ops)
