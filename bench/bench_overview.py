"""Benchmark: the maps overview of a big process in process, from the tree and from the
text, and what it costs another thread waiting for the GIL.

Run from the repository root::

    nice .venv/bin/python bench/bench_overview.py                  # 2,200,000 VMAs
    nice .venv/bin/python bench/bench_overview.py --n 220000 --reps 5

One :class:`core.Kernel` gets a process of ``--n`` one-page VMAs alternating
``rw-p``/``r--p`` (``bench_million.build``), its heap then frozen as the service
freezes it (``app/heap.py``). Then, ``--reps`` times, each step alone
(best and worst thread CPU of the reps, and wall time):

* ``tree.runs``: :meth:`core.VmaTree.runs` with the page's run length
  (``ceil(n / groups)``);
* ``overview cold``: :func:`core.read_overview` with a ``groups`` count not cached
  (the sums computed, the first lines rendered, one validated seqcount section);
* ``overview reused``: the page's ``groups`` count again (the generation's sums
  reused);
* ``item JSON``: the stream item of that overview (``app.routes.stream.item_chunks``);
* ``text``: what main did: ``read_maps`` (seqcount) then ``app.snapshots.overview`` of
  its lines (``--text`` only: about 2 s at 2,200,000 VMAs).

Meanwhile a thread (an event loop's stand-in) sleeps 1 ms in a loop: how late it wakes
(median and worst) is how long it waited for the GIL while the step ran. Wall-clock
figures on a shared machine: the load is printed with them.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.routes.stream import Shot, item_chunks  # noqa: E402
from app.snapshots import _overview_of, overview  # noqa: E402
from bench.bench_million import build  # noqa: E402
from core import ENGINE, Kernel, read_maps, read_overview  # noqa: E402


class Ticker(threading.Thread):
    """Sleeps 1 ms in a loop; records how late it wakes while :attr:`on` is set."""

    def __init__(self) -> None:
        super().__init__(name="ticker", daemon=True)
        self.on = False
        self.late: list[float] = []
        self.halt = False

    def run(self) -> None:
        while not self.halt:
            t = time.perf_counter()
            time.sleep(0.001)
            if self.on:
                self.late.append(time.perf_counter() - t - 0.001)


def step(ticker: Ticker, fn: Callable[[], Any], reps: int) -> dict[str, float]:
    cpu: list[float] = []
    wall: list[float] = []
    late: list[float] = []
    for _ in range(reps):
        ticker.late = []
        ticker.on = True
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        ticker.on = False
        late += ticker.late
    return {
        "cpu_ms_min": min(cpu) * 1e3,
        "cpu_ms_max": max(cpu) * 1e3,
        "wall_ms_median": statistics.median(wall) * 1e3,
        "ticker_late_ms_p50": statistics.median(late) * 1e3 if late else 0.0,
        "ticker_late_ms_max": max(late, default=0.0) * 1e3,
        "ticks": len(late),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=2_200_000, help="VMAs")
    p.add_argument("--groups", type=int, default=8192, help="runs (the page's count)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--text", action="store_true", help="also time main's text path")
    args = p.parse_args(argv)
    kernel = Kernel(max_map_count=args.n + 10)
    mm, seconds, _ = build(kernel, args.n, "big")
    print(f"{ENGINE} engine, {args.n:,} VMAs built in {seconds:.1f} s", flush=True)
    # As the service does after a batch (app/heap.py): the built heap goes to the
    # collector's permanent generation, so no full collection walks it mid-step.
    gc.collect()
    gc.freeze()
    per = -(-args.n // args.groups)
    ticker = Ticker()
    ticker.start()
    fresh = iter(range(args.groups - 1, 0, -1))  # a groups count not cached, each time
    read_overview(mm, args.groups)
    item = Shot(0, 0.0, _overview_of(mm, "seqcount", 3, args.groups))

    def reused() -> None:
        o = read_overview(mm, args.groups)
        assert o.reused

    steps: dict[str, Callable[[], Any]] = {
        "tree.runs": lambda: mm.tree.runs(per),
        "overview cold": lambda: read_overview(mm, next(fresh)),
        "overview reused": reused,
        "item JSON": lambda: b"".join(item_chunks(1, item, "overview", args.groups)),
    }
    if args.text:
        steps["text"] = lambda: overview(read_maps(mm, "seqcount").lines, args.groups)
    for name, fn in steps.items():
        read_overview(mm, args.groups)  # the page's count cached, whatever ran before
        r = step(ticker, fn, args.reps)
        print(
            f"{name:>16}: CPU {r['cpu_ms_min']:.1f}-{r['cpu_ms_max']:.1f} ms, wall median "
            f"{r['wall_ms_median']:.1f} ms; the 1 ms sleeper woke late p50 "
            f"{r['ticker_late_ms_p50']:.1f} ms, max {r['ticker_late_ms_max']:.1f} ms "
            f"({r['ticks']} wakes) (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    ticker.halt = True
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
