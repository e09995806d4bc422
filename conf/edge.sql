-- conf/edge.sql - the PostgreSQL side of the edge sync (conf/edge.ini): seed
-- 003's tables.  prospects, campaigns and mailboxes are written here by the
-- application and copied to the edge (SQLite or D1) by job to_edge; emails are
-- written at the edge and copied here by job from_edge.  Ids are text (UUIDs)
-- on both sides.  An application writes these tables with plain SQL and sets
-- nothing else: updated_at is kept by a trigger on every table (a write that
-- sets updated_at itself, as the engine does when it copies a row, keeps its
-- value).  The change-log trigger that job to_edge reads is installed by
-- `syncengine setup -c conf/edge.ini`, run once as the owner.
--
--   psql "$DATABASE_URL" -f conf/edge.sql

CREATE OR REPLACE FUNCTION edge_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.updated_at = coalesce(NEW.updated_at, now());
    ELSIF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at = now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TABLE IF NOT EXISTS mailboxes (
    id          text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    email       text NOT NULL,
    name        text,
    daily_limit integer NOT NULL DEFAULT 50,
    status      text NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS campaigns (
    id         text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    name       text NOT NULL,
    status     text NOT NULL DEFAULT 'draft',
    mailbox_id text REFERENCES mailboxes (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS prospects (
    id            text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    name          text NOT NULL,
    city          text,
    country       text,
    contact_name  text,
    contact_email text,
    contact_title text,
    phone         text,
    website       text,
    linkedin_url  text,
    stage         text NOT NULL DEFAULT 'new',
    tier          text,
    score         integer,
    lead_source   text,
    email_bounced boolean NOT NULL DEFAULT false,
    archived      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- written at the edge: no foreign keys here (an email may arrive before its
-- prospect, or outlive it); `syncengine verify` reports such orphans
CREATE TABLE IF NOT EXISTS emails (
    id          text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    prospect_id text,
    campaign_id text,
    subject     text,
    body        text,
    to_email    text,
    from_email  text,
    message_id  text,
    direction   text NOT NULL DEFAULT 'outbound',
    status      text,
    sent_at     timestamptz,
    opened_at   timestamptz,
    clicked_at  timestamptz,
    replied_at  timestamptz,
    bounced_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS emails_prospect_id ON emails (prospect_id);
CREATE INDEX IF NOT EXISTS emails_message_id ON emails (message_id);
-- pages of an incremental read seek on (updated_at, id)
CREATE INDEX IF NOT EXISTS mailboxes_updated_at_id ON mailboxes (updated_at, id);
CREATE INDEX IF NOT EXISTS campaigns_updated_at_id ON campaigns (updated_at, id);
CREATE INDEX IF NOT EXISTS prospects_updated_at_id ON prospects (updated_at, id);
CREATE INDEX IF NOT EXISTS emails_updated_at_id ON emails (updated_at, id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['mailboxes', 'campaigns', 'prospects', 'emails'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = t::regclass AND tgname = t || '_touch') THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I FOR EACH ROW '
                           'EXECUTE FUNCTION edge_touch_updated_at()', t || '_touch', t);
        END IF;
    END LOOP;
END
$$;
