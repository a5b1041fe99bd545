"""The simulated machine as a procfs tree that real tools read (issue 17).

``vmasim mount DIR`` (``python -m app.procmount mount DIR``) mounts it with FUSE:
``DIR/<pid>/{maps,smaps,smaps_rollup,status,statm,stat,cmdline,comm}`` and
``DIR/{meminfo,vmstat}``, each in the kernel's format, each ``read()`` one
``seq_file`` walk of the chosen reader (:mod:`core.seq_file`, :mod:`core.proc_pid`).
Modules: :mod:`.tree` (paths, open files, reader choice, read log, counters),
:mod:`.fuse` (the libfuse binding), :mod:`.remote` (a running service as the source),
:mod:`.export` (a static copy), :mod:`.run_against` (a tool in a mount namespace).
"""
