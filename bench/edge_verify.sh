#!/bin/bash
# bench/edge_verify.sh - `syncengine verify` of the edge sync's prospects
# (make bench-edge, after bench/edge_load.sh).
#
# N prospects (default 1,000,000; conf/edge.sql's 18 columns, the rows of
# bench/edge_load.sh) in a throwaway PostgreSQL cluster and the same rows in
# an edge SQLite file (conf/edge-sqlite.sql, filled by the sqlite3 shell's
# .import: the load itself is bench/edge_load.sh's subject).  Then, with the
# shipped conf/edge.ini:
#   - verify of identical tables (target: under 10 s), exit 0;
#   - verify after 10 differences made in the edge file behind the engine's
#     back (4 changed, 3 deleted, 3 added; target: under 15 s), exit 8 with
#     exactly those 10 listed;
# each with its wall time, peak RSS (target: under 64 MiB) and the rows it
# fetched, printed as a table.
#
#   bench/edge_verify.sh [ROWS]          (or EDGE_ROWS=N)
#
# Environment: O (build directory, default build), PG_BINDIR, TMPDIR.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
rows=${1:-${EDGE_ROWS:-1000000}}
[ -x "$O/syncengine" ] || { echo "bench: $O/syncengine not found (run make first)" >&2; exit 2; }
for c in psql sqlite3 python3 /usr/bin/time; do
    command -v $c >/dev/null 2>&1 || { echo "bench: $c not found" >&2; exit 2; }
done

_at_exit_cmds=""
at_exit() { _at_exit_cmds="$1; $_at_exit_cmds"; }
trap 'eval "$_at_exit_cmds"' EXIT
trap 'exit 130' INT TERM
W=$(mktemp -d "${TMPDIR:-/tmp}/syncengine-bench-verify.XXXXXX") || exit 1
chmod 755 "$W"
at_exit 'rm -rf "$W"'

. "$top/bench/lib/edge.sh"
edge_prospects
export EDGE_SQLITE_PATH=$W/edge.db
sqlite3 "$EDGE_SQLITE_PATH" <"$top/conf/edge-sqlite.sql" >/dev/null || exit 1
echo "bench: the same rows into the edge file (.import)" >&2
sqlite3 "$EDGE_SQLITE_PATH" ".mode csv" ".import $W/prospects.csv prospects" || exit 1
[ "$(sqlite3 "$EDGE_SQLITE_PATH" "SELECT count(*) FROM prospects")" = "$rows" ] || { echo "bench: .import lost rows" >&2; exit 1; }
rm -f "$W/prospects.csv"

verify() { # NAME EXPECTED_EXIT: verify to_edge; appends "NAME seconds peak_kib rows_fetched diffs" to $W/results
    local code=0
    /usr/bin/time -f "%e %M" -o "$W/time.$1" "$O/syncengine" verify to_edge -c "$top/conf/edge.ini" \
        --state-dir "$W/state" --json >"$W/out.$1" 2>"$W/err.$1" || code=$?
    [ "$code" = "$2" ] || { cat "$W/err.$1" >&2; tail -n 30 "$W/out.$1" >&2; echo "bench: verify $1 exit $code, expected $2" >&2; exit 1; }
    echo "$1 $(tail -n 1 "$W/time.$1") $(python3 - "$W/out.$1" <<'PY'
import json, sys
s = [x for x in json.load(open(sys.argv[1]))["jobs"][0]["streams"] if x["stream"] == "prospects"][0]
print(s["rows_fetched"], s["n_missing"] + s["n_extra"] + s["n_different"], s["source_rows"], s["target_rows"],
      s["source_summary_ms"], s["target_summary_ms"], s.get("split_ms", 0), s.get("fetch_ms", 0), s["ranges_summed"])
PY
)" >>"$W/results"
}
echo "bench: verify, identical" >&2
verify identical 0
echo "bench: verify, 10 differences" >&2
python3 - "$EDGE_SQLITE_PATH" <<'PY' || exit 1
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
ids = [r[0] for r in c.execute("SELECT id FROM prospects ORDER BY id")]
n = len(ids)
for k in (1, 3, 5, 7):                       # changed
    c.execute("UPDATE prospects SET name = name || ' (edited at the edge)' WHERE id = ?", (ids[n * k // 9],))
for k in (2, 4, 8):                          # deleted
    c.execute("DELETE FROM prospects WHERE id = ?", (ids[n * k // 9 + 1],))
for k in range(3):                           # added
    c.execute("INSERT INTO prospects (id, name) VALUES (?, 'only at the edge')", ("edge-only-%d" % k,))
c.commit()
PY
verify ten 8
grep -q '^ten .* 10 ' "$W/results" || { cat "$W/results" >&2; echo "bench: verify did not find exactly 10 differences" >&2; exit 1; }

printf '\n| verify of %s rows (conf/edge.ini, to_edge) | wall s | target | peak RSS MiB | target | rows fetched | differences | PostgreSQL summaries s | SQLite summaries s | splits s | fetches s | ranges summed |\n' "$rows"
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
while read -r name secs kib fetched diffs src dst src_ms dst_ms split_ms fetch_ms summed; do
    case $name in identical) what="identical tables"; target=10 ;; *) what="10 differences"; target=15 ;; esac
    printf '| %s (PostgreSQL %s rows, edge %s) | %s | < %s | %.1f | < 64 | %s | %s | %.1f | %.1f | %.1f | %.1f | %s |\n' \
        "$what" "$src" "$dst" "$secs" "$target" "$(echo "$kib / 1024" | bc -l)" "$fetched" "$diffs" \
        "$(echo "$src_ms / 1000" | bc -l)" "$(echo "$dst_ms / 1000" | bc -l)" "$(echo "$split_ms / 1000" | bc -l)" \
        "$(echo "$fetch_ms / 1000" | bc -l)" "$summed"
done <"$W/results"
