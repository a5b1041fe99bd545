"""Which engine runs: ``core`` compiled by mypyc, or the same modules as pure Python.

Design note
===========

The build (``hatch_build.py``) compiles every module of ``core/`` except
:data:`INTERPRETED` into C extensions that sit next to their sources
(``core/fault.cpython-311-x86_64-linux-gnu.so``), and records the hash of the sources
it compiled in ``core/_engine_build.json``. Python's import system prefers an extension
to a ``.py`` file of the same name in the same directory, so a current build is what
``import core.fault`` loads with no help from here. This module, imported by
``core/__init__.py`` before any other module of the package, only decides whether to
step aside:

* ``VMASIM_ENGINE=python`` (the fallback's test runs), no build, or a build whose
  sources changed since it was compiled (a developer edited a module: the stale build
  would run the old code): the pure-Python engine. :class:`_SourceOnly`, first on
  ``sys.meta_path``, then finds every ``core.*`` module as its ``.py`` source.
* ``VMASIM_ENGINE=compiled``: the compiled engine, or ImportError saying why not (CI
  uses it so a broken build cannot pass as a compiled run).
* Unset or ``auto``: the compiled engine where the build is current, else pure Python.

With the compiled engine, this module also installs :mod:`core._arenas`, a C extension
of the same build that allocates CPython's small-object arenas from 2 MiB-aligned
``MADV_HUGEPAGE`` reservations (``VMASIM_HUGE_ARENAS=0``: not): a process of millions
of VMAs then keeps its heap in transparent huge pages, which is what keeps lookups in it
within issue 15's 3x of a small one (docs/performance.md, "Lookups at 2,200,000 VMAs:
the heap in huge pages"). :data:`ARENAS` says whether.

:data:`ENGINE` (``"compiled"`` or ``"python"``) and :data:`ENGINE_DETAIL` say which
runs and why; ``vmasim --version`` and ``/healthz`` show them. Checking the hash reads
the compiled modules' sources once per process (~1 MB: a few milliseconds).

Never compiled itself (it must run before any compiled module is loaded), and imports
nothing from the engine.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

#: Modules of ``core/`` that stay interpreted in the compiled engine, and why.
INTERPRETED: Final[dict[str, str]] = {
    "__init__.py": "the package's namespace; imports this module before any other",
    "_engine.py": "decides which engine runs, before any compiled module is loaded",
    "errors.py": (
        "its exceptions also derive from builtin ones (ValueError, KeyError, "
        "MemoryError, TimeoutError...), which mypyc cannot compile as native classes; "
        "raising and catching them costs the same either way"
    ),
    "sched.py": (
        "cond_resched() must run in the interpreter: entering it runs the eval loop's "
        "check for a thread waiting for the GIL, which compiled code never makes"
    ),
    "files.py": (
        "other modules keep per-file state in an Inode's instance __dict__ (the page "
        "cache, the commit charge of a shared mapping); a native class has none"
    ),
    # Cold: compiling them would cost compile time (every fresh clone's first
    # scripts/test, every wheel) and gain nothing anyone measures: they run once per
    # process, per checkpoint or per rare syscall, never on the fault, lookup, mmap/
    # munmap/mprotect or maps paths (docs/performance.md, "Compiled engine").
    "checkpoint.py": "cold: save and load of a whole kernel",
    "exec.py": "cold: execve, once per process",
    "binfmt_elf.py": "cold: ELF loading, once per process",
    "binfmt_script.py": "cold: #! scripts, once per process",
    "layout.py": "cold: initial layouts of spawned processes",
    "x86_layout.py": "cold: the address-space layout at exec",
    "fork.py": "cold: fork, once per child",
    "madvise.py": "cold: madvise; its per-page loops stay Python",
    "mlock.py": "cold: mlock/munlock/mlockall syscalls",
    "anon_name.py": "cold: prctl(PR_SET_VMA_ANON_NAME)",
}
#: C extensions of ``core/`` built with the engine (not by mypyc), by their sources: the
#: build's hash covers them too.
C_SOURCES: Final = ("_arenas.c",)
#: The build's record, next to the compiled modules.
STAMP_NAME: Final = "_engine_build.json"
_VALUES: Final = ("auto", "compiled", "python")


def compiled_sources(core_dir: Path) -> list[Path]:
    """The modules the build compiles, sorted by name."""
    return sorted(p for p in core_dir.glob("*.py") if p.name not in INTERPRETED)


def built_sources(core_dir: Path) -> list[Path]:
    """Every source the build turns into an extension: :func:`compiled_sources` and
    :data:`C_SOURCES`."""
    return [*compiled_sources(core_dir), *(core_dir / name for name in C_SOURCES)]


def source_hash(sources: Sequence[Path]) -> str:
    """SHA-256 over the names and contents of ``sources``."""
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_state(core_dir: Path) -> str | None:
    """None when ``core_dir`` holds a current compiled build, else why not."""
    try:
        recorded = json.loads((core_dir / STAMP_NAME).read_text())["source_hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no compiled build"
    sources = built_sources(core_dir)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    missing = [p.stem for p in sources if not p.with_name(p.stem + suffix).exists()]
    if missing:
        return f"the compiled build lacks {', '.join(missing)}"
    if recorded != source_hash(sources):
        return "the compiled build is stale: its sources changed since (run scripts/test)"
    return None


def inplace_build_is_current(core_dir: Path) -> bool:
    return build_state(core_dir) is None


class _SourceOnly(importlib.abc.MetaPathFinder):
    """Finds ``core.*`` modules as their ``.py`` sources, never as extensions."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("core.") or path is None:
            return None
        loader = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
        for entry in path:
            spec = importlib.machinery.FileFinder(entry, loader).find_spec(fullname)
            if spec is not None:
                return spec
        return None


