-- The change feed (store/feed.ts): the state changes of jobs, written in the transaction of the change,
-- one row per batch of changes made together (store/feed.ts: a change's sequence is its row's times
-- 65,536 plus its place in the row). AUTOINCREMENT: a sequence is never reused, even after retention
-- has deleted every row.
CREATE TABLE job_events (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  n       INTEGER NOT NULL,
  -- 1 when a change of the row ended a job failed: what alerts read, a few rows among millions.
  failed  INTEGER NOT NULL,
  -- JSON array of [jobId, event, from, to, attempt, workerId, code, owner, queue, type, scheduleId]
  changes TEXT    NOT NULL
);
CREATE INDEX job_events_failed ON job_events (seq) WHERE failed = 1;

-- Each claim's own token (Claim.lease): reports name it, so no two claims of a job share an identity.
ALTER TABLE jobs ADD COLUMN lease_token TEXT;
-- Leases granted before tokens existed get one, so the reaper can still end them.
UPDATE jobs SET lease_token = lower(hex(randomblob(12))) WHERE status = 'running';
