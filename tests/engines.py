"""What differs between the compiled engine and the pure-Python one, for tests.

The compiled engine (core/_engine.py, hatch_build.py) checks the declared types of its
functions' arguments at the call: an argument of the wrong type raises TypeError there
(``mm.fault("0x1000", "read")``), and a bool where an ``int`` is declared arrives as the
int (``True`` is 1), where the pure-Python engine's own checks raise InvalidArgument
naming the value. Tests of those checks are marked :data:`PYTHON_ENGINE_ONLY`; the
pure-Python engine runs every engine test (``scripts/test`` runs tests/core on both).
The same mark covers tests that rely on what compiled code does not have: interpreted
subclasses of engine classes, module functions replaced by a test, and the
interpreter's switches between threads at any bytecode.
"""

from __future__ import annotations

import pytest

import core

COMPILED = core.ENGINE == "compiled"

PYTHON_ENGINE_ONLY = pytest.mark.skipif(
    COMPILED,
    reason="pure-Python engine only (tests/engines.py); scripts/test runs it there",
)
