"""Architecture rules that must never regress."""

from __future__ import annotations

import subprocess
import sys

import core

WEB_PACKAGES = ("fastapi", "starlette", "pydantic", "uvicorn", "httpx")


def test_core_imports_no_web_stack() -> None:
    code = (
        "import sys, core, core.layout, core.procfs\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {WEB_PACKAGES!r}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "", f"core pulled in web packages: {out.stdout.strip()}"


def test_core_all_is_complete_and_sorted() -> None:
    # Submodules and the __future__ feature are not part of the API.
    exported = {
        name
        for name, value in vars(core).items()
        if not name.startswith("_") and not isinstance(value, type(core)) and name != "annotations"
    }
    assert set(core.__all__) == exported
    assert len(core.__all__) == len(exported)
