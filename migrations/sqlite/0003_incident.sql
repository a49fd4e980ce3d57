-- Incident mode: a known outage moderators announce (/incident start) and end (/incident end),
-- and the members who asked to be told when it's fixed.
--
-- At most one incident is active (ended_at IS NULL): a partial unique index over a constant
-- expression, so two processes starting one at once can't both succeed. Intents are a JSON
-- array of intent ids from intents.toml (stable keys). The notice is masked before it is
-- stored.
CREATE TABLE incidents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    notice     TEXT    NOT NULL,
    intents    TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    started_by INTEGER NOT NULL,
    ended_at   INTEGER,
    ended_by   INTEGER
);

CREATE UNIQUE INDEX incidents_one_active ON incidents ((ended_at IS NULL)) WHERE ended_at IS NULL;

-- "Notify me when it's fixed": one row per member per incident. A row is deleted once its
-- member was told (or skipped), so a fan-out cut short by a crash resumes without a second DM.
CREATE TABLE incident_subscriptions (
    incident INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    guild    INTEGER NOT NULL,
    member   INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (incident, guild, member)
) WITHOUT ROWID;

CREATE INDEX incident_subscriptions_member ON incident_subscriptions (guild, member);
