-- paymedic's PostgreSQL schema, version 2: the activity log behind the dashboard and `report`
-- (see migrations/sqlite/0002_activity.sql for what its rows mean).
CREATE TABLE activity (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    guild      BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    intent     TEXT,
    step       TEXT,
    confidence REAL,
    text       TEXT,
    nearest    TEXT,
    score      REAL,
    member     BIGINT
);

CREATE INDEX activity_at ON activity (at);
CREATE INDEX activity_member ON activity (guild, member) WHERE member IS NOT NULL;
