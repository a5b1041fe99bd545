"""``execve(2)``: a process's address space replaced by a program's (fs/exec.c).

Design note
===========
:func:`do_execve` follows ``do_execveat_common`` → ``bprm_execve`` → ``exec_binprm``:

1. ``open_exec`` of the path on the machine running the simulator (symlinks resolved,
   as ``d_path`` will print them): ``ENOENT``/``ENOTDIR``/``ELOOP``/``ENAMETOOLONG``
   from the lookup, ``EACCES`` for anything but an executable regular file. The one
   path that is the simulated machine's own: ``/proc/self/exe`` (``thread-self``, a
   simulated pid), procfs's magic link to the program a process runs (its
   ``mm->exe_file``, :func:`proc_exe_target`), which Chromium, runc and Go's reexec
   execute to start a copy of themselves. The file name on the stack and the new
   ``comm`` ("exe") stay the path given, as on Linux.
2. The strings go to the top of the future stack, as ``copy_string_kernel`` and
   ``copy_strings`` put them there: the file name (``AT_EXECFN``), the environment and
   the arguments, last to first, each with its NUL, below ``STACK_TOP - 8``. Their
   total is bounded by a quarter of ``RLIMIT_STACK`` (``bprm_stack_limits``, ``E2BIG``)
   and each by ``MAX_ARG_STRLEN``. An empty argv gains an empty ``argv[0]``.
3. The binary handlers: a ``#!`` script (:mod:`core.binfmt_script`) rewrites argv
   (``argv[0]`` removed, then the script path, the optional argument and the
   interpreter pushed) and restarts the search with the interpreter, at most 5 levels
   deep (``ELOOP``); an ELF file goes to :func:`core.binfmt_elf.load_elf_binary`;
   anything else is ``ENOEXEC``.
4. ``begin_new_exec`` is the point of no return: the process gets a new
   :class:`~core.mm.Mm` (the old one is torn down by ``exit_mmap``) and its ``comm``
   becomes the file name's last component. ``setup_new_exec`` picks ``mmap_base``;
   ``setup_arg_pages`` turns the strings' pages into the ``[stack]`` VMA at the
   (randomised) stack top, with 128 KiB more below them (``stack_expand``);
   ``create_elf_tables`` pushes the platform string, 16 random bytes, ``auxv``,
   ``envp``, ``argv`` and ``argc`` and sets ``start_stack`` to that stack pointer. The
   stack pages it wrote are faulted in, as the kernel's writes fault them in.

The stack's size depends on the bytes of the strings, so the same program with another
environment can have one more stack page: callers that compare with a real process
must pass the environment it had (``tests/core/test_exec_oracle.py`` does).

Simplified: no credentials, ``O_CLOEXEC`` or signal state (the fd table is kept
whole); paths are absolute (the simulated process has no working directory; a
relative ``#!`` interpreter is looked up from ``/``); binfmt_misc handlers are not
consulted.
"""

from __future__ import annotations

import os
import random
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .constants import (
    E2BIG,
    EACCES,
    EFAULT,
    ELOOP,
    ENAMETOOLONG,
    ENOENT,
    ENOEXEC,
    ENOMEM,
    MMAP_MIN_ADDR,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    RLIMIT_STACK_DEFAULT,
    STACK_TOP,
    VM_EXEC,
    VM_STACK_DEFAULT_FLAGS,
)
from .errors import InvalidArgument, NoSuchProcess, SyscallError
from .files import OpenFile

if TYPE_CHECKING:
    from .mm import Mm
    from .process import Process

