/*
 * test_pg_integration.c - the PostgreSQL sink against a real server.
 *
 * Drives the plugin's callbacks directly, with the engine's real host table,
 * records and option sets, against the database named by
 * PGS_TEST_DATABASE_URL (tests/integration/pg_sink.sh starts a throwaway
 * cluster and sets it).  Without it the program exits 77 (skipped): a test
 * that creates and drops tables must never run against a database that merely
 * happens to be in DATABASE_URL.  Every object lives in schema pgs_test
 * (dropped first) and the sink's state schema pgs_state.
 *
 * Besides the sink's own reports, each test checks the database from a
 * second, independent connection: rows, xmin/ctid of unchanged rows,
 * pg_stat_user_tables, run-log rows, cursors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "conf.h"
#include "hostapi.h"
#include "record.h"

/* The plugin's entry point, linked in with its objects. */
const sync_plugin *sync_plugin_entry(const sync_host *host);

static const sync_host *H;
static const sync_plugin *P;
static const sync_sink_ops *S;
static PGconn *admin;
static const char *url;

/* ------------------------------------------------------------ admin side */

static PGresult *q(const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    PGresult *res = PQexec(admin, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "admin query failed: %s\n%s\n", sql, PQerrorMessage(admin));
        fail();
    }
    return res;
}

static void x(const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    PQclear(q("%s", sql));
}

/* First value of a query, as text ("<null>" for NULL, "<none>" without rows). */
static char *v1(const char *fmt, ...)
{
    static char out[4][2048];
    static int slot;
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    PGresult *res = q("%s", sql);
    char *o = out[slot++ % 4];
    if (PQntuples(res) == 0)
        snprintf(o, 2048, "<none>");
    else if (PQgetisnull(res, 0, 0))
        snprintf(o, 2048, "<null>");
    else
        snprintf(o, 2048, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return o;
}

static long n1(const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    return strtol(v1("%s", sql), NULL, 10);
}

/* ------------------------------------------------------------ sink side */

typedef struct sink {
    sync_ctx *ctx;
    sync_config *cfg;
    void *inst;
} sink;

static sync_config *config(const sync_option *table, const char *const *kv)
{
    char err[512];
    sync_config *c = syncc_config_from_pairs(table, kv, "test.ini:1", err, sizeof(err));
    if (!c)
        fprintf(stderr, "config: %s\n", err);
    assert_non_null(c);
    return c;
}

/* Opens an instance; extra: NULL-terminated key/value pairs for the section. */
static int sink_open_with(sink *s, const char *job, const char *conninfo, const char *const *extra)
{
    const char *kv[32] = {"conninfo", conninfo, "state_schema", "pgs_state", "application_name", "pgs_test"};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i]; i++)
        kv[n++] = extra[i];
    kv[n] = NULL;
    memset(s, 0, sizeof(*s));
    s->ctx = syncc_ctx_new(job, "henk_db", "postgres");
    s->cfg = config(P->options, kv);
    return S->open(s->ctx, s->cfg, &s->inst);
}

static void sink_open(sink *s, const char *job)
{
    int rc = sink_open_with(s, job, url, NULL);
    if (rc != SYNC_OK)
        fprintf(stderr, "open: %s: %s\n", H->strerror(rc), syncc_ctx_error(s->ctx));
    assert_int_equal(rc, SYNC_OK);
}

static void sink_close(sink *s)
{
    if (s->inst)
        S->close(s->inst);
    syncc_config_free(s->cfg);
    syncc_ctx_free(s->ctx);
    memset(s, 0, sizeof(*s));
}

typedef struct target {
    sync_target t;
    sync_config *opts;
    void *state;
    sync_column cols[16];
} target;

/* cols: "name,name,..."; opts: NULL-terminated pairs (sink.* keys without prefix). */
static int prepare(sink *s, target *tg, const char *table, const char *cols, const char *const *opts)
{
    static char names[16][64];
    memset(tg, 0, sizeof(*tg));
    size_t n = 0;
    const char *p = cols;
    while (*p && n < 16) {
        size_t len = strcspn(p, ",");
        snprintf(names[n], sizeof(names[n]), "%.*s", (int)len, p);
        tg->cols[n].name = names[n];
        tg->cols[n].type = SYNC_TYPE_NULL;
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    const char *none[] = {NULL};
    tg->opts = config(P->target_options, opts ? opts : none);
    tg->t.struct_size = sizeof(tg->t);
    tg->t.job = "job1";
    tg->t.stream = "contacts";
    tg->t.name = table;
    tg->t.columns = tg->cols;
    tg->t.n_columns = n;
    tg->t.options = tg->opts;
    return S->prepare(s->inst, &tg->t, &tg->state);
}

static void prepare_ok(sink *s, target *tg, const char *table, const char *cols, const char *const *opts)
{
    int rc = prepare(s, tg, table, cols, opts);
    if (rc != SYNC_OK)
        fprintf(stderr, "prepare: %s: %s\n", H->strerror(rc), syncc_ctx_error(s->ctx));
    assert_int_equal(rc, SYNC_OK);
}

/* Record fields: a compact spec per record: "key|op|col=value|col=#int|col=~null|..." */
static void add_record(sync_batch *b, const char *spec)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    char *key = strtok_r(buf, "|", &save);
    char *op = strtok_r(NULL, "|", &save);
    sync_record *r = syncc_batch_add(b, key, strlen(key), op[0] == 'd' ? SYNC_OP_DELETE : SYNC_OP_UPSERT);
    assert_non_null(r);
    for (char *f = strtok_r(NULL, "|", &save); f; f = strtok_r(NULL, "|", &save)) {
        char *eq = strchr(f, '=');
        assert_non_null(eq);
        *eq = '\0';
        const char *val = eq + 1;
        sync_value v;
        memset(&v, 0, sizeof(v));
        if (val[0] == '#') {
            v.type = SYNC_TYPE_INT;
            v.u.i = strtoll(val + 1, NULL, 10);
        } else if (strcmp(val, "~null") == 0) {
            v.type = SYNC_TYPE_NULL;
        } else {
            v.type = SYNC_TYPE_STRING;
            v.u.str.ptr = val;
            v.u.str.len = strlen(val);
        }
        assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
    }
}

static sync_batch *batch_of(const char *const *specs)
{
    sync_batch *b = syncc_batch_new();
    for (size_t i = 0; specs[i]; i++)
        add_record(b, specs[i]);
    return b;
}

static int write_batch(sink *s, target *tg, const char *const *specs, const char *cursor, sync_write_result *res)
{
    sync_batch *b = batch_of(specs);
    sync_cursor c = {"job1", "contacts", cursor};
    int rc = S->write(s->inst, tg->state, b, cursor ? &c : NULL, res);
    if (rc != SYNC_OK && getenv("PGS_TEST_VERBOSE"))
        fprintf(stderr, "write: %s\n", syncc_ctx_error(s->ctx));
    if (rc != SYNC_OK)
        fprintf(stderr, "write: %s: %s\n", H->strerror(rc), syncc_ctx_error(s->ctx));
    syncc_batch_free(b);
    return rc;
}

static void expect(const sync_write_result *r, int64_t ins, int64_t upd, int64_t unch, int64_t del, int64_t failed)
{
    if (r->inserted != ins || r->updated != upd || r->unchanged != unch || r->deleted != del || r->failed != failed)
        fprintf(stderr, "got %lld inserted, %lld updated, %lld unchanged, %lld deleted, %lld failed\n",
                (long long)r->inserted, (long long)r->updated, (long long)r->unchanged, (long long)r->deleted,
                (long long)r->failed);
    assert_int_equal(r->inserted, ins);
    assert_int_equal(r->updated, upd);
    assert_int_equal(r->unchanged, unch);
    assert_int_equal(r->deleted, del);
    assert_int_equal(r->failed, failed);
}

static void free_target(target *tg)
{
    syncc_config_free(tg->opts);
}

/* Waits until no session with this application_name remains (its statistics are then flushed). */
static void wait_sessions_gone(const char *app)
{
    for (int i = 0; i < 200; i++) {
        if (n1("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", app) == 0)
            return;
        usleep(20000);
    }
    fail_msg("sessions of %s did not end", app);
}

/* ------------------------------------------------------------ tests */

