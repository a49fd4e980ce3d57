-- Incident mode (see migrations/sqlite/0003_incident.sql): a known outage moderators announce
-- and end, and the members who asked to be told when it's fixed.
--
-- At most one incident is active (ended_at IS NULL): a partial unique index over a constant
-- expression. The store also serializes starting, ending and subscribing with a transaction
-- advisory lock, so "check, then write" can't interleave across processes.
CREATE TABLE incidents (
    id         BIGSERIAL PRIMARY KEY,
    notice     TEXT    NOT NULL,
    intents    TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    started_by BIGINT  NOT NULL,
    ended_at   BIGINT,
    ended_by   BIGINT
);

CREATE UNIQUE INDEX incidents_one_active ON incidents ((ended_at IS NULL)) WHERE ended_at IS NULL;

CREATE TABLE incident_subscriptions (
    incident BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    guild    BIGINT NOT NULL,
    member   BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (incident, guild, member)
);

CREATE INDEX incident_subscriptions_member ON incident_subscriptions (guild, member);
