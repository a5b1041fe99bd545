"""A small typed client for the REST API (httpx), used by the ``vmasim`` CLI.

::

    with VmasimClient("http://127.0.0.1:8000") as api:
        proc = api.create_process(layout="typical")
        addr = api.mmap(proc.pid, 0, 8192, ["PROT_READ"], ["MAP_PRIVATE", "MAP_ANONYMOUS"])
        print(api.maps(proc.pid))

Every method returns a model from :mod:`app.schemas` (or text for ``maps``); an error
response raises :class:`ApiError` carrying the problem details. A client acts on one
machine (``machine=``, default ``"default"``, the routes without a prefix; ``on()``
gives a client for another machine over the same connections)::

    with VmasimClient(machine="student-1") as api:  # /machines/student-1/processes...
        api.create_process()
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import quote

import httpx

from app.schemas.batch import BatchOut
from app.schemas.common import HealthOut
from app.schemas.faults import FaultOut
from app.schemas.machines import DEFAULT_MACHINE as DEFAULT_MACHINE
from app.schemas.machines import MachineList, MachineOut
from app.schemas.maps import MapsOut, MapsStreamItem
from app.schemas.pause import PausePointList, PauseReleaseOut, PauseStateOut
from app.schemas.processes import FileOut, ProcessList, ProcessOut
from app.schemas.query import VmaBatchOut, VmaQueryOut
from app.schemas.syscalls import AddrOut, BrkOut
from app.schemas.vmstat import VmstatOut

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
"""Where ``vmasim serve`` listens unless told otherwise, and so where clients look."""
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
Number = int | str  # an integer or a "0x..." string


class ApiError(Exception):
    """The service answered with an error (problem+json). ``status``, ``problem`` (the
    decoded body, ``{}`` if it was not JSON), and for syscall failures ``errno_name``."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.errno_name: str | None = problem.get("errno_name")
        super().__init__(f"HTTP {status}: {problem.get('detail', problem)}")


