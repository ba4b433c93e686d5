-- One row write per short job (sqlite/soft-claims.ts): a completion no longer inserts a job_attempts row.
-- The successful final attempt is read from the job row itself, so the row keeps what that attempt
-- record held besides times and worker. Failed and cancelled attempts are still rows of job_attempts.
ALTER TABLE jobs ADD COLUMN exit_code INTEGER;
ALTER TABLE jobs ADD COLUMN http_status INTEGER;

-- Small facts about the file itself. `open_by` is set while a process has the store open and removed
-- on a clean close: finding it at open means the last process crashed (soft claims pause a while).
CREATE TABLE store_state (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
