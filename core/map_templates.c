/*
 * core/map_templates.c - mapping templates for the common pairs of an
 * application table and a Salesforce object (docs/mapping.md, "Templates").
 *
 * Each template maps the columns of a typical application table (or view)
 * to the object's fields; a configuration names it in its [map] section and
 * overrides what differs:
 *
 *   [map crm.people]
 *   template = contact
 *   Phone    = coalesce(mobile, phone)     ; replaces the template's line
 *   Title    =                             ; drops the template's line
 *   Ext_Id__c = id                         ; added after the template's lines
 */
#include "map_templates.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_priv.h"
#include "engine.h"

static const char *const contact_lines[] = {
    "FirstName", "first_name",
    "LastName", "coalesce(nullif(last_name, ''), email)",
    "Email", "email",
    "Phone", "phone",
    "Title", "title",
    NULL};

static const char *const lead_lines[] = {
    "FirstName", "first_name",
    "LastName", "coalesce(nullif(last_name, ''), email)",
    "Email", "email",
    "Phone", "phone",
    "Title", "title",
    "Company", "coalesce(nullif(company, ''), '[not provided]')",
    NULL};

static const char *const account_lines[] = {
    "Name", "name",
    "Website", "website",
    "Phone", "phone",
    "BillingCity", "city",
    "BillingCountry", "country",
    NULL};

static const char *const opportunity_lines[] = {
    "Name", "name",
    "Amount", "amount",
    "StageName", "stage",
    "CloseDate", "date(close_date)",
    "AccountId", "account_salesforce_id",
    NULL};

static const char *const campaign_lines[] = {
    "Name", "name",
    "Description", "description",
    "Type", "'Email'",
    "IsActive", "true",
    NULL};

static const char *const task_lines[] = {
    "Subject", "coalesce(subject, concat('Email ', type))",
    "TaskSubtype", "'Email'",
    "Status", "'Completed'",
    "ActivityDate", "date(occurred_at)",
    "WhoId", "contact_salesforce_id",
    "WhatId", "list_salesforce_id",
    NULL};

static const syncc_map_template templates[] = {
    {"contact", "Contact", "contacts (id, email, first_name, last_name, phone, title)",
     "people of the application as Contacts; LastName falls back to the email (salesforce requires it)",
     contact_lines},
    {"lead", "Lead", "leads (id, email, first_name, last_name, phone, title, company)",
     "sign-ups as Leads; Company falls back to '[not provided]' (salesforce requires it)", lead_lines},
    {"account", "Account", "companies (id, name, website, phone, city, country)", "companies as Accounts",
     account_lines},
    {"opportunity", "Opportunity", "deals (id, name, amount, stage, close_date, account_salesforce_id)",
     "deals as Opportunities of their Account", opportunity_lines},
    {"campaign", "Campaign", "lists (id, name, description)", "mailing lists as active email Campaigns",
     campaign_lines},
    {"task", "Task", "email_events (id, type, subject, occurred_at, contact_salesforce_id, list_salesforce_id)",
     "email events as completed email Tasks on the Contact (WhoId) and the Campaign (WhatId)", task_lines},
    {NULL, NULL, NULL, NULL, NULL}};

const syncc_map_template *syncc_map_templates(void)
{
    return templates;
}

const syncc_map_template *syncc_map_template_find(const char *name)
{
    for (const syncc_map_template *t = templates; t->name != NULL; t++)
        if (strcasecmp(t->name, name) == 0)
            return t;
    return NULL;
}

static int add_entry(syncc_stream *st, const char *column, const char *expr, const char *file, int line, int col)
{
    syncc_map_entry *e = &st->map[st->n_map++];
    e->column = strdup(column);
    e->expr = strdup(expr);
    e->file = file;
    e->line = line;
    e->col = col;
    return e->column != NULL && e->expr != NULL ? 0 : -1;
}

