/*
 * tests/unit/test_config.c - the configuration layer: INI loading, includes,
 * interpolation, the engine's own sections, and binding plugin keys against
 * option tables (a fake source and sink plugin declared here).
 *
 * Every test writes real files into a fresh temporary directory and checks
 * the complete error message, so that the file:line, the option names and
 * the lists of valid keys users rely on cannot drift unnoticed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"

static char g_dir[256];
static char g_err[4096];
static char g_warn[8192];
static int g_nwarn;

/* ------------------------------------------------------------- helpers */

static const char *P(const char *name)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", g_dir, name);
    return buf[i];
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    const char *path = P(name);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    mkdir(dir, 0700); /* one level is enough for conf.d/ */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static syncc_conf *load_text(const char *text)
{
    write_file("main.ini", text, 0600);
    g_err[0] = '\0';
    return syncc_conf_load(P("main.ini"), g_err, sizeof(g_err));
}

/* Loads text (as main.ini) and asserts it fails with exactly the message fmt. */
static void expect_load_error(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_load_error(const char *text, const char *fmt, ...)
{
    char want[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    syncc_conf *c = load_text(text);
    if (c) {
        syncc_conf_free(c);
        fail_msg("configuration loaded, expected: %s", want);
    }
    assert_string_equal(g_err, want);
}

static void capture_warning(const char *message, void *payload)
{
    (void)payload;
    size_t used = strlen(g_warn);
    snprintf(g_warn + used, sizeof(g_warn) - used, "%s\n", message);
    g_nwarn++;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/syncconf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    g_warn[0] = '\0';
    g_nwarn = 0;
    unsetenv("STATE_DIRECTORY");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A minimal valid body: one source, one sink, one job with one stream. */
#define BASE                                                                                                 \
    "[source src]\nplugin = fakesrc\n"                                                                       \
    "[sink dst]\nplugin = fakesink\n"                                                                        \
    "[job j]\nsource = src\nsink = dst\n"                                                                    \
    "[stream j.s]\nobject = Thing\n"

/* ------------------------------------------------------- loading: happy */

static const char example[] =
    "[engine]\n"                                                   /* 1 */
    "state_dir = /var/lib/syncengine      ; local state store\n"   /* 2 */
    "max_jobs = 8\n"                                               /* 3 */
    "log_level = debug\n"                                          /* 4 */
    "log_format = json\n"                                          /* 5 */
    "\n"                                                           /* 6 */
    "[source sf_acme]\n"                                           /* 7 */
    "plugin = salesforce\n"                                        /* 8 */
    "login_url = ${TEST_SF_URL:-https://login.salesforce.com}\n"   /* 9 */
    "client_id = ${TEST_SF_ID}\n"                                  /* 10 */
    "\n"                                                           /* 11 */
    "[sink henk_db]\n"                                             /* 12 */
    "plugin = postgres\n"                                          /* 13 */
    "conninfo = dbname=henk\n"                                     /* 14 */
    "\n"                                                           /* 15 */
    "[job acme]     ; one run = every stream\n"                    /* 16 */
    "source = sf_acme\n"                                           /* 17 */
    "sink = henk_db\n"                                             /* 18 */
    "schedule = 0 * * * *\n"                                       /* 19 */
    "batch_size = 500\n"                                           /* 20 */
    "queue_depth = 2\n"                                            /* 21 */
    "enabled = no\n"                                               /* 22 */
    "full_refresh = yes\n"                                         /* 23 */
    "sink.run_log_table = sync_logs\n"                             /* 24 */
    "sink.conflict_key = id\n"                                     /* 25 */
    "\n"                                                           /* 26 */
    "[stream acme.contacts]\n"                                     /* 27 */
    "object = Contact\n"                                           /* 28 */
    "target = leads\n"                                             /* 29 */
    "source.where = Email != null ; comment\n"                     /* 30 */
    "sink.conflict_key = business_id, source, source_id\n"         /* 31 */
    "\n"                                                           /* 32 */
    "[stream acme.leads]\n"                                        /* 33 */
    "object = Lead\n"                                              /* 34 */
    "\n"                                                           /* 35 */
    "[map acme.contacts]\n"                                        /* 36 */
    "business_id = ${HENK_BUSINESS_ID}\n"                          /* 37 */
    "source   =   'salesforce ; contact'   ; the origin\n"         /* 38 */
    "company = Account.Name\n"                                     /* 39 */
    "lead_score: 50\n";                                            /* 40 */

static void test_example_loads(void **state)
{
    (void)state;
    setenv("TEST_SF_ID", "abc123", 1);
    unsetenv("TEST_SF_URL");
    syncc_conf *c = load_text(example);
    assert_non_null(c);

    assert_string_equal(c->engine.state_dir, "/var/lib/syncengine");
    assert_int_equal(c->engine.max_jobs, 8);
    assert_string_equal(c->engine.log_level, "debug");
    assert_string_equal(c->engine.log_format, "json");
    assert_null(c->engine.plugin_dir);

    assert_int_equal(c->n_instances, 2);
    assert_string_equal(c->instances[0].name, "sf_acme");
    assert_true(c->instances[0].is_source);
    assert_string_equal(c->instances[0].plugin_name, "salesforce");
    assert_string_equal(c->instances[1].name, "henk_db");
    assert_false(c->instances[1].is_source);
    /* interpolated values of the source section */
    const syncc_section *src = c->instances[0].section;
    assert_int_equal(src->line, 7);
    assert_string_equal(src->kv[1].key, "login_url");
    assert_string_equal(src->kv[1].value, "https://login.salesforce.com");
    assert_string_equal(src->kv[2].value, "abc123");
    assert_int_equal(src->kv[2].line, 10);
    assert_false(src->kv[2].literal);
    assert_true(src->kv[1].literal); /* the default is written in the file */

    assert_int_equal(c->n_jobs, 1);
    syncc_job *j = syncc_conf_job(c, "acme");
    assert_non_null(j);
    assert_null(syncc_conf_job(c, "nope"));
    assert_ptr_equal(j->source, &c->instances[0]);
    assert_ptr_equal(j->sink, &c->instances[1]);
    assert_string_equal(j->schedule, "0 * * * *");
    assert_int_equal(j->batch_size, 500);
    assert_int_equal(j->queue_depth, 2);
    assert_int_equal(j->enabled, 0);
    assert_int_equal(j->full_refresh, 1);
    assert_int_equal(j->n_sink_kv, 2);
    assert_string_equal(j->sink_kv[0]->key, "run_log_table");
    assert_string_equal(j->sink_kv[0]->value, "sync_logs");

    assert_int_equal(j->n_streams, 2);
    syncc_stream *s = &j->streams[0];
    assert_string_equal(s->name, "contacts");
    assert_string_equal(s->object, "Contact");
    assert_string_equal(s->target, "leads");
    assert_int_equal(s->n_source_kv, 1);
    assert_string_equal(s->source_kv[0]->key, "where");
    assert_string_equal(s->source_kv[0]->value, "Email != null");
    /* the stream's conflict_key wins over the job's; run_log_table is inherited */
    assert_int_equal(s->n_sink_kv, 2);
    assert_string_equal(s->sink_kv[0]->key, "conflict_key");
    assert_string_equal(s->sink_kv[0]->value, "business_id, source, source_id");
    assert_int_equal(s->sink_kv[0]->line, 31);
    assert_string_equal(s->sink_kv[1]->key, "run_log_table");
    assert_int_equal(s->sink_kv[1]->line, 24);

    assert_int_equal(s->n_map, 4);
    assert_string_equal(s->map[0].column, "business_id");
    assert_string_equal(s->map[0].expr, "${HENK_BUSINESS_ID}"); /* not interpolated */
    assert_int_equal(s->map[0].line, 37);
    assert_int_equal(s->map[0].col, 15);
    assert_string_equal(s->map[0].file, P("main.ini"));
    assert_string_equal(s->map[1].column, "source");
    assert_string_equal(s->map[1].expr, "'salesforce ; contact'");
    assert_int_equal(s->map[1].col, 14);
    assert_string_equal(s->map[2].column, "company");
    assert_int_equal(s->map[2].col, 11);
    assert_string_equal(s->map[3].column, "lead_score");
    assert_string_equal(s->map[3].expr, "50");
    assert_int_equal(s->map[3].col, 13);

    syncc_stream *l = &j->streams[1];
    assert_string_equal(l->name, "leads");
    assert_string_equal(l->target, "leads"); /* default: the stream name */
    assert_null(l->map);
    assert_int_equal(l->n_sink_kv, 2); /* both job-level keys */
    syncc_conf_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    syncc_conf *c = load_text(BASE);
    assert_non_null(c);
    assert_int_equal(c->engine.max_jobs, 4);
    assert_string_equal(c->engine.log_level, "info");
    assert_string_equal(c->engine.log_format, "text");
    assert_null(c->engine.state_dir); /* the engine picks one */
    syncc_job *j = &c->jobs[0];
    assert_string_equal(j->schedule, "*/15 * * * *");
    assert_int_equal(j->enabled, 1);
    assert_int_equal(j->batch_size, 2000);
    assert_int_equal(j->queue_depth, 2);
    assert_int_equal(j->full_refresh, 0);
    assert_int_equal(j->n_sink_kv, 0);
    assert_string_equal(j->streams[0].target, "s");
    syncc_conf_free(c);

    /* the environment is the engine's business, not the loader's */
    setenv("STATE_DIRECTORY", "/run/state/syncengine", 1);
    c = load_text(BASE);
    assert_non_null(c);
    assert_null(c->engine.state_dir);
    syncc_conf_free(c);
    unsetenv("STATE_DIRECTORY");

    c = load_text("[engine]\nstate_dir = var/state\nplugin_dir = plugins\n" BASE);
    assert_non_null(c);
    assert_string_equal(c->engine.state_dir, P("var/state")); /* relative to the file */
    assert_string_equal(c->engine.plugin_dir, P("plugins"));
    syncc_conf_free(c);
}

/* ------------------------------------------------------- loading: errors */

static void test_sections(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    expect_load_error("[engine]\n\n[foo]\n",
                      "%s:3: unknown section [foo]; valid sections: [engine], [source NAME], [sink NAME], "
                      "[tenants NAME], [job NAME], [stream JOB.NAME], [map JOB.NAME], [verify JOB.NAME]",
                      m);
    expect_load_error("[Job x]\n",
                      "%s:1: unknown section [Job x]; valid sections: [engine], [source NAME], [sink NAME], "
                      "[tenants NAME], [job NAME], [stream JOB.NAME], [map JOB.NAME], [verify JOB.NAME]",
                      m);
    expect_load_error("[source]\n", "%s:1: section [source] needs a name: [source NAME]", m);
    expect_load_error("[stream]\n", "%s:1: section [stream] needs a name: [stream JOB.NAME]", m);
    expect_load_error("[engine main]\n", "%s:1: [engine] takes no name", m);
    expect_load_error("[sink a b]\n", "%s:1: section name 'a b' must be one word", m);
    expect_load_error("[sink a/b]\n",
                      "%s:1: invalid section name 'a/b' in [sink a/b] (use letters, digits, '_', '-', '.')", m);
    expect_load_error("[job a.b]\n",
                      "%s:1: job name 'a.b' must not contain '.' (streams are named [stream JOB.NAME])", m);
    expect_load_error("[stream ab]\n", "%s:1: invalid section name 'ab' in [stream ab]: expected [stream JOB.NAME]",
                      m);
    expect_load_error("[map ab.]\n", "%s:1: invalid section name 'ab.' in [map ab.]: expected [map JOB.NAME]", m);
    expect_load_error("[job x\n", "%s:1: syntax error: missing ']' in section header", m);
    expect_load_error("[job x] y\n", "%s:1: unexpected text after section header", m);
    expect_load_error(BASE "\n[sink  dst ]\nplugin = x\n",
                      "%s:11: duplicate section [sink dst] (first defined at %s:3)", m, m);
    expect_load_error("[engine]\n[engine]\n", "%s:2: duplicate section [engine] (first defined at %s:1)", m, m);
    /* a source and a sink may share a name */
    syncc_conf *c = load_text(BASE "[source dst]\nplugin = fakesrc\n");
    assert_non_null(c);
    syncc_conf_free(c);
    /* section header comments are fine */
    c = load_text("[engine] ; main\n" BASE);
    assert_non_null(c);
    syncc_conf_free(c);
}

static void test_syntax(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    expect_load_error("[engine]\nmax_jobs 4\n", "%s:2: syntax error: expected [section] or key = value", m);
    expect_load_error("[engine]\n = 4\n", "%s:2: syntax error: missing option name before '='", m);
    expect_load_error("max_jobs = 4\n[engine]\n",
                      "%s:1: option 'max_jobs' outside of any section (only include may come before the first "
                      "section)",
                      m);

    char err[512];
    static const char nul[] = "[engine]\nmax_jobs = 4\x00\n";
    assert_null(syncc_conf_load_string(nul, sizeof(nul) - 1, "mem.ini", 0, err, sizeof(err)));
    assert_string_equal(err, "mem.ini:2: invalid NUL byte");

    /* long lines are read whole, up to 64 KiB */
    size_t n = 70000;
    char *big = malloc(n + 200);
    assert_non_null(big);
    strcpy(big, BASE "source.where = ");
    size_t used = strlen(big);
    memset(big + used, 'x', 5000);
    strcpy(big + used + 5000, "\n");
    syncc_conf *c = syncc_conf_load_string(big, strlen(big), "mem.ini", 0, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(strlen(c->jobs[0].streams[0].source_kv[0]->value), 5000);
    syncc_conf_free(c);
    memset(big + used, 'x', n);
    strcpy(big + used + n, "\n");
    assert_null(syncc_conf_load_string(big, strlen(big), "mem.ini", 0, err, sizeof(err)));
    assert_string_equal(err, "mem.ini:10: line too long (more than 65536 bytes)");
    free(big);

    /* a BOM, CRLF line ends and a last line without a newline */
    static const char crlf[] = "\xEF\xBB\xBF[engine]\r\nmax_jobs = 7\r\n" BASE "target = t";
    c = syncc_conf_load_string(crlf, sizeof(crlf) - 1, "mem.ini", 0, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->engine.max_jobs, 7);
    assert_string_equal(c->jobs[0].streams[0].target, "t");
    syncc_conf_free(c);

    /* an indented line right after a section header is an ordinary line */
    c = syncc_conf_load_string("[engine]\n  max_jobs = 3\n" BASE, strlen("[engine]\n  max_jobs = 3\n" BASE), "m",
                               0, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->engine.max_jobs, 3);
    syncc_conf_free(c);
}

static void test_continuation(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    setenv("T_TABLE", "leads", 1);
    unsetenv("T_UNSET");
    syncc_conf *c = load_text(BASE                                         /* 1-9 */
                              "source.query =\n"                           /* 10 */
                              "    SELECT Id ; the key\n"                  /* 11 */
                              "; a comment does not end the value\n"       /* 12 */
                              "\tFROM ${T_TABLE}\n"                        /* 13 */
                              "source.list = a,\n"                         /* 14 */
                              "   b , c\n"                                 /* 15 */
                              "\n"                                         /* 16 */
                              "  source.after_blank = x\n"                 /* 17 */
                              "[map j.s]\n"                                /* 18 */
                              "meta = json_object('a', Id,\n"              /* 19 */
                              "         'b ; c', Name) ; trailing\n"       /* 20 */
                              "next = 1\n");                               /* 21 */
    assert_non_null(c);
    syncc_stream *s = &c->jobs[0].streams[0];
    assert_int_equal(s->n_source_kv, 3);
    assert_string_equal(s->source_kv[0]->key, "query");
    assert_string_equal(s->source_kv[0]->value, "SELECT Id\n\tFROM leads");
    assert_int_equal(s->source_kv[0]->line, 10);
    assert_string_equal(s->source_kv[1]->value, "a,\n   b , c");
    assert_string_equal(s->source_kv[2]->key, "after_blank");
    assert_int_equal(s->n_map, 2);
    assert_string_equal(s->map[0].expr, "json_object('a', Id,\n         'b ; c', Name)");
    assert_int_equal(s->map[0].line, 19);
    assert_int_equal(s->map[0].col, 8);
    assert_string_equal(s->map[1].column, "next");
    assert_int_equal(s->map[1].line, 21);
    syncc_conf_free(c);

    /* a ${VAR} on a continuation line is reported at the key's line */
    expect_load_error(BASE "source.query = SELECT 1\n  FROM ${T_UNSET}\n",
                      "%s:10: option 'source.query': environment variable T_UNSET is not set", m);
    /* an indented line with nothing to continue is an ordinary line */
    expect_load_error("[engine]\n  bogus = 1\n",
                      "%s:2: unknown option 'bogus' in [engine]; valid options: http_insecure, http_listen, http_tls_cert, "
                      "http_tls_key, http_token, http_token_file, include, log_format, log_level, "
                      "max_jobs, plugin_dir, state_dir",
                      m);
    /* includes do not continue */
    expect_load_error("include = a.ini\n  b.ini\n", "%s:2: syntax error: expected [section] or key = value", m);
}

static void test_engine_options(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    expect_load_error("[engine]\nthreads = 3\n",
                      "%s:2: unknown option 'threads' in [engine]; valid options: http_insecure, http_listen, http_tls_cert, "
                      "http_tls_key, http_token, http_token_file, include, log_format, log_level, "
                      "max_jobs, plugin_dir, state_dir",
                      m);
    expect_load_error("[engine]\nmax_jobs = 0\n" BASE, "%s:2: option 'max_jobs': 0 is out of range (1..64)", m);
    expect_load_error("[engine]\nmax_jobs = 65\n" BASE, "%s:2: option 'max_jobs': 65 is out of range (1..64)", m);
    expect_load_error("[engine]\nmax_jobs = four\n" BASE, "%s:2: option 'max_jobs': invalid integer 'four'", m);
    expect_load_error("[engine]\nlog_level = loud\n" BASE,
                      "%s:2: option 'log_level': invalid value 'loud'; valid values: error, warn, info, debug, "
                      "trace",
                      m);
    expect_load_error("[engine]\nlog_format = xml\n" BASE,
                      "%s:2: option 'log_format': invalid value 'xml'; valid values: text, json", m);
    expect_load_error("[engine]\nmax_jobs = 2\nmax_jobs = 3\n" BASE,
                      "%s:3: option 'max_jobs' is set twice in [engine] (first at %s:2)", m, m);
    expect_load_error("[engine]\nstate_dir =\n" BASE, "%s:2: option 'state_dir' must not be empty", m);
    syncc_conf *c = load_text("[engine]\nlog_level = WARN\n" BASE);
    assert_non_null(c);
    assert_string_equal(c->engine.log_level, "warn"); /* canonical spelling */
    syncc_conf_free(c);
}

static void test_job_options(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    const char *src = "[source src]\nplugin = fakesrc\n[sink dst]\nplugin = fakesink\n";
    char text[2048];

    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\nretries = 3\n", src);
    expect_load_error(text,
                      "%s:8: unknown option 'retries' in [job j]; valid options: batch_size, conflict_policy, "
                      "direction, enabled, full_refresh, like, merge_fields, parallel_streams, push_deletes, "
                      "queue_depth, schedule, sink, sink.*, source, tenants, var.*, verify_fix, "
                      "verify_schedule, write_attempts",
                      m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\nsource.where = x\n", src);
    expect_load_error(text,
                      "%s:8: option 'source.where' is not allowed in [job j]; source.* options belong in "
                      "[stream j.NAME] sections",
                      m);
    snprintf(text, sizeof(text), "%s[job j]\nsink = dst\n[stream j.s]\nobject = x\n", src);
    expect_load_error(text, "%s:5: missing required option 'source' in [job j]", m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = nope\nsink = dst\n[stream j.s]\nobject = x\n", src);
    expect_load_error(text, "%s:6: option 'source': there is no [source nope] section", m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = dst\nsink = dst\n[stream j.s]\nobject = x\n", src);
    expect_load_error(text, "%s:6: option 'source': 'dst' is a [sink], not a [source]", m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = src\n[stream j.s]\nobject = x\n", src);
    expect_load_error(text, "%s:7: option 'sink': 'src' is a [source], not a [sink]", m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\nbatch_size = 0\n[stream j.s]\nobject = x\n",
             src);
    expect_load_error(text, "%s:8: option 'batch_size': 0 is out of range (1..100000)", m);
    snprintf(text, sizeof(text),
             "%s[job j]\nsource = src\nsink = dst\nbatch_size = 100001\n[stream j.s]\nobject = x\n", src);
    expect_load_error(text, "%s:8: option 'batch_size': 100001 is out of range (1..100000)", m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\nqueue_depth = 65\n[stream j.s]\nobject = x\n",
             src);
    expect_load_error(text, "%s:8: option 'queue_depth': 65 is out of range (1..64)", m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\nenabled = maybe\n[stream j.s]\nobject = x\n",
             src);
    expect_load_error(text, "%s:8: option 'enabled': invalid boolean 'maybe' (use true/false, yes/no, on/off, 1/0)",
                      m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\nschedule =\n[stream j.s]\nobject = x\n", src);
    expect_load_error(text, "%s:8: option 'schedule' must not be empty", m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\nsink = dst\n", src);
    expect_load_error(text, "%s:8: option 'sink' is set twice in [job j] (first at %s:7)", m, m);
    snprintf(text, sizeof(text), "%s[job j]\nsource = src\nsink = dst\n", src);
    expect_load_error(text, "%s:5: [job j] has no streams; add a [stream j.NAME] section", m);
    expect_load_error("[source src]\nplugin = fakesrc\n[source s2]\nplugin =\n", "%s:4: option 'plugin' must not be empty",
                      m);
    expect_load_error("[source src]\nurl = x\n", "%s:1: missing required option 'plugin' in [source src]", m);
    expect_load_error("[sink d]\nplugin = a\nplugin = b\n",
                      "%s:3: option 'plugin' is set twice in [sink d] (first at %s:2)", m, m);
}

static void test_stream_and_map(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    expect_load_error(BASE "[stream k.s]\nobject = x\n", "%s:10: [stream k.s]: there is no [job k] section", m);
    expect_load_error(BASE "colour = red\n",
                      "%s:10: unknown option 'colour' in [stream j.s]; valid options: external_id, horizon, key, match, "
                      "mode, object, order, sink.*, source.*, target",
                      m);
    expect_load_error(BASE "sink. = x\n",
                      "%s:10: unknown option 'sink.' in [stream j.s]; valid options: external_id, horizon, key, match, "
                      "mode, object, order, sink.*, source.*, target",
                      m);
    expect_load_error(BASE "[stream j.t]\ntarget = x\n", "%s:10: missing required option 'object' in [stream j.t]", m);
    expect_load_error(BASE "[stream j.t]\nobject =\n", "%s:11: option 'object' must not be empty", m);
    expect_load_error(BASE "object = y\n", "%s:10: option 'object' is set twice in [stream j.s] (first at %s:9)", m, m);
    expect_load_error(BASE "[map j.x]\na = 1\n", "%s:10: [map j.x]: there is no [stream j.x] section", m);
    expect_load_error(BASE "[map j.s]\n", "%s:10: [map j.s] has no entries", m);
    expect_load_error(BASE "[map j.s]\na = 1\nb = 2\na = 3\n",
                      "%s:13: column 'a' is mapped twice in [map j.s] (first at %s:11)", m, m);
    expect_load_error(BASE "[map j.s]\na = ; nothing\n", "%s:11: column 'a' in [map j.s] has an empty expression", m);

    /* map before its stream, and streams keep file order per job */
    syncc_conf *c = load_text("[map j.b]\nx = $$not interpolated ${NOPE\n" BASE "[stream j.b]\nobject = B\n"
                              "[job k]\nsource = src\nsink = dst\n[stream k.z]\nobject = Z\n[stream j.a]\nobject = A\n");
    assert_non_null(c);
    assert_int_equal(c->n_jobs, 2);
    assert_int_equal(c->jobs[0].n_streams, 3);
    assert_string_equal(c->jobs[0].streams[0].name, "s");
    assert_string_equal(c->jobs[0].streams[1].name, "b");
    assert_string_equal(c->jobs[0].streams[2].name, "a");
    assert_string_equal(c->jobs[1].streams[0].name, "z");
    assert_int_equal(c->jobs[0].streams[1].n_map, 1);
    assert_string_equal(c->jobs[0].streams[1].map[0].expr, "$$not interpolated ${NOPE");
    assert_int_equal(c->jobs[0].streams[1].map[0].col, 5);
    syncc_conf_free(c);
}

static void test_interpolation(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    setenv("T_SET", "value", 1);
    setenv("T_EMPTY", "", 1);
    unsetenv("T_UNSET");
    syncc_conf *c = load_text(BASE "source.a = ${T_SET}\n"
                                   "source.b = x${T_UNSET:-dflt}y\n"
                                   "source.c = ${T_EMPTY:-dflt}\n"
                                   "source.d = [${T_UNSET:-}]\n"
                                   "source.e = $${T_SET} costs $$5\n"
                                   "source.f = ${T_EMPTY}\n"
                                   "source.g = ${T_SET:-other}${T_SET}\n"
                                   "source.h = WHERE id = $1::uuid AND x = $T_SET$\n");
    assert_non_null(c);
    syncc_stream *s = &c->jobs[0].streams[0];
    assert_int_equal(s->n_source_kv, 8);
    assert_string_equal(s->source_kv[0]->value, "value");
    assert_false(s->source_kv[0]->literal);
    assert_string_equal(s->source_kv[1]->value, "xdflty");
    assert_true(s->source_kv[1]->literal);
    assert_string_equal(s->source_kv[2]->value, "dflt");
    assert_string_equal(s->source_kv[3]->value, "[]");
    assert_string_equal(s->source_kv[4]->value, "${T_SET} costs $5");
    assert_string_equal(s->source_kv[5]->value, "");
    assert_false(s->source_kv[5]->literal);
    assert_string_equal(s->source_kv[6]->value, "valuevalue");
    assert_true(s->source_kv[6]->literal);
    /* a '$' that starts no ${...} is kept: SQL parameters */
    assert_string_equal(s->source_kv[7]->value, "WHERE id = $1::uuid AND x = $T_SET$");
    syncc_conf_free(c);

    /* a variable's value is not expanded again */
    setenv("T_NESTED", "${T_SET}", 1);
    c = load_text(BASE "source.a = ${T_NESTED}\n");
    assert_non_null(c);
    assert_string_equal(c->jobs[0].streams[0].source_kv[0]->value, "${T_SET}");
    syncc_conf_free(c);

    expect_load_error(BASE "source.where = ${T_UNSET}\n",
                      "%s:10: option 'source.where': environment variable T_UNSET is not set", m);
    expect_load_error(BASE "source.where = ${T_SET\n",
                      "%s:10: option 'source.where': unterminated ${...} reference", m);
    expect_load_error(BASE "source.where = ${T_SET:-abc\n",
                      "%s:10: option 'source.where': unterminated ${...} reference", m);
    expect_load_error(BASE "source.where = ${1X}\n",
                      "%s:10: option 'source.where': invalid variable reference: expected ${NAME} or ${NAME:-default}",
                      m);
    expect_load_error(BASE "source.where = ${T-SET}\n",
                      "%s:10: option 'source.where': invalid variable reference: expected ${NAME} or ${NAME:-default}",
                      m);
    expect_load_error("[engine]\nstate_dir = ${T_UNSET}/x\n",
                      "%s:2: option 'state_dir': environment variable T_UNSET is not set", m);
}

static void test_includes(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    /* sorted order, nested include before the first section, sections split across files */
    write_file("conf.d/20-b.ini", "[stream j.b]\nobject = B\n", 0600);
    write_file("conf.d/10-a.ini", "include = ../extra/*.ini\n[stream j.a]\nobject = A\n", 0600);
    write_file("conf.d/notes.txt", "not ini at all\n", 0600);
    write_file("extra/x.ini", "[map j.b]\ncol = Id\n", 0600);
    syncc_conf *c = load_text("[engine]\ninclude = conf.d/*.ini\n" BASE);
    assert_non_null(c);
    assert_int_equal(c->n_files, 4);
    assert_string_equal(c->files[0], m);
    assert_string_equal(c->files[1], P("conf.d/10-a.ini"));
    assert_string_equal(c->files[2], P("conf.d/../extra/x.ini"));
    assert_string_equal(c->files[3], P("conf.d/20-b.ini"));
    syncc_job *j = &c->jobs[0];
    assert_int_equal(j->n_streams, 3);
    assert_string_equal(j->streams[0].name, "s");
    assert_string_equal(j->streams[1].name, "a");
    assert_string_equal(j->streams[2].name, "b");
    assert_string_equal(j->streams[1].section->file, P("conf.d/10-a.ini"));
    assert_int_equal(j->streams[1].section->line, 2);
    assert_int_equal(j->streams[2].n_map, 1);
    assert_string_equal(j->streams[2].map[0].file, P("conf.d/../extra/x.ini"));
    syncc_conf_free(c);

    /* patterns are interpolated */
    setenv("T_CONFD", "conf.d", 1);
    c = load_text("[engine]\ninclude = ${T_CONFD}/2*.ini ; just b\n" BASE);
    assert_non_null(c);
    assert_int_equal(c->n_files, 2);
    assert_string_equal(c->files[1], P("conf.d/20-b.ini"));
    assert_string_equal(c->sections[0].kv[0].value, "conf.d/2*.ini");
    syncc_conf_free(c);
    unsetenv("T_UNSET");
    expect_load_error("include = ${T_UNSET}.ini\n" BASE,
                      "%s:1: option 'include': environment variable T_UNSET is not set", m);

    /* an empty glob is fine, a missing plain file is not */
    c = load_text("[engine]\ninclude = none.d/*.ini\n" BASE);
    assert_non_null(c);
    syncc_conf_free(c);
    expect_load_error("[engine]\ninclude = missing.ini\n" BASE, "%s:2: include 'missing.ini': no such file", m);

    /* duplicates across files name both places */
    write_file("dup.ini", "[sink dst]\nplugin = other\n", 0600);
    expect_load_error("[engine]\ninclude = dup.ini\n" BASE, "%s:1: duplicate section [sink dst] (first defined at %s:5)",
                      P("dup.ini"), m);

    /* [engine] only in the main file */
    write_file("eng.ini", "\n[engine]\n", 0600);
    expect_load_error("include = eng.ini\n" BASE, "%s:2: [engine] is only allowed in the main configuration file",
                      P("eng.ini"));

    /* cycles */
    write_file("a.ini", "include = b.ini\n", 0600);
    write_file("b.ini", "\ninclude = a.ini\n", 0600);
    expect_load_error("include = a.ini\n" BASE, "%s:2: include cycle: %s -> %s -> %s", P("b.ini"), P("a.ini"),
                      P("b.ini"), P("a.ini"));
    expect_load_error("include = main.ini\n" BASE, "%s:1: include cycle: %s -> %s", m, m, m);
    write_file("self.ini", "include = self.ini\n", 0600);
    expect_load_error("include = self.ini\n" BASE, "%s:1: include cycle: %s -> %s", P("self.ini"), P("self.ini"),
                      P("self.ini"));

    /* a file read twice without a cycle */
    write_file("once.ini", "[sink other]\nplugin = x\n", 0600);
    expect_load_error("include = once.ini\ninclude = once.ini\n" BASE,
                      "%s:2: include '%s': the file is already part of the configuration (as '%s')", m,
                      P("once.ini"), P("once.ini"));

    /* not a regular file */
    mkdir(P("adir.ini"), 0700);
    expect_load_error("include = adir.ini\n" BASE, "%s:1: include '%s': not a regular file", m, P("adir.ini"));

    /* included files' errors name the included file */
    write_file("bad.ini", "[job q]\nsource = src\nsink = dst\nfoo = 1\n", 0600);
    expect_load_error("include = bad.ini\n" BASE,
                      "%s:4: unknown option 'foo' in [job q]; valid options: batch_size, conflict_policy, "
                      "direction, enabled, full_refresh, like, merge_fields, parallel_streams, push_deletes, "
                      "queue_depth, schedule, sink, sink.*, source, tenants, var.*, verify_fix, "
                      "verify_schedule, write_attempts",
                      P("bad.ini"));

    /* no includes from memory when asked */
    char err[512];
    assert_null(syncc_conf_load_string("include = x.ini\n", 16, "mem.ini", SYNCC_CONF_NO_INCLUDE, err, sizeof(err)));
    assert_string_equal(err, "mem.ini:1: include is not allowed here");

    /* the main file missing */
    assert_null(syncc_conf_load(P("nope.ini"), err, sizeof(err)));
    char want[2048];
    snprintf(want, sizeof(want), "configuration file '%s': cannot open: No such file or directory", P("nope.ini"));
    assert_string_equal(err, want);
}

/* ------------------------------------------------------------- binding */

static const char *const modes[] = {"fast", "safe", NULL};

static const sync_option src_options[] = {
    {"url", SYNC_OPT_URL, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "Where to connect."},
    {"token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL, "API token."},
    {"retries", SYNC_OPT_INT, "3", 0, 0, 10, NULL, "Attempts."},
    {"verbose", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL, "Chatty."},
    {"ratio", SYNC_OPT_DOUBLE, "0.5", 0, 0, 0, NULL, "A ratio."},
    {"timeout", SYNC_OPT_DURATION, "30s", 0, 1000, 3600000, NULL, "How long to wait."},
    {"mode", SYNC_OPT_ENUM, "safe", 0, 0, 0, modes, "How."},
    {"fields", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL, "Which fields."},
    {"header", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL, "Extra header."},
    {"old_name", SYNC_OPT_STRING, NULL, SYNC_OPT_DEPRECATED, 0, 0, NULL, "use new_name instead"},
    {"pin", SYNC_OPT_INT, NULL, SYNC_OPT_SECRET, 0, 0, NULL, "A secret number."},
    SYNC_OPTION_END};

static const sync_option src_stream_options[] = {
    {"where", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "Filter."},
    {"page_size", SYNC_OPT_INT, "100", 0, 1, 1000, NULL, "Records per page."},
    SYNC_OPTION_END};

static const sync_option dst_options[] = {
    {"dsn", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED | SYNC_OPT_SECRET, 0, 0, NULL, "Connection string."},
    SYNC_OPTION_END};

static const sync_option dst_target_options[] = {
    {"conflict_key", SYNC_OPT_LIST, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "Key columns."},
    {"run_log_table", SYNC_OPT_STRING, "sync_runs", 0, 0, 0, NULL, "Run log table."},
    {"tag", SYNC_OPT_LIST, NULL, SYNC_OPT_MULTI, 0, 0, NULL, "Tags."},
    SYNC_OPTION_END};

static const sync_plugin fake_src = {
    SYNC_PLUGIN_HEAD,
    .name = "fakesrc",
    .version = "1",
    .provides = SYNC_PROVIDES_SOURCE,
    .options = src_options,
    .stream_options = src_stream_options,
};

static const sync_plugin fake_dst = {
    SYNC_PLUGIN_HEAD,
    .name = "fakesink",
    .version = "1",
    .provides = SYNC_PROVIDES_SINK,
    .options = dst_options,
    .target_options = dst_target_options,
};

static const sync_option broken_options[] = {
    {"a", SYNC_OPT_INT, "x", 0, 0, 0, NULL, NULL},
    SYNC_OPTION_END};

static const sync_plugin fake_broken = {
    SYNC_PLUGIN_HEAD,
    .name = "broken",
    .provides = SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK,
    .options = broken_options,
};

static int g_lookups;

static const sync_plugin *lookup(const char *name, void *payload)
{
    assert_ptr_equal(payload, &g_lookups);
    g_lookups++;
    if (strcmp(name, "fakesrc") == 0)
        return &fake_src;
    if (strcmp(name, "fakesink") == 0)
        return &fake_dst;
    if (strcmp(name, "broken") == 0)
        return &fake_broken;
    return NULL;
}

/* Source keys, sink keys, job keys, stream keys. */
static syncc_conf *bind_text(const char *src, const char *dst, const char *job, const char *stream, int *rc)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[source src]\nplugin = fakesrc\n%s"
             "[sink dst]\nplugin = fakesink\n%s"
             "[job j]\nsource = src\nsink = dst\n%s"
             "[stream j.s]\nobject = Thing\n%s",
             src, dst, job, stream);
    syncc_conf *c = load_text(text);
    if (!c)
        fail_msg("load failed: %s", g_err);
    c->warn = capture_warning;
    g_err[0] = '\0';
    *rc = syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err));
    return c;
}

static void expect_bind_error(const char *src, const char *dst, const char *job, const char *stream,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void expect_bind_error(const char *src, const char *dst, const char *job, const char *stream,
                              const char *fmt, ...)
{
    char want[4096];
    va_list ap;
    int rc;
    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    syncc_conf *c = bind_text(src, dst, job, stream, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(g_err, want);
    syncc_conf_free(c);
}

static void test_bind_values(void **state)
{
    (void)state;
    int rc;
    setenv("T_TOKEN", "tok-secret", 1);
    syncc_conf *c = bind_text("url = https://api.example.com\n"       /* 3 */
                              "token = ${T_TOKEN}\n"                  /* 4 */
                              "retries = 7\n"                         /* 5 */
                              "verbose = on\n"                        /* 6 */
                              "ratio = 0.25\n"                        /* 7 */
                              "timeout = 1m30s\n"                     /* 8 */
                              "mode = FAST\n"                         /* 9 */
                              "fields = Id , Name,, Email \n"         /* 10 */
                              "header = A: 1\n"                       /* 11 */
                              "header = B: 2\n",                      /* 12 */
                              "dsn = ${T_TOKEN:-}\n",                 /* 15 */
                              "sink.conflict_key = id\n"              /* 19 */
                              "sink.tag = a, b\n"                     /* 20 */
                              "sink.tag = c\n",                       /* 21 */
                              "source.where = x > 1\n"                /* 24 */
                              "sink.run_log_table = runs\n",          /* 25 */
                              &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(g_err, "");
    assert_int_equal(g_nwarn, 0);
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    char w[600];

    const sync_config *cfg = c->instances[0].config;
    assert_ptr_equal(c->instances[0].plugin, &fake_src);
    assert_ptr_equal(c->instances[1].plugin, &fake_dst);
    int64_t i;
    int b;
    double d;
    assert_string_equal(syncc_config_get_string(cfg, "url"), "https://api.example.com");
    assert_string_equal(syncc_config_get_string(cfg, "token"), "tok-secret");
    assert_int_equal(syncc_config_get_int(cfg, "retries", &i), SYNC_OK);
    assert_int_equal(i, 7);
    assert_int_equal(syncc_config_get_bool(cfg, "verbose", &b), SYNC_OK);
    assert_int_equal(b, 1);
    assert_int_equal(syncc_config_get_double(cfg, "ratio", &d), SYNC_OK);
    assert_true(d == 0.25);
    assert_int_equal(syncc_config_get_int(cfg, "timeout", &i), SYNC_OK);
    assert_int_equal(i, 90000);
    assert_string_equal(syncc_config_get_string(cfg, "mode"), "fast");
    assert_int_equal(syncc_config_get_int(cfg, "mode", &i), SYNC_OK);
    assert_int_equal(i, 0);
    assert_int_equal(syncc_config_list_count(cfg, "fields"), 3);
    assert_string_equal(syncc_config_list_item(cfg, "fields", 0), "Id");
    assert_string_equal(syncc_config_list_item(cfg, "fields", 1), "Name");
    assert_string_equal(syncc_config_list_item(cfg, "fields", 2), "Email");
    assert_null(syncc_config_list_item(cfg, "fields", 3));
    assert_int_equal(syncc_config_list_count(cfg, "header"), 2);
    assert_string_equal(syncc_config_list_item(cfg, "header", 0), "A: 1");
    assert_string_equal(syncc_config_list_item(cfg, "header", 1), "B: 2");
    snprintf(w, sizeof(w), "%s:5", m);
    assert_string_equal(syncc_config_where(cfg, "retries"), w);
    snprintf(w, sizeof(w), "%s:12", m);
    assert_string_equal(syncc_config_where(cfg, "header"), w);
    /* unset options: NULL / NOTFOUND, located at the section */
    assert_null(syncc_config_get_string(cfg, "old_name"));
    assert_int_equal(syncc_config_get_int(cfg, "pin", &i), SYNC_E_NOTFOUND);
    assert_int_equal(syncc_config_list_count(cfg, "old_name"), 0);
    snprintf(w, sizeof(w), "%s:1", m);
    assert_string_equal(syncc_config_where(cfg, "old_name"), w);
    /* undeclared names and wrong types */
    assert_null(syncc_config_get_string(cfg, "nope"));
    assert_int_equal(syncc_config_get_int(cfg, "nope", &i), SYNC_E_INVALID);
    assert_int_equal(syncc_config_get_int(cfg, "url", &i), SYNC_E_INVALID);
    assert_int_equal(syncc_config_get_bool(cfg, "retries", &b), SYNC_E_INVALID);
    assert_string_equal(syncc_config_where(cfg, "nope"), w);

    /* job-level sink options alone: defaults, MULTI LIST accumulates */
    syncc_job *j = &c->jobs[0];
    assert_string_equal(syncc_config_get_string(j->sink_options, "run_log_table"), "sync_runs");
    assert_int_equal(syncc_config_list_count(j->sink_options, "tag"), 3);
    assert_string_equal(syncc_config_list_item(j->sink_options, "tag", 2), "c");
    assert_string_equal(syncc_config_get_string(j->sink_options, "tag"), "a, b, c");

    /* stream: source.* with defaults, sink.* merged (stream wins) */
    syncc_stream *s = &j->streams[0];
    assert_string_equal(syncc_config_get_string(s->source_options, "where"), "x > 1");
    assert_int_equal(syncc_config_get_int(s->source_options, "page_size", &i), SYNC_OK);
    assert_int_equal(i, 100);
    assert_string_equal(syncc_config_get_string(s->sink_options, "run_log_table"), "runs");
    snprintf(w, sizeof(w), "%s:25", m);
    assert_string_equal(syncc_config_where(s->sink_options, "run_log_table"), w);
    assert_int_equal(syncc_config_list_count(s->sink_options, "conflict_key"), 1);
    snprintf(w, sizeof(w), "%s:19", m);
    assert_string_equal(syncc_config_where(s->sink_options, "conflict_key"), w);
    assert_int_equal(syncc_config_list_count(s->sink_options, "tag"), 3);

    /* secrets: token and dsn (the same value once) */
    assert_int_equal(c->n_secrets, 1);
    assert_string_equal(c->secrets[0], "tok-secret");

    /* binding again starts over */
    assert_int_equal(syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err)), 0);
    assert_int_equal(c->n_secrets, 1);
    syncc_conf_free(c);
}

static void test_bind_errors(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    const char *url = "url = http://x\n";
    const char *dsn = "dsn = d\n";
    const char *key = "sink.conflict_key = id\n";
    char src[512];

    /* plugin lookup and role */
    {
        int rc;
        char text[1024];
        snprintf(text, sizeof(text), "[source src]\nplugin = nosuch\n" "[sink dst]\nplugin = fakesink\n"
                 "[job j]\nsource = src\nsink = dst\n[stream j.s]\nobject = T\n");
        syncc_conf *c = load_text(text);
        assert_non_null(c);
        rc = syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err));
        assert_int_equal(rc, -1);
        char want[2048];
        snprintf(want, sizeof(want), "%s:2: plugin 'nosuch' not found (used by [source src])", m);
        /* every section is bound: the sink's own mistake is listed too, on a line of its own */
        assert_int_equal(strncmp(g_err, want, strlen(want)), 0);
        snprintf(want, sizeof(want), "\nsyncengine: %s:3: missing required option 'dsn' in [sink dst]", m);
        assert_non_null(strstr(g_err, want));
        syncc_conf_free(c);

        c = load_text("[source src]\nplugin = fakesink\n");
        assert_non_null(c);
        assert_int_equal(syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err)), -1);
        snprintf(want, sizeof(want), "%s:2: plugin 'fakesink' does not provide a source (used by [source src])", m);
        assert_string_equal(g_err, want);
        syncc_conf_free(c);

        c = load_text("[sink x]\nplugin = broken\n");
        assert_non_null(c);
        assert_int_equal(syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err)), -1);
        snprintf(want, sizeof(want),
                 "%s:2: plugin 'broken' has a malformed options table: option 'a': bad default: invalid integer 'x'",
                 m);
        assert_string_equal(g_err, want);
        syncc_conf_free(c);
    }
    /* instance keys */
    expect_bind_error("", dsn, key, "", "%s:1: missing required option 'url' in [source src]", m);
    expect_bind_error("url = http://x\ncolour = red\n", dsn, key, "",
                      "%s:4: unknown option 'colour' in [source src]; valid options: url, token, retries, verbose, "
                      "ratio, timeout, mode, fields, header, old_name, pin",
                      m);
    expect_bind_error("url = http://x\nurl = http://y\n", dsn, key, "",
                      "%s:4: option 'url' is set twice in [source src] (first at %s:3)", m, m);
    expect_bind_error("url = ftp://x\n", dsn, key, "",
                      "%s:3: option 'url': invalid URL 'ftp://x' (must start with http:// or https:// and name a host)",
                      m);
    expect_bind_error("url = https://\n", dsn, key, "",
                      "%s:3: option 'url': invalid URL 'https://' (must start with http:// or https:// and name a "
                      "host)",
                      m);
    snprintf(src, sizeof(src), "%sretries = 11\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'retries': 11 is out of range (0..10)", m);
    snprintf(src, sizeof(src), "%sretries = 1.5\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'retries': invalid integer '1.5'", m);
    snprintf(src, sizeof(src), "%sverbose = si\n", url);
    expect_bind_error(src, dsn, key, "",
                      "%s:4: option 'verbose': invalid boolean 'si' (use true/false, yes/no, on/off, 1/0)", m);
    snprintf(src, sizeof(src), "%sratio = half\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'ratio': invalid number 'half'", m);
    snprintf(src, sizeof(src), "%sratio = nan\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'ratio': invalid number 'nan'", m);
    snprintf(src, sizeof(src), "%stimeout = 5 minutes\n", url);
    expect_bind_error(src, dsn, key, "",
                      "%s:4: option 'timeout': invalid duration '5 minutes' (use e.g. 500ms, 30s, 5m, 2h, 1d)", m);
    snprintf(src, sizeof(src), "%stimeout = 2h\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'timeout': 2h is out of range (1s..1h)", m);
    snprintf(src, sizeof(src), "%stimeout = 999ms\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'timeout': 999ms is out of range (1s..1h)", m);
    snprintf(src, sizeof(src), "%smode = slow\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'mode': invalid value 'slow'; valid values: fast, safe", m);
    /* a secret's value never appears in a message */
    snprintf(src, sizeof(src), "%spin = 12ab34\n", url);
    expect_bind_error(src, dsn, key, "", "%s:4: option 'pin': invalid integer", m);
    /* sink instance */
    expect_bind_error(url, "", key, "", "%s:4: missing required option 'dsn' in [sink dst]", m);
    /* job-level sink.* keys */
    expect_bind_error(url, dsn, "sink.nope = 1\n", "",
                      "%s:10: unknown option 'sink.nope' in [job j]; valid options: sink.conflict_key, "
                      "sink.run_log_table, sink.tag",
                      m);
    expect_bind_error(url, dsn, "sink.run_log_table = a\nsink.run_log_table = b\n", "",
                      "%s:11: option 'sink.run_log_table' is set twice in [job j] (first at %s:10)", m, m);
    /* stream keys */
    expect_bind_error(url, dsn, "", "",
                      "%s:10: missing required option 'sink.conflict_key' in [stream j.s] (set it there or in "
                      "[job j])",
                      m);
    expect_bind_error(url, dsn, key, "source.limit = 5\n",
                      "%s:13: unknown option 'source.limit' in [stream j.s]; valid options: source.where, "
                      "source.page_size",
                      m);
    expect_bind_error(url, dsn, key, "source.page_size = 0\n",
                      "%s:13: option 'source.page_size': 0 is out of range (1..1000)", m);
    expect_bind_error(url, dsn, "", "sink.conflict_key = a\nsink.bad = 1\n",
                      "%s:13: unknown option 'sink.bad' in [stream j.s]; valid options: sink.conflict_key, "
                      "sink.run_log_table, sink.tag",
                      m);
}

static const sync_plugin fake_bare = {SYNC_PLUGIN_HEAD, .name = "bare", .provides = SYNC_PROVIDES_SINK};

static const sync_plugin *lookup_bare(const char *name, void *payload)
{
    (void)payload;
    if (strcmp(name, "fakesrc") == 0)
        return &fake_src;
    return strcmp(name, "fakesink") == 0 ? &fake_bare : NULL;
}

static void test_bind_no_table(void **state)
{
    (void)state;
    /* A sink plugin without option tables: every key is unknown, and says so. */
    char want[2048];
    syncc_conf *c = load_text("[source src]\nplugin = fakesrc\nurl = http://x\n"
                              "[sink dst]\nplugin = fakesink\n"
                              "[job j]\nsource = src\nsink = dst\nsink.conflict_key = id\n[stream j.s]\nobject = T\n");
    assert_non_null(c);
    assert_int_equal(syncc_conf_bind(c, lookup_bare, NULL, g_err, sizeof(g_err)), -1);
    snprintf(want, sizeof(want), "%s:9: unknown option 'sink.conflict_key' in [job j]; plugin 'fakesink' has no "
             "sink.* options", P("main.ini"));
    assert_string_equal(g_err, want);
    syncc_conf_free(c);

    c = load_text("[sink dst]\nplugin = fakesink\nhost = h\n");
    assert_non_null(c);
    assert_int_equal(syncc_conf_bind(c, lookup_bare, NULL, g_err, sizeof(g_err)), -1);
    snprintf(want, sizeof(want), "%s:3: unknown option 'host' in [sink dst]; plugin 'fakesink' takes no options",
             P("main.ini"));
    assert_string_equal(g_err, want);
    syncc_conf_free(c);

    c = load_text("[sink dst]\nplugin = fakesink\n");
    assert_non_null(c);
    assert_int_equal(syncc_conf_bind(c, lookup_bare, NULL, g_err, sizeof(g_err)), 0);
    assert_null(syncc_config_get_string(c->instances[0].config, "host"));
    syncc_conf_free(c);
}

static void test_warnings(void **state)
{
    (void)state;
    int rc;
    char m[512];
    snprintf(m, sizeof(m), "%s/main.ini", g_dir);
    char want[2048];

    /* deprecated option: one warning, with the plugin's description */
    syncc_conf *c = bind_text("url = http://x\nold_name = a\n", "dsn = ${T_TOKEN}\n", "sink.conflict_key = id\n", "",
                              &rc);
    assert_int_equal(rc, 0);
    snprintf(want, sizeof(want), "%s:4: option 'old_name' in [source src] is deprecated: use new_name instead\n", m);
    assert_string_equal(g_warn, want);
    syncc_conf_free(c);

    /* a literal secret in a file others can read */
    g_warn[0] = '\0';
    g_nwarn = 0;
    setenv("T_TOKEN", "tok", 1);
    const char *text = "[source src]\nplugin = fakesrc\nurl = http://x\ntoken = hunter2\n"
                       "[sink dst]\nplugin = fakesink\ndsn = ${T_TOKEN}\n"
                       "[job j]\nsource = src\nsink = dst\nsink.conflict_key = id\n[stream j.s]\nobject = T\n";
    c = load_text(text);
    assert_non_null(c);
    c->warn = capture_warning;
    assert_int_equal(syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err)), 0);
    assert_int_equal(g_nwarn, 0); /* 0600 */
    assert_int_equal(c->n_secrets, 2);
    assert_string_equal(c->secrets[0], "hunter2");
    assert_string_equal(c->secrets[1], "tok");
    syncc_conf_free(c);

    write_file("main.ini", text, 0644);
    c = syncc_conf_load(P("main.ini"), g_err, sizeof(g_err));
    assert_non_null(c);
    c->warn = capture_warning;
    assert_int_equal(syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err)), 0);
    assert_int_equal(g_nwarn, 1); /* the token, not the dsn from the environment */
    snprintf(want, sizeof(want),
             "%s:4: option 'token' holds a secret written in a file that its group or others can read; store it "
             "in the environment (token = ${VARIABLE}) or chmod 600 the file\n",
             m);
    assert_string_equal(g_warn, want);
    assert_null(strstr(g_warn, "hunter2"));
    syncc_conf_free(c);

    /* group-readable counts too */
    g_warn[0] = '\0';
    g_nwarn = 0;
    write_file("main.ini", text, 0640);
    c = syncc_conf_load(P("main.ini"), g_err, sizeof(g_err));
    assert_non_null(c);
    c->warn = capture_warning;
    assert_int_equal(syncc_conf_bind(c, lookup, &g_lookups, g_err, sizeof(g_err)), 0);
    assert_int_equal(g_nwarn, 1);
    syncc_conf_free(c);
}

