/*
 * tests/unit/test_metrics.c - core/metrics.c: what runs and streams report
 * comes out in the Prometheus text format with the documented names.
 * (promtool checks the format in tests/integration/http_metrics.sh.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "timeutil.h"

static char *render(void)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    assert_int_equal(syncc_metrics_render(NULL, &buf, &len, &cap), 0);
    assert_non_null(buf);
    assert_int_equal(strlen(buf), len);
    return buf;
}

static void test_runs_and_histogram(void **state)
{
    (void)state;
    syncc_metrics_reset();
    const char *names[] = {"api_calls", "retries_http_503", "db_reconnects", "api_usage", "api_limit"};
    const int64_t values[] = {12, 2, 1, 4000, 15000};
    syncc_metrics_run_end("j\"1", "success", 1700000000000000LL, 2500, 0, names, values, 5);
    syncc_metrics_run_end("j\"1", "failed", 1700000100000000LL, 500, 3, NULL, NULL, 0);
    syncc_metrics_run_end("j\"1", "skipped", 1700000200000000LL, 1, 0, NULL, NULL, 0);
    char *m = render();
    assert_non_null(strstr(m, "syncengine_runs_total{sync_job=\"j\\\"1\",status=\"success\"} 1\n"));
    assert_non_null(strstr(m, "syncengine_runs_total{sync_job=\"j\\\"1\",status=\"failed\"} 1\n"));
    assert_non_null(strstr(m, "syncengine_runs_total{sync_job=\"j\\\"1\",status=\"skipped\"} 1\n"));
    /* 0.5 s and 2.5 s: one in le=1, both in le=5; skipped runs are not timed */
    assert_non_null(strstr(m, "syncengine_run_duration_seconds_bucket{sync_job=\"j\\\"1\",le=\"1\"} 1\n"));
    assert_non_null(strstr(m, "syncengine_run_duration_seconds_bucket{sync_job=\"j\\\"1\",le=\"5\"} 2\n"));
    assert_non_null(strstr(m, "syncengine_run_duration_seconds_bucket{sync_job=\"j\\\"1\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(m, "syncengine_run_duration_seconds_sum{sync_job=\"j\\\"1\"} 3.000\n"));
    assert_non_null(strstr(m, "syncengine_last_success_timestamp_seconds{sync_job=\"j\\\"1\"} 1700000000.000\n"));
    assert_non_null(strstr(m, "syncengine_last_run_timestamp_seconds{sync_job=\"j\\\"1\"} 1700000100.000\n"));
    assert_non_null(strstr(m, "syncengine_rejected_records_total{sync_job=\"j\\\"1\"} 3\n"));
    assert_non_null(strstr(m, "syncengine_api_calls_total{sync_job=\"j\\\"1\",source=\"\"} 12\n"));
    assert_non_null(strstr(m, "syncengine_api_usage{sync_job=\"j\\\"1\",source=\"\"} 4000\n"));
    assert_non_null(strstr(m, "syncengine_api_limit{sync_job=\"j\\\"1\",source=\"\"} 15000\n"));
    assert_non_null(strstr(m, "syncengine_retries_total{sync_job=\"j\\\"1\",cause=\"http_503\"} 2\n"));
    assert_non_null(strstr(m, "syncengine_retries_total{sync_job=\"j\\\"1\",cause=\"db_reconnect\"} 1\n"));
    assert_non_null(strstr(m, "# TYPE syncengine_run_duration_seconds histogram\n"));
    assert_non_null(strstr(m, "syncengine_verify_differences_total{sync_job=\"j\\\"1\"} 0\n"));
    free(m);
    int64_t calls, usage, limit;
    assert_int_equal(syncc_metrics_job_api("j\"1", &calls, &usage, &limit), 1);
    assert_int_equal(calls, 12);
    assert_int_equal(limit, 15000);
    assert_int_equal(syncc_metrics_job_api("other", &calls, &usage, &limit), 0);
    syncc_metrics_reset();
}

static void test_streams_and_lag(void **state)
{
    (void)state;
    syncc_metrics_reset();
    int64_t at;
    assert_int_equal(syncc_time_parse("2026-01-01T00:00:00.000Z", 24, &at, NULL), 0);
    syncc_metrics_stream_end("j", "contacts", 10, 4, 3, 2, 1, 0, "2026-01-01T00:00:00.000Z|003000000000001AAA",
                             at + 90 * 1000000LL);
    syncc_metrics_stream_end("j", "contacts", 5, 5, 0, 0, 0, 0, NULL, at + 100 * 1000000LL);
    syncc_metrics_stream_end("j", "numbers", 7, 7, 0, 0, 0, 0, "42", at);
    char *m = render();
    assert_non_null(strstr(m, "syncengine_records_total{sync_job=\"j\",stream=\"contacts\",action=\"read\"} 15\n"));
    assert_non_null(strstr(m, "syncengine_records_total{sync_job=\"j\",stream=\"contacts\",action=\"inserted\"} 9\n"));
    assert_non_null(strstr(m, "syncengine_records_total{sync_job=\"j\",stream=\"contacts\",action=\"deleted\"} 1\n"));
    /* the lag comes from a cursor that starts with a time; a counter cursor has none */
    assert_non_null(strstr(m, "syncengine_stream_lag_seconds{sync_job=\"j\",stream=\"contacts\"} 90.000\n"));
    assert_null(strstr(m, "syncengine_stream_lag_seconds{sync_job=\"j\",stream=\"numbers\"}"));
    free(m);
    assert_true(syncc_metrics_stream_lag("j", "contacts") > 89.9);
    assert_true(syncc_metrics_stream_lag("j", "numbers") < 0);
    syncc_metrics_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_and_histogram),
        cmocka_unit_test(test_streams_and_lag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
