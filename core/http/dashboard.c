/*
 * core/http/dashboard.c - the page at `/`: one server-rendered HTML page.
 *
 * Everything is in the answer (no external script, style, font or image), so
 * it works offline and under a Content-Security-Policy that allows only this
 * answer's own script and style (by nonce, server.c sets the header).  The
 * buttons call the JSON API with the bearer token typed into the page, which
 * is kept in sessionStorage (the tab's lifetime), never in a cookie.  Every
 * text from the configuration, the run log or an error is HTML-escaped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_priv.h"
#include "log.h"

typedef struct page {
    char *buf;
    size_t len, cap;
    int failed;
} page;

static void put(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(page *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = p->cap - p->len;
        int n = vsnprintf(p->buf ? p->buf + p->len : NULL, p->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->failed = 1;
            return;
        }
        if (p->buf != NULL && (size_t)n < room) {
            p->len += (size_t)n;
            return;
        }
        size_t want = p->cap ? p->cap * 2 : 32768;
        while (want < p->len + (size_t)n + 1)
            want *= 2;
        char *b = realloc(p->buf, want);
        if (b == NULL) {
            p->failed = 1;
            return;
        }
        p->buf = b;
        p->cap = want;
    }
}

/* Appends s HTML-escaped (text and attribute values alike). */
static void text(page *p, const char *s)
{
    if (s == NULL)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': put(p, "&amp;"); break;
        case '<': put(p, "&lt;"); break;
        case '>': put(p, "&gt;"); break;
        case '"': put(p, "&quot;"); break;
        case '\'': put(p, "&#39;"); break;
        default: put(p, "%c", *s);
        }
    }
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static const char *status_colour(const char *st)
{
    if (strcmp(st, "success") == 0)
        return "#2e7d32";
    if (strcmp(st, "partial") == 0)
        return "#ef6c00";
    if (strcmp(st, "rate_limited") == 0)
        return "#6a1b9a";
    if (strcmp(st, "running") == 0)
        return "#1565c0";
    return "#c62828";
}

