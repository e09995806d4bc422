#!/usr/bin/env python3
"""bench/lib/profile.py - where the time goes (bench/run.sh --profile).

One size (default 100,000 records), one fresh database, the initial load and
then a full re-sync with nothing changed, each run under `perf record` (or,
without perf, valgrind --tool=callgrind, which is some 50 times slower), with
pg_stat_statements loaded in the cluster.  Prints, per phase:

  - wall time and CPU seconds of the engine, the stand-in and PostgreSQL,
    so it is plain which process the wall time is spent in;
  - the engine's hottest functions (perf report, self time, % of the engine's
    samples across both of its threads);
  - the statements PostgreSQL spent its time on (pg_stat_statements, % of the
    total execution time of the phase).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib import bench, henkconf, pg, procstat  # noqa: E402
from lib.stub import Stub  # noqa: E402


def perf_top(data, limit):
    """Share of the engine's samples per library, then the hottest functions."""
    out = []
    for sort, lim in (("dso", 8), ("dso,symbol", limit)):
        r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                            "--sort", sort, "--percent-limit", "0.7"],
                           capture_output=True, text=True)
        rows = [ln.rstrip() for ln in r.stdout.splitlines()
                if ln.strip() and not ln.startswith("#")]
        out += ["by library:" if sort == "dso" else "by function:"] + rows[:lim]
    return out


def callgrind_top(data, limit):
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", data], capture_output=True,
                       text=True)
    rows = [ln for ln in r.stdout.splitlines() if "%" in ln or ":" in ln]
    return rows[:limit + 10]


def top_statements(db, limit):
    """Statements grouped by their text (temporary tables make a new entry per batch)."""
    q = ("WITH s AS (SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q, "
         "sum(total_exec_time) AS t, sum(calls) AS c FROM pg_stat_statements "
         "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
         "GROUP BY 1) "
         "SELECT round((100 * t / sum(t) OVER ())::numeric, 1), round(t::numeric / 1000, 2), c, "
         "round((t / greatest(c, 1))::numeric, 2), q FROM s ORDER BY t DESC LIMIT %d" % limit)
    out = pg.psql(q, db)
    return ["%5s %%  %7s s  %5s calls  %8s ms/call  %s" % tuple(ln.split("|", 4))
            for ln in out.splitlines()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--top", required=True)
    p.add_argument("--engine", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--sizes", default="100000")
    p.add_argument("--limit", type=int, default=15)
    a = p.parse_args()
    size = int(a.sizes.split(",")[0])
    conf = os.path.join(a.top, "conf", "henk.ini")
    app = henkconf.target_layout(conf)[4]
    use_perf = shutil.which("perf") is not None
    if not use_perf and shutil.which("valgrind") is None:
        sys.exit("profile: neither perf (apt-get install linux-perf) nor valgrind is installed")
    postmaster = procstat.postmaster_pid(pg.datadir())
    stub = Stub(a.top, a.work, size // 2, size - size // 2)
    db = "bench_profile"
    try:
        pg.create_db(db, bench.TEMPLATE_DB)
        pg.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db)
        env = bench.engine_env(stub, db, a.work)
        for phase, extra in (("initial load", []), ("full re-sync, no changes",
                                                    ["--full-refresh"])):
            pg.psql("SELECT pg_stat_statements_reset()", db)
            data = os.path.join(a.work, "profile-%d.data" % len(extra))
            cmd = [a.engine, "-c", conf, "--once"] + extra
            if use_perf:
                cmd = ["perf", "record", "-q", "-F", "999", "-g", "-o", data, "--"] + cmd
            else:
                cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + data] + cmd
            s0, p0 = procstat.proc_cpu(stub.pid), procstat.cluster_cpu(postmaster)
            with open(os.path.join(a.work, "engine.log"), "ab") as errlog:
                m = procstat.run_measured(cmd, stdout=errlog, stderr=errlog, env=env)
            pg.wait_gone(db, app)
            s1, p1 = procstat.proc_cpu(stub.pid), procstat.cluster_cpu(postmaster)
            if m["rc"] != 0:
                sys.exit("profile: engine failed (rc %d)" % m["rc"])
            print("== %s, %s records: %.2f s wall; CPU: engine %.2f s (incl. %s), stand-in "
                  "%.2f s, postgres %.2f s" % (phase, format(size, ","), m["wall"], m["cpu"],
                                               "perf" if use_perf else "valgrind", s1 - s0,
                                               p1 - p0))
            print("-- engine: where its CPU samples fall (self time, both threads)")
            for ln in (perf_top(data, a.limit) if use_perf else callgrind_top(data, a.limit)):
                print("   " + ln)
            print("-- postgres: statements by execution time")
            for ln in top_statements(db, 10):
                print("   " + ln)
            print()
            pg.vacuum_analyze(db)
            time.sleep(1.1)
    finally:
        stub.stop()
        pg.drop_db(db)


if __name__ == "__main__":
    main()
