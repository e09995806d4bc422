-- conf/edge-sqlite.sql - the edge side of the edge sync (conf/edge.ini): the
-- same tables and columns as conf/edge.sql, in SQLite (or Cloudflare D1).
-- prospects, campaigns and mailboxes arrive from PostgreSQL (job to_edge);
-- emails are written here by the application and copied to PostgreSQL (job
-- from_edge).  Types: ids are TEXT (UUIDs); timestamps are ISO-8601 UTC text
-- (declared TIMESTAMP); booleans are 0/1 (declared BOOLEAN).  An application
-- writes with plain SQL and sets nothing else: updated_at is kept by the
-- triggers below (a write that sets updated_at itself, as the engine does
-- when it copies a row, keeps its value).
--
--   sqlite3 "$EDGE_SQLITE_PATH" < conf/edge-sqlite.sql

PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS mailboxes (
    id          TEXT PRIMARY KEY,
    email       TEXT NOT NULL,
    name        TEXT,
    daily_limit INTEGER NOT NULL DEFAULT 50,
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS campaigns (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'draft',
    mailbox_id TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS prospects (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    city          TEXT,
    country       TEXT,
    contact_name  TEXT,
    contact_email TEXT,
    contact_title TEXT,
    phone         TEXT,
    website       TEXT,
    linkedin_url  TEXT,
    stage         TEXT NOT NULL DEFAULT 'new',
    tier          TEXT,
    score         INTEGER,
    lead_source   TEXT,
    email_bounced BOOLEAN NOT NULL DEFAULT 0,
    archived      BOOLEAN NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- written here by the application: a random UUID when it gives no id
CREATE TABLE IF NOT EXISTS emails (
    id          TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
                    substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) ||
                    substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    prospect_id TEXT,
    campaign_id TEXT,
    subject     TEXT,
    body        TEXT,
    to_email    TEXT,
    from_email  TEXT,
    message_id  TEXT,
    direction   TEXT NOT NULL DEFAULT 'outbound',
    status      TEXT,
    sent_at     TIMESTAMP,
    opened_at   TIMESTAMP,
    clicked_at  TIMESTAMP,
    replied_at  TIMESTAMP,
    bounced_at  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX IF NOT EXISTS emails_prospect_id ON emails (prospect_id);
CREATE INDEX IF NOT EXISTS emails_message_id ON emails (message_id);
-- job from_edge pages emails on (updated_at, id)
CREATE INDEX IF NOT EXISTS emails_updated_at_id ON emails (updated_at, id);

-- updated_at follows every write that does not set it (recursive_triggers is off: the inner UPDATE fires nothing)
CREATE TRIGGER IF NOT EXISTS mailboxes_touch AFTER UPDATE ON mailboxes FOR EACH ROW
    WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE mailboxes SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS campaigns_touch AFTER UPDATE ON campaigns FOR EACH ROW
    WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE campaigns SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS prospects_touch AFTER UPDATE ON prospects FOR EACH ROW
    WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE prospects SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS emails_touch AFTER UPDATE ON emails FOR EACH ROW
    WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE emails SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
