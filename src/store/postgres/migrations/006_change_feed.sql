-- The change feed (store/feed.ts): the state changes of jobs, written in the transaction of the change,
-- one row per batch of changes made together (a change's sequence is its row's times 65,536 plus its
-- place in the row), as that transaction's last statement (postgres/feed.ts).
CREATE TABLE job_events (
  seq     bigserial PRIMARY KEY,
  at      bigint  NOT NULL,
  n       integer NOT NULL,
  -- true when a change of the row ended a job failed: what alerts read, a few rows among millions.
  failed  boolean NOT NULL,
  -- JSON array of [jobId, event, from, to, attempt, workerId, code, owner, queue, type, scheduleId]
  changes text    NOT NULL
);
CREATE INDEX job_events_failed ON job_events (seq) WHERE failed;
-- A batch's changes are tens of kilobytes, kept out of line (TOAST) but not compressed: compressing each
-- row cost the drain more than the space is worth for a window of a day.
ALTER TABLE job_events ALTER COLUMN changes SET STORAGE EXTERNAL;

-- Sequences are handed out in the order transactions insert, not the order they commit: a reader that
-- saw 7 could miss 6 committed a moment later. Each insert into the feed first takes one lock, held to
-- the end of its transaction (released after the commit is visible), so sequences become visible in
-- order. The insert is its transaction's last statement, so the lock is held for the commit only and
-- never while waiting for a row.
CREATE FUNCTION job_events_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(TG_TABLE_SCHEMA || '.job_events'));
  RETURN NULL;
END $$;
CREATE TRIGGER job_events_in_order BEFORE INSERT ON job_events
  FOR EACH STATEMENT EXECUTE FUNCTION job_events_in_order();

-- Each claim's own token (Claim.lease): reports name it, so no two claims of a job share an identity.
ALTER TABLE jobs ADD COLUMN lease_token text;
-- Leases granted before tokens existed get one, so the reaper can still end them.
UPDATE jobs SET lease_token = gen_random_uuid()::text WHERE status = 'running';
