"""The compiled engine: ``core/`` compiled with mypyc, the pure-Python package as fallback.

Design note
===========

``core/`` is fully annotated and mypy-strict, which is what mypyc compiles: each module
becomes a C extension (``core/fault.cpython-311-x86_64-linux-gnu.so``) next to its
source, plus one shared library holding the code of them all (``core__mypyc...so`` at
the top level). Python's import system prefers an extension module to a ``.py`` file of
the same name in the same directory, so where the extensions exist they are what
``import core.fault`` loads; :mod:`core._engine` decides at import time which engine
runs (``VMASIM_ENGINE=python`` forces the pure-Python one, and a build whose sources
changed since is never used) and says which (``core.ENGINE``, ``vmasim --version``,
``/healthz``).

Two ways in, one compiler run (:func:`build`):

* ``pip install .`` (a wheel: the Docker image, any user install) runs this file as
  hatchling's build hook. With mypyc, setuptools (which drives the C compiler) and a C
  compiler present it compiles into a temporary directory and adds the extensions to
  the wheel, which then carries the platform's tag; without them, or if the compile
  fails, the wheel is the pure-Python package (a message says why).
* The development install (``scripts/_venv.sh``: an editable install, which has no
  place for built files) runs ``python hatch_build.py --inplace`` after it, with the
  mypy of the lock file: the extensions land in the source tree (ignored by git), and
  the run is skipped when ``core/_engine_build.json`` already names the current
  sources' hash (:func:`core._engine.source_hash`). Any change to a compiled module
  makes the build stale: :mod:`core._engine` then runs the pure-Python engine and says
  so, and the next ``scripts/test`` recompiles.

Modules kept interpreted (:data:`INTERPRETED`, with the reason for each). Compiled and
interpreted modules call each other freely; only the compiled ones get native classes.

Cost (docs/performance.md, "Compiled engine"): mypyc itself takes a few seconds; the C
compile of the ~32 hot modules takes most of the time, split over every core
(``build_ext`` in parallel, one C file per module: ``multi_file``), at ``-O1``
(:data:`OPT_LEVEL`). The cold modules stay interpreted (``INTERPRETED``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def _load_engine_module() -> Any:
    """core/_engine.py as a plain module: the engine's own view of which modules are
    compiled and when a build is stale (``import core`` would import the whole engine)."""
    spec = importlib.util.spec_from_file_location("_vmasim_engine", ROOT / "core" / "_engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_engine = _load_engine_module()
INTERPRETED: dict[str, str] = _engine.INTERPRETED
STAMP = "core/" + _engine.STAMP_NAME
#: The shared library's module name (``<group>__mypyc``).
GROUP = "core"
#: The C compiler's optimisation level (``-O1``): measured against mypyc's default
#: ``-O3`` in docs/performance.md, "Compiled engine" (compile time and instructions per
#: fault).
OPT_LEVEL = "1"


def compiled_sources(root: Path = ROOT) -> list[Path]:
    return _engine.compiled_sources(root / "core")


def _say(text: str) -> None:
    sys.stderr.write(f"hatch_build: {text}\n")


def unavailable() -> str | None:
    """Why the engine cannot be compiled here, or None when it can."""
    if os.environ.get("VMASIM_ENGINE_BUILD", "") == "python":
        return "VMASIM_ENGINE_BUILD=python"
    try:
        import mypyc.build  # noqa: F401
        import setuptools  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed"
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc})"
    return None


def build(out: Path, *, root: Path = ROOT, jobs: int | None = None) -> list[Path]:
    """Compile the engine's modules with mypyc; the extensions (and the stamp) go under
    ``out`` in the package layout (``core/x.so``, ``core__mypyc.so``). Returns their
    paths relative to ``out``. Raises on any compile error."""
    from mypyc.build import mypycify
    from setuptools import Distribution, Extension

    sources = compiled_sources(root)
    # The stamp names the sources as they were *before* mypyc read them: a module edited
    # while the build runs then leaves the build stale (rebuilt next time), never
    # recorded as current with the old code compiled.
    source_hash = _engine.source_hash(_engine.built_sources(root / "core"))
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="vmasim-mypyc-"))
    cwd = os.getcwd()
    try:
        os.chdir(root)  # mypyc names modules by their paths relative to the cwd
        exts = mypycify(
            # Its own mypy cache: the project's .mypy_cache belongs to scripts/test's mypy
            # (other options; a run may be going on at the same time).
            [f"--cache-dir={work / 'mypy_cache'}", *(str(p.relative_to(root)) for p in sources)],
            opt_level=OPT_LEVEL,
            multi_file=True,  # one C file per module: the C compile runs in parallel
            group_name=GROUP,
            target_dir=str(work / "c"),
        )
        # The engine's C extensions (core._arenas), beside mypyc's.
        exts += [
            Extension(f"core.{Path(name).stem}", [f"core/{name}"]) for name in _engine.C_SOURCES
        ]
        generated = time.monotonic()
        dist = Distribution({"name": "vmasim-engine", "ext_modules": exts})
        cmd: Any = dist.get_command_obj("build_ext")
        cmd.build_lib = str(work / "lib")
        cmd.build_temp = str(work / "tmp")
        cmd.parallel = jobs or os.cpu_count() or 1
        dist.run_command("build_ext")
        built = sorted(p.relative_to(work / "lib") for p in (work / "lib").rglob("*.so"))
        for rel in built:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            # Replace, never overwrite in place: a running interpreter may have the old
            # file mapped.
            tmp = out / rel.with_name(rel.name + ".tmp")
            shutil.copyfile(work / "lib" / rel, tmp)
            tmp.replace(out / rel)
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)
    stamp = {
        "source_hash": source_hash,
        "modules": len(sources),
        "mypyc_s": round(generated - started, 1),
        "cc_s": round(time.monotonic() - generated, 1),
        "jobs": cmd.parallel,
    }
    (out / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
    _say(
        f"compiled {len(sources)} modules of core/ (mypyc {stamp['mypyc_s']} s, "
        f"C {stamp['cc_s']} s on {cmd.parallel} jobs)"
    )
    return [*built, Path(STAMP)]


def remove_inplace(root: Path = ROOT) -> None:
    """Delete an in-place build (the extensions and the stamp)."""
    for path in [*(root / "core").glob("*.so"), *root.glob(f"{GROUP}__mypyc*.so")]:
        path.unlink()
    (root / STAMP).unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    """``python hatch_build.py --inplace``: compile into the source tree unless the
    build there is current. ``--check``: exit 0 when it is current. ``--clean``."""
    if argv == ["--check"]:
        return 0 if _engine.inplace_build_is_current(ROOT / "core") else 1
    if argv == ["--clean"]:
        remove_inplace()
        return 0
    if argv not in (["--inplace"], ["--inplace", "--force"]):
        _say("usage: python hatch_build.py --inplace [--force] | --check | --clean")
        return 2
    if "--force" not in argv and _engine.inplace_build_is_current(ROOT / "core"):
        return 0
    why = unavailable()
    if why is not None:
        remove_inplace()
        _say(f"the engine stays pure Python: {why}")
        return 0
    remove_inplace()  # a failed compile must not leave a stale build behind
    try:
        build(ROOT)
    except Exception as exc:  # the C compiler's failures come in several classes
        remove_inplace()
        _say(f"the engine stays pure Python: the compile failed: {exc}")
        return 0
    return 0


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script, outside a build
    pass
else:

    class EngineBuildHook(BuildHookInterface):  # type: ignore[type-arg]
        """hatchling's ``custom`` build hook: compile the engine into the wheel."""

        PLUGIN_NAME = "custom"

        def initialize(self, version: str, build_data: dict[str, Any]) -> None:
            if self.target_name != "wheel" or version == "editable":
                return  # the development install compiles in place (scripts/_venv.sh)
            why = unavailable()
            if why is not None:
                _say(f"building the pure-Python engine: {why}")
                return
            out = Path(tempfile.mkdtemp(prefix="vmasim-engine-"))
            self._engine_out = out
            try:
                files = build(out, root=Path(self.root))
            except Exception as exc:
                _say(f"building the pure-Python engine: the compile failed: {exc}")
                return
            for rel in files:
                build_data["force_include"][str(out / rel)] = str(rel)
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

        def finalize(self, version: str, build_data: dict[str, Any], artifact: str) -> None:
            out = getattr(self, "_engine_out", None)
            if out is not None:
                shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
