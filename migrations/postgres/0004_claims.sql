-- Gateway events claimed by a bot process before it answers them (`message:ID`,
-- `interaction:ID`): Discord may deliver one event to two sessions of a shard during a
-- reconnect or a deploy overlap, and the primary key lets exactly one process answer it.
-- Claims older than an hour are deleted by the sweeper.
CREATE TABLE claims (
    key TEXT   PRIMARY KEY,
    at  BIGINT NOT NULL
);

CREATE INDEX claims_at ON claims (at);
