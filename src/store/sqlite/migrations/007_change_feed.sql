-- The change feed (store/feed.ts): one row per state change of a job, written in the transaction of the
-- change. AUTOINCREMENT: a sequence is never reused, even after retention has deleted every row.
CREATE TABLE job_events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  job_id      TEXT    NOT NULL,
  event       TEXT    NOT NULL,
  from_status TEXT,
  to_status   TEXT,
  attempt     INTEGER NOT NULL,
  worker_id   TEXT,
  code        TEXT,
  owner       TEXT    NOT NULL,
  queue       TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  schedule_id TEXT
);
-- Failures only (alerts read them): a few rows among millions.
CREATE INDEX job_events_failed ON job_events (seq) WHERE to_status = 'failed';

-- Each claim's own token (Claim.lease): reports name it, so no two claims of a job share an identity.
ALTER TABLE jobs ADD COLUMN lease_token TEXT;
-- Leases granted before tokens existed get one, so the reaper can still end them.
UPDATE jobs SET lease_token = lower(hex(randomblob(12))) WHERE status = 'running';
