"""vmasim's web service (FastAPI) over the engine in :mod:`core`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import core as _engine

try:
    __version__ = version("vmasim")
    """The installed distribution's version: ``[project] version`` in pyproject.toml is
    its one home (``vmasim --version``, the OpenAPI document's ``info.version``)."""
except PackageNotFoundError:  # the sources imported without installing the project
    __version__ = "0+unknown"

#: The engine this process runs, ``"compiled"`` (mypyc) or ``"python"`` (core/_engine.py).
ENGINE = _engine.ENGINE
#: ``vmasim --version``: the version and the engine, with why the engine is not the
#: compiled one when it is not, and whether the compiled one keeps CPython's arenas in
#: huge pages (``core.ARENAS``: "on", or why not).
VERSION_TEXT = f"{__version__} (engine: {ENGINE}; " + (
    f"huge-page arenas {_engine.ARENAS})" if ENGINE == "compiled" else f"{_engine.ENGINE_DETAIL})"
)
