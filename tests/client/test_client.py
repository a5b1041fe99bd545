"""The typed client: every method against the live server."""

from __future__ import annotations

import httpx
import pytest

from client.api import ApiError, VmasimClient


def test_every_method(api: VmasimClient) -> None:
    assert api.health().status == "ok"
    proc = api.create_process(name="client")
    pid = proc.pid
    assert pid in [p.pid for p in api.list_processes().processes]
    f = api.open_file(pid, f"/tmp/client-{pid}", size=8192)
    assert f.fd == 3 and f.size == 8192
    addr = api.mmap(pid, 0, 8192, ["PROT_READ"], ["MAP_PRIVATE"], fd=f.fd)
    api.close_file(pid, f.fd)
    api.mprotect(pid, addr, 4096, ["PROT_NONE"])
    target = addr - (1 << 30)
    moved = api.mremap(pid, addr, 4096, 4096, ["MREMAP_MAYMOVE", "MREMAP_FIXED"], hex(target))
    assert moved == target
    api.munmap(pid, moved, 4096)
    assert api.brk(pid, 0) == int(proc.brk, 16)
    batch = api.syscalls(pid, [{"op": "munmap", "addr": 1, "length": 1}, {"op": "brk", "addr": 0}])
    assert [r.ok for r in batch.results] == [False, True]
    assert batch.results[0].errno_name == "EINVAL"
    maps = api.maps_json(pid)
    assert [v.start for v in maps.vmas[:-1]] == [hex(addr + 4096)]  # + [vsyscall]
    assert api.maps(pid).startswith(maps.vmas[0].addr)
    assert api.get_process(pid).files == []
    api.delete_process(pid)
    with pytest.raises(ApiError) as exc:
        api.get_process(pid)
    assert exc.value.status == 404
    assert exc.value.problem["pid"] == pid


def test_api_error_carries_errno() -> None:
    with (
        VmasimClient(
            "http://127.0.0.1:9",
            transport=httpx.MockTransport(
                lambda request: httpx.Response(
                    422,
                    json={"detail": "munmap: EINVAL", "errno_name": "EINVAL"},
                    headers={"content-type": "application/problem+json"},
                )
            ),
        ) as api,
        pytest.raises(ApiError) as exc,
    ):
        api.munmap(1000, 1, 1)
    assert exc.value.errno_name == "EINVAL"
    assert str(exc.value) == "HTTP 422: munmap: EINVAL"
