/*
 * tests/unit/test_state.c - the local state store (core/state.c) in a
 * temporary directory: get, put and delete by namespace, the modes of the
 * directory (0700) and of the files (0600) whatever the umask, values
 * surviving a reopen, the run history keeping only the newest entries,
 * concurrent writers (two threads, two handles, two processes) never losing
 * an update, and clear errors for a directory that cannot be used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"

/* ------------------------------------------------------------- helpers */

static char tmp_root[4096];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    chmod(path, 0700); /* a test may have made it read-only */
    return remove(path);
}

static int make_tmp(void **state)
{
    (void)state;
    /*
     * Every put fsyncs the file and the directory; on a disk 1600 of them
     * take seconds, so prefer a memory file system unless TMPDIR says otherwise.
     */
    struct stat sb;
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tmp_root, sizeof(tmp_root), "%s/test_state.XXXXXX", base);
    if (mkdtemp(tmp_root) == NULL)
        return -1;
    return 0;
}

static int remove_tmp(void **state)
{
    (void)state;
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* tmp_root/name, in a static buffer per call slot */
static const char *in_tmp(const char *name)
{
    static char bufs[4][4096];
    static int slot;
    char *b = bufs[slot++ % 4];
    snprintf(b, 4096, "%s/%s", tmp_root, name);
    return b;
}

static syncc_state *open_ok(const char *dir)
{
    char err[512] = "";
    syncc_state *st = syncc_state_open(dir, err, sizeof(err));
    if (st == NULL)
        fail_msg("cannot open state in %s: %s", dir, err);
    return st;
}

static void put_ok(syncc_state *st, const char *ns, const char *key, const char *value)
{
    char err[512] = "";
    if (syncc_state_put(st, ns, key, value, err, sizeof(err)) != 0)
        fail_msg("put %s/%s failed: %s", ns, key, err);
}

/* The value under ns/key, or "(absent)" (static buffer). */
static const char *get_ok(syncc_state *st, const char *ns, const char *key)
{
    static char buf[4096];
    char *v = (char *)0x1;
    assert_int_equal(syncc_state_get(st, ns, key, &v), 0);
    snprintf(buf, sizeof(buf), "%s", v ? v : "(absent)");
    free(v);
    return buf;
}

static mode_t mode_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return sb.st_mode & 07777;
}

/* --------------------------------------------------------------- tests */

static void test_get_put_delete(void **state)
{
    (void)state;
    syncc_state *st = open_ok(in_tmp("s"));
    assert_string_equal(get_ok(st, "cursor:acme", "Contact"), "(absent)");
    put_ok(st, "cursor:acme", "Contact", "2024-05-01T10:00:00.000Z/003xx");
    put_ok(st, "cursor:acme", "Lead", "2024-05-02T00:00:00.000Z/00Qxx");
    put_ok(st, "plugin:sf_acme", "refresh_token", "5Aep861...");
    assert_string_equal(get_ok(st, "cursor:acme", "Contact"), "2024-05-01T10:00:00.000Z/003xx");
    assert_string_equal(get_ok(st, "cursor:acme", "Lead"), "2024-05-02T00:00:00.000Z/00Qxx");
    /* namespaces are separate */
    assert_string_equal(get_ok(st, "plugin:sf_acme", "Contact"), "(absent)");
    assert_string_equal(get_ok(st, "cursor:other", "Contact"), "(absent)");
    assert_string_equal(get_ok(st, "plugin:sf_acme", "refresh_token"), "5Aep861...");
    /* overwrite */
    put_ok(st, "cursor:acme", "Contact", "2024-06-01T00:00:00.000Z/003yy");
    assert_string_equal(get_ok(st, "cursor:acme", "Contact"), "2024-06-01T00:00:00.000Z/003yy");
    /* values with characters JSON must escape, and an empty value */
    put_ok(st, "plugin:x", "odd", "quote \" backslash \\ newline \n unicode \xc3\xa9");
    assert_string_equal(get_ok(st, "plugin:x", "odd"), "quote \" backslash \\ newline \n unicode \xc3\xa9");
    put_ok(st, "plugin:x", "empty", "");
    assert_string_equal(get_ok(st, "plugin:x", "empty"), "");
    /* delete (value NULL); deleting what is absent is fine */
    put_ok(st, "cursor:acme", "Contact", NULL);
    assert_string_equal(get_ok(st, "cursor:acme", "Contact"), "(absent)");
    assert_string_equal(get_ok(st, "cursor:acme", "Lead"), "2024-05-02T00:00:00.000Z/00Qxx");
    put_ok(st, "cursor:acme", "Contact", NULL);
    put_ok(st, "cursor:none", "x", NULL);
    assert_string_equal(get_ok(st, "cursor:none", "x"), "(absent)");
    char want[4200];
    snprintf(want, sizeof(want), "%s/state.json", in_tmp("s"));
    assert_string_equal(syncc_state_path(st), want);
    syncc_state_close(st);
    syncc_state_close(NULL);
}

