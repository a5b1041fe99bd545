"""``run-against``: run an unmodified tool where ``/proc/<pid>`` is a simulated process.

Tools such as ``pmap`` read ``/proc/<pid>`` and nothing else. A real placeholder
process (``sleep``) gives a pid whose ``/proc/<pid>`` exists; the tool runs in a
private mount namespace (``unshare --mount``, plus ``--user --map-root-user`` when not
root) in which the simulated process's directory of a mount (or an export) is bind
mounted over ``/proc/<placeholder>``. ``{pid}`` in the command is replaced by the
placeholder's pid, which is also in ``$VMASIM_PID``. Nothing outside the namespace
sees the bind mount; the placeholder is stopped (by its pid) when the tool exits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

PLACEHOLDER = ("sleep", "infinity")
_BIND = 'mount --bind "$1" "/proc/$2" || exit 125; shift 2; exec "$@"'


class RunAgainstError(RuntimeError):
    """The namespace could not be set up (no unshare, no permission)."""


def unshare_command() -> list[str]:
    """``unshare`` with a private mount namespace; a user namespace too when not root."""
    exe = shutil.which("unshare")
    if exe is None:
        raise RunAgainstError("unshare (util-linux) is not installed")
    cmd = [exe, "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        cmd[1:1] = ["--user", "--map-root-user"]
    return cmd


def run_against(proc_dir: str, sim_pid: int, command: Sequence[str]) -> int:
    """Run ``command`` with ``/proc/<placeholder>`` showing ``proc_dir/<sim_pid>``;
    return its exit status (125: the bind mount failed). Raises RunAgainstError when
    ``proc_dir/<sim_pid>`` is missing or unshare is unavailable."""
    source = os.path.join(os.path.abspath(proc_dir), str(sim_pid))
    if not os.path.isdir(source):
        raise RunAgainstError(f"{source} does not exist: no simulated process {sim_pid} there")
    if not command:
        raise RunAgainstError("no command to run")
    prefix = unshare_command()
    placeholder = subprocess.Popen(PLACEHOLDER, stdin=subprocess.DEVNULL)
    try:
        ppid = str(placeholder.pid)
        argv = [a.replace("{pid}", ppid) for a in command]
        env = dict(os.environ, VMASIM_PID=ppid, VMASIM_SIM_PID=str(sim_pid))
        full = [*prefix, "--", "sh", "-c", _BIND, "sh", source, ppid, *argv]
        return subprocess.run(full, env=env, check=False).returncode
    finally:
        placeholder.kill()  # by its pid
        placeholder.wait()
