# tests/lib/edge.sh - the shipped edge sync's scenario (conf/edge.ini), shared by
# the tests that run it with the edge in a SQLite file (edge_conf.sh) and on D1
# (edge_d1.sh).  Sourced after pgcluster.sh with q() (SQL at the edge), the
# cluster started and conf/edge.sql and conf/edge-sqlite.sql applied.

ini=$top/conf/edge.ini
eng() { $SYNCENGINE "$@" -c "$ini" --state-dir "$T/state"; }
run() { # [args]: both jobs once; output in $T/out.log
    local code=0
    eng --once "$@" >"$T/out.log" 2>&1 || code=$?
    cat "$T/out.log" >>"$T/engine.log"
    [ "$code" = 0 ] || { cat "$T/out.log" >&2; die "run exited $code"; }
}
done_of() { grep "job=$1 .*stream=$2 .*done:" "$T/out.log" | sed 's/.*done: //'; }

# both sides as text, PostgreSQL's timestamps and booleans in the edge's notation
ts() { echo "to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"; }
ts_ms() { echo "to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"; }
compare() { # ROWS WHAT: every row of the four tables alike on both sides
    pg_psql -c "SELECT id, email, name, daily_limit, status, $(ts created_at), $(ts updated_at) FROM mailboxes ORDER BY id" >"$T/pg"
    q "SELECT id, email, name, daily_limit, status, created_at, updated_at FROM mailboxes ORDER BY id" >"$T/edge"
    pg_psql -c "SELECT id, name, status, mailbox_id, $(ts created_at), $(ts updated_at) FROM campaigns ORDER BY id" >>"$T/pg"
    q "SELECT id, name, status, mailbox_id, created_at, updated_at FROM campaigns ORDER BY id" >>"$T/edge"
    pg_psql -c "SELECT id, name, city, country, contact_name, contact_email, contact_title, phone, website, linkedin_url,
                stage, tier, score, lead_source, email_bounced::int, archived::int, $(ts created_at), $(ts updated_at)
                FROM prospects ORDER BY id" >>"$T/pg"
    q "SELECT id, name, city, country, contact_name, contact_email, contact_title, phone, website, linkedin_url,
       stage, tier, score, lead_source, email_bounced, archived, created_at, updated_at FROM prospects ORDER BY id" >>"$T/edge"
    # emails are stamped at the edge in milliseconds
    local e="" c
    for c in sent_at opened_at clicked_at replied_at bounced_at created_at updated_at; do e="$e, $(ts_ms $c)"; done
    pg_psql -c "SELECT id, prospect_id, campaign_id, subject, body, to_email, from_email, message_id, direction, status
                $e FROM emails ORDER BY id" >>"$T/pg"
    e=""
    for c in sent_at opened_at clicked_at replied_at bounced_at created_at updated_at; do
        e="$e, strftime('%Y-%m-%dT%H:%M:%fZ', $c)"
    done
    q "SELECT id, prospect_id, campaign_id, subject, body, to_email, from_email, message_id, direction, status $e
       FROM emails ORDER BY id" >>"$T/edge"
    diff -u "$T/pg" "$T/edge" || die "the two sides differ: $2"
    [ "$(wc -l <"$T/pg")" = "$1" ] || die "$(wc -l <"$T/pg") rows on each side, expected $1: $2"
}

# the first run after setup: mailboxes, campaigns and prospects to the edge, emails back
edge_first_run() {
    for t in mailboxes campaigns prospects; do
        grep -q "^source 'app' (postgres): stream to_edge.$t is set up$" "$T/setup.out" || { cat "$T/setup.out" >&2; die "setup: $t"; }
    done
    pg_psql -c "INSERT INTO mailboxes (id, email, name) VALUES ('m1', 'a@x.test', 'A'), ('m2', 'b@x.test', NULL);
    INSERT INTO campaigns (id, name, mailbox_id) VALUES ('c1', 'Spring', 'm1'), ('c2', 'Fall', 'm2');
    INSERT INTO prospects (id, name, city, country, contact_name, contact_email, score, email_bounced)
    SELECT 'p' || i, 'Prospect ' || i, 'City ' || i, 'NL', 'Contact ' || i, 'c' || i || '@p.test', i * 10, i % 2 = 0
    FROM generate_series(1, 12) i;"
    q "INSERT INTO emails (id, prospect_id, campaign_id, subject, body, to_email, from_email, message_id, status, sent_at)
       VALUES ('e1', 'p1', 'c1', 'Hi', 'Hello there', 'c1@p.test', 'a@x.test', '<m1@x>', 'sent', '2026-01-02T03:04:05.678Z'),
              ('e2', 'p2', 'c1', 'Hi', 'Hello \"2\"', 'c2@p.test', 'a@x.test', '<m2@x>', 'sent', NULL);"
    sleep 1.1
    run
    [ "$(done_of to_edge prospects)" = "12 read, 12 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] ||
        die "prospects: $(done_of to_edge prospects)"
    [ "$(done_of from_edge emails)" = "2 read, 2 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] ||
        die "emails: $(done_of from_edge emails)"
    compare 18 "after the first run"
}

# plain SQL on both sides, an idle run and a full resync
edge_changes() {
    note "plain SQL on both sides: updates, a hard delete, inserts"
    local before ebefore
    before=$(pg_psql -c "SELECT updated_at FROM prospects WHERE id = 'p3'")
    pg_psql -c "UPDATE prospects SET stage = 'contacted', archived = true WHERE id = 'p3';
    DELETE FROM prospects WHERE id = 'p4';
    INSERT INTO prospects (id, name) VALUES ('p13', 'New one');
    UPDATE mailboxes SET daily_limit = 80 WHERE id = 'm2'"
    [ "$(pg_psql -c "SELECT updated_at > '$before' FROM prospects WHERE id = 'p3'")" = t ] || die "PostgreSQL's trigger did not move updated_at"
    ebefore=$(q "SELECT updated_at FROM emails WHERE id = 'e1'")
    sleep 0.01
    q "UPDATE emails SET status = 'opened', opened_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = 'e1';
       INSERT INTO emails (prospect_id, subject, message_id) VALUES ('p13', 'Third', '<m3@x>');"
    [ "$(q "SELECT updated_at > '$ebefore' FROM emails WHERE id = 'e1'")" = 1 ] || die "the edge's trigger did not move updated_at"
    sleep 1.1
    run
    [ "$(done_of to_edge prospects)" = "3 read, 1 inserted, 1 updated, 0 unchanged, 1 deleted, 0 failed" ] ||
        die "prospects: $(done_of to_edge prospects)"
    [ "$(done_of from_edge emails)" = "2 read, 1 inserted, 1 updated, 0 unchanged, 0 deleted, 0 failed" ] ||
        die "emails: $(done_of from_edge emails)"
    compare 19 "after the changes"
    [ "$(q "SELECT count(*) FROM prospects WHERE id = 'p4'")" = 0 ] || die "the hard delete did not reach the edge"

    note "an idle run reads nothing; a full resync rewrites nothing"
    run
    for s in "to_edge mailboxes" "to_edge campaigns" "to_edge prospects" "from_edge emails"; do
        [ "$(done_of $s)" = "0 read, 0 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "idle $s: $(done_of $s)"
    done
    run --full-refresh
    [ "$(done_of to_edge prospects)" = "12 read, 0 inserted, 0 updated, 12 unchanged, 0 deleted, 0 failed" ] ||
        die "full resync of prospects: $(done_of to_edge prospects)"
    compare 19 "after the full resync"
}