MAX_ARG_STRLEN = 32 * PAGE_SIZE  # include/uapi/linux/binfmts.h
MAX_ARG_STRINGS = 0x7FFFFFFF
ARG_MAX = 32 * PAGE_SIZE  # the 32 pages of strings always allowed (bprm_stack_limits)
STK_LIM = 8 << 20  # _STK_LIM
PATH_MAX = 4096
STACK_EXPAND = 131072  # setup_arg_pages(): 128 KiB of stack below the strings
MAX_BINFMT_DEPTH = 5  # exec_binprm(): interpreter rewrites before ELOOP
ELF_PLATFORM = b"x86_64"  # AT_PLATFORM string (arch/x86/include/asm/elf.h)
AT_RANDOM_BYTES = 16
#: auxv entries create_elf_tables writes on x86-64 6.18, AT_NULL included: AT_SYSINFO_EHDR
#: and AT_MINSIGSTKSZ (ARCH_DLINFO), AT_HWCAP ... AT_RANDOM (15), AT_HWCAP2, AT_EXECFN,
#: AT_PLATFORM, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN, AT_NULL.
AUXV_ENTRIES = 23
POINTER = 8


@dataclass(frozen=True)
class ExecFile:
    """A file ``open_exec`` accepted: the path given, the path maps prints (symlinks
    resolved), its device and inode, size, and first bytes (``bprm->buf``)."""

    path: str
    real: str
    dev: tuple[int, int]
    ino: int
    size: int
    head: bytes

    def open(self, mm: Mm) -> OpenFile:
        """The ``struct file`` the mappings share, its inode registered with the
        simulated file system under the real device and inode numbers."""
        inode = mm.fs.add_existing(self.real, self.dev, self.ino, self.size)
        inode.size = self.size
        return OpenFile(inode, True, False)


_PROC_EXE = re.compile(r"/proc/(self|thread-self|[1-9][0-9]*(?:/task/[1-9][0-9]*)?)/exe")


def proc_exe_target(proc: Process, path: str) -> str | None:
    """The executable ``/proc/<self|thread-self|pid>/exe`` names when ``proc`` opens
    it (``proc_exe_link``: the process's ``mm->exe_file``), None for any other path.
    ENOENT for a pid the machine does not have or a process that never ran a program
    (no ``exe_file``). O(1)."""
    m = _PROC_EXE.fullmatch(os.path.normpath(path))
    if m is None:
        return None
    who = m.group(1)
    target = proc
    if who not in ("self", "thread-self"):
        try:
            target = proc.kernel.get(int(who.split("/", 1)[0]))
        except NoSuchProcess:
            raise SyscallError(ENOENT, "execve", f"{path!r}: no such process") from None
    if target.image is None:
        raise SyscallError(ENOENT, "execve", f"{path!r}: the process runs no program")
    return target.image.executable


def open_exec(path: str, root: str = "/") -> ExecFile:
    """``open_exec``: look ``path`` up (relative to ``root``) and check it may be run.
    Errors as the kernel's: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES. O(1)."""
    if len(os.fsencode(path)) >= PATH_MAX:
        raise SyscallError(ENAMETOOLONG, "execve", f"path of {len(path)} bytes")
    if not path:
        raise SyscallError(ENOENT, "execve", "empty path")
    full = path if path.startswith("/") else os.path.join(root, path)
    try:
        st = os.stat(full)
        if not stat.S_ISREG(st.st_mode):
            raise SyscallError(EACCES, "execve", f"{path!r} is not a regular file")
        if not os.access(full, os.X_OK):
            raise SyscallError(EACCES, "execve", f"{path!r} is not executable")
        with open(full, "rb") as f:
            head = f.read(256)
        real = os.path.realpath(full)
    except OSError as exc:
        err = exc.errno or ENOENT
        raise SyscallError(err, "execve", f"{path!r}: {exc.strerror}") from None
    dev = (os.major(st.st_dev), os.minor(st.st_dev))
    return ExecFile(path, real, dev, st.st_ino, st.st_size, head)


