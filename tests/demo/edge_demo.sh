#!/bin/sh
# tests/demo/edge_demo.sh - `make demo-edge`: the edge sync (conf/edge.ini) on a
# laptop, with verify.
#
# Starts a throwaway PostgreSQL with conf/edge.sql and an edge SQLite file with
# conf/edge-sqlite.sql, fills PostgreSQL with a few prospects, campaigns and
# mailboxes and the edge with emails, runs both jobs (to_edge and from_edge),
# then changes rows behind the engine's back in the SQLite file (an edit, a
# deleted row, a stray row) and writes an email
# whose prospect does not exist and a duplicate message id; `syncengine
# verify` finds all of it, `verify --fix` repairs what differs, and a last
# verify shows what only the integrity rules still report.  Stops everything
# it started.
#
#   DEMO_PROSPECTS   how many prospects (default 500)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }

say "building"
make -s -j"$(nproc 2>/dev/null || echo 2)" O="$O"

. "$top/tests/lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
unset SYNCENGINE_NO_PROGRESS
command -v sqlite3 >/dev/null || { echo "demo-edge: the sqlite3 shell is needed (apt-get install sqlite3)" >&2; exit 2; }

say "a throwaway PostgreSQL (conf/edge.sql) and an edge file (conf/edge-sqlite.sql)"
pg_start
at_exit pg_stop
psql -X -q -v ON_ERROR_STOP=1 -f conf/edge.sql >/dev/null
export EDGE_SQLITE_PATH="$T/edge.db" EDGE_SETTLE=1s
sqlite3 "$EDGE_SQLITE_PATH" <conf/edge-sqlite.sql >/dev/null
n=${DEMO_PROSPECTS:-500}
psql -X -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO mailboxes (id, email, name) SELECT 'mb-' || i, 'sender' || i || '@example.com', 'Sender ' || i
  FROM generate_series(1, 3) i;
INSERT INTO campaigns (id, name, status, mailbox_id) SELECT 'cp-' || i, 'Campaign ' || i, 'active', 'mb-' || (1 + i % 3)
  FROM generate_series(1, 5) i;
INSERT INTO prospects (id, name, city, country, contact_email, stage, tier, score)
  SELECT md5(i::text)::uuid::text, 'Prospect ' || i, 'City ' || (i % 40), 'NL', 'contact' || i || '@example.com',
         (ARRAY['new', 'contacted', 'replied'])[1 + i % 3], (ARRAY['A', 'B', 'C'])[1 + i % 3], i % 100
  FROM generate_series(1, $n) i;
SQL
ini=conf/edge.ini
eng() { show "syncengine $*"; "$O/syncengine" "$@" --state-dir "$T/state" || true; }
eng setup -c "$ini" >/dev/null

say "to_edge: prospects, campaigns, mailboxes go to the edge"
eng run to_edge -c "$ini" --log-level warn
printf 'edge file: %s prospects, %s campaigns, %s mailboxes\n' "$(sqlite3 "$EDGE_SQLITE_PATH" "SELECT count(*) FROM prospects")" \
    "$(sqlite3 "$EDGE_SQLITE_PATH" "SELECT count(*) FROM campaigns")" "$(sqlite3 "$EDGE_SQLITE_PATH" "SELECT count(*) FROM mailboxes")"

say "from_edge: emails written at the edge come back"
p1=$(sqlite3 "$EDGE_SQLITE_PATH" "SELECT id FROM prospects ORDER BY id LIMIT 1")
sqlite3 "$EDGE_SQLITE_PATH" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
  INSERT INTO emails (id, prospect_id, campaign_id, subject, to_email, from_email, message_id, direction, status,
                      sent_at, created_at, updated_at)
  SELECT 'em-' || i, '$p1', 'cp-1', 'Hello ' || i, 'contact@example.com', 'sender1@example.com', '<m' || i || '@edge>',
         'outbound', 'sent', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute'),
         strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute') FROM n"
eng run from_edge -c "$ini" --log-level warn
printf 'PostgreSQL: %s emails\n' "$(psql -X -qtA -c "SELECT count(*) FROM emails")"

say "verify: both directions agree"
eng verify -c "$ini"

say "behind the engine's back, in the SQLite file"
show "UPDATE prospects SET name = 'Renamed at the edge'; DELETE a prospect; INSERT a stray campaign"
sqlite3 "$EDGE_SQLITE_PATH" "UPDATE prospects SET name = 'Renamed at the edge' WHERE id IN (SELECT id FROM prospects ORDER BY id LIMIT 2 OFFSET 10);
  DELETE FROM prospects WHERE id = (SELECT id FROM prospects ORDER BY id LIMIT 1 OFFSET 20);
  INSERT INTO campaigns (id, name, status, mailbox_id) VALUES ('cp-stray', 'Stray', 'active', 'mb-1')"
show "INSERT an email whose prospect does not exist, and one with a message id already used"
sqlite3 "$EDGE_SQLITE_PATH" "INSERT INTO emails (id, prospect_id, campaign_id, subject, to_email, from_email, message_id,
                             direction, status, sent_at, created_at, updated_at)
  VALUES ('em-orphan', 'no-such-prospect', 'cp-1', 'Lost', 'x@example.com', 'sender1@example.com', '<orphan@edge>',
          'outbound', 'sent', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute'),
          strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute')),
         ('em-dup', '$p1', 'cp-1', 'Twice', 'x@example.com', 'sender1@example.com', '<m7@edge>',
          'outbound', 'sent', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute'),
          strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute'))"
eng run from_edge -c "$ini" --log-level warn

say "verify finds it"
eng verify -c "$ini"

say "verify --fix repairs through the jobs' own write path"
eng verify to_edge -c "$ini" --fix

say "verify again: the rows agree; the integrity rules still report what only people can decide"
eng verify -c "$ini"
say "the history of verify runs (kept in each sink's database)"
eng verify -c "$ini" --history
