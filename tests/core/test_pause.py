"""The pause-point registry: arm, hold, observe, release; bounded; counted; validated."""

from __future__ import annotations

import pytest

from core import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PROT_READ,
    PROT_WRITE,
    InvalidArgument,
    Kernel,
    Mm,
)
from core.pause import (
    KNOWN_POINTS,
    HeldOperation,
    PauseRegistry,
    PauseTimeout,
    PointStatistics,
    UnknownPausePoint,
    register_point,
)
from tests.concurrency import Record, spawn
from tests.engines import PYTHON_ENGINE_ONLY

PG = 4096
BASE = 0x100000000000
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
RW = PROT_READ | PROT_WRITE


def _mm(pages: int = 8) -> Mm:
    mm = Kernel().spawn().mm
    mm.mmap(BASE, pages * PG, RW, ANON)
    return mm


def _layout(mm: Mm) -> list[tuple[int, int]]:
    """An unlocked RCU walk: the VMAs' own (start, end), relative to BASE, in pages."""
    with mm.rcu.read_section():
        return [
            ((v.vm_start - BASE) // PG, (v.vm_end - BASE) // PG) for _, _, v in mm.tree.iter_from(0)
        ]


def test_required_points_are_known_and_discoverable() -> None:
    names = PauseRegistry.names()
    assert names == sorted(KNOWN_POINTS)
    for name in (
        "munmap:before_clear",
        "split:after_shrink",
        "mmap:after_gather",
        "mprotect:between_vmas",
        "mremap:before_unmap_source",
        "brk:before_expand",
        "maps:seqcount_before_validate",
        "maps:per_vma_after_find",
        "maps:per_vma_between_vmas",
    ):
        assert name in names
        assert KNOWN_POINTS[name]  # each has a description


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.arm("munmap:befor_clear"),
        lambda r: r.disarm("munmap:befor_clear"),
        lambda r: r.release("munmap:befor_clear"),
        lambda r: r.wait_for_hold("munmap:befor_clear", 0.01),
        lambda r: r.is_armed("munmap:befor_clear"),
        lambda r: r.hit("munmap:befor_clear", "munmap"),
    ],
)
def test_unknown_point_is_an_error_naming_it_and_changes_nothing(call) -> None:
    reg = PauseRegistry()
    before = reg.statistics()
    with pytest.raises(UnknownPausePoint, match=r"^unknown pause point 'munmap:befor_clear'; "):
        call(reg)
    assert reg.statistics() == before
    assert not reg.active
    reg._check()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nth": 0}, r"^nth 0 is not a positive integer$"),
        ({"nth": True}, r"^nth True is not a positive integer$"),
        ({"count": 0}, r"^count 0 is not positive$"),
        ({"count": 1.5}, r"^count 1.5 is not an integer or None$"),
        ({"timeout": 0}, r"^timeout 0 is not a positive number of seconds$"),
        ({"timeout": "1"}, r"^timeout '1' is not a positive number of seconds$"),
    ],
)
@PYTHON_ENGINE_ONLY
def test_bad_arm_arguments_are_rejected_and_change_nothing(kwargs, message) -> None:
    reg = PauseRegistry()
    with pytest.raises(InvalidArgument, match=message):
        reg.arm("munmap:before_clear", **kwargs)
    assert not reg.active and not reg.is_armed("munmap:before_clear")
    reg._check()


@PYTHON_ENGINE_ONLY
def test_arming_twice_and_bad_settings_are_errors() -> None:
    reg = PauseRegistry()
    reg.arm("munmap:before_clear")
    with pytest.raises(InvalidArgument, match=r"^pause point 'munmap:before_clear' is already"):
        reg.arm("munmap:before_clear", nth=3)
    with pytest.raises(InvalidArgument, match=r"^default_timeout -1 is not a positive"):
        reg.default_timeout = -1
    with pytest.raises(InvalidArgument, match=r"^release target 1.5 is not a name or hold id$"):
        reg.release(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"^pause point name 'nocolon' is not of the form"):
        register_point("nocolon", "x")
    with pytest.raises(InvalidArgument, match=r"^pause point 'munmap:before_clear' is already reg"):
        register_point("munmap:before_clear", "something else")
    assert reg.default_timeout == 10.0
    reg._check()


