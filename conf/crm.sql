-- conf/crm.sql - the CRM of seed 002 as a PostgreSQL schema, synced two-way
-- with one Salesforce org by conf/crm.ini: companies <-> Account,
-- contacts <-> Contact, opportunities <-> Opportunity.  Safe to run again:
-- every object is created only if it is missing, nothing is dropped.
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f conf/crm.sql
--
-- An application inserts, updates and soft-deletes (deleted_at) these rows
-- with plain SQL and sets nothing else: updated_at is kept by a trigger on
-- every application write.  The sync's own writes (values pulled from
-- Salesforce, the salesforce_* columns) run with the setting
-- syncengine.writing = on, which the trigger honours by leaving updated_at
-- alone: what the engine wrote is never taken for an application change.
-- The sync keeps its bookkeeping (links, conflicts, cursors, runs) in schema
-- "syncengine" (created below, so that a role without CREATE can run it).

SET client_min_messages = warning;

BEGIN;

CREATE OR REPLACE FUNCTION crm_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('syncengine.writing', true), '') = 'on' THEN
        IF TG_OP = 'UPDATE' THEN
            NEW.updated_at := OLD.updated_at;
        END IF;
        RETURN NEW;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE IF NOT EXISTS companies (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    industry text,
    phone text,
    website text,
    city text,
    salesforce_id text UNIQUE,
    salesforce_sync_status text CHECK (salesforce_sync_status IN ('synced', 'error', 'conflict')),
    salesforce_sync_error text,
    salesforce_last_sync_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS contacts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    first_name text,
    last_name text NOT NULL,
    email text,
    phone text,
    title text,
    company_id uuid REFERENCES companies (id),
    salesforce_id text UNIQUE,
    salesforce_sync_status text CHECK (salesforce_sync_status IN ('synced', 'error', 'conflict')),
    salesforce_sync_error text,
    salesforce_last_sync_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS opportunities (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    stage text,
    amount numeric,
    close_date date,
    company_id uuid REFERENCES companies (id),
    salesforce_id text UNIQUE,
    salesforce_sync_status text CHECK (salesforce_sync_status IN ('synced', 'error', 'conflict')),
    salesforce_sync_error text,
    salesforce_last_sync_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['companies', 'contacts', 'opportunities'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = t || '_updated_at'
                       AND tgrelid = t::regclass) THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I FOR EACH ROW '
                           'EXECUTE FUNCTION crm_touch_updated_at()', t || '_updated_at', t);
        END IF;
    END LOOP;
END
$$;

-- What the sync reads: the changes since its position, in (updated_at, id) order.
CREATE INDEX IF NOT EXISTS idx_companies_updated ON companies (updated_at, id);
CREATE INDEX IF NOT EXISTS idx_contacts_updated ON contacts (updated_at, id);
CREATE INDEX IF NOT EXISTS idx_opportunities_updated ON opportunities (updated_at, id);
CREATE INDEX IF NOT EXISTS idx_contacts_email ON contacts (lower(btrim(email)));
CREATE INDEX IF NOT EXISTS idx_contacts_company ON contacts (company_id);
CREATE INDEX IF NOT EXISTS idx_opportunities_company ON opportunities (company_id);

-- The run log, like Henk's: one row per run, written by the sink (sink.run_log_* in conf/crm.ini).
CREATE TABLE IF NOT EXISTS sync_logs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sync_type varchar(50) NOT NULL,      -- 'full', 'incremental'
    sync_status varchar(50) NOT NULL,    -- 'running', 'success', 'partial', 'failed'
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

-- The two-way bookkeeping (docs/two-way.md).
CREATE SCHEMA IF NOT EXISTS syncengine;

-- One row per record pair: the row's key, the Salesforce Id, what was last
-- synced (the mapped columns, in the table's terms) and each side's
-- modification time then.  Written in the statement that writes the row.
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

-- Every conflict, whatever the policy, with both versions and the outcome.
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
    outcome text NOT NULL,              -- salesforce_won, database_won, open, ambiguous_match
    keep text CHECK (keep IN ('salesforce', 'database')),
    opened_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX IF NOT EXISTS sync_conflicts_open ON syncengine.sync_conflicts (job, stream) WHERE resolved_at IS NULL;

-- Each two-way stream's positions on both sides.
CREATE TABLE IF NOT EXISTS syncengine.sync_twoway_state (
    job text NOT NULL,
    stream text NOT NULL,
    db_cursor text,
    sf_cursor text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, stream)
);

COMMIT;
