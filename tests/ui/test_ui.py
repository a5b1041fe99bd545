"""The live page at ``/ui`` in headless Chromium against the live server: it loads
from the server alone, opens on the newest process (or says how to make one), creates a
process, maps and faults through the forms and shows the map and the counters change,
walks through the munmap race step by step, and stays responsive with 65,530 VMAs.

The page is checked against the server's own answers (``/maps``, ``/vmstat``,
``/pause-points``) read over HTTP by the test, never against hard-coded layouts.
Screenshots: ``tests/ui/artifacts/``; with ``VMASIM_UPDATE_SCREENSHOT=1`` the race
test also rewrites the README's ``docs/img/ui.png``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.deployment import Deployment
from app.main import create_app
from app.routes.ui import UI_DIR
from app.settings import Settings
from tests.app.conftest import LiveServer
from tests.app.live import serve
from tests.concurrency import wait_until
from tests.ui.conftest import ARTIFACTS, guarded_page

#: CPU-heavy (real threads for wall-clock cells, or a browser): generous for a machine
#: other work keeps busy, where this module's tests took up to a minute each.
pytestmark = pytest.mark.timeout(180)
JOB_WAIT_S = 150
"""How long a test waits for its experiment job (within the module's timeout): a few
seconds on a quiet machine, 15 with four CPU hogs beside the suite; over 60 once, on a
machine also building images and recording programs."""

README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "ui.png"
RACE_ADDR = 0x200000000000
PAGE = 4096


def _open(page: Any, live_server: LiveServer, pid: int | None = None) -> None:
    page.goto(f"{live_server.url}/ui" + (f"#pid={pid}" if pid is not None else ""))
    page.wait_for_selector("body[data-ready=true]")


def _model_has(page: Any, start: int) -> Any:
    """Wait until the page's map holds a VMA starting at ``start`` (bytes)."""
    return page.wait_for_function(
        """(start) => {
            const m = window.vmasimUi.state.model;
            if (!m) return false;
            for (let i = 0; i < m.n; i++) if (m.start[i] === start) return true;
            return false;
        }""",
        arg=start // PAGE,
    )


def _counter(page: Any, event: str) -> int:
    return int(page.inner_text(f"#events-table tr[data-event={event}] .total"))


def _vmstat(http: httpx.Client, pid: int) -> dict[str, Any]:
    body: dict[str, Any] = http.get("/vmstat", params={"pid": pid}).json()["processes"][0]
    return body


def test_page_is_served_locally_and_kept_out_of_the_openapi_document(
    http: httpx.Client,
) -> None:
    r = http.get("/ui")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    refs = re.findall(r"(?:src|href)=\"([^\"]+)\"", r.text)
    assert refs, "the page references no asset"
    for ref in refs:
        assert not re.match(r"(?:https?:)?//", ref), ref  # no CDN, no other host
    local = [ref for ref in refs if ref.startswith("/ui/assets/")]
    assert local
    for ref in local:
        assert http.get(ref).status_code == 200, ref
    # Every module the page imports is served too (they import each other by path).
    for js in sorted((UI_DIR / "js").glob("*.js")):
        served = http.get(f"/ui/assets/js/{js.name}")
        assert served.status_code == 200 and served.text == js.read_text(), js.name
        assert not re.search(r"""(?:import|from)\s*["'](?:https?:)?//""", served.text), js.name
    assert http.get("/ui/").status_code in (200, 307)
    paths = http.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def _state(page: Any, key: str) -> Any:
    return page.evaluate(f"() => window.vmasimUi.state.{key}")


def _wait_live(page: Any, pid: int) -> None:
    """Wait until the page shows ``pid`` from a snapshot of its maps stream."""
    page.wait_for_function(
        "(pid) => window.vmasimUi.state.pid === pid && window.vmasimUi.state.model !== null"
        " && document.querySelector('#map-info').textContent.startsWith(`pid ${pid}:`)",
        arg=pid,
        timeout=30_000,
    )


def test_first_open_shows_the_newest_process_and_names_it_in_the_url(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    older = http.post("/processes", json={"name": "older", "layout": "typical"}).json()["pid"]
    newest = http.post("/processes", json={"name": "newest", "layout": "typical"}).json()["pid"]
    try:
        assert max(p["pid"] for p in http.get("/processes").json()["processes"]) == newest
        _open(page, live_server)
        _wait_live(page, newest)
        assert page.evaluate("() => location.hash") == f"#pid={newest}"
        assert page.input_value("#pid-select") == str(newest)
        assert page.inner_text("#stream-status").startswith("live: ")

        # One figure for "VMAs" (the kernel's map_count) in the header, the process
        # list, the counters and the REST answer; the header also accounts for the
        # maps line that is not a VMA of the tree.
        rest = http.get(f"/processes/{newest}").json()["map_count"]
        maps = http.get(f"/processes/{newest}/maps").text.splitlines()
        assert maps[-1].endswith("[vsyscall]") and len(maps) == rest + 1
        header = page.inner_text("#map-info")
        label = f"{rest} VMAs (map_count; maps shows {len(maps)} lines incl. [vsyscall])"
        assert header.startswith(f"pid {newest}: {label}, "), header
        option = page.inner_text(f"#pid-select option[value='{newest}']")
        assert option == f"{newest} newest ({rest} VMAs)"
        counters = page.locator("#mmap-lock-table td[data-key='VMAs, faults']")
        counters.wait_for()
        texts = (header, option, counters.inner_text())
        assert [re.findall(r"(\d+) VMAs", text) for text in texts] == [[str(rest)]] * 3, texts
        for sel in ("#map-info", "#pid-select"):
            assert "map_count" in page.get_attribute(sel, "title")
        page.screenshot(path=str(ARTIFACTS / "first_open.png"), full_page=False)

        # An edited URL switches to that process; a reload keeps it.
        page.evaluate("(pid) => { location.hash = `#pid=${pid}`; }", older)
        _wait_live(page, older)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        _wait_live(page, older)
        assert page.evaluate("() => location.hash") == f"#pid={older}"

        # A pid that does not exist: said so, and the newest is shown instead.
        missing = newest + 1_000_000
        page.evaluate("(pid) => { location.hash = `#pid=${pid}`; }", missing)
        page.wait_for_selector(f"#toast:has-text('process {missing} does not exist')")
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        _wait_live(page, newest)
        assert page.evaluate("() => location.hash") == f"#pid={newest}"
        assert f"process {missing} does not exist; showing the newest, {newest}" in (
            page.inner_text("#toast")
        )
    finally:
        http.delete(f"/processes/{older}")
        http.delete(f"/processes/{newest}")


def test_without_processes_the_page_says_how_to_make_one(browser: Any) -> None:
    """On a service with no process the page names the next step, shows the first
    process that appears (the list is polled every 5 s), and says it again once that
    process exits."""
    app = create_app(Settings(), deployment=Deployment())
    with (
        serve(app) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
        guarded_page(browser, server.url) as pg,
    ):
        pg.goto(f"{server.url}/ui")
        pg.wait_for_selector("body[data-ready=true]")
        status = pg.inner_text("#stream-status")
        assert status.startswith("no process yet: create one"), status
        assert "new empty process" in status and "new typical process" in status
        for button in ("#create-empty", "#create-typical"):
            assert "cta" in pg.get_attribute(button, "class")
        assert _state(pg, "pid") is None
        assert pg.evaluate("() => window.vmasimUi.view.emptyText").startswith("no process yet")
        assert pg.evaluate("() => location.hash") == ""
        pg.screenshot(path=str(ARTIFACTS / "no_process.png"), full_page=False)

        pid = client.post("/processes", json={"layout": "typical"}).json()["pid"]
        _wait_live(pg, pid)
        assert pg.evaluate("() => location.hash") == f"#pid={pid}"
        assert pg.get_attribute("#create-empty", "class") in (None, "")

        pg.click("#delete-process")
        pg.wait_for_function(
            "() => document.querySelector('#stream-status').textContent"
            ".startsWith('no process yet')"
        )
        assert client.get("/processes").json()["processes"] == []
        assert "cta" in pg.get_attribute("#create-typical", "class")


def test_create_mmap_fault_and_see_the_map_and_counters_change(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    _open(page, live_server)
    before = {p["pid"] for p in http.get("/processes").json()["processes"]}
    page.click("#create-empty")
    page.wait_for_function("() => window.vmasimUi.state.snapshots >= 1")
    pid = page.evaluate("() => window.vmasimUi.state.pid")
    assert pid not in before and pid in {
        p["pid"] for p in http.get("/processes").json()["processes"]
    }
    n0 = page.evaluate("() => window.vmasimUi.state.model.n")
    assert n0 == len(http.get(f"/processes/{pid}/maps").text.splitlines())

    # mmap through the form: 8 pages at a fixed address, read-write, private anonymous.
    addr = 0x100000000000
    form = page.locator("#mmap-form")
    form.locator("input[name=addr]").fill(hex(addr))
    form.locator("input[name=length]").fill(hex(8 * PAGE))
    form.locator("input[name=fixed]").check()
    page.click("#do-mmap")
    _model_has(page, addr)
    text = http.get(f"/processes/{pid}/maps").text
    lines = text.splitlines()
    assert page.evaluate("() => window.vmasimUi.state.model.n") == len(lines) == n0 + 1
    line = next(v for v in lines if v.startswith(f"{addr:x}-"))
    assert page.evaluate("() => window.vmasimUi.state.model.lines") == lines

    # Hovering over the new VMA shows its exact maps line.
    x, y = page.evaluate(
        """(start) => {
            const v = window.vmasimUi.view;
            const m = v.model;
            const i = [...m.start].indexOf(start);
            const mid = (v.axis.x0[i] + v.axis.x1[i]) / 2;
            const perRow = v.span / v.rows;
            const row = Math.floor((mid - v.view0) / perRow);
            const px = ((mid - v.view0 - row * perRow) / perRow) * v.canvas.width;
            const r = v.canvas.getBoundingClientRect();
            const k = r.width / v.canvas.width;
            return [r.left + px * k, r.top + (row * 46 + 30) * (r.height / v.canvas.height)];
        }""",
        addr // PAGE,
    )
    page.mouse.move(x, y)
    page.wait_for_selector("#tooltip:not([hidden])")
    assert page.inner_text("#tooltip .line") == line
    page.mouse.click(x, y)
    assert page.input_value("#fault-form input[name=addr]") == hex(addr)

    # A write fault through the form: the counters move on the page as on the server.
    page.wait_for_selector("#events-table tr[data-event=pgfault]")
    faults0 = _counter(page, "pgfault")
    page.select_option("#fault-form select[name=access]", "write")
    page.click("#do-fault")
    page.wait_for_function(
        "(n) => Number(document.querySelector("
        "'#events-table tr[data-event=pgfault] .total').textContent) > n",
        arg=faults0,
    )
    assert '"outcome":"ok"' in page.inner_text("#op-result")
    server = _vmstat(http, pid)
    assert _counter(page, "pgfault") == server["events"]["pgfault"] == faults0 + 1
    per_vma = sum(server["events"][f"vma_lock_{k}"] for k in ("success", "abort", "miss"))
    assert per_vma >= 1  # the fault went through lock_vma_under_rcu first
    assert _counter(page, "vma_lock_success") == server["events"]["vma_lock_success"]
    # The resident page shows up (smaps Rss of the VMA, in kB).
    page.wait_for_function(
        "(start) => { const m = window.vmasimUi.state.model;"
        " const i = [...m.start].indexOf(start); return m.rss[i] === 4; }",
        arg=addr // PAGE,
    )
    assert server["rss"]["anon"] == 1
    page.screenshot(path=str(ARTIFACTS / "mmap_fault.png"), full_page=True)
    http.delete(f"/processes/{pid}")


def test_lock_seal_and_name_controls(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    """The lock/seal/name form and the mlockall buttons issue the calls: the server's
    maps and smaps show their effect, and so does the page's map."""
    pid = http.post("/processes", json={"name": "locks"}).json()["pid"]
    addr = 0x100000000000
    body = {"addr": addr, "length": 8 * PAGE, "prot": ["PROT_READ", "PROT_WRITE"]}
    body["flags"] = ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]
    assert http.post(f"/processes/{pid}/mmap", json=body).status_code == 200
    _open(page, live_server, pid)
    _model_has(page, addr)
    form = page.locator("#lock-form")

    def apply(call: str, start: int, pages: int, name: str = "") -> None:
        form.locator("select[name=call]").select_option(call)
        form.locator("input[name=addr]").fill(hex(start))
        form.locator("input[name=length]").fill(hex(pages * PAGE))
        form.locator("input[name=name]").fill(name)
        page.click("#do-lock")
        page.wait_for_function(
            "(c) => document.querySelector('#op-result').textContent.startsWith(c + ': ok')",
            arg=call,
        )

    apply("mlock", addr + PAGE, 2)
    _model_has(page, addr + PAGE)  # the split shows on the page
    apply("mseal", addr + 4 * PAGE, 1)
    apply("prctl", addr + 6 * PAGE, 1, "jit")
    form.locator("select[name=advice]").select_option("MADV_DONTFORK")
    apply("madvise", addr + 7 * PAGE, 1)
    page.wait_for_function(
        "() => window.vmasimUi.state.model.lines.some((l) => l.endsWith('[anon:jit]'))"
    )
    smaps = http.get(f"/processes/{pid}/smaps").text
    assert " lo " in smaps and " sl " in smaps and " dc " in smaps
    assert http.get(f"/processes/{pid}").json()["locked_vm"] == 2
    page.locator("#mlockall-form input[name=future]").check()
    page.click("#do-mlockall")
    page.wait_for_function(
        "() => document.querySelector('#op-result').textContent.startsWith('mlockall: ok')"
    )
    assert http.get(f"/processes/{pid}").json()["locked_vm"] == 8
    page.click("#do-munlockall")
    page.wait_for_function(
        "() => document.querySelector('#op-result').textContent.startsWith('munlockall: ok')"
    )
    assert http.get(f"/processes/{pid}").json()["locked_vm"] == 0
    page.goto("about:blank")  # stop the page's polling before the process goes
    http.delete(f"/processes/{pid}")


def test_race_step_by_step(page: Any, live_server: LiveServer, http: httpx.Client) -> None:
    _open(page, live_server)
    page.click("#create-typical")
    page.wait_for_function("() => window.vmasimUi.state.snapshots >= 1")
    pid = page.evaluate("() => window.vmasimUi.state.pid")
    page.fill("#race-timeout", "800")

    page.click("#race-prepare")
    page.wait_for_selector("#race-s1.ok")
    maps = http.get(f"/processes/{pid}/maps").text
    assert f"{RACE_ADDR:x}-{RACE_ADDR + 4 * PAGE:x} rw-p" in maps
    assert f"{RACE_ADDR:x}-{RACE_ADDR + 4 * PAGE:x} rw-p" in page.inner_text(
        "[data-col=before] pre"
    )

    page.click("#race-arm")
    page.wait_for_selector("#race-s2.ok")
    state = http.get(f"/processes/{pid}/pause-points").json()
    assert [p["name"] for p in state["points"] if p["armed"]] == ["munmap:before_clear"]

    page.click("#race-run")
    page.wait_for_selector("#race-s3.ok")
    held = http.get(f"/processes/{pid}/pause-points").json()["held"]
    assert [(h["point"], h["op"]) for h in held] == [("munmap:before_clear", "munmap")]
    assert _vmstat(http, pid)["mmap_lock"]["write_locked"]

    page.click("#race-read")
    page.wait_for_selector("#race-s4.ok")
    # At the held moment: the mmap_lock reader gave up (client-side timeout); the two
    # others are still queued on mmap_lock behind the writer, as /vmstat says.
    assert "blocked" in page.get_attribute("[data-col=mmap_lock]", "class")
    assert "client-side timeout" in page.inner_text("[data-col=mmap_lock] .meta")
    waiting = [
        c
        for c in ("seqcount", "per_vma")
        if "waiting" in page.get_attribute(f"[data-col={c}]", "class")
    ]
    # The page marks a column waiting when its read has not answered; on a loaded
    # machine the request may still be on its way to the server, so wait for it to
    # queue (the abandoned mmap_lock read is queued too).
    wait_until(
        lambda: _vmstat(http, pid)["mmap_lock"]["rwsem"]["waiting_readers"] >= 1 + len(waiting),
        timeout=120,
        what="the page's readers queued on mmap_lock",
    )
    assert re.search(r"\b[1-9]\d* reader\(s\) queued", page.inner_text("#race-s4"))
    assert http.get(f"/processes/{pid}/pause-points").json()["held"], "released too early"
    page.screenshot(path=str(ARTIFACTS / "race_held.png"), full_page=True)

    page.click("#race-release")
    page.wait_for_selector("#race-s5.ok")
    assert http.get(f"/processes/{pid}/pause-points").json()["held"] == []
    after = http.get(f"/processes/{pid}/maps").text
    left = f"{RACE_ADDR:x}-{RACE_ADDR + PAGE:x} rw-p"
    right = f"{RACE_ADDR + 2 * PAGE:x}-{RACE_ADDR + 4 * PAGE:x} rw-p"
    assert left in after and right in after
    shown = page.inner_text("[data-col=after] pre")
    assert left in shown and right in shown
    # The seqcount reader retried while mm_lock_seq was odd, then fell back; its
    # figures on the page are the server's (the snapshot metadata it returned).
    for reader in ("seqcount", "per_vma"):
        meta = page.inner_text(f"[data-col={reader}] .meta")
        assert "fell back yes" in meta, (reader, meta)
    seq_meta = page.inner_text("[data-col=seqcount] .meta")
    attempts = int(re.search(r"attempts (\d+)", seq_meta).group(1))  # type: ignore[union-attr]
    assert attempts == 4  # max_retries=3 failed lockless walks + the locked one
    assert "write-locked" in seq_meta
    row = page.locator("#readers-table tr[data-reader=seqcount] .attempts")
    assert int(row.inner_text()) >= 1
    page.wait_for_function(
        "() => !document.querySelector('#mmap-lock-table').textContent.includes('write-locked')"
    )
    page.screenshot(path=str(ARTIFACTS / "race_released.png"), full_page=True)
    if os.environ.get("VMASIM_UPDATE_SCREENSHOT"):
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / "race_released.png", README_SHOT)
    http.delete(f"/processes/{pid}")


def _maps_with(n: int) -> str:
    """A maps text of ``n`` one-page anonymous VMAs, one page apart, kinds and
    permissions varied so that nothing merges."""
    out = []
    base = 0x10000000
    for i in range(n):
        start = base + 2 * i * PAGE
        perms = ("rw-p", "r--p", "rw-s")[i % 3]
        out.append(f"{start:08x}-{start + PAGE:08x} {perms} 00000000 00:00 0 \n")
    return "".join(out)


@pytest.mark.timeout(900)  # generous: a loaded machine took over 60 s for the import
def test_65530_vmas_stay_responsive(page: Any, live_server: LiveServer, http: httpx.Client) -> None:
    n = live_server.service.settings.max_map_count
    r = http.post("/processes", json={"name": "many", "maps": _maps_with(n)}, timeout=300)
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    lines = http.get(f"/processes/{pid}/maps", timeout=180).text.count("\n")
    assert lines >= n
    t0 = time.monotonic()
    _open(page, live_server, pid)
    page.wait_for_function(
        "(n) => window.vmasimUi.state.model && window.vmasimUi.state.model.n === n"
        " && window.vmasimUi.view.stats.frames > 0",
        arg=lines,
        timeout=120_000,
    )
    loaded = time.monotonic() - t0
    # The whole map in one frame: the walk draws at most a few rectangles per pixel
    # column of each row (mapview.js), so far fewer than there are VMAs. Bounded work,
    # not a frame time: this machine may be busy.
    full = page.evaluate(
        "() => ({rects: window.vmasimUi.view.stats.drawnRects,"
        " frames: window.vmasimUi.view.stats.frames,"
        " width: window.vmasimUi.view.canvas.width, rows: window.vmasimUi.view.rows})"
    )
    assert 0 < full["rects"] <= 2 * full["rows"] * (full["width"] + 1) < lines, full
    # Canvas rendering: the DOM stays small whatever the number of VMAs.
    assert page.evaluate("() => document.getElementsByTagName('*').length") < 1000
    canvas = page.locator("#map").bounding_box()
    x, y = canvas["x"] + canvas["width"] / 3, canvas["y"] + 30
    page.mouse.move(x, y)
    for _ in range(12):  # zoom in around the cursor, then out again
        page.mouse.wheel(0, -300)
    for _ in range(6):
        page.mouse.wheel(0, 300)
    page.mouse.move(x + 5, y)
    page.wait_for_selector("#tooltip:not([hidden])")
    hovered = page.inner_text("#tooltip .line")
    assert hovered in http.get(f"/processes/{pid}/maps", timeout=180).text or hovered.startswith(
        "gap "
    )
    # Frame and zoom times are recorded with the screenshot, not asserted (benchmarks
    # measure speed; this machine may be busy).
    latency = page.evaluate(
        """async () => {
            const t0 = performance.now();
            window.vmasimUi.view.zoom(0.5);
            await new Promise((r) => requestAnimationFrame(() => r()));
            await new Promise((r) => setTimeout(r, 0));
            return performance.now() - t0;
        }"""
    )
    stats = page.evaluate("() => window.vmasimUi.view.stats")
    parse_ms = page.evaluate("() => window.vmasimUi.state.lastParseMs")
    page.screenshot(path=str(ARTIFACTS / "many_vmas.png"), full_page=False)
    (ARTIFACTS / "many_vmas.txt").write_text(
        f"vmas={lines} load_s={loaded:.2f} parse_ms={parse_ms:.1f} "
        f"frame_ms_max={stats['maxFrameMs']:.1f} frame_ms_last={stats['lastFrameMs']:.1f} "
        f"frames={stats['frames']} rects={stats['drawnRects']} zoom_latency_ms={latency:.1f}\n"
    )
    assert stats["frames"] > full["frames"] and stats["drawnRects"] > 0, stats
    # 65,530 VMAs to unmap while the page still reads them: generous on a busy machine.
    http.delete(f"/processes/{pid}", timeout=180)


def test_a_process_too_big_to_draw_is_loaded_as_runs(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    """Above the overview threshold (lowered here through the URL; 131,072 VMAs by
    default) the page streams ``format=overview``: runs of consecutive VMAs, never the
    whole text, with the process's counts exact."""
    n = 20_000
    r = http.post("/processes", json={"name": "runs", "maps": _maps_with(n)}, timeout=60)
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    page.goto(f"{live_server.url}/ui#pid={pid}&overview_above=1000")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function(
        "(n) => window.vmasimUi.state.model && window.vmasimUi.state.model.mapCount === n"
        " && window.vmasimUi.view.stats.frames > 0",
        arg=n,
        timeout=30_000,
    )
    model = page.evaluate(
        "() => { const m = window.vmasimUi.state.model;"
        " return {n: m.n, runs: m.vmas ? Array.from(m.vmas) : null, pages: m.mappedPages}; }"
    )
    lines = http.get(f"/processes/{pid}/maps", timeout=60).text.count("\n")
    assert model["runs"] is not None and sum(model["runs"]) == lines >= n
    assert model["n"] < n and model["pages"] == n
    assert "runs of consecutive VMAs" in page.inner_text("#map-info")
    assert f"{n} VMAs" in page.inner_text("#map-info")
    http.delete(f"/processes/{pid}", timeout=60)


@pytest.mark.parametrize("layout", ["typical"])
def test_background_workload_moves_the_counters(
    page: Any, live_server: LiveServer, http: httpx.Client, layout: str
) -> None:
    _open(page, live_server)
    page.click(f"#create-{layout}")
    page.wait_for_function("() => window.vmasimUi.state.snapshots >= 1")
    pid = page.evaluate("() => window.vmasimUi.state.pid")
    before = _vmstat(http, pid)
    form = page.locator("#workload-form")
    form.locator("input[name=faulters]").fill("2")
    form.locator("input[name=scanners]").fill("2")
    form.locator("input[name=seconds]").fill("2")
    page.click("#workload-start")
    page.wait_for_selector("#workload-status:has-text('finished')", timeout=20_000)
    status = page.inner_text("#workload-status")
    found = re.search(r"\((\d+) faults of which (\d+) signalled", status)
    assert found, status
    faults, signals = int(found.group(1)), int(found.group(2))
    assert faults > signals and " 0 errors" in status, status
    after = _vmstat(http, pid)
    # Every fault that did not end in a signal reached handle_mm_fault: one pgfault.
    assert after["events"]["pgfault"] - before["events"]["pgfault"] >= faults - signals
    assert after["mmap_lock"]["write_cycles"] > before["mmap_lock"]["write_cycles"]
    page.wait_for_function(
        "(n) => Number(document.querySelector("
        "'#events-table tr[data-event=pgfault] .total').textContent) >= n",
        arg=after["events"]["pgfault"],
    )
    for reader in ("seqcount", "per_vma"):
        reads = page.inner_text(f"#readers-table tr[data-reader={reader}] .reads")
        assert int(reads) >= 1
    page.screenshot(path=str(ARTIFACTS / "workload.png"), full_page=True)
    http.delete(f"/processes/{pid}")


def _experiment_on_page(
    page: Any, live_server: LiveServer, http: httpx.Client, name: str, cell_s: str
) -> tuple[Any, dict[str, Any]]:
    """Start experiment ``name`` from the page's form; its finished job's box on the
    page and the server's view of the job (done)."""
    if "/experiments" not in http.get("/openapi.json").json()["paths"]:
        pytest.skip("this server has no /experiments route")
    _open(page, live_server)
    form = page.locator("#experiment-form")
    form.wait_for()
    form.locator("select[name=name]").select_option(name)
    form.locator("input[name=cell]").fill(cell_s)
    page.click("#experiment-start")
    # This job's box (the server may hold other tests' finished jobs, shown too).
    job = page.locator("#experiments-body .experiment", has_text=name).first
    job.wait_for(timeout=JOB_WAIT_S * 1000)
    server = http.get(f"/experiments/{int(job.get_attribute('data-job'))}").json()
    assert server["state"] == "done" and server["name"] == name
    return job, server


def test_experiment_results_show_a_finished_job(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    job, server = _experiment_on_page(page, live_server, http, "fault-scaling", "0.05")
    rows = server["result"]["rows"]
    # The table on the page holds the server's rows, and the plot is the server's PNG
    # (or, without matplotlib, a plot drawn from the rows).
    assert job.locator("table").last.locator("tbody tr").count() == len(rows)
    job.locator("img.plot, canvas").first.wait_for()
    assert page.evaluate("() => document.querySelector('#experiments-body').dataset.state") == (
        "results"
    )
    page.locator("#experiments").screenshot(path=str(ARTIFACTS / "experiments.png"))


def test_monitor_vs_workload_results_show_each_runs_p99(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    """monitor-vs-workload rows carry lists (each run's p99): the page's table shows
    them as JSON, one row per cell."""
    job, server = _experiment_on_page(page, live_server, http, "monitor-vs-workload", "0.2")
    rows = server["result"]["rows"]
    table = job.locator("table").last
    assert table.locator("tbody tr").count() == len(rows) == 6
    column = table.locator("thead th").all_inner_texts().index("mmap_p99_runs_ms")
    shown = table.locator("tbody tr").first.locator("td").nth(column).inner_text()
    assert json.loads(shown) == rows[0]["mmap_p99_runs_ms"]


def test_map_module_reads_the_servers_text_exactly(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    """``maps.js`` (run in the page) against the server's own views of one process: the
    addresses of ``/maps.json``, the kinds implied by the paths, ``Rss`` of ``/smaps``,
    and the axis mapping back to the addresses at every VMA start, in every scale."""
    pid = http.post("/processes", json={"layout": "typical"}).json()["pid"]
    stack = next(
        v for v in http.get(f"/processes/{pid}/maps.json").json()["vmas"] if v["path"] == "[stack]"
    )
    http.post(f"/processes/{pid}/faults", json={"addr": stack["start"], "access": "write"})
    text = http.get(f"/processes/{pid}/maps").text
    vmas = http.get(f"/processes/{pid}/maps.json").json()["vmas"]
    smaps = http.get(f"/processes/{pid}/smaps").text
    rss_at: dict[str, int] = {}  # start -> Rss kB (smaps may lack [vsyscall]: see
    start = ""  # docs/kernel-differences.md)
    for line in smaps.splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            start = "0x" + line.split("-", 1)[0]
        elif line.startswith("Rss:"):
            rss_at[start] = int(line.split()[1])
    assert any(rss_at.values()), "the fault made nothing resident"
    _open(page, live_server)
    got = page.evaluate(
        """async ([text, smaps]) => {
            const M = await import("/ui/assets/js/maps.js");
            const m = M.parseMaps(text);
            M.parseSmapsRss(smaps, m);
            const back = {};
            for (const scale of M.SCALES) {
                const axis = M.buildAxis(m, scale);
                back[scale] = [...m.start].map((s, i) => M.pageAt(m, axis, axis.x0[i]) === s);
                back[scale + "-gaps"] = [...m.start].slice(1).map((s, i) => {
                    const mid = (axis.x1[i] + axis.x0[i + 1]) / 2;
                    const p = M.pageAt(m, axis, mid);
                    return axis.x0[i + 1] === axis.x1[i] || (p >= m.end[i] && p <= s);
                });
            }
            return {
                n: m.n,
                starts: [...m.start].map(M.hexPage),
                ends: [...m.end].map(M.hexPage),
                kinds: [...m.kind].map((k) => M.KINDS[k]),
                perms: m.perms,
                rss: [...m.rss],
                back,
            };
        }""",
        [text, smaps],
    )
    assert got["n"] == len(vmas)
    assert got["starts"] == [v["start"] for v in vmas]
    assert got["ends"] == [v["end"] for v in vmas]  # [vsyscall] too: beyond 2^53 bytes
    assert got["perms"] == [v["perms"] for v in vmas]
    for v, kb in zip(vmas, got["rss"], strict=True):
        if v["start"] in rss_at:
            assert kb == rss_at[v["start"]], v
        else:
            assert math.isnan(kb), v  # unknown, not 0
    for v, kind in zip(vmas, got["kinds"], strict=True):
        path = v["path"]
        if path in ("[heap]", "[stack]"):
            assert kind == path[1:-1], v
        elif path.startswith("["):
            assert kind == "special", v
        elif v["perms"].endswith("s"):
            assert kind == "shared", v
        else:
            assert kind == ("file" if path.startswith("/") else "anon"), v
    assert {"heap", "stack", "special", "file", "anon"} <= set(got["kinds"])
    for scale, ok in got["back"].items():
        assert all(ok), scale
    http.delete(f"/processes/{pid}")


def test_machine_picker_shows_and_acts_on_the_machine_picked(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    """Issue 21: the picker lists the machines; picking one shows its newest process
    (the same pid number as one of the default machine, another map), names the
    machine in the URL, and the page's buttons act on that machine only."""
    name = "ui-picker"
    assert http.post("/machines", json={"id": name}).status_code == 201
    prefix = f"/machines/{name}"
    try:
        pid = http.post(f"{prefix}/processes", json={"name": "on-m"}).json()["pid"]
        addr = 0x300000000000
        mapped = {"addr": addr, "length": 5 * PAGE, "prot": ["PROT_READ"]}
        flags = {"flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]}
        r = http.post(f"{prefix}/processes/{pid}/mmap", json={**mapped, **flags})
        assert r.status_code == 200, r.text
        _open(page, live_server)
        options = page.eval_on_selector_all("#machine-select option", "os => os.map(o => o.value)")
        assert options[0] == "default" and name in options
        page.select_option("#machine-select", name)
        _wait_live(page, pid)
        _model_has(page, addr)
        assert page.evaluate("() => location.hash") == f"#machine={name}&pid={pid}"
        before = {p["pid"] for p in http.get("/processes").json()["processes"]}
        page.click("#create-empty")
        page.wait_for_function(
            "(pid) => window.vmasimUi.state.pid !== null && window.vmasimUi.state.pid !== pid",
            arg=pid,
        )
        created = _state(page, "pid")
        mine = {p["pid"] for p in http.get(f"{prefix}/processes").json()["processes"]}
        assert mine == {pid, created}
        assert {p["pid"] for p in http.get("/processes").json()["processes"]} == before
        # A reload keeps the machine and process the URL names.
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        _wait_live(page, created)
        assert page.input_value("#machine-select") == name
    finally:
        http.delete(f"/machines/{name}")


def test_picking_a_machine_while_the_jobs_load_shows_none_of_the_old_machines(
    page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    """The experiments panel's refresh is bound to the machine it started on: when the
    default machine's job list answers after another machine was picked, the page
    fetches nothing of that list from the new machine (its job, its plot: a 404) and
    shows none of it there. The list's answer is held back until the other machine is
    picked, so the order is certain."""
    if "/experiments" not in http.get("/openapi.json").json()["paths"]:
        pytest.skip("this server has no /experiments route")
    r = http.post("/experiments", json={"name": "fault-scaling", "cell_seconds": 0.05})
    assert r.status_code == 202, r.text
    job = r.json()["id"]

    def finished() -> bool:
        return http.get(f"/experiments/{job}").json()["state"] in ("done", "failed")

    wait_until(finished, timeout=JOB_WAIT_S, what=f"experiment job {job} finished")
    assert http.get(f"/experiments/{job}").json()["state"] == "done"
    name = "ui-jobs-race"
    assert http.post("/machines", json={"id": name}).status_code == 201
    held: list[Any] = []
    default_list = f"{live_server.url}/experiments"

    def hold(route: Any) -> None:
        if route.request.url == default_list and not held:
            held.append(route)  # answered below, after the other machine is picked
        else:
            route.fallback()

    def asked() -> bool:
        page.wait_for_timeout(50)  # Playwright delivers the route to hold() meanwhile
        return bool(held)

    try:
        page.route("**/experiments", hold)  # runs before guarded_page's route
        _open(page, live_server)
        wait_until(asked, timeout=60, what="the page asked for the default machine's jobs")
        page.select_option("#machine-select", name)
        page.wait_for_function("() => window.vmasimUi.experiments.epoch === 1")
        held[0].fallback()
        page.evaluate("() => window.vmasimUi.experiments.idle()")
        body = page.locator("#experiments-body")
        assert body.locator(".experiment").count() == 0
        assert body.get_attribute("data-state") == "empty"
    finally:
        http.delete(f"/machines/{name}")


def test_a_reload_revalidates_the_openapi_document(browser: Any, live_server: LiveServer) -> None:
    """The experiments panel reads ``/openapi.json`` at every load; a returning page
    gets it from the browser's cache, revalidated by its ETag (304: headers only), not
    its ~280 KB again. A plain context: the guarded page's request routing would turn
    the HTTP cache off."""
    context = browser.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        ids: set[str] = set()
        wire: list[int] = []

        def response(e: dict[str, Any]) -> None:
            if e["response"]["url"].endswith("/openapi.json"):
                ids.add(e["requestId"])

        def finished(e: dict[str, Any]) -> None:
            if e["requestId"] in ids:
                wire.append(int(e["encodedDataLength"]))

        cdp.on("Network.responseReceived", response)
        cdp.on("Network.loadingFinished", finished)
        for k in range(2):
            page.goto(f"{live_server.url}/ui")
            page.wait_for_selector("body[data-ready=true]")
            # The panel has read the document once it has a state.
            page.wait_for_function(
                "() => document.querySelector('#experiments-body').dataset.state !== undefined",
                timeout=30_000,
            )
            # CDP events are delivered while this thread calls into Playwright.
            loads = k + 1
            wait_until(
                lambda: page.evaluate("1") and len(wire) >= loads,  # noqa: B023 (waited here)
                what="the document's load finished",
                timeout=30,
            )
        assert wire[0] > 100_000 and wire[1] < 2_000, wire
    finally:
        context.close()