/* --------------------------------------------------- option sets alone */

static void test_from_pairs(void **state)
{
    (void)state;
    char err[512];
    const char *kv[] = {"url", "https://h", "header", "x", "header", "y", "fields", "", NULL};
    sync_config *cfg = syncc_config_from_pairs(src_options, kv, "test", err, sizeof(err));
    assert_non_null(cfg);
    assert_int_equal(syncc_config_list_count(cfg, "header"), 2);
    assert_int_equal(syncc_config_list_count(cfg, "fields"), 0);
    assert_string_equal(syncc_config_get_string(cfg, "fields"), "");
    assert_string_equal(syncc_config_where(cfg, "url"), "test");
    assert_string_equal(syncc_config_where(cfg, "retries"), "test");
    int64_t i;
    assert_int_equal(syncc_config_get_int(cfg, "timeout", &i), SYNC_OK);
    assert_int_equal(i, 30000);
    assert_string_equal(syncc_config_list_item(cfg, "url", 0), "https://h");
    assert_int_equal(syncc_config_list_count(cfg, "url"), 1);
    syncc_config_free(cfg);

    const char *bad[] = {"retries", "3", NULL};
    assert_null(syncc_config_from_pairs(src_options, bad, "test", err, sizeof(err)));
    assert_string_equal(err, "test: missing required option 'url' in test");
    const char *unk[] = {"url", "http://h", "x", "1", NULL};
    assert_null(syncc_config_from_pairs(dst_options, unk, "args", err, sizeof(err)));
    assert_string_equal(err, "args: unknown option 'url' in args; valid options: dsn");

    cfg = syncc_config_from_pairs(NULL, NULL, NULL, err, sizeof(err));
    assert_non_null(cfg);
    assert_null(syncc_config_get_string(cfg, "x"));
    assert_string_equal(syncc_config_where(cfg, "x"), "arguments");
    syncc_config_free(cfg);
    /* NULL handles do not crash the getters */
    assert_null(syncc_config_get_string(NULL, "x"));
    assert_int_equal(syncc_config_list_count(NULL, "x"), 0);
    assert_non_null(syncc_config_where(NULL, "x"));
}

