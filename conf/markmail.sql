-- conf/markmail.sql - MarkMail (seed 004), an email-marketing application,
-- as a PostgreSQL schema synced with one Salesforce org by conf/markmail.ini:
-- contacts <-> Contact (both ways, paired by email), lists -> Campaign,
-- list memberships -> CampaignMember, email events -> Task.  Safe to run
-- again: every object is created only if it is missing, nothing is dropped.
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f conf/markmail.sql
--
-- The application writes contacts, lists, list_members and email_events with
-- plain SQL and sets nothing else: updated_at is kept by a trigger on every
-- application write, a membership ends when its row is deleted, events are
-- only ever inserted.  The sync's own writes run with the setting
-- syncengine.writing = on, which the trigger honours by leaving updated_at
-- alone and recording the row's sync hash (what was last synced).
-- The org needs one custom field: Task.MarkMail_Event_Id__c (text 255,
-- External ID, Unique), so that an event becomes one task even when an
-- answer is lost and the create is sent again (docs/markmail.md).

SET client_min_messages = warning;

BEGIN;

-- The sync hash of a contact or a list: the values Salesforce has.
CREATE OR REPLACE FUNCTION markmail_sync_hash(VARIADIC v text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT md5(array_to_string(v, chr(31), chr(30))) $$;

CREATE OR REPLACE FUNCTION markmail_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('syncengine.writing', true), '') = 'on' THEN
        IF TG_OP = 'UPDATE' THEN
            NEW.updated_at := OLD.updated_at;
        END IF;
        IF NEW.salesforce_sync_status = 'synced' THEN
            IF TG_TABLE_NAME = 'contacts' THEN
                NEW.salesforce_sync_hash := markmail_sync_hash(NEW.email, NEW.first_name, NEW.last_name, NEW.phone);
            ELSE
                NEW.salesforce_sync_hash := markmail_sync_hash(NEW.name, NEW.description);
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE IF NOT EXISTS contacts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    first_name text,
    last_name text,
    company text,
    phone text,
    salesforce_id text UNIQUE,
    salesforce_sync_status text CHECK (salesforce_sync_status IN ('synced', 'error', 'conflict')),
    salesforce_sync_error text,
    salesforce_last_sync_at timestamptz,
    salesforce_sync_hash text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS lists (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    description text,
    salesforce_id text UNIQUE,
    salesforce_sync_status text CHECK (salesforce_sync_status IN ('synced', 'error', 'conflict')),
    salesforce_sync_error text,
    salesforce_last_sync_at timestamptz,
    salesforce_sync_hash text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- A membership ends when its row is deleted.
CREATE TABLE IF NOT EXISTS list_members (
    list_id uuid NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, contact_id)
);

-- Append-only: one row per email event.
CREATE TABLE IF NOT EXISTS email_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contact_id uuid REFERENCES contacts (id) ON DELETE CASCADE,
    list_id uuid REFERENCES lists (id) ON DELETE SET NULL,
    type text NOT NULL CHECK (type IN ('sent', 'opened', 'clicked', 'replied', 'bounced')),
    occurred_at timestamptz NOT NULL,
    subject text,
    message_id text
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['contacts', 'lists'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = t || '_updated_at'
                       AND tgrelid = t::regclass) THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I FOR EACH ROW '
                           'EXECUTE FUNCTION markmail_touch()', t || '_updated_at', t);
        END IF;
    END LOOP;
END
$$;

CREATE INDEX IF NOT EXISTS idx_contacts_updated ON contacts (updated_at, id);
CREATE INDEX IF NOT EXISTS idx_lists_updated ON lists (updated_at, id);
CREATE INDEX IF NOT EXISTS idx_contacts_email ON contacts (lower(btrim(email)));
CREATE INDEX IF NOT EXISTS idx_list_members_contact ON list_members (contact_id);
CREATE INDEX IF NOT EXISTS idx_email_events_order ON email_events (occurred_at, id);
CREATE INDEX IF NOT EXISTS idx_email_events_contact ON email_events (contact_id, list_id, type);

-- What Salesforce gets of a membership: a CampaignMember whose Status is
-- Responded once the contact clicked or replied to that list's email.
CREATE OR REPLACE VIEW markmail_campaign_members AS
SELECT m.list_id, m.contact_id,
       CASE WHEN EXISTS (SELECT 1 FROM email_events e WHERE e.contact_id = m.contact_id
                         AND e.list_id = m.list_id AND e.type IN ('clicked', 'replied'))
            THEN 'Responded' ELSE 'Sent' END AS status
FROM list_members m;

-- What Salesforce gets of an event: a completed email Task on the contact,
-- related to the campaign, dated the day it happened (UTC).
CREATE OR REPLACE VIEW markmail_email_tasks AS
SELECT e.id, e.contact_id, e.list_id, e.occurred_at,
       left('Email ' || e.type || coalesce(': ' || e.subject, ''), 255) AS subject,
       (e.occurred_at AT TIME ZONE 'UTC')::date AS activity_date,
       'Completed'::text AS status,
       'Email'::text AS task_subtype,
       'Email'::text AS task_type,
       'MarkMail ' || e.type || ' at ' ||
           to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
           coalesce(E'\nmessage ' || e.message_id, '') AS description
FROM email_events e;

-- The run log, like Henk's: one row per run, written by the sink (sink.run_log_* in conf/markmail.ini).
CREATE TABLE IF NOT EXISTS sync_logs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sync_type varchar(50) NOT NULL,
    sync_status varchar(50) NOT NULL,
    records_processed integer DEFAULT 0,
    records_created integer DEFAULT 0,
    records_updated integer DEFAULT 0,
    records_failed integer DEFAULT 0,
    started_at timestamptz NOT NULL,
    completed_at timestamptz,
    duration_ms integer,
    error_message text,
    error_details jsonb,
    metadata jsonb DEFAULT '{}'::jsonb,
    created_at timestamptz DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_sync_logs_started ON sync_logs (started_at DESC);

-- The two-way bookkeeping (the same as conf/crm.sql's).
CREATE SCHEMA IF NOT EXISTS syncengine;

CREATE TABLE IF NOT EXISTS syncengine.sync_links (
    job text NOT NULL,
    stream text NOT NULL,
    db_key text NOT NULL,
    sf_id text,
    synced jsonb NOT NULL DEFAULT '{}'::jsonb,
    db_modified timestamptz,
    sf_modified timestamptz,
    deleted boolean NOT NULL DEFAULT false,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, stream, db_key)
);
CREATE UNIQUE INDEX IF NOT EXISTS sync_links_sf ON syncengine.sync_links (job, stream, sf_id);

CREATE TABLE IF NOT EXISTS syncengine.sync_conflicts (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    stream text NOT NULL,
    db_key text,
    sf_id text,
    fields jsonb NOT NULL DEFAULT '[]'::jsonb,
    base jsonb,
    db_version jsonb,
    sf_version jsonb,
    db_modified timestamptz,
    sf_modified timestamptz,
    policy text NOT NULL,
    outcome text NOT NULL,
    keep text CHECK (keep IN ('salesforce', 'database')),
    opened_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX IF NOT EXISTS sync_conflicts_open ON syncengine.sync_conflicts (job, stream) WHERE resolved_at IS NULL;

CREATE TABLE IF NOT EXISTS syncengine.sync_twoway_state (
    job text NOT NULL,
    stream text NOT NULL,
    db_cursor text,
    sf_cursor text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, stream)
);

COMMIT;
