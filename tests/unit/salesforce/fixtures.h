/*
 * fixtures.h - describe answers shaped like Salesforce's (trimmed to the
 * fields the tests use), shared by the salesforce unit tests.
 */
#ifndef SF_TEST_FIXTURES_H
#define SF_TEST_FIXTURES_H

#define FX_FIELD(name, type, nil) \
    "{\"name\":\"" name "\",\"type\":\"" type "\",\"nillable\":" nil ",\"relationshipName\":null,\"referenceTo\":[]}"
#define FX_REF(name, rel, to) \
    "{\"name\":\"" name "\",\"type\":\"reference\",\"nillable\":true,\"relationshipName\":\"" rel "\",\"referenceTo\":[" to "]}"

static const char FX_CONTACT[] =
    "{\"name\":\"Contact\",\"queryable\":true,\"fields\":["
    FX_FIELD("Id", "id", "false") ","
    FX_FIELD("IsDeleted", "boolean", "false") ","
    FX_FIELD("FirstName", "string", "true") ","
    FX_FIELD("LastName", "string", "false") ","
    FX_FIELD("Email", "email", "true") ","
    FX_FIELD("Birthdate", "date", "true") ","
    FX_FIELD("NumberOfEmployees__c", "int", "true") ","
    FX_FIELD("Score__c", "double", "true") ","
    FX_FIELD("Budget__c", "currency", "true") ","
    FX_FIELD("Share__c", "percent", "true") ","
    FX_FIELD("HasOptedOutOfEmail", "boolean", "false") ","
    FX_FIELD("MailingAddress", "address", "true") ","
    FX_FIELD("Photo__c", "base64", "true") ","
    FX_FIELD("LastModifiedDate", "datetime", "false") ","
    FX_FIELD("SystemModstamp", "datetime", "false") ","
    FX_FIELD("Custom_Stamp__c", "datetime", "true") ","
    FX_REF("AccountId", "Account", "\"Account\"") ","
    FX_REF("OwnerId", "Owner", "\"User\",\"Group\"")
    "]}";

static const char FX_ACCOUNT[] =
    "{\"name\":\"Account\",\"queryable\":true,\"fields\":["
    FX_FIELD("Id", "id", "false") ","
    FX_FIELD("Name", "string", "false") ","
    FX_FIELD("AnnualRevenue", "currency", "true") ","
    FX_REF("ParentId", "Parent", "\"Account\"") ","
    FX_FIELD("SystemModstamp", "datetime", "false")
    "]}";

static const char FX_LEAD[] =
    "{\"name\":\"Lead\",\"queryable\":true,\"fields\":["
    FX_FIELD("Id", "id", "false") ","
    FX_FIELD("IsDeleted", "boolean", "false") ","
    FX_FIELD("LastName", "string", "false") ","
    FX_FIELD("Company", "string", "false") ","
    FX_FIELD("Email", "email", "true") ","
    FX_FIELD("IsConverted", "boolean", "false") ","
    FX_FIELD("ConvertedDate", "date", "true") ","
    FX_REF("ConvertedContactId", "ConvertedContact", "\"Contact\"") ","
    FX_FIELD("SystemModstamp", "datetime", "false")
    "]}";

#endif /* SF_TEST_FIXTURES_H */
