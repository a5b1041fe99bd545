"""A live mount for the tests: ``python -m app.procmount mount DIR --port 0`` (the engine
and its REST service in one process, the mount served by libfuse), started once per
session, driven over HTTP, stopped by its pid (SIGTERM: libfuse unmounts) in teardown.

Skips, saying why, where FUSE is unavailable: no ``/dev/fuse``, no ``fusermount3``, or
no libfuse 3 for mfusepy to load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.procmount.__main__ import start_mount, stop_mount
from core.procfs import GATE_LINE
from tests.concurrency import wait_until

PAGE = 4096


def fuse_missing() -> str | None:
    """Why a FUSE mount cannot be made here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse (FUSE is not available in this environment)"
    if shutil.which("fusermount3") is None:
        return "no fusermount3 (Debian package fuse3)"
    try:
        import mfusepy  # noqa: F401  # loads libfuse3 with ctypes
    except (ImportError, OSError) as exc:
        return f"mfusepy cannot load libfuse 3: {exc}"
    return None


@dataclass
class Mount:
    """A running mount: its directory, REST URL, read log and daemon."""

    path: Path
    url: str
    log: Path
    proc: subprocess.Popen[bytes]
    http: httpx.Client

    def spawn(self, *, layout: str | None = None, maps: str | None = None) -> int:
        body: dict[str, Any] = {"name": "tool"}
        if layout is not None:
            body["layout"] = layout
        if maps is not None:
            body["maps"] = maps
        resp = self.http.post("/processes", json=body)
        assert resp.status_code == 201, resp.text
        pid: int = resp.json()["pid"]
        return pid

    def call(self, pid: int, syscall: str, **body: Any) -> Any:
        resp = self.http.post(f"/processes/{pid}/{syscall}", json=body)
        assert resp.status_code in (200, 204), resp.text
        return resp.json() if resp.status_code == 200 else None

    def text(self, pid: int, name: str, **params: Any) -> str:
        resp = self.http.get(f"/processes/{pid}/{name}", params=params)
        assert resp.status_code == 200, resp.text
        return resp.text

    def reads(self, path: str) -> list[dict[str, Any]]:
        """The read log's entries for ``path`` (e.g. ``/1000/maps``), oldest first."""
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [e for e in entries if e["path"] == path]

    def vmstat(self) -> dict[str, int]:
        rows = (self.path / "vmstat").read_text().split("\n")
        return {name: int(value) for name, value in (r.split() for r in rows if r)}

    def exit(self, pid: int) -> None:
        self.http.delete(f"/processes/{pid}")


@pytest.fixture(scope="session")
def mount(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mount]:
    reason = fuse_missing()
    if reason is not None:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("procmount")
    path = base / "proc"
    path.mkdir()
    log = base / "reads.jsonl"
    err = (base / "daemon.err").open("wb")
    proc, ready = start_mount(str(path), ["--port", "0", "--read-log", str(log)], stderr=err)
    try:
        with httpx.Client(base_url=ready["url"], timeout=60) as http:
            yield Mount(path, ready["url"], log, proc, http)
    finally:
        stop_mount(proc, str(path))
        err.close()
        wait_until(lambda: not os.path.ismount(path), 30, what="the mount is gone")


def anon_maps(count: int, base: int = 0x100000000, gap: bool = True) -> str:
    """A maps text of ``count`` one-page anonymous VMAs (separated by one-page holes
    unless ``gap`` is false; then alternating permissions keep them apart), ending with
    the ``[vsyscall]`` gate line every x86-64 maps ends with (an import prints it back
    only when the text has it)."""
    lines = []
    step = 2 * PAGE if gap else PAGE
    for i in range(count):
        start = base + i * step
        perms = "rw-p" if gap or i % 2 == 0 else "r--p"
        lines.append(f"{start:08x}-{start + PAGE:08x} {perms} 00000000 00:00 0 ")
    return "\n".join(lines) + "\n" + GATE_LINE


@pytest.fixture(scope="session")
def c_reader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/procmount/reader.c built: a profiler's read loop (4 KiB read()s)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (gcc)")
    out = tmp_path_factory.mktemp("reader") / "reader"
    src = Path(__file__).with_name("reader.c")
    subprocess.run([cc, "-O2", "-Wall", "-Werror", "-o", str(out), str(src)], check=True)
    return out


def python() -> str:
    return sys.executable
