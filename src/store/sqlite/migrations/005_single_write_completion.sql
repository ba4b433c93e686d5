-- One row write per short job (sqlite/soft-claims.ts): a completion no longer inserts a job_attempts row.
-- The successful final attempt is read from the job row itself, so the row keeps what that attempt
-- record held besides times and worker. Failed and cancelled attempts are still rows of job_attempts.
ALTER TABLE jobs ADD COLUMN exit_code INTEGER;
ALTER TABLE jobs ADD COLUMN http_status INTEGER;

-- Small facts about the file itself. `open:<pid>` rows say which processes have it open (removed on a
-- clean close): one of a dead process means it crashed, one of a live process that the file is shared
-- (sqlite/open-marks.ts).
CREATE TABLE store_state (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
