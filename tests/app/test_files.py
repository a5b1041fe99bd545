"""``/processes/{pid}/files``: open and close."""

from __future__ import annotations

import httpx


def test_open_map_close(http: httpx.Client, pid: int) -> None:
    path = f"/tmp/files-{pid}.bin"
    r = http.post(f"/processes/{pid}/files", json={"path": path, "size": 16384})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "fd": 3,
        "path": path,
        "readable": True,
        "writable": True,
        "size": 16384,
        "unlinked": False,
    }
    assert r.headers["location"] == f"/processes/{pid}/files/3"
    ro = http.post(f"/processes/{pid}/files", json={"path": path, "flags": ["O_RDONLY"]})
    assert ro.json()["fd"] == 4 and ro.json()["writable"] is False
    m = http.post(
        f"/processes/{pid}/mmap",
        json={"length": 8192, "prot": ["PROT_READ"], "flags": ["MAP_SHARED"], "fd": 3},
    )
    assert m.status_code == 200, m.text
    assert [f["fd"] for f in http.get(f"/processes/{pid}").json()["files"]] == [3, 4]
    assert http.delete(f"/processes/{pid}/files/3").status_code == 204
    assert [f["fd"] for f in http.get(f"/processes/{pid}").json()["files"]] == [4]
    # The mapping keeps its file after close.
    assert path in http.get(f"/processes/{pid}/maps").text


def test_close_unknown_fd_is_ebadf(http: httpx.Client, pid: int) -> None:
    r = http.delete(f"/processes/{pid}/files/7")
    assert r.status_code == 422
    assert (r.json()["errno"], r.json()["errno_name"], r.json()["syscall"]) == (9, "EBADF", "close")
    assert "fd 7 is not open" in r.json()["detail"]


def test_shared_writable_mapping_of_read_only_fd_is_eacces(http: httpx.Client, pid: int) -> None:
    fd = http.post(
        f"/processes/{pid}/files", json={"path": f"/tmp/ro-{pid}", "flags": ["O_RDONLY"]}
    ).json()["fd"]
    r = http.post(
        f"/processes/{pid}/mmap",
        json={
            "length": 4096,
            "prot": ["PROT_READ", "PROT_WRITE"],
            "flags": ["MAP_SHARED"],
            "fd": fd,
        },
    )
    assert r.status_code == 422
    assert r.json()["errno_name"] == "EACCES"


def test_open_validation(http: httpx.Client, pid: int) -> None:
    cases = [
        ({"path": "relative"}, "body.path"),
        ({"path": "/x", "flags": ["O_CREAT"]}, "body.flags[0]"),
        ({"path": "/x", "size": -1}, "body.size"),
    ]
    for body, field in cases:
        r = http.post(f"/processes/{pid}/files", json=body)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["field"] == field
    assert (
        "O_CREAT"
        in http.post(f"/processes/{pid}/files", json={"path": "/x", "flags": ["O_CREAT"]}).json()[
            "detail"
        ]
    )
    assert http.get(f"/processes/{pid}").json()["files"] == []
    assert http.delete(f"/processes/{pid}/files/-1").status_code == 422
    assert http.post("/processes/999999/files", json={"path": "/x"}).status_code == 404