static void test_upsert_insert_update_unchanged(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.people (id text PRIMARY KEY, name text, age int, "
      "last_synced_at timestamptz, note text DEFAULT 'kept')");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job1");
    const char *opts[] = {"compare_exclude", "last_synced_at", NULL};
    prepare_ok(&s, &tg, "pgs_test.people", "id,name,age,last_synced_at", opts);

    const char *b1[] = {"a|u|id=a|name=Ann|age=#30|last_synced_at=2024-01-01T00:00:00Z",
                        "b|u|id=b|name=Bob|age=#40|last_synced_at=2024-01-01T00:00:00Z",
                        "c|u|id=c|name=Cid|age=~null|last_synced_at=2024-01-01T00:00:00Z", NULL};
    assert_int_equal(write_batch(&s, &tg, b1, "c1", &r), SYNC_OK);
    expect(&r, 3, 0, 0, 0, 0);
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.people WHERE note = 'kept'"), 3);
    char before_a[64], before_b[64];
    snprintf(before_a, sizeof(before_a), "%s", v1("SELECT xmin::text || ctid::text FROM pgs_test.people WHERE id = 'a'"));
    snprintf(before_b, sizeof(before_b), "%s", v1("SELECT xmin::text || ctid::text FROM pgs_test.people WHERE id = 'b'"));

    /* b changes; a and c only differ in the excluded column; d is new */
    const char *b2[] = {"a|u|id=a|name=Ann|age=#30|last_synced_at=2024-02-01T00:00:00Z",
                        "b|u|id=b|name=Bobby|age=#40|last_synced_at=2024-02-01T00:00:00Z",
                        "c|u|id=c|name=Cid|age=~null|last_synced_at=2024-02-01T00:00:00Z",
                        "d|u|id=d|name=Dee|age=#7|last_synced_at=2024-02-01T00:00:00Z", NULL};
    assert_int_equal(write_batch(&s, &tg, b2, "c2", &r), SYNC_OK);
    expect(&r, 1, 1, 2, 0, 0);
    /* the unchanged row is the very same tuple: no new version, excluded column not rewritten */
    assert_string_equal(v1("SELECT xmin::text || ctid::text FROM pgs_test.people WHERE id = 'a'"), before_a);
    assert_string_not_equal(v1("SELECT xmin::text || ctid::text FROM pgs_test.people WHERE id = 'b'"), before_b);
    assert_string_equal(v1("SELECT last_synced_at = '2024-01-01T00:00:00Z' FROM pgs_test.people WHERE id = 'a'"), "t");
    /* the changed row carries the excluded column along */
    assert_string_equal(v1("SELECT last_synced_at = '2024-02-01T00:00:00Z' FROM pgs_test.people WHERE id = 'b'"), "t");
    assert_string_equal(v1("SELECT name FROM pgs_test.people WHERE id = 'b'"), "Bobby");
    assert_string_equal(v1("SELECT age IS NULL FROM pgs_test.people WHERE id = 'c'"), "t");
    assert_string_equal(v1("SELECT cursor FROM pgs_state.sync_state WHERE job = 'job1' AND stream = 'contacts'"), "c2");

    free_target(&tg);
    sink_close(&s);
    /* statistics of the sink's session are flushed when it ends: exactly one update */
    wait_sessions_gone("pgs_test");
    x("SELECT pg_stat_clear_snapshot()");
    assert_int_equal(n1("SELECT n_tup_upd FROM pg_stat_user_tables WHERE schemaname = 'pgs_test' AND relname = 'people'"), 1);
    assert_int_equal(n1("SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = 'pgs_test' AND relname = 'people'"), 4);
}

static void test_duplicate_key_in_batch(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.dups (id int PRIMARY KEY, v text)");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job1");
    prepare_ok(&s, &tg, "pgs_test.dups", "id,v", NULL);
    const char *b[] = {"1|u|id=#1|v=first", "2|u|id=#2|v=x", "1|u|id=#1|v=second", "1|u|id=#1|v=third", NULL};
    assert_int_equal(write_batch(&s, &tg, b, NULL, &r), SYNC_OK);
    expect(&r, 2, 0, 2, 0, 0);
    assert_string_equal(v1("SELECT v FROM pgs_test.dups WHERE id = 1"), "third");
    free_target(&tg);
    sink_close(&s);
}

static void delete_case(const char *mode, const char *const *extra, long rows_after, int64_t deleted)
{
    x("DROP TABLE IF EXISTS pgs_test.del");
    x("CREATE TABLE pgs_test.del (id text PRIMARY KEY, name text, sync_status text DEFAULT 'active')");
    x("INSERT INTO pgs_test.del (id, name) VALUES ('a', 'A'), ('b', 'B'), ('c', 'C')");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job1");
    const char *opts[8] = {"delete_mode", mode};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i]; i++)
        opts[n++] = extra[i];
    opts[n] = NULL;
    prepare_ok(&s, &tg, "pgs_test.del", "id,name", opts);
    /* a full record delete, a bare delete (key only), and a delete of a row that is not there */
    const char *b[] = {"a|d|id=a|name=A", "b|d", "zz|d|id=zz", NULL};
    assert_int_equal(write_batch(&s, &tg, b, "d1", &r), SYNC_OK);
    expect(&r, 0, 0, 3 - deleted, deleted, 0);
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.del"), rows_after);
    if (strcmp(mode, "soft") == 0) {
        assert_string_equal(v1("SELECT string_agg(id || ':' || sync_status, ',' ORDER BY id) FROM pgs_test.del"),
                            "a:deleted,b:deleted,c:active");
        /* already marked: nothing to do the second time */
        assert_int_equal(write_batch(&s, &tg, b, "d2", &r), SYNC_OK);
        expect(&r, 0, 0, 3, 0, 0);
    }
    free_target(&tg);
    sink_close(&s);
}

static void test_delete_modes(void **st)
{
    (void)st;
    delete_case("hard", NULL, 1, 2);
    const char *soft[] = {"soft_delete_set", "sync_status=deleted", NULL};
    delete_case("soft", soft, 3, 2);
    delete_case("ignore", NULL, 3, 0);

    /* a NOT NULL domain on a non-key column does not stop a bare delete */
    x("CREATE DOMAIN pgs_test.name_t AS text NOT NULL");
    x("DROP TABLE IF EXISTS pgs_test.del");
    x("CREATE TABLE pgs_test.del (id text PRIMARY KEY, name pgs_test.name_t)");
    x("INSERT INTO pgs_test.del VALUES ('a', 'A')");
    {
        sink s;
        target tg;
        sync_write_result r;
        sink_open(&s, "job1");
        const char *hard[] = {"delete_mode", "hard", NULL};
        prepare_ok(&s, &tg, "pgs_test.del", "id,name", hard);
        const char *b[] = {"a|d", "b|u|id=b|name=~null", NULL};
        assert_int_equal(write_batch(&s, &tg, b, NULL, &r), SYNC_OK);
        expect(&r, 0, 0, 0, 1, 1);
        assert_non_null(strstr(s.ctx->rejects[0].message, "name_t"));
        free_target(&tg);
        sink_close(&s);
    }

    /* soft without soft_delete_set is a configuration error at prepare */
    x("DROP TABLE IF EXISTS pgs_test.del");
    x("CREATE TABLE pgs_test.del (id text PRIMARY KEY, name text)");
    sink s;
    target tg;
    sink_open(&s, "job1");
    const char *opts[] = {"delete_mode", "soft", NULL};
    assert_int_equal(prepare(&s, &tg, "pgs_test.del", "id,name", opts), SYNC_E_CONFIG);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "soft_delete_set"));
    free_target(&tg);
    sink_close(&s);
}

static void test_bad_records_isolated(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.strict (id int PRIMARY KEY, code varchar(5), qty int NOT NULL CHECK (qty >= 0))");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job1");
    prepare_ok(&s, &tg, "pgs_test.strict", "id,code,qty", NULL);
    const char *b[] = {"1|u|id=#1|code=ok|qty=#1",
                       "2|u|id=#2|code=much-too-long|qty=#2", /* fails at COPY */
                       "3|u|id=#3|code=ok|qty=#3",
                       "4|u|id=#4|code=ok|qty=~null",         /* fails at the upsert */
                       "5|u|id=#5|code=ok|qty=#-5",           /* check constraint */
                       "6|u|id=#6|code=ok|qty=notanumber",    /* invalid input at COPY */
                       "7|u|id=~null|code=ok|qty=#7",         /* no key */
                       "8|u|id=#8|code=ok|qty=#8", NULL};
    assert_int_equal(write_batch(&s, &tg, b, "bad1", &r), SYNC_OK);
    expect(&r, 3, 0, 0, 0, 5);
    assert_string_equal(v1("SELECT string_agg(id::text, ',' ORDER BY id) FROM pgs_test.strict"), "1,3,8");
    assert_string_equal(v1("SELECT cursor FROM pgs_state.sync_state WHERE job = 'job1' AND stream = 'contacts'"), "bad1");
    assert_int_equal(s.ctx->n_rejected, 5);
    const char *want[][2] = {{"2", "column code"}, {"4", "column qty"}, {"5", "strict_qty_check"},
                             {"6", "column qty"}, {"7", "conflict key value is null"}};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s.ctx->rejects[i].key, want[i][0]);
        if (!strstr(s.ctx->rejects[i].message, want[i][1]))
            fail_msg("reject of %s: \"%s\" lacks \"%s\"", want[i][0], s.ctx->rejects[i].message, want[i][1]);
    }
    free_target(&tg);
    sink_close(&s);
}

