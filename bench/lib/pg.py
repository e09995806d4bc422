"""bench/lib/pg.py - the few PostgreSQL operations the benchmark needs, through psql.

No driver library: everything goes through psql on the throwaway cluster's
unix socket (PGHOST/PGPORT/PGUSER come from tests/lib/pgcluster.sh).  Reads
the table counters that tell how many rows a phase inserted and rewrote, and
waits for a client's backend to be gone so that its statistics are flushed
(PostgreSQL 15 flushes a backend's table counters when it exits).
"""

import os
import subprocess
import time


def psql(sql, db, stdin=None):
    """Runs sql (or the script on stdin) in database db; returns stdout (unaligned, tuples only)."""
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", db]
    if sql is not None:
        argv += ["-c", sql]
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql failed (%s): %s" % ((sql or stdin or "")[:120], r.stderr.strip()))
    return r.stdout


def table_stats(db, table):
    out = psql("SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_dead_tup, n_live_tup "
               "FROM pg_stat_user_tables WHERE relname = '%s'" % table, db).strip()
    keys = ("ins", "upd", "hot_upd", "del", "dead", "live")
    if not out:
        return dict.fromkeys(keys, 0)
    return dict(zip(keys, (int(x) for x in out.split("|"))))


def stats_delta(before, after):
    return {k: after[k] - before[k] for k in before}


def wait_gone(db, application_name, timeout=30):
    """Waits until no session with that application_name is left (its stats are then flushed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' "
                 "AND pid <> pg_backend_pid()" % application_name, db).strip()
        if n == "0":
            return
        time.sleep(0.05)


def create_db(name, template):
    psql('DROP DATABASE IF EXISTS "%s"' % name, "postgres")
    psql('CREATE DATABASE "%s" TEMPLATE "%s"' % (name, template), "postgres")


def drop_db(name):
    psql('DROP DATABASE IF EXISTS "%s"' % name, "postgres")


def vacuum_analyze(db):
    psql("VACUUM (ANALYZE)", db)


def datadir():
    return os.path.join(os.environ["PGCLUSTER_DIR"], "data")
