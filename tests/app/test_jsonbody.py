"""``app.jsonbody.read_json``: the walk that names the offending fields is skipped when
the decoder met nothing to refuse, so each kind of refusal is checked here directly,
next to bodies that must pass untouched (the routes are covered by
``tests/app/test_hostile_inputs.py``)."""

from __future__ import annotations

import pytest

from app.jsonbody import MAX_INT_DIGITS, BodyError, read_json

pytestmark = pytest.mark.timeout(30)


def refused(body: str) -> list[str]:
    with pytest.raises(BodyError) as info:
        read_json(body.encode())
    return [error["field"] for error in info.value.errors]


def test_a_body_with_nothing_to_refuse_reads_as_json() -> None:
    body = '{"ops": [{"op": "mprotect", "addr": "0x1000", "length": 4096, "n": 2856.0}]}'
    assert read_json(body.encode()) == {
        "ops": [{"op": "mprotect", "addr": "0x1000", "length": 4096, "n": 2856}]
    }
    # A surrogate pair is one character; a backslash before "ud800" is not an escape.
    assert read_json(b'{"a": "\\ud83d\\ude00", "b": "\\\\ud800"}') == {
        "a": "\U0001f600",
        "b": "\\ud800",
    }
    digits = "9" * MAX_INT_DIGITS
    assert read_json(f'{{"a": -{digits}}}'.encode()) == {"a": -int(digits)}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ('{"ops": [{"addr": "\\ud800"}]}', ["body.ops[0].addr"]),
        ('{"ops": [{"addr": "\\uDFFF"}]}', ["body.ops[0].addr"]),  # upper-case hex
        ('{"\\udc00": 1}', ["body"]),  # a member name
        ('{"a": NaN, "b": [Infinity, -Infinity]}', ["body.a", "body.b[0]", "body.b[1]"]),
        ('{"a": 1e999, "b": 2.5}', ["body.a"]),
        (f'{{"a": [0, {"1" * (MAX_INT_DIGITS + 1)}]}}', ["body.a[1]"]),
    ],
)
def test_every_refusal_is_found_and_named(body: str, fields: list[str]) -> None:
    assert refused(body) == fields
