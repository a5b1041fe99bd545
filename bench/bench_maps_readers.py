"""Benchmark: the three maps readers, alone and against a writer.

Run from the repository root::

    .venv/bin/python bench/bench_maps_readers.py           # N = 10,000 VMAs
    .venv/bin/python bench/bench_maps_readers.py --n 65000 --reps 3

(a) Whole reads (``read_maps``) and chunked reads (``MapsFile``, < 4 KiB per read) of N
one-page VMAs alternating ``rw-p``/``r--p``: median wall time of ``--reps`` runs, and
the longest time any one lock was held by one read (per chunk for ``MapsFile``).

(b) A writer thread toggles one VMA's protection (one ``mprotect`` per write-lock
cycle) while a reader thread reads the whole file ``--reps`` times: the writer's
longest wait for ``mmap_lock`` (the rwsem's ``write_wait_max_s``), and the reader's
attempts and fallbacks. The mmap_lock reader stalls the writer for a whole walk; the
seqcount and per_vma readers do not hold it.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from core import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, Kernel, Mm
from core.maps_reader import READERS, MapsFile, read_maps

PG = 4096
BASE = 0x100000000000


def build(n: int) -> Mm:
    mm = Kernel().spawn(layout="typical").mm
    for i in range(n):
        prot = PROT_READ | (PROT_WRITE if i % 2 else 0)
        mm.mmap(BASE + i * PG, PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    return mm


def alone(mm: Mm, reps: int) -> None:
    print(f"(a) {len(mm.vmas())} VMAs, {len(mm.maps())} bytes, median of {reps}")
    for reader in READERS:
        whole, chunked, hold, chunk_hold = [], [], 0, 0
        for _ in range(reps):
            t0 = time.perf_counter()
            snap = read_maps(mm, reader)
            whole.append(time.perf_counter() - t0)
            h = snap.hold
            hold = max(hold, h.mmap_lock_read_ns, h.rcu_ns)
            t0 = time.perf_counter()
            for chunk in MapsFile(mm, reader):
                c = chunk.hold
                chunk_hold = max(chunk_hold, c.mmap_lock_read_ns, c.rcu_ns)
            chunked.append(time.perf_counter() - t0)
        print(
            f"  {reader:9} whole {statistics.median(whole) * 1e3:8.1f} ms"
            f" (longest hold {hold / 1e6:7.1f} ms)"
            f"   chunked {statistics.median(chunked) * 1e3:8.1f} ms"
            f" (longest hold per chunk {chunk_hold / 1e6:5.2f} ms)"
        )


def against_writer(n: int, reps: int) -> None:
    print(f"(b) reader vs. an mprotect writer, {n} VMAs, {reps} whole reads")
    for reader in READERS:
        mm = build(n)
        stop = threading.Event()
        cycles = [0]

        def writer(mm: Mm = mm, stop: threading.Event = stop, cycles: list[int] = cycles) -> None:
            while not stop.is_set():
                mm.mprotect(BASE, PG, PROT_READ | PROT_WRITE)
                mm.mprotect(BASE, PG, PROT_READ)
                cycles[0] += 2

        thread = threading.Thread(target=writer)
        thread.start()
        snaps = [read_maps(mm, reader) for _ in range(reps)]
        stop.set()
        thread.join()
        rw = mm.mmap_lock.statistics().rwsem
        print(
            f"  {reader:9} writer cycles {cycles[0]:6}  writer max wait"
            f" {rw.write_wait_max_s * 1e3:7.1f} ms  reader attempts"
            f" {sum(s.attempts for s in snaps)}/{reps}, fallbacks {sum(s.fallbacks for s in snaps)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    alone(build(args.n), args.reps)
    against_writer(args.n, args.reps)


if __name__ == "__main__":
    main()
