#!/usr/bin/env bash
# The test command: import contracts, lint, types, then pytest against a real PostgreSQL and Kafka.
#
#   scripts/test.sh [pytest args...]      e.g. scripts/test.sh -x -k registry tests/unit
#
# Starts the local PostgreSQL (scripts/postgres.sh) and Kafka (scripts/kafka.sh) unless
# KUAICHE_TEST_POSTGRES_URL / KUAICHE_TEST_KAFKA_BOOTSTRAP already point at servers.
# Integration tests fail instead of skipping (KUAICHE_REQUIRE_INTEGRATION=1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { echo "== $*" >&2; }

if [[ -z "${KUAICHE_TEST_POSTGRES_URL:-}" ]]; then
    step "postgres: scripts/postgres.sh start"
    scripts/postgres.sh start
    eval "$(scripts/postgres.sh env)"
fi
if [[ -z "${KUAICHE_TEST_KAFKA_BOOTSTRAP:-}" ]]; then
    step "kafka: scripts/kafka.sh start"
    scripts/kafka.sh start
    eval "$(scripts/kafka.sh env)"
fi
export KUAICHE_TEST_POSTGRES_URL KUAICHE_TEST_KAFKA_BOOTSTRAP
export KUAICHE_REQUIRE_INTEGRATION=1

step "venv: scripts/bootstrap.sh"
scripts/bootstrap.sh

step "import contracts: lint-imports"
.venv/bin/lint-imports

step "lint: ruff check ."
.venv/bin/ruff check .

step "types: mypy shared services kuaiche"
.venv/bin/mypy shared services kuaiche

step "pytest (postgres $KUAICHE_TEST_POSTGRES_URL, kafka $KUAICHE_TEST_KAFKA_BOOTSTRAP)"
exec .venv/bin/python -m pytest "$@"