static void test_hooks_and_sync_affected(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.leads (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), business_id int NOT NULL, "
      "source text NOT NULL, source_id text, name text, sync_status text DEFAULT 'active', "
      "UNIQUE (business_id, source, source_id))");
    x("CREATE TABLE pgs_test.members (list text, lead_id uuid REFERENCES pgs_test.leads (id), "
      "UNIQUE (list, lead_id))");
    x("CREATE TABLE pgs_test.audit (source_id text, action text, tag text)");
    x("INSERT INTO pgs_test.leads (business_id, source, source_id, name) VALUES (1, 'sf', 'k1', 'Keep'), "
      "(1, 'sf', 'k2', 'Change'), (1, 'sf', 'k3', 'Gone')");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job1");
    const char *opts[] = {"conflict_key", "business_id, source, source_id",
                          "delete_mode", "soft",
                          "soft_delete_set", "sync_status=deleted",
                          "sql_params", "list-A, tag-B",
                          "after_batch_sql",
                          "INSERT INTO pgs_test.members (list, lead_id) SELECT $1, l.id FROM sync_affected a "
                          "JOIN pgs_test.leads l USING (business_id, source, source_id) "
                          "WHERE a.action = 'inserted' ON CONFLICT DO NOTHING",
                          "after_batch_sql",
                          "INSERT INTO pgs_test.audit SELECT source_id, action, $2 FROM sync_affected",
                          NULL};
    prepare_ok(&s, &tg, "pgs_test.leads", "business_id,source,source_id,name", opts);
    const char *b[] = {"k1|u|business_id=#1|source=sf|source_id=k1|name=Keep",
                       "k2|u|business_id=#1|source=sf|source_id=k2|name=Changed",
                       "k3|d|business_id=#1|source=sf|source_id=k3",
                       "k4|u|business_id=#1|source=sf|source_id=k4|name=New", NULL};
    assert_int_equal(write_batch(&s, &tg, b, "h1", &r), SYNC_OK);
    expect(&r, 1, 1, 1, 1, 0);
    assert_string_equal(v1("SELECT string_agg(source_id || ':' || action || ':' || tag, ',' ORDER BY source_id) "
                           "FROM pgs_test.audit"),
                        "k1:unchanged:tag-B,k2:updated:tag-B,k3:deleted:tag-B,k4:inserted:tag-B");
    assert_string_equal(v1("SELECT string_agg(l.source_id || '@' || m.list, ',') FROM pgs_test.members m "
                           "JOIN pgs_test.leads l ON l.id = m.lead_id"),
                        "k4@list-A");
    /* the temp table is per batch: a second batch sees only its own keys */
    const char *b2[] = {"k4|u|business_id=#1|source=sf|source_id=k4|name=New", NULL};
    assert_int_equal(write_batch(&s, &tg, b2, "h2", &r), SYNC_OK);
    expect(&r, 0, 0, 1, 0, 0);
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.audit"), 5);
    free_target(&tg);
    sink_close(&s);
}

/*
 * After a batch of mostly unchanged rows the next upsert leaves equal rows out
 * by a join first; the outcome (counts, rows, sync_affected, nothing rewritten)
 * must be what the plain upsert gives, whichever kind of batch comes next.
 */
static void test_prefiltered_upsert(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.pf (id int PRIMARY KEY, name text, doc json, n int, seen text)");
    x("CREATE TABLE pgs_test.audit (source_id text, action text)");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job_pf");
    const char *opts[] = {"compare_exclude", "seen",
                          "after_batch_sql", "INSERT INTO pgs_test.audit SELECT id::text, action FROM sync_affected",
                          NULL};
    prepare_ok(&s, &tg, "pgs_test.pf", "id,name,doc,n,seen", opts);
    const char *b1[] = {"1|u|id=#1|name=a|doc={\"x\":1,\"y\":2}|n=#1|seen=t1",
                        "2|u|id=#2|name=b|doc=~null|n=~null|seen=t1",
                        "3|u|id=#3|name=c|doc=[1,2]|n=#3|seen=t1", NULL};
    assert_int_equal(write_batch(&s, &tg, b1, NULL, &r), SYNC_OK);
    expect(&r, 3, 0, 0, 0, 0);
    /* all unchanged (json in another key order, seen excluded): the next batch is prefiltered */
    const char *b2[] = {"1|u|id=#1|name=a|doc={\"y\":2,\"x\":1}|n=#1|seen=t2",
                        "2|u|id=#2|name=b|doc=~null|n=~null|seen=t2",
                        "3|u|id=#3|name=c|doc=[1,2]|n=#3|seen=t2", NULL};
    assert_int_equal(write_batch(&s, &tg, b2, NULL, &r), SYNC_OK);
    expect(&r, 0, 0, 3, 0, 0);
    /* a mix, prefiltered: NULL to value, value to NULL, json change, unchanged, and a new row */
    const char *b3[] = {"1|u|id=#1|name=a|doc={\"x\":1,\"y\":2}|n=#1|seen=t3",
                        "2|u|id=#2|name=b|doc={}|n=#2|seen=t3",
                        "3|u|id=#3|name=~null|doc=[1,2]|n=#3|seen=t3",
                        "4|u|id=#4|name=d|doc=~null|n=#4|seen=t3", NULL};
    assert_int_equal(write_batch(&s, &tg, b3, NULL, &r), SYNC_OK);
    expect(&r, 1, 2, 1, 0, 0);
    assert_string_equal(v1("SELECT string_agg(id || ':' || coalesce(name, '-') || ':' || coalesce(doc::text, '-') || ':' "
                           "|| coalesce(n::text, '-') || ':' || seen, ',' ORDER BY id) FROM pgs_test.pf"),
                        "1:a:{\"x\":1,\"y\":2}:1:t1,2:b:{}:2:t3,3:-:[1,2]:3:t3,4:d:-:4:t3");
    /* unchanged again, then all new rows arrive at a prefiltered upsert too */
    const char *again[] = {"1|u|id=#1|name=a|doc={\"x\":1,\"y\":2}|n=#1|seen=t9",
                           "2|u|id=#2|name=b|doc={}|n=#2|seen=t9", NULL};
    assert_int_equal(write_batch(&s, &tg, again, NULL, &r), SYNC_OK);
    expect(&r, 0, 0, 2, 0, 0);
    const char *b4[] = {"5|u|id=#5|name=e|doc=~null|n=#5|seen=t4", "6|u|id=#6|name=f|doc=~null|n=#6|seen=t4", NULL};
    assert_int_equal(write_batch(&s, &tg, b4, NULL, &r), SYNC_OK);
    expect(&r, 2, 0, 0, 0, 0);
    /* and after them the plain upsert again, for a batch of unchanged rows */
    assert_int_equal(write_batch(&s, &tg, b4, NULL, &r), SYNC_OK);
    expect(&r, 0, 0, 2, 0, 0);
    assert_string_equal(v1("SELECT string_agg(source_id || ':' || action, ',' ORDER BY source_id, action) "
                           "FROM pgs_test.audit WHERE action <> 'inserted'"),
                        "1:unchanged,1:unchanged,1:unchanged,2:unchanged,2:unchanged,2:updated,3:unchanged,3:updated,"
                        "5:unchanged,6:unchanged");
    free_target(&tg);
    sink_close(&s);
}

