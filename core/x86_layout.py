"""Where x86-64 puts things in a new address space, with and without randomisation.

Mirrors arch/x86/mm/mmap.c (``arch_pick_mmap_layout``, ``mmap_base``,
``stack_maxrandom_size``, ``arch_mmap_rnd``), arch/x86/kernel/process.c
(``arch_align_stack``, ``arch_randomize_brk``), fs/binfmt_elf.c
(``randomize_stack_top``), mm/util.c (``randomize_page``) and
arch/x86/entry/vdso/vma.c (``map_vdso``).

Randomisation (``PF_RANDOMIZE``: ASLR on, i.e. no ``setarch -R``) draws from a
:class:`random.Random` the caller seeds, in the order ``execve`` draws from the kernel's
generator: the layout is then reproducible per seed and spread like the kernel's, but
it is never the address a real run picked. Without randomisation every function here
is the identity the kernel applies under ``ADDR_NO_RANDOMIZE``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .constants import (
    BRK_RND_RANGE,
    MMAP_RND_BITS,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    RLIMIT_STACK_DEFAULT,
    STACK_GUARD_GAP,
    STACK_RND_MASK,
    TASK_SIZE,
    TASK_UNMAPPED_BASE,
    VDSO_TEXT_PAGES,
    VDSO_VCLOCK_PAGES,
    VDSO_VVAR_PAGES,
    VM_DONTDUMP,
    VM_DONTEXPAND,
    VM_EXEC,
    VM_IO,
    VM_MAYEXEC,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_PFNMAP,
    VM_READ,
)
from .unmapped_area import get_unmapped_area
from .vma import Vma
from .vma_ops import store_new

if TYPE_CHECKING:
    from .mm import Mm

#: ``_install_special_mapping`` flags of the vDSO text (``map_vdso``; MAYWRITE lets a
#: debugger COW it) and of the two data mappings, with the ``VM_DONTEXPAND`` it adds.
VDSO_FLAGS = VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_DONTEXPAND
VVAR_FLAGS = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP | VM_DONTEXPAND
#: The three mappings ``map_vdso`` installs, low to high: (name, pages, flags).
VDSO_LAYOUT = (
    ("[vvar]", VDSO_VVAR_PAGES, VVAR_FLAGS),
    ("[vvar_vclock]", VDSO_VCLOCK_PAGES, VVAR_FLAGS),
    ("[vdso]", VDSO_TEXT_PAGES, VDSO_FLAGS),
)
VDSO_BLOCK = (VDSO_VVAR_PAGES + VDSO_VCLOCK_PAGES + VDSO_TEXT_PAGES) << PAGE_SHIFT
MIN_GAP = 128 << 20  # mmap_base(): at least ~128 MiB between the stack top and mmap_base
MAX_GAP = TASK_SIZE // 6 * 5


def page_align(value: int) -> int:
    return (value + PAGE_SIZE - 1) & PAGE_MASK


def arch_mmap_rnd(rng: random.Random | None) -> int:
    """``arch_rnd(mmap64_rnd_bits)``: a random page-aligned offset of 28 bits of pages,
    0 without randomisation."""
    if rng is None:
        return 0
    return (rng.getrandbits(64) & ((1 << MMAP_RND_BITS) - 1)) << PAGE_SHIFT


def stack_maxrandom_size(randomize: bool) -> int:
    """``stack_maxrandom_size``: how far ``randomize_stack_top`` may lower the stack."""
    return (STACK_RND_MASK << PAGE_SHIFT) if randomize else 0


def mmap_base(rnd: int, rlimit_stack: int, randomize: bool) -> int:
    """``mmap_base``: the top of the top-down mmap area. The gap below the stack top is
    the stack limit plus the stack's randomisation range and guard gap, clamped to
    [128 MiB, 5/6 of the address space]. Without ASLR and with 8 MiB: ``TASK_SIZE -
    128 MiB``."""
    gap = rlimit_stack
    pad = stack_maxrandom_size(randomize) + STACK_GUARD_GAP
    gap = min(max(gap + pad, MIN_GAP), MAX_GAP)
    return page_align(TASK_SIZE - gap - rnd)


def arch_pick_mmap_layout(
    mm: Mm, rng: random.Random | None, rlimit_stack: int = RLIMIT_STACK_DEFAULT
) -> None:
    """``arch_pick_mmap_layout`` (top-down; the legacy layout is not simulated): sets
    ``mm.mmap_base`` and ``mm.mmap_legacy_base`` from one random draw. Caller owns ``mm``
    (a new, unpublished address space)."""
    rnd = arch_mmap_rnd(rng)
    mm.mmap_legacy_base = TASK_UNMAPPED_BASE + rnd
    mm.mmap_base = mmap_base(rnd, rlimit_stack, rng is not None)
    mm.stack_rlimit = rlimit_stack


def randomize_stack_top(stack_top: int, rng: random.Random | None) -> int:
    """``randomize_stack_top``: the stack top lowered by up to ``STACK_RND_MASK`` pages."""
    rnd = 0 if rng is None else (rng.getrandbits(64) & STACK_RND_MASK) << PAGE_SHIFT
    return page_align(stack_top) - rnd


def arch_align_stack(sp: int, rng: random.Random | None) -> int:
    """``arch_align_stack``: lower ``sp`` by up to 8 KiB at random, align to 16 bytes."""
    if rng is not None:
        sp -= rng.randrange(8192)
    return sp & ~0xF


def randomize_page(start: int, span: int, rng: random.Random) -> int:
    """``randomize_page``: a random page in ``[start, start + span)``."""
    pages = span >> PAGE_SHIFT
    if pages == 0:
        return start
    return start + ((rng.getrandbits(64) % pages) << PAGE_SHIFT)


def arch_randomize_brk(brk: int, rng: random.Random) -> int:
    """``arch_randomize_brk``: the break start somewhere in the 1 GiB above ``brk``."""
    return randomize_page(brk, BRK_RND_RANGE, rng)


def map_vdso(mm: Mm) -> int:
    """``map_vdso(image, 0)``: find room for the vDSO block top-down (as an anonymous
    mapping of its size would) and install ``[vvar]``, ``[vvar_vclock]`` and ``[vdso]``.
    Returns the vDSO text address (``AT_SYSINFO_EHDR``). Caller holds ``mmap_lock`` for
    write. O(log n)."""
    addr = get_unmapped_area(mm, None, 0, VDSO_BLOCK, 0, 0, 0)
    text = addr
    for name, pages, flags in VDSO_LAYOUT:
        end = addr + (pages << PAGE_SHIFT)
        install_special_mapping(mm, addr, end, flags, name)
        text = addr
        addr = end
    return text


def install_special_mapping(mm: Mm, start: int, end: int, flags: int, name: str) -> Vma:
    """``_install_special_mapping``: a VMA with ``vm_ops`` and a name, never merged
    (``VM_DONTEXPAND``), page offset 0. Caller holds ``mmap_lock`` for write."""
    vma = Vma.new(mm, start, end, flags | mm.def_flags, 0, None, name)
    store_new(mm, vma)
    mm.vm_stat_account(vma.vm_flags, (end - start) >> PAGE_SHIFT)
    return vma
