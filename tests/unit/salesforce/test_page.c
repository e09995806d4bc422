/*
 * test_page.c - describes, field plans and query pages turned into records:
 * every type, nulls, relationships (set and null), deletes, converted leads,
 * pages that are not pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mock_host.h"
#include "fixtures.h"

#include "salesforce/sf_describe.h"
#include "salesforce/sf_page.h"
#include "salesforce/sf_source.h"

static sf_instance inst;
static const sync_emitter *EM = (const sync_emitter *)&inst;

static void cache(const char *text)
{
    json_error_t err;
    json_t *js = json_loads(text, 0, &err);
    assert_non_null(js);
    sf_object_desc *d;
    assert_int_equal(sf_describe_parse(js, &d), SYNC_OK);
    json_decref(js);
    assert_int_equal(sf_describe_cache_put(&inst, d), SYNC_OK);
}

static int setup(void **state)
{
    mock_reset();
    mock_install();
    memset(&inst, 0, sizeof inst);
    inst.set.api_version = "61.0";
    cache(FX_CONTACT);
    cache(FX_ACCOUNT);
    cache(FX_LEAD);
    return 0;
}

static int teardown(void **state)
{
    sf_describe_cache_free(&inst);
    return 0;
}

static const sf_object_desc *desc(const char *name)
{
    const sf_object_desc *d;
    assert_int_equal(sf_describe_get(&inst, name, &d), SYNC_OK);
    return d;
}

/* ---- describe and resolution */

static void test_describe_types(void **state)
{
    const sf_object_desc *d = desc("contact"); /* case-insensitive */
    assert_string_equal(d->name, "Contact");
    assert_int_equal(sf_describe_field(d, "email")->type, SF_FT_STRING);
    assert_int_equal(sf_describe_field(d, "Birthdate")->type, SF_FT_DATE);
    assert_int_equal(sf_describe_field(d, "NumberOfEmployees__c")->type, SF_FT_INT);
    assert_int_equal(sf_describe_field(d, "Score__c")->type, SF_FT_FLOAT);
    assert_int_equal(sf_describe_field(d, "Budget__c")->type, SF_FT_FLOAT);
    assert_int_equal(sf_describe_field(d, "Share__c")->type, SF_FT_FLOAT);
    assert_int_equal(sf_describe_field(d, "IsDeleted")->type, SF_FT_BOOL);
    assert_int_equal(sf_describe_field(d, "SystemModstamp")->type, SF_FT_DATETIME);
    assert_int_equal(sf_describe_field(d, "MailingAddress")->type, SF_FT_JSON);
    assert_string_equal(sf_describe_relationship(d, "account")->name, "AccountId");
    assert_null(sf_describe_field(d, "Nope__c"));
    assert_int_equal(sf_describe_sync_type(SF_FT_DATETIME), SYNC_TYPE_TIMESTAMP);
    assert_int_equal(sf_describe_sync_type(SF_FT_DATE), SYNC_TYPE_DATE);
}

static void test_resolve_paths(void **state)
{
    const sf_object_desc *d = desc("Contact");
    sf_resolved r;
    assert_int_equal(sf_describe_resolve(&inst, d, "account.name", &r), SYNC_OK);
    assert_string_equal(r.canon, "Account.Name");
    assert_int_equal(r.type, SF_FT_STRING);
    free(r.canon);
    assert_int_equal(sf_describe_resolve(&inst, d, "Account.Parent.AnnualRevenue", &r), SYNC_OK);
    assert_string_equal(r.canon, "Account.Parent.AnnualRevenue");
    assert_int_equal(r.type, SF_FT_FLOAT);
    free(r.canon);
    /* polymorphic: the rest is taken as written */
    assert_int_equal(sf_describe_resolve(&inst, d, "Owner.Name", &r), SYNC_OK);
    assert_string_equal(r.canon, "Owner.Name");
    assert_int_equal(r.type, SF_FT_AUTO);
    free(r.canon);
}

