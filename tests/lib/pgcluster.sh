# tests/lib/pgcluster.sh - a throwaway PostgreSQL cluster for integration tests.
#
# Source this file, then call pg_start: it creates a cluster with initdb in a
# fresh temporary directory, starts it listening on a unix socket in that
# directory (fsync off: the data is thrown away), and exports PGHOST, PGPORT,
# PGUSER, PGDATABASE and DATABASE_URL so that libpq clients (psql, the engine,
# the test programs) reach it without further settings.  pg_stop stops the
# server and removes the directory; pg_start installs an EXIT trap that calls
# it, so a failing test does not leave a server behind.  pg_restart stops and
# starts the same cluster (for reconnect tests), pg_psql runs psql quietly.
# When tests/lib/common.sh is loaded, pg_start registers pg_stop with its
# at_exit list instead of replacing the script's EXIT trap.
#
# initdb refuses to run as root.  When the tests run as root (CI containers),
# the server binaries run as the "postgres" OS user through runuser, and the
# temporary directory is handed to that user.  Clients connect over the
# socket with trust authentication as the database superuser "postgres".
#
# tests/run.sh makes one cluster with initdb before the tests start
# (pg_template_make) and exports PGCLUSTER_TEMPLATE; pg_start then copies it
# instead of running initdb again (0.1 s against 1.1 s of CPU, for each of
# about a hundred tests).
#
# Settings (environment): PG_BINDIR (default: the newest Debian server in
# /usr/lib/postgresql/*/bin, so another release's PostgreSQL works as well),
# PG_TCP=1 to also listen on 127.0.0.1.  pg_start returns 77 (the test
# suite's "skip") when the PostgreSQL binaries are not installed -- except in
# CI (CI set), where a missing server is a failure: a green run that skipped
# every database test would prove nothing.

_pg_default_bindir() {
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5nr); do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    echo /usr/lib/postgresql/15/bin
}
PG_BINDIR=${PG_BINDIR:-$(_pg_default_bindir)}

# The skip status, or a failure where skipping is not allowed.
_pg_skip() {
    if [ -n "${CI:-}" ]; then
        echo "pgcluster: CI is set: not skipping" >&2
        return 1
    fi
    return 77
}

# Runs a server binary as the right OS user.
_pg_run() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Prints a TCP port nobody listens on right now (also names the socket file).
_pg_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# initdb into DIR/data (DIR owned by the server's OS user), its log in DIR/initdb.log.
_pg_initdb() {
    if ! _pg_run "$PG_BINDIR/initdb" -D "$1/data" -U postgres --auth=trust \
            -E UTF8 --locale=C.UTF-8 --no-sync >"$1/initdb.log" 2>&1; then
        echo "pgcluster: initdb failed:" >&2
        cat "$1/initdb.log" >&2
        return 1
    fi
}

# Makes the cluster pg_start copies (PGCLUSTER_TEMPLATE) in a new temporary
# directory and prints its path; prints nothing when PostgreSQL is missing.
pg_template_make() {
    [ -x "$PG_BINDIR/initdb" ] || return 0
    [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1 || return 0
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/pgtemplate.XXXXXX") || return 0
    [ "$(id -u)" != 0 ] || { chown postgres: "$dir"; chmod 755 "$dir"; }
    if _pg_initdb "$dir" >/dev/null 2>&1; then echo "$dir"; else rm -rf "$dir"; fi
}

pg_start() {
    if [ ! -x "$PG_BINDIR/initdb" ] || [ ! -x "$PG_BINDIR/pg_ctl" ]; then
        echo "pgcluster: PostgreSQL binaries not found in $PG_BINDIR" >&2
        _pg_skip; return
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "pgcluster: running as root needs a \"postgres\" OS user" >&2
        _pg_skip; return
    fi
    PGCLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pgcluster.XXXXXX") || return 1
    export PGCLUSTER_DIR
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$PGCLUSTER_DIR"
        chmod 755 "$PGCLUSTER_DIR"
    fi
    if command -v at_exit >/dev/null 2>&1; then
        at_exit pg_stop
    else
        trap pg_stop EXIT
    fi

    if [ -n "${PGCLUSTER_TEMPLATE:-}" ] && [ -f "$PGCLUSTER_TEMPLATE/data/PG_VERSION" ]; then
        _pg_run cp -a "$PGCLUSTER_TEMPLATE/data" "$PGCLUSTER_DIR/data" || return 1
    elif ! _pg_initdb "$PGCLUSTER_DIR"; then
        return 1
    fi
    PGPORT=$(_pg_free_port) || return 1
    listen=""
    [ "${PG_TCP:-0}" = 1 ] && listen=127.0.0.1
    cat >>"$PGCLUSTER_DIR/data/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '$listen'
unix_socket_directories = '$PGCLUSTER_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_buffers = 32MB
log_min_messages = warning
CONF
    export PGHOST="$PGCLUSTER_DIR" PGPORT PGUSER=postgres PGDATABASE=postgres
    export DATABASE_URL="postgresql://postgres@/postgres?host=$PGCLUSTER_DIR&port=$PGPORT"
    _pg_server_start
}

_pg_server_start() {
    if ! _pg_run "$PG_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" -l "$PGCLUSTER_DIR/server.log" \
            -w -t 30 start >/dev/null; then
        echo "pgcluster: server did not start:" >&2
        cat "$PGCLUSTER_DIR/server.log" >&2
        return 1
    fi
}

# Fast shutdown: open connections are terminated (what a restart looks like to a client).
pg_server_stop() {
    [ -n "${PGCLUSTER_DIR:-}" ] && [ -d "$PGCLUSTER_DIR/data" ] || return 0
    _pg_run "$PG_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

pg_restart() {
    pg_server_stop
    _pg_server_start
}

pg_stop() {
    [ -n "${PGCLUSTER_DIR:-}" ] || return 0
    pg_server_stop
    rm -rf "$PGCLUSTER_DIR"
    PGCLUSTER_DIR=
}

pg_psql() {
    psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}
