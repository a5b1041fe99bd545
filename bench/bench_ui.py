"""Benchmark: the live page (``/ui``) on a process of 2,200,000 VMAs, in a real browser.

Run from the repository root::

    nice .venv/bin/python bench/bench_ui.py                   # 100, 65,530, 2,200,000 VMAs
    nice .venv/bin/python bench/bench_ui.py --sizes 100,65530,220000 --rounds 2
    nice .venv/bin/python bench/bench_ui.py --json bench/results/bench_ui.json

One real uvicorn server (``bench_million.start_server``, mode ``off``, on ``--port``)
gets one process per size of ``--sizes``, built through ``POST /processes/{pid}/syscalls``
by ``bench_million.rest_build`` (one-page VMAs alternating ``rw-p``/``r--p``, verified
against the expected layout). Then, ``--rounds`` times, the sizes in turn: headless
Chromium (Debian's ``/usr/bin/chromium`` through Playwright, as ``tests/ui`` drives it;
a fresh browser context per load, so nothing is cached) opens ``/ui#pid=N`` and the
benchmark measures, until the page's first complete draw of that process:

* **time to the draw**: ``performance.now()`` (milliseconds since the navigation
  started) when the map's ``MapView.draw`` first ran with a model holding the process's
  ``map_count`` VMAs (the signal ``tests/ui`` waits for: ``state.model.mapCount === n``
  and a frame drawn); and when the snapshot's model was set (``view.setModel``). Both
  methods are wrapped on the page's own ``MapView`` instance, checked to happen before
  the first snapshot arrives;
* **bytes**: the bytes of the bodies the page received until the draw, by request (CDP
  ``Network.dataReceived``'s ``dataLength``): the maps stream counts its first
  snapshot. (Its ``encodedDataLength``, the bytes on the wire, Chromium reports for a
  chunked response only when the response ends; a stream open at the draw has none.)
* **the maps stream**: when the page sent its request, and received its first and
  last data before the draw (CDP ``Network`` timestamps, ms from the document's
  request): the server's share of the wait;
* **long tasks**: the main thread's tasks over 50 ms (``PerformanceObserver``,
  ``longtask``, buffered from the document's start), their count, longest and total
  blocking time (the sum of each one's excess over 50 ms), until the draw;
* **JS heap**: CDP ``Performance.getMetrics`` ``JSHeapUsedSize`` at the draw, and again
  after ``--settle`` seconds with the page open;
* **input**: while the page loads the benchmark presses Shift every ~50 ms (CDP input
  through Playwright); a ``keydown`` listener on the page records the delay from the
  event's creation (``event.timeStamp``) to its handler running, and the benchmark the
  round trip of each press; the page's timer lag (a 50 ms ``setInterval``'s lateness)
  over the same span;
* **server**: its CPU time (``/proc/<pid>/stat``) from the navigation to the draw, and
  over ``--settle`` s of the page left open; meanwhile another client (a thread of this
  benchmark, one connection) alternates ``GET /healthz`` and ``GET`` the maps of the
  100-VMA process, every 20 ms: latency p50 and max during the load, side by side with
  the same requests for as long with no page open, right after.

With ``--against DIR`` (another checkout whose engine is built, e.g. a worktree of
main), a second server runs that checkout's service on ``--port`` + 1 with the same
processes, and every size is loaded on both servers in turn (the order alternating by
round): the two are compared side by side, interleaved. ``p99`` of fewer than 100
samples is their largest.

With ``--server-only S``, after each load, the server's share without a browser: for
S seconds one client reads back to back the first snapshot the page would stream (above
131,072 VMAs an overview, each of another ``groups`` count so none is served from a
cache; else the text) while the other client measures, then as long with no reads.

Wall-clock figures; on this shared 2-core machine they depend on the load, printed with
every figure. Nothing is estimated: every figure printed was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_million import cpu_s, rest_build, start_server, stop_server  # noqa: E402

SIZES = (100, 65_530, 2_200_000)
OVERVIEW_ABOVE = 131_072
"""The page streams ``format=overview`` above this many VMAs (``app/static/ui/js/app.js``)."""
OVERVIEW_GROUPS = 8192
"""... in at most this many runs (``OVERVIEW_GROUPS`` there)."""
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

# Installed before the page's own scripts: long tasks, key-event delays, timer lag, and
# the wrappers of MapView.setModel/draw (put on the instance as soon as the page's
# module has made it, i.e. before any snapshot can arrive: that needs fetches).
INIT_SCRIPT = """
(() => {
  const b = (window.__bench = {longtasks: [], keys: [], lags: [], modelAt: null, drawnAt: null,
                               wrappedBeforeSnapshot: null});
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]);
  }).observe({type: "longtask", buffered: true});
  document.addEventListener("keydown", (ev) => b.keys.push([performance.now(),
                                                           performance.now() - ev.timeStamp]));
  let due = performance.now() + 50;
  setInterval(() => { const t = performance.now(); b.lags.push([t, t - due]); due = t + 50; }, 50);
  const wrap = () => {
    const ui = window.vmasimUi;
    if (!ui) return requestAnimationFrame(wrap);
    const view = ui.view, n = b.target;
    b.wrappedBeforeSnapshot = ui.state.snapshots === 0;
    const setModel = view.setModel.bind(view), draw = view.draw.bind(view);
    view.setModel = (m) => { setModel(m); if (b.modelAt === null && m.mapCount === n)
                                            b.modelAt = performance.now(); };
    view.draw = () => { draw(); if (b.drawnAt === null && view.model && view.model.mapCount === n)
                                  b.drawnAt = performance.now(); };
  };
  wrap();
})();
"""


class Prober(threading.Thread):
    """Another client: ``GET /healthz`` and ``GET`` a small process's maps in turn, every
    ``period`` s, on one connection; latencies (s) by path, until :meth:`stop`."""

    def __init__(self, url: str, maps_pid: int, period: float = 0.02) -> None:
        super().__init__(name="prober", daemon=True)
        self.url, self.period = url, period
        self.paths = ["/healthz", f"/processes/{maps_pid}/maps"]
        self.lat: dict[str, list[float]] = {p: [] for p in self.paths}
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.url, timeout=120) as http:
            i = 0
            while not self._halt.is_set():
                path = self.paths[i % 2]
                t0 = time.perf_counter()
                r = http.get(path)
                self.lat[path].append(time.perf_counter() - t0)
                if r.status_code != 200:
                    self.errors.append(f"{path} -> {r.status_code}")
                i += 1
                self._halt.wait(self.period)

    def stop(self) -> dict[str, dict[str, float]]:
        self._halt.set()
        self.join()
        assert not self.errors, self.errors
        out = {}
        for path, lat in self.lat.items():
            key = "healthz" if path == "/healthz" else "maps(100)"
            out[key] = {
                "n": len(lat),
                "p50_ms": statistics.median(lat) * 1e3 if lat else float("nan"),
                "p99_ms": _p99(lat) * 1e3 if lat else float("nan"),
                "max_ms": max(lat) * 1e3 if lat else float("nan"),
            }
        return out


def page_load(
    browser: Any, url: str, server: int, pid: int, n: int, small: int, settle: float
) -> dict[str, Any]:
    """One load of ``/ui#pid=pid`` (a process of ``n`` VMAs) in a fresh context, measured
    as the module note says; the other client reads the maps of process ``small``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1700})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Performance.enable")
        urls: dict[str, str] = {}
        received: dict[str, int] = {}  # bytes on the wire, by request
        decoded: dict[str, int] = {}  # bytes of the bodies
        drawn = threading.Event()

        times: dict[str, list[float]] = {}  # by request: sent, first and last data (s)

        def sent(e: dict[str, Any]) -> None:
            urls[e["requestId"]] = e["request"]["url"][len(url) :]
            times.setdefault(e["requestId"], [e["timestamp"]])

        def data(e: dict[str, Any]) -> None:
            if not drawn.is_set():
                rid = e["requestId"]
                received[rid] = received.get(rid, 0) + e["encodedDataLength"]
                decoded[rid] = decoded.get(rid, 0) + e["dataLength"]
                t = times.setdefault(rid, [e["timestamp"]])
                t[1:] = [t[1] if len(t) > 1 else e["timestamp"], e["timestamp"]]

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.dataReceived", data)
        page.add_init_script(INIT_SCRIPT.replace("b.target;", f"{n};"))
        prober = Prober(url, small)
        prober.start()
        cpu0 = cpu_s(server)
        t0 = time.perf_counter()
        page.goto(f"{url}/ui#pid={pid}", wait_until="commit")
        presses: list[float] = []
        while True:
            t = time.perf_counter()
            page.keyboard.press("Shift")
            presses.append(time.perf_counter() - t)
            if page.evaluate("() => window.__bench.drawnAt !== null"):
                break
            if time.perf_counter() - t0 > 600:
                raise SystemExit(f"{n} VMAs: no draw within 600 s")
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        drawn.set()
        cpu_load = cpu_s(server) - cpu0
        busy = prober.stop()
        heap = _heap(cdp)
        b = page.evaluate("() => window.__bench")
        cpu1 = cpu_s(server)
        time.sleep(settle)
        cpu_open = cpu_s(server) - cpu1
        heap_after = _heap(cdp)
        info = page.inner_text("#map-info")
    finally:
        context.close()
    # The same requests with no page open, for as long as the load took.
    prober = Prober(url, small)
    prober.start()
    time.sleep(wall)
    idle = prober.stop()
    assert b["wrappedBeforeSnapshot"] is True, "the page got a snapshot before it was measured"
    assert f"{n} VMAs" in info, info
    end = b["drawnAt"]
    long = [d for s, d in b["longtasks"] if s < end]
    keys = [d for t, d in b["keys"] if t <= end]
    lags = [d for t, d in b["lags"] if t <= end]
    # The maps stream on the page's clock (ms since the document's request was sent).
    zero = min(t[0] for t in times.values())
    stream = [
        [round((x - zero) * 1e3) for x in times[rid]]
        for rid, u in urls.items()
        if "/maps/events" in u and rid in times
    ]
    by_url: dict[str, int] = {}
    for rid, size in decoded.items():
        path = urls.get(rid, "?").split("?")[0]
        by_url[path] = by_url.get(path, 0) + size
    return {
        "n": n,
        "model_ms": b["modelAt"],
        "drawn_ms": end,
        "client_wall_s": wall,
        "stream_sent_first_last_ms": stream,
        "wire_bytes": sum(received.values()),  # a stream's only when it ends: see the note
        "body_bytes": sum(decoded.values()),
        "bytes_by_path": dict(sorted(by_url.items(), key=lambda kv: -kv[1])),
        "longtasks": len(long),
        "longest_task_ms": max(long, default=0.0),
        "blocking_ms": sum(d - 50 for d in long),
        "key_delay_ms": {"n": len(keys), "p50": _p50(keys), "max": max(keys, default=0.0)},
        "press_rtt_ms": {"p50": _p50(presses) * 1e3, "max": max(presses) * 1e3},
        "timer_lag_ms": {"p50": _p50(lags), "max": max(lags, default=0.0)},
        "heap_mb_drawn": heap / 1e6,
        "heap_mb_after": heap_after / 1e6,
        "server_cpu_s_load": cpu_load,
        "server_cpu_s_open": cpu_open,
        "other_client_during": busy,
        "other_client_no_page": idle,
        "map_info": info,
        "load": os.getloadavg()[0],
    }


