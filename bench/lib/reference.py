"""bench/lib/reference.py - the physical limit: psql COPY of the rows the engine produced.

Measured in the same run, on the same rows, on the same table: after the
engine's phases, the mapped columns of every row the engine wrote are dumped
with COPY TO, and then

  copy        TRUNCATE the target; one COPY FROM into it (no staging, no
              conflict handling: the fastest way rows get into that table);
  upsert_empty  TRUNCATE the target; COPY into a temporary staging table, then
              one INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE SET ...
              WHERE (compared columns) IS DISTINCT FROM (new values), in one
              transaction: what the engine's initial load does, in one
              statement instead of one per batch;
  upsert_full   the same again into the now full target with identical rows:
              what a full re-sync where nothing changed does (the WHERE clause
              leaves every row alone, as the engine's upsert does).

  upsert2_full_pre  upsert2_full with the engine's own way for a batch of
              unchanged rows: rows equal to their stored twin are left out by
              a join before ON CONFLICT, which would lock each of them;

  upsert2_empty, upsert2_full  the same two, with the rows split in two
              halves (by a hash of the conflict key) loaded by two psql
              sessions at once: the engine's two parallel streams write on two
              connections, and on two cores the limit is what two backends
              can take, not one.  Each engine phase is held against the
              faster of the one- and two-session figures of its run.

All of them go through psql's \\copy, so the data travels over the same unix
socket as the engine's.  Each step is timed end to end (psql start included,
a few milliseconds) along with the cluster's CPU seconds.  The engine does
more per batch than this (its run log, cursor, the sync_affected bookkeeping
and the Henk list-membership hooks); the point of the comparison is to show
how much more.
"""

import os

from lib import pg, procstat


def _script(db_cols, key, compare, target, path, with_stage, prefilter=False):
    cols = ", ".join('"%s"' % c for c in db_cols)
    if not with_stage:
        return "\\copy %s (%s) FROM '%s'\n" % (target, cols, path)
    sets = ", ".join('"%s" = EXCLUDED."%s"' % (c, c) for c in db_cols if c not in key)
    cmp_t = ", ".join('t."%s"' % c for c in compare)
    cmp_e = ", ".join('EXCLUDED."%s"' % c for c in compare)
    source = "bench_stage s"
    if prefilter:
        # what the engine's upsert does after a batch of unchanged rows: rows
        # equal to their stored twin are left out before ON CONFLICT
        source += " LEFT JOIN %s o ON %s WHERE o.\"%s\" IS NULL OR (%s) IS DISTINCT FROM (%s)" % (
            target, " AND ".join('o."%s" = s."%s"' % (k, k) for k in key), key[0],
            ", ".join('o."%s"' % c for c in compare), ", ".join('s."%s"' % c for c in compare))
    return ("BEGIN;\n"
            "CREATE TEMPORARY TABLE bench_stage ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA;\n"
            "\\copy bench_stage (%s) FROM '%s'\n"
            "INSERT INTO %s AS t (%s) SELECT %s FROM %s "
            "ON CONFLICT (%s) DO UPDATE SET %s WHERE (%s) IS DISTINCT FROM (%s);\n"
            "COMMIT;\n") % (cols, target, cols, path, target, cols,
                            ", ".join('s."%s"' % c for c in db_cols), source,
                            ", ".join('"%s"' % k for k in key), sets, cmp_t, cmp_e)


def _timed(db, script, postmaster, table):
    before = pg.table_stats(db, table)
    c0 = procstat.cluster_cpu(postmaster)
    m = procstat.run_measured(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-f",
                               script])
    if m["rc"] != 0:
        raise RuntimeError("reference step %s failed" % script)
    pg.wait_gone(db, "psql")
    c1 = procstat.cluster_cpu(postmaster)
    d = pg.stats_delta(before, pg.table_stats(db, table))
    return {"wall": m["wall"], "pg_cpu": c1 - c0, "client_cpu": m["cpu"], "rows": d}


def _timed_together(db, scripts, postmaster, table):
    """Like _timed, for several scripts run at the same time, each in its own session."""
    before = pg.table_stats(db, table)
    c0 = procstat.cluster_cpu(postmaster)
    psql = "psql -X -q -v ON_ERROR_STOP=1 -d '%s' -f '%%s'" % db
    sh = " ".join("%s & p%d=$!;" % (psql % path, i) for i, path in enumerate(scripts))
    sh += " rc=0; for p in %s; do wait $p || rc=1; done; exit $rc" % " ".join(
        "$p%d" % i for i in range(len(scripts)))
    m = procstat.run_measured(["sh", "-c", sh])
    if m["rc"] != 0:
        raise RuntimeError("reference step %s failed" % ", ".join(scripts))
    pg.wait_gone(db, "psql")
    c1 = procstat.cluster_cpu(postmaster)
    d = pg.stats_delta(before, pg.table_stats(db, table))
    return {"wall": m["wall"], "pg_cpu": c1 - c0, "client_cpu": m["cpu"], "rows": d}


def measure(db, work, table, cols, key, compare, postmaster, truncate_sql):
    """Dumps table's cols, then times copy / upsert_empty / upsert_full.  Returns dict."""
    data = os.path.join(work, "reference.copy")
    pg.psql(None, db, stdin="\\copy (SELECT %s FROM %s) TO '%s'\n"
            % (", ".join('"%s"' % c for c in cols), table, data))
    n = int(pg.psql("SELECT count(*) FROM %s" % table, db))
    out = {"records": n, "bytes": os.path.getsize(data)}
    scripts = {}
    for name, staged in (("copy", False), ("upsert", True)):
        scripts[name] = os.path.join(work, "reference-%s.sql" % name)
        with open(scripts[name], "w") as f:
            f.write(_script(cols, key, compare, table, data, staged))

    pg.psql(truncate_sql, db)
    pg.vacuum_analyze(db)
    out["copy"] = _timed(db, scripts["copy"], postmaster, table)
    pg.psql(truncate_sql, db)
    pg.vacuum_analyze(db)
    out["upsert_empty"] = _timed(db, scripts["upsert"], postmaster, table)
    pg.vacuum_analyze(db)
    out["upsert_full"] = _timed(db, scripts["upsert"], postmaster, table)

    # two sessions, each with half the rows
    halves = []
    keyexpr = "abs(hashtext(concat_ws('|', %s))) %% 2" % ", ".join('"%s"' % k for k in key)
    for h in (0, 1):
        path = os.path.join(work, "reference-half%d.copy" % h)
        pg.psql(None, db, stdin="\\copy (SELECT %s FROM %s WHERE %s = %d) TO '%s'\n"
                % (", ".join('"%s"' % c for c in cols), table, keyexpr, h, path))
        script = os.path.join(work, "reference-upsert-half%d.sql" % h)
        with open(script, "w") as f:
            f.write(_script(cols, key, compare, table, path, True))
        pre = os.path.join(work, "reference-upsert-pre-half%d.sql" % h)
        with open(pre, "w") as f:
            f.write(_script(cols, key, compare, table, path, True, prefilter=True))
        halves.append((path, script, pre))
    pg.psql(truncate_sql, db)
    pg.vacuum_analyze(db)
    out["upsert2_empty"] = _timed_together(db, [s for _, s, _ in halves], postmaster, table)
    pg.vacuum_analyze(db)
    out["upsert2_full"] = _timed_together(db, [s for _, s, _ in halves], postmaster, table)
    pg.vacuum_analyze(db)
    out["upsert2_full_pre"] = _timed_together(db, [p for _, _, p in halves], postmaster, table)
    for path, _, _ in halves:
        os.unlink(path)
    os.unlink(data)
    return out
