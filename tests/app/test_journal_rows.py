"""Journal segments as rows (:mod:`app.journal_rows`): every batch op round-trips, models
whose values are not JSON's own are refused, damaged rows are named."""

from __future__ import annotations

import json
import typing
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, PlainSerializer, field_serializer

from app.journal import ReplayStatistics, replay
from app.journal_rows import OPS, ROW_FIELDS, VERSION, decode_rows, encode_rows, row_fields
from app.schemas.batch import BatchOp
from core import Kernel, StateError

A = 0x7F0000000000
P = 4096
#: One operation of every batch op kind, every field given a value that is not its default.
SAMPLES: dict[str, dict[str, Any]] = {
    "mmap": {
        "addr": A,
        "length": 2 * P,
        "prot": ["PROT_READ", 4],
        "flags": ["MAP_SHARED", "MAP_FIXED"],
        "fd": 3,
        "offset": P,
    },
    "munmap": {"addr": A, "length": P},
    "mprotect": {"addr": A, "length": P, "prot": ["PROT_NONE"]},
    "mremap": {
        "old_addr": A,
        "old_len": P,
        "new_len": 2 * P,
        "flags": ["MREMAP_MAYMOVE", "MREMAP_FIXED"],
        "new_addr": A + 8 * P,
    },
    "brk": {"addr": A},
    "madvise": {"addr": A, "length": P, "advice": "MADV_DONTNEED"},
    "mlock": {"addr": A, "length": P},
    "mlock2": {"addr": A, "length": P, "flags": ["MLOCK_ONFAULT"]},
    "munlock": {"addr": A, "length": P},
    "mlockall": {"flags": ["MCL_CURRENT", "MCL_FUTURE"]},
    "munlockall": {},
    "mseal": {"addr": A, "length": P, "flags": 0},
    "prctl": {
        "option": "PR_SET_VMA",
        "attr": "PR_SET_VMA_ANON_NAME",
        "addr": A,
        "size": P,
        "name": "heap",
    },
    "open": {"path": "/srv/data", "flags": ["O_RDWR"], "size": 3 * P},
    "close": {"fd": 4},
    "unlink": {"path": "/srv/data"},
    "fault": {"addr": A, "access": "write"},
    "touch": {"addr": A, "length": 4 * P, "access": "exec", "stop_on_signal": False},
}


def _kinds() -> list[str]:
    members = typing.get_args(typing.get_args(BatchOp)[0])
    return [typing.get_args(cls.model_fields["op"].annotation)[0] for cls in members]


def test_every_batch_op_is_written_as_rows() -> None:
    """Every kind has a sample above (a new kind fails here until it has one) and is
    written as rows; its fields are the model's, ``op`` left out."""
    assert sorted(_kinds()) == sorted(SAMPLES)
    for cls, fields in ROW_FIELDS.items():
        assert list(fields) == [name for name in cls.model_fields if name != "op"]
    assert len(ROW_FIELDS) == len(SAMPLES)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_rows_replay_to_the_operations_that_ran(kind: str) -> None:
    """Through JSON and back: the same op models, and each row's values are what
    pydantic's JSON mode writes for them (the version-1 record)."""
    ops = OPS.validate_python(
        [{"op": kind, **SAMPLES[kind]}, {"op": kind, **SAMPLES[kind]} | _other(kind)]
    )
    part = encode_rows(ops)
    assert part is not None and part["kind"] == kind
    record = json.loads(json.dumps({"v": VERSION, **part}))
    assert decode_rows(record) == ops
    dumped = OPS.dump_python(ops, mode="json")
    for row, want in zip(record["rows"], dumped, strict=True):
        assert dict(zip(record["fields"], row, strict=True)) == {
            k: v for k, v in want.items() if k != "op"
        }


def _other(kind: str) -> dict[str, Any]:
    """A second op of ``kind`` that differs from the sample where it has an address."""
    sample = SAMPLES[kind]
    return {"addr": sample["addr"] + P} if "addr" in sample else {}


def test_a_segment_of_several_kinds_is_not_rows() -> None:
    ops = OPS.validate_python(
        [{"op": "mprotect", **SAMPLES["mprotect"]}, {"op": "munmap", **SAMPLES["munmap"]}]
    )
    assert encode_rows(ops) is None


def test_models_with_values_json_does_not_write_alike_are_not_rows() -> None:
    """A nested model, a dict, a float-free but custom-serialised field, a field
    serialiser: each model is refused (its segments keep the version-1 format)."""

    class Inner(BaseModel):
        x: int

    class Nested(BaseModel):
        op: str
        inner: Inner

    class Mapping(BaseModel):
        op: str
        table: dict[str, int]

    class Serialised(BaseModel):
        op: str
        addr: Annotated[int, PlainSerializer(hex)]

    class FieldSerialised(BaseModel):
        op: str
        addr: int

        @field_serializer("addr")
        def _hex(self, value: int) -> str:
            return hex(value)

    class Plain(BaseModel):
        op: str
        addr: int
        names: list[str | int]
        name: str | None
        on: bool

    for cls in (Nested, Mapping, Serialised, FieldSerialised):
        assert row_fields(cls) is None, cls
    assert row_fields(Plain) == ("addr", "names", "name", "on")


def _segment(**changes: Any) -> tuple[int, bytes]:
    record = {
        "op": "batch",
        "v": VERSION,
        "pid": 1,
        "first": 2,
        "out": [None],
        "kind": "mprotect",
        "fields": ["addr", "length", "prot"],
        "rows": [[A, P, ["PROT_READ"]]],
        **changes,
    }
    return 2, json.dumps(record).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"rows": [[A, P]]},  # a value missing
        {"rows": [[A, P, ["PROT_READ"], 1]]},  # a value too many
        {"rows": [{"addr": A}]},  # not a row
        {"fields": ["addr", "length", "protection"]},  # a field the model does not have
        {"kind": "mprotect2"},  # no such operation
        {"rows": [["seven", P, ["PROT_READ"]]]},  # a value the model refuses
        {"fields": "addr", "rows": [[A]]},  # fields not a list
        {"v": 3},  # a format this build does not read
    ],
)
def test_a_damaged_segment_is_a_startup_error(changes: dict[str, Any]) -> None:
    """Replay refuses it with ``StateError`` naming the record; the same record intact
    replays."""
    spawn = {"op": "spawn", "name": "p", "layout": None, "maps": None, "child": 1}
    first = (1, json.dumps(spawn).encode())
    with pytest.raises(StateError, match="journal record 2 cannot be replayed"):
        replay(Kernel(), [first, _segment(**changes)], ReplayStatistics())
    stats = ReplayStatistics()
    replay(Kernel(), [first, _segment()], stats)
    # The mprotect of an unmapped page fails (ENOMEM), not as recorded: compared.
    assert (stats.records, stats.position, stats.diverged) == (2, 2, 1)
