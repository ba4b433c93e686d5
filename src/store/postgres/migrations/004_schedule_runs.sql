-- Staged cron fires (scheduler/): what the scheduler and the runs API read per schedule, batched.
-- The same additions as SQLite's 004; a migration of its own because 002 already shipped.

-- overlap "queue": JSON array of fire times waiting for the previous run to end (ScheduleStore.heldFires);
-- jsonb rather than bigint[] so one statement can set lists of different lengths (unnest of text[]).
ALTER TABLE schedules ADD COLUMN held_fires jsonb NOT NULL DEFAULT '[]';
-- The leader loads the schedules it must plan: those not paused.
CREATE INDEX schedules_active ON schedules (id) WHERE NOT paused;

-- A schedule's runs, newest first (GET /schedules/:id/runs) without sorting its whole history.
CREATE INDEX jobs_schedule_seq ON jobs (schedule_id, seq) WHERE schedule_id IS NOT NULL;
-- Unfinished runs per schedule (overlap skip/queue): only unfinished rows are in it, so it stays small.
CREATE INDEX jobs_schedule_active ON jobs (schedule_id)
  WHERE schedule_id IS NOT NULL AND status IN ('pending', 'scheduled', 'queued', 'running');

-- GET /alerts lists newest first.
CREATE INDEX alerts_created ON alerts (created_at, id);
