"""ELF executables: the image ``execve`` builds before the first instruction
(fs/binfmt_elf.c ``load_elf_binary``, ``load_elf_interp``, ``elf_load``, ``elf_map``,
``create_elf_tables``; 6.18).

Design note
===========
The program headers come from the real file on the machine running the simulator, read
with pyelftools (only the ELF header and the program header table are parsed; nothing
is executed). Each ``PT_LOAD`` becomes what ``elf_load`` makes of it, through the
engine's own ``do_mmap``/``do_munmap``/``brk`` paths, so merges, accounting and
address choice are the simulator's ordinary ones:

* ``elf_map``: a private file mapping from ``ELF_PAGESTART(p_vaddr)`` of
  ``ELF_PAGEALIGN(p_filesz + ELF_PAGEOFFSET(p_vaddr))`` bytes at file offset
  ``p_offset - ELF_PAGEOFFSET(p_vaddr)``; the first segment of a relocatable image maps
  the whole image (``total_mapping_size``) to reserve its range and unmaps the rest.
* bss: the tail of the last file page is zeroed (``padzero``: a write fault, so that page
  becomes an anonymous copy, when the segment is writable) and whole pages past it come
  from ``vm_brk_flags``, an anonymous VMA.
* where the image goes: ``ET_EXEC`` at its addresses (``MAP_FIXED_NOREPLACE``); a PIE
  (``ET_DYN`` with ``PT_INTERP``) at ``ELF_ET_DYN_BASE`` (plus ``arch_mmap_rnd()`` with
  ASLR) aligned down to the largest power-of-two ``p_align``; an ``ET_DYN`` without
  interpreter (static PIE, or ``ld.so`` run directly) wherever the top-down mmap search
  puts it, realigned when ``p_align`` exceeds a page, with its break moved to
  ``ELF_ET_DYN_BASE``. The interpreter is mapped like the first case of a relocatable
  image: top-down, below ``mmap_base``.
* ``start_code``/``end_code`` span the ``PF_X`` segments' file bytes, ``start_data``/
  ``end_data`` the last segment's, and ``start_brk = brk = ELF_PAGEALIGN(end of the
  highest p_memsz)`` (one page further and randomised within 1 GiB with ASLR).

Errors are the kernel's: ``ENOEXEC`` for what is not a loadable x86-64 ELF file (bad
magic, type, machine, program header table, ``PT_INTERP``), ``ELIBBAD`` for an
interpreter that is not one. 32-bit (ia32) programs are ``ENOEXEC`` here: the
simulator has no compat layer (docs/kernel-differences.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from .constants import (
    EINVAL,
    EIO,
    ELF_ET_DYN_BASE,
    ELIBBAD,
    ENOEXEC,
    ENOMEM,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    STACK_TOP,
    TASK_SIZE,
    U64,
    VM_EXEC,
)
from .errors import SyscallError

if TYPE_CHECKING:
    from .exec import Bprm, ExecFile
    from .files import OpenFile
    from .mm import Mm

ELF_MAGIC = b"\x7fELF"
ET_EXEC = 2
ET_DYN = 3
EM_X86_64 = 62
ELFCLASS64 = 2
PT_LOAD = 1
PT_INTERP = 3
PT_GNU_STACK = 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
PHDR_SIZE = 56  # sizeof(struct elf64_phdr)
ELF_HEADER_SIZE = 64  # sizeof(struct elf64_hdr)
PATH_MAX = 4096
# Stack executability requested by PT_GNU_STACK (include/linux/binfmts.h).
EXSTACK_DEFAULT, EXSTACK_DISABLE_X, EXSTACK_ENABLE_X = 0, 1, 2


def elf_pagestart(v: int) -> int:
    return v & PAGE_MASK


def elf_pageoffset(v: int) -> int:
    return v & (PAGE_SIZE - 1)


def elf_pagealign(v: int) -> int:
    return (v + PAGE_SIZE - 1) & PAGE_MASK


def bad_addr(x: int) -> bool:
    """``BAD_ADDR``: an address (or error value) at or above ``TASK_SIZE``."""
    return x % U64 >= TASK_SIZE


@dataclass(frozen=True)
class Phdr:
    """One program header (``struct elf64_phdr``)."""

    p_type: int
    p_flags: int
    p_offset: int
    p_vaddr: int
    p_filesz: int
    p_memsz: int
    p_align: int

    @property
    def prot(self) -> int:
        """``make_prot``: PF_R/PF_W/PF_X as PROT_* (x86 adjusts nothing)."""
        return (
            (PROT_READ if self.p_flags & PF_R else 0)
            | (PROT_WRITE if self.p_flags & PF_W else 0)
            | (PROT_EXEC if self.p_flags & PF_X else 0)
        )


@dataclass(frozen=True)
class ElfImage:
    """What ``execve`` reads of an ELF file: its type, entry point, program headers,
    ``PT_INTERP`` path and ``PT_GNU_STACK`` request."""

    e_type: int
    e_entry: int
    e_phoff: int
    phdrs: tuple[Phdr, ...]
    interp: str | None
    exec_stack: int

    @property
    def loads(self) -> list[Phdr]:
        return [p for p in self.phdrs if p.p_type == PT_LOAD]


def _int(value: object) -> int:
    # pyelftools gives enum names for known values and the raw int otherwise.
    return value if isinstance(value, int) else -1


def read_elf(stream: BinaryIO, what: str, err: int = ENOEXEC) -> ElfImage:
    """Parse the ELF header and program headers of ``stream`` with the kernel's checks
    (``load_elf_binary``'s consistency checks and ``load_elf_phdrs``); ``err``
    (``ENOEXEC``, or ``ELIBBAD`` for an interpreter) names what is wrong. O(e_phnum)."""
    from elftools.common.exceptions import ELFError
    from elftools.common.utils import struct_parse
    from elftools.elf.elffile import ELFFile

    def fail(detail: str) -> SyscallError:
        return SyscallError(err, "execve", f"{what}: {detail}")

    stream.seek(0)
    head = stream.read(ELF_HEADER_SIZE)
    if err == ELIBBAD and len(head) < ELF_HEADER_SIZE:
        # load_elf_binary reads the interpreter's whole ELF header first: short is EIO.
        raise SyscallError(EIO, "execve", f"{what}: shorter than an ELF header")
    if head[:4] != ELF_MAGIC:
        raise fail("not an ELF file")
    try:
        elf = ELFFile(stream)
        header = elf.header
        e_type = {"ET_EXEC": ET_EXEC, "ET_DYN": ET_DYN}.get(str(header["e_type"]), 0)
        if not e_type:
            raise fail(f"ELF type {header['e_type']} is neither ET_EXEC nor ET_DYN")
        if elf.elfclass != 64 or header["e_machine"] != "EM_X86_64":
            raise fail(
                f"{elf.elfclass}-bit {header['e_machine']} code is not x86-64 "
                "(ia32 programs are not simulated)"
            )
        phnum = header["e_phnum"]
        if header["e_phentsize"] != PHDR_SIZE:
            raise fail(f"e_phentsize {header['e_phentsize']} is not {PHDR_SIZE}")
        if phnum == 0 or phnum * PHDR_SIZE > PAGE_SIZE:
            raise fail(f"{phnum} program headers do not fit the kernel's one-page limit")
        size = os.fstat(stream.fileno()).st_size
        if header["e_phoff"] + phnum * PHDR_SIZE > size:
            raise fail("the program header table lies past the end of the file")
        phdrs = []
        interp: str | None = None
        exec_stack = EXSTACK_DEFAULT
        # The program headers only, as load_elf_phdrs reads them (iter_segments would
        # also decode segment contents: the dynamic section, notes).
        for i in range(phnum):
            h = struct_parse(elf.structs.Elf_Phdr, stream, header["e_phoff"] + i * PHDR_SIZE)
            p_type = {"PT_LOAD": PT_LOAD, "PT_INTERP": PT_INTERP}.get(
                str(h["p_type"]), _int(h["p_type"])
            )
            if str(h["p_type"]) == "PT_GNU_STACK":
                p_type = PT_GNU_STACK
            phdr = Phdr(
                p_type,
                h["p_flags"],
                h["p_offset"],
                h["p_vaddr"],
                h["p_filesz"],
                h["p_memsz"],
                h["p_align"],
            )
            phdrs.append(phdr)
            if p_type == PT_INTERP and interp is None:
                interp = _interp_path(stream, phdr, fail)
            elif p_type == PT_GNU_STACK:
                exec_stack = EXSTACK_ENABLE_X if phdr.p_flags & PF_X else EXSTACK_DISABLE_X
    except ELFError as exc:
        raise fail(f"unreadable ELF headers ({exc})") from None
    return ElfImage(e_type, header["e_entry"], header["e_phoff"], tuple(phdrs), interp, exec_stack)


def _interp_path(stream: BinaryIO, phdr: Phdr, fail: Callable[[str], SyscallError]) -> str:
    if phdr.p_filesz > PATH_MAX or phdr.p_filesz < 2:
        raise fail(f"PT_INTERP of {phdr.p_filesz} bytes")
    stream.seek(phdr.p_offset)
    raw = stream.read(phdr.p_filesz)
    if len(raw) != phdr.p_filesz or raw[-1:] != b"\0":
        raise fail("PT_INTERP is not a NUL-terminated path")
    return os.fsdecode(raw[: raw.index(b"\0")])


def total_mapping_size(loads: list[Phdr]) -> int:
    """``total_mapping_size``: from the first PT_LOAD's page to the end of the last."""
    if not loads:
        return 0
    low = min(elf_pagestart(p.p_vaddr) for p in loads)
    high = max(p.p_vaddr + p.p_memsz for p in loads)
    return high - low


def maximum_alignment(loads: list[Phdr]) -> int:
    """``maximum_alignment``: the largest power-of-two ``p_align``, page aligned."""
    alignment = 0
    for p in loads:
        a = p.p_align
        if a and not a & (a - 1):
            alignment = max(alignment, a)
    return elf_pagealign(alignment)


class Loader:
    """The mapping primitives ``load_elf_binary`` uses, each taking ``mmap_lock`` for
    write like ``vm_mmap``/``vm_munmap``/``vm_brk_flags``; their failures become
    ``execve`` errors."""

    def __init__(self, mm: Mm) -> None:
        self.mm = mm

    def _fail(self, exc: SyscallError, what: str) -> SyscallError:
        return SyscallError(exc.errno, "execve", f"{what}: {exc.detail}")

    def vm_mmap(
        self, file: OpenFile, addr: int, length: int, prot: int, flags: int, off: int
    ) -> int:
        from .mmap import do_mmap

        addr %= U64
        if off & ~PAGE_MASK:
            raise SyscallError(EINVAL, "execve", f"segment offset {off:#x} is not page aligned")
        try:
            with self.mm._write_locked("execve"):
                return do_mmap(self.mm, file, addr, length, prot, flags, off >> PAGE_SHIFT)
        except SyscallError as exc:
            raise self._fail(exc, f"mapping {length:#x} bytes at {addr:#x}") from None

    def vm_munmap(self, start: int, length: int) -> None:
        if length <= 0:
            return
        with self.mm._write_locked("execve"):
            self.mm.do_munmap(start, length)

    def vm_brk_flags(self, addr: int, length: int, exec_: bool) -> None:
        """``vm_brk_flags``: anonymous memory at exactly ``[addr, addr+length)``, merged
        into an anonymous VMA ending at ``addr`` when the rules allow."""
        length = elf_pagealign(length)
        if not length:
            return
        mm = self.mm
        try:
            with mm._write_locked("execve"):
                mm.do_munmap(addr, length)
                prev = mm._prev_vma(addr)
                mm._do_brk_flags(prev, addr, length, VM_EXEC if exec_ else 0)
        except SyscallError as exc:
            raise self._fail(exc, f"bss at {addr:#x}") from None

    def padzero(self, address: int, writable: bool) -> None:
        """``padzero``: clear the rest of the page at ``address`` (a write fault: the
        page becomes this process's copy). A read-only segment's failure is ignored,
        as ``elf_load`` ignores it."""
        if elf_pageoffset(address) and writable:
            self.mm.fault(address, "write")

    def elf_map(
        self, file: OpenFile, addr: int, p: Phdr, prot: int, flags: int, total_size: int
    ) -> int:
        """``elf_map``: map the file bytes of ``p`` at ``addr`` (page-rounded);
        ``total_size`` reserves the whole image first and unmaps what is past ``p``."""
        size = elf_pagealign(p.p_filesz + elf_pageoffset(p.p_vaddr))
        off = p.p_offset - elf_pageoffset(p.p_vaddr)
        addr = elf_pagestart(addr % U64)
        if not size:
            return addr
        if total_size:
            total_size = elf_pagealign(total_size)
            map_addr = self.vm_mmap(file, addr, total_size, prot, flags, off)
            self.vm_munmap(map_addr + size, total_size - size)
            return map_addr
        return self.vm_mmap(file, addr, size, prot, flags, off)

    def elf_load(
        self, file: OpenFile, addr: int, p: Phdr, prot: int, flags: int, total_size: int
    ) -> int:
        """``elf_load``: ``elf_map`` plus the segment's bss (``padzero`` of the last file
        page, ``vm_brk_flags`` for the pages past it)."""
        if p.p_filesz:
            map_addr = self.elf_map(file, addr, p, prot, flags, total_size)
            zero_start = map_addr + elf_pageoffset(p.p_vaddr) + p.p_filesz
            zero_end = map_addr + elf_pageoffset(p.p_vaddr) + p.p_memsz
            if p.p_memsz > p.p_filesz:
                self.padzero(zero_start, bool(prot & PROT_WRITE))
        else:
            map_addr = zero_start = elf_pagestart(addr % U64)
            zero_end = zero_start + elf_pageoffset(p.p_vaddr) + p.p_memsz
        if p.p_memsz > p.p_filesz:
            zero_start = elf_pagealign(zero_start)
            zero_end = elf_pagealign(zero_end)
            self.vm_brk_flags(zero_start, zero_end - zero_start, bool(prot & PROT_EXEC))
        return map_addr


def _check_segment(k: int, p: Phdr, err: int) -> None:
    # "Check to see if the section's size will overflow the allowed task size."
    if bad_addr(k) or p.p_filesz > p.p_memsz or p.p_memsz > TASK_SIZE or TASK_SIZE - p.p_memsz < k:
        raise SyscallError(err, "execve", f"segment at {p.p_vaddr:#x} does not fit user space")


def load_elf_interp(loader: Loader, interp: ElfImage, file: OpenFile, no_base: int) -> int:
    """``load_elf_interp``: map the interpreter; returns its load address (AT_BASE).
    ``no_base`` is the program's load bias."""
    loads = interp.loads
    total_size = total_mapping_size(loads)
    if not total_size:
        raise SyscallError(EINVAL, "execve", "the interpreter has no PT_LOAD segment")
    load_addr = 0
    load_addr_set = False
    for p in loads:
        elf_type = MAP_PRIVATE
        vaddr = p.p_vaddr
        if interp.e_type == ET_EXEC or load_addr_set:
            elf_type |= MAP_FIXED
        elif no_base and interp.e_type == ET_DYN:
            load_addr = -vaddr % U64
        map_addr = loader.elf_load(file, load_addr + vaddr, p, p.prot, elf_type, total_size)
        total_size = 0
        if not load_addr_set and interp.e_type == ET_DYN:
            load_addr = (map_addr - elf_pagestart(vaddr)) % U64
            load_addr_set = True
        _check_segment((load_addr + p.p_vaddr) % U64, p, ENOMEM)
    return load_addr


@dataclass(frozen=True)
class LoadedElf:
    """What ``load_elf_binary`` decided: the program's load bias and entry, the
    interpreter's base, and the mm fields it set."""

    load_bias: int
    entry: int
    interp_base: int
    phdr_addr: int
    interpreter: str | None


def load_elf_binary(bprm: Bprm, exe: ExecFile) -> LoadedElf:
    """``load_elf_binary``: check the program (and its interpreter) before the point of
    no return, then build the new address space in ``bprm.proc`` (``begin_new_exec``,
    stack, segments, interpreter, vDSO, break, initial stack frame). Errors before the
    point of no return leave the process unchanged; after it the process is killed,
    as the kernel kills it with SIGSEGV. O(segments log n)."""
    from .exec import (
        begin_new_exec,
        create_elf_tables,
        open_exec,
        setup_arg_pages,
        setup_new_exec,
    )
    from .x86_layout import arch_mmap_rnd, arch_randomize_brk, map_vdso, randomize_stack_top

    with open(exe.real, "rb") as stream:
        elf = read_elf(stream, exe.real)
    interp_file: ExecFile | None = None
    interp: ElfImage | None = None
    if elf.interp is not None:
        interp_file = open_exec(elf.interp, bprm.root)
        with open(interp_file.real, "rb") as stream:
            interp = read_elf(stream, f"interpreter {interp_file.real}", ELIBBAD)

    # -- the point of no return -------------------------------------------------------
    mm = begin_new_exec(bprm)
    try:
        setup_new_exec(bprm, mm)
        setup_arg_pages(bprm, mm, randomize_stack_top(STACK_TOP, bprm.rng), elf.exec_stack)
        loader = Loader(mm)
        file = exe.open(mm)
        rng = bprm.rng
        loads = elf.loads
        load_bias = 0
        first = True
        elf_brk = 0
        start_code, end_code, start_data, end_data = U64 - 1, 0, 0, 0
        phdr_addr = 0
        for p in loads:
            elf_flags = MAP_PRIVATE
            vaddr = p.p_vaddr
            total_size = 0
            if not first:
                elf_flags |= MAP_FIXED
            elif elf.e_type == ET_EXEC:
                elf_flags |= MAP_FIXED_NOREPLACE
            else:  # ET_DYN: choose the load bias once, for every segment
                total_size = total_mapping_size(loads)
                alignment = maximum_alignment(loads)
                if interp is not None:
                    load_bias = ELF_ET_DYN_BASE + arch_mmap_rnd(rng)
                    if alignment:
                        load_bias &= ~(alignment - 1)
                    elf_flags |= MAP_FIXED_NOREPLACE
                elif alignment > PAGE_SIZE:
                    load_bias = loader.elf_load(file, 0, p, p.prot, elf_flags, total_size)
                    loader.vm_munmap(load_bias, elf_pagealign(total_size))
                    load_bias &= ~(alignment - 1)
                    elf_flags |= MAP_FIXED_NOREPLACE
                else:
                    load_bias = 0
                load_bias = elf_pagestart((load_bias - vaddr) % U64)
            mapped = loader.elf_load(file, load_bias + vaddr, p, p.prot, elf_flags, total_size)
            if first:
                first = False
                if elf.e_type == ET_DYN:
                    load_bias = (load_bias + mapped - elf_pagestart(load_bias + vaddr)) % U64
            if p.p_offset <= elf.e_phoff < p.p_offset + p.p_filesz:
                phdr_addr = elf.e_phoff - p.p_offset + p.p_vaddr
            k = p.p_vaddr
            if p.p_flags & PF_X and k < start_code:
                start_code = k
            start_data = max(start_data, k)
            _check_segment(k, p, EINVAL)
            k = p.p_vaddr + p.p_filesz
            if p.p_flags & PF_X and end_code < k:
                end_code = k
            end_data = max(end_data, k)
            elf_brk = max(elf_brk, p.p_vaddr + p.p_memsz)
        entry = (elf.e_entry + load_bias) % U64
        interp_base = 0
        if interp is not None and interp_file is not None:
            interp_opened = interp_file.open(mm)
            interp_base = load_elf_interp(loader, interp, interp_opened, load_bias)
            interp_opened.put()  # the mappings keep their own references
        file.put()
        with mm._write_locked("execve"):
            map_vdso(mm)
        mm.start_code = (start_code + load_bias) % U64
        mm.end_code = (end_code + load_bias) % U64
        mm.start_data = (start_data + load_bias) % U64
        mm.end_data = (end_data + load_bias) % U64
        elf_brk = (elf_brk + load_bias) % U64
        brk_moved = False
        if elf.e_type == ET_DYN and interp is None:
            # A loader run directly: its break goes to the unused ELF_ET_DYN_BASE area.
            elf_brk = ELF_ET_DYN_BASE
            brk_moved = True
        brk = elf_pagealign(elf_brk)
        if rng is not None:
            if not brk_moved:
                brk += PAGE_SIZE  # leave a gap between .bss and brk
            brk = arch_randomize_brk(brk, rng)
        mm.start_brk = mm.cur_brk = brk
        create_elf_tables(bprm, mm)
    except SyscallError as exc:
        bprm.kill(exc)
        raise
    interpreter = None if interp_file is None else interp_file.real
    return LoadedElf(load_bias, entry, interp_base, (phdr_addr + load_bias) % U64, interpreter)
