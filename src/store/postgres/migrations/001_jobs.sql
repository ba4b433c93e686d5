-- Jobs, attempts and logs: the same model as the SQLite backend. Times are epoch milliseconds (bigint).
CREATE TABLE jobs (
  seq              bigserial PRIMARY KEY,
  id               text    NOT NULL UNIQUE,
  queue            text    NOT NULL,
  type             text    NOT NULL,
  payload          jsonb   NOT NULL,
  status           text    NOT NULL,
  priority         integer NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL,
  attempt_budget   integer NOT NULL,
  backoff          jsonb   NOT NULL,
  timeout_ms       integer,
  run_at           bigint  NOT NULL,
  created_at       bigint  NOT NULL,
  updated_at       bigint  NOT NULL,
  started_at       bigint,
  finished_at      bigint,
  result           jsonb,
  error            jsonb,
  progress         real,
  worker_id        text,
  lease_expires_at bigint,
  idempotency_key  text,
  owner            text    NOT NULL,
  tags             jsonb,
  constraints      jsonb,
  schedule_id      text,
  scheduled_time   bigint
);

CREATE INDEX jobs_ready ON jobs (priority DESC, seq) WHERE status = 'queued';
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_running ON jobs (worker_id, lease_expires_at) WHERE status = 'running';
-- Every index costs on each state change (an update that changes an indexed column inserts into all of
-- them), so lists by queue or type walk jobs_status_seq / the primary key with a filter instead.
CREATE INDEX jobs_status_seq ON jobs (status, seq);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_schedule_fire ON jobs (schedule_id, scheduled_time) WHERE schedule_id IS NOT NULL;

CREATE TABLE job_attempts (
  job_id      text    NOT NULL,
  attempt     integer NOT NULL,
  status      text    NOT NULL,
  started_at  bigint  NOT NULL,
  finished_at bigint  NOT NULL,
  worker_id   text,
  exit_code   integer,
  http_status integer,
  error       jsonb,
  PRIMARY KEY (job_id, attempt)
);

-- A global sequence orders log chunks: appenders on several nodes never collide.
CREATE TABLE job_logs (
  id     bigserial PRIMARY KEY,
  job_id text   NOT NULL,
  at     bigint NOT NULL,
  stream text   NOT NULL,
  data   text   NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);