class VmasimClient:
    """Synchronous client. ``transport`` lets tests pass an in-process transport."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        machine: str = DEFAULT_MACHINE,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self._owned = http is None
        self._http = (
            http
            if http is not None
            else httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        )
        #: The machine the process methods act on (``/machines/<machine>/...``); the
        #: default machine's routes have no prefix, as before machines existed.
        self.machine = machine
        self._prefix = "" if machine == DEFAULT_MACHINE else f"/machines/{quote(machine, safe='')}"

    def on(self, machine: str) -> VmasimClient:
        """A client for ``machine`` sharing this one's connections (close this one)."""
        return VmasimClient(machine=machine, http=self._http)

    def __enter__(self) -> VmasimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def _request(
        self,
        method: str,
        url: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        *,
        machine_wide: bool = False,
    ) -> httpx.Response:
        """``url`` on this client's machine (the service-wide routes, ``/healthz`` and
        ``/machines``, pass ``machine_wide``)."""
        if not machine_wide:
            url = self._prefix + url
        response = self._http.request(method, url, json=json, params=params)
        if response.is_error:
            self._raise(response)
        return response

    @staticmethod
    def _raise(response: httpx.Response) -> None:
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text}
        raise ApiError(response.status_code, problem if isinstance(problem, dict) else {})

    # -- processes -----------------------------------------------------------------------

    def health(self) -> HealthOut:
        return HealthOut.model_validate(self._request("GET", "/healthz", machine_wide=True).json())

    # -- machines ------------------------------------------------------------------------

    def create_machine(self, machine: str | None = None, **settings: Any) -> MachineOut:
        """``POST /machines``: a new machine (its id chosen by the service if None) with
        the kernel ``settings`` given (``ram_pages=...``, ``overcommit_memory=2``...)."""
        body: dict[str, Any] = {"settings": settings}
        if machine is not None:
            body["id"] = machine
        response = self._request("POST", "/machines", body, machine_wide=True)
        return MachineOut.model_validate(response.json())

    def list_machines(self) -> MachineList:
        response = self._request("GET", "/machines", machine_wide=True)
        return MachineList.model_validate(response.json())

    def get_machine(self, machine: str | None = None) -> MachineOut:
        """The machine ``machine`` (default: this client's)."""
        url = f"/machines/{quote(machine or self.machine, safe='')}"
        return MachineOut.model_validate(self._request("GET", url, machine_wide=True).json())

    def delete_machine(self, machine: str) -> None:
        self._request("DELETE", f"/machines/{quote(machine, safe='')}", machine_wide=True)

    def create_process(
        self, name: str = "sim", layout: str | None = None, maps: str | None = None
    ) -> ProcessOut:
        body: dict[str, Any] = {"name": name}
        if layout is not None:
            body["layout"] = layout
        if maps is not None:
            body["maps"] = maps
        return ProcessOut.model_validate(self._request("POST", "/processes", body).json())

    def spawn_exec(
        self,
        path: str,
        argv: list[str] | None = None,
        envp: list[str] | dict[str, str] | None = None,
        *,
        name: str | None = None,
        aslr: bool = False,
        seed: int | None = None,
    ) -> ProcessOut:
        """A new process running the program at ``path`` on the server's machine
        (``POST /processes`` with ``exec``): the layout execve builds for it."""
        body: dict[str, Any] = {"exec": _exec_body(path, argv, envp, aslr, seed)}
        if name is not None:
            body["name"] = name
        return ProcessOut.model_validate(self._request("POST", "/processes", body).json())

    def execve(
        self,
        pid: int,
        path: str,
        argv: list[str] | None = None,
        envp: list[str] | dict[str, str] | None = None,
        *,
        aslr: bool = False,
        seed: int | None = None,
    ) -> ProcessOut:
        """``execve(2)`` in process ``pid``: its address space replaced by the program's."""
        body = _exec_body(path, argv, envp, aslr, seed)
        return ProcessOut.model_validate(
            self._request("POST", f"/processes/{pid}/execve", body).json()
        )

    def list_processes(self) -> ProcessList:
        return ProcessList.model_validate(self._request("GET", "/processes").json())

    def get_process(self, pid: int) -> ProcessOut:
        return ProcessOut.model_validate(self._request("GET", f"/processes/{pid}").json())

    def delete_process(self, pid: int) -> None:
        self._request("DELETE", f"/processes/{pid}")

    # -- files ---------------------------------------------------------------------------

    def open_file(
        self, pid: int, path: str, flags: list[str | int] | None = None, size: int | None = None
    ) -> FileOut:
        body: dict[str, Any] = {"path": path, "flags": flags or ["O_RDWR"], "size": size}
        return FileOut.model_validate(self._request("POST", f"/processes/{pid}/files", body).json())

    def close_file(self, pid: int, fd: int) -> None:
        self._request("DELETE", f"/processes/{pid}/files/{fd}")

    # -- syscalls ------------------------------------------------------------------------

    def mmap(
        self,
        pid: int,
        addr: Number,
        length: Number,
        prot: list[str | int],
        flags: list[str | int],
        fd: int = -1,
        offset: Number = 0,
    ) -> int:
        """Returns the mapped address."""
        body = {
            "addr": addr,
            "length": length,
            "prot": prot,
            "flags": flags,
            "fd": fd,
            "offset": offset,
        }
        out = AddrOut.model_validate(self._request("POST", f"/processes/{pid}/mmap", body).json())
        return int(out.addr, 16)

    def munmap(self, pid: int, addr: Number, length: Number) -> None:
        self._request("POST", f"/processes/{pid}/munmap", {"addr": addr, "length": length})

    def mprotect(self, pid: int, addr: Number, length: Number, prot: list[str | int]) -> None:
        body = {"addr": addr, "length": length, "prot": prot}
        self._request("POST", f"/processes/{pid}/mprotect", body)

    def mremap(
        self,
        pid: int,
        old_addr: Number,
        old_len: Number,
        new_len: Number,
        flags: list[str | int] | None = None,
        new_addr: Number = 0,
    ) -> int:
        """Returns the (new) address."""
        body = {
            "old_addr": old_addr,
            "old_len": old_len,
            "new_len": new_len,
            "flags": flags or [],
            "new_addr": new_addr,
        }
        out = AddrOut.model_validate(self._request("POST", f"/processes/{pid}/mremap", body).json())
        return int(out.addr, 16)

    def madvise(self, pid: int, addr: Number, length: Number, advice: str | int) -> None:
        """``advice``: a ``MADV_*`` name or its value."""
        body = {"addr": addr, "length": length, "advice": advice}
        self._request("POST", f"/processes/{pid}/madvise", body)

    def mlock(self, pid: int, addr: Number, length: Number) -> None:
        self._request("POST", f"/processes/{pid}/mlock", {"addr": addr, "length": length})

    def mlock2(
        self, pid: int, addr: Number, length: Number, flags: list[str | int] | None = None
    ) -> None:
        """``flags``: ``["MLOCK_ONFAULT"]`` locks without faulting in."""
        body = {"addr": addr, "length": length, "flags": flags or []}
        self._request("POST", f"/processes/{pid}/mlock2", body)

    def munlock(self, pid: int, addr: Number, length: Number) -> None:
        self._request("POST", f"/processes/{pid}/munlock", {"addr": addr, "length": length})

    def mlockall(self, pid: int, flags: list[str | int]) -> None:
        """``flags``: ``MCL_CURRENT``, ``MCL_FUTURE``, ``MCL_ONFAULT``."""
        self._request("POST", f"/processes/{pid}/mlockall", {"flags": flags})

    def munlockall(self, pid: int) -> None:
        self._request("POST", f"/processes/{pid}/munlockall")

    def mseal(self, pid: int, addr: Number, length: Number, flags: Number = 0) -> None:
        body = {"addr": addr, "length": length, "flags": flags}
        self._request("POST", f"/processes/{pid}/mseal", body)

    def set_anon_name(self, pid: int, addr: Number, size: Number, name: str | None) -> None:
        """``prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, size, name)`` (None clears)."""
        body = {
            "option": "PR_SET_VMA",
            "attr": "PR_SET_VMA_ANON_NAME",
            "addr": addr,
            "size": size,
            "name": name,
        }
        self._request("POST", f"/processes/{pid}/prctl", body)

    def brk(self, pid: int, addr: Number) -> int:
        """Returns the break after the call."""
        out = BrkOut.model_validate(
            self._request("POST", f"/processes/{pid}/brk", {"addr": addr}).json()
        )
        return int(out.brk, 16)

    def syscalls(
        self,
        pid: int,
        ops: list[dict[str, Any]],
        stop_on_error: bool = False,
        results: Literal["all", "failed"] = "all",
    ) -> BatchOut:
        """One batch; ``results="failed"`` asks only for the failed operations' results
        (``completed`` and ``failed`` still count all)."""
        body = {"ops": ops, "stop_on_error": stop_on_error, "results": results}
        return BatchOut.model_validate(
            self._request("POST", f"/processes/{pid}/syscalls", body).json()
        )

    # -- faults, fork, /proc texts, PROCMAP_QUERY, statistics ----------------------------

    def fault(self, pid: int, addr: Number, access: str = "read") -> FaultOut:
        """One page fault; a signal is an outcome (``ok`` false), not an error."""
        body = {"addr": addr, "access": access}
        return FaultOut.model_validate(
            self._request("POST", f"/processes/{pid}/faults", body).json()
        )

    def fork(self, pid: int, name: str | None = None) -> ProcessOut:
        """``fork(2)``: the child process."""
        body = {} if name is None else {"name": name}
        return ProcessOut.model_validate(
            self._request("POST", f"/processes/{pid}/fork", body).json()
        )

    def proc_text(self, pid: int, view: str, reader: str | None = None) -> str:
        """``view`` is ``smaps``, ``smaps_rollup``, ``status`` or ``statm`` (``reader``
        for the smaps views: mmap_lock or per_vma)."""
        params = _params(reader=reader)
        return self._request("GET", f"/processes/{pid}/{view}", params=params).text

    @contextmanager
    def open_proc(
        self, pid: int, view: str, **params: Any
    ) -> Generator[tuple[dict[str, str], Iterator[str]], None, None]:
        """``/proc/<pid>/<view>`` (maps, smaps, smaps_rollup, status, statm) as it
        arrives: its ``X-Vmasim-*`` headers (:func:`snapshot_meta`) and an iterator of
        its text in pieces, so that a process of millions of VMAs is never held whole
        (``params``: the view's query options, e.g. reader). The connection closes when
        the block ends."""
        url = f"{self._prefix}/processes/{pid}/{view}"
        with self._http.stream("GET", url, params=_params(**params)) as response:
            if response.is_error:
                response.read()
                self._raise(response)
            yield snapshot_meta(response), response.iter_text()

    def query_vma(
        self, pid: int, addr: Number, flags: list[str] | None = None, name: bool = True
    ) -> VmaQueryOut:
        """``PROCMAP_QUERY``: ApiError 404 (``errno_name`` ENOENT) when nothing matches."""
        params: dict[str, Any] = {
            "addr": addr if isinstance(addr, str) else str(addr),
            "flags": flags or [],
            "name": "true" if name else "false",
        }
        response = self._request("GET", f"/processes/{pid}/vma", params=params)
        return VmaQueryOut.model_validate(response.json())

    def query_vma_batch(
        self, pid: int, addrs: list[Number], flags: list[str] | None = None, name: bool = True
    ) -> VmaBatchOut:
        body = {"addrs": addrs, "flags": flags or [], "name": name}
        return VmaBatchOut.model_validate(
            self._request("POST", f"/processes/{pid}/vma/batch", body).json()
        )

    def vmstat(self, pid: int | None = None) -> VmstatOut:
        params = {} if pid is None else {"pid": pid}
        return VmstatOut.model_validate(self._request("GET", "/vmstat", params=params).json())

    def metrics(self) -> str:
        """The Prometheus text of ``GET /metrics``."""
        return self._request("GET", "/metrics").text

    # -- /proc ---------------------------------------------------------------------------

    def maps(self, pid: int, reader: str | None = None, max_retries: int | None = None) -> str:
        """The text of ``/proc/<pid>/maps`` (``reader``: seqcount, per_vma, mmap_lock)."""
        return self.maps_snapshot(pid, reader, max_retries)[0]

    def maps_snapshot(
        self, pid: int, reader: str | None = None, max_retries: int | None = None
    ) -> tuple[str, dict[str, str]]:
        """The maps text and the snapshot's ``X-Vmasim-*`` headers (lower-case names
        without the prefix: ``seq-begin``, ``attempts``...)."""
        params = _params(reader=reader, max_retries=max_retries)
        response = self._request("GET", f"/processes/{pid}/maps", params=params)
        return response.text, snapshot_meta(response)

    def maps_json(
        self, pid: int, reader: str | None = None, max_retries: int | None = None
    ) -> MapsOut:
        params = _params(reader=reader, max_retries=max_retries)
        return MapsOut.model_validate(
            self._request("GET", f"/processes/{pid}/maps.json", params=params).json()
        )

    def maps_stream(self, pid: int, **options: Any) -> Generator[MapsStreamItem, None, None]:
        """The snapshots of ``GET /maps/stream`` as they arrive (``options``: interval,
        count, max_duration, only_changes, reader, max_retries, format). Closing the
        iterator early disconnects."""
        params = _params(**options)
        url = f"{self._prefix}/processes/{pid}/maps/stream"
        with self._http.stream("GET", url, params=params, timeout=None) as response:
            if response.is_error:
                response.read()
                self._raise(response)
            for line in json_lines(response.iter_bytes()):
                yield MapsStreamItem.model_validate_json(line)

    # -- pause points --------------------------------------------------------------------

    def pause_points(self) -> PausePointList:
        return PausePointList.model_validate(self._request("GET", "/pause-points").json())

    def arm_pause_point(
        self, pid: int, name: str, hit: int = 1, count: int = 1, timeout: float | None = None
    ) -> PauseStateOut:
        body: dict[str, Any] = {"name": name, "hit": hit, "count": count}
        if timeout is not None:
            body["timeout"] = timeout
        url = f"/processes/{pid}/pause-points"
        return PauseStateOut.model_validate(self._request("POST", url, body).json())

    def pause_state(self, pid: int) -> PauseStateOut:
        url = f"/processes/{pid}/pause-points"
        return PauseStateOut.model_validate(self._request("GET", url).json())

    def release_pause(self, pid: int, hold_id: int | None = None, name: str | None = None) -> int:
        """Release one hold, every hold at ``name``, or (neither) all; returns the count."""
        body = {k: v for k, v in (("hold_id", hold_id), ("name", name)) if v is not None}
        url = f"/processes/{pid}/pause-points/release"
        return PauseReleaseOut.model_validate(self._request("POST", url, body).json()).released

    def disarm_pause_point(self, pid: int, name: str) -> None:
        self._request("DELETE", f"/processes/{pid}/pause-points/{name}")


