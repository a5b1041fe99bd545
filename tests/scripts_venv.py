"""Whether the suite runs from the ``.venv`` that ``scripts/_venv.sh`` built and that
is still current, so that a test may run a script of ``scripts/``.

A script run while the lock, ``pyproject.toml`` or ``_venv.sh`` has changed since the
venv was built would rebuild it (``venv --clear``) under the running suite; tests of
the scripts skip then. :func:`stamp` is ``_venv.sh``'s stamp name, and
``tests/test_install.py`` checks that the two agree.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMPED = ("requirements-dev.lock", "pyproject.toml", "scripts/_venv.sh")


def stamp(root: Path = ROOT) -> str:
    """``.installed-`` and the first 16 hex digits of the SHA-256 of the stamped files."""
    digest = hashlib.sha256(b"".join((root / name).read_bytes() for name in STAMPED))
    return ".installed-" + digest.hexdigest()[:16]


def current() -> bool:
    """Running from ``ROOT/.venv``, built from the files as they are now."""
    venv = ROOT / ".venv"
    return Path(sys.prefix).resolve() == venv.resolve() and (venv / stamp()).is_file()


SKIP_REASON = "the suite does not run from a current scripts/ .venv (see tests/scripts_venv.py)"
