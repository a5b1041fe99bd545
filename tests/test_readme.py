"""The README's first screen works as written: its scripts exist and its engine
snippet runs, from any directory, under the project's interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from core import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Kernel

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_script_the_readme_names_exists_and_runs() -> None:
    named = set(re.findall(r"scripts/([\w.-]*\w)", README))  # docker-daemon: one name
    assert {"serve", "test", "vmasim", "lock", "loadtest"} <= named
    for name in named:
        path = ROOT / "scripts" / name
        assert path.is_file(), f"scripts/{name}"
        assert name.startswith("_") or path.stat().st_mode & 0o111, f"scripts/{name} runs"


def test_the_engine_snippet_runs_from_anywhere(tmp_path: Path) -> None:
    snippet = re.search(r"## The engine in five lines\n\n```python\n(.*?)```", README, re.S)
    assert snippet is not None
    (tmp_path / "five.py").write_text(snippet.group(1))
    done = subprocess.run(
        [sys.executable, "five.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    proc = Kernel().spawn(layout="typical")
    addr = proc.mm.mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    proc.mm.mprotect(addr + 2 * 4096, 2 * 4096, PROT_READ)
    assert done.stdout == proc.mm.maps() + "\n"
