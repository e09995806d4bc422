# tests/lib/pgbouncer.sh - a PgBouncer in front of the throwaway cluster
# (tests/lib/pgcluster.sh), for tests of the sink through a pooler.
#
# pgb_start MODE [POOL_SIZE]: starts /usr/sbin/pgbouncer (Debian package
# `pgbouncer`) on a free loopback port with pool_mode MODE (transaction or
# session) and trust authentication, forwarding database "postgres" to the
# cluster's socket, and sets PGB_URL to a postgresql:// URL through it.  The
# pooler runs as the "postgres" OS user when the tests run as root.  pgb_stop
# stops it (registered with at_exit).  Returns 77 (skip) without pgbouncer,
# except in CI.
PGB_BIN=${PGB_BIN:-/usr/sbin/pgbouncer}

pgb_start() {
    _mode=$1; _pool=${2:-2}
    if [ ! -x "$PGB_BIN" ]; then
        echo "pgbouncer: $PGB_BIN not found (Debian package pgbouncer)" >&2
        _pg_skip; return
    fi
    PGB_DIR="$PGCLUSTER_DIR/pgbouncer-$_mode"
    mkdir -p "$PGB_DIR"
    PGB_PORT=$(_pg_free_port) || return 1
    echo '"postgres" ""' >"$PGB_DIR/users.txt"
    for u in ${PGB_USERS:-}; do echo "\"$u\" \"\"" >>"$PGB_DIR/users.txt"; done
    cat >"$PGB_DIR/pgbouncer.ini" <<INI
[databases]
postgres = host=$PGCLUSTER_DIR port=$PGPORT dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/users.txt
pool_mode = $_mode
default_pool_size = $_pool
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = $PGB_DIR/pgbouncer.log
pidfile = $PGB_DIR/pgbouncer.pid
INI
    [ "$(id -u)" = 0 ] && chown -R postgres: "$PGB_DIR"
    _pg_run "$PGB_BIN" -d "$PGB_DIR/pgbouncer.ini" >/dev/null 2>&1 || {
        echo "pgbouncer did not start: $(tail -n 5 "$PGB_DIR/pgbouncer.log" 2>/dev/null)" >&2
        return 1
    }
    at_exit pgb_stop
    PGB_URL="postgresql://postgres@127.0.0.1:$PGB_PORT/postgres"
    _i=0
    until psql -X -q -A -t -d "$PGB_URL" -c "SELECT 1" >/dev/null 2>&1; do
        _i=$((_i + 1)); [ $_i -gt 50 ] && { echo "pgbouncer does not answer on port $PGB_PORT" >&2; return 1; }
        sleep 0.1
    done
    export PGB_URL PGB_PORT PGB_DIR
}

pgb_stop() {
    [ -n "${PGB_DIR:-}" ] && [ -f "$PGB_DIR/pgbouncer.pid" ] || return 0
    kill "$(cat "$PGB_DIR/pgbouncer.pid")" 2>/dev/null
    _i=0
    while [ -f "$PGB_DIR/pgbouncer.pid" ] && [ $_i -lt 50 ]; do _i=$((_i + 1)); sleep 0.1; done
    return 0
}
