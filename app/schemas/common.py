"""What every request and response model shares: number formats, flag items, paths.

Conventions:

* Addresses, lengths and offsets are accepted as JSON integers or ``"0x..."`` strings
  (:data:`U64`) and returned as lowercase ``"0x..."`` strings (:func:`hex_addr`).
* ``prot``/``flags`` are lists of Linux names (:mod:`app.flags`); an item may also be
  a raw non-negative integer. An unknown name is a 422 naming it.
* Requests forbid unknown fields, so a typo (``"lenght"``) is an error, not a default.
* The batch operation is a discriminated union on ``"op"``; new kinds (``"fault"``)
  are new members of :data:`BatchOp`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
)

from core.constants import U64_MAX

from ..flags import (
    MADVISE_ADVICE,
    MAP_BITS,
    MCL_BITS,
    MLOCK_BITS,
    MREMAP_BITS,
    OPEN_BITS,
    PR_SET_VMA_ATTRS,
    PRCTL_OPTIONS,
    PROT_BITS,
    MadviseName,
    MapName,
    MclName,
    MlockName,
    MremapName,
    OpenName,
    PrctlOptionName,
    ProtName,
    PrSetVmaName,
)

_HEX = re.compile(r"0[xX][0-9a-fA-F]{1,16}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")

DECIMAL_RULE = "decimal digits only: no sign, space, fraction or leading zero"
"""How a path or query integer is written (a pid as ``/proc/<pid>`` reads it:
``name_to_int`` in fs/proc/base.c refuses a leading zero and anything but digits)."""


def _decimal_text(value: object) -> object:
    """A path or query integer arrives as text: only the canonical decimal form of
    an integer passes (``1014``, not ``1014.0``, `` 1014``, ``+1014`` or ``01014``),
    then the integer's own checks run."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError(f"should be an integer in {DECIMAL_RULE}")
    return value


DecimalText = BeforeValidator(_decimal_text)
"""Metadata for every ``int`` path or query parameter (:data:`DECIMAL_RULE`)."""
HEX_PATTERN = r"^0x[0-9a-f]+$"


def _parse_u64(value: object) -> object:
    """Accept ``"0x..."`` strings; let integers through to the range check."""
    if isinstance(value, str):
        if not _HEX.fullmatch(value):
            raise ValueError('neither an integer nor a "0x..." hex string')
        return int(value, 16)
    return value


U64 = Annotated[
    int,
    Strict(),
    Field(ge=0, le=U64_MAX, description='an integer, or a string like "0x7ffff7ffd000"'),
    BeforeValidator(_parse_u64),
]
"""A 64-bit unsigned value (address, length, offset), as an integer or a hex string."""

# The JSON schema of U64 for clients: integer or hex string.
U64_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": U64_MAX},
        {"type": "string", "pattern": r"^0[xX][0-9a-fA-F]{1,16}$"},
    ]
}

Fd = Annotated[int, Strict(), Field(ge=-(1 << 31), lt=1 << 31)]
HexStr = Annotated[str, Field(pattern=HEX_PATTERN, examples=["0x7ffff7ffd000"])]
MapCount = Annotated[
    int,
    Field(
        ge=0,
        description=(
            "VMAs in the address space, as the kernel's mm->map_count (the VMAs in the mm's "
            "tree). /maps and /smaps print one line more, the x86-64 [vsyscall] gate VMA, "
            "which is not in the tree (get_gate_vma(), arch/x86/entry/vsyscall/vsyscall_64.c) "
            "and so not counted."
        ),
    ),
]
"""Every ``map_count`` field: one definition, the kernel's."""


def hex_addr(value: int) -> str:
    """The API's address format: lowercase hex with ``0x``.

    >>> hex_addr(0x7FFFF7FFD000), hex_addr(0)
    ('0x7ffff7ffd000', '0x0')
    """
    return hex(value)  # f"{value:#x}" in 70% of the instructions


def known_names(table: dict[str, int], what: str) -> BeforeValidator:
    names = ", ".join(table)

    def check(value: object) -> object:
        if isinstance(value, str) and value not in table:
            raise ValueError(f"unknown {what} {json.dumps(value)} (known: {names})")
        return value

    return BeforeValidator(check)


