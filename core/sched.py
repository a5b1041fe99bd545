"""Letting other threads run during a long engine operation: ``cond_resched()``.

Design note
===========

The kernel calls ``cond_resched()`` (include/linux/sched.h) inside its long loops so
that one CPU-bound walk does not keep other work off its CPU: ``zap_pte_range`` between
page tables, ``walk_page_range`` users such as the smaps walk, ``copy_page_range`` at
fork, ``__get_user_pages`` between pages, the seq_file read of ``/proc/<pid>/maps``
between records (``seq_read_iter``). It is not a lock release: a walk under
``mmap_lock`` still holds it, and whoever needs that lock still waits; what runs
meanwhile is work that does not need it.

Our threads share one CPU resource, the GIL. The interpreter hands it over every
``sys.getswitchinterval()`` (5 ms) while it runs bytecode; compiled code (the mypyc
engine, ``core/_engine.py``) never does by itself, so a compiled walk of 65,530 VMAs or
a touch of a million pages would hold it for its whole length: the server's event loop
and every other client would stall, and the experiments' threads (a monitor reading maps
against a workload faulting) would no longer interleave, which is what they exist to
show. :func:`cond_resched` is the one place where the engine gives the GIL away:
``time.sleep(0)`` releases it, and a thread that has waited for it (and asked for it,
after its own switch interval) takes it.

Callers count their own steps and call it every so many (a local counter and a mask
test cost about one instruction per step compiled; a call per step would cost more than
the yield itself in the interpreter)::

    n += 1
    if not n & RESCHED_MASK:
        cond_resched()

:data:`RESCHED_MASK` suits steps of up to about 1 µs compiled (a maps line, a VMA
freed, a PROCMAP_QUERY answer): a yield every 1,024 steps, about every 0.1 to 1 ms.
:data:`RESCHED_MASK_SLOW` suits steps of a few µs (a fault, a populated page, a VMA's
smaps page walk): every 128 steps. One ``sleep(0)`` costs about 1 µs when nobody waits,
under 1 % of the work between two (docs/performance.md, "Compiled engine").

Never call it while holding ``Kernel.page_lock`` (a plain lock held for a few dict
operations: a thread yielding inside it would keep every faulting thread waiting for a
whole switch interval) or inside anything documented as atomic. Holding ``mmap_lock``,
a VMA lock or an RCU read section is fine, exactly as on the kernel under an rwsem read
section (an RCU reader that yields delays grace periods a little longer; the reclaimer
waits for it either way).

The pure-Python engine runs the same calls; the interpreter would switch anyway, so
there they only make the hand-over come sooner.
"""

from __future__ import annotations

import time
from typing import Final

__all__ = ["RESCHED_MASK", "RESCHED_MASK_SLOW", "cond_resched"]

#: Cheap steps (up to ~1 µs compiled) between two yields, minus one (a power of two).
RESCHED_MASK: Final = 1024 - 1
#: Steps of a few µs (a fault, a populated page, a VMA's smaps page walk), minus one.
RESCHED_MASK_SLOW: Final = 128 - 1


def cond_resched() -> None:
    """Give the GIL to a thread waiting for it, if any (``cond_resched``). About 1 µs
    when none waits. Caller holds no plain lock (never ``Kernel.page_lock``)."""
    time.sleep(0)