def test_unarmed_points_cost_nothing_and_count_only_when_tracking() -> None:
    mm = _mm()
    assert not mm.pauses.active
    mm.munmap(BASE, PG)
    assert mm.pauses.statistics().points["munmap:before_clear"].hits == 0
    mm.pauses.track_hits()
    mm.munmap(BASE + PG, PG)
    mm.munmap(BASE + 2 * PG, PG)
    assert mm.pauses.statistics().points["munmap:before_clear"].hits == 2
    mm.pauses.track_hits(False)
    assert not mm.pauses.active
    mm.pauses._check()


def test_a_held_munmap_is_visible_then_released() -> None:
    mm = _mm()
    mm.pauses.arm("munmap:before_clear")
    worker = spawn(mm.munmap, BASE + 2 * PG, 2 * PG, name="unmapper")
    held = mm.pauses.wait_for_hold("munmap:before_clear")
    assert (held.point, held.op, held.thread_name, held.hit) == (
        "munmap:before_clear",
        "munmap",
        "unmapper",
        1,
    )
    assert mm.pauses.held() == [held]
    stats = mm.pauses.statistics()
    assert stats.points["munmap:before_clear"] == PointStatistics(
        hits=1, holds=1, timeouts=0, armed=False, held=1
    )
    assert stats.held == (held,)
    # Held with mmap_lock write-held: the split is in the tree, the unmap is not.
    assert mm.mmap_lock.statistics().rwsem.writer == "unmapper"
    assert _layout(mm) == [(0, 2), (2, 4), (4, 8)]
    assert mm.pauses.release(held) == 1
    worker.join()
    assert _layout(mm) == [(0, 2), (4, 8)]
    assert mm.pauses.statistics().points["munmap:before_clear"].held == 0
    assert mm.pauses.release(held.hold_id) == 0  # already released
    mm.pauses._check()
    mm._check()


def test_nth_hit_of_mprotect_between_vmas() -> None:
    mm = Kernel().spawn().mm
    for i in range(4):  # four VMAs that cannot merge (alternating protections)
        mm.mmap(BASE + i * PG, PG, RW if i % 2 else PROT_READ, ANON)
    mm.pauses.arm("mprotect:between_vmas", nth=2)
    worker = spawn(mm.mprotect, BASE, 4 * PG, PROT_WRITE | PROT_READ | 4)
    held = mm.pauses.wait_for_hold("mprotect:between_vmas")
    assert held.hit == 2 and held.op == "mprotect"
    with mm.rcu.read_section():
        prots = [v.vm_flags & 7 for _, _, v in mm.tree.iter_from(0)]
    assert prots == [7, 1, 3]  # two VMAs done (and merged into one), two to go
    assert _layout(mm) == [(0, 2), (2, 3), (3, 4)]
    mm.pauses.release("mprotect:between_vmas")
    worker.join()
    assert _layout(mm) == [(0, 4)]


def test_every_hit_with_count_none_and_release_all() -> None:
    mm = Kernel().spawn().mm
    for i in range(4):
        mm.mmap(BASE + i * PG, PG, RW if i % 2 else PROT_READ, ANON)
    mm.pauses.arm("mprotect:between_vmas", count=None)
    worker = spawn(mm.mprotect, BASE, 4 * PG, PROT_READ | 4)
    for hit in (1, 2, 3):
        held = mm.pauses.wait_for_hold("mprotect:between_vmas")
        assert held.hit == hit
        assert mm.pauses.release_all() == 1
    worker.join()
    assert mm.pauses.is_armed("mprotect:between_vmas")
    mm.pauses.reset()
    assert not mm.pauses.active
    assert mm.pauses.statistics().points["mprotect:between_vmas"].holds == 3


