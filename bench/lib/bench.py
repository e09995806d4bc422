#!/usr/bin/env python3
"""bench/lib/bench.py - the benchmark's driver (started by bench/run.sh).

For every size, one Salesforce stand-in org holding size/2 Contacts and
size/2 Leads, and one unmeasured warm-up load (the stand-in keeps what it
rendered and compressed, as Salesforce does that work on its own machines);
for every run, a fresh database (a copy of the Henk schema) and a fresh state
directory, then, through the real binary and conf/henk.ini (both streams,
unchanged):

  initial       build/syncengine -c conf/henk.ini --once on the empty database
  ceiling       the stand-in serving the initial load's queries to a minimal
                client (lib/pagefetch.py): the source-side ceiling
  idle          --once again, nothing changed in Salesforce
  full_refresh  --once --full-refresh, nothing changed since the initial load
  changed10     5 % of the Contacts and 5 % of the Leads edited (10 % of the
                records), then --once
  copy, upsert_empty, upsert_full, upsert2_empty, upsert2_full, upsert2_full_pre
                the physical limit on the same rows, in one session and in two
                (lib/reference.py)

Per engine phase: wall time, the engine's CPU time and peak RSS (wait4
rusage), CPU seconds of the stand-in and of the PostgreSQL cluster, the
stand-in's API call counts and the leads table's insert/update/dead-tuple
counters.  Autovacuum is off in the benchmark cluster; after every phase the
driver runs VACUUM (ANALYZE) itself, outside the measurement, standing in
for the autovacuum a real database would run between 15-minute syncs.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib import henkconf, pagefetch, pg, procstat, report  # noqa: E402
from lib.stub import Stub  # noqa: E402

BIZ = "11111111-1111-4111-8111-111111111111"
INTEG = "22222222-2222-4222-8222-222222222222"
TEMPLATE_DB = "bench_template"
TABLE = "leads"


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


class Bench:
    def __init__(self, a):
        self.a = a
        self.top = a.top
        self.conf = os.path.join(self.top, "conf", "henk.ini")
        self.cols, self.key, self.compare, self.streams, self.app = henkconf.target_layout(
            self.conf)
        self.page_size = henkconf.page_size(self.conf)
        self.postmaster = procstat.postmaster_pid(pg.datadir())
        self.results = []
        self.warm_queries = []

    # -- one engine phase --------------------------------------------------
    def run_engine(self, env, db, label, extra=()):
        """build/syncengine --once against db, its output appended to engine.log."""
        with open(os.path.join(self.a.work, "engine.log"), "ab") as errlog:
            errlog.write(("=== %s %s\n" % (db, label)).encode())
            errlog.flush()
            m = procstat.run_measured([self.a.engine, "-c", self.conf, "--once"] + list(extra),
                                      stdout=errlog, stderr=errlog, env=env)
        pg.wait_gone(db, self.app)
        return m

    def engine_phase(self, stub, env, db, phase, records, extra=()):
        stub.reset_stats()
        before = pg.table_stats(db, TABLE)
        s0, p0 = procstat.proc_cpu(stub.pid), procstat.cluster_cpu(self.postmaster)
        m = self.run_engine(env, db, phase, extra)
        s1, p1 = procstat.proc_cpu(stub.pid), procstat.cluster_cpu(self.postmaster)
        st = stub.stats()
        kinds = st.get("by_kind", {})
        res = {"phase": phase, "records": records, "rc": m["rc"], "wall": m["wall"],
               "engine_cpu": m["cpu"], "maxrss_kib": m["maxrss_kib"],
               "stub_cpu": s1 - s0, "pg_cpu": p1 - p0,
               "api": {"token": st.get("token_calls", 0), "api_calls": st.get("api_calls", 0),
                       "query": kinds.get("query", 0) + kinds.get("queryAll", 0),
                       "next": kinds.get("next", 0), "describe": kinds.get("describe", 0),
                       "other": kinds.get("other", 0)},
               "rows": pg.stats_delta(before, pg.table_stats(db, TABLE))}
        if m["rc"] != 0:
            log("engine exited %d in %s (see %s)" % (m["rc"], phase,
                                                     os.path.join(self.a.work, "engine.log")))
        log("  %-13s %8d rows %8.2f s wall  %6.2f s cpu  %5.1f MiB  api %d  upd %d"
            % (phase, records, m["wall"], m["cpu"], m["maxrss_kib"] / 1024.0,
               st.get("api_calls", 0), res["rows"]["upd"]))
        pg.vacuum_analyze(db)
        return res

    # -- one run at one size -----------------------------------------------
    def one_run(self, stub, size, run):
        db = "bench_%d_%d" % (size, run)
        pg.create_db(db, TEMPLATE_DB)
        env = engine_env(stub, db, self.a.work)
        out = []

        def add(res):
            res.update({"size": size, "run": run})
            out.append(res)
            self.results.append(res)

        if run > 1:
            # the last run's 10 % change re-sorted the pages: let the stand-in
            # render and compress them before this run's load, as in run 1
            pagefetch.fetch_all(stub.url, self.warm_queries, self.page_size)
        mark = stub.log_size()
        add(self.engine_phase(stub, env, db, "initial", size))
        queries = stub.first_queries(mark)

        # the same queries again, served to a client that does nothing with the pages
        s0 = procstat.proc_cpu(stub.pid)
        f = pagefetch.fetch_all(stub.url, queries, self.page_size)
        add({"phase": "ceiling", "records": f["records"], "wall": f["wall"],
             "stub_cpu": procstat.proc_cpu(stub.pid) - s0, "pages": f["pages"]})
        log("  %-13s %8d rows %8.2f s wall (%d pages)" % ("ceiling", f["records"], f["wall"],
                                                           f["pages"]))

        # Salesforce's Date header has whole seconds and bounds what a run reads
        time.sleep(1.1)
        add(self.engine_phase(stub, env, db, "idle", 0))

        # The full re-sync right after the idle run reads exactly the pages the
        # initial load read, which the stand-in serves from its caches (it shares
        # the two cores; Salesforce renders and compresses on its own machines).
        # After the 10 % change below, nearly every compressed run of records
        # would hold a changed record and the stand-in would compress the whole
        # million again, on the engine's cores.
        add(self.engine_phase(stub, env, db, "full_refresh", size, ["--full-refresh"]))

        # One Salesforce transaction per object: every edited record gets the
        # same SystemModstamp.  (Without same_stamp the stand-in would give each
        # record its own millisecond, running up to a minute and a half into the
        # future for 100,000 records, beyond what a run reads.)
        per_object = size // 20
        stub.mutate([{"op": "update", "object": o, "count": per_object, "same_stamp": True,
                      "set": {"Title": "Benchmark edit %d" % run}} for o in ("Contact", "Lead")])
        time.sleep(1.1)
        add(self.engine_phase(stub, env, db, "changed10", 2 * per_object))
        got = out[-1]["rows"]["upd"]
        if got != 2 * per_object:
            log("  warning: the incremental run rewrote %d rows, %d were edited"
                % (got, 2 * per_object))


        ref = pg_reference(self, db)
        for name in ("copy", "upsert_empty", "upsert_full", "upsert2_empty", "upsert2_full",
                     "upsert2_full_pre"):
            r = ref[name]
            add({"phase": name, "records": ref["records"], "wall": r["wall"],
                 "pg_cpu": r["pg_cpu"], "rows": r["rows"]})
            log("  %-13s %8d rows %8.2f s wall  pg %.2f s cpu  upd %d"
                % (name, ref["records"], r["wall"], r["pg_cpu"], r["rows"]["upd"]))
        if not self.a.keep:
            pg.drop_db(db)
        return out

    def warm_up(self, stub, size):
        """One initial load that is not measured, into a database dropped after it.

        The stand-in keeps the JSON text of every record it served
        (tests/sfstub RenderCache): Salesforce renders records on its own
        machines, not on the two cores the engine and PostgreSQL share here.
        Without this run the first measured run of a size would pay the
        rendering and the later ones would not."""
        db = "bench_warm_%d" % size
        pg.create_db(db, TEMPLATE_DB)
        env = engine_env(stub, db, self.a.work)
        mark = stub.log_size()
        m = self.run_engine(env, db, "warm-up")
        pg.drop_db(db)
        self.warm_queries = stub.first_queries(mark)
        log("  warm-up run (not measured): %.1f s, exit %d" % (m["wall"], m["rc"]))

    def run(self):
        for size in self.a.sizes:
            log("%s records: starting the stand-in (%d Contacts, %d Leads)"
                % (format(size, ","), size // 2, size - size // 2))
            t0 = time.monotonic()
            stub = Stub(self.top, self.a.work, size // 2, size - size // 2)
            log("  stand-in ready in %.1f s" % (time.monotonic() - t0))
            try:
                self.warm_up(stub, size)
                for run in range(1, self.a.runs + 1):
                    log("%s records, run %d of %d" % (format(size, ","), run, self.a.runs))
                    self.one_run(stub, size, run)
            finally:
                stub.stop()
            self.save()

    def save(self):
        with open(self.a.json_out, "w") as f:
            json.dump({"sizes": self.a.sizes, "runs": self.a.runs, "results": self.results}, f,
                      indent=1)


def engine_env(stub, db, work):
    """What conf/henk.ini reads, pointing at the stand-in and database db; a fresh state dir."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": env["DATABASE_URL"].replace("/postgres?", "/%s?" % db, 1),
        "SALESFORCE_LOGIN_URL": stub.url, "HENK_BUSINESS_ID": BIZ,
        "HENK_INTEGRATION_ID": INTEG, "SALESFORCE_CLIENT_ID": "test-client-id",
        "SALESFORCE_CLIENT_SECRET": "test-client-secret",
        "SALESFORCE_REFRESH_TOKEN": "test-refresh-token", "SALESFORCE_LAG": "0s",
        "SYNCENGINE_STATE_DIR": os.path.join(work, "state-%s" % db),
        "SYNCENGINE_NO_PROGRESS": "1"})
    return env


