"""``run-against``: run an unmodified tool where ``/proc/<pid>`` is a simulated process.

Tools such as ``pmap`` read ``/proc/<pid>`` and nothing else, and take the pid they
then use from the files themselves (``Tgid:``). So the tool runs in a new pid and mount
namespace (``unshare --pid --fork --mount --mount-proc``, plus ``--user
--map-root-user`` when not root) with its own ``/proc``; there a placeholder process
(``sleep``) is started with exactly the simulated pid (``ns_last_pid`` set to the pid
before it, as checkpoint/restore does), and the simulated process's directory of a
mount (or an export) is bind mounted over ``/proc/<pid>``. ``{pid}`` in the command is
the simulated pid (also ``$VMASIM_PID``). Nothing outside the namespaces sees any of
it; when the command exits, the namespace's init (the shell) exits and the kernel ends
the placeholder with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

EXIT_SETUP = 125
"""The command's exit status when the namespace could not be set up."""
_SETUP = """
echo $(($2 - 1)) > /proc/sys/kernel/ns_last_pid || exit 125
sleep infinity &
if [ "$!" != "$2" ]; then echo "run-against: the placeholder got pid $!, not $2" >&2; exit 125; fi
mount --bind "$1" "/proc/$2" || exit 125
shift 2
"$@"
"""


class RunAgainstError(RuntimeError):
    """The namespace could not be set up (no unshare, no permission)."""


def unshare_command() -> list[str]:
    """``unshare`` with new pid and mount namespaces and a fresh ``/proc``; a user
    namespace too when not root."""
    exe = shutil.which("unshare")
    if exe is None:
        raise RunAgainstError("unshare (util-linux) is not installed")
    cmd = [exe, "--pid", "--fork", "--mount", "--mount-proc", "--propagation", "private"]
    if os.geteuid() != 0:
        cmd[1:1] = ["--user", "--map-root-user"]
    return cmd


def run_against(proc_dir: str, sim_pid: int, command: Sequence[str]) -> int:
    """Run ``command`` where ``/proc/<sim_pid>`` shows ``proc_dir/<sim_pid>``; return its
    exit status (:data:`EXIT_SETUP` if the namespace could not be set up). Raises
    RunAgainstError when ``proc_dir/<sim_pid>`` is missing or unshare is unavailable."""
    source = os.path.join(os.path.abspath(proc_dir), str(sim_pid))
    if not os.path.isdir(source):
        raise RunAgainstError(f"{source} does not exist: no simulated process {sim_pid} there")
    if not command:
        raise RunAgainstError("no command to run")
    if not 1 < sim_pid < 4194304:
        raise RunAgainstError(f"pid {sim_pid} cannot be given to a placeholder")
    argv = [a.replace("{pid}", str(sim_pid)) for a in command]
    env = dict(os.environ, VMASIM_PID=str(sim_pid))
    full = [*unshare_command(), "--", "sh", "-c", _SETUP, "sh", source, str(sim_pid), *argv]
    return subprocess.run(full, env=env, check=False).returncode
