/*
 * test_transport.c - the pure parts of transport, limits and auth: which URLs
 * may be used, backoff growth and bounds, Sforce-Limit-Info parsing, the API
 * reserve, REST error mapping, and which refresh token a run picks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mock_host.h"

#include "salesforce/sf_api.h"
#include "salesforce/sf_auth.h"
#include "salesforce/sf_http.h"

static int setup(void **state)
{
    mock_reset();
    mock_install();
    return 0;
}

static int allowed(const char *url)
{
    char why[256];
    return sf_http_url_allowed(url, why, sizeof why) == SYNC_OK;
}

static void test_url_policy(void **state)
{
    assert_true(allowed("https://login.salesforce.com"));
    assert_true(allowed("https://acme.my.salesforce.com/services/data"));
    assert_true(allowed("http://127.0.0.1:8080"));
    assert_true(allowed("http://127.45.6.7/"));
    assert_true(allowed("http://localhost:9"));
    assert_true(allowed("http://LOCALHOST:9"));
    assert_true(allowed("http://[::1]:9/x"));
    assert_false(allowed("http://login.salesforce.com"));
    assert_false(allowed("http://10.0.0.1"));
    assert_false(allowed("http://128.0.0.1"));
    assert_false(allowed("http://127.0.0.1.evil.example"));
    assert_false(allowed("http://localhost.evil.example"));
    assert_false(allowed("http://127.0.0.1@evil.example/"));
    assert_false(allowed("http://[::2]:9"));
    assert_false(allowed("ftp://127.0.0.1"));
    assert_false(allowed("file:///etc/passwd"));
    assert_false(allowed("not a url"));
    char why[256];
    assert_int_equal(sf_http_url_allowed("http://example.com", why, sizeof why), SYNC_E_CONFIG);
    assert_non_null(strstr(why, "loopback"));
}

static void test_backoff(void **state)
{
    sf_http_settings s = {0};
    s.retry_base_ms = 500;
    s.retry_max_ms = 30000;
    /* half the step at least, the whole step at most */
    assert_int_equal(sf_http_backoff_ms(&s, 1, 0.0), 250);
    assert_int_equal(sf_http_backoff_ms(&s, 1, 0.999999), 499);
    assert_int_equal(sf_http_backoff_ms(&s, 2, 0.0), 500);
    assert_int_equal(sf_http_backoff_ms(&s, 4, 0.0), 2000);
    /* capped by retry_max however many attempts */
    assert_int_equal(sf_http_backoff_ms(&s, 7, 0.0), 15000);
    assert_true(sf_http_backoff_ms(&s, 60, 0.999999) <= 30000);
    assert_true(sf_http_backoff_ms(&s, 60, 0.0) >= 15000);
}

static void test_limit_info(void **state)
{
    int64_t used = -1, max = -1;
    assert_true(sf_api_parse_limit("api-usage=25/15000", &used, &max));
    assert_int_equal(used, 25);
    assert_int_equal(max, 15000);
    assert_true(sf_api_parse_limit("per-app-api-usage=2/250(appName=sync), api-usage=9000/15000", &used, &max));
    assert_int_equal(used, 9000);
    assert_int_equal(max, 15000);
    /* the per-app figure alone is not the org's allowance */
    assert_false(sf_api_parse_limit("per-app-api-usage=2/250(appName=sync)", &used, &max));
    assert_false(sf_api_parse_limit("api-usage=abc", &used, &max));
    assert_false(sf_api_parse_limit("", &used, &max));

    /* "one more call would pass the line": the 90th of 100 is the last allowed */
    assert_false(sf_api_over_reserve(13499, 15000, 10));
    assert_true(sf_api_over_reserve(13500, 15000, 10)); /* exactly 90 %: no further call */
    assert_false(sf_api_over_reserve(89, 100, 10));
    assert_true(sf_api_over_reserve(90, 100, 10));
    assert_false(sf_api_over_reserve(14999, 15000, 0));
    assert_true(sf_api_over_reserve(15000, 15000, 0));
    assert_true(sf_api_over_reserve(0, 15000, 100)); /* reserve everything: no calls */
}

static void test_error_mapping(void **state)
{
    assert_int_equal(sf_api_status_for(403, "REQUEST_LIMIT_EXCEEDED"), SYNC_E_RATELIMIT);
    assert_int_equal(sf_api_status_for(403, "INSUFFICIENT_ACCESS"), SYNC_E_AUTH);
    assert_int_equal(sf_api_status_for(401, "INVALID_SESSION_ID"), SYNC_E_AUTH);
    assert_int_equal(sf_api_status_for(400, "INVALID_FIELD"), SYNC_E_NOTFOUND);
    assert_int_equal(sf_api_status_for(404, "NOT_FOUND"), SYNC_E_NOTFOUND);
    assert_int_equal(sf_api_status_for(400, "INVALID_QUERY_LOCATOR"), SYNC_E_CONFLICT);
    assert_int_equal(sf_api_status_for(400, "MALFORMED_QUERY"), SYNC_E_CONFIG);
    assert_int_equal(sf_api_status_for(400, "QUERY_TIMEOUT"), SYNC_E_TIMEOUT);
    assert_int_equal(sf_api_status_for(400, NULL), SYNC_E_INVALID);
    assert_int_equal(sf_api_status_for(302, NULL), SYNC_E_PROTOCOL);
}

static void test_refresh_token_choice(void **state)
{
    char fp[SF_FINGERPRINT_LEN + 1], fp2[SF_FINGERPRINT_LEN + 1], stored[256];
    sf_auth_fingerprint("configured-1", fp);
    sf_auth_fingerprint("configured-2", fp2);
    assert_int_equal(strlen(fp), SF_FINGERPRINT_LEN);
    assert_string_not_equal(fp, fp2);
    /* the fingerprint does not contain the token */
    assert_null(strstr(fp, "configured"));

    snprintf(stored, sizeof stored, "%s:rotated-A", fp);
    assert_string_equal(sf_auth_pick_refresh_token("configured-1", stored), "rotated-A");
    /* a new configured token is never overridden by one rotated from the old */
    assert_string_equal(sf_auth_pick_refresh_token("configured-2", stored), "configured-2");
    assert_string_equal(sf_auth_pick_refresh_token("configured-1", NULL), "configured-1");
    assert_string_equal(sf_auth_pick_refresh_token("configured-1", "garbage"), "configured-1");
    snprintf(stored, sizeof stored, "%s:", fp);
    assert_string_equal(sf_auth_pick_refresh_token("configured-1", stored), "configured-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_url_policy, setup),
        cmocka_unit_test_setup(test_backoff, setup),
        cmocka_unit_test_setup(test_limit_info, setup),
        cmocka_unit_test_setup(test_error_mapping, setup),
        cmocka_unit_test_setup(test_refresh_token_choice, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