Bits = Annotated[int, Strict(), Field(ge=0, le=U64_MAX)]
ProtItem = Annotated[ProtName | Bits, known_names(PROT_BITS, "protection flag")]
MapItem = Annotated[MapName | Bits, known_names(MAP_BITS, "mmap flag")]
MremapItem = Annotated[MremapName | Bits, known_names(MREMAP_BITS, "mremap flag")]
OpenItem = Annotated[OpenName | Bits, known_names(OPEN_BITS, "open flag")]
MlockItem = Annotated[MlockName | Bits, known_names(MLOCK_BITS, "mlock2 flag")]
MclItem = Annotated[MclName | Bits, known_names(MCL_BITS, "mlockall flag")]
MadviseAdvice = Annotated[MadviseName | Bits, known_names(MADVISE_ADVICE, "madvise advice")]
PrctlOption = Annotated[PrctlOptionName | Bits, known_names(PRCTL_OPTIONS, "prctl option")]
PrSetVmaAttr = Annotated[PrSetVmaName | Bits, known_names(PR_SET_VMA_ATTRS, "PR_SET_VMA attribute")]
Path = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4095,
        pattern=r"^/[^\x00]*$",
        description="an absolute path without NUL bytes (PATH_MAX 4095)",
        examples=["/tmp/data.bin"],
    ),
]


class InModel(BaseModel):
    """A request body: unknown members refused, and strict types (JSON Schema's rules,
    which the OpenAPI document states: an ``integer`` field takes integers only, so
    ``true`` and ``"12"`` are refused, a ``string`` field strings only). Integral
    numbers written with a fraction or exponent (``2856.0``) arrive as integers
    (:mod:`app.jsonbody`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def with_u64(examples: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` for a model with U64 fields: document them as "integer or
    hex string" (pydantic only sees the integer) and attach ``examples``."""

    def extra(schema: dict[str, Any]) -> None:
        for prop in schema.get("properties", {}).values():
            if prop.get("type") == "integer" and prop.get("maximum") == U64_MAX:
                keep = {k: v for k, v in prop.items() if k in ("default", "title", "description")}
                prop.clear()
                prop.update(keep, **U64_SCHEMA)
        if examples:
            schema["examples"] = examples
        else:
            schema.pop("examples", None)

    return extra


class HealthOut(BaseModel):
    """Liveness."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "engine": "compiled"}]}
    )

    status: Literal["ok"]
    #: Which engine runs: ``compiled`` (core/ built by mypyc) or ``python`` (the
    #: pure-Python fallback, or forced by ``VMASIM_ENGINE=python``).
    engine: Literal["compiled", "python"] = Field(
        description="The engine this service runs: `compiled` (mypyc) or `python`."
    )


class Mirror(BaseModel):
    """A response model that shows an engine (or service) statistics dataclass: the
    dataclass is the one home of the fields, this model their documented wire form.

    ``class RcuOut(Mirror, source=RcuStatistics, omit=("last_callback_error",))``
    checks when the class is created that its fields are exactly the source's minus
    ``omit`` (a field added to the engine and not here, or the reverse, fails at
    import, never silently), and :meth:`of` builds it from an instance of the source.
    """

    _source: ClassVar[type | None] = None
    _omit: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(
        cls, *, source: type | None = None, omit: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls._source = source
        cls._omit = frozenset(omit)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls._source is None:
            return
        names = {f.name for f in dataclasses.fields(cls._source)}
        wanted = names - cls._omit
        if set(cls.model_fields) != wanted or not cls._omit <= names:
            raise TypeError(
                f"{cls.__name__} does not mirror {cls._source.__name__}: fields "
                f"{sorted(set(cls.model_fields))} != {sorted(wanted)} (omit {sorted(cls._omit)})"
            )

    @classmethod
    def of(cls, stats: Any) -> Self:
        """The model of ``stats`` (an instance of the source dataclass). O(fields)."""
        assert cls._source is not None and isinstance(stats, cls._source), (cls, stats)
        return cls(**{f: getattr(stats, f) for f in cls.model_fields})
