# What scripts/postgres.sh and scripts/kafka.sh share: messages, a port probe, the lock that
# serializes start/stop/reset of a server on its port, and the subcommands they both take.
# Sourced, not run. Before sourcing, the script sets
#   SERVER  the server's name (postgres, kafka): messages begin "$SERVER.sh:", the lock is
#           /tmp/kuaiche-$SERVER-$PORT.lock
#   PORT    the server's TCP port on 127.0.0.1
# and it defines cmd_start, cmd_stop, cmd_status, cmd_env and cmd_reset for dispatch.
# shellcheck shell=bash

log() { echo "$SERVER.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Exit 0 when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Serialize start/stop/reset of the server on this port (concurrent test runs, two checkouts).
# The lock is fd 9: a server started under it must not inherit it (start it with 9>&-).
take_lock() {
    local lock="/tmp/kuaiche-$SERVER-$PORT.lock"
    { exec 9>>"$lock"; } 2>/dev/null || exec 9<"$lock"
    flock -w 300 9 || die "could not take $lock within 300 s"
}

# Run the subcommand "$1"; start, stop and reset under the lock.
dispatch() {
    case "${1:-}" in
        start) take_lock; cmd_start ;;
        stop) take_lock; cmd_stop ;;
        status) cmd_status ;;
        env) cmd_env ;;
        reset) take_lock; cmd_reset ;;
        *) echo "usage: $0 {start|stop|status|env|reset}" >&2; exit 2 ;;
    esac
}
