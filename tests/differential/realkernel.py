"""Running traces on the real kernel through the ``vmatrace`` C helper."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.differential.trace import Trace

SOURCE = Path(__file__).with_name("vmatrace.c")
MIN_KERNEL = (6, 12)
CFLAGS = ["-O2", "-Wall", "-Werror"]


@dataclass(frozen=True)
class Step:
    """The observable outcome of one operation: its result line and the arena's maps lines."""

    result: str  # "= 0x<hex>", "= 0" or "! ENAME"
    maps: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    steps: list[Step]
    filedir: str  # the directory the trace's files lived in (for normalising names)


class HelperError(RuntimeError):
    """The helper refused the trace or failed."""


def kernel_version() -> tuple[int, int] | None:
    """(major, minor) of the running kernel, or None when not on Linux."""
    if platform.system() != "Linux":
        return None
    release = platform.release()
    parts = release.split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or "0")
    except (IndexError, ValueError):
        return None


def find_compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def filesystem_type(path: str) -> str | None:
    """The type of the filesystem ``path`` is on, from /proc/self/mountinfo."""
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = f.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, best_type = -1, None
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mount_point = fields[4].replace("\\040", " ")
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best:
            best, best_type = len(mount_point), right.split()[0]
    return best_type


def unsupported_reason() -> str | None:
    """Why the differential tests cannot run here, or None when they can."""
    version = kernel_version()
    if version is None:
        return f"needs Linux (this is {platform.system()} {platform.release()})"
    if version < MIN_KERNEL:
        return (
            f"needs Linux >= {MIN_KERNEL[0]}.{MIN_KERNEL[1]} "
            f"(running {platform.release()}); older kernels map differently"
        )
    if platform.machine() not in ("x86_64", "amd64"):
        return f"needs x86-64 (this is {platform.machine()})"
    if os.sysconf("SC_PAGE_SIZE") != 4096:
        return "needs 4 KiB pages"
    if find_compiler() is None:
        return "no C compiler (cc, gcc or clang) to build the vmatrace helper"
    # The trace's files are created in the temporary directory. Some results depend
    # on the filesystem (MAP_SYNC is EOPNOTSUPP only after the MAP_FIXED target was
    # unmapped on ext4, and is accepted or refused differently on tmpfs), and the
    # simulator models ext4.
    fstype = filesystem_type(tempfile.gettempdir())
    if fstype != "ext4":
        return (
            f"the temporary directory {tempfile.gettempdir()} is on {fstype or 'an unknown'}"
            " filesystem; the simulator models files on ext4 (set TMPDIR to an ext4 directory)"
        )
    return None


def compile_helper(outdir: Path) -> Path:
    """Build ``vmatrace`` into ``outdir`` with ``cc -O2 -Wall -Werror``."""
    cc = find_compiler()
    if cc is None:
        raise HelperError("no C compiler")
    exe = outdir / "vmatrace"
    proc = subprocess.run(
        [cc, *CFLAGS, "-o", str(exe), str(SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise HelperError(f"compiling {SOURCE.name} failed:\n{proc.stdout}{proc.stderr}")
    return exe


def parse_output(text: str) -> list[Step]:
    """Split the helper's (or the simulator runner's) output into steps.

    >>> parse_output("= 0\\n.\\n! EINVAL\\na b\\n.\\n")
    [Step(result='= 0', maps=()), Step(result='! EINVAL', maps=('a b',))]
    """
    steps: list[Step] = []
    result: str | None = None
    maps: list[str] = []
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        if result is None:
            if not (line.startswith("= ") or line.startswith("! ")):
                raise HelperError(f"expected a result line, got {line!r}")
            result = line
        elif line == ".":
            steps.append(Step(result, tuple(maps)))
            result, maps = None, []
        else:
            maps.append(line)
    if result is not None:
        raise HelperError("output ends in the middle of a step")
    return steps


def run_kernel(helper: Path, trace: Trace, workdir: str | None = None) -> Run:
    """Run ``trace`` in a fresh process; its files live in a new temporary directory."""
    with tempfile.TemporaryDirectory(prefix="vmatrace-", dir=workdir) as tmp:
        filedir = os.path.join(tmp, "files")
        os.mkdir(filedir)
        proc = subprocess.run(
            [str(helper), filedir],
            input=trace.text(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode == 3:
            raise HelperError(f"the arena is not free in the helper process:\n{proc.stderr}")
        if proc.returncode != 0:
            raise HelperError(
                f"vmatrace exited with status {proc.returncode}:\n{proc.stderr}"
                f"(last output: {proc.stdout[-500:]!r})"
            )
        steps = parse_output(proc.stdout)
        if len(steps) != len(trace.ops):
            raise HelperError(f"vmatrace printed {len(steps)} steps for {len(trace.ops)} ops")
        return Run(steps, filedir)


# ----------------------------------------------------------------------------
# The host's machine settings and credentials, for the simulated side (issue 13 part B)


@dataclass(frozen=True)
class HostState:
    """What the simulated machine and process must copy from this host so that both
    sides of a trace start alike: RAM and swap (the overcommit heuristic compares with
    them), ``vm.overcommit_memory``, whether prctl(PR_SET_VMA) works
    (``CONFIG_ANON_VMA_NAME``), and the credentials vmatrace inherits from the test
    process (RLIMIT_MEMLOCK, CAP_IPC_LOCK, CAP_SYS_RESOURCE). ``None``: not known
    (not Linux); the simulator's defaults apply."""

    ram_pages: int | None = None
    swap_pages: int | None = None
    overcommit_memory: int | None = None
    anon_vma_name: bool | None = None
    rlimit_memlock: tuple[int, int] | None = None
    cap_ipc_lock: bool | None = None
    cap_sys_resource: bool | None = None


def _meminfo_pages(field: str) -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) // (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:
        return None
    return None


def _capability(bit: int) -> bool | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        return None
    return None


def _prctl_anon_name_works() -> bool | None:
    """Does prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) succeed here? (EINVAL on a kernel
    without CONFIG_ANON_VMA_NAME.) Names a page this process maps for the probe."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long)  # fmt: skip
    libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_char_p)  # fmt: skip
    addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)  # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS
    if addr is None or addr == ctypes.c_void_p(-1).value:
        return None
    try:
        return bool(libc.prctl(0x53564D41, 0, addr, 4096, b"probe") == 0)
    finally:
        libc.munmap(addr, 4096)


_HOST: HostState | None = None


def host_state() -> HostState:
    """This host's :class:`HostState`, read once per process."""
    global _HOST
    if _HOST is None:
        if platform.system() != "Linux":
            _HOST = HostState()
        else:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
            unlimited = (1 << 64) - 1

            def limit(v: int) -> int:
                return unlimited if v == resource.RLIM_INFINITY else v

            try:
                with open("/proc/sys/vm/overcommit_memory") as f:
                    overcommit: int | None = int(f.read())
            except OSError:
                overcommit = None
            _HOST = HostState(
                ram_pages=_meminfo_pages("MemTotal"),
                swap_pages=_meminfo_pages("SwapTotal"),
                overcommit_memory=overcommit,
                anon_vma_name=_prctl_anon_name_works(),
                rlimit_memlock=(limit(soft), limit(hard)),
                cap_ipc_lock=_capability(14),
                cap_sys_resource=_capability(24),
            )
    return _HOST
