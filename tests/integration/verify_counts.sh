#!/bin/bash
# verify_counts.sh - verify's cost grows with the differences, not the table:
#   - 100,000 identical rows (integer keys) in SQLite and PostgreSQL: the
#     source's keys cut the table into parts of 1,536 rows, each side sums
#     them all in one pass, no row leaves either database, exit 0;
#   - 3 differences (one missing, one extra, one changed) among them: the
#     bisection fetches a few hundred rows ("rows_fetched" in --json) and
#     lists exactly the three, exit 8;
#   - counts alone differ (the target lost a row and gained another): found.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

N=100000
python3 - "$db" "$T/rows.csv" "$N" <<'PY'
import sqlite3, sys
n = int(sys.argv[3])
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, value REAL, at TIMESTAMP)")
rows = [(i, "kind %d" % (i % 7), i / 8, "2024-02-%02dT10:00:00Z" % (1 + i % 28)) for i in range(1, n + 1)]
c.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
c.commit()
with open(sys.argv[2], "w") as f:
    for r in rows:
        f.write("%d,%s,%s,%s\n" % r)
PY
pg_psql -c "CREATE TABLE events (id bigint PRIMARY KEY, kind text, value numeric, at timestamptz)" >/dev/null
pg_psql -c "\\copy events FROM '$T/rows.csv' WITH (FORMAT csv)" >/dev/null

cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

[job events]
source = edge
sink = pg

[stream events.events]
object = events
target = events

[map events.events]
id = id
kind = kind
value = value
at = at
INI
verify() { # EXPECTED_EXIT: verify --json; stdout in $T/v.out
    local code=0
    $SYNCENGINE verify -c "$T/v.ini" --json >"$T/v.out" 2>"$T/v.err" || code=$?
    [ "$code" = "$1" ] || { cat "$T/v.out" "$T/v.err" >&2; die "verify: exit code $code, expected $1"; }
}
field() { python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['jobs'][0]['streams'][0]; print(eval(sys.argv[2]))" "$T/v.out" "$1"; }

note "$N identical rows: one pass of part sums, nothing fetched"
start=$(date +%s%N)
verify 0
echo "verify of $N identical rows: $(( ($(date +%s%N) - start) / 1000000 )) ms"
[ "$(field "s['status'], s['source_rows'], s['target_rows'], s['ranges_summed'], s['rows_fetched']")" = \
  "('agree', $N, $N, $((N / 1536 + 1)), 0)" ] || { cat "$T/v.out" >&2; die "identical tables"; }

note "3 differences among $N rows: bisected"
pg_psql -c "DELETE FROM events WHERE id = 12345; INSERT INTO events VALUES (100500, 'stray', 1, now());
            UPDATE events SET value = value + 0.5 WHERE id = 77777" >/dev/null
start=$(date +%s%N)
verify 8
echo "verify of $N rows with 3 differences: $(( ($(date +%s%N) - start) / 1000000 )) ms"
echo "$(field "'ranges summed %d, ranges fetched %d, rows fetched %d' % (s['ranges_summed'], s['ranges_fetched'], s['rows_fetched'])")"
[ "$(field "s['missing'], s['extra'], s['different']")" = \
  "(['12345'], ['100500'], [{'key': '77777', 'columns': ['value']}])" ] || { cat "$T/v.out" >&2; die "the three differences"; }
fetched=$(field "s['rows_fetched']")
[ "$fetched" -gt 0 ] && [ "$fetched" -le 8000 ] || die "fetched $fetched rows of $N for 3 differences"

note "counts differ only by a swap of two rows"
pg_psql -c "INSERT INTO events VALUES (12345, 'kind 4', 1543.125, '2024-02-26T10:00:00Z'); DELETE FROM events WHERE id = 100500;
            UPDATE events SET value = value - 0.5 WHERE id = 77777; DELETE FROM events WHERE id = 50000" >/dev/null
verify 8
[ "$(field "s['target_rows'], s['n_missing'], s['missing'], s['n_extra'], s['n_different']")" = \
  "($((N - 1)), 1, ['50000'], 0, 0)" ] || { cat "$T/v.out" >&2; die "one missing row"; }
echo "ok: verify counts"
