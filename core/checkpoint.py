"""Saving and restoring a whole simulated machine: every process's address space.

Size: the dump and the load are two halves of one format; each field's writer sits
next to its validating reader so the format cannot drift between them.

Design note
===========
A checkpoint is one JSON document (:data:`FORMAT`, :data:`VERSION`) holding what a
restarted service needs to carry on as if nothing happened:

* the machine: ``vm.max_map_count``, the resident-page limit, the next pid and inode
  number, the machine-wide fault event counters; the memory settings (RAM, swap,
  ``vm.overcommit_*``, ``CONFIG_ANON_VMA_NAME``) and the commit charge
  (``Committed_AS``), which the load recomputes from the accounted VMAs and shmem
  objects and compares with the saved figure;
* the file system: every inode (path, device, number, size, unlinked or still named)
  with its page cache; every open file description (``struct file``) by identity, so
  two fds (or a fd and the VMAs mapping it) that shared one description still do;
* every anon_vma by identity (VMAs sharing one stay mergeable; ``forked`` kept);
* every resident page by identity: a page shared by parent and child after fork, or a
  page-cache page mapped twice, is one page again after the restore; with its folio
  flags (PG_referenced, PG_active, lazy-free, an anonymous folio's PG_dirty) and the
  LRU batches it waits in; guard markers are the reference -2 (the zero page -1);
* per process: pid, name, fd table, and the mm: each VMA (range, ``vm_flags`` with its
  lock and seal bits, ``vm_pgoff``, file, anon_vma, names, pages, and the runs of
  uniform anonymous pages as ``[start, end, "anon" | "zero", referenced, active]``: a
  2 TiB populated
  heap is a line, not half a billion entries), the
  brk/stack/mmap-base fields, ``def_flags`` (``MCL_FUTURE``), the ``vm_stat_account``
  (``locked_vm`` included) and RSS counters, fault counters, the generation, the PTE
  bits (``old_ptes``: not young; ``clean_ptes``: anonymous PTEs MADV_FREE cleaned;
  ``dirty_ptes``: shmem PTEs written without a fault), and the credentials
  (RLIMIT_MEMLOCK, capabilities).

Fields added after the first version of the format are optional on load (a state
written before them loads with their defaults: this host's; no PTE bits, folio flags
or LRU batches).

Not saved, because a restart has none of them: lock states, pause points, maps caches,
RCU callbacks, statistics of locks. Reference counts (``struct file`` refs, anon_vma
degrees, page mapcounts) are *recomputed* from the references, never trusted from the
file; the saved RSS counters are compared with the recomputed ones.

Consistency of a save (:func:`dump_kernel`): every live process's ``mmap_lock`` is
taken for read, in pid order (``fork`` takes parent then child for write, so the order
agrees with the only nested writer), then ``Kernel.page_lock`` (faults change
pages under it with only a VMA lock). With both held no VMA and no page can change; the
fd tables and the file namespace are read under their own locks.

A load (:func:`load_kernel`) is all or nothing: it validates the document field by
field (a :class:`StateError` names the first bad value with its JSON path), builds a
*new* :class:`~core.process.Kernel`, runs every ``Mm._check()`` and page-cache
``_check()`` on it, and only then returns it. A failure leaves nothing behind.

Writes are atomic (:func:`write_state`): a temporary file in the same directory,
``fsync``, ``os.replace`` over the target, ``fsync`` of the directory — a crash at any
point leaves either the previous checkpoint or the new one, never a torn file, and at
worst a temporary file, which :func:`remove_stale_temps` deletes at the next start.
``saved_at`` is the moment the state was captured (every mm locked), not the end of
the write.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .constants import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PID_MAX,
    TASK_SIZE,
    U64,
    VM_ACCOUNT,
    VM_LOCKED,
    VM_SHARED,
)
from .errors import EngineError, InvalidArgument, StateError
from .files import Inode, OpenFile
from .kernel import Kernel
from .mmap import charge_shmem, shmem_charge
from .pages import (
    FOLIO_BATCH_SIZE,
    GUARD_MARKER,
    MM_ANONPAGES,
    NR_MM_COUNTERS,
    ZERO_PAGE,
    AnonRun,
    Page,
    PageKind,
    RunGroup,
    count_at,
    group_coverage,
    is_shmem,
    page_cache,
    put_runs,
    run_pages,
)
from .process import Process
from .vma import AnonVma, Vma
from .vma_ops import store_new

if TYPE_CHECKING:
    from .mm import Mm
    from .vmstat import VmEvents

__all__ = [
    "FORMAT",
    "VERSION",
    "SaveStatistics",
    "StateError",
    "committed_by_mappings",
    "dump_kernel",
    "load_kernel",
    "load_state",
    "next_pid",
    "read_state",
    "remove_stale_temps",
    "save_state",
    "write_state",
]

FORMAT = "vmasim-state"
#: 2: VMAs carry ``runs`` (core/pages.py). A version-1 file is a version-2 file
#: without runs, and loads as one.
#: 3: a run fork shared, or a fork child's (old PTEs), has three more fields: ``old``,
#: its group (an index shared by the runs mapping the same folios, or null) and its
#: ``shift`` (core/pages.py ``RunGroup``). A version-2 file is a version-3 file whose
#: runs all have five fields.
VERSION = 3
#: The versions :func:`load_kernel` reads.
READABLE_VERSIONS = (1, 2, 3)
ZERO_PAGE_REF = -1  # a PTE mapping the shared zero page
GUARD_REF = -2  # a guard marker (MADV_GUARD_INSTALL)
#: Folio flags saved when set (core/pages.py); absent means False.
PAGE_FLAGS = ("referenced", "active", "lazyfree", "folio_dirty")

#: Integer fields of ``Mm`` saved as they are (brk, stack, layout bases, accounting).
MM_INT_FIELDS = (
    "mmap_base",
    "mmap_legacy_base",
    "start_brk",
    "cur_brk",
    "start_stack",
    "def_flags",
    "total_vm",
    "data_vm",
    "exec_vm",
    "stack_vm",
    "locked_vm",
    "hiwater_vm",
    "hiwater_rss",
    "min_flt",
    "maj_flt",
    "stack_rlimit",
    "generation",
)
MM_BOOL_FIELDS = ("cap_sys_rawio", "show_gate")
#: Booleans added with mlock/overcommit (optional on load: the defaults of ``Mm``).
MM_OPTIONAL_BOOL_FIELDS = ("cap_ipc_lock", "cap_sys_admin", "cap_sys_resource")
#: The machine settings saved (optional on load: the defaults of ``Kernel``).
KERNEL_SETTINGS = (
    "ram_pages",
    "swap_pages",
    "overcommit_memory",
    "overcommit_ratio",
    "overcommit_kbytes",
    "admin_reserve_kbytes",
    "user_reserve_kbytes",
    "config_anon_vma_name",
)
MM_OPTIONAL_INT_FIELDS = ("start_code", "end_code")  # set by some layouts only


@dataclass(frozen=True)
class SaveStatistics:
    """What one :func:`save_state` wrote: processes, VMAs, pages, bytes, seconds, and
    when the state was captured (``saved_at``, seconds since the epoch)."""

    processes: int
    vmas: int
    pages: int
    bytes: int
    seconds: float
    saved_at: float


# -- helpers ------------------------------------------------------------------------------


def _counter_value(counter: itertools.count[int]) -> int:
    """The next value an ``itertools.count`` will return, without advancing it."""
    text = repr(counter)  # "count(1005)"
    return int(text[text.index("(") + 1 : -1])


def _events_dict(events: VmEvents) -> dict[str, int]:
    stats = events.statistics()
    return {name: getattr(stats, name) for name in stats.__dataclass_fields__}


def _restore_events(events: VmEvents, values: dict[str, int]) -> None:
    """Set a :class:`~core.fault.VmEvents` to ``values`` (its counters are
    ``itertools.count`` objects: replace them, then rebuild the bound bumps)."""
    counters: dict[str, itertools.count[int]] = events._counters
    for name, value in values.items():
        counters[name] = itertools.count(value + 1)
        events._bulk[name] = 0
    events.parent = events.parent  # the setter re-binds every bump to the new counters


# -- saving -------------------------------------------------------------------------------


def dump_kernel(kernel: Kernel) -> dict[str, Any]:
    """The machine as a JSON-ready document (see the module note). Takes every live mm's
    ``mmap_lock`` for read (pid order) and ``Kernel.page_lock``; the caller holds none of them.
    O(VMAs + pages + files) time and memory."""
    procs = kernel.processes()
    with ExitStack() as stack:
        for proc in procs:
            proc.mm.mmap_lock.read_lock()
            stack.callback(proc.mm.mmap_lock.read_unlock)
        # The moment the state is captured: every mm is locked from here on.
        saved_at = time.time()
        # A process that exited between the listing and its lock has an empty mm.
        procs = [p for p in procs if p.alive]
        fds = {p.pid: p.files.items() for p in procs}
        with kernel.fs._lock:
            named = dict(kernel.fs._by_path)
            next_ino = _counter_value(kernel.fs._ino)
        with kernel.page_lock:
            return _dump_locked(kernel, procs, fds, named, next_ino, saved_at)


def _dump_locked(
    kernel: Kernel,
    procs: list[Process],
    fds: dict[int, list[tuple[int, OpenFile]]],
    named: dict[str, Inode],
    next_ino: int,
    saved_at: float,
) -> dict[str, Any]:
    inodes: dict[int, int] = {}  # id(Inode) -> index
    inode_objs: list[Inode] = []
    files: dict[int, int] = {}
    file_docs: list[dict[str, Any]] = []
    anons: dict[int, int] = {}
    anon_docs: list[dict[str, Any]] = []
    pages: dict[int, int] = {}
    page_docs: list[dict[str, Any]] = []
    groups: dict[int, int] = {}  # id(RunGroup) -> index
    group_objs: list[RunGroup] = []

    def run_doc(run: AnonRun) -> list[Any]:
        doc: list[Any] = [
            run.start,
            run.end,
            "zero" if run.zero else "anon",
            run.referenced,
            run.active,
        ]
        if run.old or run.group is not None:
            ref = None
            if run.group is not None:
                ref = groups.get(id(run.group))
                if ref is None:
                    ref = groups[id(run.group)] = len(group_objs)
                    group_objs.append(run.group)
            doc += [run.old, ref, run.shift]
        return doc

    def inode_ref(inode: Inode) -> int:
        ref = inodes.get(id(inode))
        if ref is None:
            ref = inodes[id(inode)] = len(inode_objs)
            inode_objs.append(inode)
        return ref

    def page_ref(page: Page) -> int:
        if page is ZERO_PAGE or page.kind is PageKind.ZERO:
            return ZERO_PAGE_REF
        if page.kind is PageKind.GUARD:
            return GUARD_REF
        ref = pages.get(id(page))
        if ref is None:
            ref = pages[id(page)] = len(page_docs)
            page_docs.append({"kind": page.kind.value, "dirty": bool(page.dirty)})
            if page.kind is not PageKind.ANON:
                page_docs[-1]["index"] = page.index
            for flag in PAGE_FLAGS:
                if getattr(page, flag):
                    page_docs[-1][flag] = True
            if page.mlock_count:
                page_docs[-1]["mlock_count"] = page.mlock_count
        return ref

    def file_ref(file: OpenFile) -> int:
        ref = files.get(id(file))
        if ref is None:
            ref = files[id(file)] = len(file_docs)
            file_docs.append(
                {
                    "inode": inode_ref(file.inode),
                    "readable": file.readable,
                    "writable": file.writable,
                }
            )
        return ref

    def anon_ref(anon: AnonVma) -> int:
        ref = anons.get(id(anon))
        if ref is None:
            ref = anons[id(anon)] = len(anon_docs)
            anon_docs.append({"forked": anon.forked})
        return ref

    for inode in sorted(named.values(), key=lambda i: i.ino):
        inode_ref(inode)
    proc_docs = []
    for proc in procs:
        mm = proc.mm
        vma_docs = []
        for vma in mm.vmas():
            vma_docs.append(
                {
                    "start": vma.vm_start,
                    "end": vma.vm_end,
                    "pgoff": vma.vm_pgoff,
                    "flags": vma.vm_flags,
                    "file": None if vma.vm_file is None else file_ref(vma.vm_file),
                    "anon_vma": None if vma.anon_vma is None else anon_ref(vma.anon_vma),
                    "anon_name": vma.anon_name,
                    "special_name": vma.special_name,
                    "pages": [[addr, page_ref(p)] for addr, p in sorted((vma.pages or {}).items())],
                    "runs": [run_doc(r) for r in vma.runs or ()],
                }
            )
        mm_doc: dict[str, Any] = {name: getattr(mm, name) for name in MM_INT_FIELDS}
        mm_doc.update({name: bool(getattr(mm, name)) for name in MM_BOOL_FIELDS})
        mm_doc.update({name: bool(getattr(mm, name)) for name in MM_OPTIONAL_BOOL_FIELDS})
        mm_doc["rlimit_memlock"] = list(mm.rlimit_memlock)
        for name in MM_OPTIONAL_INT_FIELDS:
            if hasattr(mm, name):
                mm_doc[name] = getattr(mm, name)
        mm_doc["rss_stat"] = list(mm.rss_stat)
        mm_doc["old_ptes"] = sorted(mm.old_ptes)
        mm_doc["clean_ptes"] = sorted(mm.clean_ptes)
        mm_doc["dirty_ptes"] = sorted(mm.dirty_ptes)
        mm_doc["vm_events"] = _events_dict(mm.vm_events)
        mm_doc["vmas"] = vma_docs
        proc_docs.append(
            {
                "pid": proc.pid,
                "name": proc.name,
                "fds": [[fd, file_ref(file)] for fd, file in fds[proc.pid]],
                "mm": mm_doc,
            }
        )
    # Every inode reached so far: record its page cache (pages by identity).
    # A run group's folios that a mapper made page objects: [group address, page].
    group_docs = [
        [[g, page_ref(page)] for g, page in sorted(group.folios.items())] for group in group_objs
    ]
    inode_docs = []
    for inode in inode_objs:
        cache = inode.__dict__.get("_page_cache")
        inode_docs.append(
            {
                "path": inode.path,
                "ino": inode.ino,
                "dev": list(inode.dev),
                "size": inode.size,
                "unlinked": inode.unlinked,
                "named": named.get(inode.path) is inode,
                "cache": []
                if cache is None
                else [[index, page_ref(page)] for index, page in sorted(cache.pages.items())],
                "commit_pages": shmem_charge(inode),
            }
        )
    # The LRU batches: only folios still mapped or cached matter (any other is freed
    # when its batch drains, whatever its flags).
    lru: dict[str, list[Any]] = {
        name: [pages[id(p)] for p in getattr(kernel.lru, name) if id(p) in pages]
        for name in ("lazyfree", "deactivate")
    }
    # The mlock batch: every entry counts towards the 31 that drain it. An entry is
    # [page, pid]: a munlock names the pid whose events count it (0: an exited
    # process's, the machine's only; null for an mlock entry). A folio no longer mapped
    # or cached (munmap queues those) is -1, with its mlock count as a third element.
    event_pids = {id(proc.mm.vm_events): proc.pid for proc in procs}
    lru["mlock"] = [
        [pages[id(p)], pid] if id(p) in pages else [-1, pid, p.mlock_count]
        for p, events in kernel.lru.mlock
        for pid in [None if events is None else event_pids.get(id(events), 0)]
    ]
    commit = kernel.commit.statistics()
    return {
        "format": FORMAT,
        "version": VERSION,
        "saved_at": saved_at,
        "kernel": {
            "max_map_count": kernel.max_map_count,
            "max_resident_pages": kernel.max_resident_pages,
            "next_pid": _counter_value(kernel._next_pid),
            "next_ino": next_ino,
            "vm_events": _events_dict(kernel.vm_events),
            "lru": lru,
            "settings": {name: getattr(kernel, name) for name in KERNEL_SETTINGS},
            "committed_pages": commit.committed_pages,
            "commit_checks": [commit.checks, commit.refusals],
        },
        "inodes": inode_docs,
        "files": file_docs,
        "anon_vmas": anon_docs,
        "pages": page_docs,
        "run_groups": group_docs,
        "processes": proc_docs,
    }


def save_state(kernel: Kernel, path: str | os.PathLike[str]) -> SaveStatistics:
    """Write :func:`dump_kernel` to ``path`` atomically (:func:`write_state`). Same
    locking as :func:`dump_kernel` (released before the file is written). O(size of
    the state)."""
    began = time.perf_counter()
    return write_state(dump_kernel(kernel), path, began)


def temp_prefix(path: str | os.PathLike[str]) -> str:
    """The name prefix of :func:`write_state`'s temporary files for ``path`` (in the
    same directory): ``.vmasim-state-<name of the target>-``."""
    return f".vmasim-state-{os.path.basename(os.fspath(path))}-"


def write_atomically(data: bytes, path: str | os.PathLike[str]) -> None:
    """Replace ``path`` by ``data`` atomically and durably: a temporary file in the same
    directory (:func:`temp_prefix`), ``fsync``, ``os.replace``, ``fsync`` of the
    directory. A crash leaves the previous file or the new one, and at worst a
    temporary file that :func:`remove_stale_temps` deletes. O(len(data))."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_state(
    doc: dict[str, Any], path: str | os.PathLike[str], began: float | None = None
) -> SaveStatistics:
    """Write a :func:`dump_kernel` document to ``path`` (:func:`write_atomically`).
    O(size of the state)."""
    began = time.perf_counter() if began is None else began
    data = json.dumps(doc, separators=(",", ":")).encode()
    write_atomically(data, path)
    return SaveStatistics(
        processes=len(doc["processes"]),
        vmas=sum(len(p["mm"]["vmas"]) for p in doc["processes"]),
        pages=len(doc["pages"]),
        bytes=len(data),
        seconds=time.perf_counter() - began,
        saved_at=doc["saved_at"],
    )


