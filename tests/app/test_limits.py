"""``app.limits.process_of``: which requests count against a process's bound
(``VMASIM_MAX_PROCESS_INFLIGHT``): a machine id of 1 to 64 characters other than
``/`` and 1 to 10 ASCII digits, the path ending there or going on with ``/``; the
pause-point routes and ``DELETE`` of the process itself never count. The bound itself
is exercised over HTTP in ``tests/app/test_holds.py``."""

from __future__ import annotations

import pytest

from app.limits import process_of

pytestmark = pytest.mark.timeout(30)


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


def test_no_path_is_no_process() -> None:
    assert process_of({"type": "http", "method": "GET"}) is None


def test_a_cached_path_answers_as_the_first_time_for_every_method() -> None:
    # The path's answer is cached, the method is not: a GET, then a DELETE of the
    # same path (not counted), then a GET again (counted).
    path = "/machines/cache-test/processes/4242"
    answers = [
        process_of({"type": "http", "method": method, "path": path})
        for method in ("GET", "DELETE", "GET", "DELETE")
    ]
    assert answers == [("cache-test", 4242), None, ("cache-test", 4242), None]


@pytest.mark.parametrize("length", [255, 256, 257, 5000])
def test_paths_longer_than_the_cached_ones_count_the_same(length: int) -> None:
    head = "/processes/77/"
    path = head + "x" * (length - len(head))
    assert len(path) == length
    for method in ("GET", "DELETE"):
        assert process_of({"type": "http", "method": method, "path": path}) == ("default", 77)
    pause = "/processes/77/pause-points/"
    path = pause + "x" * (length - len(pause))
    assert process_of({"type": "http", "method": "POST", "path": path}) is None
