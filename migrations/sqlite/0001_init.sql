-- paymedic's SQLite schema, version 1.
--
-- IDs (guilds, members, channels, messages) are Discord snowflakes: u64 in Rust, stored in
-- INTEGER (i64) columns by a bit-preserving cast (`as i64` on write, `as u64` on read). A
-- snowflake above i64::MAX reads back unchanged but sorts as negative here, so these columns
-- are only ever compared for equality. Timestamps are milliseconds, stored as i64 (saturating:
-- exact until the year 292 million), and compared as numbers.
-- Booleans are 0/1. Enumerations are their snake_case names.

-- A member's conversation, one per member per guild: the SessionRecord as JSON.
CREATE TABLE sessions (
    guild      INTEGER NOT NULL,
    member     INTEGER NOT NULL,
    -- SessionRecord::updated, kept here so expiry needs no JSON.
    updated    INTEGER NOT NULL,
    -- SessionRecord::is_handed_off, kept here so expiry spares sessions a human has.
    handed_off INTEGER NOT NULL CHECK (handed_off IN (0, 1)),
    data       TEXT    NOT NULL,
    PRIMARY KEY (guild, member)
) WITHOUT ROWID;

CREATE INDEX sessions_updated ON sessions (updated);

-- Tickets: one column per Ticket field. AUTOINCREMENT so a purged ticket's number is never
-- given to a new ticket.
CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    guild             INTEGER NOT NULL,
    member            INTEGER NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('opening', 'open', 'closed', 'failed')),
    opened_by         INTEGER,
    -- The hand-off Packet as JSON.
    packet            TEXT    NOT NULL,
    thread            INTEGER,
    packet_message    INTEGER,
    claimed_by        INTEGER,
    opened_at         INTEGER NOT NULL,
    last_activity     INTEGER NOT NULL,
    sla_reminded      INTEGER NOT NULL CHECK (sla_reminded IN (0, 1)),
    inactivity_warned INTEGER NOT NULL CHECK (inactivity_warned IN (0, 1)),
    closed_at         INTEGER,
    closed_by         INTEGER,
    close_reason      TEXT,
    rating            INTEGER CHECK (rating IN (0, 1)),
    request_key       TEXT,
    transcript        TEXT,
    version           INTEGER NOT NULL
);

-- One active (opening or open) ticket per member per guild, enforced here: a second open
-- conflicts instead of racing a check.
CREATE UNIQUE INDEX tickets_one_active ON tickets (guild, member)
    WHERE status IN ('opening', 'open');
-- A request key opens at most one ticket (NULLs are distinct: many tickets have none).
CREATE UNIQUE INDEX tickets_request_key ON tickets (request_key);
CREATE INDEX tickets_thread ON tickets (thread);
CREATE INDEX tickets_guild_member ON tickets (guild, member);

-- What happened to a ticket, in order of id.
CREATE TABLE ticket_events (
    id     INTEGER PRIMARY KEY,
    ticket INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at     INTEGER NOT NULL,
    actor  INTEGER,
    kind   TEXT    NOT NULL,
    text   TEXT
);

CREATE INDEX ticket_events_ticket ON ticket_events (ticket, id);

-- "Did we solve it?": the latest answer per ticket.
CREATE TABLE feedback (
    ticket INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    member INTEGER NOT NULL,
    solved INTEGER NOT NULL CHECK (solved IN (0, 1)),
    at     INTEGER NOT NULL
);

-- How flows ended, by content keys. `step` is '' for OutcomeRow::step = None (the first
-- answer): a step key is never empty in a real pack, so the two can't meet.
CREATE TABLE outcomes (
    intent  TEXT    NOT NULL,
    step    TEXT    NOT NULL DEFAULT '',
    outcome TEXT    NOT NULL CHECK (outcome IN ('fixed', 'escalated', 'declined_human')),
    count   INTEGER NOT NULL,
    PRIMARY KEY (intent, step, outcome)
) WITHOUT ROWID;