static void test_modes(void **state)
{
    (void)state;
    /* a permissive umask must not leak into the modes */
    mode_t old = umask(0);
    syncc_state *st = open_ok(in_tmp("deep/er/state"));
    put_ok(st, "plugin:p", "k", "v");
    umask(old);
    assert_int_equal(mode_of(in_tmp("deep/er/state")), 0700);
    assert_int_equal(mode_of(in_tmp("deep/er/state/state.json")), 0600);
    assert_int_equal(mode_of(in_tmp("deep/er/state/state.lock")), 0600);
    /* no temporary file is left behind */
    char tmpname[4300];
    snprintf(tmpname, sizeof(tmpname), "%s.tmp.%ld", syncc_state_path(st), (long)getpid());
    assert_int_equal(access(tmpname, F_OK), -1);
    syncc_state_close(st);
}

static void test_persistence(void **state)
{
    (void)state;
    syncc_state *st = open_ok(in_tmp("p"));
    put_ok(st, "cursor:acme", "Contact", "c1");
    put_ok(st, "plugin:sf_acme", "refresh_token", "r1");
    syncc_state_close(st);

    st = open_ok(in_tmp("p"));
    assert_string_equal(get_ok(st, "cursor:acme", "Contact"), "c1");
    assert_string_equal(get_ok(st, "plugin:sf_acme", "refresh_token"), "r1");
    put_ok(st, "plugin:sf_acme", "refresh_token", "r2");
    syncc_state_close(st);

    /* the file is JSON: namespace -> key -> value */
    json_error_t jerr;
    json_t *root = json_load_file(in_tmp("p/state.json"), 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "cursor:acme"), "Contact")), "c1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "plugin:sf_acme"), "refresh_token")),
                        "r2");
    json_decref(root);
}

static int run_n(const char *text)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    assert_non_null(o);
    int n = (int)json_integer_value(json_object_get(o, "n"));
    json_decref(o);
    return n;
}

static void test_run_history(void **state)
{
    (void)state;
    syncc_state *st = open_ok(in_tmp("r"));
    assert_null(syncc_state_runs(st, "acme"));
    put_ok(st, "cursor:acme", "Contact", "c1");
    for (int i = 1; i <= 5; i++) {
        char s[64];
        snprintf(s, sizeof(s), "{\"n\":%d,\"status\":\"success\"}", i);
        assert_int_equal(syncc_state_add_run(st, "acme", s, 3), 0);
    }
    assert_int_equal(syncc_state_add_run(st, "other", "{\"n\":100}", 3), 0);
    /* not JSON: refused, nothing changes */
    assert_int_equal(syncc_state_add_run(st, "acme", "{not json", 3), -1);
    syncc_state_close(st);

    st = open_ok(in_tmp("r"));
    char *text = syncc_state_runs(st, "acme");
    assert_non_null(text);
    json_error_t jerr;
    json_t *list = json_loads(text, 0, &jerr);
    assert_non_null(list);
    assert_true(json_is_array(list));
    /* the newest three, oldest first */
    assert_int_equal(json_array_size(list), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(list, i);
        assert_int_equal(json_integer_value(json_object_get(e, "n")), (json_int_t)i + 3);
        assert_string_equal(json_string_value(json_object_get(e, "status")), "success");
    }
    json_decref(list);
    free(text);
    text = syncc_state_runs(st, "other");
    assert_non_null(text);
    assert_string_equal(text, "[{\"n\":100}]");
    assert_int_equal(run_n("{\"n\":100}"), 100);
    free(text);
    /* the history does not disturb the other values */
    assert_string_equal(get_ok(st, "cursor:acme", "Contact"), "c1");
    syncc_state_close(st);
}

/* ----------------------------------------------------------- concurrency */

enum { PUTS = 200 };

typedef struct writer {
    syncc_state *st;
    const char *ns;
    const char *prefix;
    int failures;
} writer;