class Bprm:
    """``struct linux_binprm``: the strings on the future stack and the state of the
    handler search. ``p`` is the lowest string byte so far (``bprm->p``), ``low`` the
    lowest ever written (the temporary stack VMA grew down to it).

    A plain class, not a dataclass: compiled (hatch_build.py), a dataclass builds its
    field annotations as live type objects when the module is imported, and ``Process``
    and ``Mm`` may not exist yet then (they are imported here for type checking only).
    """

    def __init__(
        self, proc: Process, filename: str, rng: random.Random | None, rlimit_stack: int
    ) -> None:
        self.proc = proc
        self.filename = filename
        self.rng = rng
        self.rlimit_stack = rlimit_stack
        self.root = "/"
        self.argv: list[bytes] = []
        self.envp: list[bytes] = []
        self.p = STACK_TOP - POINTER
        self.low = STACK_TOP - POINTER
        self.argmin = 0
        self.exec_ = 0
        self.interp = ""
        self.scripts: list[str] = []
        self.mm: Mm | None = None
        self.start_stack = 0

    def stack_limits(self, argc: int, envc: int) -> None:
        """``bprm_stack_limits``: the strings and pointers may use a quarter of the
        stack limit (at most 6 MiB, at least 128 KiB)."""
        limit = max(min(STK_LIM // 4 * 3, self.rlimit_stack // 4), ARG_MAX)
        ptr_size = (max(argc, 1) + envc) * POINTER
        if limit <= ptr_size:
            raise SyscallError(E2BIG, "execve", f"{argc} arguments and {envc} variables")
        self.argmin = self.p - (limit - ptr_size)

    def push(self, s: bytes) -> None:
        """``copy_string_kernel``: put ``s`` and its NUL below ``p``."""
        n = len(s) + 1
        if n > MAX_ARG_STRLEN:
            raise SyscallError(E2BIG, "execve", f"a string of {n} bytes exceeds MAX_ARG_STRLEN")
        self.p -= n
        if self.p < self.argmin:
            raise SyscallError(E2BIG, "execve", "the arguments and environment are too long")
        self.low = min(self.low, self.p)

    def remove_arg_zero(self) -> None:
        """``remove_arg_zero``: forget ``argv[0]`` (its bytes stay on the stack)."""
        if self.argv:
            self.p += len(self.argv.pop(0)) + 1

    def kill(self, exc: SyscallError) -> None:
        """After the point of no return a failed exec (``exc``) kills the process, as
        the kernel does with SIGSEGV (``force_fatal_sig``)."""
        proc = self.proc
        if proc.alive:
            try:
                proc.kernel.exit(proc.pid)
            except LookupError:
                pass


@dataclass(frozen=True)
class ExecImage:
    """What ``execve`` built: the file name given, the files mapped, the final argv (a
    ``#!`` chain rewrites it), the load addresses and the random seed (None: ASLR off)."""

    filename: str
    executable: str
    interpreter: str | None
    scripts: tuple[str, ...]
    argv: tuple[str, ...]
    load_bias: int
    entry: int
    interp_base: int
    stack_pointer: int
    aslr: bool
    seed: int | None


def _strings(name: str, values: object) -> list[bytes]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidArgument(f"{name} must be a list of strings")
    out = []
    for v in values:
        if not isinstance(v, str) or "\0" in v:
            raise InvalidArgument(f"{name} entries must be strings without NUL bytes: {v!r}")
        out.append(os.fsencode(v))
    if len(out) > MAX_ARG_STRINGS:
        raise SyscallError(E2BIG, "execve", f"{len(out)} {name} strings")
    return out


def environment(envp: Sequence[str] | Mapping[str, str] | None) -> list[str]:
    """``NAME=value`` strings from a list or a mapping (None: empty)."""
    if envp is None:
        return []
    if isinstance(envp, Mapping):
        return [f"{k}={v}" for k, v in envp.items()]
    return list(envp)


def do_execve(
    proc: Process,
    filename: str,
    argv: Sequence[str] | None = None,
    envp: Sequence[str] | Mapping[str, str] | None = None,
    *,
    aslr: bool = False,
    seed: int | None = None,
    rlimit_stack: int = RLIMIT_STACK_DEFAULT,
) -> ExecImage:
    """Replace ``proc``'s address space by the program at ``filename`` (an absolute
    path on this machine) run with ``argv`` and ``envp``. ``aslr`` randomises the
    layout from ``seed`` (a random seed when None; the image reports it). Raises
    ``SyscallError`` with the kernel's errno; a failure before the point of no return
    leaves ``proc`` unchanged, one after it has ended ``proc``. O(segments log n +
    string bytes)."""
    if not isinstance(filename, str) or "\0" in filename:
        raise InvalidArgument(f"path {filename!r} must be a string without NUL bytes")
    if filename and not filename.startswith("/"):
        raise InvalidArgument(f"path {filename!r} must be absolute")
    if not isinstance(rlimit_stack, int) or rlimit_stack < PAGE_SIZE * 4:
        raise InvalidArgument(f"rlimit_stack {rlimit_stack!r} must be at least 16 KiB")
    args = _strings("argv", [] if argv is None else argv)
    env = _strings("envp", environment(envp))
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise InvalidArgument(f"seed {seed!r} must be an integer")
    if aslr and seed is None:
        seed = int.from_bytes(os.urandom(8), "little")
    rng = random.Random(seed) if aslr else None

    file = open_exec(proc_exe_target(proc, filename) or filename)
    bprm = Bprm(proc, filename, rng, rlimit_stack)
    bprm.stack_limits(len(args), len(env))
    bprm.push(os.fsencode(filename))
    bprm.exec_ = bprm.p
    for s in reversed(env):
        bprm.push(s)
    for s in reversed(args):
        bprm.push(s)
    if not args:
        bprm.push(b"")
        args = [b""]
    bprm.argv, bprm.envp = args, env
    bprm.interp = filename

    from .binfmt_elf import ELF_MAGIC, load_elf_binary
    from .binfmt_script import is_script, parse_shebang

    for _depth in range(MAX_BINFMT_DEPTH + 1):
        if file.head[:4] == ELF_MAGIC:
            loaded = load_elf_binary(bprm, file)
            return ExecImage(
                filename,
                file.real,
                loaded.interpreter,
                tuple(bprm.scripts),
                tuple(os.fsdecode(a) for a in bprm.argv),
                loaded.load_bias,
                loaded.entry,
                loaded.interp_base,
                bprm.start_stack,
                aslr,
                seed if aslr else None,
            )
        if not is_script(file.head):
            raise SyscallError(ENOEXEC, "execve", f"{file.path!r} is neither ELF nor a #! script")
        i_name, i_arg = parse_shebang(file.head)
        bprm.scripts.append(file.real)
        bprm.remove_arg_zero()
        pushed = [os.fsencode(bprm.interp)]
        if i_arg is not None:
            pushed.insert(0, i_arg)
        pushed.insert(0, i_name)
        for s in reversed(pushed):
            bprm.push(s)
        bprm.argv[:0] = pushed
        bprm.interp = os.fsdecode(i_name)
        file = open_exec(bprm.interp)
    raise SyscallError(ELOOP, "execve", f"more than {MAX_BINFMT_DEPTH} #! interpreters")


# -- the point of no return and after (called from load_elf_binary) ------------------------


def begin_new_exec(bprm: Bprm) -> Mm:
    """``begin_new_exec`` + ``exec_mmap``: the process gets a new, empty address space
    (its layout generation continues from the old one's, so a watcher sees a change)
    and the old one is torn down; ``comm`` becomes the file name's last component."""
    from .mm import Mm

    proc = bprm.proc
    old = proc.mm
    mm = Mm(proc.kernel)
    mm.fd_table = proc.files
    mm.generation = old.generation + 1
    mm.start_brk = mm.cur_brk = 0
    proc.mm = mm
    old.exit_mmap()
    name = os.path.basename(bprm.filename)[:15]
    if name:
        proc.name = name
    bprm.mm = mm
    return mm


def setup_new_exec(bprm: Bprm, mm: Mm) -> None:
    """``setup_new_exec``: ``arch_pick_mmap_layout`` for the new mm."""
    from .x86_layout import arch_pick_mmap_layout

    arch_pick_mmap_layout(mm, bprm.rng, bprm.rlimit_stack)


def setup_arg_pages(bprm: Bprm, mm: Mm, stack_top: int, executable_stack: int) -> None:
    """``setup_arg_pages``: the ``[stack]`` VMA, holding the strings' pages moved to
    ``stack_top`` plus :data:`STACK_EXPAND` below them (within ``RLIMIT_STACK``)."""
    from .binfmt_elf import EXSTACK_DISABLE_X, EXSTACK_ENABLE_X
    from .vma import Vma
    from .vma_ops import store_new
    from .x86_layout import arch_align_stack

    stack_top = (arch_align_stack(stack_top, bprm.rng) + PAGE_SIZE - 1) & PAGE_MASK
    vm_end = STACK_TOP
    vm_start = min(vm_end - PAGE_SIZE, bprm.low & PAGE_MASK)
    if stack_top < MMAP_MIN_ADDR or vm_end - vm_start >= stack_top - MMAP_MIN_ADDR:
        raise SyscallError(ENOMEM, "execve", "no room for the stack")
    shift = vm_end - stack_top
    bprm.p -= shift
    bprm.low -= shift
    bprm.exec_ -= shift
    mm.arg_start = bprm.p
    flags = VM_STACK_DEFAULT_FLAGS | mm.def_flags
    if executable_stack == EXSTACK_ENABLE_X:
        flags |= VM_EXEC
    elif executable_stack == EXSTACK_DISABLE_X:
        flags &= ~VM_EXEC
    end = vm_end - shift
    stack_size = vm_end - vm_start
    expand = min(bprm.rlimit_stack & PAGE_MASK, stack_size + STACK_EXPAND)
    start = min(end - expand, vm_start - shift)
    with mm._write_locked("execve"):
        vma = Vma.new(mm, start, end, flags, start >> PAGE_SHIFT)
        store_new(mm, vma)
        mm.vm_stat_account(flags, (end - start) >> PAGE_SHIFT)
    mm.start_stack = bprm.p


def create_elf_tables(bprm: Bprm, mm: Mm) -> None:
    """``create_elf_tables``: the initial stack frame below the strings (platform
    string, AT_RANDOM bytes, auxv, envp, argv, argc); sets ``start_stack`` and the
    ``arg_*``/``env_*`` bounds, grows the stack if the frame reaches below it
    (``find_extend_vma``) and faults in the pages written."""
    from .x86_layout import arch_align_stack

    p = arch_align_stack(bprm.p, bprm.rng)
    p -= len(ELF_PLATFORM) + 1
    p -= AT_RANDOM_BYTES
    ei_index = AUXV_ENTRIES * 2
    sp = p - ei_index * POINTER
    items = (len(bprm.argv) + 1) + (len(bprm.envp) + 1) + 1
    sp = (sp - items * POINTER) & ~15
    stack = mm.find_vma(sp)
    if stack is None:
        raise SyscallError(EFAULT, "execve", "the initial stack frame is outside the stack")
    # A frame reaching below the stack VMA grows it (find_extend_vma): the write fault
    # of its lowest page below does exactly that (expand_stack, within RLIMIT_STACK).
    mm.start_stack = bprm.start_stack = sp
    mm.arg_end = mm.env_start = mm.arg_start + sum(len(a) + 1 for a in bprm.argv)
    mm.env_end = mm.env_start + sum(len(e) + 1 for e in bprm.envp)
    top = stack.vm_end
    for addr in range(sp & PAGE_MASK, top, PAGE_SIZE):
        result = mm.fault(addr, "write")
        if result.si_code is not None:
            raise SyscallError(EFAULT, "execve", f"stack page {addr:#x}: {result.outcome}")
