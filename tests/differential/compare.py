"""Normalising and comparing the kernel's and the simulator's outputs.

Only what cannot match is normalised:

* **Addresses outside the arena.** A non-fixed mmap or an mremap move that lands
  outside the arena is recorded as ``= OUT`` (the real ``mmap_base`` is
  randomised). A result inside the arena is compared exactly, so a hinted mmap
  whose hint was free must land on the (rounded-down) hint in both.
* **Device and inode numbers of file-backed lines** (any line whose device/inode
  pair is not ``00:00 0``). They are replaced by labels numbered in order of first
  appearance within the snapshot (``dev1 ino1``, ``dev1 ino2`` ...), so "these two
  lines map the same inode" and "these map different inodes" must still agree.
  The format is checked before it is replaced: a device must be ``hh:hh`` (at
  least two lowercase hex digits each side) and an inode decimal, otherwise the
  line is kept raw and will not match.
* **The directory part of the trace's file names**: the side's own file directory
  prefix becomes ``$DIR/`` (so ``f0 (deleted)`` is compared byte for byte, and so
  is every other name, e.g. ``/dev/zero (deleted)``).

Column layout: the kernel pads named lines so the name starts at column 73. The
labels are shorter than real device/inode numbers, so re-rendering with the same
padding rule would hide a padding bug. Instead the normalised line re-pads to the
*column where the name started in the original line*: a simulator that padded to
column 72 gives a normalised line whose name is one column further left, and the
comparison fails. Unnamed lines keep whatever followed the inode verbatim (the
kernel prints exactly one trailing space). Everything else (addresses, perms,
offsets) is compared byte for byte.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from tests.differential.realkernel import Step
from tests.differential.trace import PAGE, Op, Trace, page_align

_LINE = re.compile(r"^(\S+) (\S+) (\S+) (\S+) (\S+)(.*)$", re.DOTALL)
_DEV = re.compile(r"^[0-9a-f]{2,}:[0-9a-f]{2,}$")
_INO = re.compile(r"^[0-9]+$")
_ERRNO_ALIASES = {"ENOTSUP": "EOPNOTSUPP", "EWOULDBLOCK": "EAGAIN", "EDEADLOCK": "EDEADLK"}


def normalise_result(op: Op, result: str, trace: Trace) -> str:
    """The comparable form of one result line.

    >>> from tests.differential.trace import parse_op
    >>> t = Trace()
    >>> op = parse_op("mmap 0x100000000000 0x1000 rw- private|anonymous -1 0")
    >>> normalise_result(op, "= 0x7f0012345000", t), normalise_result(op, "= 0x100000000000", t)
    ('= OUT', '= 0x100000000000')
    >>> normalise_result(op, "! ENOTSUP", t)
    '! EOPNOTSUPP'
    """
    if result.startswith("! "):
        name = result[2:].strip()
        return "! " + _ERRNO_ALIASES.get(name, name)
    if op.kind in ("mmap", "mremap") and result.startswith("= 0x"):
        try:
            addr = int(result[2:], 16)
        except ValueError:
            return result
        length = op.ints()[1] if op.kind == "mmap" else op.ints()[2]
        end = addr + max(page_align(length), PAGE)
        if end <= trace.base or addr >= trace.end:
            return "= OUT"
    return result


def normalise_maps(lines: tuple[str, ...] | list[str], filedir: str) -> list[str]:
    """The comparable form of one snapshot of arena maps lines.

    >>> k = "100000000000-100000001000 r--s 00000000 fe:00 2146360" + " " * 20 + "/tmp/x/f0"
    >>> s = "100000000000-100000001000 r--s 00000000 00:2a 7" + " " * 26 + "/sim/f0"
    >>> normalise_maps([k], "/tmp/x") == normalise_maps([s], "/sim")
    True
    >>> line = normalise_maps([k], "/tmp/x")[0]
    >>> line.split(), line.index("$DIR")
    (['100000000000-100000001000', 'r--s', '00000000', 'dev1', 'ino1', '$DIR/f0'], 73)
    >>> bad = "100000000000-100000001000 r--s 00000000 00:2a 7" + " " * 25 + "/sim/f0"
    >>> normalise_maps([bad], "/sim")[0].index("$DIR")
    72
    >>> normalise_maps(["100000000000-100000001000 rw-p 00000000 00:00 0 "], "/d")
    ['100000000000-100000001000 rw-p 00000000 00:00 0 ']
    """
    devs: dict[str, str] = {}
    inos: dict[tuple[str, str], str] = {}
    out = []
    prefix = filedir.rstrip("/") + "/"
    for line in lines:
        m = _LINE.match(line)
        if m is None:
            out.append(line)
            continue
        rng, perms, offset, dev, ino, rest = m.groups()
        if (dev, ino) != ("00:00", "0"):
            if not (_DEV.match(dev) and _INO.match(ino)):
                out.append(line)
                continue
            dev_label = devs.setdefault(dev, f"dev{len(devs) + 1}")
            ino_label = inos.setdefault((dev, ino), f"ino{len(inos) + 1}")
        else:
            dev_label, ino_label = dev, ino
        head = f"{rng} {perms} {offset} {dev_label} {ino_label}"
        name = rest.lstrip(" ")
        if not name:
            out.append(head + rest)  # unnamed: the trailing whitespace verbatim
            continue
        column = len(line) - len(name)
        if name.startswith(prefix):
            name = "$DIR/" + name[len(prefix) :]
        if column > len(head):
            out.append(head + " " * (column - len(head)) + name)
        else:
            out.append(f"{head} <name at column {column}> {name}")
    return out


@dataclass(frozen=True)
class Mismatch:
    index: int
    op: Op
    kernel: Step
    sim: Step
    kernel_result: str
    sim_result: str
    kernel_maps: list[str]
    sim_maps: list[str]
    kernel_before: list[str]


def first_mismatch(
    trace: Trace,
    kernel: list[Step],
    kernel_dir: str,
    sim: list[Step],
    sim_dir: str,
) -> Mismatch | None:
    """The first operation whose normalised result or arena maps differ, if any."""
    before: list[str] = []
    for i, op in enumerate(trace.ops):
        k = kernel[i] if i < len(kernel) else Step("! <no kernel output>", ())
        s = sim[i] if i < len(sim) else Step("! <no simulator output>", ())
        kr = normalise_result(op, k.result, trace)
        sr = normalise_result(op, s.result, trace)
        km = normalise_maps(k.maps, kernel_dir)
        sm = normalise_maps(s.maps, sim_dir)
        if kr != sr or km != sm:
            return Mismatch(i, op, k, s, kr, sr, km, sm, before)
        before = km
    return None


def format_mismatch(
    mismatch: Mismatch, trace: Trace, seed: int | None = None, rerun: str | None = None
) -> str:
    """A readable report: where, what, both results and both arena maps, a diff."""
    m = mismatch
    who = f"seed {seed}, " if seed is not None else ""
    out = [
        f"kernel/simulator mismatch: {who}op #{m.index} of {len(trace.ops)}",
        f"  op:         {m.op}",
        f"  kernel:     {m.kernel.result}"
        + (f"   (compared as {m.kernel_result})" if m.kernel_result != m.kernel.result else ""),
        f"  simulator:  {m.sim.result}"
        + (f"   (compared as {m.sim_result})" if m.sim_result != m.sim.result else ""),
    ]
    if m.kernel_result == m.sim_result:
        out.append("  results agree; the arena maps differ")
    out.append("previous ops:")
    for j in range(max(0, m.index - 6), m.index):
        out.append(f"  #{j} {trace.ops[j]}")
    out.append("arena maps before the op (both agreed):")
    out += [f"  {line}" for line in m.kernel_before] or ["  (empty)"]
    out.append("arena maps after the op, kernel (normalised):")
    out += [f"  {line}" for line in m.kernel_maps] or ["  (empty)"]
    out.append("arena maps after the op, simulator (normalised):")
    out += [f"  {line}" for line in m.sim_maps] or ["  (empty)"]
    if m.kernel_maps != m.sim_maps:
        out.append("diff (-kernel +simulator):")
        out += [
            f"  {line}"
            for line in difflib.unified_diff(
                m.kernel_maps, m.sim_maps, "kernel", "simulator", n=1, lineterm=""
            )
        ]
    if rerun:
        out.append(f"re-run: {rerun}")
    return "\n".join(out)
