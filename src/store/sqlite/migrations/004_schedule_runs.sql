-- Staged cron fires (scheduler/): what the scheduler and the runs API read per schedule, batched.
-- Added as a migration of its own because 002 already shipped: existing files only ever run new numbers.

-- overlap "queue": JSON array of fire times waiting for the previous run to end (ScheduleStore.heldFires).
ALTER TABLE schedules ADD COLUMN held_fires TEXT NOT NULL DEFAULT '[]';
-- The leader loads the schedules it must plan: those not paused.
CREATE INDEX schedules_active ON schedules (id) WHERE paused = 0;

-- A schedule's runs, newest first (GET /schedules/:id/runs) without sorting its whole history.
CREATE INDEX jobs_schedule_seq ON jobs (schedule_id, seq) WHERE schedule_id IS NOT NULL;
-- Unfinished runs per schedule (overlap skip/queue): only unfinished rows are in it, so it stays small.
-- ScheduleStore.activeRuns repeats this status list word for word so SQLite uses the partial index.
CREATE INDEX jobs_schedule_active ON jobs (schedule_id)
  WHERE schedule_id IS NOT NULL AND status IN ('pending', 'scheduled', 'queued', 'running');

-- GET /alerts lists newest first.
CREATE INDEX alerts_created ON alerts (created_at, id);