def _choose() -> tuple[str, str]:
    requested = os.environ.get("VMASIM_ENGINE", "") or "auto"
    if requested not in _VALUES:
        raise ImportError(f"VMASIM_ENGINE={requested!r}: expected one of {', '.join(_VALUES)}")
    if requested == "python":
        return "python", "VMASIM_ENGINE=python"
    why_not = build_state(Path(__file__).resolve().parent)
    if why_not is None:
        return "compiled", "mypyc"
    if requested == "compiled":
        raise ImportError(f"VMASIM_ENGINE=compiled, but {why_not}")
    return "python", why_not


#: ``"compiled"`` (mypyc) or ``"python"``: the engine this process runs.
ENGINE: str
#: Why: ``"mypyc"``, ``"VMASIM_ENGINE=python"``, ``"no compiled build"``...
ENGINE_DETAIL: str
ENGINE, ENGINE_DETAIL = _choose()
if ENGINE == "python" and not any(isinstance(f, _SourceOnly) for f in sys.meta_path):
    sys.meta_path.insert(0, _SourceOnly())


def _arenas() -> str:
    """Install :mod:`core._arenas` (CPython's small-object arenas in transparent huge
    pages, see its design note in ``core/_arenas.c``) with the compiled engine, unless
    ``VMASIM_HUGE_ARENAS=0``. Returns "on", or why not."""
    if ENGINE != "compiled":
        return "off: the pure-Python engine"
    if __package__ != "core":  # hatch_build.py runs this file alone, to read its lists
        return "off: core/_engine.py loaded outside the package"
    setting = os.environ.get("VMASIM_HUGE_ARENAS", "") or "1"
    if setting not in ("0", "1"):
        raise ImportError(f"VMASIM_HUGE_ARENAS={setting!r}: expected 0 or 1")
    if setting == "0":
        return "off: VMASIM_HUGE_ARENAS=0"
    from . import _arenas  # type: ignore[attr-defined]

    _arenas.install()
    return "on"


#: Whether CPython's arenas come from huge-page reservations (``"on"``) or why not.
#: Installed here, before the engine's modules are imported, so that the heap the engine
#: builds (and every later object of this process) lies in them.
ARENAS: Final = _arenas()