/* A bar per recent run, oldest on the left: height by duration, colour by status. */
static void sparkline(page *p, json_t *recent)
{
    size_t n = json_array_size(recent);
    double max = 1;
    for (size_t i = 0; i < n; i++) {
        double d = (double)json_integer_value(json_object_get(json_array_get(recent, i), "duration_ms"));
        if (d > max)
            max = d;
    }
    put(p, "<svg class=\"spark\" width=\"100\" height=\"24\" viewBox=\"0 0 100 24\" role=\"img\" "
           "aria-label=\"recent runs\">");
    for (size_t k = 0; k < n; k++) {
        json_t *r = json_array_get(recent, n - 1 - k); /* recent_runs is newest first */
        double d = (double)json_integer_value(json_object_get(r, "duration_ms"));
        int h = 3 + (int)(21.0 * d / max);
        if (h > 24)
            h = 24;
        put(p, "<rect x=\"%zu\" y=\"%d\" width=\"8\" height=\"%d\" fill=\"%s\"><title>", k * 10, 24 - h, h,
            status_colour(str(r, "status")));
        text(p, str(r, "started_at"));
        put(p, " ");
        text(p, str(r, "status"));
        put(p, " %.1fs</title></rect>", d / 1000.0);
    }
    put(p, "</svg>");
}

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}"
    "h1{font-size:1.3em;margin:0 0 .2em}.sub{color:#666;margin-bottom:1em}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}"
    "th{background:#eee;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".st{font-weight:600}.err{color:#c62828;max-width:28em;word-break:break-word}"
    "button{margin:0 .2em .2em 0;padding:.2em .6em;cursor:pointer}"
    "#auth{margin:1em 0}#msg{margin-left:1em;font-weight:600}";

static const char script[] =
    "(function(){"
    "var tok=document.getElementById('token'),msg=document.getElementById('msg');"
    "tok.value=sessionStorage.getItem('syncengine-token')||'';"
    "tok.addEventListener('change',function(){sessionStorage.setItem('syncengine-token',tok.value);});"
    "document.querySelectorAll('button[data-action]').forEach(function(b){"
    "b.addEventListener('click',function(){"
    "var t=tok.value;sessionStorage.setItem('syncengine-token',t);"
    "var a=b.getAttribute('data-action'),j=b.getAttribute('data-job');"
    "var path='/api/v1/jobs/'+encodeURIComponent(j)+'/'+(a==='full'?'run':a);"
    "msg.textContent=j+': '+a+'...';"
    "fetch(path,{method:'POST',headers:{'Authorization':'Bearer '+t,'Content-Type':'application/json'},"
    "body:a==='full'?'{\"full_refresh\": true}':''})"
    ".then(function(r){return r.json().then(function(d){return [r.status,d];});})"
    ".then(function(x){var d=x[1];"
    "if(x[0]<300){msg.textContent=d.run_id?('run '+d.run_id+' started for '+j):(j+': '+d.state);"
    "msg.setAttribute('data-ok','1');setTimeout(function(){location.reload();},1500);}"
    "else{msg.textContent='error '+x[0]+': '+d.error+(d.where?' ('+d.where+')':'');msg.setAttribute('data-ok','0');}})"
    ".catch(function(e){msg.textContent='request failed: '+e;msg.setAttribute('data-ok','0');});"
    "});});"
    "})();";

void http_dashboard(syncc_engine *e, http_reply *r)
{
    json_t *st = http_api_status_json(e);
    if (st == NULL) {
        http_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    page p = {0};
    put(&p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<title>syncengine</title><style nonce=\"%s\">%s</style></head><body>\n", r->nonce, style);
    put(&p, "<h1>syncengine</h1><div class=\"sub\">version ");
    text(&p, str(json_object_get(st, "engine"), "version"));
    put(&p, " &middot; ");
    text(&p, e->conf->path);
    put(&p, " &middot; <a href=\"/\">refresh</a> &middot; <a href=\"/api/v1/status\">status JSON</a> &middot; "
            "<a href=\"/metrics\">metrics</a></div>\n");
    put(&p, "<div id=\"auth\"><label for=\"token\">API token </label>"
            "<input id=\"token\" type=\"password\" autocomplete=\"off\" size=\"40\">"
            "<span id=\"msg\" role=\"status\"></span></div>\n");
    put(&p, "<table id=\"jobs\"><thead><tr><th>Job</th><th>State</th><th>Last run</th><th>Status</th>"
            "<th>Processed</th><th>Created</th><th>Updated</th><th>Failed</th><th>Duration</th><th>Next run</th>"
            "<th>Last error</th><th>Recent runs</th><th></th></tr></thead><tbody>\n");
    size_t i;
    json_t *job;
    json_array_foreach(json_object_get(st, "jobs"), i, job) {
        const char *name = str(job, "name");
        json_t *last = json_object_get(job, "last_run");
        put(&p, "<tr data-job=\"");
        text(&p, name);
        put(&p, "\"><td>");
        text(&p, name);
        put(&p, "</td><td class=\"state\">");
        text(&p, str(job, "state"));
        put(&p, "</td>");
        if (json_is_object(last)) {
            const char *s = str(last, "status");
            put(&p, "<td>");
            text(&p, str(last, "started_at"));
            put(&p, "</td><td class=\"st\"><span data-status=\"");
            text(&p, s);
            put(&p, "\">");
            text(&p, s);
            put(&p, "</span></td>");
            const char *nums[] = {"processed", "inserted", "updated", "failed"};
            for (size_t k = 0; k < 4; k++)
                put(&p, "<td class=\"n\">%lld</td>", (long long)json_integer_value(json_object_get(last, nums[k])));
            put(&p, "<td class=\"n\">%.1f s</td>",
                (double)json_integer_value(json_object_get(last, "duration_ms")) / 1000.0);
        } else {
            put(&p, "<td>never</td><td></td><td></td><td></td><td></td><td></td><td></td>");
        }
        put(&p, "<td>");
        text(&p, json_is_string(json_object_get(job, "next_run")) ? str(job, "next_run") : "-");
        put(&p, "</td><td class=\"err\">");
        text(&p, json_string_value(json_object_get(job, "last_error")));
        put(&p, "</td><td>");
        sparkline(&p, json_object_get(job, "recent_runs"));
        put(&p, "</td><td>");
        const char *acts[][2] = {{"run", "Sync now"}, {"full", "Full re-sync"},
                                 {json_is_true(json_object_get(job, "paused")) ? "resume" : "pause",
                                  json_is_true(json_object_get(job, "paused")) ? "Resume" : "Pause"}};
        for (size_t k = 0; k < 3; k++) {
            put(&p, "<button type=\"button\" data-action=\"%s\" data-job=\"", acts[k][0]);
            text(&p, name);
            put(&p, "\">%s</button>", acts[k][1]);
        }
        put(&p, "</td></tr>\n");
    }
    put(&p, "</tbody></table>\n<script nonce=\"%s\">%s</script>\n</body></html>\n", r->nonce, script);
    json_decref(st);
    if (p.failed) {
        free(p.buf);
        http_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    /* an error message can quote a remote's words: no known secret leaves the process */
    syncc_log_redact(p.buf, p.cap);
    p.len = strlen(p.buf);
    r->status = 200;
    r->content_type = "text/html; charset=utf-8";
    r->body = p.buf;
    r->len = p.len;
}
