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

:data:`HOST_SMAPS_COST` holds the host's figures, measured by ``lab/smaps_oracle.c``:

* ``page_s``: per resident 4 KiB anonymous page, ``smaps_rollup`` of one populated VMA
  of 12 GiB (the largest this 24 GiB host holds beside its other work), touched in
  address order, CPU time of the reading thread (``python -m lab.smaps_oracle scale
  --runs 3``: docs/experiments-results/smaps-scale.json);
* ``vma_s``: per VMA of ``smaps_rollup`` (20,000 one-page VMAs against none);
* ``block_s``: per VMA of ``smaps`` beyond ``vma_s``: formatting its ~1 KB block;
* ``chunk_s``: per ``read()`` of smaps (``m_start``/``m_stop``: taking and dropping
  the lock, the VMA lookup, the copy), from 512-byte against 4096-byte reads
  (these three: ``python -m lab.smaps_oracle cost --runs 7``, smaps-cost.json).
**Per-page cost, size and frames** (``scale``: heaps of 256 MiB to 12 GiB, each
touched in address order and in a shuffled order, three runs; the share of neighbouring
pages whose frames are neighbours read from ``/proc/self/pagemap``). The cost per page
does *not* grow with size: with frames scattered (shuffled touches) it is 59 to 76 ns
at every size from 2 to 12 GiB (medians 69.7, 71.7, 66.8, 64.3 ns at 2, 4, 8,
12 GiB), read back to back or after a 1 GiB cache flush alike. What moves it is where
the frames lie: ``smaps_pte_range`` meets each page's ``struct page``, and frames in
address order let the hardware stream them. Touched in address order, a heap gets
neighbouring frames for 0 to 26 % of its pages at 256 MiB, 47 to 77 % at 2 GiB and 82
to 84 % at 12 GiB (the allocator's free lists decide, not the program), and its cost
falls with that share: 48 to 65 ns at 4 GiB, 27 to 36 ns at 12 GiB. Below about
2 GiB the caches can matter too: a scattered 256 MiB heap cost 16 to 18 ns read back
to back in two runs of three (83 ns in the third) and 46 to 84 ns after the flush.
(This is why the previous figure, 39.65 ns, a slope between a 256 MiB and a 2 GiB
heap of whatever contiguity the allocator gave, ranged from 28 to 45 ns between runs.)

So the model charges the cost of the largest heap measured, in both layouts:
:data:`HOST_SMAPS_COST` (address order, 32.94 ns: the layout of ``smaps_oracle``'s
side-by-side heap, touched the same way) by default, and
:data:`HOST_SMAPS_COST_SCATTERED` (64.28 ns) for a heap whose frames are scattered,
as a long-lived heap's can be. Extrapolating either to hundreds of GB assumes the
flat cost seen from 2 to 12 GiB holds (both heaps are far beyond the caches there);
the contiguity a 200 GB heap would get in address order is not known.

Scale: the engine tracks resident pages one by one (at most 1,048,576 per process), so
an experiment's heap holds a few thousand tracked pages and *each tracked page stands
for* ``page_scale`` host pages: the walk of a tracked page is charged
``page_s * page_scale``. process-exporter's heap (``Rss: 210410600 kB``, 52.6 million
pages) is then modelled by 2,048 tracked pages at a scale of 25,685, and its walk lasts
what the host's per-page cost says 52.6 million pages take (1.73 s in address order,
3.38 s scattered). Few tracked pages keep the engine's own Python walk (about a
microsecond per page, also under the lock) small next to the modelled time. The scale
applies to the heap's VMA only (``scaled_start``): the workload's own small VMAs (a
faulter's region of a few dozen pages) are charged the pages they hold, not thousands
of times more. (Scaling every VMA, as before, held the faulter's 64-page VMA under the
per-VMA reader's read lock for 26 ms at 200.7 GiB, and the faulter's ``munmap`` of it
waited that long in ``vma_start_write``.)
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
    "HOST_SMAPS_COST_SCATTERED",
    "PROCESS_EXPORTER_BYTES",
    "PROCESS_EXPORTER_RSS_KB",
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


_VMA_S, _SMAPS_VMA_S, _CHUNK_S = 76.2e-9, 1037.5e-9, 241.5e-9
"""``python -m lab.smaps_oracle cost --runs 7`` on 2026-12-06 (smaps-cost.json), medians
of the seven runs: per VMA of smaps_rollup, per VMA of smaps, per read() chunk."""

HOST_SMAPS_COST: Final = SmapsCost(
    page_s=32.94e-9, vma_s=_VMA_S, block_s=_SMAPS_VMA_S - _VMA_S, chunk_s=_CHUNK_S
)
"""This host (Linux 6.18, 2 CPUs shared with other work): 32.94 ns per resident page of
a 12 GiB heap touched in address order (``python -m lab.smaps_oracle scale --runs 3``
on 2026-12-07, median of the runs: 27.0 to 36.2 ns, 83 to 84 % of neighbouring pages on
neighbouring frames; smaps-scale.json), the other figures as above."""

HOST_SMAPS_COST_SCATTERED: Final = SmapsCost(
    page_s=64.28e-9, vma_s=_VMA_S, block_s=_SMAPS_VMA_S - _VMA_S, chunk_s=_CHUNK_S
)
"""As :data:`HOST_SMAPS_COST`, for a 12 GiB heap whose frames are scattered (touched in
a shuffled order, no neighbouring frames): 64.28 ns per page (same run: 59.2 to
71.3 ns)."""

PROCESS_EXPORTER_S: Final = 4.456
"""process-exporter issue #246: ``time cat /proc/PID/smaps_rollup`` of its "200G" process
took 4.456 s of system time (CentOS 7.9, kernel 3.10.0-1160.76.1.el7, and UEK
5.4.17-2136; the figure was not measured on 6.x)."""
PROCESS_EXPORTER_RSS_KB: Final = 210_410_600
"""process-exporter issue #246: the ``Rss:`` line of that ``smaps_rollup``, in kB: the
resident size the 4.456 s walked (52,602,650 4 KiB pages, 200.7 GiB; the issue does
not say how much of it was in transparent huge pages)."""
PROCESS_EXPORTER_BYTES: Final = PROCESS_EXPORTER_RSS_KB * 1024


class SmapsLocking(ProfiledLocking):
    """A :class:`~lab.profiles.ProfiledLocking` that also charges smaps page walks
    (``mm.hooks.smaps_walk``, see :func:`core.smaps.smap_walk`)."""

    def __init__(
        self,
        cost: CostModel,
        smaps: SmapsCost,
        page_scale: float,
        seed: object = 1,
        scaled_start: int | None = None,
    ) -> None:
        super().__init__(PROFILES["per_vma_maps"], cost, None, seed)
        if not page_scale >= 1:
            raise InvalidArgument(f"page_scale {page_scale!r} is not >= 1")
        self.smaps = smaps
        self.page_scale = page_scale
        #: Only the VMA starting here is scaled (the heap); None: every VMA. Others are
        #: charged their own pages: the workload's small VMAs stand for themselves.
        self.scaled_start = scaled_start
        #: Host pages whose walk was charged, and the seconds charged (list.append is
        #: atomic under the GIL: one entry per VMA walked).
        self.walks: list[tuple[int, float]] = []

    def smaps_walk(self, vma: Vma, pages: int) -> None:
        """``walk_page_vma`` over ``pages`` tracked resident pages of ``vma``: sleeps the
        host's time for ``pages * page_scale`` pages (``pages`` if ``vma`` is not the
        scaled one), holding the caller's lock."""
        scaled = self.scaled_start is None or vma.vm_start == self.scaled_start
        host_pages = round(pages * self.page_scale) if scaled else pages
        seconds = self.smaps.walk_s(host_pages)
        self._set_doing(f"smaps page walk of {host_pages} pages")
        self.walks.append((host_pages, seconds))
        self._spend(seconds)


def apply_smaps_cost(
    proc: Process,
    cost: CostModel,
    smaps: SmapsCost,
    page_scale: float,
    seed: object = 1,
    scaled_start: int | None = None,
) -> SmapsLocking:
    """Put ``proc`` under the 6.18 profile (``per_vma_maps``: per-VMA faults) with
    ``cost`` and the smaps walk cost, ``page_scale`` applied to the VMA at
    ``scaled_start`` (None: to every VMA). Call before other threads use ``proc``."""
    locking = SmapsLocking(cost, smaps, page_scale, seed, scaled_start)
    install(proc, locking)
    return locking
