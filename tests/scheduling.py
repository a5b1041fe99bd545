"""How ``scripts/test`` spreads the suite over pytest-xdist's workers (``-n N --dist
loadfile``; the hook is in tests/conftest.py).

xdist's ``loadfile`` sends each test file to one worker whole, so a module's fixtures
(a Ray cluster, a browser, a process with 65,530 VMAs) are still built once. Two
refinements:

* Files that must not run at the same time share one unit: the two compose tests each
  build the images and run a whole stack on the one Docker daemon, so they run one
  after the other in one worker, as they did in one process.
* The longest files go out first (:data:`LONG_FIRST`, from ``--durations`` of a whole
  run: docs/performance.md, "The suite's wall time"). Handed out last, one of them would
  run alone while the other workers stand idle; first, the short files fill in around
  it. After them, xdist's own order (the files with the most tests first). A name that
  no longer exists is skipped: the list orders, it never selects.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling

#: Files that run in one worker, one after the other (file -> unit name).
SHARED_UNITS = {
    "tests/deploy/test_compose.py": "tests/deploy/test_compose*.py",
    "tests/deploy/test_compose_cluster.py": "tests/deploy/test_compose*.py",
}

#: Units handed out first, longest first (seconds: one whole run at load 9-17).
LONG_FIRST = (
    "tests/deploy/test_schemathesis.py",  # 138 s, one test
    "tests/cluster/test_cluster.py",  # 140 s: a Ray cluster, front ends, a node killed
    "tests/ui/test_ui.py",  # ~100 s: chromium
    "tests/app/test_crash.py",  # 75 s
    "tests/deploy/test_compose*.py",  # minutes where a Docker daemon answers; else skips
    "tests/deploy/test_loadtest.py",  # 55 s: Locust runs
    "tests/lab/test_experiments.py",  # 45 s
    "tests/app/test_browser.py",  # 30 s: chromium
)


class FileScheduling(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types
    """``loadfile`` with :data:`SHARED_UNITS` and :data:`LONG_FIRST`."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return SHARED_UNITS.get(path, path)

    def _assign_work_unit(self, node: Any) -> None:
        for unit in LONG_FIRST:
            if unit in self.workqueue:
                self.workqueue.move_to_end(unit, last=False)
                break
        super()._assign_work_unit(node)
