-- Cron schedules and the alert outbox.
CREATE TABLE schedules (
  id                 text PRIMARY KEY,
  name               text UNIQUE,
  cron               text    NOT NULL,
  timezone           text    NOT NULL,
  job                jsonb   NOT NULL,
  overlap            text    NOT NULL,
  catch_up           text    NOT NULL,
  catch_up_window_ms bigint  NOT NULL,
  start_at           bigint,
  end_at             bigint,
  paused             boolean NOT NULL,
  alert              jsonb,
  owner              text    NOT NULL,
  created_at         bigint  NOT NULL,
  updated_at         bigint  NOT NULL,
  last_fire_time     bigint
);

CREATE TABLE alerts (
  id              text PRIMARY KEY,
  job_id          text    NOT NULL,
  schedule_id     text,
  url             text    NOT NULL,
  secret          text,
  body            text    NOT NULL,
  status          text    NOT NULL,
  attempts        integer NOT NULL,
  next_attempt_at bigint  NOT NULL,
  last_error      text,
  last_status     integer,
  created_at      bigint  NOT NULL,
  delivered_at    bigint
);
CREATE UNIQUE INDEX alerts_once ON alerts (job_id, url);
CREATE INDEX alerts_due ON alerts (next_attempt_at) WHERE status = 'pending';
