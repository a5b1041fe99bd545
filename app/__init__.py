"""vmasim's web service (FastAPI) over the engine in :mod:`core`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vmasim")
    """The installed distribution's version: ``[project] version`` in pyproject.toml is
    its one home (``vmasim --version``, the OpenAPI document's ``info.version``)."""
except PackageNotFoundError:  # the sources imported without installing the project
    __version__ = "0+unknown"
