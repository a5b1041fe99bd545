"""Run the Locust load test against a local uvicorn: ``scripts/loadtest`` (or
``python -m bench.load.run``).

Starts ``uvicorn app.main:app`` on 127.0.0.1 at a free port (one worker), waits for
``/healthz``, runs ``bench/load/locustfile.py`` headless for ``--run-time``, writes
Locust's CSV files, its HTML report, the thresholds verdict
(``run_thresholds.json``) and the server's memory before and after
(``server.json``) to ``--out``, stops the server and exits with Locust's exit code:
0 when every threshold held, non-zero otherwise (2: the server did not start).
Every wait is bounded; nothing is sent anywhere but 127.0.0.1 (or ``--host``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
EXIT_NO_SERVER = 2


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (uvicorn binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, server: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """Poll ``url/healthz`` until it answers 200, the server exits, or ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB (``VmRSS`` of /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(m.group(1)) if m else None


def parse_seconds(text: str) -> int:
    """Locust's run-time syntax (``30s``, ``2m``, ``1h30m``, or plain seconds).

    >>> parse_seconds("1m30s"), parse_seconds("45")
    (90, 45)
    """
    if text.isdigit():
        return int(text)
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not m or not any(m.groups()):
        raise argparse.ArgumentTypeError(f"run time {text!r} is not like 30s, 2m or 1h30m")
    h, mi, s = (int(g or 0) for g in m.groups())
    return h * 3600 + mi * 60 + s


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/loadtest",
        description="Locust load test of vmasim against a local uvicorn (headless).",
    )
    p.add_argument("-t", "--run-time", type=parse_seconds, default=30, help="e.g. 30s, 5m")
    p.add_argument("-u", "--users", type=int, default=10, help="simulated users (10)")
    p.add_argument("-r", "--spawn-rate", type=float, default=10, help="users started per s")
    p.add_argument("-o", "--out", type=Path, default=ROOT / "reports" / "load", help="report dir")
    p.add_argument(
        "--host", help="load this running service instead of starting one (e.g. a container)"
    )
    p.add_argument("-f", "--locustfile", type=Path, default=LOCUSTFILE, help=argparse.SUPPRESS)
    p.add_argument("locust_args", nargs="*", help="passed to locust after '--'")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run_time <= 0 or args.users <= 0 or args.spawn_rate <= 0:
        raise SystemExit(
            f"run time ({args.run_time}), users ({args.users}) and spawn rate "
            f"({args.spawn_rate}) must be positive"
        )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    server: subprocess.Popen[bytes] | None = None
    url = args.host
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
            + ["--port", str(port), "--workers", "1", "--log-level", "warning"],
            cwd=ROOT,
        )
    try:
        # 90 s: the server's imports alone took 30 s on a busy machine.
        if not wait_healthy(url.rstrip("/"), server, timeout=90):
            print(f"loadtest: the service at {url} did not become healthy", file=sys.stderr)
            return EXIT_NO_SERVER
        rss_before = rss_kib(server.pid) if server else None
        cmd = [sys.executable, "-m", "locust", "-f", str(args.locustfile), "--headless"]
        cmd += ["-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.run_time}s"]
        cmd += ["--host", url, "--csv", str(out / "run"), "--html", str(out / "report.html")]
        cmd += ["--only-summary", "--stop-timeout", "5", *args.locust_args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            rc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=args.run_time + 120).returncode
        except subprocess.TimeoutExpired:
            print("loadtest: locust did not finish in time", file=sys.stderr)
            rc = 1
        rss_after = rss_kib(server.pid) if server else None
        (out / "server.json").write_text(
            json.dumps(
                {
                    "url": url,
                    "pid": server.pid if server else None,
                    "rss_kib_before": rss_before,
                    "rss_kib_after": rss_after,
                }
            )
            + "\n"
        )
        if server is not None:
            print(f"server RSS: {rss_before} KiB before, {rss_after} KiB after")
        print(f"reports: {out}/run_stats.csv, {out}/report.html, {out}/run_thresholds.json")
        return rc
    finally:
        if server is not None:
            stop(server)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn's graceful shutdown), SIGKILL after 15 s."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


if __name__ == "__main__":
    raise SystemExit(main())
