"""pytest's configuration for the whole tree (pyproject.toml has the rest).

The doctests of ``core/`` are collected from its ``.py`` sources, which the compiled
engine does not run (its modules are C extensions: core/_engine.py): there, they are
left to the pure-Python engine's run (scripts/test runs both).
"""

import core

collect_ignore_glob = ["core/*.py"] if core.ENGINE == "compiled" else []
