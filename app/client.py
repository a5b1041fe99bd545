"""A small typed client for the REST API (httpx), used by the ``vmasim`` CLI.

::

    with VmasimClient("http://127.0.0.1:8000") as api:
        proc = api.create_process(layout="typical")
        addr = api.mmap(proc.pid, 0, 8192, ["PROT_READ"], ["MAP_PRIVATE", "MAP_ANONYMOUS"])
        print(api.maps(proc.pid))

Every method returns a model from :mod:`app.schemas` (or text for ``maps``); an error
response raises :class:`ApiError` carrying the problem details.
"""

from __future__ import annotations

from typing import Any

import httpx

from .schemas import (
    AddrOut,
    BatchOut,
    BrkOut,
    FileOut,
    HealthOut,
    MapsOut,
    ProcessList,
    ProcessOut,
)

DEFAULT_URL = "http://127.0.0.1:8000"
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
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> VmasimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, url: str, json: Any = None) -> httpx.Response:
        response = self._http.request(method, url, json=json)
        if response.is_error:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text}
            raise ApiError(response.status_code, problem if isinstance(problem, dict) else {})
        return response

    # -- processes -----------------------------------------------------------------------

    def health(self) -> HealthOut:
        return HealthOut.model_validate(self._request("GET", "/healthz").json())

    def create_process(
        self, name: str = "sim", layout: str | None = None, maps: str | None = None
    ) -> ProcessOut:
        body: dict[str, Any] = {"name": name}
        if layout is not None:
            body["layout"] = layout
        if maps is not None:
            body["maps"] = maps
        return ProcessOut.model_validate(self._request("POST", "/processes", body).json())

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

    def brk(self, pid: int, addr: Number) -> int:
        """Returns the break after the call."""
        out = BrkOut.model_validate(
            self._request("POST", f"/processes/{pid}/brk", {"addr": addr}).json()
        )
        return int(out.brk, 16)

    def syscalls(
        self, pid: int, ops: list[dict[str, Any]], stop_on_error: bool = False
    ) -> BatchOut:
        body = {"ops": ops, "stop_on_error": stop_on_error}
        return BatchOut.model_validate(
            self._request("POST", f"/processes/{pid}/syscalls", body).json()
        )

    # -- /proc ---------------------------------------------------------------------------

    def maps(self, pid: int) -> str:
        """The text of ``/proc/<pid>/maps``."""
        return self._request("GET", f"/processes/{pid}/maps").text

    def maps_json(self, pid: int) -> MapsOut:
        return MapsOut.model_validate(self._request("GET", f"/processes/{pid}/maps.json").json())
