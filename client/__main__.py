"""``python -m client``: the ``vmasim`` command line."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
