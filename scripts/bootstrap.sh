#!/usr/bin/env bash
# Create .venv and install the locked dependencies (requirements/dev.lock, exact versions with
# hashes), then the project itself, editable.
# Re-installs only when .venv is missing/broken or pyproject.toml or the lock is newer than the
# stamp. To upgrade the dependencies: scripts/lock.sh (see the README).
#
# Environment: PYTHON  interpreter to build the venv from (default: first of python3,
#                      python3.13, python3.12, python3.11 that is >= 3.11)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.kuaiche-install-stamp"

log() { echo "bootstrap.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; }

pick_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        py_ok "$PYTHON" || die "PYTHON=$PYTHON is not Python >= 3.11"
        echo "$PYTHON"; return
    fi
    local c
    for c in python3 python3.13 python3.12 python3.11; do
        if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then
            echo "$c"; return
        fi
    done
    die "no Python >= 3.11 found (apt-get install -y python3 python3-venv)"
}

if [[ ! -x "$VENV/bin/python" ]] || ! py_ok "$VENV/bin/python"; then
    py="$(pick_python)"
    log "creating $VENV with $py ($("$py" --version 2>&1))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV" || die "'$py -m venv' failed (Debian: apt-get install -y python3-venv)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
fi

LOCK="$ROOT/requirements/dev.lock"
if [[ ! -f "$STAMP" || "$ROOT/pyproject.toml" -nt "$STAMP" || "$LOCK" -nt "$STAMP" ]]; then
    log "installing the locked dependencies ($LOCK) into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$LOCK"
    log "installing the project (editable) into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT"
    touch "$STAMP"
fi

# The project's own bytecode: pip compiles what it installs, but not an editable project's
# sources, and where PYTHONDONTWRITEBYTECODE is set (this machine, the Dockerfile) no run
# writes it either, so every `kuaiche up` would compile ~170 modules again (seconds of its
# start). Only what changed since the last time is compiled.
"$VENV/bin/python" -m compileall -q -j 0 "$ROOT/kuaiche" "$ROOT/shared" "$ROOT/services" >/dev/null \
    || die "compiling the project's sources failed"

# The console's packages (console/package-lock.json, exact versions): served from our own
# origin, never from a CDN, so `npm ci` puts them in console/node_modules/.
CONSOLE="$ROOT/console"
CONSOLE_STAMP="$CONSOLE/node_modules/.kuaiche-install-stamp"
if [[ -f "$CONSOLE/package-lock.json" ]]; then
    if [[ ! -f "$CONSOLE_STAMP" || "$CONSOLE/package-lock.json" -nt "$CONSOLE_STAMP" ]]; then
        command -v npm >/dev/null 2>&1 || die "npm not found: the console needs Node.js and npm (apt-get install -y nodejs npm)"
        log "installing the console's locked packages (npm ci in $CONSOLE)"
        (cd "$CONSOLE" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $CONSOLE"
        touch "$CONSOLE_STAMP"
    fi
fi