def pg_reference(bench, db):
    from lib import reference
    return reference.measure(db, bench.a.work, TABLE, bench.cols, bench.key, bench.compare,
                             bench.postmaster, "TRUNCATE %s CASCADE" % TABLE)


def machine_header(a, engine):
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip() or platform.machine()
    mem = sh("awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo")
    pgv = pg.psql("SHOW server_version", "postgres").strip()
    ver = sh("%s --version" % engine)
    commit = sh("git -C %s rev-parse --short HEAD 2>/dev/null" % a.top)
    dirty = sh("git -C %s status --porcelain --untracked-files=no 2>/dev/null | head -1" % a.top)
    return "\n".join([
        "## syncengine benchmark (%s)" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "",
        "%s; commit %s%s; %d CPU cores (%s), %s RAM; PostgreSQL %s; Python %s." % (
            ver, commit or "?", " (uncommitted changes)" if dirty else "", os.cpu_count(), cpu,
            mem, pgv, platform.python_version()),
        "conf/henk.ini unchanged, both streams: half the records are Contacts, half Leads. "
        "Median of %d run(s) per size. The Salesforce stand-in (Python) and PostgreSQL run on "
        "the same cores as the engine; their CPU seconds are shown separately." % a.runs,
    ])


def main():
    p = argparse.ArgumentParser(description="syncengine end-to-end benchmark driver")
    p.add_argument("--top", required=True)
    p.add_argument("--engine", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep each run's database")
    p.add_argument("--out", help="Markdown result (default bench/results/latest.md)")
    a = p.parse_args()
    if a.sizes is None:
        a.sizes = [10000, 50000] if a.quick else [10000, 100000, 1000000]
    if a.runs < 1 or any(s < 20 for s in a.sizes):
        p.error("--runs must be >= 1 and every size >= 20")
    a.out = a.out or os.path.join(a.top, "bench", "results", "latest.md")
    a.json_out = os.path.splitext(a.out)[0] + ".json"
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    header = machine_header(a, a.engine)
    b = Bench(a)
    t0 = time.monotonic()
    b.run()
    md = report.render(b.results, a.sizes, b.streams, header)
    md += "\nTotal benchmark time: %.0f s.\n" % (time.monotonic() - t0)
    with open(a.out, "w") as f:
        f.write(md)
    sys.stdout.write(md)
    failed = any(r.get("rc", 0) != 0 for r in b.results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