/* affected_columns hands hooks the stored row's id for every action; affected_actions narrows the list. */
static void test_affected_columns_and_actions(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.leads (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), business_id int NOT NULL, "
      "source text NOT NULL, source_id text, name text, sync_status text DEFAULT 'active', "
      "UNIQUE (business_id, source, source_id))");
    x("CREATE TABLE pgs_test.audit (source_id text, action text, tag text)");
    sink s;
    target tg, narrow;
    sync_write_result r;
    sink_open(&s, "job_aff");
    const char *opts[] = {"conflict_key", "business_id, source, source_id",
                          "delete_mode", "soft",
                          "soft_delete_set", "sync_status=deleted",
                          "affected_columns", "id",
                          "after_batch_sql",
                          "INSERT INTO pgs_test.audit SELECT a.source_id, a.action, (a.id = l.id)::text "
                          "FROM sync_affected a LEFT JOIN pgs_test.leads l USING (business_id, source, source_id)",
                          NULL};
    prepare_ok(&s, &tg, "pgs_test.leads", "business_id,source,source_id,name", opts);
    const char *b1[] = {"k1|u|business_id=#1|source=sf|source_id=k1|name=Keep",
                        "k2|u|business_id=#1|source=sf|source_id=k2|name=Change",
                        "k3|u|business_id=#1|source=sf|source_id=k3|name=Gone", NULL};
    assert_int_equal(write_batch(&s, &tg, b1, NULL, &r), SYNC_OK);
    expect(&r, 3, 0, 0, 0, 0);
    const char *b2[] = {"k1|u|business_id=#1|source=sf|source_id=k1|name=Keep",
                        "k2|u|business_id=#1|source=sf|source_id=k2|name=Changed",
                        "k3|d|business_id=#1|source=sf|source_id=k3",
                        "k4|u|business_id=#1|source=sf|source_id=k4|name=New", NULL};
    assert_int_equal(write_batch(&s, &tg, b2, NULL, &r), SYNC_OK);
    expect(&r, 1, 1, 1, 1, 0);
    /* every listed row carried the id of the row stored under its key */
    assert_string_equal(v1("SELECT string_agg(source_id || ':' || action || ':' || coalesce(tag, 'null'), ',' "
                           "ORDER BY source_id, action) FROM pgs_test.audit"),
                        "k1:inserted:true,k1:unchanged:true,k2:inserted:true,k2:updated:true,"
                        "k3:deleted:true,k3:inserted:true,k4:inserted:true");

    /* inserted rows only: no unchanged, updated or deleted ones are listed */
    x("TRUNCATE pgs_test.audit");
    const char *nopts[] = {"conflict_key", "business_id, source, source_id",
                           "delete_mode", "soft",
                           "soft_delete_set", "sync_status=deleted",
                           "affected_actions", "inserted",
                           "after_batch_sql", "INSERT INTO pgs_test.audit SELECT source_id, action FROM sync_affected",
                           NULL};
    prepare_ok(&s, &narrow, "pgs_test.leads", "business_id,source,source_id,name", nopts);
    const char *b3[] = {"k1|u|business_id=#1|source=sf|source_id=k1|name=Keep",
                        "k2|u|business_id=#1|source=sf|source_id=k2|name=Changed again",
                        "k4|d|business_id=#1|source=sf|source_id=k4",
                        "k5|u|business_id=#1|source=sf|source_id=k5|name=Fifth", NULL};
    assert_int_equal(write_batch(&s, &narrow, b3, NULL, &r), SYNC_OK);
    expect(&r, 1, 1, 1, 1, 0);
    assert_string_equal(v1("SELECT string_agg(source_id || ':' || action, ',') FROM pgs_test.audit"), "k5:inserted");
    free_target(&narrow);

    /* unchanged and updated rows, not inserted ones: found with all listed, the inserted taken away after */
    x("TRUNCATE pgs_test.audit");
    const char *uopts[] = {"conflict_key", "business_id, source, source_id",
                           "affected_actions", "updated, unchanged",
                           "after_batch_sql", "INSERT INTO pgs_test.audit SELECT source_id, action FROM sync_affected",
                           NULL};
    prepare_ok(&s, &narrow, "pgs_test.leads", "business_id,source,source_id,name", uopts);
    const char *b4[] = {"k1|u|business_id=#1|source=sf|source_id=k1|name=Keep",
                        "k2|u|business_id=#1|source=sf|source_id=k2|name=Changed once more",
                        "k6|u|business_id=#1|source=sf|source_id=k6|name=Sixth", NULL};
    assert_int_equal(write_batch(&s, &narrow, b4, NULL, &r), SYNC_OK);
    expect(&r, 1, 1, 1, 0, 0);
    assert_string_equal(v1("SELECT string_agg(source_id || ':' || action, ',' ORDER BY source_id) FROM pgs_test.audit"),
                        "k1:unchanged,k2:updated");
    free_target(&narrow);

    /* bad values are refused at prepare, naming the option */
    const char *bad1[] = {"affected_actions", "inserted, renamed", "after_batch_sql", "SELECT 1", NULL};
    assert_int_not_equal(prepare(&s, &narrow, "pgs_test.leads", "business_id,source,source_id,name", bad1), SYNC_OK);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "\"renamed\" is not one of inserted, updated, unchanged, deleted"));
    free_target(&narrow);
    const char *bad2[] = {"affected_columns", "no_such", "after_batch_sql", "SELECT 1", NULL};
    assert_int_not_equal(prepare(&s, &narrow, "pgs_test.leads", "business_id,source,source_id,name", bad2), SYNC_OK);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "affected_columns column \"no_such\" does not exist"));
    free_target(&narrow);
    const char *bad3[] = {"conflict_key", "business_id, source, source_id", "affected_columns", "source",
                          "after_batch_sql", "SELECT 1", NULL};
    assert_int_not_equal(prepare(&s, &narrow, "pgs_test.leads", "business_id,source,source_id,name", bad3), SYNC_OK);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "affected_columns column \"source\" is listed already"));
    free_target(&narrow);
    free_target(&tg);
    sink_close(&s);
}

/* sync_affected outlives a batch: two targets with other keys on one connection take turns with it. */
static void test_sync_affected_two_targets(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.people (id int PRIMARY KEY, name text)");
    x("CREATE TABLE pgs_test.things (kind text, code text, label text, PRIMARY KEY (kind, code))");
    x("CREATE TABLE pgs_test.audit (what text, action text)");
    sink s;
    target people, things;
    sync_write_result r;
    sink_open(&s, "job_two");
    const char *popts[] = {"after_batch_sql",
                           "INSERT INTO pgs_test.audit SELECT 'person ' || id, action FROM sync_affected", NULL};
    const char *topts[] = {"after_batch_sql",
                           "INSERT INTO pgs_test.audit SELECT 'thing ' || kind || '/' || code, action FROM sync_affected",
                           NULL};
    prepare_ok(&s, &people, "pgs_test.people", "id,name", popts);
    prepare_ok(&s, &things, "pgs_test.things", "kind,code,label", topts);
    const char *p1[] = {"1|u|id=#1|name=Ann", "2|u|id=#2|name=Bob", NULL};
    const char *t1[] = {"a|u|kind=box|code=a|label=A", NULL};
    const char *p2[] = {"1|u|id=#1|name=Ann", "3|u|id=#3|name=Cy", NULL};
    const char *t2[] = {"a|u|kind=box|code=a|label=A2", "b|u|kind=box|code=b|label=B", NULL};
    assert_int_equal(write_batch(&s, &people, p1, NULL, &r), SYNC_OK);
    expect(&r, 2, 0, 0, 0, 0);
    assert_int_equal(write_batch(&s, &things, t1, NULL, &r), SYNC_OK);
    expect(&r, 1, 0, 0, 0, 0);
    assert_int_equal(write_batch(&s, &people, p2, NULL, &r), SYNC_OK);
    expect(&r, 1, 0, 1, 0, 0);
    assert_int_equal(write_batch(&s, &things, t2, NULL, &r), SYNC_OK);
    expect(&r, 1, 1, 0, 0, 0);
    /* each batch listed exactly its own keys, whatever batch of which target came before */
    assert_string_equal(v1("SELECT string_agg(what || ':' || action, ',' ORDER BY what) FROM pgs_test.audit"),
                        "person 1:inserted,person 1:unchanged,person 2:inserted,person 3:inserted,"
                        "thing box/a:inserted,thing box/a:updated,thing box/b:inserted");
    free_target(&people);
    free_target(&things);
    sink_close(&s);
}

static void test_cursor_atomic_with_batch(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.atomic (id int PRIMARY KEY, v text)");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job2");
    const char *opts[] = {"after_batch_sql", "SELECT 1 / (SELECT count(*) - 2 FROM pgs_test.atomic)", NULL};
    prepare_ok(&s, &tg, "pgs_test.atomic", "id,v", opts);
    tg.t.job = "job2";
    const char *b1[] = {"1|u|id=#1|v=a", NULL};
    sync_batch *b = batch_of(b1);
    sync_cursor c1 = {"job2", "contacts", "first"};
    assert_int_equal(S->write(s.inst, tg.state, b, &c1, &r), SYNC_OK);
    syncc_batch_free(b);
    /* the second batch makes the hook divide by zero: nothing of it may stay, cursor included */
    const char *b2[] = {"2|u|id=#2|v=b", NULL};
    b = batch_of(b2);
    sync_cursor c2 = {"job2", "contacts", "second"};
    int rc = S->write(s.inst, tg.state, b, &c2, &r);
    syncc_batch_free(b);
    assert_int_not_equal(rc, SYNC_OK);
    assert_false(H->status_is_retryable(rc));
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "division by zero"));
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.atomic"), 1);
    assert_string_equal(v1("SELECT cursor FROM pgs_state.sync_state WHERE job = 'job2'"), "first");
    char *cur = NULL;
    assert_int_equal(S->state_load(s.inst, "job2", "contacts", &cur), SYNC_OK);
    assert_string_equal(cur, "first");
    H->free(cur);
    assert_int_equal(S->state_reset(s.inst, "job2", NULL), SYNC_OK);
    cur = (char *)"x";
    assert_int_equal(S->state_load(s.inst, "job2", "contacts", &cur), SYNC_OK);
    assert_null(cur);
    free_target(&tg);
    sink_close(&s);
}

