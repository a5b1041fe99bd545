"""What reading smaps costs on this host, and the profile hook that charges it.

Design note
===========

``smaps`` and ``smaps_rollup`` walk every resident page's page-table entry
(``smap_gather_stats`` -> ``walk_page_vma`` -> ``smaps_pte_range``, fs/proc/task_mmu.c),
so a read costs time per resident page, per VMA and per ``read()`` chunk. The engine's
own walk is Python over the pages it tracks; the time the kernel spends is modelled,
like every cost of :mod:`lab.profiles`: a ``time.sleep`` (releasing the GIL) at the
place the kernel spends it, holding what the reader holds there
(:meth:`SmapsLocking.smaps_walk`, called by :func:`core.smaps.smap_walk` with
``mmap_lock`` held for read under the 6.18 reader, or one VMA's read lock under the
per-VMA reader).

:data:`HOST_SMAPS_COST` holds the host's figures, measured by ``lab/smaps_oracle.c``
(``python -m lab.smaps_oracle cost --runs 7``: each figure the median of seven runs,
each run's figure a median of seven reads, timed by the reader's CPU time):

* ``page_s``: per resident 4 KiB anonymous page (the slope between a 256 MiB and a
  2 GiB populated VMA, ``smaps_rollup``);
* ``vma_s``: per VMA of ``smaps_rollup`` (20,000 one-page VMAs against none);
* ``block_s``: per VMA of ``smaps`` beyond ``vma_s``: formatting its ~1 KB block;
* ``chunk_s``: per ``read()`` of smaps (``m_start``/``m_stop``: taking and dropping
  the lock, the VMA lookup, the copy), from 512-byte against 4096-byte reads.

Scale: the engine tracks resident pages one by one (at most 1,048,576 per process), so
an experiment's heap holds a few thousand tracked pages and *each tracked page stands
for* ``page_scale`` host pages: the walk of a tracked page is charged
``page_s * page_scale``. A 200 GB heap is then modelled by 2,048 tracked pages at a
scale of 23,842, and its walk lasts what the host's per-page cost says 48.8 million
pages take (1.94 s). Few tracked pages keep the engine's own Python walk (about a
microsecond per page, also under the lock) small next to the modelled time. The scale
applies to every resident page the walk finds (the heap's dominate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

from core.errors import InvalidArgument

from .profiles import PROFILES, CostModel, ProfiledLocking, install

if TYPE_CHECKING:
    from core.process import Process
    from core.vma import Vma

__all__ = [
    "HOST_SMAPS_COST",
    "PROCESS_EXPORTER_BYTES",
    "PROCESS_EXPORTER_S",
    "SmapsCost",
    "SmapsLocking",
    "apply_smaps_cost",
]


@dataclass(frozen=True)
class SmapsCost:
    """Seconds the host spends reading smaps: per resident page walked, per VMA (rollup),
    per VMA block formatted (smaps), per ``read()`` chunk."""

    page_s: float
    vma_s: float
    block_s: float
    chunk_s: float

    def walk_s(self, pages: int, vmas: int = 1) -> float:
        """The modelled time of walking ``vmas`` VMAs holding ``pages`` resident pages
        (host pages, scale applied). O(1)."""
        return self.page_s * pages + self.vma_s * vmas

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


HOST_SMAPS_COST: Final = SmapsCost(
    page_s=39.65e-9, vma_s=76.2e-9, block_s=(1037.5 - 76.2) * 1e-9, chunk_s=241.5e-9
)
"""This host (Linux 6.18, 2 CPUs shared with other work), ``python -m lab.smaps_oracle
cost --runs 7`` on 2026-12-06 (docs/experiments-results/smaps-cost.json), medians of
the seven runs: 39.65 ns per resident page (runs: 28.0 to 44.9 ns; the issue measured
41 ms for 4 GiB, 40 ns), 76.2 ns per VMA of smaps_rollup, 1037.5 ns per VMA of smaps,
241.5 ns per read() chunk."""

PROCESS_EXPORTER_S: Final = 4.456
"""process-exporter issue #246: ``smaps_rollup`` of a 200 GB process took 4.456 s of
system time."""
PROCESS_EXPORTER_BYTES: Final = 200 * 10**9


class SmapsLocking(ProfiledLocking):
    """A :class:`~lab.profiles.ProfiledLocking` that also charges smaps page walks
    (``mm.hooks.smaps_walk``, see :func:`core.smaps.smap_walk`)."""

    def __init__(
        self, cost: CostModel, smaps: SmapsCost, page_scale: float, seed: object = 1
    ) -> None:
        super().__init__(PROFILES["per_vma_maps"], cost, None, seed)
        if not page_scale >= 1:
            raise InvalidArgument(f"page_scale {page_scale!r} is not >= 1")
        self.smaps = smaps
        self.page_scale = page_scale
        #: Host pages whose walk was charged, and the seconds charged (list.append is
        #: atomic under the GIL: one entry per VMA walked).
        self.walks: list[tuple[int, float]] = []

    def smaps_walk(self, vma: Vma, pages: int) -> None:
        """``walk_page_vma`` over ``pages`` tracked resident pages of ``vma``: sleeps the
        host's time for ``pages * page_scale`` pages, holding the caller's lock."""
        host_pages = round(pages * self.page_scale)
        seconds = self.smaps.walk_s(host_pages)
        self._set_doing(f"smaps page walk of {host_pages} pages")
        self.walks.append((host_pages, seconds))
        self._spend(seconds)


def apply_smaps_cost(
    proc: Process, cost: CostModel, smaps: SmapsCost, page_scale: float, seed: object = 1
) -> SmapsLocking:
    """Put ``proc`` under the 6.18 profile (``per_vma_maps``: per-VMA faults) with
    ``cost`` and the smaps walk cost. Call before other threads use ``proc``."""
    locking = SmapsLocking(cost, smaps, page_scale, seed)
    install(proc, locking)
    return locking