static void write_many(writer *w)
{
    char key[64], value[64], err[512];
    for (int i = 0; i < PUTS; i++) {
        snprintf(key, sizeof(key), "%s%d", w->prefix, i);
        snprintf(value, sizeof(value), "v-%s-%d", w->prefix, i);
        if (syncc_state_put(w->st, w->ns, key, value, err, sizeof(err)) != 0)
            w->failures++;
    }
}

static void *writer_thread(void *arg)
{
    write_many(arg);
    return NULL;
}

/* Every value of writer prefix is in the file (read once: a get per key would dominate the run time). */
static void check_all(syncc_state *st, const char *ns, const char *prefix)
{
    json_error_t jerr;
    json_t *root = json_load_file(syncc_state_path(st), 0, &jerr);
    assert_non_null(root);
    json_t *obj = json_object_get(root, ns);
    char key[64], want[64];
    for (int i = 0; i < PUTS; i++) {
        snprintf(key, sizeof(key), "%s%d", prefix, i);
        snprintf(want, sizeof(want), "v-%s-%d", prefix, i);
        const char *got = json_string_value(json_object_get(obj, key));
        if (got == NULL || strcmp(got, want) != 0)
            fail_msg("%s/%s lost: %s", ns, key, got ? got : "(absent)");
    }
    json_decref(root);
    /* and through the API, for a few */
    snprintf(key, sizeof(key), "%s%d", prefix, PUTS - 1);
    snprintf(want, sizeof(want), "v-%s-%d", prefix, PUTS - 1);
    assert_string_equal(get_ok(st, ns, key), want);
}

static void test_two_threads(void **state)
{
    (void)state;
    syncc_state *st = open_ok(in_tmp("t"));
    /* two threads on one handle (one engine, two jobs) ... */
    writer a = {st, "cursor:a", "a", 0}, b = {st, "cursor:b", "b", 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, writer_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, writer_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.failures + b.failures, 0);
    check_all(st, "cursor:a", "a");
    check_all(st, "cursor:b", "b");

    syncc_state_close(st);

    /* ... and two threads on two handles of one directory, one namespace */
    st = open_ok(in_tmp("t2"));
    syncc_state *st2 = open_ok(in_tmp("t2"));
    writer c = {st, "shared", "c", 0}, d = {st2, "shared", "d", 0};
    assert_int_equal(pthread_create(&ta, NULL, writer_thread, &c), 0);
    assert_int_equal(pthread_create(&tb, NULL, writer_thread, &d), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(c.failures + d.failures, 0);
    check_all(st2, "shared", "c");
    check_all(st, "shared", "d");
    syncc_state_close(st2);
    syncc_state_close(st);
}

static void test_two_processes(void **state)
{
    (void)state;
    const char *dir = in_tmp("f");
    syncc_state *st = open_ok(dir);
    int go[2];
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child: its own handle, started together with the parent */
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(3);
        char err[512];
        syncc_state *cst = syncc_state_open(dir, err, sizeof(err));
        if (cst == NULL)
            _exit(2);
        writer w = {cst, "shared", "child", 0};
        write_many(&w);
        syncc_state_close(cst);
        syncc_state_close(st);
        _exit(w.failures == 0 ? 0 : 1);
    }
    close(go[0]);
    writer w = {st, "shared", "parent", 0};
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    write_many(&w);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(w.failures, 0);
    check_all(st, "shared", "parent");
    check_all(st, "shared", "child");
    syncc_state_close(st);
}

/* ---------------------------------------------------------------- errors */

