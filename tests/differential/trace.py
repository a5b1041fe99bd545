"""Traces of mmap/munmap/mprotect/mremap calls: the text format, its parser and a
seeded generator.

The format is the one ``vmatrace.c`` reads (its header comment is the reference);
in short::

    arena 0x100000000000 256
    open 0 0 16 rdwr                       # slot 0 = DIR/f0, created 16 pages long
    mmap 0x100000003000 0x2000 rw- private|anonymous|fixed -1 0x0
    munmap 0x100000003000 0x1000
    mprotect 0x100000000000 0x8000 r--
    mremap 0x100000004000 0x1000 0x3000 maymove 0x0
    unlink 0
    mlock2 0x100000004000 0x2000 onfault   # and mlock, munlock, mlockall, munlockall,
    mseal 0x100000004000 0x1000 0x0        # mseal, prctl_anon_name, memlock,
                                           # cap_ipc_lock, headroom ("locks" block)

Every operation works inside the arena. The generator keeps a rough page-level
shadow of what it expects to be mapped so it can aim at interesting places
(edges of existing mappings, ranges spanning several VMAs and holes, neighbours
with matching attributes so that merges happen); the shadow only steers the
choices, nothing depends on it being right.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

PAGE = 4096
ARENA_BASE = 0x1000_0000_0000
ARENA_PAGES = 256
TASK_SIZE = (1 << 47) - PAGE
U64 = (1 << 64) - 1

PROT_READ, PROT_WRITE, PROT_EXEC, PROT_SEM = 0x1, 0x2, 0x4, 0x8
PROT_GROWSDOWN, PROT_GROWSUP = 0x0100_0000, 0x0200_0000

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_DROPPABLE = 0x01, 0x02, 0x03, 0x08
MAP_LOCKED = 0x2000
MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN = 0x10, 0x20, 0x100
MAP_NORESERVE, MAP_STACK, MAP_SYNC, MAP_FIXED_NOREPLACE = 0x4000, 0x20000, 0x80000, 0x100000
MAP_POPULATE = 0x8000

MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4

# Symbolic names, in the order they are printed.
MMAP_FLAG_NAMES: dict[str, int] = {
    "shared_validate": MAP_SHARED_VALIDATE,
    "shared": MAP_SHARED,
    "private": MAP_PRIVATE,
    "droppable": MAP_DROPPABLE,
    "anonymous": MAP_ANONYMOUS,
    "fixed_noreplace": MAP_FIXED_NOREPLACE,
    "fixed": MAP_FIXED,
    "growsdown": MAP_GROWSDOWN,
    "noreserve": MAP_NORESERVE,
    "sync": MAP_SYNC,
    "stack": MAP_STACK,
    "populate": MAP_POPULATE,
    "locked": MAP_LOCKED,
}
MREMAP_FLAG_NAMES: dict[str, int] = {
    "maymove": MREMAP_MAYMOVE,
    "fixed": MREMAP_FIXED,
    "dontunmap": MREMAP_DONTUNMAP,
}
PROT_NAMES: dict[str, int] = {"sem": PROT_SEM, "growsdown": PROT_GROWSDOWN, "growsup": PROT_GROWSUP}


def page_align(value: int) -> int:
    return (value + PAGE - 1) & ~(PAGE - 1) & U64


# ----------------------------------------------------------------------------
# Formatting and parsing of fields


def parse_num(tok: str) -> int:
    """A number as ``strtoull(tok, 0)`` reads it; negatives wrap to 64 bits.

    >>> parse_num("0x10"), parse_num("7"), hex(parse_num("-1"))
    (16, 7, '0xffffffffffffffff')
    """
    return int(tok, 0) & U64


def format_prot(prot: int) -> str:
    """``rw-`` style, plus names or a hex number for other bits.

    >>> format_prot(3), format_prot(0), format_prot(PROT_READ | PROT_GROWSDOWN), format_prot(0x11)
    ('rw-', '---', 'r--|growsdown', 'r--|0x10')
    """
    parts = [
        ("r" if prot & PROT_READ else "-")
        + ("w" if prot & PROT_WRITE else "-")
        + ("x" if prot & PROT_EXEC else "-")
    ]
    rest = prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)
    for name, bit in PROT_NAMES.items():
        if rest & bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(hex(rest))
    return "|".join(parts)


def _format_flags(flags: int, names: dict[str, int]) -> str:
    parts = []
    rest = flags
    for name, bits in names.items():
        if rest & bits == bits:
            parts.append(name)
            rest &= ~bits
    if rest or not parts:
        parts.append(hex(rest))
    return "|".join(parts)


def format_mmap_flags(flags: int) -> str:
    """Symbolic mmap flags.

    >>> format_mmap_flags(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    'private|anonymous|fixed'
    """
    return _format_flags(flags, MMAP_FLAG_NAMES)


def format_mremap_flags(flags: int) -> str:
    """Symbolic mremap flags.

    >>> format_mremap_flags(0), format_mremap_flags(3), format_mremap_flags(8)
    ('0x0', 'maymove|fixed', '0x8')
    """
    return _format_flags(flags, MREMAP_FLAG_NAMES)


def _parse_bits(field: str, names: dict[str, int], rwx: bool) -> int:
    value = 0
    for tok in field.split("|"):
        if rwx and len(tok) == 3 and tok[0] in "r-" and tok[1] in "w-" and tok[2] in "x-":
            value |= (
                (PROT_READ if tok[0] == "r" else 0)
                | (PROT_WRITE if tok[1] == "w" else 0)
                | (PROT_EXEC if tok[2] == "x" else 0)
            )
        elif tok in names:
            value |= names[tok]
        else:
            value |= parse_num(tok)
    return value


def parse_prot(field: str) -> int:
    """Protection bits from ``rw-`` style plus names and numbers.

    >>> parse_prot("rw-|growsdown") == PROT_READ | PROT_WRITE | PROT_GROWSDOWN
    True
    """
    return _parse_bits(field, PROT_NAMES, rwx=True)


def parse_mmap_flags(field: str) -> int:
    return _parse_bits(field, MMAP_FLAG_NAMES, rwx=False)


def parse_mremap_flags(field: str) -> int:
    return _parse_bits(field, MREMAP_FLAG_NAMES, rwx=False)


# ----------------------------------------------------------------------------
# Operations and traces


@dataclass(frozen=True)
class Op:
    """One trace line, parsed. ``args`` depend on ``kind``:

    * ``open``: (slot, file, pages, mode) with mode ``"rdwr"`` or ``"rdonly"``
    * ``unlink``: (file,)
    * ``mmap``: (addr, length, prot, flags, slot, offset); slot -1 = no fd
    * ``munmap``: (addr, length)
    * ``mprotect``: (addr, length, prot)
    * ``mremap``: (old_addr, old_len, new_len, flags, new_addr)
    * ``touch``: (addr, access) with access ``"r"``, ``"w"`` or ``"x"``
    * the lock/seal/name operations: see :data:`LOCK_FIELDS`
    """

    kind: str
    args: tuple[int | str, ...]

    def ints(self) -> tuple[int, ...]:
        return tuple(a for a in self.args if isinstance(a, int))

    def __str__(self) -> str:
        a = self.args
        if self.kind in MADVISE_FORK_OPS:
            return format_madvise_fork_op(self)
        if self.kind == "open":
            return f"open {a[0]} {a[1]} {a[2]} {a[3]}"
        if self.kind == "unlink":
            return f"unlink {a[0]}"
        if self.kind == "mmap":
            addr, length, prot, flags, slot, off = self.ints()
            return (
                f"mmap {addr:#x} {length:#x} {format_prot(prot)} {format_mmap_flags(flags)}"
                f" {slot} {off:#x}"
            )
        if self.kind == "munmap":
            return f"munmap {a[0]:#x} {a[1]:#x}"
        if self.kind == "mprotect":
            addr, length, prot = self.ints()
            return f"mprotect {addr:#x} {length:#x} {format_prot(prot)}"
        if self.kind == "mremap":
            old, old_len, new_len, flags, new = self.ints()
            return (
                f"mremap {old:#x} {old_len:#x} {new_len:#x} {format_mremap_flags(flags)} {new:#x}"
            )
        if self.kind == "touch":
            return f"touch {a[0]:#x} {a[1]}"
        if self.kind in LOCK_FIELDS:
            return format_lock_op(self)
        raise ValueError(self.kind)


@dataclass
class Trace:
    base: int = ARENA_BASE
    pages: int = ARENA_PAGES
    ops: list[Op] = field(default_factory=list)
    smaps: bool = False  # also report per-VMA Rss/Anonymous after each op
    smaps_all: bool = False  # ... or every smaps field ("smaps all")
    smaps_files: bool = False  # ... counting regular files' pages too ("smaps all files")
    locks: bool = False  # also report per-VMA Locked/VmFlags and VmLck after each op

    @property
    def end(self) -> int:
        return self.base + self.pages * PAGE

    def text(self) -> str:
        lines = [f"arena {self.base:#x} {self.pages}"]
        if self.smaps_all:
            lines.append("smaps all files" if self.smaps_files else "smaps all")
        elif self.smaps:
            lines.append("smaps")
        if self.locks:
            lines.append("locks")
        lines += [str(op) for op in self.ops]
        return "\n".join(lines) + "\n"

    def prefix(self, n: int) -> Trace:
        return self.with_ops(self.ops[:n])

    def with_ops(self, ops: list[Op]) -> Trace:
        """The same trace header with other operations."""
        return replace(self, ops=ops)


class TraceSyntaxError(ValueError):
    pass


_FIELDS = {
    "open": 5,
    "unlink": 2,
    "mmap": 7,
    "munmap": 3,
    "mprotect": 4,
    "mremap": 6,
    "touch": 3,
    # issue 13 part A (MADVISE_FORK_OPS below)
    "madvise": 4,  # 5 with "drain"
    "fork": 2,
    "drain": 1,
    "fill": 2,
}
TOUCH_ACCESS = {"r": "read", "w": "write", "x": "exec"}


# ----------------------------------------------------------------------------
# mlock, mseal, anonymous names, RLIMIT_MEMLOCK, CAP_IPC_LOCK, max_map_count headroom
# (issue 13 part B; vmatrace.c's "locks" block is the reference for their semantics)

MLOCK_ONFAULT = 0x1
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
BOUNDARY_PAGES = 64  # the arena of max_map_count boundary traces
RLIM_INFINITY = U64
MLOCK2_FLAG_NAMES: dict[str, int] = {"onfault": MLOCK_ONFAULT}
MLOCKALL_FLAG_NAMES: dict[str, int] = {
    "current": MCL_CURRENT,
    "future": MCL_FUTURE,
    "onfault": MCL_ONFAULT,
}
#: Field counts (with the op name) of the lock/seal/name operations:
#: ``mlock``/``munlock`` (addr, len); ``mlock2`` (addr, len, flags); ``mlockall``
#: (flags,); ``munlockall`` (); ``mseal`` (addr, len, flags); ``prctl_anon_name`` (addr, len,
#: name token: ``-`` for NULL, ``%XX`` escapes a byte); ``memlock`` (cur, max; ``inf``);
#: ``cap_ipc_lock`` (0 or 1,); ``headroom`` (free VMA slots below vm.max_map_count,).
LOCK_FIELDS = {
    "mlock": 3,
    "mlock2": 4,
    "munlock": 3,
    "mlockall": 2,
    "munlockall": 1,
    "mseal": 4,
    "prctl_anon_name": 4,
    "memlock": 3,
    "cap_ipc_lock": 2,
    "headroom": 2,
}
_FIELDS.update(LOCK_FIELDS)


def _format_limit(value: int) -> str:
    return "inf" if value == RLIM_INFINITY else str(value)


def _parse_limit(tok: str) -> int:
    return RLIM_INFINITY if tok == "inf" else parse_num(tok)


def format_lock_op(op: Op) -> str:
    """The trace line of a lock/seal/name operation.

    >>> format_lock_op(Op("mlock2", (0x1000, 0x2000, 1)))
    'mlock2 0x1000 0x2000 onfault'
    >>> format_lock_op(Op("mlockall", (3,))), format_lock_op(Op("memlock", (4096, RLIM_INFINITY)))
    ('mlockall current|future', 'memlock 4096 inf')
    """
    a = op.args
    kind = op.kind
    if kind in ("mlock", "munlock"):
        return f"{kind} {a[0]:#x} {a[1]:#x}"
    if kind == "mlock2":
        return f"mlock2 {a[0]:#x} {a[1]:#x} {_format_flags(int(a[2]), MLOCK2_FLAG_NAMES)}"
    if kind == "mlockall":
        return f"mlockall {_format_flags(int(a[0]), MLOCKALL_FLAG_NAMES)}"
    if kind == "munlockall":
        return "munlockall"
    if kind == "mseal":
        return f"mseal {a[0]:#x} {a[1]:#x} {a[2]:#x}"
    if kind == "prctl_anon_name":
        return f"prctl_anon_name {a[0]:#x} {a[1]:#x} {a[2]}"
    if kind == "memlock":
        return f"memlock {_format_limit(int(a[0]))} {_format_limit(int(a[1]))}"
    if kind in ("cap_ipc_lock", "headroom"):
        return f"{kind} {a[0]}"
    raise ValueError(kind)


def parse_lock_op(tok: list[str]) -> Op:
    """Parse the (already split, field-counted) tokens of a lock/seal/name operation.

    >>> parse_lock_op("mlockall future|onfault".split())
    Op(kind='mlockall', args=(6,))
    """
    kind = tok[0]
    if kind in ("mlock", "munlock"):
        return Op(kind, (parse_num(tok[1]), parse_num(tok[2])))
    if kind == "mlock2":
        flags = _parse_bits(tok[3], MLOCK2_FLAG_NAMES, rwx=False)
        return Op(kind, (parse_num(tok[1]), parse_num(tok[2]), flags))
    if kind == "mlockall":
        return Op(kind, (_parse_bits(tok[1], MLOCKALL_FLAG_NAMES, rwx=False),))
    if kind == "munlockall":
        return Op(kind, ())
    if kind == "mseal":
        return Op(kind, (parse_num(tok[1]), parse_num(tok[2]), parse_num(tok[3])))
    if kind == "prctl_anon_name":
        decode_name(tok[3])  # validates the escapes
        return Op(kind, (parse_num(tok[1]), parse_num(tok[2]), tok[3]))
    if kind == "memlock":
        return Op(kind, (_parse_limit(tok[1]), _parse_limit(tok[2])))
    if kind == "cap_ipc_lock":
        if tok[1] not in ("0", "1"):
            raise TraceSyntaxError(f"cap_ipc_lock takes 0 or 1, not {tok[1]!r}")
        return Op(kind, (int(tok[1]),))
    return Op(kind, (int(tok[1], 0),))  # headroom


def encode_name(name: bytes | None) -> str:
    """The ``prctl_anon_name`` token for a name (None: NULL): ``%XX`` for every byte that is
    not printable ASCII other than ``%``; ``%00`` for the empty name (C stops at the NUL)
    and ``%2D`` for ``-`` alone.

    >>> encode_name(b"heap 1"), encode_name(None), encode_name(b"-"), encode_name(b"")
    ('heap%201', '-', '%2D', '%00')
    """
    if name is None:
        return "-"
    if name == b"-":
        return "%2D"
    if not name:
        return "%00"
    return "".join(chr(b) if 0x20 < b < 0x7F and b != 0x25 else f"%{b:02X}" for b in name)


def decode_name(tok: str) -> bytes | None:
    """Inverse of :func:`encode_name`, as vmatrace.c decodes a token.

    >>> decode_name("heap%201"), decode_name("-"), decode_name("%2D"), decode_name("%00")
    (b'heap 1', None, b'-', b'\\x00')
    """
    if tok == "-":
        return None
    out = bytearray()
    i = 0
    while i < len(tok):
        if tok[i] == "%" and _is_hex(tok[i + 1 : i + 3]):
            out.append(int(tok[i + 1 : i + 3], 16))
            i += 3
        else:
            out += tok[i].encode("utf-8")
            i += 1
    return bytes(out)


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def parse_op(line: str) -> Op:
    """Parse one operation line.

    >>> str(parse_op("mmap 0x100000000000 8192 rw- private|anonymous|fixed -1 0"))
    'mmap 0x100000000000 0x2000 rw- private|anonymous|fixed -1 0x0'
    """
    tok = line.split()
    if tok[:1] == ["madvise"] and tok[4:] == ["drain"]:
        return parse_madvise_fork_op(tok, line)
    if not tok or tok[0] not in _FIELDS or len(tok) != _FIELDS[tok[0]]:
        raise TraceSyntaxError(f"bad trace line: {line!r}")
    kind = tok[0]
    if kind in MADVISE_FORK_OPS:
        return parse_madvise_fork_op(tok, line)
    if kind == "open":
        if tok[4] not in ("rdwr", "rdonly"):
            raise TraceSyntaxError(f"bad open mode in {line!r}")
        return Op(kind, (int(tok[1]), int(tok[2]), int(tok[3]), tok[4]))
    if kind == "unlink":
        return Op(kind, (int(tok[1]),))
    if kind == "mmap":
        return Op(
            kind,
            (
                parse_num(tok[1]),
                parse_num(tok[2]),
                parse_prot(tok[3]),
                parse_mmap_flags(tok[4]),
                int(tok[5], 0),
                parse_num(tok[6]),
            ),
        )
    if kind == "munmap":
        return Op(kind, (parse_num(tok[1]), parse_num(tok[2])))
    if kind == "mprotect":
        return Op(kind, (parse_num(tok[1]), parse_num(tok[2]), parse_prot(tok[3])))
    if kind == "touch":
        if tok[2] not in TOUCH_ACCESS:
            raise TraceSyntaxError(f"bad touch access in {line!r}")
        return Op(kind, (parse_num(tok[1]), tok[2]))
    if kind in LOCK_FIELDS:
        return parse_lock_op(tok)
    return Op(
        kind,
        (
            parse_num(tok[1]),
            parse_num(tok[2]),
            parse_num(tok[3]),
            parse_mremap_flags(tok[4]),
            parse_num(tok[5]),
        ),
    )


def parse_trace(text: str) -> Trace:
    """Parse a whole trace (comments and blank lines allowed; ``arena`` first)."""
    trace: Trace | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tok = line.split()
        if tok[0] == "arena":
            if trace is not None or len(tok) != 3:
                raise TraceSyntaxError(f"bad or repeated arena line: {line!r}")
            trace = Trace(parse_num(tok[1]), int(tok[2], 0))
            continue
        if trace is None:
            raise TraceSyntaxError("a trace starts with an 'arena <base> <pages>' line")
        if tok == ["smaps"]:
            trace.smaps = True
            continue
        if tok[:2] == ["smaps", "all"] and tok[2:] in ([], ["files"]):
            trace.smaps = trace.smaps_all = True
            trace.smaps_files = tok[2:] == ["files"]
            continue
        if tok == ["locks"]:
            trace.locks = True
            continue
        trace.ops.append(parse_op(line))
    if trace is None:
        raise TraceSyntaxError("empty trace")
    return trace


# ----------------------------------------------------------------------------
# madvise, fork, drain, fill (issue 13 part A)

MADV_NAMES: dict[str, int] = {
    "normal": 0,
    "random": 1,
    "sequential": 2,
    "willneed": 3,
    "dontneed": 4,
    "free": 8,
    "remove": 9,
    "dontfork": 10,
    "dofork": 11,
    "mergeable": 12,
    "unmergeable": 13,
    "hugepage": 14,
    "nohugepage": 15,
    "dontdump": 16,
    "dodump": 17,
    "wipeonfork": 18,
    "keeponfork": 19,
    "cold": 20,
    "pageout": 21,
    "populate_read": 22,
    "populate_write": 23,
    "dontneed_locked": 24,
    "collapse": 25,
    "hwpoison": 100,
    "soft_offline": 101,
    "guard_install": 102,
    "guard_remove": 103,
}
_MADV_BY_VALUE = {v: k for k, v in MADV_NAMES.items()}
#: The operations vmatrace.c's do_op_madvise_fork() handles:
#: ``madvise <addr> <len> <advice> [drain]``, ``fork child|parent``, ``drain``,
#: ``fill <headroom>``.
MADVISE_FORK_OPS = frozenset({"madvise", "fork", "drain", "fill"})


def parse_advice(tok: str) -> int:
    """An advice name or number.

    >>> parse_advice("dontneed"), parse_advice("102"), parse_advice("-1")
    (4, 102, 18446744073709551615)
    """
    return MADV_NAMES[tok] if tok in MADV_NAMES else parse_num(tok)


def format_advice(advice: int) -> str:
    """The advice's name, or its number.

    >>> format_advice(8), format_advice(77)
    ('free', '77')
    """
    return _MADV_BY_VALUE.get(advice, str(advice))


def parse_madvise_fork_op(tok: list[str], line: str) -> Op:
    kind = tok[0]
    if kind == "madvise":
        args: tuple[int | str, ...] = (parse_num(tok[1]), parse_num(tok[2]), parse_advice(tok[3]))
        return Op(kind, args + tuple(tok[4:]))
    if kind == "fork":
        if tok[1] not in ("child", "parent"):
            raise TraceSyntaxError(f"fork child|parent in {line!r}")
        return Op(kind, (tok[1],))
    if kind == "fill":
        return Op(kind, (int(tok[1], 0),))
    return Op(kind, ())


def format_madvise_fork_op(op: Op) -> str:
    """The trace line of a madvise/fork/drain/fill op.

    >>> str(parse_op("madvise 0x100000000000 4096 guard_install"))
    'madvise 0x100000000000 0x1000 guard_install'
    """
    a = op.args
    if op.kind == "madvise":
        addr, length, advice = op.ints()
        drain = " drain" if "drain" in a else ""
        return f"madvise {addr:#x} {length:#x} {format_advice(advice)}{drain}"
    if op.kind in ("fork", "fill"):
        return f"{op.kind} {a[0]}"
    return op.kind


# ----------------------------------------------------------------------------
# The generator


@dataclass
class _Page:
    """What the generator believes one arena page holds."""

    tag: int  # which mapping call created it (pages of one tag ~ one VMA)
    src: tuple[str, int]  # ("anon", 0), ("shm", n) or ("file", slot)
    pgoff: int  # file page offset of this page
    prot: int
    shared: bool
    growsdown: bool


@dataclass
class _Slot:
    file: int
    pages: int
    writable: bool


PROT_CHOICES = [
    (PROT_READ | PROT_WRITE, 35),
    (PROT_READ, 25),
    (0, 10),
    (PROT_READ | PROT_WRITE | PROT_EXEC, 8),
    (PROT_READ | PROT_EXEC, 10),
    (PROT_WRITE, 5),
    (PROT_EXEC, 4),
    (PROT_WRITE | PROT_EXEC, 3),
]


class Generator:
    """Builds a random but deterministic (for a seed) trace of ``n_ops`` operations."""

    def __init__(
        self, seed: int, base: int = ARENA_BASE, pages: int = ARENA_PAGES, touches: bool = False
    ) -> None:
        self.rng = random.Random(seed)
        self.touches = touches
        self.base = base
        self.npages = pages
        self.pages: list[_Page | None] = [None] * pages
        self.slots: dict[int, _Slot] = {}
        self.files: dict[int, int] = {}  # file number -> size in pages (live names)
        self.next_file = 0
        self.next_tag = 1
        self.next_shm = 1
        self.ops: list[Op] = []

    # --- small helpers -----------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def addr(self, page: int) -> int:
        return self.base + page * PAGE

    def page_of(self, addr: int) -> int:
        return (addr - self.base) // PAGE

    def prot(self) -> int:
        choices = [prot for prot, _ in PROT_CHOICES]
        weights = [weight for _, weight in PROT_CHOICES]
        prot: int = self.rng.choices(choices, weights)[0]
        return prot

    def npages_choice(self, limit: int | None = None) -> int:
        r = self.rng.random()
        if r < 0.5:
            n = self.rng.randint(1, 4)
        elif r < 0.85:
            n = self.rng.randint(5, 16)
        else:
            n = self.rng.randint(17, 48)
        return max(1, min(n, limit if limit is not None else n))

    def byte_len(self, npages: int) -> int:
        """A length in bytes for ``npages`` pages; sometimes not page aligned."""
        if self.chance(0.06):
            return npages * PAGE - self.rng.randint(1, PAGE - 1)
        return npages * PAGE

    def runs(self) -> list[tuple[int, int]]:
        """Maximal runs [start, end) of pages with the same tag and protection."""
        out = []
        i = 0
        while i < self.npages:
            p = self.pages[i]
            if p is None:
                i += 1
                continue
            j = i + 1
            while j < self.npages:
                q = self.pages[j]
                if q is None or q.tag != p.tag or q.prot != p.prot:
                    break
                j += 1
            out.append((i, j))
            i = j
        return out

    def holes(self) -> list[tuple[int, int]]:
        out = []
        i = 0
        while i < self.npages:
            if self.pages[i] is not None:
                i += 1
                continue
            j = i
            while j < self.npages and self.pages[j] is None:
                j += 1
            out.append((i, j))
            i = j
        return out

    def interesting_page(self) -> int:
        """A page index near something: a run edge, a hole edge, or anywhere."""
        r = self.rng.random()
        runs = self.runs()
        if runs and r < 0.6:
            s, e = self.rng.choice(runs)
            return self.rng.choice([s, e if e < self.npages else s, self.rng.randrange(s, e)])
        return self.rng.randrange(self.npages)

    def is_free(self, start: int, end: int) -> bool:
        return all(p is None for p in self.pages[start:end])

    def emit(self, op: Op) -> None:
        self.ops.append(op)

    # --- shadow updates ----------------------------------------------------

    def shadow_map(
        self,
        start: int,
        n: int,
        src: tuple[str, int],
        pgoff: int,
        prot: int,
        shared: bool,
        growsdown: bool,
    ) -> None:
        tag = self.next_tag
        self.next_tag += 1
        for i in range(n):
            if 0 <= start + i < self.npages:
                self.pages[start + i] = _Page(tag, src, pgoff + i, prot, shared, growsdown)

    def shadow_clear(self, start: int, end: int) -> None:
        for i in range(max(start, 0), min(end, self.npages)):
            self.pages[i] = None

    # --- operations --------------------------------------------------------

    def op_open(self) -> None:
        r = self.rng.random()
        live = list(self.files)
        slot = len(self.slots) if len(self.slots) < 8 else self.rng.randrange(8)
        if live and r < 0.5:
            file = self.rng.choice(live)  # a second open of a file: no merging across
        else:
            file = self.next_file
            self.next_file += 1
            self.files[file] = self.rng.choice([4, 8, 16, 64])
        mode = "rdonly" if self.chance(0.3) else "rdwr"
        self.slots[slot] = _Slot(file, self.files[file], mode == "rdwr")
        self.emit(Op("open", (slot, file, self.files[file], mode)))

    def op_unlink(self) -> None:
        if not self.files:
            return self.op_open()
        file = self.rng.choice(list(self.files))
        # The name is never opened again (a later open would create a new file);
        # the slots that have it open stay usable.
        del self.files[file]
        self.emit(Op("unlink", (file,)))
        return None

    def choose_backing(self, neighbour: _Page | None) -> tuple[tuple[str, int], bool, int, int]:
        """(src, shared, slot or -1, prot) for a new mapping, sometimes copying a neighbour."""
        if neighbour is not None and self.chance(0.6):
            src, shared, prot = neighbour.src, neighbour.shared, neighbour.prot
            if src[0] == "file":
                slot = src[1]
                if self.chance(0.25):
                    # same file through another open file description, if there is one
                    file = self.slots[slot].file
                    others = [s for s, i in self.slots.items() if s != slot and i.file == file]
                    if others:
                        slot = self.rng.choice(others)
                return ("file", slot), shared, slot, prot
            if src[0] == "shm":
                return ("shm", self.next_shm), True, -1, prot
            return src, shared, -1, prot
        r = self.rng.random()
        prot = self.prot()
        if r < 0.45 or not self.slots:
            return ("anon", 0), False, -1, prot
        if r < 0.55:
            return ("shm", self.next_shm), True, -1, prot
        slot = self.rng.choice(list(self.slots))
        shared = self.chance(0.5)
        if shared and not self.slots[slot].writable and prot & PROT_WRITE and self.chance(0.7):
            prot &= ~PROT_WRITE  # mostly avoid EACCES, but keep some
        return ("file", slot), shared, slot, prot

    def choose_offset(self, src: tuple[str, int], start: int, n: int) -> int:
        """File page offset: contiguous with a same-file neighbour when possible."""
        if src[0] != "file":
            return 0
        left = self.pages[start - 1] if start > 0 else None
        right = self.pages[start + n] if start + n < self.npages else None
        size = self.slots[src[1]].pages
        r = self.rng.random()
        if left is not None and left.src[0] == "file" and r < 0.45:
            return max(left.pgoff + 1, 0)
        if right is not None and right.src[0] == "file" and r < 0.7:
            return max(right.pgoff - n, 0)
        return self.rng.randint(0, size + 2)

    def placement(self, n: int) -> int:
        """A start page for an n-page mapping: next to a run (40%) or anywhere."""
        runs = self.runs()
        if runs and self.chance(0.45):
            s, e = self.rng.choice(runs)
            start = e if self.chance(0.5) else s - n
        else:
            start = self.rng.randrange(self.npages)
        return max(0, min(start, self.npages - n))

    def op_mmap_fixed(self, noreplace: bool) -> None:
        n = self.npages_choice(self.npages // 2)
        if noreplace and self.chance(0.5):
            holes = [h for h in self.holes() if h[1] - h[0] >= n]
            start = self.rng.choice(holes)[0] if holes else self.placement(n)
        else:
            start = self.placement(n)
        neighbour = None
        if start > 0 and self.pages[start - 1] is not None and self.chance(0.5):
            neighbour = self.pages[start - 1]
        elif start + n < self.npages:
            neighbour = self.pages[start + n]
        src, shared, slot, prot = self.choose_backing(neighbour)
        growsdown = src[0] == "anon" and self.chance(0.06)
        if src[0] == "shm" and self.chance(0.03):
            growsdown = True  # EINVAL
        flags = (MAP_SHARED if shared else MAP_PRIVATE) | (
            MAP_FIXED_NOREPLACE if noreplace else MAP_FIXED
        )
        if src[0] != "file":
            flags |= MAP_ANONYMOUS
        if growsdown:
            flags |= MAP_GROWSDOWN
        if self.chance(0.04):
            flags |= MAP_NORESERVE
        if self.chance(0.03):
            flags |= MAP_STACK  # VM_NOHUGEPAGE since 6.7: no merging with plain VMAs
        # MAP_DROPPABLE: private anonymous memory of other flags (no merging with plain
        # VMAs); EINVAL with MAP_GROWSDOWN.
        droppable = src[0] == "anon" and not shared and self.chance(0.05)
        if droppable:
            flags = flags & ~MAP_PRIVATE | MAP_DROPPABLE
        pgoff = self.choose_offset(src, start, n)
        off = pgoff * PAGE
        if src[0] != "file" and self.chance(0.05):
            off = self.rng.randint(1, 16) * PAGE  # ignored for anonymous mappings
        self.emit(Op("mmap", (self.addr(start), self.byte_len(n), prot, flags, slot, off)))
        ok = not noreplace or self.is_free(start, start + n)
        if src[0] == "file" and shared and prot & PROT_WRITE and not self.slots[slot].writable:
            ok = False
        if (src[0] == "shm" or droppable) and growsdown:
            ok = False
        if ok:
            if src[0] == "shm":
                self.next_shm += 1
                pgoff = 0
            elif src[0] == "anon":
                pgoff = start
            self.shadow_map(start, n, src, pgoff, prot, shared, growsdown)

    def op_mmap_hint(self) -> None:
        n = self.npages_choice(16)
        holes = [h for h in self.holes() if h[1] - h[0] >= n]
        if holes and self.chance(0.7):
            s, e = self.rng.choice(holes)
            start = self.rng.randint(s, e - n)
        else:
            start = self.rng.randint(0, self.npages - n)
        src, shared, slot, prot = self.choose_backing(None)
        flags = MAP_SHARED if shared else MAP_PRIVATE
        if src[0] != "file":
            flags |= MAP_ANONYMOUS
        hint = self.addr(start)
        if self.chance(0.1):
            hint += self.rng.randint(1, PAGE - 1)  # rounded down by the kernel
        off = self.choose_offset(src, start, n) * PAGE if src[0] == "file" else 0
        self.emit(Op("mmap", (hint, self.byte_len(n), prot, flags, slot, off)))
        if src[0] == "file" and shared and prot & PROT_WRITE and not self.slots[slot].writable:
            return
        if self.is_free(start, start + n):
            pgoff = start if src[0] == "anon" else off // PAGE
            if src[0] == "shm":
                self.next_shm += 1
                pgoff = 0
            self.shadow_map(start, n, src, pgoff, prot, shared, False)

    def span(self) -> tuple[int, int]:
        """A page range [s, e) for munmap/mprotect: often several VMAs and holes."""
        s = self.interesting_page()
        r = self.rng.random()
        if r < 0.3:
            # exactly one run, or a part of one
            runs = self.runs()
            if runs:
                rs, re_ = self.rng.choice(runs)
                s = self.rng.randint(rs, re_ - 1) if self.chance(0.4) else rs
                e = self.rng.randint(s + 1, re_) if self.chance(0.4) else re_
                return s, e
        n = self.npages_choice(64) if r < 0.8 else self.rng.randint(16, 96)
        return s, min(s + n, self.npages)

    def op_munmap(self) -> None:
        s, e = self.span()
        self.emit(Op("munmap", (self.addr(s), self.byte_len(e - s))))
        self.shadow_clear(s, e)

    def op_mprotect(self) -> None:
        s, e = self.span()
        mapped = [i for i, p in enumerate(self.pages) if p is not None]
        if self.pages[s] is None and mapped and self.chance(0.6):
            # mostly start on a mapped page: a hole at the start changes nothing
            n = e - s
            s = self.rng.choice(mapped)
            e = min(s + n, self.npages)
        prot = self.prot()
        first = self.pages[s]
        if first is not None and first.growsdown and self.chance(0.3):
            prot |= PROT_GROWSDOWN
        elif self.chance(0.02):
            prot |= PROT_GROWSDOWN  # EINVAL unless the VMA grows down
        if self.chance(0.03):
            prot |= PROT_SEM  # accepted and ignored
        self.emit(Op("mprotect", (self.addr(s), self.byte_len(e - s), prot)))
        for i in range(s, e):
            p = self.pages[i]
            if p is None:
                break
            if p.shared and p.src[0] == "file" and prot & PROT_WRITE:
                slot = self.slots.get(p.src[1])
                if slot is not None and not slot.writable:
                    break
            p.prot = prot & 7

    def op_mremap(self) -> None:
        runs = self.runs()
        if not runs:
            return self.op_mmap_fixed(False)
        rs, re_ = self.rng.choice(runs)
        old = rs if self.chance(0.8) else self.rng.randint(rs, re_ - 1)
        old_n = re_ - old
        if self.chance(0.3):
            old_n = self.rng.randint(1, old_n)
        elif self.chance(0.1):
            old_n = min(old_n + self.rng.randint(1, 8), self.npages - old)  # crosses the end
        p = self.pages[old]
        assert p is not None
        r = self.rng.random()
        flags = 0
        new_addr = 0
        if r < 0.15:  # shrink
            new_n = self.rng.randint(1, old_n) if old_n > 1 else 1
            if self.chance(0.3):
                flags = MREMAP_MAYMOVE
        elif r < 0.4:  # grow, in place if there is room
            new_n = min(old_n + self.npages_choice(16), self.npages - old)
            if self.chance(0.5):
                flags = MREMAP_MAYMOVE
        elif r < 0.55:  # move anywhere (lands outside the arena)
            new_n = max(1, old_n + self.rng.randint(-2, 8))
            flags = MREMAP_MAYMOVE
        elif r < 0.85:  # MREMAP_FIXED into the arena
            new_n = old_n if self.chance(0.6) else self.npages_choice(16)
            dest = self.placement(new_n)
            new_addr = self.addr(dest)
            flags = MREMAP_MAYMOVE | MREMAP_FIXED
        else:  # MREMAP_DONTUNMAP, new_addr is a hint (or FIXED)
            new_n = old_n
            holes = [h for h in self.holes() if h[1] - h[0] >= new_n]
            dest = (
                self.rng.choice(holes)[0] if holes and self.chance(0.7) else self.placement(new_n)
            )
            new_addr = self.addr(dest)
            flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP
            if self.chance(0.3):
                flags |= MREMAP_FIXED
        old_len = old_n * PAGE
        if self.chance(0.03):
            old_len = 0  # duplicate a shared mapping; EINVAL for private ones
        new_len = self.byte_len(new_n)
        new_len = min(new_len, (self.npages - old) * PAGE) if not flags & MREMAP_FIXED else new_len
        self.emit(Op("mremap", (self.addr(old), old_len, new_len, flags, new_addr)))
        # shadow: approximate
        if old_len == 0:
            return None
        new_n = page_align(new_len) // PAGE
        attrs = p
        if flags & MREMAP_FIXED:
            dest = self.page_of(new_addr)
            if dest < old + old_n and old < dest + new_n:
                return None  # overlapping: EINVAL
            if not flags & MREMAP_DONTUNMAP:
                self.shadow_clear(old, old + old_n)
            self.shadow_clear(dest, dest + new_n)
            self.shadow_map(
                dest, new_n, attrs.src, attrs.pgoff, attrs.prot, attrs.shared, attrs.growsdown
            )
        elif new_n <= old_n:
            self.shadow_clear(old + new_n, old + old_n)
        elif self.is_free(old + old_n, old + new_n):
            self.shadow_map(
                old + old_n,
                new_n - old_n,
                attrs.src,
                attrs.pgoff + old_n,
                attrs.prot,
                attrs.shared,
                attrs.growsdown,
            )
        elif flags & MREMAP_MAYMOVE:
            self.shadow_clear(old, old + old_n)
        return None

    def op_invalid(self) -> None:
        """One of the argument errors the syscalls' man pages list (the ERRORS sections)."""
        a = self.addr(min(self.interesting_page(), self.npages - 2))
        anon = MAP_PRIVATE | MAP_ANONYMOUS
        slot = self.rng.choice(list(self.slots)) if self.slots else -1
        choices: list[Op] = [
            Op("mmap", (a, 0, PROT_READ, anon | MAP_FIXED, -1, 0)),  # len 0
            Op("mmap", (a, PAGE, PROT_READ, MAP_ANONYMOUS | MAP_FIXED, -1, 0)),  # no type
            Op("mmap", (a, PAGE, PROT_READ, anon | MAP_FIXED, -1, 0x123)),  # offset
            Op("mmap", (a + 0x10, PAGE, PROT_READ, anon | MAP_FIXED, -1, 0)),  # addr
            Op("mmap", (a + 0x10, PAGE, PROT_READ, anon | MAP_FIXED_NOREPLACE, -1, 0)),
            Op("mmap", (a, U64, PROT_READ, anon, -1, 0)),  # len wraps
            Op("mmap", (a, U64 - PAGE + 1, PROT_READ, anon, -1, 0)),
            Op("mmap", (a, 1 << 47, PROT_READ, anon | MAP_NORESERVE, -1, 0)),  # > TASK_SIZE
            Op("mmap", (a, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, -1, 0)),  # EBADF
            Op("mmap", (a, PAGE, PROT_READ, anon | MAP_FIXED, -1, U64 - PAGE + 1)),  # pgoff
            Op(
                "mmap", (a, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
            ),
            Op("mmap", (a, PAGE, PROT_READ, anon | MAP_FIXED | MAP_SYNC, -1, 0)),
            Op("mmap", (a, PAGE, 0x10 | PROT_READ, anon | MAP_FIXED, -1, 0)),  # bits ignored
            Op("munmap", (a, 0)),
            Op("munmap", (a + 0x10, PAGE)),
            Op("munmap", (1 << 47, PAGE)),
            Op("munmap", (a, 1 << 47)),
            Op("mprotect", (a + 0x10, PAGE, PROT_READ)),
            Op("mprotect", (a, 0, PROT_READ)),  # 0: no-op success
            Op("mprotect", (a, U64 - PAGE + 1, PROT_READ)),  # wraps: ENOMEM
            Op("mprotect", (a, PAGE, 0x10)),
            Op("mprotect", (a, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP)),
            Op("mremap", (a, PAGE, 0, MREMAP_MAYMOVE, 0)),
            Op("mremap", (a + 0x10, PAGE, PAGE, MREMAP_MAYMOVE, 0)),
            Op("mremap", (a, PAGE, 2 * PAGE, MREMAP_FIXED, self.base)),
            Op("mremap", (a, PAGE, PAGE, 8, 0)),
            Op("mremap", (a, PAGE, PAGE, MREMAP_DONTUNMAP, self.base)),
            Op("mremap", (a, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, self.base)),
            Op("mremap", (a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, self.base + 0x10)),
            Op("mremap", (a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a)),  # overlap
        ]
        if slot >= 0:
            choices += [
                Op("mmap", (a, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, slot, 0)),
                Op(
                    "mmap",
                    (a, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, slot, 0),
                ),
                Op("mmap", (a, PAGE, PROT_READ, MAP_SHARED | MAP_SYNC | MAP_FIXED, slot, 0)),
                Op(
                    "mmap",
                    (a, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED | 0x800000, slot, 0),
                ),
                Op("mmap", (a, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, slot, 0x10)),
                Op("mmap", (a, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_GROWSDOWN, slot, 0)),
                Op("mmap", (a, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_GROWSDOWN, slot, 0)),
                Op("mmap", (a, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, slot, U64 - PAGE + 1)),
            ]
        op = self.rng.choice(choices)
        self.emit(op)
        if op.kind == "mmap" and op.args[2] == (0x10 | PROT_READ):
            self.shadow_map(
                self.page_of(a), 1, ("anon", 0), self.page_of(a), PROT_READ, False, False
            )
        return None

    def op_touch(self) -> None:
        """A read, write or execute touch: mostly on a mapped page, sometimes in a hole,
        just below a growsdown run (stack growth and guard gaps) or past a file's end."""
        r = self.rng.random()
        mapped = [i for i, p in enumerate(self.pages) if p is not None]
        below_stack = [
            i - self.rng.randint(1, 24)
            for i, p in enumerate(self.pages)
            if p is not None and p.growsdown and (i == 0 or self.pages[i - 1] is None)
        ]
        if below_stack and r < 0.15:
            page = max(0, self.rng.choice(below_stack))
        elif mapped and r < 0.9:
            page = self.rng.choice(mapped)
        else:
            page = self.rng.randrange(self.npages)
        offset = self.rng.randrange(0, PAGE - 16, 16)
        access = self.rng.choices(["r", "w", "x"], [45, 45, 10])[0]
        self.emit(Op("touch", (self.addr(page) + offset, access)))

    def step(self) -> None:
        if self.touches and self.chance(0.4):
            # A burst of touches, so that faulted pages meet later merges and moves.
            for _ in range(self.rng.randint(1, 4)):
                self.op_touch()
            return
        r = self.rng.random()
        if r < 0.22:
            self.op_mmap_fixed(False)
        elif r < 0.30:
            self.op_mmap_fixed(True)
        elif r < 0.37:
            self.op_mmap_hint()
        elif r < 0.52:
            self.op_munmap()
        elif r < 0.71:
            self.op_mprotect()
        elif r < 0.87:
            self.op_mremap()
        elif r < 0.95:
            self.op_invalid()
        elif r < 0.985:
            self.op_open()
        else:
            self.op_unlink()

    def generate(self, n_ops: int) -> Trace:
        for _ in range(self.rng.randint(1, 4)):
            if len(self.ops) < n_ops:
                self.op_open()
        while len(self.ops) < n_ops:
            self.step()
        return Trace(self.base, self.npages, self.ops[:n_ops], smaps=self.touches)


def generate(
    seed: int,
    n_ops: int,
    base: int = ARENA_BASE,
    pages: int = ARENA_PAGES,
    touches: bool = False,
) -> Trace:
    """The trace for ``seed``: the same seed always gives the same trace. With
    ``touches`` the trace also reads, writes and executes pages (a different stream of
    operations for the same seed) and reports per-VMA Rss/Anonymous after each op."""
    return Generator(seed, base, pages, touches).generate(n_ops)


# ----------------------------------------------------------------------------
# The generator of lock/seal/name traces (issue 13 part B)

#: Names for ``prctl_anon_name``: valid ones (some equal, so named VMAs merge), the empty
#: name, NULL, and each kind of invalid one (characters, length).
ANON_NAMES: list[bytes | None] = [
    b"heap",
    b"heap",
    b"arena 1",
    b"jit-code",
    b"",
    None,
    None,
    b"x" * 79,
    b"x" * 80,
    b"bad[name]",
    b"dollar$",
    b"tab\tname",
    b"caf\xc3\xa9",
    b"back`tick",
]
MLOCKALL_CHOICES = [
    (MCL_CURRENT, 3),
    (MCL_FUTURE, 3),
    (MCL_CURRENT | MCL_FUTURE, 2),
    (MCL_CURRENT | MCL_ONFAULT, 2),
    (MCL_FUTURE | MCL_ONFAULT, 2),
    (MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT, 1),
    (0, 1),  # EINVAL
    (MCL_ONFAULT, 1),  # EINVAL
    (8, 1),  # EINVAL
]


class LockGenerator(Generator):
    """Traces mixing mlock, mlock2, munlock, mlockall, munlockall, mseal, prctl_anon_name,
    RLIMIT_MEMLOCK and CAP_IPC_LOCK changes with the base generator's operations.

    ``boundary``: the traces of the ``vm.max_map_count`` boundary. A ``headroom`` op
    (few free VMA slots) comes first and again every few operations, and only
    operations that stay inside the arena are used (no hinted mmap, no mremap that may
    move out, no mlockall), so that the real process and the simulated one keep the
    same number of VMAs outside the arena.
    """

    def __init__(
        self,
        seed: int,
        base: int = ARENA_BASE,
        pages: int = ARENA_PAGES,
        touches: bool = False,
        boundary: bool = False,
    ) -> None:
        super().__init__(seed, base, pages, touches)
        self.boundary = boundary
        self.cap = True  # CAP_IPC_LOCK in the effective set
        self.future = False  # MCL_FUTURE in force (mm->def_flags)
        self.current = False  # an MCL_CURRENT lock not undone by munlockall
        self.headroom_set = False

    def lock_span(self) -> tuple[int, int]:
        """A page range for a lock/seal/name op: mostly a part of one run, or a few
        pages across VMAs and holes."""
        runs = self.runs()
        if runs and self.chance(0.7):
            rs, re_ = self.rng.choice(runs)
            s = rs if self.chance(0.4) else self.rng.randint(rs, re_ - 1)
            e = re_ if self.chance(0.4) else self.rng.randint(s + 1, re_)
            if self.chance(0.15):
                e = min(e + self.rng.randint(1, 8), self.npages)  # into what follows
            return s, e
        s = self.interesting_page()
        return s, min(s + self.npages_choice(24), self.npages)

    def lock_range(self) -> tuple[int, int]:
        s, e = self.lock_span()
        addr, length = self.addr(s), (e - s) * PAGE
        if self.chance(0.08):  # mlock rounds an unaligned start down
            offset = self.rng.randint(1, PAGE - 1)
            addr += offset
            length -= offset
        elif self.chance(0.05):
            length -= self.rng.randint(1, PAGE - 1)
        if self.chance(0.02):
            length = 0
        return addr, length

    def op_mlock(self) -> None:
        addr, length = self.lock_range()
        self.emit(Op("mlock", (addr, length)))

    def op_mlock2(self) -> None:
        addr, length = self.lock_range()
        flags = self.rng.choices([MLOCK_ONFAULT, 0, 2, 0x100], [70, 20, 5, 5])[0]
        self.emit(Op("mlock2", (addr, length, flags)))

    def op_munlock(self) -> None:
        addr, length = self.lock_range()
        self.emit(Op("munlock", (addr, length)))

    def op_mlockall(self) -> None:
        if not self.cap:
            # Without CAP_IPC_LOCK, MCL_CURRENT compares the limit with total_vm, and
            # the helper's own memory makes the real total_vm larger than the
            # simulated process's; MCL_FUTURE would lock the helper's allocations.
            return self.op_munlock()
        flags = self.rng.choices(
            [f for f, _ in MLOCKALL_CHOICES], [w for _, w in MLOCKALL_CHOICES]
        )[0]
        self.emit(Op("mlockall", (flags,)))
        if flags and not flags & ~7 and flags != MCL_ONFAULT:
            self.future = bool(flags & MCL_FUTURE)
            self.current |= bool(flags & MCL_CURRENT)
        return None

    def op_munlockall(self) -> None:
        self.emit(Op("munlockall", ()))
        self.future = self.current = False

    def op_mseal(self) -> None:
        s, e = self.lock_span()
        e = min(e, s + self.rng.randint(1, 4))  # seals are forever: keep them small
        addr, length = self.addr(s), (e - s) * PAGE
        flags = 0
        r = self.rng.random()
        if r < 0.04:
            flags = 1  # EINVAL
        elif r < 0.08:
            addr += self.rng.randint(1, PAGE - 1)  # EINVAL
        elif r < 0.11:
            length = U64 - PAGE + 2  # wraps: EINVAL
        elif r < 0.13:
            length = 0
        self.emit(Op("mseal", (addr, length, flags)))

    def op_anon_name(self) -> None:
        s, e = self.lock_span()
        name = self.rng.choice(ANON_NAMES)
        self.emit(Op("prctl_anon_name", (self.addr(s), (e - s) * PAGE, encode_name(name))))

    def op_credentials(self) -> None:
        # While the helper's own memory is locked (MCL_CURRENT) or would be (MCL_FUTURE),
        # it counts against RLIMIT_MEMLOCK there and not in the simulated process:
        # CAP_IPC_LOCK stays.
        if self.chance(0.5) and not (self.cap and (self.future or self.current)):
            self.cap = not self.cap
            self.emit(Op("cap_ipc_lock", (int(self.cap),)))
            return
        cur = self.rng.choice([0, 4 * PAGE, 16 * PAGE, 64 * PAGE, 2048 * PAGE])
        hard = self.rng.choice([cur, cur, 2048 * PAGE, RLIM_INFINITY, cur // 2])
        if self.future and not self.cap and cur < 2048 * PAGE:
            return  # the helper's own locked allocations need room
        self.emit(Op("memlock", (cur, hard)))

    def op_mremap_fixed(self) -> None:
        """An mremap that cannot leave the arena: a MREMAP_FIXED move into it, or a
        resize without MREMAP_MAYMOVE."""
        runs = self.runs()
        if not runs:
            return self.op_mmap_fixed(False)
        rs, re_ = self.rng.choice(runs)
        old = rs if self.chance(0.7) else self.rng.randint(rs, re_ - 1)
        old_n = re_ - old
        if self.chance(0.5):
            new_n = old_n if self.chance(0.6) else self.npages_choice(8)
            dest = self.placement(new_n)
            flags = MREMAP_MAYMOVE | MREMAP_FIXED
            self.emit(
                Op("mremap", (self.addr(old), old_n * PAGE, new_n * PAGE, flags, self.addr(dest)))
            )
            if not (dest < old + old_n and old < dest + new_n):
                p = self.pages[old]
                assert p is not None
                self.shadow_clear(old, old + old_n)
                self.shadow_clear(dest, dest + new_n)
                self.shadow_map(dest, new_n, p.src, p.pgoff, p.prot, p.shared, p.growsdown)
            return None
        new_n = max(1, min(old_n + self.rng.randint(-3, 3), self.npages - old))
        self.emit(Op("mremap", (self.addr(old), old_n * PAGE, new_n * PAGE, 0, 0)))
        if new_n < old_n:
            self.shadow_clear(old + new_n, old + old_n)
        return None

    def lock_op(self) -> None:
        r = self.rng.random()
        if r < 0.24:
            self.op_mlock()
        elif r < 0.38:
            self.op_mlock2()
        elif r < 0.56:
            self.op_munlock()
        elif r < 0.62 and not self.boundary:
            self.op_mlockall()
        elif r < 0.66 and not self.boundary:
            self.op_munlockall()
        elif r < 0.80:
            self.op_mseal()
        elif r < 0.92:
            self.op_anon_name()
        else:
            self.op_credentials()

    def base_op(self) -> None:
        r = self.rng.random()
        if r < 0.30:
            self.op_mmap_fixed(False)
        elif r < 0.36:
            self.op_mmap_fixed(True)
        elif r < 0.42 and not self.boundary:
            self.op_mmap_hint()
        elif r < 0.58:
            self.op_munmap()
        elif r < 0.78:
            self.op_mprotect()
        elif r < 0.90:
            if self.boundary:
                self.op_mremap_fixed()
            else:
                self.op_mremap()
        elif r < 0.95:
            self.op_invalid()
        else:
            self.op_open()

    def step(self) -> None:
        if self.boundary and (self.chance(0.08) or not self.headroom_set and len(self.ops) > 4):
            self.emit(Op("headroom", (self.rng.choice([0, 0, 1, 1, 2, 3]),)))
            self.headroom_set = True
            return
        if self.touches and self.chance(0.3):
            for _ in range(self.rng.randint(1, 3)):
                self.op_touch()
            return
        if self.chance(0.5):
            self.lock_op()
        else:
            self.base_op()

    def generate(self, n_ops: int) -> Trace:
        trace = super().generate(n_ops)
        trace.smaps = self.touches and not self.boundary
        trace.locks = not self.boundary
        return trace


def generate_locks(
    seed: int,
    n_ops: int,
    base: int = ARENA_BASE,
    pages: int = ARENA_PAGES,
    touches: bool = False,
    boundary: bool = False,
) -> Trace:
    """A lock/seal/name trace for ``seed`` (see :class:`LockGenerator`): per-VMA
    ``Locked``/``VmFlags`` and ``VmLck`` are compared after every op (and Rss/Anonymous
    with ``touches``); ``boundary`` traces run at the ``vm.max_map_count`` limit."""
    return LockGenerator(seed, base, pages, touches, boundary).generate(n_ops)
