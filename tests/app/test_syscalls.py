"""The single-call syscall routes, each checked against the engine running the same
calls in a fresh local process (same empty layout, so the same addresses)."""

from __future__ import annotations

import httpx
import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_MAYMOVE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
)

ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
RW = ["PROT_READ", "PROT_WRITE"]


def test_mmap_mprotect_munmap_mremap_brk_match_engine(http: httpx.Client, pid: int) -> None:
    mm = Kernel().spawn().mm
    base = f"/processes/{pid}"

    r = http.post(f"{base}/mmap", json={"length": 6 * 4096, "prot": RW, "flags": ANON})
    assert r.status_code == 200
    addr = mm.mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    assert r.json() == {"addr": f"{addr:#x}"}

    # Addresses as hex strings and integers are the same thing.
    r = http.post(
        f"{base}/mprotect",
        json={"addr": f"{addr + 2 * 4096:#x}", "length": 2 * 4096, "prot": ["PROT_READ"]},
    )
    assert r.status_code == 204 and r.content == b""
    mm.mprotect(addr + 2 * 4096, 2 * 4096, PROT_READ)
    assert http.get(f"{base}/maps.json").json()["count"] == 3 + 1  # + [vsyscall]

    r = http.post(f"{base}/munmap", json={"addr": addr, "length": 4096})
    assert r.status_code == 204
    mm.munmap(addr, 4096)

    r = http.post(
        f"{base}/mremap",
        json={
            "old_addr": addr + 4 * 4096,
            "old_len": 2 * 4096,
            "new_len": 8 * 4096,
            "flags": ["MREMAP_MAYMOVE"],
        },
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["addr"] == f"{mm.mremap(addr + 4 * 4096, 2 * 4096, 8 * 4096, MREMAP_MAYMOVE):#x}"
    )

    r = http.post(f"{base}/brk", json={"addr": 0})
    assert r.json() == {"brk": f"{mm.brk(0):#x}"}
    r = http.post(f"{base}/brk", json={"addr": "0x55555557a000"})
    assert r.json() == {"brk": f"{mm.brk(0x55555557A000):#x}"} == {"brk": "0x55555557a000"}

    assert http.get(f"{base}/maps").text == mm.maps()


def test_mmap_fixed_noreplace_is_eexist(http: httpx.Client, pid: int) -> None:
    body = {"addr": "0x100000000000", "length": 4096, "prot": RW, "flags": [*ANON, "MAP_FIXED"]}
    assert http.post(f"/processes/{pid}/mmap", json=body).json()["addr"] == "0x100000000000"
    body["flags"] = [*ANON, "MAP_FIXED_NOREPLACE"]
    r = http.post(f"/processes/{pid}/mmap", json=body)
    assert r.status_code == 422
    assert (r.json()["errno"], r.json()["errno_name"]) == (17, "EEXIST")


def test_raw_integer_flags_are_accepted(http: httpx.Client, pid: int) -> None:
    mm = Kernel().spawn().mm
    flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
    body = {"addr": 0x200000000000, "length": 4096, "prot": [3], "flags": [flags]}
    r = http.post(f"/processes/{pid}/mmap", json=body)
    assert r.json()["addr"] == f"{mm.mmap(0x200000000000, 4096, 3, flags):#x}"


@pytest.mark.parametrize(
    ("route", "body", "errno_name"),
    [
        ("mmap", {"length": 0, "prot": RW, "flags": ANON}, "EINVAL"),
        ("mmap", {"length": 4096, "prot": RW, "flags": ["MAP_ANONYMOUS"]}, "EINVAL"),
        ("mmap", {"length": 4096, "prot": RW, "flags": ["MAP_PRIVATE"], "fd": 42}, "EBADF"),
        ("mmap", {"length": "0xffffffffffffffff", "prot": RW, "flags": ANON}, "ENOMEM"),
        ("munmap", {"addr": 4097, "length": 4096}, "EINVAL"),
        ("mprotect", {"addr": "0x300000000000", "length": 4096, "prot": RW}, "ENOMEM"),
        ("mremap", {"old_addr": 4096, "old_len": 4096, "new_len": 0}, "EINVAL"),
    ],
)
def test_syscall_errors_carry_errno(
    http: httpx.Client, pid: int, route: str, body: dict[str, object], errno_name: str
) -> None:
    before = http.get(f"/processes/{pid}/maps").text
    r = http.post(f"/processes/{pid}/{route}", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:vmasim:problem:syscall-error"
    assert problem["errno_name"] == errno_name
    assert problem["syscall"] == route
    assert problem["instance"] == f"/processes/{pid}/{route}"
    assert http.get(f"/processes/{pid}/maps").text == before
