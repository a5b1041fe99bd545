"""What a lock-free reader sees in the middle of a writer (kernel-notes §5.7, §5.8, §6.2).

Each tree store is atomic, but a syscall is a sequence of stores and in-place VMA
updates, and an RCU walker sees every step. A hook at the writer's named pause points
records what an unlocked walk of the tree returns at that moment."""

from __future__ import annotations

from core import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, Kernel, Mm

PG = 4096
BASE = 0x100000000000
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


def _walk(mm: Mm) -> list[tuple[int, int, int, int, int]]:
    """An unlocked walk: tree range, the VMA's own fields, and its refcount."""
    with mm.rcu.read_section():
        return [
            (start - BASE, end - BASE, vma.vm_start - BASE, vma.vm_end - BASE, vma.vm_refcnt)
            for start, end, vma in mm.tree.iter_from(0)
        ]


def test_munmap_split_is_visible_before_the_unmap() -> None:
    mm = Kernel().spawn().mm
    mm.mmap(BASE, 8 * PG, PROT_READ | PROT_WRITE, ANON)
    seen: dict[str, list[tuple[int, int, int, int, int]]] = {}
    mm._pause_hook = lambda m, name: seen.setdefault(name, _walk(m))
    mm.munmap(BASE + 2 * PG, 2 * PG)
    # After the first split, before the new lower piece is stored: the original VMA was
    # shrunk in place but the tree still maps the whole old range to it.
    assert seen["split:after_shrink"] == [(0, 8 * PG, 2 * PG, 8 * PG, 1)]
    # Before the clearing store: three pieces in the tree, the middle one detached
    # (refcount 0: a reader that locks it gets -EAGAIN and retries the walk).
    assert seen["munmap:before_clear"] == [
        (0, 2 * PG, 0, 2 * PG, 1),
        (2 * PG, 4 * PG, 2 * PG, 4 * PG, 0),
        (4 * PG, 8 * PG, 4 * PG, 8 * PG, 1),
    ]
    assert _walk(mm) == [(0, 2 * PG, 0, 2 * PG, 1), (4 * PG, 8 * PG, 4 * PG, 8 * PG, 1)]


def test_map_fixed_replacement_never_shows_a_hole() -> None:
    mm = Kernel().spawn().mm
    mm.mmap(BASE, 4 * PG, PROT_READ | PROT_WRITE, ANON)
    seen: dict[str, list[tuple[int, int, int, int, int]]] = {}
    mm._pause_hook = lambda m, name: seen.setdefault(name, _walk(m))
    mm.mmap(BASE, 4 * PG, PROT_READ, ANON)
    # The old VMA is detached but still covers the range until the new one is stored.
    assert seen["mmap:after_gather"] == [(0, 4 * PG, 0, 4 * PG, 0)]
    assert _walk(mm) == [(0, 4 * PG, 0, 4 * PG, 1)]
    assert mm.maps().startswith("100000000000-100000004000 r--p")
