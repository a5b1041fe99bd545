"""Architecture rules that must never regress: the floors and their arrows.

The project is four floors, each importing only the floors below it::

    client/   typed client, CLI, replay     -> app.schemas (the request/response models)
    app/      the FastAPI service           -> lab, core
    lab/      experiments, cost model,      -> core
              kernel oracles, plots
    core/     the engine                    -> (the standard library; pyelftools for ELF)

``client`` may import exactly one module tree of the floor below: ``app.schemas``
(and ``app.flags``, the names its fields use), never the server. Checked two ways:
statically, from every ``import`` statement of every module (including the ones
inside functions), and at run time, from what importing a floor really loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import core

ROOT = Path(__file__).resolve().parent.parent
WEB_PACKAGES = ("fastapi", "starlette", "pydantic", "uvicorn", "httpx")
FIRST_PARTY = ("client", "app", "lab", "core")
#: What each floor may import of the project (a module prefix, dot-separated).
ALLOWED: dict[str, tuple[str, ...]] = {
    "core": ("core",),
    "lab": ("lab", "core"),
    "app": ("app", "lab", "core"),
    "client": ("client", "app.schemas", "app.flags", "core.constants"),
}
#: Modules a floor may import exactly (not their submodules): the client reads the
#: version from the ``app`` package itself (its __init__ imports nothing of the server).
ALLOWED_EXACT: dict[str, tuple[str, ...]] = {"client": ("app",)}


def _project_imports(floor: str) -> list[tuple[str, int, str]]:
    """``(file, line, module)`` for every first-party import in ``floor``."""
    found = []
    for path in sorted((ROOT / floor).rglob("*.py")):
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                names = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] in FIRST_PARTY:
                    found.append((str(path.relative_to(ROOT)), node.lineno, name))
    return found


@pytest.mark.parametrize("floor", [f for f in ALLOWED if (ROOT / f).is_dir()])
def test_each_floor_imports_only_the_floors_below(floor: str) -> None:
    allowed = ALLOWED[floor]
    bad = [
        f"{file}:{line} imports {module}"
        for file, line, module in _project_imports(floor)
        if not any(module == a or module.startswith(a + ".") for a in allowed)
        and module not in ALLOWED_EXACT.get(floor, ())
    ]
    assert not bad, "\n".join(bad)


def test_the_static_check_sees_relative_and_nested_imports() -> None:
    # The check would pass vacuously if it saw no imports: app reaches core through
    # absolute imports and its own modules through relative ones.
    modules = {module for _, _, module in _project_imports("app")}
    assert any(m.startswith("core") for m in modules)
    assert "app.schemas.common" in modules or any(m.startswith("app.schemas") for m in modules)


def _loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}\nprint(','.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=ROOT,
    )
    return set(out.stdout.strip().split(","))


def test_core_imports_no_web_stack_and_no_upper_floor() -> None:
    loaded = _loaded_by("core, core.layout, core.procfs")
    bad = sorted(m for m in loaded if m.split(".")[0] in (*WEB_PACKAGES, "app", "lab", "client"))
    assert not bad, f"core pulled in: {bad}"


def test_lab_imports_no_web_stack() -> None:
    loaded = _loaded_by("lab")
    bad = sorted(m for m in loaded if m.split(".")[0] in (*WEB_PACKAGES, "app", "client"))
    assert not bad, f"lab pulled in: {bad}"


def test_client_loads_no_server_and_no_lab() -> None:
    loaded = _loaded_by("client, client.cli")
    bad = sorted(
        m
        for m in loaded
        if m.split(".")[0] in ("fastapi", "starlette", "uvicorn", "lab")
        or (m.startswith("app.") and not m.startswith(("app.schemas", "app.flags")))
    )
    assert not bad, f"client pulled in: {bad}"


def test_only_the_cluster_backend_imports_ray() -> None:
    """Ray is the cluster backend's (``app/cluster/``) and the lab's sweep fan-out's, the
    latter inside a function: no other module imports it, and importing the embedded
    service, the lab or the client loads none of it."""
    importers = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in FIRST_PARTY:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] == "ray" for name in names):
                importers.append(str(rel))
    assert importers, "the static check sees no import of ray at all"
    bad = [f for f in importers if not f.startswith(("app/cluster/", "lab/sweep.py"))]
    assert not bad, bad
    loaded = _loaded_by("app.main, lab, client.cli")
    assert not any(m.split(".")[0] == "ray" for m in loaded)


def test_core_all_is_complete_and_sorted() -> None:
    # Submodules and the __future__ feature are not part of the API.
    exported = {
        name
        for name, value in vars(core).items()
        if not name.startswith("_") and not isinstance(value, type(core)) and name != "annotations"
    }
    assert set(core.__all__) == exported
    assert len(core.__all__) == len(exported)
