#!/usr/bin/env bash
# Back up and restore every service's PostgreSQL database (the restore drill: docs/development.md).
#
#   scripts/pg_backup.sh dump DIR      pg_dump (custom format) of each database into DIR/<db>.dump
#   scripts/pg_backup.sh restore DIR   drop each database, create it again, pg_restore DIR/<db>.dump
#
# Stop the services (APIs and workers) before `restore`: it drops their databases. Then start
# them again and rebuild scoring's read model from Kafka (`kuaiche scoring rebuild`).
#
# Environment: the server as libpq reads it: PGHOST (default 127.0.0.1), PGPORT (default
# $KUAICHE_PG_PORT or 54320), PGUSER (default kuaiche, who owns the databases), PGPASSWORD
# (default kuaiche); KUAICHE_PG_BINDIR for the client tools (default: the newest
# /usr/lib/postgresql/*/bin, else PATH); KUAICHE_PG_DATABASES to name other databases.
set -euo pipefail

export PGHOST="${PGHOST:-127.0.0.1}"
export PGPORT="${PGPORT:-${KUAICHE_PG_PORT:-54320}}"
export PGUSER="${PGUSER:-kuaiche}"
export PGPASSWORD="${PGPASSWORD:-kuaiche}"
read -r -a DATABASES <<<"${KUAICHE_PG_DATABASES:-kuaiche_registry kuaiche_factors kuaiche_issues kuaiche_scoring kuaiche_notifications}"

log() { echo "pg_backup.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

bindir() {
    if [[ -n "${KUAICHE_PG_BINDIR:-}" ]]; then echo "$KUAICHE_PG_BINDIR"; return; fi
    local newest
    newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$newest" && -x "$newest/pg_dump" ]]; then echo "$newest"; return; fi
    dirname "$(command -v pg_dump || die "no pg_dump found (apt-get install -y postgresql-client)")"
}
BIN="$(bindir)"

cmd_dump() {
    local dir="$1" db
    mkdir -p "$dir"
    for db in "${DATABASES[@]}"; do
        # custom format: compressed, and pg_restore can take it in any order
        "$BIN/pg_dump" --format=custom --no-owner --file="$dir/$db.dump.tmp" "$db"
        mv "$dir/$db.dump.tmp" "$dir/$db.dump"
        log "dumped $db ($(stat -c %s "$dir/$db.dump") bytes)"
    done
}

cmd_restore() {
    local dir="$1" db
    for db in "${DATABASES[@]}"; do
        [[ -s "$dir/$db.dump" ]] || die "no dump of $db in $dir"
    done
    for db in "${DATABASES[@]}"; do
        "$BIN/dropdb" --if-exists --force --maintenance-db=postgres "$db"
        "$BIN/createdb" --maintenance-db=postgres "$db"
        # one transaction: a restore that fails leaves an empty database, not half of one
        "$BIN/pg_restore" --no-owner --single-transaction --exit-on-error --dbname="$db" \
            "$dir/$db.dump"
        log "restored $db"
    done
}

case "${1:-}" in
    dump) [[ -n "${2:-}" ]] || die "usage: $0 dump DIR"; cmd_dump "$2" ;;
    restore) [[ -n "${2:-}" ]] || die "usage: $0 restore DIR"; cmd_restore "$2" ;;
    *) echo "usage: $0 {dump|restore} DIR" >&2; exit 2 ;;
esac