def server_only(
    url: str, server: int, pid: int, n: int, small: int, seconds: float
) -> dict[str, Any]:
    """The server's share without a browser: for ``seconds``, one client reads, back to
    back, the first snapshot the page would stream for a process of ``n`` VMAs (above
    :data:`OVERVIEW_ABOVE`: an overview, each time of another ``groups`` count, so no
    cached one is reused; else the text), while another client (:class:`Prober`)
    measures its latency; then the same with no reads, as long. Snapshots read, their
    server CPU, the other client's latencies."""
    import httpx

    prober = Prober(url, small)
    prober.start()
    cpu0 = cpu_s(server)
    t0 = time.perf_counter()
    reads = 0
    with httpx.Client(base_url=url, timeout=600) as http:
        while time.perf_counter() - t0 < seconds:
            params: dict[str, Any] = {"count": 1, "only_changes": "true"}
            if n > OVERVIEW_ABOVE:
                params.update(format="overview", groups=OVERVIEW_GROUPS - reads % 64)
            else:
                params.update(format="text")
            with http.stream("GET", f"/processes/{pid}/maps/events", params=params) as r:
                assert r.status_code == 200, r.status_code
                for _ in r.iter_raw():
                    pass
            reads += 1
    wall = time.perf_counter() - t0
    cpu = cpu_s(server) - cpu0
    busy = prober.stop()
    prober = Prober(url, small)
    prober.start()
    time.sleep(wall)
    idle = prober.stop()
    return {
        "reads": reads,
        "wall_s": wall,
        "server_cpu_s": cpu,
        "other_client_during": busy,
        "other_client_no_reads": idle,
        "load": os.getloadavg()[0],
    }


