"""Simulated machines (``/machines``): their ids and kernel settings.

The settings are those :meth:`core.Kernel.configure` accepts (:data:`core.kernel.SETTINGS`,
one field each: a test keeps the two lists equal). Their ranges are checked there,
once; a value out of range is the kernel's ``InvalidArgument`` (422) naming it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.constants import OVERCOMMIT_GUESS, OVERCOMMIT_NEVER

from .common import InModel

DEFAULT_MACHINE = "default"
"""The machine the routes without ``/machines/{machine}`` serve; it cannot be deleted."""
MACHINE_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
"""A machine id: a DNS label of at most 32 characters (lower-case letters, digits and
inner hyphens): it names a directory, and later a cluster actor."""
MACHINE_ID_MAX = 32

_PAGES = "pages of 4 KiB"


class KernelSettingsIn(InModel):
    """A machine's kernel settings; each one left out keeps its default (the
    environment's ``VMASIM_MAX_MAP_COUNT`` and ``VMASIM_MAX_RESIDENT_PAGES``, the
    kernel's own default for the others)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"ram_pages": 262144, "swap_pages": 0, "overcommit_memory": 2},
                {"max_map_count": 1000, "max_resident_pages": 65536},
            ]
        },
    )

    max_map_count: int | None = Field(
        default=None, description="`vm.max_map_count`: VMAs per process (0 to 2^31)"
    )
    max_resident_pages: int | None = Field(
        default=None,
        description="resident pages per process before a fault is refused (409); "
        "`VMASIM_MAX_RESIDENT_PAGES` by default",
    )
    ram_pages: int | None = Field(default=None, description=f"MemTotal, in {_PAGES} (>= 1)")
    swap_pages: int | None = Field(default=None, description=f"SwapTotal, in {_PAGES}")
    overcommit_memory: int | None = Field(
        default=None,
        ge=OVERCOMMIT_GUESS,
        le=OVERCOMMIT_NEVER,
        description="`vm.overcommit_memory`: 0 heuristic, 1 always, 2 never",
    )
    overcommit_ratio: int | None = Field(
        default=None, description="`vm.overcommit_ratio`: percent of RAM in mode 2"
    )
    overcommit_kbytes: int | None = Field(
        default=None, description="`vm.overcommit_kbytes` (0: the ratio applies)"
    )
    admin_reserve_kbytes: int | None = Field(
        default=None, description="`vm.admin_reserve_kbytes` (mode 2)"
    )
    user_reserve_kbytes: int | None = Field(
        default=None, description="`vm.user_reserve_kbytes` (mode 2)"
    )
    config_anon_vma_name: bool | None = Field(
        default=None,
        description="`CONFIG_ANON_VMA_NAME`: whether `PR_SET_VMA_ANON_NAME` names memory",
    )


class KernelSettingsOut(BaseModel):
    """The kernel settings a machine runs with."""

    max_map_count: int
    max_resident_pages: int | None
    ram_pages: int
    swap_pages: int
    overcommit_memory: int
    overcommit_ratio: int
    overcommit_kbytes: int
    admin_reserve_kbytes: int
    user_reserve_kbytes: int
    config_anon_vma_name: bool


class MachineIn(InModel):
    """A new simulated machine: its id (chosen by the service when left out:
    ``machine-<n>``) and kernel settings."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"id": "student-1"},
                {"id": "small", "settings": {"ram_pages": 262144, "overcommit_memory": 2}},
            ]
        },
    )

    id: str | None = Field(
        default=None,
        pattern=MACHINE_ID_PATTERN,
        max_length=MACHINE_ID_MAX,
        description="lower-case letters, digits and inner hyphens, at most 32",
    )
    settings: KernelSettingsIn = Field(default_factory=KernelSettingsIn)


class MachineOut(BaseModel):
    """A simulated machine: its id, where its routes are, its processes and settings."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "student-1",
                    "default": False,
                    "path": "/machines/student-1",
                    "created_at": 1765000000.0,
                    "processes": 2,
                    "settings": {
                        "max_map_count": 65530,
                        "max_resident_pages": 1048576,
                        "ram_pages": 6108540,
                        "swap_pages": 0,
                        "overcommit_memory": 0,
                        "overcommit_ratio": 50,
                        "overcommit_kbytes": 0,
                        "admin_reserve_kbytes": 8192,
                        "user_reserve_kbytes": 131072,
                        "config_anon_vma_name": True,
                    },
                }
            ]
        }
    )

    id: str
    default: bool = Field(description="the machine of the routes without a prefix")
    path: str = Field(description="the prefix of its routes: `/machines/<id>`")
    created_at: float = Field(description="Unix time of its creation")
    processes: int = Field(description="live processes")
    settings: KernelSettingsOut


class MachineList(BaseModel):
    """Every machine, ``default`` first."""

    count: int
    limit: int = Field(description="VMASIM_MAX_MACHINES in force")
    machines: list[MachineOut]