/* Collects what the sink's runs callback reports, one line per run. */
typedef struct run_lines {
    char text[8][256];
    int n;
} run_lines;

static void collect_run(const sync_run_info *run, void *payload)
{
    run_lines *l = payload;
    if (l->n < 8)
        snprintf(l->text[l->n++], sizeof(l->text[0]), "%s:%d:%lld/%lld/%lld/%lld/%lld/%lld:%s:%s", run->run_id,
                 (int)run->status, (long long)run->processed, (long long)run->inserted, (long long)run->updated,
                 (long long)run->unchanged, (long long)run->deleted, (long long)run->failed,
                 run->finished_at > run->started_at ? "ended" : "open", run->error ? run->error : "-");
}

/* state_table and runs_table name the engine's two tables, quoted like any identifier. */
static void test_state_tables_named(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.named (id int PRIMARY KEY, v text)");
    const char *names[] = {"state_table", "Cursor Positions", "runs_table", "run book", NULL};
    sink s;
    int rc = sink_open_with(&s, "job3", url, names);
    if (rc != SYNC_OK)
        fprintf(stderr, "open: %s\n", syncc_ctx_error(s.ctx));
    assert_int_equal(rc, SYNC_OK);
    /* the two named ones, sync_leases, sync_progress and sync_seen */
    assert_int_equal(n1("SELECT count(*) FROM pg_tables WHERE schemaname = 'pgs_state'"), 5);
    assert_int_equal(n1("SELECT count(*) FROM pg_tables WHERE schemaname = 'pgs_state' AND tablename IN "
                        "('Cursor Positions', 'run book')"), 2);
    assert_int_equal(n1("SELECT count(*) FROM pg_indexes WHERE schemaname = 'pgs_state' AND "
                        "indexname = 'run book_job_status'"), 1);

    sync_run_info run = {.struct_size = sizeof(sync_run_info), .job = "job3", .run_id = "run-named",
                         .started_at = H->time_now()};
    assert_int_equal(S->begin(s.inst, &run), SYNC_OK);
    assert_string_equal(v1("SELECT status FROM pgs_state.\"run book\" WHERE run_id = 'run-named'"), "running");
    target tg;
    sync_write_result r;
    prepare_ok(&s, &tg, "pgs_test.named", "id,v", NULL);
    tg.t.job = "job3";
    const char *b1[] = {"1|u|id=#1|v=a", NULL};
    sync_batch *b = batch_of(b1);
    sync_cursor c = {"job3", "contacts", "here"};
    assert_int_equal(S->write(s.inst, tg.state, b, &c, &r), SYNC_OK);
    syncc_batch_free(b);
    assert_string_equal(v1("SELECT cursor FROM pgs_state.\"Cursor Positions\" WHERE job = 'job3'"), "here");
    char *cur = NULL;
    assert_int_equal(S->state_load(s.inst, "job3", "contacts", &cur), SYNC_OK);
    assert_string_equal(cur, "here");
    H->free(cur);
    free_target(&tg);
    sink_close(&s);

    /* the same name twice is refused at open, naming both options */
    const char *same[] = {"state_table", "t", "runs_table", "t", NULL};
    rc = sink_open_with(&s, "job3", url, same);
    assert_int_equal(rc, SYNC_E_CONFIG);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "\"state_table\" and \"runs_table\" name the same table"));
    s.inst = NULL;
    sink_close(&s);
}

/* A runs table made by the first release (no counts) gets the new columns at open. */
static void test_runs_table_upgraded(void **st)
{
    (void)st;
    x("CREATE SCHEMA pgs_state");
    x("CREATE TABLE pgs_state.sync_state (job text NOT NULL, stream text NOT NULL, cursor text, "
      "updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, stream))");
    x("CREATE TABLE pgs_state.sync_runs (run_id text PRIMARY KEY, job text NOT NULL, status text NOT NULL, "
      "log_table text, log_key_column text, log_row_id text, started_at timestamptz NOT NULL, "
      "finished_at timestamptz, error_message text)");
    x("INSERT INTO pgs_state.sync_runs (run_id, job, status, started_at, finished_at) "
      "VALUES ('old-1', 'job4', 'success', now() - interval '1 hour', now() - interval '59 minutes')");
    x("INSERT INTO pgs_state.sync_state VALUES ('job4', 'contacts', 'kept', now())");
    sink s;
    sink_open(&s, "job4");
    assert_int_equal(n1("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'pgs_state' "
                        "AND table_name = 'sync_runs' AND column_name IN ('processed', 'inserted', 'updated', "
                        "'unchanged', 'deleted', 'failed', 'full_refresh')"), 7);
    char *cur = NULL;
    assert_int_equal(S->state_load(s.inst, "job4", "contacts", &cur), SYNC_OK);
    assert_string_equal(cur, "kept");
    H->free(cur);
    run_lines l = {.n = 0};
    assert_int_equal(S->runs(s.inst, "job4", 5, collect_run, &l), SYNC_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.text[0], "old-1:1:0/0/0/0/0/0:ended:-");
    sink_close(&s);
}

static void test_mixed_case_and_unicode(void **st)
{
    (void)st;
    x("CREATE SCHEMA \"Mixed Schema\"");
    x("CREATE TABLE \"Mixed Schema\".\"Odd \"\"Table\"\"\" (\"Id\" text PRIMARY KEY, \"First Name\" text, "
      "\"select\" text, data jsonb, born date, seen timestamptz, ok boolean, score double precision)");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job1");
    prepare_ok(&s, &tg, "\"Mixed Schema\".\"Odd \"\"Table\"\"\"", "Id,First Name,select,data,born,seen,ok,score", NULL);

    static const char weird[] = "tab\there\nnewline\\backslash \\N not null, 'quote' \"dq\" Zoë 日本 🎉\r";
    sync_batch *b = syncc_batch_new();
    sync_record *rec = syncc_batch_add(b, "k1", 2, SYNC_OP_UPSERT);
    sync_value v;
    v.type = SYNC_TYPE_STRING;
    v.u.str.ptr = "k1";
    v.u.str.len = 2;
    syncc_record_set(rec, "Id", &v);
    v.u.str.ptr = weird;
    v.u.str.len = strlen(weird);
    syncc_record_set(rec, "First Name", &v);
    v.u.str.ptr = "\\N";
    v.u.str.len = 2;
    syncc_record_set(rec, "select", &v);
    v.type = SYNC_TYPE_JSON;
    v.u.str.ptr = "{\"a\": [1, \"x\\ty\"]}";
    v.u.str.len = strlen(v.u.str.ptr);
    syncc_record_set(rec, "data", &v);
    v.type = SYNC_TYPE_DATE;
    v.u.ts = 19723; /* 2024-01-01 */
    syncc_record_set(rec, "born", &v);
    v.type = SYNC_TYPE_TIMESTAMP;
    v.u.ts = INT64_C(1714557600123456); /* 2024-05-01 10:00:00.123456 UTC */
    syncc_record_set(rec, "seen", &v);
    v.type = SYNC_TYPE_BOOL;
    v.u.b = 1;
    syncc_record_set(rec, "ok", &v);
    v.type = SYNC_TYPE_FLOAT;
    v.u.f = 0.1;
    syncc_record_set(rec, "score", &v);
    /* a second record with the fields in another order (looked up by name) */
    sync_record *rec2 = syncc_batch_add(b, "k2", 2, SYNC_OP_UPSERT);
    v.type = SYNC_TYPE_NULL;
    syncc_record_set(rec2, "score", &v);
    v.type = SYNC_TYPE_STRING;
    v.u.str.ptr = "k2";
    v.u.str.len = 2;
    syncc_record_set(rec2, "Id", &v);
    assert_int_equal(S->write(s.inst, tg.state, b, NULL, &r), SYNC_OK);
    expect(&r, 2, 0, 0, 0, 0);
    /* same values again: unchanged (jsonb, date, float compare equal) */
    assert_int_equal(S->write(s.inst, tg.state, b, NULL, &r), SYNC_OK);
    expect(&r, 0, 0, 2, 0, 0);
    syncc_batch_free(b);

    const char *tq = "\"Mixed Schema\".\"Odd \"\"Table\"\"\"";
    assert_string_equal(v1("SELECT \"First Name\" FROM %s WHERE \"Id\" = 'k1'", tq), weird);
    assert_string_equal(v1("SELECT \"select\" FROM %s WHERE \"Id\" = 'k1'", tq), "\\N");
    assert_string_equal(v1("SELECT data->'a'->>1 FROM %s WHERE \"Id\" = 'k1'", tq), "x\ty");
    assert_string_equal(v1("SELECT born FROM %s WHERE \"Id\" = 'k1'", tq), "2024-01-01");
    assert_string_equal(v1("SELECT seen AT TIME ZONE 'UTC' FROM %s WHERE \"Id\" = 'k1'", tq), "2024-05-01 10:00:00.123456");
    assert_string_equal(v1("SELECT ok AND score = 0.1 FROM %s WHERE \"Id\" = 'k1'", tq), "t");
    assert_string_equal(v1("SELECT coalesce(\"First Name\", 'null') FROM %s WHERE \"Id\" = 'k2'", tq), "null");
    free_target(&tg);
    sink_close(&s);
}

