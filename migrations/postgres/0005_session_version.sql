-- Sessions carry a version, raised by every write: a turn saves the session only over the
-- version it read (or only if there was none), so two processes handling one member at once
-- can't lose each other's update; the loser runs its turn again from a fresh read.
ALTER TABLE sessions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
