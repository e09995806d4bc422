/*
 * core/state.c - the local state file (see state.h).
 *
 * Every operation is read-modify-write under an exclusive flock on a lock file
 * beside the state file, so concurrent jobs (threads) and engines (processes)
 * serialize.  State is small (cursors, tokens, a few run summaries), so
 * rewriting the whole file is cheap and keeps it consistent.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct syncc_state {
    char *dir;
    char *path;
    char *lock_path;
    pthread_mutex_t lock; /* flock is per open file description; threads need their own guard */
    unsigned long failures; /* reads or writes that failed, under lock (see syncc_state_failures) */
};

static int mkdirs(const char *dir, mode_t mode)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, mode) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

syncc_state *syncc_state_open(const char *dir, char *err, size_t errlen)
{
    if (mkdirs(dir, 0700) != 0) {
        snprintf(err, errlen, "cannot create state directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    struct stat dsb;
    if (stat(dir, &dsb) != 0) {
        snprintf(err, errlen, "cannot use state directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(dsb.st_mode)) {
        snprintf(err, errlen, "state directory %s is not a directory", dir);
        return NULL;
    }
    /* it holds refresh tokens: anyone who can write it can replace them or the cursors */
    if (dsb.st_mode & (S_IWGRP | S_IWOTH))
        syncc_log(SYNC_LOG_WARN, NULL, "state directory %s is writable by %s (mode %04o); it holds refresh "
                  "tokens and cursors: make it private to the engine's user (chmod 700)", dir,
                  (dsb.st_mode & S_IWOTH) ? "every user" : "its group", (unsigned)(dsb.st_mode & 07777));
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "state directory %s is not writable: %s", dir, strerror(errno));
        return NULL;
    }
    syncc_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->dir = strdup(dir);
    if (asprintf(&st->path, "%s/state.json", dir) < 0 || asprintf(&st->lock_path, "%s/state.lock", dir) < 0) {
        syncc_state_close(st);
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    /* Check now that the file can be written, so a bad directory fails at start-up. */
    int fd = open(st->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open state lock %s: %s", st->lock_path, strerror(errno));
        syncc_state_close(st);
        return NULL;
    }
    close(fd);
    return st;
}

void syncc_state_close(syncc_state *st)
{
    if (st == NULL)
        return;
    free(st->dir);
    free(st->path);
    free(st->lock_path);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

const char *syncc_state_path(const syncc_state *st) { return st->path; }

static int lock_acquire(syncc_state *st)
{
    pthread_mutex_lock(&st->lock);
    int fd = open(st->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        if (fd >= 0)
            close(fd);
        pthread_mutex_unlock(&st->lock);
        return -1;
    }
    return fd;
}

static void lock_release(syncc_state *st, int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
    pthread_mutex_unlock(&st->lock);
}

/*
 * Reads the file.  A missing file is empty state; a file that exists but
 * cannot be read or parsed is an error (NULL, message in err): overwriting it
 * would silently lose every other cursor and the rotated refresh token.
 */
static json_t *load(syncc_state *st, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(st->path, &sb) != 0 && errno == ENOENT)
        return json_object();
    st->failures++; /* undone below when the file reads well */
    if (stat(st->path, &sb) != 0 || !S_ISREG(sb.st_mode) || access(st->path, R_OK) != 0) {
        if (err != NULL)
            snprintf(err, errlen, "cannot read state file %s: %s", st->path,
                     S_ISDIR(sb.st_mode) ? "it is a directory" : strerror(errno));
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_load_file(st->path, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        if (err != NULL)
            snprintf(err, errlen, "state file %s is damaged (%s, line %d); move it aside to start over "
                     "(its cursors and tokens would be lost)", st->path, jerr.text, jerr.line);
        return NULL;
    }
    st->failures--;
    return root;
}

static int save(syncc_state *st, json_t *root, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", st->path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        st->failures++;
        snprintf(err, errlen, "cannot write state file %s: %s", tmp, strerror(errno));
        return -1;
    }
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    size_t len = text ? strlen(text) : 0;
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0) {
            rc = -1;
            break;
        }
        off += (size_t)w;
    }
    free(text);
    if (rc == 0 && fsync(fd) != 0)
        rc = -1;
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, st->path) != 0)
        rc = -1;
    if (rc != 0) {
        st->failures++;
        snprintf(err, errlen, "cannot write state file %s: %s", st->path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int syncc_state_get(syncc_state *st, const char *ns, const char *key, char **out)
{
    *out = NULL;
    int fd = lock_acquire(st);
    if (fd < 0)
        return -1;
    json_t *root = load(st, NULL, 0);
    if (root == NULL) {
        lock_release(st, fd);
        return -1;
    }
    json_t *v = json_object_get(json_object_get(root, ns), key);
    if (json_is_string(v))
        *out = strdup(json_string_value(v));
    json_decref(root);
    lock_release(st, fd);
    return 0;
}

int syncc_state_put(syncc_state *st, const char *ns, const char *key, const char *value, char *err,
                    size_t errlen)
{
    int fd = lock_acquire(st);
    if (fd < 0) {
        snprintf(err, errlen, "cannot lock state file %s: %s", st->lock_path, strerror(errno));
        return -1;
    }
    json_t *root = load(st, err, errlen);
    if (root == NULL) {
        lock_release(st, fd);
        return -1;
    }
    json_t *obj = json_object_get(root, ns);
    if (!json_is_object(obj)) {
        obj = json_object();
        json_object_set_new(root, ns, obj);
    }
    if (value == NULL)
        json_object_del(obj, key);
    else
        json_object_set_new(obj, key, json_string(value));
    int rc = save(st, root, err, errlen);
    json_decref(root);
    lock_release(st, fd);
    return rc;
}

int syncc_state_add_run(syncc_state *st, const char *job, const char *summary_json, int max)
{
    json_error_t jerr;
    json_t *summary = json_loads(summary_json, 0, &jerr);
    if (summary == NULL)
        return -1;
    int fd = lock_acquire(st);
    if (fd < 0) {
        json_decref(summary);
        return -1;
    }
    json_t *root = load(st, NULL, 0);
    if (root == NULL) {
        json_decref(summary);
        lock_release(st, fd);
        return -1;
    }
    json_t *runs = json_object_get(root, "runs");
    if (!json_is_object(runs)) {
        runs = json_object();
        json_object_set_new(root, "runs", runs);
    }
    json_t *list = json_object_get(runs, job);
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(runs, job, list);
    }
    json_array_append_new(list, summary);
    while ((int)json_array_size(list) > max)
        json_array_remove(list, 0);
    char err[256];
    int rc = save(st, root, err, sizeof(err));
    json_decref(root);
    lock_release(st, fd);
    return rc;
}

char *syncc_state_runs(syncc_state *st, const char *job)
{
    int fd = lock_acquire(st);
    if (fd < 0)
        return NULL;
    json_t *root = load(st, NULL, 0);
    if (root == NULL) {
        lock_release(st, fd);
        return NULL;
    }
    json_t *list = json_object_get(json_object_get(root, "runs"), job);
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(root);
    lock_release(st, fd);
    return text;
}

int syncc_state_check(syncc_state *st, char *err, size_t errlen)
{
    int fd = lock_acquire(st);
    if (fd < 0) {
        snprintf(err, errlen, "cannot lock state file %s: %s", st->lock_path, strerror(errno));
        return -1;
    }
    json_t *root = load(st, err, errlen);
    lock_release(st, fd);
    if (root == NULL)
        return -1;
    json_decref(root);
    return 0;
}

unsigned long syncc_state_failures(syncc_state *st)
{
    pthread_mutex_lock(&st->lock);
    unsigned long n = st->failures;
    pthread_mutex_unlock(&st->lock);
    return n;
}