def test_a_forgotten_hold_times_out_and_is_recorded() -> None:
    mm = _mm()
    mm.pauses.arm("munmap:before_clear", timeout=0.05)
    mm.munmap(BASE, PG)  # this thread is held, then goes on by itself
    stats = mm.pauses.statistics()
    assert stats.points["munmap:before_clear"].timeouts == 1
    (event,) = stats.recent_timeouts
    assert event.point == "munmap:before_clear" and event.op == "munmap"
    assert event.held_for >= 0.05
    assert stats.held == ()
    assert _layout(mm) == [(1, 8)]
    mm.pauses._check()


def test_wait_for_hold_times_out_naming_the_point() -> None:
    reg = PauseRegistry()
    with pytest.raises(PauseTimeout, match=r"^no operation was held at 'brk:before_expand'"):
        reg.wait_for_hold("brk:before_expand", timeout=0.01)


def test_actions_run_in_the_writer_without_holding() -> None:
    mm = _mm()
    seen = Record()
    mm.pauses.arm(
        "split:after_shrink", count=None, hold=False, action=lambda h: seen.append(_layout(mm))
    )
    mm.munmap(BASE + 2 * PG, 2 * PG)  # two splits
    assert seen.snapshot() == [
        [(2, 8)],  # first split: [0, 2) cut off below, the original shrunk in place
        [(0, 2), (2, 4)],  # second split: [4, 8) cut off above
    ]
    assert mm.pauses.statistics().points["split:after_shrink"].holds == 0


def test_mremap_and_brk_points() -> None:
    mm = _mm(4)
    mm.pauses.arm("mremap:before_unmap_source")
    dest = BASE + 16 * PG
    worker = spawn(mm.mremap, BASE, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dest)
    held = mm.pauses.wait_for_hold("mremap:before_unmap_source")
    assert held.op == "mremap"
    assert _layout(mm) == [(0, 4), (16, 20)]  # visible at both places
    mm.pauses.release(held)
    assert worker.result() == dest
    assert _layout(mm) == [(16, 20)]

    brk0 = mm.cur_brk
    mm.pauses.arm("brk:before_expand")
    grower = spawn(mm.brk, brk0 + 2 * PG)
    held = mm.pauses.wait_for_hold("brk:before_expand")
    assert held.op == "brk"
    mm.pauses.release(held)
    assert grower.result() == brk0 + 2 * PG


def test_legacy_pause_hook_still_works() -> None:
    mm = _mm()
    names = Record()
    mm._pause_hook = lambda m, name: names.append((m is mm, name))
    assert mm.pauses.active
    mm.munmap(BASE + PG, PG)
    assert names.snapshot() == [
        (True, "split:after_shrink"),
        (True, "split:after_shrink"),
        (True, "munmap:before_clear"),
    ]
    mm._pause_hook = None
    assert not mm.pauses.active


def test_hold_id_release_and_held_operation_fields() -> None:
    mm = _mm()
    mm.pauses.arm("munmap:before_clear")
    worker = spawn(mm.munmap, BASE, PG)
    held = mm.pauses.wait_for_hold("munmap:before_clear")
    assert isinstance(held, HeldOperation) and held.thread_id == worker.ident
    assert mm.pauses.release(held.hold_id) == 1
    worker.join()
    assert mm.pauses.statistics().points["munmap:before_clear"].timeouts == 0


def test_a_raising_action_is_counted_and_the_syscall_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mm = _mm()

    def boom(held: HeldOperation) -> None:
        raise RuntimeError("observer bug")

    mm.pauses.arm("split:after_shrink", count=None, hold=False, action=boom)
    mm.munmap(BASE + 2 * PG, 2 * PG)
    assert _layout(mm) == [(0, 2), (4, 8)]
    assert mm.pauses.statistics().points["split:after_shrink"].action_errors == 2
    assert "observer bug" in caplog.text
    mm._check()