int syncc_map_template_apply(syncc_section *sec, syncc_stream *st, char *err, size_t errlen)
{
    syncc_kv *tkv = NULL;
    for (size_t k = 0; k < sec->n_kv; k++)
        if (strcmp(sec->kv[k].key, "template") == 0)
            tkv = &sec->kv[k];
    const syncc_map_template *t = tkv ? syncc_map_template_find(tkv->value) : NULL;
    if (t == NULL) {
        char names[256] = "";
        for (const syncc_map_template *x = templates; x->name != NULL; x++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", x == templates ? "" : ", ",
                     x->name);
        syncc_conf_errf(err, errlen, "%s:%d: [map %s]: unknown template '%s' (one of %s)", tkv->file, tkv->line,
                        sec->name, tkv->value, names);
        return -1;
    }
    tkv->used = 1;
    size_t n_tpl = 0;
    while (t->lines[2 * n_tpl] != NULL)
        n_tpl++;
    st->map = calloc(n_tpl + sec->n_kv + 1, sizeof(*st->map));
    if (st->map == NULL)
        goto nomem;
    /* the template's columns, each replaced or dropped by a line of the section */
    for (size_t i = 0; i < n_tpl; i++) {
        const char *column = t->lines[2 * i], *expr = t->lines[2 * i + 1];
        syncc_kv *over = NULL;
        for (size_t k = 0; k < sec->n_kv; k++)
            if (&sec->kv[k] != tkv && strcasecmp(sec->kv[k].key, column) == 0)
                over = &sec->kv[k];
        int rc;
        if (over == NULL)
            rc = add_entry(st, column, expr, tkv->file, tkv->line, tkv->col);
        else if (*over->value == '\0')
            rc = 0; /* dropped */
        else
            rc = add_entry(st, over->key, over->value, over->file, over->line, over->col);
        if (rc < 0)
            goto nomem;
    }
    /* then the section's other lines, in their order */
    for (size_t k = 0; k < sec->n_kv; k++) {
        syncc_kv *kv = &sec->kv[k];
        if (kv == tkv)
            continue;
        kv->used = 1;
        int in_tpl = 0;
        for (size_t i = 0; i < n_tpl && !in_tpl; i++)
            in_tpl = strcasecmp(t->lines[2 * i], kv->key) == 0;
        if (in_tpl)
            continue;
        if (*kv->value == '\0') {
            syncc_conf_errf(err, errlen, "%s:%d: column '%s' in [map %s] has an empty expression (template %s "
                            "has no such column to drop)", kv->file, kv->line, kv->key, sec->name, t->name);
            return -1;
        }
        if (add_entry(st, kv->key, kv->value, kv->file, kv->line, kv->col) < 0)
            goto nomem;
    }
    if (st->n_map == 0) {
        syncc_conf_errf(err, errlen, "%s:%d: [map %s] drops every column of template %s", sec->file, sec->line,
                        sec->name, t->name);
        return -1;
    }
    return 0;
nomem:
    syncc_conf_errf(err, errlen, "out of memory");
    return -1;
}

static void print_template(FILE *out, const syncc_map_template *t)
{
    fprintf(out, "; template %s: %s\n; reads a table like %s, writes salesforce object %s\n", t->name,
            t->description, t->table, t->object);
    size_t w = 0;
    for (size_t i = 0; t->lines[i] != NULL; i += 2)
        if (strlen(t->lines[i]) > w)
            w = strlen(t->lines[i]);
    fprintf(out, "[map JOB.STREAM]\n");
    for (size_t i = 0; t->lines[i] != NULL; i += 2)
        fprintf(out, "%-*s = %s\n", (int)w, t->lines[i], t->lines[i + 1]);
}

int syncc_templates_command(FILE *out, const char *name)
{
    if (name != NULL) {
        const syncc_map_template *t = syncc_map_template_find(name);
        if (t == NULL) {
            fprintf(stderr, "syncengine: no mapping template '%s' (see `syncengine templates`)\n", name);
            return SYNCC_EXIT_USAGE;
        }
        print_template(out, t);
        return SYNCC_EXIT_OK;
    }
    fprintf(out, "%-12s %-12s %s\n", "TEMPLATE", "OBJECT", "TYPICAL TABLE");
    for (const syncc_map_template *t = templates; t->name != NULL; t++)
        fprintf(out, "%-12s %-12s %s\n", t->name, t->object, t->table);
    fprintf(out, "\nuse one with `template = NAME` in a [map JOB.STREAM] section; its own lines override the "
                 "template's\n");
    return SYNCC_EXIT_OK;
}
