"""Page faults: ``POST /processes/{pid}/faults`` and the batch ``fault``/``touch`` ops."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from core import PAGE_SIZE
from core.fault import Access, FaultOutcome, FaultPath, SiCode
from core.pages import PageName

from .common import U64, HexStr, InModel, with_u64

# -- faults (POST /processes/{pid}/faults and the batch "fault"/"touch" ops) ------------


class FaultIn(InModel):
    """A user-mode page fault: the access the CPU attempted at ``addr``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=with_u64(
            [
                {"addr": "0x7ffff7ffd010", "access": "write"},
                {"addr": "0x555555554000", "access": "exec"},
            ]
        ),
    )

    addr: U64
    access: Access = Field(default="read", description="read, write or exec (instruction fetch)")


class FaultOp(FaultIn):
    """A batch ``fault``: its result carries ``fault``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_u64([]))

    op: Literal["fault"]


def _touch_schema(schema: dict[str, Any]) -> None:
    """``with_u64``, and ``length`` at least 1 (as the validator below requires)."""
    with_u64([])(schema)
    length = schema["properties"]["length"]
    integer, text = length["anyOf"]
    length["anyOf"] = [
        {**integer, "minimum": 1},
        {**text, "pattern": r"^0[xX](?=[0-9a-fA-F]{1,16}$)0*[1-9a-fA-F][0-9a-fA-F]*$"},
    ]


class TouchOp(InModel):
    """A batch ``touch``: one fault per page of ``[addr, addr + length)`` in ascending
    order (at ``addr``, then at each page boundary), as a loop writing one byte per page
    does. Each page is one fault of the engine (a page already mapped is a spurious
    fault, still counted). Stops at the first signal unless ``stop_on_signal`` is false.
    The pages of all touch ops of a batch are bounded by VMASIM_MAX_BATCH_PAGES."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_touch_schema)

    op: Literal["touch"]
    addr: U64
    length: U64 = Field(description="bytes (at least 1)")
    access: Access = "write"
    stop_on_signal: bool = True

    @model_validator(mode="after")
    def _not_empty(self) -> TouchOp:
        if self.length == 0:
            raise ValueError(f"touch length {self.length} must be at least 1 byte")
        return self

    @property
    def pages(self) -> int:
        """Faults this op takes at most: the pages ``[addr, addr + length)`` overlaps."""
        first = self.addr & ~(PAGE_SIZE - 1)
        return (self.addr + self.length - first + PAGE_SIZE - 1) // PAGE_SIZE


class FaultOut(BaseModel):
    """What one page fault did (x86 ``do_user_addr_fault``).

    ``outcome`` is ``ok`` or the signal delivered, with ``si_code`` (``SEGV_MAPERR``,
    ``SEGV_ACCERR``, ``BUS_ADRERR``). ``path`` is where the fault completed: under the
    per-VMA lock (``vma_lock``), under ``mmap_lock`` after the per-VMA lock could not be
    taken (``mmap_lock``), under ``mmap_lock`` after the handler asked for a retry
    (``retried``), after growing a ``MAP_GROWSDOWN`` stack (``stack_expanded``), or no
    lock at all for a non-user address (``none``). ``misses`` counts RCU walks redone
    because the VMA found was detached. ``vma_start``/``vma_end`` is the VMA the fault
    resolved to; ``page`` the page now mapped (``zero``, ``anon``, ``file``, ``shmem``,
    ``cow``); ``major`` whether it counted as a major fault (page-cache miss)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "addr": "0x7ffff7ffd010",
                    "access": "write",
                    "ok": True,
                    "outcome": "ok",
                    "si_code": None,
                    "path": "vma_lock",
                    "misses": 0,
                    "vma_start": "0x7ffff7ffd000",
                    "vma_end": "0x7ffff7fff000",
                    "page": "anon",
                    "major": False,
                },
                {
                    "addr": "0x10",
                    "access": "read",
                    "ok": False,
                    "outcome": "SIGSEGV",
                    "si_code": "SEGV_MAPERR",
                    "path": "mmap_lock",
                    "misses": 0,
                    "vma_start": None,
                    "vma_end": None,
                    "page": None,
                    "major": False,
                },
            ]
        }
    )

    addr: HexStr
    access: Access
    ok: bool
    outcome: FaultOutcome
    si_code: SiCode | None = None
    path: FaultPath
    misses: int
    vma_start: HexStr | None = None
    vma_end: HexStr | None = None
    page: PageName | None = None
    major: bool


class TouchOut(BaseModel):
    """The faults of one ``touch`` op: how many were taken, how they completed, and the
    first one that delivered a signal (None if none did)."""

    faults: int = Field(description="faults taken (pages touched)")
    ok: int
    major: int
    vma_lock: int = Field(description="faults completed under the per-VMA lock")
    signals: int
    first_signal: FaultOut | None = None
