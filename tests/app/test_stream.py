"""``/maps/stream`` (JSON Lines) and ``/maps/events`` (SSE) over the live server:
ordered, complete snapshots; limits and bad input refused before streaming starts; a
client that goes away is cleaned up and never holds an engine lock."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.streams import streams_for
from client.cli import EXIT_OK, EXIT_REFUSED, main
from tests.app.conftest import LiveServer
from tests.concurrency import wait_until

RW = ["PROT_READ", "PROT_WRITE"]
ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]


def _mmap(http: httpx.Client, pid: int, prot: list[str] = RW) -> int:
    r = http.post(f"/processes/{pid}/mmap", json={"length": 4096, "prot": prot, "flags": ANON})
    assert r.status_code == 200, r.text
    return int(r.json()["addr"], 16)


def _sse(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse ``text/event-stream`` lines into events (``event``, ``data``, ``id``)."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            event[key] = value.removeprefix(" ")


def _lines(http: httpx.Client, pid: int, **params: Any) -> list[dict[str, Any]]:
    with http.stream("GET", f"/processes/{pid}/maps/stream", params=params) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"] == "application/jsonl"
        return [json.loads(line) for line in r.iter_lines() if line]


def test_jsonl_snapshots_are_ordered_and_complete(
    http: httpx.Client, pid: int, live_server: LiveServer
) -> None:
    _mmap(http, pid)
    mm = live_server.service.kernel.get(pid).mm
    items = _lines(http, pid, count=3, interval=0)
    assert [item["index"] for item in items] == [0, 1, 2]
    expected = [line.split()[0] for line in mm.maps().splitlines()]
    for item in items:
        assert item["pid"] == pid and item["count"] == len(expected)
        assert [v["addr"] for v in item["vmas"]] == expected
        assert item["text"] is None
        snap = item["snapshot"]
        assert snap["reader"] == "seqcount" and snap["consistent"] is True
        assert snap["generation"] == mm.generation
    assert items[0]["elapsed"] <= items[1]["elapsed"] <= items[2]["elapsed"]


@pytest.mark.parametrize("reader", ["seqcount", "per_vma", "mmap_lock"])
def test_text_format_is_the_kernels_text(
    http: httpx.Client, pid: int, live_server: LiveServer, reader: str
) -> None:
    _mmap(http, pid)
    items = _lines(http, pid, count=2, interval=0, format="text", reader=reader)
    text = live_server.service.kernel.get(pid).mm.maps()
    assert [i["text"] for i in items] == [text, text]
    assert all(i["vmas"] is None and i["snapshot"]["reader"] == reader for i in items)


def test_only_changes_sends_one_snapshot_per_generation(
    live_server: LiveServer, http: httpx.Client, pid: int
) -> None:
    """Read the stream incrementally; change the layout between two reads. Every
    snapshot has a new generation and shows the mapping just made."""
    seen: list[dict[str, Any]] = []
    addrs: list[int] = []
    with (
        httpx.Client(base_url=live_server.url, timeout=10) as c,
        c.stream(
            "GET",
            f"/processes/{pid}/maps/stream",
            params={"count": 3, "interval": 0, "only_changes": "true"},
        ) as r,
    ):
        lines = (line for line in r.iter_lines() if line)
        for _ in range(3):
            seen.append(json.loads(next(lines)))
            if len(seen) < 3:
                prot = RW if len(addrs) % 2 else ["PROT_READ"]  # no merging
                addrs.append(_mmap(http, pid, prot))
        assert list(lines) == []  # count reached: the stream ended
    assert [s["index"] for s in seen] == [0, 1, 2]
    generations = [s["snapshot"]["generation"] for s in seen]
    assert generations == sorted(set(generations))
    for n, item in enumerate(seen):
        starts = {int(v["start"], 16) for v in item["vmas"]}
        assert set(addrs[:n]) <= starts and not set(addrs[n:]) & starts


def test_sse_events_then_an_end_event(http: httpx.Client, pid: int) -> None:
    with http.stream(
        "GET", f"/processes/{pid}/maps/events", params={"count": 2, "interval": 0}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = list(_sse(r.iter_lines()))
    assert [e["event"] for e in events] == ["snapshot", "snapshot", "end"]
    assert [e.get("id") for e in events[:2]] == ["0", "1"]
    assert [json.loads(e["data"])["index"] for e in events[:2]] == [0, 1]
    assert json.loads(events[2]["data"]) == {"reason": "count", "sent": 2}


def test_duration_limit_ends_the_stream(http: httpx.Client, pid: int) -> None:
    params = {"interval": 0.05, "max_duration": 0.2}
    with http.stream("GET", f"/processes/{pid}/maps/events", params=params) as r:
        events = list(_sse(r.iter_lines()))
    end = json.loads(events[-1]["data"])
    assert end["reason"] == "duration"
    assert 1 <= end["sent"] == len(events) - 1 <= 5


def test_process_exit_ends_the_stream(
    live_server: LiveServer, http: httpx.Client, pid: int
) -> None:
    with (
        httpx.Client(base_url=live_server.url, timeout=10) as c,
        c.stream("GET", f"/processes/{pid}/maps/events", params={"interval": 0.01}) as r,
    ):
        events = _sse(r.iter_lines())
        assert next(events)["event"] == "snapshot"
        assert http.delete(f"/processes/{pid}").status_code == 204
        rest = list(events)
    assert rest[-1]["event"] == "end"
    assert json.loads(rest[-1]["data"])["reason"] == "exited"


@pytest.mark.parametrize("route", ["maps/stream", "maps/events"])
def test_disconnecting_client_is_cleaned_up_and_holds_no_lock(
    live_server: LiveServer, http: httpx.Client, pid: int, route: str
) -> None:
    registry = streams_for(live_server.service)
    mm = live_server.service.kernel.get(pid).mm
    before = registry.statistics()
    with (
        httpx.Client(base_url=live_server.url, timeout=10) as c,
        c.stream("GET", f"/processes/{pid}/{route}", params={"interval": 0.005}) as r,
    ):
        # Keep the iterator referenced: a dropped httpx line iterator closes the
        # connection (the client would leave before the checks below).
        lines = r.iter_lines()
        if route == "maps/stream":
            first = json.loads(next(lines))
        else:
            events = _sse(lines)
            first = json.loads(next(events)["data"])
        assert first["index"] == 0
        assert registry.statistics().live_by_pid.get(pid) == 1
        # A client that stops reading holds nothing: a writer gets through.
        _mmap(http, pid)
        assert mm.mmap_lock.statistics().rwsem.readers == 0
        # Leaving the block closes the connection mid-stream.
    wait_until(lambda: registry.statistics().live_by_pid.get(pid) is None, what="stream cleaned up")
    after = registry.statistics()
    assert after.ended["disconnected"] == before.ended["disconnected"] + 1
    assert after.closed == before.closed + 1
    stats = mm.mmap_lock.statistics()
    assert stats.rwsem.readers == 0 and stats.rwsem.writer is None
    registry._check()


@pytest.mark.parametrize("route", ["maps/stream", "maps/events"])
def test_missing_process_is_a_plain_404(http: httpx.Client, route: str) -> None:
    r = http.get(f"/processes/999997/{route}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", ["maps/stream", "maps/events"])
@pytest.mark.parametrize(
    ("params", "setting"),
    [
        ({"count": 100_001}, "VMASIM_MAX_STREAM_SNAPSHOTS"),
        ({"max_duration": 3601}, "VMASIM_MAX_STREAM_SECONDS"),
    ],
)
def test_limits_are_409_naming_the_setting(
    http: httpx.Client, pid: int, route: str, params: dict[str, int], setting: str
) -> None:
    r = http.get(f"/processes/{pid}/{route}", params=params)
    assert r.status_code == 409
    problem = r.json()
    assert problem["setting"] == setting
    assert problem["value"] == next(iter(params.values()))
    assert setting in problem["detail"]


@pytest.mark.parametrize("route", ["maps/stream", "maps/events"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("interval", "-1"),
        ("interval", "soon"),
        ("count", "0"),
        ("max_duration", "0"),
        ("only_changes", "maybe"),
        ("format", "xml"),
        ("reader", "rcu"),
        ("max_retries", "-2"),
    ],
)
def test_bad_options_are_422_naming_the_value(
    http: httpx.Client, pid: int, route: str, name: str, value: str
) -> None:
    r = http.get(f"/processes/{pid}/{route}", params={name: value})
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert (err["field"], err["value"]) == (f"query.{name}", value)


def test_cli_watch_prints_snapshots(live_server: LiveServer, http: httpx.Client, pid: int) -> None:
    _mmap(http, pid)
    text = live_server.service.kernel.get(pid).mm.maps()
    out = io.StringIO()
    argv = ["--url", live_server.url, "watch", str(pid), "--count", "2", "--interval", "0"]
    assert main([*argv, "--reader", "per_vma"], out=out) == EXIT_OK
    lines = out.getvalue().splitlines(keepends=True)
    n = len(text.splitlines())
    assert len(lines) == 2 * (n + 1)
    for i in range(2):
        head = lines[i * (n + 1)]
        assert head.startswith(f"# snapshot {i} ") and " reader per_vma " in head
        assert "".join(lines[i * (n + 1) + 1 : (i + 1) * (n + 1)]) == text
    out = io.StringIO()
    assert main([*argv, "--summary"], out=out) == EXIT_OK
    assert [line.split()[2] for line in out.getvalue().splitlines()] == ["0", "1"]


def test_cli_watch_of_missing_process_is_refused(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", live_server.url, "watch", "999995"], out=io.StringIO()) == EXIT_REFUSED
    assert "999995" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["watch", "replay", "maps"])
def test_cli_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: vmasim {command}")
    if command != "replay":
        assert "--reader" in text