static void test_options_check(void **state)
{
    (void)state;
    char err[512];
    static const char *const none[] = {NULL};
    static const char *const twice[] = {"a", "A", NULL};
    const sync_option dup[] = {{"a", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, NULL},
                               {"a", SYNC_OPT_INT, NULL, 0, 0, 0, NULL, NULL},
                               SYNC_OPTION_END};
    const sync_option noenum[] = {{"e", SYNC_OPT_ENUM, NULL, 0, 0, 0, NULL, NULL}, SYNC_OPTION_END};
    const sync_option emptyenum[] = {{"e", SYNC_OPT_ENUM, NULL, 0, 0, 0, none, NULL}, SYNC_OPTION_END};
    const sync_option twiceenum[] = {{"e", SYNC_OPT_ENUM, NULL, 0, 0, 0, twice, NULL}, SYNC_OPTION_END};
    const sync_option reqdef[] = {{"r", SYNC_OPT_STRING, "x", SYNC_OPT_REQUIRED, 0, 0, NULL, NULL}, SYNC_OPTION_END};
    const sync_option baddef[] = {{"d", SYNC_OPT_DURATION, "soon", 0, 0, 0, NULL, NULL}, SYNC_OPTION_END};
    const sync_option oob[] = {{"i", SYNC_OPT_INT, "50", 0, 1, 10, NULL, NULL}, SYNC_OPTION_END};
    const sync_option badname[] = {{"a b", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, NULL}, SYNC_OPTION_END};
    const sync_option badtype[] = {{"t", (sync_option_type)42, NULL, 0, 0, 0, NULL, NULL}, SYNC_OPTION_END};

    assert_int_equal(syncc_options_check(NULL, err, sizeof(err)), 0);
    assert_int_equal(syncc_options_check(src_options, err, sizeof(err)), 0);
    assert_int_equal(syncc_options_check(syncc_conf_engine_options(), err, sizeof(err)), 0);
    assert_int_equal(syncc_options_check(syncc_conf_job_options(), err, sizeof(err)), 0);
    assert_int_equal(syncc_options_check(syncc_conf_stream_options(), err, sizeof(err)), 0);
    assert_int_equal(syncc_options_check(dup, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'a' is declared twice");
    assert_int_equal(syncc_options_check(noenum, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'e': enum option without values");
    assert_int_equal(syncc_options_check(emptyenum, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'e': enum option without values");
    assert_int_equal(syncc_options_check(twiceenum, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'e': enum value 'A' is listed twice");
    assert_int_equal(syncc_options_check(reqdef, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'r': a required option cannot have a default");
    assert_int_equal(syncc_options_check(baddef, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'd': bad default: invalid duration 'soon' (use e.g. 500ms, 30s, 5m, 2h, 1d)");
    assert_int_equal(syncc_options_check(oob, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'i': bad default: 50 is out of range (1..10)");
    assert_int_equal(syncc_options_check(badname, err, sizeof(err)), -1);
    assert_string_equal(err, "option 0: invalid name 'a b' (use letters, digits, '_', '-', '.')");
    assert_int_equal(syncc_options_check(badtype, err, sizeof(err)), -1);
    assert_string_equal(err, "option 't': unknown type 42");
}

static void test_parsers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int ok;
        int64_t ms;
    } d[] = {
        {"500ms", 1, 500}, {"30s", 1, 30000}, {"5m", 1, 300000}, {"2h", 1, 7200000}, {"1d", 1, 86400000},
        {"45", 1, 45000}, {"0", 1, 0}, {"1h30m", 1, 5400000}, {"1m5ms", 1, 60005}, {"", 0, 0}, {"-5s", 0, 0},
        {"5 s", 0, 0}, {"5x", 0, 0}, {"1m30", 0, 0}, {"s", 0, 0}, {"1.5s", 0, 0},
        {"99999999999999999999", 0, 0}, {"9223372036854775807d", 0, 0},
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        int64_t ms = -1;
        int rc = syncc_parse_duration(d[i].text, &ms);
        if (d[i].ok) {
            if (rc != 0 || ms != d[i].ms)
                fail_msg("duration '%s': rc %d, %lld ms", d[i].text, rc, (long long)ms);
        } else if (rc == 0) {
            fail_msg("duration '%s' accepted", d[i].text);
        }
    }
    static const char *const yes[] = {"true", "TRUE", "yes", "on", "1", "On"};
    static const char *const no[] = {"false", "no", "OFF", "0"};
    static const char *const bad[] = {"", "2", "y", "enable", "truee"};
    int b;
    for (size_t i = 0; i < 6; i++) {
        b = -1;
        assert_int_equal(syncc_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
    }
    for (size_t i = 0; i < 4; i++) {
        b = -1;
        assert_int_equal(syncc_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(syncc_parse_bool(bad[i], &b), -1);
    assert_string_equal(syncc_option_type_name(SYNC_OPT_DURATION), "duration");
}

/*
 * docs/configuration.md documents the engine's own keys in tables; every key
 * of the option tables must have its row there, with its default.
 */
static void check_doc_rows(const char *doc, const sync_option *table)
{
    for (size_t i = 0; table[i].name; i++) {
        char row[128];
        snprintf(row, sizeof(row), "\n| `%s` |", table[i].name);
        const char *p = strstr(doc, row);
        if (!p) {
            fail_msg("docs/configuration.md has no row for '%s'", table[i].name);
            return;
        }
        const char *end = strchr(p + 1, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[2048];
        snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), p);
        char want[128];
        if (table[i].default_value)
            snprintf(want, sizeof(want), "| `%s` |", table[i].default_value);
        else
            snprintf(want, sizeof(want), "%s", (table[i].flags & SYNC_OPT_REQUIRED) ? "| required |" : "|");
        if (!strstr(line, want))
            fail_msg("docs/configuration.md row for '%s' lacks '%s': %s", table[i].name, want, line);
    }
}

static void test_docs_current(void **state)
{
    (void)state;
    FILE *f = fopen("docs/configuration.md", "r");
    if (!f) {
        print_message("docs/configuration.md not found (run from the source tree)\n");
        skip();
    }
    static char doc[256 * 1024];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    check_doc_rows(doc, syncc_conf_engine_options());
    check_doc_rows(doc, syncc_conf_job_options());
    check_doc_rows(doc, syncc_conf_stream_options());
}

/* ${tenant.X}: deferred while the file is loaded for itself, the row's value once a row is set */
static void test_tenant_refs(void **state)
{
    (void)state;
    setenv("T_SET", "value", 1);
    unsetenv("T_UNSET");
    const char *text = BASE "source.a = ${tenant.id}\n"
                            "source.b = ${tenant.credentials.refreshToken:-${T_SET}}\n"
                            "source.c = ${tenant.config.n:-${T_UNSET:-dflt}}\n"
                            "source.d = x${tenant.config.obj}y\n"
                            "source.e = ${T_UNSET:-${T_SET}}\n";
    /* loaded for itself: the reference text stands for the value, its default is not looked at */
    syncc_conf *c = load_text(text);
    assert_non_null(c);
    syncc_stream *s = &c->jobs[0].streams[0];
    assert_string_equal(s->source_kv[0]->value, "${tenant.id}");
    assert_true(s->source_kv[0]->deferred);
    assert_false(s->source_kv[0]->literal);
    assert_string_equal(s->source_kv[1]->value, "${tenant.credentials.refreshToken:-${T_SET}}");
    assert_true(s->source_kv[1]->deferred);
    assert_string_equal(s->source_kv[4]->value, "value"); /* a default may itself be a reference */
    assert_false(s->source_kv[4]->deferred);
    syncc_conf_free(c);

    /* with a row: columns, JSON paths, :- defaults */
    json_t *row = json_loads("{\"id\": \"k1\", \"credentials\": {\"refreshToken\": \"rt\"}, "
                             "\"config\": {\"n\": 5, \"obj\": {\"b\": 1, \"a\": true}}}", 0, NULL);
    assert_non_null(row);
    syncc_conf_set_tenant(row);
    c = load_text(text);
    assert_non_null(c);
    s = &c->jobs[0].streams[0];
    assert_string_equal(s->source_kv[0]->value, "k1");
    assert_false(s->source_kv[0]->deferred);
    assert_string_equal(s->source_kv[1]->value, "rt");
    assert_string_equal(s->source_kv[2]->value, "5");
    assert_string_equal(s->source_kv[3]->value, "x{\"a\":true,\"b\":1}y");
    syncc_conf_free(c);

    /* a missing column: its default (itself expanded), else an error naming the reference */
    json_object_del(json_object_get(row, "credentials"), "refreshToken");
    json_object_set_new(row, "config", json_null());
    c = load_text(BASE "source.b = ${tenant.credentials.refreshToken:-${T_SET}}\n"
                       "source.c = ${tenant.config.n:-${T_UNSET:-dflt}}\n");
    assert_non_null(c);
    assert_string_equal(c->jobs[0].streams[0].source_kv[0]->value, "value");
    assert_string_equal(c->jobs[0].streams[0].source_kv[1]->value, "dflt");
    syncc_conf_free(c);
    expect_load_error(BASE "source.a = ${tenant.nope}\n",
                      "%s:10: option 'source.a': the tenant's row has no value for ${tenant.nope}", P("main.ini"));
    syncc_conf_set_tenant(NULL);
    json_decref(row);
}

/* [tenants NAME] and a job's tenants = NAME */
static void test_tenants_section(void **state)
{
    (void)state;
    const char *sets = "[tenants t]\nconnection = dst\nquery = SELECT 1 AS id WHERE $1 = ''\nparams = \n"
                       "interval = config.syncInterval\nmax_per_instance = 2\ninstance_column = config.url\n";
    syncc_conf *c = load_text(BASE "tenants = t\n");
    assert_null(c);
    c = load_text("[source src]\nplugin = fakesrc\n[sink dst]\nplugin = fakesink\n"
                  "[job j]\nsource = src\nsink = dst\ntenants = t\n[stream j.s]\nobject = Thing\n");
    assert_null(c);
    assert_non_null(strstr(g_err, "option 'tenants': there is no [tenants t] section"));
    char text[2048];
    snprintf(text, sizeof(text), "%s[source src]\nplugin = fakesrc\n[sink dst]\nplugin = fakesink\n"
             "[job j]\nsource = src\nsink = dst\ntenants = t\n[stream j.s]\nobject = Thing\n", sets);
    c = load_text(text);
    assert_non_null(c);
    assert_int_equal(c->n_tenant_sets, 1);
    syncc_tenant_set *ts = c->jobs[0].tenants;
    assert_non_null(ts);
    assert_string_equal(ts->connection->name, "dst");
    assert_string_equal(ts->key, "id");
    assert_string_equal(ts->interval, "config.syncInterval");
    assert_int_equal(ts->n_params, 1); /* set but empty: one empty value */
    assert_string_equal(ts->params[0], "");
    assert_int_equal(ts->max_per_instance, 2);
    assert_int_equal(ts->n_secret_columns, 1);
    assert_string_equal(ts->secret_columns[0], "credentials");
    assert_int_equal(ts->refresh_ms, 60000);
    syncc_conf_free(c);
    /* a cap needs what it counts by; a key must be a column path; the connection a sink */
    c = load_text("[tenants t]\nconnection = dst\nquery = SELECT 1\nmax_per_instance = 2\n" BASE);
    assert_null(c);
    assert_non_null(strstr(g_err, "option 'max_per_instance' needs 'instance_column'"));
    c = load_text("[tenants t]\nconnection = dst\nquery = SELECT 1\nkey = a..b\n" BASE);
    assert_null(c);
    assert_non_null(strstr(g_err, "option 'key': 'a..b' is not a column"));
    c = load_text("[tenants t]\nconnection = src\nquery = SELECT 1\n" BASE);
    assert_null(c);
    assert_non_null(strstr(g_err, "option 'connection': there is no [sink src] section"));
    c = load_text("[tenants t]\nconnection = dst\nquery = SELECT 1\nkeys = id\n" BASE);
    assert_null(c);
    assert_non_null(strstr(g_err, "unknown option 'keys' in [tenants t]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_example_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continuation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_and_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interpolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_includes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_no_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parsers, setup, teardown),
        cmocka_unit_test(test_docs_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
