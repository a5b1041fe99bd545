"""A running vmasim service as the source of the tree (``mount --url``), over HTTP with
the request and response models of :mod:`app.schemas`.

The service's API reads whole files, so here each ``open()`` fetches the file's text
once (``maps`` with the mount's reader: one ``GET /processes/<pid>/maps?reader=``
snapshot, whose provenance headers the mount counts) and every ``read()`` of that open
file is served from it in the kernel's chunks: at most one buffer of whole lines per
read, the rest kept for the next, exactly as ``seq_read_iter`` cuts them. What a
remote mount cannot show is the chunk-by-chunk locking: a ``per_vma`` snapshot was
assembled by the service from its own 4 KiB chunks, not from this tool's reads (mount
an engine in-process, or ``mount --port``, for that).

``stat`` and ``status`` are built from ``GET /processes/<pid>`` (name, ``total_vm``,
``start_brk``, open files), ``/statm`` (resident pages), ``/status`` (the memory lines)
and ``GET /vmstat?pid=`` (faults); ``startstack``/``startcode``/``endcode`` are not in
the API and print 0. ``meminfo`` sums the processes' resident pages as ``/vmstat``
reports them (a page shared by two processes counts twice; page tables are not
reported and print 0).
"""

from __future__ import annotations

from typing import Any

import httpx

from core import NoSuchProcess
from core.maps_reader import POS_END
from core.proc_pid import (
    MachinePages,
    TaskView,
    cmdline_text,
    fd_size,
    meminfo_text,
    stat_text,
    status_text,
    vmstat_text,
)
from core.seq_file import PAGE_SIZE, SeqChunk, SeqFile, SingleSource
from core.vmstat import VmEventStatistics

from ..schemas.processes import ProcessList, ProcessOut
from ..schemas.vmstat import VmstatOut
from .tree import Extra, Options

TIMEOUT = 60.0


class RemoteError(OSError):
    """The service answered with an error other than 404, or could not be reached."""


class LinesSource:
    """A fixed text served line by line as seq_file records (one walk per read, at
    most one buffer of whole lines). ``info`` of the first walk: the snapshot's
    headers."""

    __slots__ = ("info", "lines")

    def __init__(self, text: str, info: dict[str, str] | None = None) -> None:
        # Records end at "\n" only: a maps path may hold "\r", "\x85", "\u2028"...
        # (the kernel escapes only "\n"), where str.splitlines() would cut a line.
        parts = text.split("\n")
        self.lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        self.info = info

    def fill(self, index: int, size: int, want: int) -> SeqChunk:
        if index == POS_END or index >= len(self.lines):
            return SeqChunk((), POS_END)
        out: list[str] = []
        total = 0
        i = index
        while i < len(self.lines):
            line = self.lines[i]
            if out and (total + len(line) >= size or total >= want):
                break
            out.append(line)
            total += len(line)
            i += 1
        return SeqChunk(tuple(out), i, self.info if index == 0 else None)


class RemoteBackend:
    """The files of a running service at ``url``. Thread-safe (httpx's client is)."""

    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = client if client is not None else httpx.Client(timeout=TIMEOUT)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            resp = self._http.get(self.url + path, params=params or None)
        except httpx.HTTPError as exc:
            raise RemoteError(f"{self.url}{path}: {exc}") from None
        if resp.status_code == 404 and path.startswith("/processes/"):
            raise NoSuchProcess(int(path.split("/")[2]))
        if resp.status_code != 200:
            raise RemoteError(f"{self.url}{path}: HTTP {resp.status_code} {resp.text[:200]}")
        return resp

    def pids(self) -> list[int]:
        listing = ProcessList.model_validate_json(self._get("/processes").content)
        return sorted(p.pid for p in listing.processes)

    def has_pid(self, pid: int) -> bool:
        try:
            self._get(f"/processes/{pid}")
        except NoSuchProcess:
            return False
        return True

    def _task(self, pid: int) -> TaskView:
        proc = ProcessOut.model_validate_json(self._get(f"/processes/{pid}").content)
        statm = self._get(f"/processes/{pid}/statm").text.split()
        stats = VmstatOut.model_validate_json(self._get("/vmstat", pid=pid).content)
        counters = stats.processes[0]
        return TaskView(
            pid=pid,
            name=proc.name,
            min_flt=counters.min_flt,
            maj_flt=counters.maj_flt,
            total_vm=proc.total_vm,
            rss=int(statm[1]),
            start_brk=int(proc.start_brk, 16),
            fd_size=fd_size(max((f.fd for f in proc.files), default=0)),
        )

    def open_pid_file(
        self, pid: int, name: str, reader: str, options: Options, buffer_size: int = PAGE_SIZE
    ) -> SeqFile:
        base = f"/processes/{pid}"
        info: dict[str, str] | None = None
        if name == "maps":
            resp = self._get(f"{base}/maps", reader=reader, max_retries=options.max_retries)
            text = resp.text
            info = {k: v for k, v in resp.headers.items() if k.lower().startswith("x-vmasim-")}
        elif name in ("smaps", "smaps_rollup", "statm"):
            text = self._get(f"{base}/{name}").text
        elif name == "status":
            memory = self._get(f"{base}/status").text
            text = status_text(self._task(pid), memory, options.uid, options.gid)
        elif name == "stat":
            text = stat_text(self._task(pid))
        elif name == "cmdline":
            text = cmdline_text(self._task(pid).name)
        elif name == "comm":
            text = self._task(pid).name + "\n"
        else:
            raise KeyError(name)
        if name in ("maps", "smaps"):
            return SeqFile(LinesSource(text, info), buffer_size)
        return SeqFile(SingleSource(lambda: text), buffer_size)

    def _machine(self) -> tuple[MachinePages, VmEventStatistics, int]:
        stats = VmstatOut.model_validate_json(self._get("/vmstat").content)
        anon = sum(p.rss.anon for p in stats.processes)
        file = sum(p.rss.file for p in stats.processes)
        shmem = sum(p.rss.shmem for p in stats.processes)
        pages = MachinePages(anon, file + shmem, file + shmem, shmem, 0, 0)
        ev = stats.events
        events = VmEventStatistics(**ev.model_dump())
        committed = 0
        for pid in self.pids():
            try:
                resp = self._get(f"/processes/{pid}")
            except NoSuchProcess:
                continue
            committed += ProcessOut.model_validate_json(resp.content).total_vm
        return pages, events, committed

    def open_machine_file(self, name: str, extra: Extra) -> SeqFile:
        if name == "meminfo":
            return SeqFile(SingleSource(lambda: meminfo_text(*self._machine()[::2])))
        if name == "vmstat":

            def render() -> str:
                pages, events, _ = self._machine()
                return vmstat_text(pages, events, extra())

            return SeqFile(SingleSource(render))
        raise KeyError(name)
