-- Cron schedules and the alert outbox.
CREATE TABLE schedules (
  id                 TEXT PRIMARY KEY,
  name               TEXT UNIQUE,
  cron               TEXT    NOT NULL,
  timezone           TEXT    NOT NULL,
  job                TEXT    NOT NULL,
  overlap            TEXT    NOT NULL,
  catch_up           TEXT    NOT NULL,
  catch_up_window_ms INTEGER NOT NULL,
  start_at           INTEGER,
  end_at             INTEGER,
  paused             INTEGER NOT NULL,
  alert              TEXT,
  owner              TEXT    NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  last_fire_time     INTEGER
);

CREATE TABLE alerts (
  id              TEXT PRIMARY KEY,
  job_id          TEXT    NOT NULL,
  schedule_id     TEXT,
  url             TEXT    NOT NULL,
  secret          TEXT,
  body            TEXT    NOT NULL,
  status          TEXT    NOT NULL,
  attempts        INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  last_status     INTEGER,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER
);
-- Exactly one alert per failed job and target, however many times the failure is noticed.
CREATE UNIQUE INDEX alerts_once ON alerts (job_id, url);
CREATE INDEX alerts_due ON alerts (next_attempt_at) WHERE status = 'pending';
