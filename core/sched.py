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

Our threads share one CPU resource, the GIL. The interpreter hands it over while it
runs bytecode: a thread that has waited ``sys.getswitchinterval()`` (5 ms) for it sets
a request (``gil_drop_request``) that the eval loop checks at every function entry and
backward jump, and the holder then drops the GIL and waits until the requester has it
(``FORCE_SWITCHING``). Compiled code (the mypyc engine, ``core/_engine.py``) never
checks, so a compiled walk of 65,530 VMAs or a touch of a million pages would hold the
GIL for its whole length: the server's event loop and every other client would stall,
and the experiments' threads (a monitor reading maps against a workload faulting) would
no longer interleave, which is what they exist to show.

:func:`cond_resched` is the one place where the engine checks: it is an empty function
that stays interpreted (this module is in ``core._engine.INTERPRETED``), so calling it
runs the eval loop's own check on entry. With no request pending it costs one Python
call (about 22 ns, ``python -m timeit``); with one, the GIL goes to the thread that
asked, exactly as between two bytecodes of the pure-Python engine: the kernel's
``cond_resched()`` is likewise "schedule only if ``need_resched()``".

Why not a call that releases the GIL every time: ``time.sleep(0)`` (what
``core.fault.touch`` used) is, since Python 3.11, a ``clock_nanosleep`` that sleeps for
the timer slack, about 85 µs a call here, which made a maps read of 65,530 VMAs 1.8x
slower; a cheap system call that releases the GIL (``select`` with a zero timeout,
0.5 µs) hands nothing over: the waiter wakes up after the holder has already taken the
GIL back, sees that the GIL changed hands, and starts its 5 ms wait again without ever
asking (measured: the other thread waited for the whole operation, as with no yield).

Callers count their own steps and call it every so many (a local counter and a mask
test cost about one instruction per step compiled; a call per step, 22 ns, would cost
as much as a cheap step itself)::

    n += 1
    if not n & RESCHED_MASK:
        cond_resched()

:data:`RESCHED_MASK` suits steps of up to about 1 µs compiled (a maps line, a VMA
freed, a PROCMAP_QUERY answer): a yield every 1,024 steps, about every 0.1 to 1 ms.
:data:`RESCHED_MASK_SLOW` suits steps of a few µs (a fault, a populated page, a VMA's
smaps page walk): every 128 steps. A call costs about 22 ns when nobody waits, far
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

from typing import Final

__all__ = ["RESCHED_MASK", "RESCHED_MASK_SLOW", "cond_resched"]

# Plain literals: mypyc folds a Final literal of this (interpreted) module into the
# compiled callers; an expression would be looked up at every step.
#: Cheap steps (up to ~1 µs compiled) between two yields, minus one (1,024 - 1).
RESCHED_MASK: Final = 1023
#: Steps of a few µs (a fault, a populated page, a VMA's smaps page walk), minus one.
RESCHED_MASK_SLOW: Final = 127


def cond_resched() -> None:
    """Give the GIL to a thread that asked for it, if any (``cond_resched``). About
    22 ns when none did. Caller holds no plain lock (never ``Kernel.page_lock``).

    Empty on purpose: the interpreter's check for a waiting thread runs on entry to
    any interpreted function (this module is never compiled)."""
