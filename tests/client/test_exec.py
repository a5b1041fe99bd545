"""execve over REST, the typed client and the CLI, against the live server.

``POST /processes`` with ``exec`` and ``POST /processes/{pid}/execve`` build the image
the engine's execve builds (tests/core/test_exec_oracle.py compares that with the
running kernel); here: what the routes answer, the kernel's errnos for bad paths and
files, and that a refused exec changes nothing."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import httpx
import pytest

from client.api import ApiError, VmasimClient
from client.cli import EXIT_OK, EXIT_REFUSED, main
from core import Kernel
from tests.app.conftest import LiveServer

TRUE = "/usr/bin/true"
pytestmark = pytest.mark.skipif(
    not os.access(TRUE, os.X_OK), reason="needs /usr/bin/true (an x86-64 Linux program)"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("exec-files")
    (d / "text.x").write_text("hello\n")
    (d / "plain").write_text("not executable\n")
    (d / "script.sh").write_text("#!/bin/sh -e\nexit 0\n")
    for name in ("text.x", "script.sh"):
        (d / name).chmod(0o755)
    return d


def test_create_a_process_by_exec(api: VmasimClient) -> None:
    proc = api.spawn_exec(TRUE, ["true", "--version"], ["LANG=C"])
    try:
        assert proc.name == "true" and proc.image is not None
        image = proc.image
        assert image.executable == os.path.realpath(TRUE)
        assert image.argv == ["true", "--version"] and not image.aslr and image.seed is None
        assert proc.start_code != "0x0" and proc.mmap_base == "0x7ffff7fff000"
        expected, _ = Kernel().spawn_exec(TRUE, ["true", "--version"], ["LANG=C"])
        assert api.maps(proc.pid) == expected.mm.maps()
        assert api.get_process(proc.pid).image == image  # GET shows it too
    finally:
        api.delete_process(proc.pid)


def test_exec_name_defaults_to_the_file_and_can_be_given(api: VmasimClient) -> None:
    proc = api.spawn_exec(TRUE, name="mytrue", aslr=True, seed=5)
    try:
        assert proc.name == "mytrue"
        assert proc.image is not None and proc.image.aslr and proc.image.seed == 5
        assert proc.image.argv == [TRUE]  # argv defaults to [path]
        again = api.spawn_exec(TRUE, name="again", aslr=True, seed=5)
        assert api.maps(again.pid) == api.maps(proc.pid)  # one seed, one layout
        api.delete_process(again.pid)
    finally:
        api.delete_process(proc.pid)


def test_execve_replaces_an_existing_process(api: VmasimClient, pid: int) -> None:
    api.mmap(pid, 0, 8192, ["PROT_READ"], ["MAP_PRIVATE", "MAP_ANONYMOUS"])
    fd = api.open_file(pid, "/tmp/exec-kept", ["O_RDWR"], 4096).fd
    proc = api.execve(pid, TRUE, ["true"])
    assert proc.pid == pid and proc.image is not None and proc.name == "true"
    assert [f.fd for f in proc.files] == [fd]  # open files survive exec
    assert "[stack]" in api.maps(pid) and "7ffff7ffd000-7ffff7fff000 r--p" not in api.maps(pid)


def _errno(excinfo: pytest.ExceptionInfo[ApiError]) -> str:
    problem = excinfo.value.problem
    assert excinfo.value.status == 422 and problem["syscall"] == "execve", problem
    return str(problem["errno_name"])


def test_exec_errors_are_the_kernels(api: VmasimClient, files: Path) -> None:
    cases = {
        "/nonexistent/program": "ENOENT",
        str(files): "EACCES",  # a directory
        str(files / "plain"): "EACCES",  # not executable
        str(files / "text.x"): "ENOEXEC",
        f"{TRUE}/x": "ENOTDIR",
    }
    before = len(api.list_processes().processes)
    for path, name in cases.items():
        with pytest.raises(ApiError) as info:
            api.spawn_exec(path)
        assert _errno(info) == name, path
    assert len(api.list_processes().processes) == before  # none left behind
    assert stat.S_ISDIR(os.stat(files).st_mode)


def test_a_refused_execve_changes_nothing(api: VmasimClient, pid: int) -> None:
    api.mmap(pid, 0, 4096, ["PROT_READ"], ["MAP_PRIVATE", "MAP_ANONYMOUS"])
    before = api.maps(pid)
    with pytest.raises(ApiError) as info:
        api.execve(pid, "/nonexistent/program")
    assert _errno(info) == "ENOENT"
    assert api.maps(pid) == before and api.get_process(pid).name == "test"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"exec": {"path": "relative"}}, "body.exec.path"),
        ({"exec": {"path": TRUE}, "layout": "typical"}, "body"),
        ({"exec": {"path": TRUE, "argv": "true"}}, "body.exec.argv"),
        ({"exec": {"path": TRUE, "seed": -1}}, "body.exec.seed"),
        ({"exec": {"path": TRUE, "bogus": 1}}, "body.exec.bogus"),
    ],
)
def test_bad_exec_requests_are_422_naming_the_field(
    http: httpx.Client, body: dict[str, object], field: str
) -> None:
    r = http.post("/processes", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


def test_openapi_documents_the_exec_errors(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    create = doc["paths"]["/processes"]["post"]
    execve = doc["paths"]["/processes/{pid}/execve"]["post"]
    for op in (create, execve):
        assert "422" in op["responses"]
        for name in ("ENOENT", "EACCES", "ENOEXEC", "E2BIG"):
            assert name in op["description"]
    assert "exec" in doc["components"]["schemas"]["ProcessIn"]["properties"]


def test_cli_exec(live_server: LiveServer, files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = live_server.url
    out = io.StringIO()
    assert (
        main(["--url", url, "exec", "--env", "A=1", str(files / "script.sh"), "x"], out=out)
        == EXIT_OK
    )
    pid = int(out.getvalue())
    with VmasimClient(url) as api:
        proc = api.get_process(pid)
        assert proc.image is not None
        # The #! line: interpreter, its one argument, the script, then the arguments.
        assert proc.image.argv == ["/bin/sh", "-e", str(files / "script.sh"), "x"]
        assert proc.image.scripts == [str(files / "script.sh")]
        out = io.StringIO()
        assert main(["--url", url, "exec", "--pid", str(pid), "--argv0", "t", TRUE], out=out) == 0
        assert api.get_process(pid).image.argv == ["t"]  # type: ignore[union-attr]
        assert main(["--url", url, "exec", "/nonexistent"], out=io.StringIO()) == EXIT_REFUSED
        assert "ENOENT" in capsys.readouterr().err
        api.delete_process(pid)
