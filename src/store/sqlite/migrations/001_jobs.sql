-- Jobs, their attempts and their logs. Times are epoch milliseconds; JSON columns hold TEXT.
CREATE TABLE jobs (
  seq              INTEGER PRIMARY KEY,
  id               TEXT    NOT NULL UNIQUE,
  queue            TEXT    NOT NULL,
  type             TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  status           TEXT    NOT NULL,
  priority         INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  -- attempts granted per round; a manual retry grants this many more
  attempt_budget   INTEGER NOT NULL,
  backoff          TEXT    NOT NULL,
  timeout_ms       INTEGER,
  run_at           INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  result           TEXT,
  error            TEXT,
  progress         REAL,
  worker_id        TEXT,
  lease_expires_at INTEGER,
  idempotency_key  TEXT UNIQUE,
  owner            TEXT    NOT NULL,
  tags             TEXT,
  constraints      TEXT,
  schedule_id      TEXT,
  scheduled_time   INTEGER
);

-- Partial indexes keep the hot paths small: only ready, due or leased rows are in them.
CREATE INDEX jobs_ready ON jobs (priority DESC, seq) WHERE status = 'queued';
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_worker ON jobs (worker_id) WHERE status = 'running';
-- List filters, newest first.
CREATE INDEX jobs_status_seq ON jobs (status, seq);
CREATE INDEX jobs_queue_seq ON jobs (queue, seq);
CREATE INDEX jobs_type_seq ON jobs (type, seq);
-- One job per schedule fire time: restarts, leader changes and clock jumps cannot double-fire.
CREATE UNIQUE INDEX jobs_schedule_fire ON jobs (schedule_id, scheduled_time) WHERE schedule_id IS NOT NULL;

CREATE TABLE job_attempts (
  job_id       TEXT    NOT NULL,
  attempt      INTEGER NOT NULL,
  status       TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER NOT NULL,
  worker_id    TEXT,
  exit_code    INTEGER,
  http_status  INTEGER,
  error        TEXT,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;

CREATE TABLE job_logs (
  job_id  TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  stream  TEXT    NOT NULL,
  data    TEXT    NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