static void test_unusable_directory(void **state)
{
    (void)state;
    char err[512] = "";
    /* a regular file where a directory should be: refused at open, whoever runs the test */
    FILE *f = fopen(in_tmp("file"), "w");
    assert_non_null(f);
    fclose(f);
    assert_null(syncc_state_open(in_tmp("file/state"), err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create state directory"));
    assert_non_null(strstr(err, in_tmp("file/state")));
    assert_non_null(strstr(err, "Not a directory"));

    /* a read-only directory (root may write anywhere, so only as another user) */
    if (geteuid() != 0) {
        assert_int_equal(mkdir(in_tmp("ro"), 0500), 0);
        err[0] = '\0';
        assert_null(syncc_state_open(in_tmp("ro"), err, sizeof(err)));
        assert_non_null(strstr(err, "state directory"));
        assert_non_null(strstr(err, in_tmp("ro")));
        assert_non_null(strstr(err, "not writable"));
    }

    /* the directory disappears after open: put and get fail, naming the file */
    syncc_state *st = open_ok(in_tmp("gone"));
    put_ok(st, "n", "k", "v");
    assert_int_equal(remove(in_tmp("gone/state.json")), 0);
    assert_int_equal(remove(in_tmp("gone/state.lock")), 0);
    assert_int_equal(rmdir(in_tmp("gone")), 0);
    err[0] = '\0';
    assert_int_equal(syncc_state_put(st, "n", "k", "v2", err, sizeof(err)), -1);
    assert_non_null(strstr(err, in_tmp("gone/state.lock")));
    assert_non_null(strstr(err, "No such file or directory"));
    char *v = (char *)0x1;
    assert_int_equal(syncc_state_get(st, "n", "k", &v), -1);
    assert_null(v);
    assert_int_equal(syncc_state_add_run(st, "job", "{}", 3), -1);
    assert_null(syncc_state_runs(st, "job"));
    syncc_state_close(st);

    /* the state file cannot be replaced (a directory in its place) */
    st = open_ok(in_tmp("blocked"));
    assert_int_equal(mkdir(in_tmp("blocked/state.json"), 0700), 0);
    err[0] = '\0';
    assert_int_equal(syncc_state_put(st, "n", "k", "v", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot read state file"));
    assert_non_null(strstr(err, in_tmp("blocked/state.json")));
    syncc_state_close(st);
}

/*
 * A state file that exists but cannot be parsed is refused, never treated as
 * empty: the next put would otherwise rewrite it with only its own key and
 * every other cursor and the rotated refresh token would be lost.
 */
static void test_corrupt_file_is_not_overwritten(void **state)
{
    (void)state;
    syncc_state *st = open_ok(in_tmp("c"));
    FILE *f = fopen(in_tmp("c/state.json"), "w");
    assert_non_null(f);
    fputs("{\"plugin:sf_acme\": {\"refresh_token\": \"r1\"", f); /* cut short */
    fclose(f);
    char *v = NULL;
    assert_int_equal(syncc_state_get(st, "plugin:sf_acme", "refresh_token", &v), -1);
    char err[512] = "";
    assert_int_equal(syncc_state_put(st, "cursor:acme", "Contact", "c1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, in_tmp("c/state.json")));
    assert_non_null(strstr(err, "damaged"));
    /* the file is untouched */
    f = fopen(in_tmp("c/state.json"), "r");
    assert_non_null(f);
    char buf[256] = "";
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "{\"plugin:sf_acme\": {\"refresh_token\": \"r1\"");
    syncc_state_close(st);
}

/*
 * The damage is seen by syncc_state_check (the engine refuses to start, a
 * run fails at its start) and every failed read or write is counted, so a
 * run whose plugin could not keep its state does not end "success"; a state
 * path that is a regular file is "not a directory".
 */
static void test_damage_is_checked_and_counted(void **state)
{
    (void)state;
    char err[512] = "";
    syncc_state *st = open_ok(in_tmp("d"));
    assert_int_equal(syncc_state_check(st, err, sizeof(err)), 0); /* no file yet: empty state */
    put_ok(st, "n", "k", "v");
    assert_int_equal(syncc_state_check(st, err, sizeof(err)), 0);
    assert_int_equal(syncc_state_failures(st), 0);
    FILE *f = fopen(in_tmp("d/state.json"), "w");
    assert_non_null(f);
    fputs("[1, 2", f);
    fclose(f);
    err[0] = '\0';
    assert_int_equal(syncc_state_check(st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is damaged"));
    assert_non_null(strstr(err, in_tmp("d/state.json")));
    unsigned long before = syncc_state_failures(st);
    assert_int_equal(syncc_state_put(st, "n", "k", "v2", err, sizeof(err)), -1);
    char *v = NULL;
    assert_int_equal(syncc_state_get(st, "n", "k", &v), -1);
    assert_true(syncc_state_failures(st) >= before + 2);
    syncc_state_close(st);

    f = fopen(in_tmp("plain"), "w");
    assert_non_null(f);
    fclose(f);
    err[0] = '\0';
    assert_null(syncc_state_open(in_tmp("plain"), err, sizeof(err)));
    assert_non_null(strstr(err, "is not a directory"));
    assert_null(strstr(err, "Permission denied"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put_delete),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_persistence),
        cmocka_unit_test(test_run_history),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_two_processes),
        cmocka_unit_test(test_unusable_directory),
        cmocka_unit_test(test_corrupt_file_is_not_overwritten),
        cmocka_unit_test(test_damage_is_checked_and_counted),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
