"""core._arenas: CPython's arenas from 2 MiB-aligned MADV_HUGEPAGE reservations, installed
with the compiled engine (core/_engine.py, design note of core/_arenas.c).

Each test runs a fresh interpreter (the allocator is per process and installed at the
first ``import core``), so what it sees is what any process of the compiled engine gets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engines import COMPILED

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not COMPILED, reason="core._arenas is part of the compiled engine"),
]

# Allocates about 96 MiB of small objects, reports the reservations' VMAs, frees them,
# allocates again. Prints one JSON object.
PROBE = r"""
import json, sys
import core
from core import _engine
out = {"arenas": _engine.ARENAS}
if _engine.ARENAS == "on":
    from core import _arenas
    before = _arenas.stats()
    objs = [[i] for i in range(1_000_000)]
    grown = _arenas.stats()
    vmas = []
    lines = open("/proc/self/smaps").read().splitlines()
    for i, line in enumerate(lines):
        if "-" in line.split()[0] and ":" not in line.split()[0]:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if any(lo <= c < hi for c in grown["chunks"]):
                flags = next(l for l in lines[i:] if l.startswith("VmFlags:"))
                vmas.append({"start": lo, "end": hi, "flags": flags.split()[1:]})
    del objs
    freed = _arenas.stats()
    again = [[i] for i in range(1_000_000)]
    out.update(before=before, grown=grown, freed=freed, again=_arenas.stats(), vmas=vmas)
print(json.dumps(out))
"""


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter of the compiled engine, ``VMASIM_HUGE_ARENAS`` as
    ``env`` says (unset unless given)."""
    full = {k: v for k, v in os.environ.items() if k != "VMASIM_HUGE_ARENAS"}
    full.update(VMASIM_ENGINE="compiled", **env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=110,
    )


def probe(**env: str) -> dict[str, object]:
    done = run(PROBE, **env)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_arenas_come_from_aligned_huge_page_reservations_and_are_reused() -> None:
    out = probe()
    assert out["arenas"] == "on"
    before, grown = out["before"], out["grown"]
    assert isinstance(before, dict) and isinstance(grown, dict)
    assert grown["installed"] is True and grown["arena_size"] == 1 << 20
    # A million one-item lists (about 96 MiB: list object and item array) took at least
    # 64 new arenas, all from the reservations.
    assert grown["arenas_in_use"] - before["arenas_in_use"] >= 64
    assert grown["madvise_errno"] == 0
    vmas = out["vmas"]
    assert isinstance(vmas, list) and vmas
    for vma in vmas:
        # Each reservation is 2 MiB-aligned and marked MADV_HUGEPAGE ("hg" in VmFlags,
        # fs/proc/task_mmu.c:show_smap_vma_flags).
        assert vma["start"] % (2 << 20) == 0, vma
        assert "hg" in vma["flags"], vma
    for chunk in grown["chunks"]:
        assert chunk % (2 << 20) == 0
    freed, again = out["freed"], out["again"]
    assert isinstance(freed, dict) and isinstance(again, dict)
    # Freeing them gave most arenas back, whole 2 MiB units among them (MADV_DONTNEED).
    assert freed["freed"] - grown["freed"] >= 32
    assert freed["units_released"] >= 16
    # The same allocation again reused the freed arenas: no new reservation.
    assert again["chunks"] == grown["chunks"]
    assert again["arenas_in_use"] >= grown["arenas_in_use"] - 8


def test_huge_arenas_can_be_turned_off() -> None:
    assert probe(VMASIM_HUGE_ARENAS="0") == {"arenas": "off: VMASIM_HUGE_ARENAS=0"}


def test_a_bad_setting_is_refused_by_name() -> None:
    done = run("import core", VMASIM_HUGE_ARENAS="yes")
    assert done.returncode != 0
    assert "VMASIM_HUGE_ARENAS='yes': expected 0 or 1" in done.stderr
