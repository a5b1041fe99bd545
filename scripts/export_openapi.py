#!/usr/bin/env python3
"""Write openapi/openapi.json from the app (``--check``: fail when it is stale).

Same as ``python -m app.openapi``; kept as a script for discoverability.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.openapi import main

if __name__ == "__main__":
    raise SystemExit(main())
