"""The off-CPU analysis of the real kernel's proc-vs-map: parsing ``perf script``."""

from __future__ import annotations

import pytest

from lab import kernel_offcpu

# Two sched_switch events of `perf record -e sched:sched_switch -g`, as
# `perf script -F tid,time,trace,ip,sym` prints them (trimmed call chains).
SCRIPT = """\
  19137 25305.182807: prev_comm=pvm prev_pid=19137 prev_prio=139 prev_state=D ==> \
next_comm=pvm next_pid=19139 next_prio=139
	ffffffff821f8b58 __schedule
	ffffffff821f94c3 schedule
	ffffffff81004a00 rwsem_down_read_slowpath
	ffffffff81004b00 lock_next_vma
	ffffffff81004c00 seq_read_iter

  19135 25305.183682: prev_comm=pvm prev_pid=19135 prev_prio=120 prev_state=D ==> \
next_comm=pvm next_pid=19142 next_prio=139
	ffffffff821f8b58 __schedule
	ffffffff81005a00 rwsem_down_write_slowpath
	ffffffff81005b00 down_write_killable
	ffffffff81005c00 vm_mmap_pgoff

  19142 25305.190854: prev_comm=pvm prev_pid=19142 prev_prio=139 prev_state=R ==> \
next_comm=pvm next_pid=19135 next_prio=120
	ffffffff821f8b58 __schedule

  19135 25305.198162: prev_comm=pvm prev_pid=19135 prev_prio=120 prev_state=R+ ==> \
next_comm=pvm next_pid=19142 next_prio=139
	ffffffff821f8b58 __schedule

  19142 25305.200162: prev_comm=pvm prev_pid=19142 prev_prio=139 prev_state=R ==> \
next_comm=pvm next_pid=19135 next_prio=120
"""


def test_parse_groups_the_mappers_off_cpu_time_by_wait_site() -> None:
    switches = kernel_offcpu.parse_switches(SCRIPT.splitlines())
    assert [(s.prev, s.state, s.next) for s in switches] == [
        (19137, "D", 19139),
        (19135, "D", 19142),
        (19142, "R", 19135),
        (19135, "R+", 19142),
        (19142, "R", 19135),
    ]
    assert switches[1].stack[1:3] == ["rwsem_down_write_slowpath", "down_write_killable"]
    intervals = kernel_offcpu.off_cpu(switches, 19135)
    assert intervals.keys() == {"rwsem_down_write_slowpath", "R+"}
    assert intervals["rwsem_down_write_slowpath"] == [pytest.approx(0.007172)]
    assert intervals["R+"] == [pytest.approx(0.002)]
    # The scanner blocked in its lock_next_vma fallback (down_read behind the writer).
    assert kernel_offcpu.blocking_sites(switches, 139) == {"lock_next_vma": 1}
    (first, second) = kernel_offcpu.summary(intervals)
    assert first == {
        "site": "rwsem_down_write_slowpath",
        "n": 1,
        "total_ms": 7.2,
        "p50_ms": 7.17,
        "max_ms": 7.17,
    }
    assert second["site"] == "R+"
