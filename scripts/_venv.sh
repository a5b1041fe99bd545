# Sourced by the scripts in scripts/: make .venv match requirements-dev.lock, then put
# .venv/bin first on PATH.
#
# The lock pins every package of the development install (the project's dependencies
# and its dev extra, for Python 3.11 on Linux x86-64) with their hashes; pyproject.toml
# keeps the >= ranges we claim to support. The stamp names the hash of the lock, of
# pyproject.toml and of this file: when any of them changes, .venv is rebuilt from
# scratch, so it holds exactly what the lock says (nothing left over from an older
# lock). Two scripts starting at once on a fresh clone take turns (flock).
# scripts/lock refreshes the lock. Then the engine is compiled (below).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOCK=requirements-dev.lock
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
    done
fi
stamp=".venv/.installed-$(cat "$LOCK" pyproject.toml scripts/_venv.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    exec 9>"$ROOT/.venv.flock"
    flock 9
    if [ ! -f "$stamp" ]; then  # another script may have built it while we waited
        echo "scripts: installing .venv from $LOCK (first run: a few minutes)" >&2
        "$PY" -m venv --clear .venv
        pip=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
        # --no-compile: no .pyc for the whole of every package up front (ray alone has
        # thousands of modules); Python writes them for the modules imported, on first
        # import (docs/performance.md, "The suite's wall time").
        "${pip[@]}" install --require-hashes --no-deps --no-compile -r "$LOCK"
        "${pip[@]}" install --no-deps --editable .
        if ! "${pip[@]}" check >&2; then
            echo "scripts: $LOCK does not satisfy pyproject.toml: run scripts/lock" >&2
            exit 1
        fi
        touch "$stamp"
    fi
    exec 9>&-
fi
# The compiled engine (hatch_build.py): core/ compiled in place by the lock's mypyc, again
# whenever its sources changed since the last build (checking costs one hash of them);
# without a C compiler the engine stays pure Python. Under the same lock as the install.
if ! .venv/bin/python hatch_build.py --check; then
    exec 9>"$ROOT/.venv.flock"
    flock 9
    .venv/bin/python hatch_build.py --inplace
    exec 9>&-
fi
export PATH="$ROOT/.venv/bin:$PATH"