# mkstemp's names before temp_prefix existed: ".vmasim-state-" + 8 characters + ".tmp".
_LEGACY_TEMP = re.compile(r"\.vmasim-state-[a-z0-9_]{8}\.tmp")


def remove_stale_temps(path: str | os.PathLike[str]) -> list[str]:
    """Delete the temporary files an interrupted :func:`write_state` to ``path`` left
    (a process killed mid-save), and those of the unprefixed form older versions wrote
    in the same directory. Call before anything saves to ``path``. Returns the names
    removed. O(files in the directory)."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    prefix = temp_prefix(target)
    removed = []
    for name in os.listdir(directory):
        ours = name.startswith(prefix) and name.endswith(".tmp")
        if ours or _LEGACY_TEMP.fullmatch(name):
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                continue
            removed.append(name)
    return sorted(removed)


def read_state(path: str | os.PathLike[str]) -> Any:
    """The JSON document of a state file (not yet validated: :func:`load_kernel`).
    :class:`StateError` naming the file if it cannot be read or parsed."""
    target = os.fspath(path)
    try:
        with open(target, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise StateError(f"state file {target!r} cannot be read: {exc.strerror}") from exc
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StateError(f"state file {target!r} is not valid JSON: {exc}") from None
    return doc


@contextmanager
def next_pid(kernel: Kernel, pid: int) -> Iterator[None]:
    """Make the next pid ``kernel`` hands out ``pid`` (a journal replay giving a process
    the pid it had); afterwards the allocator goes on above every pid handed out, as
    ``alloc_pid`` does. Only while nothing else spawns (a replay, before serving)."""
    with kernel._lock:
        following = _counter_value(kernel._next_pid)
        kernel._next_pid = itertools.count(pid)
    try:
        yield
    finally:
        with kernel._lock:
            after = _counter_value(kernel._next_pid)
            kernel._next_pid = itertools.count(max(following, after))


# -- validation helpers ------------------------------------------------------------------


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StateError(f"{where} must be an object, not {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateError(f"{where} must be a list, not {type(value).__name__}")
    return value


def _int(value: Any, where: str, lo: int = 0, hi: int = U64 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise StateError(f"{where}={value!r} must be an integer in [{lo}, {hi}]")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise StateError(f"{where}={value!r} must be true or false")
    return value


def _str(value: Any, where: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise StateError(f"{where}={value!r} must be a string")
    return value


def _ref(value: Any, where: str, table: list[Any], optional: bool = False) -> Any:
    if value is None and optional:
        return None
    index = _int(value, where, 0, max(len(table) - 1, 0))
    if index >= len(table):
        raise StateError(f"{where}={value!r} refers to nothing (the table is empty)")
    return table[index]


def _field(doc: dict[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise StateError(f"{where}.{key} is missing")
    return doc[key]


# -- loading ------------------------------------------------------------------------------


def load_state(path: str | os.PathLike[str]) -> Kernel:
    """Read a state file written by :func:`save_state` and build its machine
    (:func:`paused_gc` meanwhile). :class:`StateError` (naming the file) if it cannot be
    read, parsed or validated."""
    target = os.fspath(path)
    with paused_gc():
        doc = read_state(target)
        try:
            return load_kernel(doc)
        except StateError as exc:
            raise StateError(f"state file {target!r}: {exc}") from None


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector disabled for the block, restored after it.

    Reading and rebuilding a machine allocates a few objects per VMA, all of them kept:
    each automatic collection meanwhile finds nothing to free but traverses everything
    allocated so far, so over millions of VMAs they cost 15-25% of a load (200,000
    VMAs) and more as the heap grows. Process-wide, like :func:`gc.disable`: another
    thread's allocations are not collected meanwhile either (memory is reclaimed at the
    next collection), which is why only whole-machine loads use it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_kernel(doc: Any) -> Kernel:
    """A new :class:`Kernel` holding the machine described by ``doc`` (from
    :func:`dump_kernel`). All or nothing: validates every field, builds the machine,
    runs ``Mm._check()`` on every process; on any problem raises :class:`StateError`
    naming it and the half-built machine is dropped. O(VMAs log VMAs + pages)."""
    doc = _obj(doc, "state")
    if doc.get("format") != FORMAT:
        raise StateError(f"state.format={doc.get('format')!r} is not {FORMAT!r}")
    version = doc.get("version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise StateError(
            f"state.version={version!r} is unknown (this build reads {READABLE_VERSIONS})"
        )
    kdoc = _obj(_field(doc, "kernel", "state"), "state.kernel")
    max_map_count = _field(kdoc, "max_map_count", "kernel")
    kernel = Kernel(_int(max_map_count, "kernel.max_map_count", 0, 1 << 31))
    limit = kdoc.get("max_resident_pages")
    kernel.max_resident_pages = None if limit is None else _int(limit, "kernel.max_resident_pages")
    settings = _obj(kdoc.get("settings", {}), "kernel.settings")
    for key, value in settings.items():
        if key not in KERNEL_SETTINGS:
            raise StateError(f"kernel.settings.{key} is not a kernel setting")
        try:
            setattr(kernel, key, value)
        except InvalidArgument as exc:
            raise StateError(f"kernel.settings.{key}: {exc}") from None
    try:
        _load_into(kernel, doc, kdoc)
        _restore_commit(kernel, kdoc)
        _check_kernel(kernel)
    except StateError:
        raise
    except AssertionError as exc:
        raise StateError(f"the loaded state is inconsistent: {exc}") from None
    except EngineError as exc:
        raise StateError(f"the state cannot be rebuilt: {exc}") from None
    return kernel


def _load_into(kernel: Kernel, doc: dict[str, Any], kdoc: dict[str, Any]) -> None:
    fs = kernel.fs
    next_pid = _int(_field(kdoc, "next_pid", "kernel"), "kernel.next_pid", 1, PID_MAX)
    next_ino = _int(_field(kdoc, "next_ino", "kernel"), "kernel.next_ino", 0, U64 - 1)

    pages: list[Page] = []
    mlock_counts: dict[int, int] = {}
    for i, pdoc in enumerate(_list(_field(doc, "pages", "state"), "state.pages")):
        where = f"pages[{i}]"
        pdoc = _obj(pdoc, where)
        try:
            kind = PageKind(pdoc.get("kind"))
        except ValueError:
            raise StateError(f"{where}.kind={pdoc.get('kind')!r} is not a page kind") from None
        if kind is PageKind.ZERO:
            raise StateError(f"{where}.kind='zero': the zero page is referenced as -1")
        if kind is PageKind.GUARD:
            raise StateError(f"{where}.kind='guard': guard markers are referenced as -2")
        dirty = _bool(_field(pdoc, "dirty", where), f"{where}.dirty")
        index = -1 if kind is PageKind.ANON else _int(pdoc.get("index"), f"{where}.index")
        page = Page(kind, dirty=dirty, index=index)
        for flag in PAGE_FLAGS:
            if _bool(pdoc.get(flag, False), f"{where}.{flag}"):
                setattr(page, flag, True)
        if (page.lazyfree or page.folio_dirty) and kind is not PageKind.ANON:
            raise StateError(f"{where}: only anonymous folios are lazy-free or folio_dirty")
        pages.append(page)
        if "mlock_count" in pdoc:
            mlock_counts[len(pages) - 1] = _int(pdoc["mlock_count"], f"{where}.mlock_count", 1)

    def page_at(value: Any, where: str) -> Page:
        if value == ZERO_PAGE_REF and not isinstance(value, bool):
            return ZERO_PAGE
        if value == GUARD_REF and not isinstance(value, bool):
            return GUARD_MARKER
        page: Page = _ref(value, where, pages)
        return page

    lru_doc = _obj(kdoc.get("lru", {}), "kernel.lru")
    for batch_name in ("lazyfree", "deactivate"):
        batch = getattr(kernel.lru, batch_name)
        lw = f"kernel.lru.{batch_name}"
        for j, ref in enumerate(_list(lru_doc.get(batch_name, []), lw)):
            page = _ref(ref, f"{lw}[{j}]", pages)
            if page.batched:
                raise StateError(f"{lw}[{j}]: page {ref} is queued twice")
            page.batched = True
            batch.append(page)

    inodes: list[Inode] = []
    named: dict[str, Inode] = {}
    cached: set[int] = set()
    for i, idoc in enumerate(_list(_field(doc, "inodes", "state"), "state.inodes")):
        where = f"inodes[{i}]"
        idoc = _obj(idoc, where)
        path = _str(_field(idoc, "path", where), f"{where}.path")
        assert path is not None
        if not path.startswith("/") or "\0" in path:
            raise StateError(f"{where}.path={path!r} must be absolute, without NUL bytes")
        dev = _list(_field(idoc, "dev", where), f"{where}.dev")
        if len(dev) != 2:
            raise StateError(f"{where}.dev={dev!r} must be [major, minor]")
        inode = Inode(
            path,
            _int(_field(idoc, "ino", where), f"{where}.ino"),
            (_int(dev[0], f"{where}.dev[0]", 0, 4095), _int(dev[1], f"{where}.dev[1]", 0, 1 << 20)),
            _int(_field(idoc, "size", where), f"{where}.size", 0, 1 << 63),
            _bool(_field(idoc, "unlinked", where), f"{where}.unlinked"),
        )
        commit_pages = _int(idoc.get("commit_pages", 0), f"{where}.commit_pages", 0, 1 << 52)
        if commit_pages:
            if not is_shmem(inode):
                raise StateError(f"{where}.commit_pages: only shmem objects hold a charge")
            charge_shmem(inode, kernel.commit, commit_pages)
        if _bool(idoc.get("named", False), f"{where}.named"):
            if path in named:
                raise StateError(f"{where}.path={path!r} is named twice")
            named[path] = inode
        entries = _list(idoc.get("cache", []), f"{where}.cache")
        if entries:
            cache = page_cache(inode)
            want = PageKind.SHMEM if cache.shmem else PageKind.FILE
            for j, entry in enumerate(entries):
                ew = f"{where}.cache[{j}]"
                if not isinstance(entry, list) or len(entry) != 2:
                    raise StateError(f"{ew}={entry!r} must be [index, page]")
                index = _int(entry[0], f"{ew}[0]")
                page = page_at(entry[1], f"{ew}[1]")
                if page.kind is not want or page.index != index or id(page) in cached:
                    raise StateError(
                        f"{ew}: page {entry[1]} ({page.kind.value}, index {page.index}) cannot "
                        f"be page {index} of a {want.value} cache"
                    )
                cached.add(id(page))
                cache.pages[index] = page
        inodes.append(inode)
    for i, page in enumerate(pages):
        if page.kind is not PageKind.ANON and id(page) not in cached:
            raise StateError(f"pages[{i}] is a {page.kind.value} page in no inode's cache")

    files: list[OpenFile] = []
    for i, fdoc in enumerate(_list(_field(doc, "files", "state"), "state.files")):
        where = f"files[{i}]"
        fdoc = _obj(fdoc, where)
        file = OpenFile(
            _ref(_field(fdoc, "inode", where), f"{where}.inode", inodes),
            _bool(_field(fdoc, "readable", where), f"{where}.readable"),
            _bool(_field(fdoc, "writable", where), f"{where}.writable"),
        )
        file.refs = 0  # counted below, one per fd and per VMA
        files.append(file)

    anons: list[AnonVma] = []
    # The run groups (core/pages.py RunGroup), by index: the page objects of their
    # folios that a mapper made pages.
    run_groups: dict[int, RunGroup] = {}
    for i, gdoc in enumerate(_list(doc.get("run_groups", []), "state.run_groups")):
        group = run_groups[i] = RunGroup()
        for j, entry in enumerate(_list(gdoc, f"run_groups[{i}]")):
            gw = f"run_groups[{i}][{j}]"
            if not isinstance(entry, list) or len(entry) != 2:
                raise StateError(f"{gw}={entry!r} must be [group address, page]")
            g = _int(entry[0], f"{gw}[0]")
            folio = page_at(entry[1], f"{gw}[1]")
            if g & ~PAGE_MASK or folio.kind is not PageKind.ANON or g in group.folios:
                raise StateError(f"{gw}: {g:#x} twice, unaligned, or not an anonymous page")
            group.folios[g] = folio
    for i, adoc in enumerate(_list(_field(doc, "anon_vmas", "state"), "state.anon_vmas")):
        adoc = _obj(adoc, f"anon_vmas[{i}]")
        anons.append(AnonVma(forked=_bool(adoc.get("forked", False), f"anon_vmas[{i}].forked")))

    procs: dict[int, Process] = {}
    for i, pdoc in enumerate(_list(_field(doc, "processes", "state"), "state.processes")):
        where = f"processes[{i}]"
        pdoc = _obj(pdoc, where)
        pid = _int(_field(pdoc, "pid", where), f"{where}.pid", 1, PID_MAX - 1)
        if pid in procs:
            raise StateError(f"{where}.pid={pid} appears twice")
        name = _str(_field(pdoc, "name", where), f"{where}.name")
        assert name is not None
        if not 0 < len(name) <= 15:
            raise StateError(f"{where}.name={name!r} must be 1 to 15 characters")
        proc = Process(kernel, pid, name)
        for j, entry in enumerate(_list(_field(pdoc, "fds", where), f"{where}.fds")):
            if not isinstance(entry, list) or len(entry) != 2:
                raise StateError(f"{where}.fds[{j}]={entry!r} must be [fd, file]")
            fd = _int(entry[0], f"{where}.fds[{j}][0]", 0, 1023)
            file = _ref(entry[1], f"{where}.fds[{j}][1]", files)
            file.get()
            proc.files.install_at(fd, file)
        _load_mm(
            proc.mm,
            _obj(_field(pdoc, "mm", where), f"{where}.mm"),
            f"{where}.mm",
            files,
            anons,
            page_at,
            run_groups,
        )
        procs[pid] = proc

    if procs and next_pid <= max(procs):
        raise StateError(f"kernel.next_pid={next_pid} is not above the highest pid {max(procs)}")
    # Mapping the pages again mlocked those of VM_LOCKED VMAs, counted events and
    # queued batch entries: the saved state wins (a file without mlock counts keeps
    # the ones mapping gave, one per locked mapping).
    for i, count in mlock_counts.items():
        pages[i].mlock_count = count
    _restore_events(kernel.vm_events, _events(kdoc.get("vm_events", {}), "kernel.vm_events"))
    for proc in procs.values():
        proc.mm.vm_events.parent = kernel.vm_events  # re-bind to the restored counters
    kernel.lru.mlock.clear()
    for j, entry in enumerate(_list(lru_doc.get("mlock", []), "kernel.lru.mlock")):
        mw = f"kernel.lru.mlock[{j}]"
        freed = entry[0] == -1 and not isinstance(entry[0], bool) if entry else False
        if not isinstance(entry, list) or len(entry) != (3 if freed else 2):
            raise StateError(
                f"{mw}={entry!r} must be [page, pid or null] or [-1, pid or null, mlock count]"
            )
        if freed:
            page = Page(PageKind.ANON)  # a freed folio still in the batch
            page.mlock_count = _int(entry[2], f"{mw}[2]", 0)
        else:
            page = _ref(entry[0], f"{mw}[0]", pages)
        if page.rss_counter < 0:
            raise StateError(f"{mw}[0]: page {entry[0]} is no folio")
        # Its own name: compiled, a variable keeps one type per function, and ``pid`` is
        # an int above (a None here would not fit it).
        batch_pid = entry[1]
        events: VmEvents | None = None
        if batch_pid is not None:
            owner = procs.get(_int(batch_pid, f"{mw}[1]", 0, PID_MAX - 1))
            events = owner.mm.vm_events if owner is not None else kernel.vm_events
        kernel.lru.mlock.append((page, events))
    if len(kernel.lru.mlock) >= FOLIO_BATCH_SIZE:
        raise StateError(f"kernel.lru.mlock holds {len(kernel.lru.mlock)} entries (drains at 31)")
    # PG_unevictable is not saved: an mlocked folio is unevictable unless an mlock entry
    # of it still waits in the batch (core/pages.py mlock_drain). (A folio locked again
    # through a second VM_LOCKED mapping while unevictable would read as pending.)
    pending = {id(page) for page, events in kernel.lru.mlock if events is None}
    for page in pages:
        page.unevictable = page.mlock_count > 0 and id(page) not in pending
    # Install the namespace and the process table (the kernel is not shared yet).
    fs._by_path.update(named)
    fs._ino = itertools.count(next_ino)
    with kernel._lock:
        kernel._procs.update(procs)
        kernel._next_pid = itertools.count(next_pid)


def _events(value: Any, where: str) -> dict[str, int]:
    from .vmstat import VmEventStatistics

    value = _obj(value, where)
    known = VmEventStatistics.__dataclass_fields__
    for key in value:
        if key not in known:
            raise StateError(f"{where}.{key} is not a vm event counter")
    return {key: _int(v, f"{where}.{key}") for key, v in value.items()}


def _load_mm(
    mm: Mm,
    doc: dict[str, Any],
    where: str,
    files: list[OpenFile],
    anons: list[AnonVma],
    page_at: Any,
    run_groups: dict[int, RunGroup],
) -> None:
    ints = {name: _int(_field(doc, name, where), f"{where}.{name}") for name in MM_INT_FIELDS}
    bools = {name: _bool(_field(doc, name, where), f"{where}.{name}") for name in MM_BOOL_FIELDS}
    bools.update(
        {
            name: _bool(doc[name], f"{where}.{name}")
            for name in MM_OPTIONAL_BOOL_FIELDS
            if name in doc
        }
    )
    memlock = _list(doc.get("rlimit_memlock", list(mm.rlimit_memlock)), f"{where}.rlimit_memlock")
    if len(memlock) != 2:
        raise StateError(f"{where}.rlimit_memlock={memlock!r} must be [soft, hard]")
    soft = _int(memlock[0], f"{where}.rlimit_memlock[0]")
    hard = _int(memlock[1], f"{where}.rlimit_memlock[1]")
    if soft > hard:
        raise StateError(f"{where}.rlimit_memlock={memlock!r}: the soft limit exceeds the hard")
    optional = {
        name: _int(doc[name], f"{where}.{name}") for name in MM_OPTIONAL_INT_FIELDS if name in doc
    }
    rss = _list(_field(doc, "rss_stat", where), f"{where}.rss_stat")
    if len(rss) != NR_MM_COUNTERS:
        raise StateError(f"{where}.rss_stat={rss!r} must have {NR_MM_COUNTERS} counters")
    saved_rss = [_int(v, f"{where}.rss_stat[{k}]") for k, v in enumerate(rss)]
    old_ptes, clean_ptes, dirty_ptes = (
        {
            _int(a, f"{where}.{bits}[{k}]")
            for k, a in enumerate(_list(doc.get(bits, []), f"{where}.{bits}"))
        }
        for bits in ("old_ptes", "clean_ptes", "dirty_ptes")
    )
    vmas = _list(_field(doc, "vmas", where), f"{where}.vmas")
    if len(vmas) > mm.max_map_count:
        raise StateError(f"{where}.vmas: {len(vmas)} VMAs exceed max_map_count {mm.max_map_count}")
    from .pages import set_pte

    prev_end = 0
    with mm._write_locked("restore"):
        for k, vdoc in enumerate(vmas):
            vw = f"{where}.vmas[{k}]"
            vdoc = _obj(vdoc, vw)
            start = _int(_field(vdoc, "start", vw), f"{vw}.start", 0, TASK_SIZE)
            end = _int(_field(vdoc, "end", vw), f"{vw}.end", 0, U64 - 1)
            if start & ~PAGE_MASK or end & ~PAGE_MASK or not prev_end <= start < end:
                raise StateError(
                    f"{vw}: range {start:#x}-{end:#x} is not page aligned, empty, or "
                    f"overlaps the previous VMA ending at {prev_end:#x}"
                )
            prev_end = end
            file = _ref(vdoc.get("file"), f"{vw}.file", files, optional=True)
            vma = Vma.new(
                mm,
                start,
                end,
                _int(_field(vdoc, "flags", vw), f"{vw}.flags"),
                _int(_field(vdoc, "pgoff", vw), f"{vw}.pgoff"),
                file,
                _str(vdoc.get("special_name"), f"{vw}.special_name", optional=True),
            )
            if file is not None:
                file.get()
            vma.anon_name = _str(vdoc.get("anon_name"), f"{vw}.anon_name", optional=True)
            anon = _ref(vdoc.get("anon_vma"), f"{vw}.anon_vma", anons, optional=True)
            if anon is not None:
                vma.anon_vma = anon
                anon.degree += 1
            store_new(mm, vma)
            with mm.page_lock:
                for j, entry in enumerate(_list(vdoc.get("pages", []), f"{vw}.pages")):
                    if not isinstance(entry, list) or len(entry) != 2:
                        raise StateError(f"{vw}.pages[{j}]={entry!r} must be [addr, page]")
                    addr = _int(entry[0], f"{vw}.pages[{j}][0]")
                    if addr & ~PAGE_MASK or not start <= addr < end:
                        raise StateError(
                            f"{vw}.pages[{j}]: address {addr:#x} is not a page of the VMA"
                        )
                    if vma.pages and addr in vma.pages:
                        raise StateError(f"{vw}.pages[{j}]: address {addr:#x} is mapped twice")
                    set_pte(mm, vma, addr, page_at(entry[1], f"{vw}.pages[{j}][1]"))
                _load_runs(mm, vma, _list(vdoc.get("runs", []), f"{vw}.runs"), vw, run_groups)
        # Each kind in its own loop: merged into one dict[str, int], the compiled engine
        # would pass the booleans on as ints (1), which a native bool field refuses.
        for name, value in {**ints, **optional}.items():
            setattr(mm, name, value)
        for name, flag in bools.items():
            setattr(mm, name, flag)
        mm.rlimit_memlock = (soft, hard)
        mm.old_ptes = old_ptes
        mm.clean_ptes = clean_ptes
        mm.dirty_ptes = dirty_ptes
    # The write cycle above bumped the generation: the saved one wins.
    mm.generation = ints["generation"]
    if mm.rss_stat != saved_rss:
        raise StateError(
            f"{where}.rss_stat={saved_rss} disagrees with the pages mapped {mm.rss_stat}"
        )
    _restore_events(mm.vm_events, _events(doc.get("vm_events", {}), f"{where}.vm_events"))


def _load_runs(mm: Mm, vma: Vma, docs: list[Any], vw: str, run_groups: dict[int, RunGroup]) -> None:
    # A VMA's runs ([start, end, "anon" | "zero", referenced, active], plus [old, group,
    # shift] for a run fork shared or left old, in address order), charged as the pages
    # they hold (a folio another run of its group maps already is resident once).
    # Caller holds the page lock.
    runs: list[AnonRun] = []
    prev_end = vma.vm_start
    resident = 0
    for j, entry in enumerate(docs):
        where = f"{vw}.runs[{j}]"
        if not isinstance(entry, list) or len(entry) not in (5, 8):
            raise StateError(
                f"{where}={entry!r} must be [start, end, 'anon' or 'zero', referenced, "
                "active] or that and [old, group, shift]"
            )
        start = _int(entry[0], f"{where}[0]")
        end = _int(entry[1], f"{where}[1]")
        if (start | end) & ~PAGE_MASK or not prev_end <= start < end <= vma.vm_end:
            raise StateError(
                f"{where}: {start:#x}-{end:#x} is not a page-aligned run of the VMA after "
                f"{prev_end:#x}"
            )
        kind = entry[2]
        if kind not in ("anon", "zero"):
            raise StateError(f"{where}[2]={kind!r} is not 'anon' or 'zero'")
        referenced = _bool(entry[3], f"{where}[3]")
        active = _bool(entry[4], f"{where}[4]")
        zero = kind == "zero"
        old = False
        group_ref: int | None = None
        shift = 0
        if len(entry) == 8:
            old = _bool(entry[5], f"{where}[5]")
            if entry[6] is not None:
                group_ref = _int(entry[6], f"{where}[6]", 0, len(run_groups) - 1)
            shift = _int(entry[7], f"{where}[7]", -(1 << 64), 1 << 64)
            if shift & ~PAGE_MASK or (group_ref is None and shift):
                raise StateError(f"{where}: shift {shift:#x} is not that of a group's run")
        if zero and (referenced or active or old or group_ref is not None):
            raise StateError(f"{where}: the zero page has no folio flags, age or group")
        if vma.vm_file is not None or vma.vm_flags & VM_SHARED:
            raise StateError(f"{where}: runs are private anonymous memory")
        if group_ref is not None and vma.vm_flags & VM_LOCKED:
            raise StateError(f"{where}: runs fork shared are not locked")
        if not zero and vma.anon_vma is None:
            raise StateError(f"{where}: anonymous pages need the VMA's anon_vma")
        if vma.pages and any(start <= a < end for a in vma.pages):
            raise StateError(f"{where}: {start:#x}-{end:#x} overlaps the VMA's pages")
        prev_end = end
        run = AnonRun(start, end, referenced, active, zero, old)
        if zero:
            pass
        elif group_ref is None:
            resident += end - start
        else:
            group = run_groups[group_ref]
            g = start + shift
            spans = group_coverage(group, g, g + end - start)  # the runs loaded so far
            uncovered = sum(b - a for a, b, n in spans if not n)
            for at, folio in group.folios_in(g, g + end - start):
                if not count_at(spans, at):
                    uncovered -= PAGE_SIZE  # resident as a page object
                if not folio.mapcount:
                    resident += PAGE_SIZE  # its first mapping (as set_pte() counts)
                folio.mapcount += 1
            resident += uncovered
            run.group = group
            run.shift = shift
            run.side = id(mm)
            group.add(run)
        runs.append(run)
    if runs:
        put_runs(vma, runs)
        mm.rss_stat[MM_ANONPAGES] += run_pages(vma)
        mm.machine_resident[0] += resident >> PAGE_SHIFT


def committed_by_mappings(kernel: Kernel) -> int:
    """The commit charge the live mappings hold: pages of ``VM_ACCOUNT`` VMAs of every
    process plus the charges of live shmem objects. Equal to ``Committed_AS`` unless
    the kernel's own accounting drifted (an mremap shrink-and-move keeps its delta,
    docs/kernel-differences.md). Caller keeps the machine still. O(VMAs)."""
    total = 0
    shmem: dict[int, int] = {}
    for proc in kernel.processes():
        for vma in proc.mm.vmas():
            if vma.vm_flags & VM_ACCOUNT:
                total += vma.pages_count
            if vma.vm_file is not None:
                charge = shmem_charge(vma.vm_file.inode)
                if charge:
                    shmem[id(vma.vm_file.inode)] = charge
    return total + sum(shmem.values())


def _restore_commit(kernel: Kernel, kdoc: dict[str, Any]) -> None:
    # Committed_AS: the saved figure (which may include the kernel's own drift) when
    # given, else what the mappings hold.
    saved = kdoc.get("committed_pages")
    committed = (
        committed_by_mappings(kernel)
        if saved is None
        else _int(saved, "kernel.committed_pages", 0, 1 << 62)
    )
    checks = _list(kdoc.get("commit_checks", [0, 0]), "kernel.commit_checks")
    if len(checks) != 2:
        raise StateError(f"kernel.commit_checks={checks!r} must be [checks, refusals]")
    kernel.commit.restore(
        committed,
        _int(checks[0], "kernel.commit_checks[0]"),
        _int(checks[1], "kernel.commit_checks[1]"),
    )


def _check_kernel(kernel: Kernel) -> None:
    """O(everything): each mm's invariants, every page cache, every reference count."""
    for proc in kernel.processes():
        proc.mm._check()
        for addr in proc.mm.old_ptes:
            vma = proc.mm.find_vma(addr)
            assert vma is not None and vma.pages and addr in vma.pages, hex(addr)
        for addr in proc.mm.clean_ptes:
            vma = proc.mm.find_vma(addr)
            assert vma is not None and vma.pages, hex(addr)
            assert vma.pages[addr].kind is PageKind.ANON, ("clean PTE of no anon page", hex(addr))
        for addr in proc.mm.dirty_ptes:
            vma = proc.mm.find_vma(addr)
            assert vma is not None and vma.pages, hex(addr)
            assert vma.pages[addr].kind is PageKind.SHMEM, ("dirty PTE of no shmem page", hex(addr))
    kernel.lru._check()
    for inode in kernel.fs._by_path.values():
        cache = inode.__dict__.get("_page_cache")
        if cache is not None:
            cache._check()
