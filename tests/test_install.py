"""The install: ``requirements-dev.lock`` pins what pyproject.toml asks for, and
``scripts/_venv.sh`` installs exactly it, again whenever the lock changes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
import tomllib
from collections.abc import Iterator
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import scripts_venv

ROOT = scripts_venv.ROOT
LOCK = ROOT / "requirements-dev.lock"
# Python 3.11 on Linux x86-64: the platform scripts/lock resolves for.
TARGET = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def locked() -> dict[str, tuple[str, list[str]]]:
    """Canonical name -> (pinned version, sha256 hashes)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name: str = ""
    for line in LOCK.read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if pin:
            name = canonicalize_name(pin.group(1))
            pins[name] = (pin.group(2), [])
        for digest in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            pins[name][1].append(digest)
    return pins


def required(extra: str = "dev") -> Iterator[Requirement]:
    """pyproject's dependencies and ``extra``, ``vmasim[...]`` self-references expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo: list[str] = [*project["dependencies"], f"vmasim[{extra}]"]
    seen: set[str] = set()
    while todo:
        req = Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate({**TARGET, "extra": ""}):
            continue
        if canonicalize_name(req.name) != "vmasim":
            yield req
            continue
        for name in req.extras - seen:
            seen.add(name)
            todo += project["optional-dependencies"][name]


def test_lock_pins_every_requirement_within_pyprojects_range() -> None:
    pins = locked()
    assert len(pins) > 40  # the parse found the pins
    for req in required():
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req} is not in {LOCK.name}: run scripts/lock"
        assert req.specifier.contains(pin[0], prereleases=True), f"{req} but {pin[0]} locked"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name}=={version} has no hash"
    assert "#    scripts/lock\n" in LOCK.read_text()[:200]  # the header says how to refresh


@pytest.mark.skipif(not scripts_venv.current(), reason=scripts_venv.SKIP_REASON)
def test_the_scripts_venv_holds_exactly_the_lock() -> None:
    # What the venv's site-packages holds: not sys.path, to which an imported package
    # may add its own vendored copies (ray puts ray/thirdparty_files first).
    site = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    installed = {
        str(canonicalize_name(d.metadata["Name"])): d.version for d in distributions(path=site)
    }
    pins = {name: version for name, (version, _) in locked().items()}
    assert {n: installed.get(n) for n in pins} == pins
    # venv's own pip and setuptools (3.11), and the project itself, editable.
    assert set(installed) - set(pins) <= {"pip", "setuptools", "vmasim"}


FAKE_PYTHON = """#!/usr/bin/env bash
# Records each call; "-m venv --clear DIR" makes DIR/bin/python this script.
echo "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "-m venv" ]; then rm -rf "$4"; mkdir -p "$4/bin"; cp "$0" "$4/bin/python"; fi
if [ "$*" != "${*%check}" ] && [ -n "${FAKE_CHECK_FAILS:-}" ]; then exit 1; fi
exit 0
"""


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "flock", "sha256sum")),
    reason="needs bash, flock and sha256sum",
)
def test_venv_is_rebuilt_when_the_lock_or_pyproject_changes(tmp_path: Path) -> None:
    """scripts/_venv.sh with a stand-in python that records what it is asked to do."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "_venv.sh", tmp_path / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copy(LOCK, tmp_path)
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {**os.environ, "PYTHON": str(fake), "FAKE_LOG": str(log)}

    def source(**extra: str) -> tuple[int, list[str], str]:
        log.write_text("")
        done = subprocess.run(
            ["bash", "-c", 'source scripts/_venv.sh && echo "$PATH"'],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.returncode, log.read_text().splitlines(), done.stdout + done.stderr

    install = [
        "-m venv --clear .venv",
        "-m pip --disable-pip-version-check --quiet install --require-hashes --no-deps "
        "--no-compile -r requirements-dev.lock",
        "-m pip --disable-pip-version-check --quiet install --no-deps --editable .",
        "-m pip --disable-pip-version-check --quiet check",
        "hatch_build.py --check",  # the compiled engine is current (the stand-in says so)
    ]
    checked = ["hatch_build.py --check"]  # every run: one hash of the engine's sources
    code, calls, out = source()
    assert (code, calls) == (0, install), out
    assert out.startswith(f"{tmp_path}/.venv/bin:")
    stamps = sorted(p.name for p in (tmp_path / ".venv").glob(".installed-*"))
    assert stamps == [scripts_venv.stamp(tmp_path)]  # what tests of the scripts look for
    assert source()[:2] == (0, checked)  # nothing changed: nothing done

    with (tmp_path / "requirements-dev.lock").open("a") as f:
        f.write("# refreshed\n")
    assert source()[:2] == (0, install)
    new = sorted(p.name for p in (tmp_path / ".venv").glob(".installed-*"))
    assert new == [scripts_venv.stamp(tmp_path)] != stamps  # the old one went with the venv
    assert source()[:2] == (0, checked)

    with (tmp_path / "pyproject.toml").open("a") as f:
        f.write("# edited\n")
    code, calls, out = source(FAKE_CHECK_FAILS="1")  # the lock no longer fits
    assert (code, calls) == (1, install[:-1]), out  # stops before the engine
    assert "does not satisfy pyproject.toml: run scripts/lock" in out
    assert not list((tmp_path / ".venv").glob(".installed-*"))
    assert source()[:2] == (0, install)  # tried again until it succeeds
