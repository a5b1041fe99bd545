"""``app.limits.process_of``: which requests count against a process's bound
(``VMASIM_MAX_PROCESS_INFLIGHT``). The function tests strings by hand (it runs for
every request); here it is checked against the rule written as a regular expression,
the form it had before (docs/performance.md, "The fault route, third pass"), on the
paths the API serves and on paths built from their pieces at random. The bound itself
is exercised over HTTP in ``tests/app/test_holds.py``."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.limits import process_of

pytestmark = pytest.mark.timeout(120)

RULE = re.compile(r"(?:/machines/([^/]{1,64}))?/processes/([0-9]{1,10})(/pause-points)?(?:/|\Z)")
"""The rule: an optional machine id (1-64 characters, no ``/``), up to 10 ASCII
digits, the path ending or going on with ``/``; ``.../pause-points`` and below do not
count, nor does ``DELETE`` of the process itself. (``\\Z``: a newline after the digits,
``%0A`` in a request, is not the end of the path.)"""


def by_rule(path: str, method: str) -> tuple[str, int] | None:
    match = RULE.match(path)
    if match is None or match[3] is not None:
        return None
    if method == "DELETE" and match.end() == len(path):
        return None
    return match[1] or "default", int(match[2])


@pytest.mark.parametrize(
    ("method", "path", "counted"),
    [
        ("POST", "/processes/1014/faults", ("default", 1014)),
        ("GET", "/processes/1014", ("default", 1014)),
        ("GET", "/processes/1014/", ("default", 1014)),
        ("DELETE", "/processes/1014", None),
        ("DELETE", "/processes/1014/", None),
        ("DELETE", "/processes/1014/files/3", ("default", 1014)),
        ("POST", "/machines/m-1/processes/7/mmap", ("m-1", 7)),
        ("DELETE", "/machines/m-1/processes/7", None),
        ("POST", "/processes/1014/pause-points/munmap:before_clear/release", None),
        ("GET", "/processes/1014/pause-points", None),
        ("GET", "/processes/1014/pause-pointsx", ("default", 1014)),
        ("GET", "/machines/m/processes/3/pause-points/", None),
        ("POST", "/bench/processes/1014/faults", None),
        ("GET", "/processes", None),
        ("GET", "/processes/", None),
        ("GET", "/processes/12345678901/maps", None),  # 11 digits
        ("GET", "/processes/1234567890/maps", ("default", 1234567890)),
        ("GET", "/processes/0x10/maps", None),
        ("GET", "/processes/\u0661\u0662/maps", None),  # Arabic-Indic digits: not [0-9]
        ("GET", "/processes/12\n", None),
        ("GET", "/machines//processes/1", None),
        ("GET", "/machines/" + "m" * 64 + "/processes/1", ("m" * 64, 1)),
        ("GET", "/machines/" + "m" * 65 + "/processes/1", None),
        ("GET", "/machines/m/other/processes/1", None),
        ("GET", "/healthz", None),
        ("GET", "", None),
    ],
)
def test_the_paths_of_the_api(method: str, path: str, counted: tuple[str, int] | None) -> None:
    assert process_of({"type": "http", "method": method, "path": path}) == counted
    assert by_rule(path, method) == counted


PIECES = st.sampled_from(
    [
        "/",
        "//",
        "/processes",
        "/processes/",
        "/machines/",
        "/machines",
        "m",
        "m" * 63,
        "/pause-points",
        "pause-points",
        "/faults",
        "0",
        "7",
        "1234567890",
        "\u0661",
        "\n",
        "x",
        "-",
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=8).map("".join), st.sampled_from(["GET", "POST", "DELETE"]))
def test_any_path_counts_as_the_rule_says(path: str, method: str) -> None:
    assert process_of({"type": "http", "method": method, "path": path}) == by_rule(path, method)


def test_no_path_is_no_process() -> None:
    assert process_of({"type": "http", "method": "GET"}) is None
