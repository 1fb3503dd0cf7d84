#!/usr/bin/env bash
# Re-resolve the dependency locks from pyproject.toml (uv, installed in .venv by bootstrap.sh):
#
#   scripts/lock.sh                    keep every pin that still satisfies pyproject.toml
#   scripts/lock.sh --upgrade          move every pin to the newest allowed version
#   scripts/lock.sh --upgrade-package fastapi
#
# requirements/runtime.lock is what the image installs; requirements/dev.lock adds the dev tools
# (what scripts/bootstrap.sh, and so the tests and CI, install). Commit both, then run the tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV="${UV:-.venv/bin/uv}"
[[ -x "$UV" ]] || UV="$(command -v uv)" || { echo "lock.sh: uv not found (scripts/bootstrap.sh installs it)" >&2; exit 1; }
common=(--universal --python-version 3.11 --generate-hashes --quiet "$@")
"$UV" pip compile pyproject.toml "${common[@]}" -o requirements/runtime.lock
"$UV" pip compile pyproject.toml --extra dev "${common[@]}" -o requirements/dev.lock
echo "lock.sh: requirements/runtime.lock and requirements/dev.lock updated" >&2
