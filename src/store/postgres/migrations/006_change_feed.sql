-- The change feed (store/feed.ts): one row per state change of a job, written in the transaction of the
-- change, as that transaction's last statement (postgres/feed.ts).
CREATE TABLE job_events (
  seq         bigserial PRIMARY KEY,
  at          bigint  NOT NULL,
  job_id      text    NOT NULL,
  event       text    NOT NULL,
  from_status text,
  to_status   text,
  attempt     integer NOT NULL,
  worker_id   text,
  code        text,
  owner       text    NOT NULL,
  queue       text    NOT NULL,
  type        text    NOT NULL,
  schedule_id text
);
-- Failures only (alerts read them): a few rows among millions.
CREATE INDEX job_events_failed ON job_events (seq) WHERE to_status = 'failed';

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
