#!/bin/bash
# bench/edge_load.sh - PostgreSQL -> SQLite initial load (make bench-edge).
#
# N prospects (default 1,000,000; conf/edge.sql's 18 columns, realistic
# widths) in a throwaway PostgreSQL cluster are loaded into an empty edge file
# (conf/edge-sqlite.sql) twice, each into a fresh file:
#   - by syncengine with the shipped conf/edge.ini (job to_edge, after
#     `syncengine setup`), the way a first sync runs;
#   - by the limit measured in the same run: the `sqlite3` shell's `.import`
#     of the same rows, exported beforehand as CSV (the export is not timed),
#     into the same schema.
# Prints wall time, rows per second and peak RSS of each, and the ratio.
#
#   bench/edge_load.sh [ROWS]          (or EDGE_ROWS=N)
#
# Environment: O (build directory, default build), PG_BINDIR, TMPDIR.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
rows=${1:-${EDGE_ROWS:-1000000}}
[ -x "$O/syncengine" ] || { echo "bench: $O/syncengine not found (run make first)" >&2; exit 2; }
for c in psql sqlite3 /usr/bin/time; do
    command -v $c >/dev/null 2>&1 || { echo "bench: $c not found" >&2; exit 2; }
done

_at_exit_cmds=""
at_exit() { _at_exit_cmds="$1; $_at_exit_cmds"; }
trap 'eval "$_at_exit_cmds"' EXIT
trap 'exit 130' INT TERM
W=$(mktemp -d "${TMPDIR:-/tmp}/syncengine-bench-edge.XXXXXX") || exit 1
chmod 755 "$W"
at_exit 'rm -rf "$W"'

. "$top/bench/lib/edge.sh"
edge_prospects

measure() { # NAME COMMAND...: runs it; appends "NAME seconds peak_kib" to $W/results
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$W/time.$name" "$@" >"$W/out.$name" 2>&1 || {
        tail -n 20 "$W/out.$name" >&2
        echo "bench: $name failed" >&2
        exit 1
    }
    echo "$name $(cat "$W/time.$name")" >>"$W/results"
}

# the limit: sqlite3 .import into the same schema
sqlite3 "$W/import.db" <"$top/conf/edge-sqlite.sql" >/dev/null || exit 1
echo "bench: sqlite3 .import" >&2
measure import sqlite3 "$W/import.db" ".mode csv" ".import $W/prospects.csv prospects"
[ "$(sqlite3 "$W/import.db" "SELECT count(*) FROM prospects")" = "$rows" ] || { echo "bench: .import lost rows" >&2; exit 1; }

# syncengine with the shipped configuration
export EDGE_SQLITE_PATH=$W/engine.db
sqlite3 "$EDGE_SQLITE_PATH" <"$top/conf/edge-sqlite.sql" >/dev/null || exit 1
"$O/syncengine" setup -c "$top/conf/edge.ini" --state-dir "$W/state" >/dev/null || exit 1
echo "bench: syncengine run to_edge" >&2
SYNCENGINE_NO_PROGRESS=1 measure engine "$O/syncengine" run to_edge -c "$top/conf/edge.ini" --state-dir "$W/state"
[ "$(sqlite3 "$EDGE_SQLITE_PATH" "SELECT count(*) FROM prospects")" = "$rows" ] || { echo "bench: the engine lost rows" >&2; exit 1; }
# the same rows, byte for byte
sel="SELECT id, name, city, country, contact_name, contact_email, contact_title, phone, website, linkedin_url, stage,
     tier, score, lead_source, email_bounced, archived, created_at, updated_at FROM prospects ORDER BY id"
[ "$(sqlite3 "$W/import.db" "$sel" | md5sum)" = "$(sqlite3 "$EDGE_SQLITE_PATH" "$sel" | md5sum)" ] ||
    { echo "bench: the two files differ" >&2; exit 1; }

python3 - "$W/results" "$rows" <<'PY'
import sys
res = {}
for line in open(sys.argv[1]):
    name, secs, kib = line.split()
    res[name] = (float(secs), int(kib))
n = int(sys.argv[2])
print("PostgreSQL -> SQLite initial load, %d rows (conf/edge.ini prospects, 18 columns)" % n)
print()
print("| method | seconds | rows/s | peak RSS |")
print("|---|---:|---:|---:|")
for name, label in (("engine", "syncengine run to_edge"), ("import", "sqlite3 .import (limit)")):
    s, k = res[name]
    print("| %s | %.2f | %.0f | %.1f MiB |" % (label, s, n / s if s else 0, k / 1024))
e, i = res["engine"][0], res["import"][0]
print()
print("engine rate / .import rate: %.2f (target: at least 0.50)" % (i / e if e else 0))
PY
