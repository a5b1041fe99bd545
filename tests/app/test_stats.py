"""``GET /vmstat`` and ``GET /metrics``: the engine's counters after known faults, the
same figures in both formats, and lock statistics showing a waiter while the test
holds ``mmap_lock`` (a deterministic interleaving: no sleeps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families

from app.schemas.common import Mirror
from core import PAGE_SIZE
from tests.app.conftest import LiveServer
from tests.concurrency import spawn, wait_until

# prometheus_client's OpenMetrics parser (its text parser is typed; this one is not).
openmetrics_families: Callable[[str], Iterator[Metric]] = (
    openmetrics_parser.text_string_to_metric_families
)
EVENTS = ("vma_lock_success", "vma_lock_abort", "vma_lock_retry", "vma_lock_miss")
MLOCK_EVENTS = ("unevictable_pgs_mlocked", "unevictable_pgs_munlocked")


def _proc(http: httpx.Client, pid: int) -> dict[str, Any]:
    r = http.get("/vmstat", params={"pid": pid})
    assert r.status_code == 200, r.text
    procs = r.json()["processes"]
    assert [p["pid"] for p in procs] == [pid]
    out: dict[str, Any] = procs[0]
    return out


def test_vmstat_counts_faults(http: httpx.Client, pid: int) -> None:
    body = {"length": 4 * PAGE_SIZE, "prot": ["PROT_READ", "PROT_WRITE"]}
    body["flags"] = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
    addr = int(http.post(f"/processes/{pid}/mmap", json=body).json()["addr"], 16)
    before_global = http.get("/vmstat").json()["events"]
    before = _proc(http, pid)
    assert before["events"] == dict.fromkeys([*EVENTS, "pgfault", "pgmajfault", *MLOCK_EVENTS], 0)
    ops = [
        {"op": "touch", "addr": addr, "length": 4 * PAGE_SIZE},  # 4 fast-path faults
        {"op": "fault", "addr": addr - PAGE_SIZE},  # hole: abort, then SIGSEGV
    ]
    assert http.post(f"/processes/{pid}/syscalls", json={"ops": ops}).status_code == 200
    after = _proc(http, pid)
    assert after["events"]["vma_lock_success"] == 4
    assert after["events"]["vma_lock_abort"] == 1
    assert after["events"]["pgfault"] == 4
    assert (after["min_flt"], after["maj_flt"]) == (4, 0)
    assert after["rss"] == {"file": 0, "anon": 4, "shmem": 0, "swapents": 0}
    assert after["map_count"] == 1
    # mmap_lock for read twice: the first write fault's mmap_read_trylock for
    # anon_vma_prepare (under the VMA lock), and the hole fault's fallback.
    lock = after["mmap_lock"]["rwsem"]
    assert lock["read_acquisitions"] == before["mmap_lock"]["rwsem"]["read_acquisitions"] + 2
    assert lock["readers"] == 0 and lock["writer"] is None
    # Machine-wide counters include these (other tests may add more meanwhile).
    glob = http.get("/vmstat").json()
    assert glob["events"]["vma_lock_success"] >= before_global["vma_lock_success"] + 4
    assert glob["service"]["processes"] >= 1 and glob["page_lock"]["acquisitions"] >= 4
    assert pid in [p["pid"] for p in glob["processes"]]


def test_vmstat_bad_input(http: httpx.Client) -> None:
    r = http.get("/vmstat", params={"pid": 4000000})
    assert r.status_code == 404 and r.json()["pid"] == 4000000
    r = http.get("/vmstat", params={"pid": "x"})
    assert r.status_code == 422
    assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["value"]) == ("query.pid", "x")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_have_the_vmstat_figures(http: httpx.Client, pid: int) -> None:
    body = {"length": 2 * PAGE_SIZE, "prot": ["PROT_READ", "PROT_WRITE"]}
    body["flags"] = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
    addr = int(http.post(f"/processes/{pid}/mmap", json=body).json()["addr"], 16)
    http.post(f"/processes/{pid}/faults", json={"addr": addr, "access": "write"})
    http.post(f"/processes/{pid}/faults", json={"addr": addr + PAGE_SIZE, "access": "read"})
    r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(r.text)
    stat = _proc(http, pid)  # nothing ran on this process in between
    p = str(pid)
    for event in (*EVENTS, "pgfault", "pgmajfault", *MLOCK_EVENTS):
        key = ("vmasim_process_vm_events_total", (("event", event), ("pid", p)))
        assert samples[key] == stat["events"][event], event
    assert samples[("vmasim_process_faults_total", (("pid", p), ("type", "minor")))] == 2
    assert samples[("vmasim_process_resident_pages", (("kind", "anon"), ("pid", p)))] == 1
    assert samples[("vmasim_process_vmas", (("pid", p),))] == stat["map_count"] == 1
    for mode in ("read", "write"):
        key = ("vmasim_mmap_lock_acquisitions_total", (("mode", mode), ("pid", p)))
        assert samples[key] == stat["mmap_lock"]["rwsem"][f"{mode}_acquisitions"]
    assert samples[("vmasim_vm_events_total", (("event", "vma_lock_success"),))] >= 1
    assert ("vmasim_rcu_grace_periods_total", ()) in samples
    assert samples[("vmasim_processes_limit", ())] == 256
    # /metrics is documented, in both formats it can answer with.
    documented = http.get("/openapi.json").json()["paths"]["/metrics"]
    assert set(documented["get"]["responses"]["200"]["content"]) == {
        "text/plain; version=0.0.4",
        "application/openmetrics-text; version=1.0.0",
    }
    assert "head" in documented


# What Prometheus sends (scrape_protocols' default order): OpenMetrics first.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def _process_samples(
    families: Any, pid: int
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in families:
        for s in family.samples:
            if s.labels.get("pid") == str(pid):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_negotiate_openmetrics_as_prometheus_client_does(
    http: httpx.Client, pid: int
) -> None:
    """`Accept: application/openmetrics-text` gets OpenMetrics 1.0.0 (parsed by
    prometheus_client's OpenMetrics parser, which insists on `# EOF`); anything else
    the text format 0.0.4. Both carry the same samples."""
    body = {"length": PAGE_SIZE, "prot": ["PROT_READ"], "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}
    addr = http.post(f"/processes/{pid}/mmap", json=body).json()["addr"]
    http.post(f"/processes/{pid}/faults", json={"addr": addr, "access": "read"})
    text = http.get("/metrics")
    assert text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert text.headers["vary"] == "Accept"
    for accept in (PROMETHEUS_ACCEPT, "application/openmetrics-text"):
        om = http.get("/metrics", headers={"accept": accept})
        assert om.status_code == 200
        assert om.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
        assert om.text.endswith("# EOF\n")
        parsed = _process_samples(openmetrics_families(om.text), pid)
        assert parsed == _process_samples(text_string_to_metric_families(text.text), pid)
        key = ("vmasim_process_faults_total", (("pid", str(pid)), ("type", "minor")))
        assert parsed[key] == 1
    plain = http.get("/metrics", headers={"accept": "text/plain"})
    assert plain.headers["content-type"] == text.headers["content-type"]
    assert "# EOF" not in text.text  # the 0.0.4 text format has no end marker


def test_head_metrics_has_the_get_headers_and_no_body(http: httpx.Client) -> None:
    for accept in ("", "application/openmetrics-text; version=1.0.0"):
        get = http.get("/metrics", headers={"accept": accept})
        head = http.head("/metrics", headers={"accept": accept})
        assert head.status_code == get.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["vary"] == "Accept"
        # Content-Length is the GET answer's own (the figures may move between scrapes).
        assert int(head.headers["content-length"]) > 0


def test_vmstat_shows_a_fault_waiting_for_mmap_lock(
    http: httpx.Client, live_server: LiveServer, pid: int
) -> None:
    """The test holds the process's mmap_lock for write; a fault in a hole falls back
    to mmap_lock and queues. /vmstat and /metrics show the waiter; after the release the
    fault completes on the mmap_lock path and the wait is counted as contended."""
    mm = live_server.service.kernel.get(pid).mm
    before = _proc(http, pid)["mmap_lock"]["rwsem"]
    assert before["waiting_readers"] == 0
    mm.mmap_lock.write_lock()
    try:
        worker = spawn(partial(http.post, f"/processes/{pid}/faults", json={"addr": 0}))
        wait_until(
            lambda: _proc(http, pid)["mmap_lock"]["rwsem"]["waiting_readers"] == 1,
            what="the fault queued on mmap_lock",
        )
        held = _proc(http, pid)["mmap_lock"]
        assert held["write_locked"] and held["rwsem"]["writer"] is not None
        key = ("vmasim_mmap_lock_waiters", (("mode", "read"), ("pid", str(pid))))
        assert _samples(http.get("/metrics").text)[key] == 1
        assert not worker.finished.is_set()
    finally:
        mm.mmap_lock.write_unlock()
    r = worker.result()
    assert r.status_code == 200, r.text
    assert (r.json()["path"], r.json()["si_code"]) == ("mmap_lock", "SEGV_MAPERR")
    after = _proc(http, pid)["mmap_lock"]["rwsem"]
    assert after["waiting_readers"] == 0
    assert after["read_contended"] == before["read_contended"] + 1
    assert after["read_wait_total_s"] > before["read_wait_total_s"]


def test_statistics_models_mirror_the_engine_dataclasses() -> None:
    """A field added to an engine statistics dataclass, and not to its response model,
    fails when the model is defined: the mirror check runs at class creation."""

    @dataclass(frozen=True)
    class Stats:
        a: int
        b: int

    class Both(Mirror, source=Stats):
        a: int
        b: int

    assert Both.of(Stats(1, 2)).model_dump() == {"a": 1, "b": 2}
    with pytest.raises(TypeError, match=r"does not mirror Stats"):

        class Missing(Mirror, source=Stats):
            a: int

    with pytest.raises(TypeError, match=r"does not mirror Stats"):

        class Extra(Mirror, source=Stats, omit=("b",)):
            a: int
            c: int


def test_vmstat_counts_mlocked_and_munlocked_folios(http: httpx.Client, pid: int) -> None:
    """mlock of 4 pages, 3 resident, counts 4 mlocked (3 found, 1 populated); munmap
    queues their munlocks in the per-CPU mlock batch (no drain), the next mlock drains
    it: 4 munlocked."""
    body = {"length": 4 * PAGE_SIZE, "prot": ["PROT_READ", "PROT_WRITE"]}
    body["flags"] = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
    addr = int(http.post(f"/processes/{pid}/mmap", json=body).json()["addr"], 16)
    machine = http.get("/vmstat").json()["events"]
    before = [machine[e] for e in MLOCK_EVENTS]
    for i in range(3):
        fault = {"addr": addr + i * PAGE_SIZE, "access": "write"}
        assert http.post(f"/processes/{pid}/faults", json=fault).status_code == 200
    r = http.post(f"/processes/{pid}/mlock", json={"addr": addr, "length": 4 * PAGE_SIZE})
    assert r.status_code == 204, r.text
    counts = [(_proc(http, pid)["events"][e]) for e in MLOCK_EVENTS]
    assert counts == [4, 0]
    r = http.post(f"/processes/{pid}/munmap", json={"addr": addr, "length": 4 * PAGE_SIZE})
    assert r.status_code == 204, r.text
    assert [(_proc(http, pid)["events"][e]) for e in MLOCK_EVENTS] == [4, 0]
    addr = int(http.post(f"/processes/{pid}/mmap", json=body).json()["addr"], 16)
    r = http.post(f"/processes/{pid}/mlock", json={"addr": addr, "length": PAGE_SIZE})
    assert r.status_code == 204, r.text
    assert [(_proc(http, pid)["events"][e]) for e in MLOCK_EVENTS] == [5, 4]
    machine = http.get("/vmstat").json()["events"]
    assert [machine[e] - b for e, b in zip(MLOCK_EVENTS, before, strict=True)] == [5, 4]
