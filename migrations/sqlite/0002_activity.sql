-- paymedic's SQLite schema, version 2: the activity log behind the dashboard and `report`.
--
-- One row per thing the bot did: what became of a member message (answered, out_of_scope,
-- cooldown, handed_off, removed) or a conversation event (started, reached, fixed,
-- still_stuck, escalated, declined_human, gave_up). Intents and steps are content keys, so
-- rows stay readable after the pack changes. `text` (masked) is kept only for messages the
-- bot did not understand, and only those rows carry `member`, so /forget-me can delete them;
-- count-only rows name nobody. Purged with the rest past the retention period.
CREATE TABLE activity (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    guild      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    intent     TEXT,
    step       TEXT,
    confidence REAL,
    text       TEXT,
    nearest    TEXT,
    score      REAL,
    member     INTEGER
);

-- Reports read a window of time; the purge deletes by time.
CREATE INDEX activity_at ON activity (at);
-- /forget-me deletes a member's rows (only rows with text carry one).
CREATE INDEX activity_member ON activity (guild, member) WHERE member IS NOT NULL;