def _exec_body(
    path: str,
    argv: list[str] | None,
    envp: list[str] | dict[str, str] | None,
    aslr: bool,
    seed: int | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"path": path, "aslr": aslr}
    if argv is not None:
        body["argv"] = argv
    if envp is not None:
        body["envp"] = envp
    if seed is not None:
        body["seed"] = seed
    return body


def snapshot_meta(response: httpx.Response) -> dict[str, str]:
    """A /proc read's ``X-Vmasim-*`` headers: lower-case names without the prefix."""
    return {
        k.lower().removeprefix("x-vmasim-"): v
        for k, v in response.headers.items()
        if k.lower().startswith("x-vmasim-")
    }


def json_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The non-empty lines of a JSON Lines body arriving in ``chunks``: split at
    ``\\n`` only (a trailing ``\\r`` dropped), as JSON Lines defines it. Not httpx's
    ``iter_lines``, which splits like ``str.splitlines()``: JSON leaves ``\\x85``,
    ``\\u2028`` and ``\\u2029`` unescaped, and a maps path may hold them.

    >>> list(json_lines([b'{"a": "\\xe2\\x80\\xa8"}\\n{"b"', b': 1}\\r\\n']))
    [b'{"a": "\\xe2\\x80\\xa8"}', b'{"b": 1}']
    """
    parts: list[bytes] = []  # the line being received (no quadratic joining)
    for chunk in chunks:
        if b"\n" not in chunk:
            parts.append(chunk)
            continue
        first, *middle, last = chunk.split(b"\n")
        parts.append(first)
        for line in (b"".join(parts), *middle):
            line = line.removesuffix(b"\r")
            if line:
                yield line
        parts = [last]
    rest = b"".join(parts)
    if rest.strip():
        yield rest


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset (None) ones; booleans as ``true``/``false``."""
    return {
        k: (str(v).lower() if isinstance(v, bool) else v)
        for k, v in values.items()
        if v is not None
    }