static void test_resolve_missing(void **state)
{
    const sf_object_desc *d = desc("Contact");
    sf_resolved r;
    assert_int_equal(sf_describe_resolve(&inst, d, "Favourite_Color__c", &r), SYNC_E_NOTFOUND);
    assert_non_null(strstr(mock.err, "Favourite_Color__c"));
    assert_non_null(strstr(mock.err, "Contact"));
    /* the first hop must be a relationship name, not the Id field */
    assert_int_equal(sf_describe_resolve(&inst, d, "AccountId.Name", &r), SYNC_E_NOTFOUND);
    assert_non_null(strstr(mock.err, "AccountId"));
    assert_int_equal(sf_describe_resolve(&inst, d, "Account.Nmae", &r), SYNC_E_NOTFOUND);
    assert_non_null(strstr(mock.err, "Nmae"));
    assert_non_null(strstr(mock.err, "Account"));
    assert_int_equal(sf_describe_resolve(&inst, d, "Name; DROP", &r), SYNC_E_CONFIG);
}

/* ---- plans */

static void test_plan_mapped_fields(void **state)
{
    const char *want[] = {"email", "Account.Name", "LastName"};
    mock_config opts = {{{"fields", "FirstName, Account.Name"}, {"where", "Email != null"}}, 2};
    sync_stream_request req = {sizeof req, "Contact", want, 3, NULL, 0, (const sync_config *)&opts, 0};
    sf_plan p;
    assert_int_equal(sf_plan_build(&inst, desc("Contact"), &req, &p), SYNC_OK);
    const char *sel[] = {"Id", "SystemModstamp", "IsDeleted", "Email", "Account.Name", "LastName", "FirstName"};
    assert_int_equal(p.n_select, 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(p.select[i], sel[i]);
    /* the record field keeps the mapping's spelling; the path is canonical */
    assert_string_equal(p.fields[3].name, "email");
    assert_string_equal(p.fields[3].path, "Email");
    assert_int_equal(p.deletes, 1);
    assert_string_equal(p.where, "Email != null");

    sf_buf soql = SF_BUF_INIT;
    sf_cursor start = {INT64_C(1714557600) * 1000000, "003000000000001AAA"};
    assert_int_equal(sf_plan_soql(&inst, &p, &start, INT64_C(1714561200) * 1000000, &soql), SYNC_OK);
    assert_string_equal(soql.ptr,
                        "SELECT Id, SystemModstamp, IsDeleted, Email, Account.Name, LastName, FirstName"
                        " FROM Contact WHERE (SystemModstamp > 2024-05-01T10:00:00.000Z OR"
                        " (SystemModstamp = 2024-05-01T10:00:00.000Z AND Id > '003000000000001AAA'))"
                        " AND SystemModstamp <= 2024-05-01T11:00:00.000Z AND (Email != null)"
                        " ORDER BY SystemModstamp ASC, Id ASC");
    sf_buf_free(&soql);
    sf_plan_free(&p);
}

static void test_plan_all_fields(void **state)
{
    mock_config opts = {{{"include_deleted", "false"}, {"cursor_field", "LastModifiedDate"}}, 2};
    sync_stream_request req = {sizeof req, "Contact", NULL, 0, NULL, 0, (const sync_config *)&opts, 0};
    sf_plan p;
    assert_int_equal(sf_plan_build(&inst, desc("Contact"), &req, &p), SYNC_OK);
    assert_int_equal(p.deletes, 0);
    assert_string_equal(p.cursor_field, "LastModifiedDate");
    /* every field but the base64 one, Id and the cursor first */
    assert_int_equal(p.n_select, 17);
    assert_string_equal(p.select[0], "Id");
    assert_string_equal(p.select[1], "LastModifiedDate");
    for (size_t i = 0; i < p.n_select; i++)
        assert_string_not_equal(p.select[i], "Photo__c");
    sf_plan_free(&p);
}

static void test_plan_errors(void **state)
{
    sf_plan p;
    const char *bad[] = {"Email", "Favourite_Color__c"};
    sync_stream_request req = {sizeof req, "Contact", bad, 2, NULL, 0, NULL, 0};
    assert_int_equal(sf_plan_build(&inst, desc("Contact"), &req, &p), SYNC_E_NOTFOUND);
    assert_non_null(strstr(mock.err, "\"Favourite_Color__c\" does not exist on salesforce object Contact"));

    mock_config o1 = {{{"cursor_field", "Birthdate"}}, 1};
    sync_stream_request r1 = {sizeof r1, "Contact", NULL, 0, NULL, 0, (const sync_config *)&o1, 0};
    assert_int_equal(sf_plan_build(&inst, desc("Contact"), &r1, &p), SYNC_E_CONFIG);
    assert_non_null(strstr(mock.err, "must be a datetime"));

    mock_config o2 = {{{"cursor_field", "Stamp__c"}}, 1};
    sync_stream_request r2 = {sizeof r2, "Contact", NULL, 0, NULL, 0, (const sync_config *)&o2, 0};
    assert_int_equal(sf_plan_build(&inst, desc("Contact"), &r2, &p), SYNC_E_NOTFOUND);

    mock_config o3 = {{{"where", "Email != null) OR (Id != null"}}, 1};
    sync_stream_request r3 = {sizeof r3, "Contact", NULL, 0, NULL, 0, (const sync_config *)&o3, 0};
    assert_int_equal(sf_plan_build(&inst, desc("Contact"), &r3, &p), SYNC_E_CONFIG);

    mock_config o4 = {{{"fields", "Account.Bogus"}}, 1};
    sync_stream_request r4 = {sizeof r4, "Contact", bad, 1, NULL, 0, (const sync_config *)&o4, 0};
    assert_int_equal(sf_plan_build(&inst, desc("Contact"), &r4, &p), SYNC_E_NOTFOUND);
    assert_non_null(strstr(mock.err, "Bogus"));
}

/* ---- pages */

static const sf_page_field CONTACT_FIELDS[] = {
    {"Id", "Id", SF_FT_STRING},
    {"SystemModstamp", "SystemModstamp", SF_FT_DATETIME},
    {"IsDeleted", "IsDeleted", SF_FT_BOOL},
    {"FirstName", "FirstName", SF_FT_STRING},
    {"Birthdate", "Birthdate", SF_FT_DATE},
    {"NumberOfEmployees__c", "NumberOfEmployees__c", SF_FT_INT},
    {"Score__c", "Score__c", SF_FT_FLOAT},
    {"Budget__c", "Budget__c", SF_FT_FLOAT},
    {"HasOptedOutOfEmail", "HasOptedOutOfEmail", SF_FT_BOOL},
    {"MailingAddress", "MailingAddress", SF_FT_JSON},
    {"Account.Name", "Account.Name", SF_FT_STRING},
    {"Account.Parent.Name", "Account.Parent.Name", SF_FT_STRING},
    {"Owner.Name", "Owner.Name", SF_FT_AUTO},
};
static const sf_page_spec CONTACT_SPEC = {CONTACT_FIELDS, 13, "SystemModstamp", 0, NULL};

static const char PAGE1[] =
    "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"/services/data/v61.0/query/01gD0000002HU6KIAW-2000\","
    "\"records\":["
    "{\"attributes\":{\"type\":\"Contact\",\"url\":\"/services/data/v61.0/sobjects/Contact/003000000000001AAA\"},"
    " \"Id\":\"003000000000001AAA\",\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\",\"IsDeleted\":false,"
    " \"FirstName\":\"Zo\\u00eb \\\"Z\\\" O'Neil\",\"Birthdate\":\"1990-02-03\",\"NumberOfEmployees__c\":42,"
    " \"Score__c\":3.5,\"Budget__c\":1000,\"HasOptedOutOfEmail\":true,"
    " \"MailingAddress\":{\"city\":\"Gent\",\"country\":\"BE\"},"
    " \"Account\":{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Acme\","
    "   \"Parent\":{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Acme Holding\"}},"
    " \"Owner\":{\"attributes\":{\"type\":\"User\"},\"Name\":\"Ann\"}},"
    "{\"attributes\":{\"type\":\"Contact\"},"
    " \"Id\":\"003000000000002AAA\",\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\",\"IsDeleted\":false,"
    " \"FirstName\":null,\"Birthdate\":null,\"NumberOfEmployees__c\":null,\"Score__c\":null,\"Budget__c\":null,"
    " \"HasOptedOutOfEmail\":false,\"MailingAddress\":null,\"Account\":null,\"Owner\":null},"
    "{\"attributes\":{\"type\":\"Contact\"},"
    " \"Id\":\"003000000000003AAA\",\"SystemModstamp\":\"2024-05-01T10:00:01.500+0000\",\"IsDeleted\":true,"
    " \"FirstName\":\"Gone\",\"Birthdate\":null,\"NumberOfEmployees__c\":7.0,\"Score__c\":1,\"Budget__c\":2.25,"
    " \"HasOptedOutOfEmail\":false,\"MailingAddress\":null,"
    " \"Account\":{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Solo\",\"Parent\":null},\"Owner\":null}"
    "]}";

static const mock_record *rec(size_t i)
{
    assert_true(i < mock.n_records);
    return &mock.records[i];
}

static void assert_null_field(const mock_record *r, const char *name)
{
    const sync_value *v = mock_get(r, name);
    assert_non_null(v); /* present, and null */
    assert_int_equal(v->type, SYNC_TYPE_NULL);
}

static void test_page_types(void **state)
{
    sf_page_result res;
    assert_int_equal(sf_page_load(NULL, &CONTACT_SPEC, PAGE1, strlen(PAGE1), (sync_emitter *)EM, &res),
                     SYNC_OK);
    assert_int_equal(res.n_records, 3);
    assert_false(res.done);
    assert_string_equal(res.next_url, "/services/data/v61.0/query/01gD0000002HU6KIAW-2000");
    assert_true(res.has_cursor);
    assert_string_equal(res.last.id, "003000000000003AAA");

    const mock_record *r = rec(0);
    assert_string_equal(r->key, "003000000000001AAA");
    assert_int_equal(r->op, SYNC_OP_UPSERT);
    assert_string_equal(r->cursor, "2024-05-01T10:00:00.000Z|003000000000001AAA");
    assert_int_equal(mock_get(r, "SystemModstamp")->type, SYNC_TYPE_TIMESTAMP);
    assert_int_equal(mock_get(r, "SystemModstamp")->u.ts, INT64_C(1714557600) * 1000000);
    assert_int_equal(mock_get(r, "FirstName")->type, SYNC_TYPE_STRING);
    assert_string_equal(mock_get(r, "FirstName")->u.str.ptr, "Zo\xc3\xab \"Z\" O'Neil");
    assert_int_equal(mock_get(r, "Birthdate")->type, SYNC_TYPE_DATE);
    assert_int_equal(mock_get(r, "Birthdate")->u.ts, 7338); /* 1990-02-03 */
    assert_int_equal(mock_get(r, "NumberOfEmployees__c")->type, SYNC_TYPE_INT);
    assert_int_equal(mock_get(r, "NumberOfEmployees__c")->u.i, 42);
    assert_int_equal(mock_get(r, "Score__c")->type, SYNC_TYPE_FLOAT);
    assert_true(mock_get(r, "Score__c")->u.f == 3.5);
    assert_int_equal(mock_get(r, "Budget__c")->type, SYNC_TYPE_FLOAT); /* currency sent as 1000 */
    assert_true(mock_get(r, "Budget__c")->u.f == 1000.0);
    assert_int_equal(mock_get(r, "HasOptedOutOfEmail")->type, SYNC_TYPE_BOOL);
    assert_int_equal(mock_get(r, "HasOptedOutOfEmail")->u.b, 1);
    assert_int_equal(mock_get(r, "IsDeleted")->u.b, 0);
    assert_int_equal(mock_get(r, "MailingAddress")->type, SYNC_TYPE_JSON);
    assert_string_equal(mock_get(r, "MailingAddress")->u.str.ptr, "{\"city\":\"Gent\",\"country\":\"BE\"}");
    assert_string_equal(mock_get(r, "Account.Name")->u.str.ptr, "Acme");
    assert_string_equal(mock_get(r, "Account.Parent.Name")->u.str.ptr, "Acme Holding");
    assert_string_equal(mock_get(r, "Owner.Name")->u.str.ptr, "Ann");
    /* "attributes" never becomes a field */
    assert_null(mock_get(r, "attributes"));
    assert_null(mock_get(r, "Account"));
    assert_int_equal(r->n_fields, 13);

    /* nulls, and a null relationship nulls each requested sub-field */
    r = rec(1);
    assert_null_field(r, "FirstName");
    assert_null_field(r, "Birthdate");
    assert_null_field(r, "NumberOfEmployees__c");
    assert_null_field(r, "Score__c");
    assert_null_field(r, "MailingAddress");
    assert_null_field(r, "Account.Name");
    assert_null_field(r, "Account.Parent.Name");
    assert_null_field(r, "Owner.Name");
    assert_int_equal(mock_get(r, "HasOptedOutOfEmail")->u.b, 0);
    assert_int_equal(r->n_fields, 13);

    /* a deleted record is a delete, with its cursor; 7.0 in an int field is 7 */
    r = rec(2);
    assert_int_equal(r->op, SYNC_OP_DELETE);
    assert_string_equal(r->cursor, "2024-05-01T10:00:01.500Z|003000000000003AAA");
    assert_int_equal(mock_get(r, "NumberOfEmployees__c")->u.i, 7);
    assert_true(mock_get(r, "Score__c")->u.f == 1.0);
    assert_string_equal(mock_get(r, "Account.Name")->u.str.ptr, "Solo");
    assert_null_field(r, "Account.Parent.Name");
    sf_page_result_clear(&res);
}

/*
 * A record stamped above the query's upper bound was changed while the query
 * ran and comes out of order: it is delivered, without a cursor, and the page's
 * cursor stays on the last record within the bound.
 */
static void test_page_cursor_max(void **state)
{
    sf_page_spec spec = CONTACT_SPEC;
    spec.cursor_max = INT64_C(1714557600) * 1000000; /* 2024-05-01T10:00:00.000Z */
    sf_page_result res;
    assert_int_equal(sf_page_load(NULL, &spec, PAGE1, strlen(PAGE1), (sync_emitter *)EM, &res), SYNC_OK);
    assert_int_equal(res.n_records, 3);
    assert_true(res.has_cursor);
    assert_string_equal(res.last.id, "003000000000002AAA");
    assert_string_equal(rec(1)->cursor, "2024-05-01T10:00:00.000Z|003000000000002AAA");
    assert_null(rec(2)->cursor);
    assert_int_equal(rec(2)->op, SYNC_OP_DELETE);
    sf_page_result_clear(&res);

    /* every record above the bound: no cursor for the page at all */
    mock_reset();
    spec.cursor_max = INT64_C(1714557600) * 1000000 - 1000;
    assert_int_equal(sf_page_load(NULL, &spec, PAGE1, strlen(PAGE1), (sync_emitter *)EM, &res), SYNC_OK);
    assert_int_equal(res.n_records, 3);
    assert_false(res.has_cursor);
    sf_page_result_clear(&res);
    (void)state;
}

static void test_page_converted_lead(void **state)
{
    static const sf_page_field f[] = {
        {"Id", "Id", SF_FT_STRING},
        {"SystemModstamp", "SystemModstamp", SF_FT_DATETIME},
        {"IsDeleted", "IsDeleted", SF_FT_BOOL},
        {"IsConverted", "IsConverted", SF_FT_BOOL},
        {"ConvertedDate", "ConvertedDate", SF_FT_DATE},
        {"ConvertedContact.Email", "ConvertedContact.Email", SF_FT_STRING},
    };
    sf_page_spec spec = {f, 6, "SystemModstamp", 0, NULL};
    const char *page =
        "{\"totalSize\":2,\"done\":true,\"records\":["
        "{\"attributes\":{\"type\":\"Lead\"},\"Id\":\"00Q000000000001AAA\",\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\","
        " \"IsDeleted\":false,\"IsConverted\":true,\"ConvertedDate\":\"2024-04-30\","
        " \"ConvertedContact\":{\"attributes\":{\"type\":\"Contact\"},\"Email\":\"a@b.example\"}},"
        "{\"attributes\":{\"type\":\"Lead\"},\"Id\":\"00Q000000000002AAA\",\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\","
        " \"IsDeleted\":false,\"IsConverted\":false,\"ConvertedDate\":null,\"ConvertedContact\":null}"
        "]}";
    sf_page_result res;
    assert_int_equal(sf_page_load(NULL, &spec, page, strlen(page), (sync_emitter *)EM, &res), SYNC_OK);
    assert_true(res.done);
    assert_null(res.next_url);
    /* converted leads are not filtered out: they flow like any lead */
    assert_int_equal(mock.n_records, 2);
    assert_int_equal(rec(0)->op, SYNC_OP_UPSERT);
    assert_int_equal(mock_get(rec(0), "IsConverted")->u.b, 1);
    assert_int_equal(mock_get(rec(0), "ConvertedDate")->u.ts, 19843);
    assert_string_equal(mock_get(rec(0), "ConvertedContact.Email")->u.str.ptr, "a@b.example");
    assert_int_equal(mock_get(rec(1), "IsConverted")->u.b, 0);
    assert_null_field(rec(1), "ConvertedContact.Email");
    sf_page_result_clear(&res);
}

/* A text with \u0000 is valid JSON: the page reads, the NUL byte travels in the
 * value (with its length) and the sink decides; a JSON field keeps it escaped. */
static void test_page_nul_char(void **state)
{
    const char *page =
        "{\"totalSize\":2,\"done\":true,\"records\":["
        "{\"attributes\":{\"type\":\"Contact\"},\"Id\":\"003000000000001AAA\","
        " \"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\",\"IsDeleted\":false,"
        " \"FirstName\":\"Nul\\u0000Name\",\"MailingAddress\":{\"city\":\"G\\u0000\"}},"
        "{\"attributes\":{\"type\":\"Contact\"},\"Id\":\"003000000000002AAA\","
        " \"SystemModstamp\":\"2024-05-01T10:00:01.000+0000\",\"IsDeleted\":false,\"FirstName\":\"Plain\"}"
        "]}";
    sf_page_result res;
    assert_int_equal(sf_page_load(NULL, &CONTACT_SPEC, page, strlen(page), (sync_emitter *)EM, &res), SYNC_OK);
    assert_int_equal(res.n_records, 2);
    const sync_value *v = mock_get(rec(0), "FirstName");
    assert_int_equal(v->type, SYNC_TYPE_STRING);
    assert_int_equal(v->u.str.len, 8);
    assert_memory_equal(v->u.str.ptr, "Nul\0Name", 8);
    v = mock_get(rec(0), "MailingAddress");
    assert_int_equal(v->type, SYNC_TYPE_JSON);
    assert_string_equal(v->u.str.ptr, "{\"city\":\"G\\u0000\"}");
    assert_string_equal(mock_get(rec(1), "FirstName")->u.str.ptr, "Plain");
    sf_page_result_clear(&res);
}

static void test_page_empty(void **state)
{
    const char *page = "{\"totalSize\":0,\"done\":true,\"records\":[]}";
    sf_page_result res;
    assert_int_equal(sf_page_load(NULL, &CONTACT_SPEC, page, strlen(page), (sync_emitter *)EM, &res), SYNC_OK);
    assert_int_equal(res.n_records, 0);
    assert_false(res.has_cursor);
    assert_true(res.done);
}

static void expect_protocol(const char *page, const char *in_err)
{
    sf_page_result res;
    mock.err[0] = '\0';
    assert_int_equal(sf_page_load(NULL, &CONTACT_SPEC, page, strlen(page), (sync_emitter *)EM, &res),
                     SYNC_E_PROTOCOL);
    assert_non_null(strstr(mock.err, in_err));
    sf_page_result_clear(&res);
}

static void test_page_bad(void **state)
{
    expect_protocol("<html>503 Service Unavailable</html>", "not JSON");
    expect_protocol("{\"totalSize\":1,\"done\":true,\"records\":[{\"Id\":\"003000000000001AAA\"", "not JSON");
    expect_protocol("[{\"errorCode\":\"X\"}]", "not a page");
    expect_protocol("{\"done\":true}", "not a page");
    expect_protocol("{\"done\":false,\"records\":[]}", "nextRecordsUrl");
    expect_protocol("{\"done\":true,\"records\":[{\"Name\":\"no id\"}]}", "no Id");
    expect_protocol("{\"done\":true,\"records\":[{\"Id\":\"\",\"Name\":\"empty id\"}]}", "no Id");
    expect_protocol("{\"done\":true,\"records\":[{\"Id\":\"\\u0000x\",\"Name\":\"nul in id\"}]}", "no Id");
    expect_protocol("{\"done\":true,\"records\":[{\"Id\":\"003000000000001AAA\","
                    "\"SystemModstamp\":\"yesterday\"}]}", "SystemModstamp");
    expect_protocol("{\"done\":true,\"records\":[{\"Id\":\"003000000000001AAA\","
                    "\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\",\"Score__c\":\"high\"}]}",
                    "Score__c");
    expect_protocol("{\"done\":true,\"records\":[{\"Id\":\"003000000000001AAA\","
                    "\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\",\"HasOptedOutOfEmail\":\"yes\"}]}",
                    "HasOptedOutOfEmail");
    expect_protocol("{\"done\":true,\"records\":[{\"Id\":\"003000000000001AAA\","
                    "\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\",\"Birthdate\":\"03/02/1990\"}]}",
                    "Birthdate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_describe_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_mapped_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_all_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_cursor_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_converted_lead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_nul_char, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_bad, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