static void test_schema_errors(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.plain (id int, email text, name text, gen int GENERATED ALWAYS AS (id * 2) STORED)");
    x("CREATE UNIQUE INDEX plain_email ON pgs_test.plain (email)");
    sink s;
    target tg;
    sink_open(&s, "job1");
    assert_int_equal(prepare(&s, &tg, "pgs_test.plain", "id,emial", NULL), SYNC_E_SCHEMA);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "\"emial\""));
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "pgs_test.plain"));
    free_target(&tg);
    const char *byid[] = {"conflict_key", "id", NULL};
    assert_int_equal(prepare(&s, &tg, "pgs_test.plain", "id,email", byid), SYNC_E_SCHEMA);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "no matching unique index"));
    free_target(&tg);
    assert_int_equal(prepare(&s, &tg, "pgs_test.plain", "id,gen", byid), SYNC_E_SCHEMA);
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "generated"));
    free_target(&tg);
    assert_int_equal(prepare(&s, &tg, "pgs_test.missing", "id", NULL), SYNC_E_NOTFOUND);
    free_target(&tg);
    /* no key given: the only fully mapped unique index (email) is chosen */
    prepare_ok(&s, &tg, "pgs_test.plain", "email,name", NULL);
    free_target(&tg);
    /* Email matches email when nothing else could */
    prepare_ok(&s, &tg, "pgs_test.plain", "Email,name", NULL);
    free_target(&tg);
    sink_close(&s);
    assert_string_equal(v1("SELECT count(*) FROM pgs_test.plain"), "0");
}

static void test_run_log_and_crash_closeout(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.businesses (id int PRIMARY KEY)");
    x("INSERT INTO pgs_test.businesses VALUES (42)");
    x("CREATE TABLE pgs_test.sync_logs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
      "business_id int NOT NULL REFERENCES pgs_test.businesses (id), integration_id text NOT NULL, "
      "sync_type varchar(50) NOT NULL, sync_status varchar(50) NOT NULL, "
      "records_processed int DEFAULT 0, records_created int DEFAULT 0, records_updated int DEFAULT 0, "
      "records_failed int DEFAULT 0, started_at timestamptz NOT NULL, completed_at timestamptz, "
      "duration_ms int, error_message text, error_details jsonb, metadata jsonb DEFAULT '{}', "
      "created_at timestamptz DEFAULT now())");
    x("CREATE TABLE pgs_test.integrations (id text PRIMARY KEY, last_sync_at timestamptz, runs int DEFAULT 0)");
    x("INSERT INTO pgs_test.integrations (id) VALUES ('int-1')");
    const char *jobopts[] = {
        "run_log_table", "pgs_test.sync_logs",
        "run_log_columns", "status=sync_status, processed=records_processed, created=records_created, "
                           "updated=records_updated, failed=records_failed",
        "sql_params", "int-1, 42",
        "run_log_values", "integration_id=$1, business_id=$2",
        "before_run_sql", "UPDATE pgs_test.integrations SET runs = runs + 1 WHERE id = $1",
        "after_run_sql", "UPDATE pgs_test.integrations SET last_sync_at = now() WHERE id = $1",
        NULL};
    sync_config *jcfg = config(P->target_options, jobopts);

    /* run 1 begins and "crashes": its instance goes away without finish */
    sink s1;
    sink_open(&s1, "henk");
    sync_run_info run1 = {.struct_size = sizeof(sync_run_info), .job = "henk", .run_id = "run-1",
                          .started_at = H->time_now(), .options = jcfg};
    int rc = S->begin(s1.inst, &run1);
    if (rc != SYNC_OK)
        fprintf(stderr, "begin: %s\n", syncc_ctx_error(s1.ctx));
    assert_int_equal(rc, SYNC_OK);
    assert_string_equal(v1("SELECT sync_status || ':' || sync_type || ':' || business_id || ':' || integration_id "
                           "FROM pgs_test.sync_logs"), "running:incremental:42:int-1");
    assert_int_equal(n1("SELECT runs FROM pgs_test.integrations"), 1);
    sink_close(&s1);

    /* run 2 closes run 1 as failed, then runs to completion */
    sink s2;
    sink_open(&s2, "henk");
    sync_run_info run2 = {.struct_size = sizeof(sync_run_info), .job = "henk", .run_id = "run-2",
                          .started_at = H->time_now() - 1500000, .full_refresh = 1, .options = jcfg};
    assert_int_equal(S->begin(s2.inst, &run2), SYNC_OK);
    assert_string_equal(v1("SELECT sync_status FROM pgs_test.sync_logs ORDER BY created_at, started_at LIMIT 1"), "failed");
    assert_non_null(strstr(v1("SELECT error_message FROM pgs_test.sync_logs WHERE sync_status = 'failed'"),
                           "run run-1 did not finish"));
    assert_string_equal(v1("SELECT completed_at IS NOT NULL FROM pgs_test.sync_logs WHERE sync_status = 'failed'"), "t");
    assert_string_equal(v1("SELECT status FROM pgs_state.sync_runs WHERE run_id = 'run-1'"), "failed");
    assert_string_equal(v1("SELECT sync_type FROM pgs_test.sync_logs WHERE sync_status = 'running'"), "full");
    assert_string_equal(v1("SELECT last_sync_at IS NULL FROM pgs_test.integrations"), "t");

    run2.status = SYNC_RUN_PARTIAL;
    run2.finished_at = run2.started_at + 1500000;
    run2.processed = 10;
    run2.inserted = 4;
    run2.updated = 3;
    run2.unchanged = 2;
    run2.failed = 1;
    run2.error = NULL;
    run2.details_json = "{\"rejected\":[{\"key\":\"003x\",\"message\":\"bad\"}]}";
    assert_int_equal(S->finish(s2.inst, &run2), SYNC_OK);
    assert_string_equal(v1("SELECT concat_ws(':', sync_status, records_processed, records_created, records_updated, "
                           "records_failed, duration_ms, error_details->'rejected'->0->>'key', "
                           "metadata ? 'rejected') FROM pgs_test.sync_logs WHERE sync_type = 'full'"),
                        "partial:10:4:3:1:1500:003x:t");
    assert_string_equal(v1("SELECT last_sync_at IS NOT NULL FROM pgs_test.integrations"), "t");
    assert_string_equal(v1("SELECT status FROM pgs_state.sync_runs WHERE run_id = 'run-2'"), "partial");
    run_lines l = {.n = 0};
    assert_int_equal(S->runs(s2.inst, "henk", 5, collect_run, &l), SYNC_OK);
    assert_int_equal(l.n, 2);
    /* run-2 was given a start 1.5 s in the past, before run-1's: newest first puts it second */
    assert_string_equal(l.text[1], "run-2:2:10/4/3/2/0/1:ended:-");
    sink_close(&s2);

    /* a bad run_log_columns target column is refused before anything is written */
    const char *bad[] = {"run_log_table", "pgs_test.sync_logs", "run_log_columns", "status=no_such_col", NULL};
    sync_config *bcfg = config(P->target_options, bad);
    sink s3;
    sink_open(&s3, "henk");
    sync_run_info run3 = {.struct_size = sizeof(sync_run_info), .job = "henk", .run_id = "run-3",
                          .started_at = H->time_now(), .options = bcfg};
    assert_int_equal(S->begin(s3.inst, &run3), SYNC_E_SCHEMA);
    assert_non_null(strstr(syncc_ctx_error(s3.ctx), "no_such_col"));
    sink_close(&s3);
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.sync_logs"), 2);
    syncc_config_free(bcfg);

    /* a failing before_run_sql closes the row it just opened, since finish() will not come */
    const char *failing[] = {"run_log_table", "pgs_test.sync_logs",
                             "run_log_columns", "status=sync_status",
                             "sql_params", "int-1, 42",
                             "run_log_values", "integration_id=$1, business_id=$2",
                             "before_run_sql", "SELECT 1/0", NULL};
    sync_config *fcfg = config(P->target_options, failing);
    sink s4;
    sink_open(&s4, "henk");
    sync_run_info run4 = {.struct_size = sizeof(sync_run_info), .job = "henk", .run_id = "run-4",
                          .started_at = H->time_now(), .options = fcfg};
    assert_int_equal(S->begin(s4.inst, &run4), SYNC_E_CONFIG);
    assert_non_null(strstr(syncc_ctx_error(s4.ctx), "before_run_sql statement 1"));
    assert_non_null(strstr(v1("SELECT sync_status || ': ' || error_message FROM pgs_test.sync_logs "
                              "ORDER BY created_at DESC, started_at DESC LIMIT 1"),
                           "failed: before_run_sql statement 1"));
    assert_string_equal(v1("SELECT status FROM pgs_state.sync_runs WHERE run_id = 'run-4'"), "failed");
    sink_close(&s4);
    syncc_config_free(fcfg);
    syncc_config_free(jcfg);
}

