"""Suite-wide pytest hooks."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.stress`` tests run only when selected with ``-m stress``: the
    default run (CI) stays within minutes, the long randomized runs stay one flag away."""
    if "stress" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="long run: select it with -m stress")
    for item in items:
        if item.get_closest_marker("stress") is not None:
            item.add_marker(skip)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadfile`` (scripts/test): one file per worker at a time, the compose
    files in one unit, the longest files first (tests/scheduling.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.scheduling import FileScheduling

    return FileScheduling(config, log)
