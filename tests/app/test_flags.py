"""The flag vocabulary matches the engine's constants."""

from __future__ import annotations

import doctest

import app.flags
import app.procviews
import app.schemas.common
import app.schemas.query
from app import flags
from core import constants


def test_every_name_has_the_kernel_value() -> None:
    for table in (flags.PROT_BITS, flags.MAP_BITS, flags.MREMAP_BITS, flags.OPEN_BITS):
        for name, value in table.items():
            assert getattr(constants, name) == value, name


def test_names_round_trip() -> None:
    for value in (0, 1, 3, 7, 0x8, 0x01000000, 0x11, 0x10):
        assert flags.combine(flags.prot_names(value), flags.PROT_BITS) == value
    for value in (0x22, 0x32, 0x13, 0x03, 0x1, 0x100022, 0x800000 | 0x2, 0x0):
        assert flags.combine(flags.map_names(value), flags.MAP_BITS) == value
    for value in (0, 1, 3, 7, 8):
        assert flags.combine(flags.mremap_names(value), flags.MREMAP_BITS) == value


def test_doctests() -> None:
    for module in (app.flags, app.procviews, app.schemas.common, app.schemas.query):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