/* run_log_statuses: the run-log table gets its own words; the engine's table keeps its own. */
static void test_run_log_statuses(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.runlog (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
      "sync_status text NOT NULL CHECK (sync_status IN ('in_progress', 'success', 'partial', 'failed')), "
      "started_at timestamptz NOT NULL, completed_at timestamptz, error_message text)");
    const char *jobopts[] = {"run_log_table", "pgs_test.runlog", "run_log_columns", "status=sync_status",
                             "run_log_statuses", "running=in_progress, rate_limited=failed", NULL};
    sync_config *jcfg = config(P->target_options, jobopts);

    /* run 1 opens its row as in_progress and "crashes" */
    sink s1;
    sink_open(&s1, "mapped");
    sync_run_info run1 = {.struct_size = sizeof(sync_run_info), .job = "mapped", .run_id = "m-1",
                          .started_at = H->time_now(), .options = jcfg};
    int rc = S->begin(s1.inst, &run1);
    if (rc != SYNC_OK)
        fprintf(stderr, "begin: %s\n", syncc_ctx_error(s1.ctx));
    assert_int_equal(rc, SYNC_OK);
    assert_string_equal(v1("SELECT sync_status FROM pgs_test.runlog"), "in_progress");
    assert_string_equal(v1("SELECT status FROM pgs_state.sync_runs WHERE run_id = 'm-1'"), "running");
    sink_close(&s1);

    /* run 2 finds it by its own word and closes it; then stops at the API limit */
    sink s2;
    sink_open(&s2, "mapped");
    sync_run_info run2 = {.struct_size = sizeof(sync_run_info), .job = "mapped", .run_id = "m-2",
                          .started_at = H->time_now(), .options = jcfg};
    assert_int_equal(S->begin(s2.inst, &run2), SYNC_OK);
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.runlog WHERE sync_status = 'failed' AND "
                        "error_message LIKE 'run m-1 did not finish%%' AND completed_at IS NOT NULL"), 1);
    run2.status = SYNC_RUN_RATE_LIMITED;
    run2.finished_at = H->time_now();
    run2.error = "salesforce API request limit exceeded";
    assert_int_equal(S->finish(s2.inst, &run2), SYNC_OK);
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.runlog WHERE sync_status = 'failed'"), 2);
    assert_string_equal(v1("SELECT status FROM pgs_state.sync_runs WHERE run_id = 'm-2'"), "rate_limited");

    /* the runs callback (ABI 1.1) reports both, newest first, in the engine's words, with counts */
    run_lines l = {.n = 0};
    assert_non_null(S->runs);
    assert_int_equal(S->runs(s2.inst, "mapped", 5, collect_run, &l), SYNC_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.text[0], "m-2:4:0/0/0/0/0/0:ended:salesforce API request limit exceeded");
    assert_non_null(strstr(l.text[1], "m-1:3:0/0/0/0/0/0:ended:run m-1 did not finish"));
    l.n = 0;
    assert_int_equal(S->runs(s2.inst, "mapped", 1, collect_run, &l), SYNC_OK);
    assert_int_equal(l.n, 1);
    l.n = 0;
    assert_int_equal(S->runs(s2.inst, "no such job", 5, collect_run, &l), SYNC_OK);
    assert_int_equal(l.n, 0);
    sink_close(&s2);
    syncc_config_free(jcfg);

    /* an unknown status is refused at begin, naming it and the choices */
    const char *bad[] = {"run_log_table", "pgs_test.runlog", "run_log_columns", "status=sync_status",
                         "run_log_statuses", "stopped=failed", NULL};
    sync_config *bcfg = config(P->target_options, bad);
    sink s3;
    sink_open(&s3, "mapped");
    sync_run_info run3 = {.struct_size = sizeof(sync_run_info), .job = "mapped", .run_id = "m-3",
                          .started_at = H->time_now(), .options = bcfg};
    assert_int_equal(S->begin(s3.inst, &run3), SYNC_E_CONFIG);
    assert_non_null(strstr(syncc_ctx_error(s3.ctx), "unknown status \"stopped\""));
    assert_non_null(strstr(syncc_ctx_error(s3.ctx), "rate_limited"));
    sink_close(&s3);
    syncc_config_free(bcfg);
}

