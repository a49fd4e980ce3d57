-- paymedic's PostgreSQL schema, version 1: the SQLite schema (migrations/sqlite/0001_init.sql)
-- in PostgreSQL's types. The store code and the contract suite are the same for both.
--
-- IDs (guilds, members, channels, messages) are Discord snowflakes: u64 in Rust, stored in
-- BIGINT (i64) columns by a bit-preserving cast, so they are only ever compared for equality.
-- Timestamps are milliseconds since the epoch in BIGINT. Enumerations are snake_case names.

CREATE TABLE sessions (
    guild      BIGINT  NOT NULL,
    member     BIGINT  NOT NULL,
    updated    BIGINT  NOT NULL,
    handed_off BOOLEAN NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (guild, member)
);

CREATE INDEX sessions_updated ON sessions (updated);

-- A sequence (never reused) numbers the tickets, as AUTOINCREMENT does in SQLite.
CREATE TABLE tickets (
    id                BIGSERIAL PRIMARY KEY,
    guild             BIGINT  NOT NULL,
    member            BIGINT  NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('opening', 'open', 'closed', 'failed')),
    opened_by         BIGINT,
    packet            TEXT    NOT NULL,
    thread            BIGINT,
    packet_message    BIGINT,
    claimed_by        BIGINT,
    opened_at         BIGINT  NOT NULL,
    last_activity     BIGINT  NOT NULL,
    sla_reminded      BOOLEAN NOT NULL,
    inactivity_warned BOOLEAN NOT NULL,
    closed_at         BIGINT,
    closed_by         BIGINT,
    close_reason      TEXT,
    rating            BOOLEAN,
    request_key       TEXT,
    transcript        TEXT,
    version           BIGINT  NOT NULL
);

-- One active (opening or open) ticket per member per guild: a partial unique index, so a
-- second open conflicts in the database instead of racing a check (across processes too).
CREATE UNIQUE INDEX tickets_one_active ON tickets (guild, member)
    WHERE status IN ('opening', 'open');
-- A request key opens at most one ticket (NULLs are distinct).
CREATE UNIQUE INDEX tickets_request_key ON tickets (request_key);
CREATE INDEX tickets_thread ON tickets (thread);
CREATE INDEX tickets_guild_member ON tickets (guild, member);

CREATE TABLE ticket_events (
    id     BIGSERIAL PRIMARY KEY,
    ticket BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at     BIGINT NOT NULL,
    actor  BIGINT,
    kind   TEXT   NOT NULL,
    text   TEXT
);

CREATE INDEX ticket_events_ticket ON ticket_events (ticket, id);

CREATE TABLE feedback (
    ticket BIGINT  PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    member BIGINT  NOT NULL,
    solved BOOLEAN NOT NULL,
    at     BIGINT  NOT NULL
);

-- `step` is '' for OutcomeRow::step = None, as in SQLite.
CREATE TABLE outcomes (
    intent  TEXT   NOT NULL,
    step    TEXT   NOT NULL DEFAULT '',
    outcome TEXT   NOT NULL CHECK (outcome IN ('fixed', 'escalated', 'declined_human')),
    count   BIGINT NOT NULL,
    PRIMARY KEY (intent, step, outcome)
);
