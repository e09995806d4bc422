-- conf/henk.sql - the Henk platform's tables, for plain PostgreSQL 15.
--
-- The schema the Henk syncs write into: businesses, integrations, leads,
-- lead_lists, lead_list_members and sync_logs (the lead sync, conf/henk.ini),
-- conversations and conversation_events (the conversation sync,
-- conf/henk-conversations.ini), as the platform defines them, without the hosted platform's auth.users references
-- (created_by / updated_by stay as plain uuid columns).  Safe to run again:
-- every object is created only if it is missing, nothing is dropped.
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f conf/henk.sql
--
-- The sync keeps its own bookkeeping (cursors, runs) in schema "syncengine",
-- which it creates itself; nothing here is needed for that.

SET client_min_messages = warning;

BEGIN;

-- gen_random_uuid() is built in since PostgreSQL 13; pgcrypto only for older servers.

CREATE TABLE IF NOT EXISTS businesses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS integrations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    type varchar(50) NOT NULL,
    status varchar(50) NOT NULL,
    -- The connection, as the web application stores it and conf/henk.ini's
    -- [tenants salesforce] reads it (one sync per active, sync-enabled row):
    --   credentials: accessToken, refreshToken, tokenType, instanceUrl, and
    --                optionally clientId, clientSecret (else the environment's);
    --                the sync writes issued and rotated tokens back here
    --   config:      env ('production' | 'sandbox'), instanceUrl, apiVersion,
    --                syncEnabled, syncInterval (minutes), optionally loginUrl;
    --                lastError after the sync marked a revoked connection
    credentials jsonb DEFAULT '{}'::jsonb,
    config jsonb DEFAULT '{}'::jsonb,
    last_sync_at timestamptz,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    created_by uuid,
    updated_by uuid
);

CREATE TABLE IF NOT EXISTS leads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,

    -- source tracking: 'manual', 'salesforce_contact', 'salesforce_lead'
    source varchar(50) NOT NULL DEFAULT 'manual',
    source_id varchar(255),
    source_metadata jsonb DEFAULT '{}'::jsonb,

    first_name varchar(255),
    last_name varchar(255),
    email varchar(255),
    phone varchar(50),
    mobile_phone varchar(50),

    street text,
    city varchar(100),
    state varchar(100),
    postal_code varchar(20),
    country varchar(100),

    company varchar(255),
    title varchar(255),
    department varchar(255),

    lead_source varchar(100),
    description text,
    owner_id varchar(255),

    lead_score integer DEFAULT 0,
    quality_rating varchar(20),          -- 'hot', 'warm', 'cold', 'unrated'

    do_not_call boolean DEFAULT false,
    do_not_email boolean DEFAULT false,
    email_opt_out boolean DEFAULT false,

    timezone varchar(100),
    preferred_language varchar(50),
    tags jsonb DEFAULT '[]'::jsonb,
    custom_fields jsonb DEFAULT '{}'::jsonb,

    -- sync tracking: sync_status is 'active', 'deleted' (gone in Salesforce) or 'converted'
    last_synced_at timestamptz,
    sync_status varchar(50) DEFAULT 'active',
    sync_error text,
    last_activity_at timestamptz,

    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    created_by uuid,
    updated_by uuid,

    -- the sync's conflict key: one row per business and Salesforce record
    CONSTRAINT leads_source_unique UNIQUE (business_id, source, source_id)
);

CREATE TABLE IF NOT EXISTS lead_lists (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    description text,
    color varchar(7) DEFAULT '#808080',
    list_type varchar(50) DEFAULT 'static', -- 'static', 'dynamic', 'smart'
    source varchar(50),                     -- 'salesforce_sync'
    source_id varchar(255),
    filter_criteria jsonb,
    lead_count integer DEFAULT 0,
    last_updated_at timestamptz DEFAULT now(),
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    created_by uuid,
    updated_by uuid
);

CREATE TABLE IF NOT EXISTS lead_list_members (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_list_id uuid NOT NULL REFERENCES lead_lists (id) ON DELETE CASCADE,
    lead_id uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    added_at timestamptz DEFAULT now(),
    added_by uuid,
    notes text,
    CONSTRAINT lead_list_members_unique UNIQUE (lead_list_id, lead_id)
);

CREATE TABLE IF NOT EXISTS sync_logs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    business_id uuid NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,

    sync_type varchar(50) NOT NULL,      -- 'full', 'incremental', 'manual'
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

-- Voice-agent calls.  The calling side creates a row when it places a call
-- (elevenlabs_conversation_id set); the conversation sync fills in the rest
-- from ElevenLabs, updating that row in place (or creating one for a call it
-- has not seen), and adds one conversation_events row per message.
CREATE TABLE IF NOT EXISTS conversations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    elevenlabs_conversation_id text UNIQUE NOT NULL,
    agent_id text,
    status text,
    started_at timestamptz,
    duration_secs integer,
    message_count integer,
    outcome text,                        -- 'pledged', 'donated', 'not_interested' or null
    sentiment_score numeric,
    key_points jsonb,
    metadata jsonb,
    updated_at timestamptz
);

CREATE TABLE IF NOT EXISTS conversation_events (
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position integer NOT NULL,           -- the message's 0-based place in the transcript
    role text,                           -- 'user' or 'agent'
    message text,
    time_in_call_secs numeric,
    PRIMARY KEY (conversation_id, position)
);

-- The sync knows a conversation by its ElevenLabs id, not by the uuid the
-- calling side gave its row: conf/henk-conversations.ini's sink.resolve looks
-- the id up in conversations (by elevenlabs_conversation_id, unique above)
-- for each batch of events; an event whose conversation has no row is
-- rejected with its key.

-- Lookups the platform and the sync's hooks make.  The foreign keys of the
-- membership table need their own indexes for ON DELETE CASCADE to be cheap.
CREATE INDEX IF NOT EXISTS idx_integrations_business ON integrations (business_id);
CREATE INDEX IF NOT EXISTS idx_leads_business_status ON leads (business_id, sync_status);
CREATE INDEX IF NOT EXISTS idx_leads_email ON leads (business_id, lower(email));
CREATE INDEX IF NOT EXISTS idx_lead_lists_business_source ON lead_lists (business_id, source, name);
CREATE INDEX IF NOT EXISTS idx_lead_list_members_lead ON lead_list_members (lead_id);
CREATE INDEX IF NOT EXISTS idx_sync_logs_integration ON sync_logs (integration_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_sync_logs_business ON sync_logs (business_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_sync_logs_status ON sync_logs (sync_status, created_at DESC);

COMMIT;