static void test_leases(void **st)
{
    (void)st;
    sink a, b;
    int got = -1;
    sink_open(&a, "job1");
    sink_open(&b, "job1");
    assert_int_equal(S->lease_acquire(a.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 1);
    assert_int_equal(S->lease_acquire(b.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 0);
    assert_int_equal(S->lease_acquire(b.inst, "other", &got), SYNC_OK);
    assert_int_equal(got, 1);
    S->lease_release(a.inst, "henk");
    assert_int_equal(S->lease_acquire(b.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 1);
    /* the holder's session dies: the server frees the lock */
    assert_int_equal(S->lease_acquire(a.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 0);
    x("SELECT pg_terminate_backend(backend_pid) FROM pgs_state.sync_leases WHERE job = 'henk'");
    for (int i = 0; i < 100 && n1("SELECT count(*) FROM pg_stat_activity WHERE pid = "
                                  "(SELECT backend_pid FROM pgs_state.sync_leases WHERE job = 'henk')") > 0; i++)
        usleep(20000);
    assert_int_equal(S->lease_acquire(a.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 1);
    /* every take-over increments the epoch */
    assert_int_equal(n1("SELECT epoch FROM pgs_state.sync_leases WHERE job = 'henk'"), 3);
    sink_close(&a);
    sink_close(&b);
    /* closing gave it back */
    assert_string_equal(v1("SELECT holder FROM pgs_state.sync_leases WHERE job = 'henk'"), "<null>");
}

/* An expired lease is free even while its holder's session lives; a live one is renewed. */
static void test_lease_ttl(void **st)
{
    (void)st;
    sink a, b;
    int got = 0;
    const char *ttl[] = {"lease_ttl", "6s", NULL};
    assert_int_equal(sink_open_with(&a, "job1", url, ttl), SYNC_OK);
    sink_open(&b, "job1");
    assert_int_equal(S->lease_acquire(a.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 1);
    const char *before = v1("SELECT expires_at::text FROM pgs_state.sync_leases WHERE job = 'henk'");
    char was[64];
    snprintf(was, sizeof(was), "%s", before);
    usleep(2600000); /* the renewer runs every 2 s */
    assert_true(n1("SELECT count(*) FROM pgs_state.sync_leases WHERE job = 'henk' AND expires_at > '%s'", was) == 1);
    assert_int_equal(S->lease_acquire(b.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 0);
    /* the row says it expired (a holder stuck or cut off from the database): free */
    x("UPDATE pgs_state.sync_leases SET expires_at = now() - interval '1 second' WHERE job = 'henk'");
    assert_int_equal(S->lease_acquire(b.inst, "henk", &got), SYNC_OK);
    assert_int_equal(got, 1);
    sink_close(&a);
    sink_close(&b);
}

static void test_lease_lost_with_connection(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.ll (id int PRIMARY KEY)");
    sink a, b;
    target tg;
    sync_write_result r;
    int got = 0;
    sink_open(&a, "job1");
    sink_open(&b, "job1");
    prepare_ok(&a, &tg, "pgs_test.ll", "id", NULL);
    assert_int_equal(S->lease_acquire(a.inst, "job1", &got), SYNC_OK);
    assert_int_equal(got, 1);
    const char *b0[] = {"1|u|id=#1", NULL};
    assert_int_equal(S->lease_acquire(a.inst, "other", &got), SYNC_OK); /* a lease of another job: no matter */
    assert_int_equal(got, 1);
    assert_int_equal(write_batch(&a, &tg, b0, "x", &r), SYNC_OK);
    /* another process takes the job (what a take-over commits, seen from here) */
    x("UPDATE pgs_state.sync_leases SET epoch = epoch + 1, holder = 'engine b' WHERE job = 'job1'");
    const char *batch[] = {"2|u|id=#2", NULL};
    assert_int_equal(write_batch(&a, &tg, batch, "y", &r), SYNC_ERROR);
    assert_non_null(strstr(syncc_ctx_error(a.ctx), "lease lost: job \"job1\" was taken over by engine b"));
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.ll"), 1);
    assert_string_equal(v1("SELECT cursor FROM pgs_state.sync_state WHERE job = 'job1'"), "x");
    /* a second instance of the same process (a parallel stream) is fenced as well */
    sink c;
    target tc;
    sink_open(&c, "job1");
    prepare_ok(&c, &tc, "pgs_test.ll", "id", NULL);
    assert_int_equal(write_batch(&c, &tc, batch, "y", &r), SYNC_ERROR);
    assert_non_null(strstr(syncc_ctx_error(c.ctx), "lease lost: job \"job1\" was taken over by engine b"));
    free_target(&tc);
    sink_close(&c);
    S->lease_release(a.inst, "job1");

    /* a loses its lease session; b (here: this process again) takes the lease before a notices */
    x("UPDATE pgs_state.sync_leases SET holder = NULL WHERE job = 'job1'");
    assert_int_equal(S->lease_acquire(a.inst, "job1", &got), SYNC_OK);
    assert_int_equal(got, 1);
    x("SELECT pg_terminate_backend(backend_pid) FROM pgs_state.sync_leases WHERE job = 'job1'");
    for (int i = 0; i < 100 && n1("SELECT count(*) FROM pg_stat_activity WHERE pid = "
                                  "(SELECT backend_pid FROM pgs_state.sync_leases WHERE job = 'job1')") > 0; i++)
        usleep(20000);
    assert_int_equal(S->lease_acquire(b.inst, "job1", &got), SYNC_OK);
    assert_int_equal(got, 1);
    const char *b3[] = {"3|u|id=#3", NULL};
    assert_int_equal(write_batch(&a, &tg, b3, "z", &r), SYNC_ERROR);
    assert_non_null(strstr(syncc_ctx_error(a.ctx), "lease lost: job \"job1\" was taken over by"));
    assert_int_equal(n1("SELECT count(*) FROM pgs_test.ll WHERE id = 3"), 0);
    free_target(&tg);
    sink_close(&a);
    sink_close(&b);
}

static void test_reconnect_between_batches(void **st)
{
    (void)st;
    x("CREATE TABLE pgs_test.rc (id int PRIMARY KEY, v text)");
    sink s;
    target tg;
    sync_write_result r;
    sink_open(&s, "job3");
    prepare_ok(&s, &tg, "pgs_test.rc", "id,v", NULL);
    const char *b1[] = {"1|u|id=#1|v=a", NULL};
    assert_int_equal(write_batch(&s, &tg, b1, "r1", &r), SYNC_OK);

    /* the session is killed (what a failover or restart looks like to the client): the write
     * does not retry by itself (the engine owns the retry policy); it says the failure is
     * passing, and the engine's next call reconnects once and stores the batch */
    x("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgs_test'");
    const char *b2[] = {"2|u|id=#2|v=b", NULL};
    int rc = write_batch(&s, &tg, b2, "r2", &r);
    assert_int_equal(rc, SYNC_E_UNAVAILABLE);
    assert_true(H->status_is_retryable(rc));
    assert_string_equal(v1("SELECT count(*) FROM pgs_test.rc"), "1");
    assert_int_equal(write_batch(&s, &tg, b2, "r2", &r), SYNC_OK);
    expect(&r, 1, 0, 0, 0, 0);
    assert_int_equal(syncc_ctx_counter(s.ctx, "db_reconnects"), 1);

    /* a real server restart, when the wrapper script tells us how */
    const char *restart = getenv("PGS_TEST_RESTART_CMD");
    if (restart && *restart) {
        PQfinish(admin);
        admin = NULL;
        assert_int_equal(system(restart), 0);
        admin = PQconnectdb(url);
        assert_int_equal(PQstatus(admin), CONNECTION_OK);
        const char *b3[] = {"3|u|id=#3|v=c", "1|u|id=#1|v=a2", NULL};
        assert_int_equal(write_batch(&s, &tg, b3, "r3", &r), SYNC_E_UNAVAILABLE);
        assert_int_equal(write_batch(&s, &tg, b3, "r3", &r), SYNC_OK);
        expect(&r, 1, 1, 0, 0, 0);
        assert_string_equal(v1("SELECT string_agg(id || v, ',' ORDER BY id) FROM pgs_test.rc"), "1a2,2b,3c");
        assert_string_equal(v1("SELECT cursor FROM pgs_state.sync_state WHERE job = 'job1'"), "r3");
    }
    assert_true(s.ctx && syncc_ctx_counter(s.ctx, "db_reconnects") >= 1);
    free_target(&tg);
    sink_close(&s);
}

static void test_server_down_at_open(void **st)
{
    (void)st;
    sink s;
    /* a socket directory with no server in it */
    int rc = sink_open_with(&s, "job1", "host=/nonexistent-pgs-test port=1 dbname=x connect_timeout=2", NULL);
    assert_int_equal(rc, SYNC_E_UNAVAILABLE);
    assert_true(H->status_is_retryable(rc));
    assert_non_null(strstr(syncc_ctx_error(s.ctx), "could not connect"));
    s.inst = NULL; /* a failed open leaves nothing to close */
    sink_close(&s);
}

static int group_setup(void **st)
{
    (void)st;
    admin = PQconnectdb(url);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s\n", PQerrorMessage(admin));
        return -1;
    }
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    return 0;
}

static int reset_schema(void **st)
{
    (void)st;
    x("DROP SCHEMA IF EXISTS pgs_test CASCADE");
    x("DROP SCHEMA IF EXISTS \"Mixed Schema\" CASCADE");
    x("DROP SCHEMA IF EXISTS pgs_state CASCADE");
    x("CREATE SCHEMA pgs_test");
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    PQfinish(admin);
    return 0;
}

int main(void)
{
    url = getenv("PGS_TEST_DATABASE_URL");
    if (!url || !*url) {
        printf("PGS_TEST_DATABASE_URL not set (tests/integration/pg_sink.sh sets it); skipped\n");
        return 77;
    }
    H = syncc_host();
    P = sync_plugin_entry(H);
    S = P->sink;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_upsert_insert_update_unchanged, reset_schema),
        cmocka_unit_test_setup(test_duplicate_key_in_batch, reset_schema),
        cmocka_unit_test_setup(test_delete_modes, reset_schema),
        cmocka_unit_test_setup(test_bad_records_isolated, reset_schema),
        cmocka_unit_test_setup(test_hooks_and_sync_affected, reset_schema),
        cmocka_unit_test_setup(test_sync_affected_two_targets, reset_schema),
        cmocka_unit_test_setup(test_affected_columns_and_actions, reset_schema),
        cmocka_unit_test_setup(test_prefiltered_upsert, reset_schema),
        cmocka_unit_test_setup(test_cursor_atomic_with_batch, reset_schema),
        cmocka_unit_test_setup(test_state_tables_named, reset_schema),
        cmocka_unit_test_setup(test_runs_table_upgraded, reset_schema),
        cmocka_unit_test_setup(test_mixed_case_and_unicode, reset_schema),
        cmocka_unit_test_setup(test_schema_errors, reset_schema),
        cmocka_unit_test_setup(test_run_log_and_crash_closeout, reset_schema),
        cmocka_unit_test_setup(test_run_log_statuses, reset_schema),
        cmocka_unit_test_setup(test_leases, reset_schema),
        cmocka_unit_test_setup(test_lease_ttl, reset_schema),
        cmocka_unit_test_setup(test_lease_lost_with_connection, reset_schema),
        cmocka_unit_test_setup(test_reconnect_between_batches, reset_schema),
        cmocka_unit_test_setup(test_server_down_at_open, reset_schema),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
