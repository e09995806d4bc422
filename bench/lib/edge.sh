# bench/lib/edge.sh - what the edge benchmarks (bench/edge_load.sh, bench/edge_verify.sh)
# share: a throwaway PostgreSQL cluster holding $rows prospects (conf/edge.sql,
# realistic widths), and the same rows exported as CSV for the sqlite3 shell's
# .import.  Sourced with $top, $rows and $W (the work directory) set.

. "$top/tests/lib/pgcluster.sh"

# Starts the cluster, fills prospects with $rows rows and writes them to $W/prospects.csv
# in conf/edge-sqlite.sql's column order and formats; exits on a failure.
edge_prospects() {
    pg_start || exit $?
    psql -X -q -v ON_ERROR_STOP=1 -f "$top/conf/edge.sql" >/dev/null || exit 1
    echo "bench: generating $rows prospects in PostgreSQL" >&2
    psql -X -q -v ON_ERROR_STOP=1 <<SQL || exit 1
ALTER TABLE prospects DISABLE TRIGGER prospects_touch;
INSERT INTO prospects (id, name, city, country, contact_name, contact_email, contact_title, phone, website,
                       linkedin_url, stage, tier, score, lead_source, email_bounced, archived, created_at, updated_at)
SELECT md5(i::text)::uuid::text, 'Prospect company ' || i, 'City ' || (i % 997), 'NL', 'Contact person ' || i,
       'contact' || i || '@prospect' || (i % 5000) || '.example', 'Head of sales', '+31 20 ' || (1000000 + i),
       'https://prospect' || i || '.example', 'https://www.linkedin.com/company/prospect' || i,
       (ARRAY['new', 'contacted', 'replied', 'won'])[1 + i % 4], (ARRAY['A', 'B', 'C'])[1 + i % 3], i % 100,
       'import', i % 17 = 0, i % 23 = 0,
       timestamptz '2025-01-01' + i * interval '1 second', timestamptz '2025-06-01' + i * interval '1 second'
FROM generate_series(1, $rows) i;
ALTER TABLE prospects ENABLE TRIGGER prospects_touch;
VACUUM ANALYZE prospects;
SQL
    local cols="id, name, city, country, contact_name, contact_email, contact_title, phone, website, linkedin_url, stage,
      tier, score, lead_source, email_bounced::int, archived::int,
      to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
      to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    psql -X -q -v ON_ERROR_STOP=1 -c "\\copy (SELECT $cols FROM prospects ORDER BY id) TO '$W/prospects.csv' CSV" || exit 1
}