def show_server_only(name: str, n: int, r: dict[str, Any]) -> None:
    d, i = r["other_client_during"], r["other_client_no_reads"]
    print(
        f"{name} {n:>9,} VMAs, no browser: {r['reads']} snapshots in {r['wall_s']:.1f} s "
        f"({r['server_cpu_s']:.2f} s server CPU); healthz p50/p99/max {_lat(d['healthz'])} ms "
        f"(n={d['healthz']['n']}; no reads {_lat(i['healthz'])}), maps(100) "
        f"{_lat(d['maps(100)'])} (no reads {_lat(i['maps(100)'])}) (load {r['load']:.1f})",
        flush=True,
    )


def _heap(cdp: Any) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"))


def _p50(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def _p99(xs: list[float]) -> float:
    """The 99th percentile, nearest rank (of fewer than 100 samples: the largest)."""
    ranked = sorted(xs)
    return ranked[max(0, -(-99 * len(ranked) // 100) - 1)]


def _lat(x: dict[str, float]) -> str:
    return f"{x['p50_ms']:.1f}/{x['p99_ms']:.0f}/{x['max_ms']:.0f}"


def show(r: dict[str, Any]) -> None:
    d, i = r["other_client_during"], r["other_client_no_page"]
    print(
        f"{r.get('server', '')} {r['n']:>9,} VMAs: drawn {r['drawn_ms']:7.0f} ms "
        f"(model {r['model_ms']:.0f}), "
        f"{r['body_bytes'] / 1e6:6.2f} MB of bodies, long tasks {r['longtasks']} (longest "
        f"{r['longest_task_ms']:.0f} ms, blocking {r['blocking_ms']:.0f} ms), key delay p50/max "
        f"{r['key_delay_ms']['p50']:.1f}/{r['key_delay_ms']['max']:.0f} ms "
        f"(n={r['key_delay_ms']['n']}), timer lag max {r['timer_lag_ms']['max']:.0f} ms, "
        f"heap {r['heap_mb_drawn']:.1f} -> {r['heap_mb_after']:.1f} MB; server CPU "
        f"{r['server_cpu_s_load']:.2f} s to the draw, {r['server_cpu_s_open']:.2f} s open; "
        f"healthz p50/p99/max {_lat(d['healthz'])} ms (no page {_lat(i['healthz'])}), maps(100) "
        f"{d['maps(100)']['p50_ms']:.1f}/{d['maps(100)']['max_ms']:.0f} ms (no page "
        f"{i['maps(100)']['p50_ms']:.1f}/{i['maps(100)']['max_ms']:.0f}) (load {r['load']:.1f})",
        flush=True,
    )
    print(
        f"{'':>16}maps stream sent, first and last data before the draw (ms): "
        f"{r['stream_sent_first_last_ms']}; bytes by path: {r['bytes_by_path']}",
        flush=True,
    )


def _serve(
    name: str, root: Path, sizes: list[int], tmp: Path, port: int, out: dict[str, Any]
) -> tuple[Any, str, dict[int, int]]:
    """A server of the checkout at ``root`` with one built process per size."""
    server, url, _ = start_server("off", max(sizes), tmp, root=root, port=port)
    pids = {}
    try:
        for n in sizes:
            rec = rest_build(url, n, 10_000, server.pid)
            pids[n] = rec["pid"]
            out["builds"].setdefault(name, {})[n] = {
                "seconds": rec["seconds"],
                "load": os.getloadavg()[0],
                "engine": rec["engine"],
            }
            out["engine"] = rec["engine"]
            print(
                f"{name}: built {n:,} VMAs in {rec['seconds']:.1f} s, {rec['engine']} engine "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    except BaseException:
        stop_server(server, 600)
        raise
    return server, url, pids


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium binary (apt install chromium)")
    sizes = [int(s) for s in args.sizes.split(",")]
    roots = {"this": ROOT}
    if args.against is not None:
        roots["against"] = args.against.resolve()
    out: dict[str, Any] = {"sizes": sizes, "roots": {k: str(v) for k, v in roots.items()}}
    out.update(builds={}, loads=[])
    print(f"load average at start: {os.getloadavg()}; servers {out['roots']}", flush=True)
    servers: dict[str, tuple[Any, str, dict[int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for k, (name, root) in enumerate(roots.items()):
                port = args.port + k if args.port else 0
                servers[name] = _serve(name, root, sizes, Path(tmp) / name, port, out)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, headless=True, args=LAUNCH_ARGS
                )
                try:
                    for k in range(args.rounds):
                        for n in sizes:
                            # Interleaved: each size on every server in turn, the order
                            # alternating by round.
                            names = list(servers)
                            for name in names if k % 2 == 0 else names[::-1]:
                                server, url, pids = servers[name]
                                rec = page_load(
                                    browser,
                                    url,
                                    server.pid,
                                    pids[n],
                                    n,
                                    pids[min(sizes)],
                                    args.settle,
                                )
                                rec["round"] = k + 1
                                rec["server"] = name
                                out["loads"].append(rec)
                                show(rec)
                                if args.server_only > 0:
                                    so = server_only(
                                        url,
                                        server.pid,
                                        pids[n],
                                        n,
                                        pids[min(sizes)],
                                        args.server_only,
                                    )
                                    so.update(n=n, round=k + 1, server=name)
                                    out.setdefault("server_only", []).append(so)
                                    show_server_only(name, n, so)
                finally:
                    browser.close()
        finally:
            for server, _, _ in servers.values():
                stop_server(server, 600)
    print(f"load average at end: {os.getloadavg()}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="VMAs of each process")
    p.add_argument("--rounds", type=int, default=3, help="page loads of each size")
    p.add_argument("--settle", type=float, default=3.0, help="s the page stays open after")
    p.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    p.add_argument(
        "--server-only",
        type=float,
        default=0.0,
        help="after each load, s of snapshots read back to back without a browser "
        "(overviews of changing groups above the threshold), the other client measured",
    )
    p.add_argument(
        "--against",
        type=Path,
        default=None,
        help="another checkout (e.g. a worktree of main, its engine built): a second "
        "server of it on --port + 1, the page loads interleaved with this checkout's",
    )
    p.add_argument("--json", type=Path, default=None, help="write the results (JSON)")
    args = p.parse_args(argv)
    out = run(args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
