"""Fixtures for the differential tests: the compiled helper and the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential.realkernel import compile_helper, unsupported_reason
from tests.differential.simrun import engine_missing_reason


@pytest.fixture(scope="session")
def vmatrace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vmatrace helper, compiled for this session (skips where it cannot run)."""
    reason = unsupported_reason()
    if reason is not None:
        pytest.skip(f"differential tests against the real kernel: {reason}")
    return compile_helper(tmp_path_factory.mktemp("vmatrace"))


@pytest.fixture(scope="session")
def engine() -> None:
    """Skips the test while the simulator engine (core.Kernel) does not exist yet."""
    reason = engine_missing_reason()
    if reason is not None:
        pytest.skip(reason)
