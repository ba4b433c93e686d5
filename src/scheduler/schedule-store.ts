/**
 * Storage of schedules and of the alert outbox, dialect-free: sqlite/sqlite-schedules.ts implements it and
 * a PostgreSQL twin lives in postgres/; test/store/schedule-store.test.ts is the contract both must pass.
 * Every write that the scheduler makes per fire takes a list, so a tick of 10,000 fires is one statement or
 * one transaction, not 10,000 round trips.
 *
 * Fires themselves are jobs (jobs.schedule_id + jobs.scheduled_time, unique together): that constraint, not
 * this store, is what makes each fire happen once. This store only remembers how far each schedule got
 * (lastFireTime) so a restart or a new leader resumes there, and which fires overlap "queue" holds.
 *
 * create, update and delete take an optional audit entry, written in the same transaction as the change
 * and only when it took effect (a taken name or an unknown id writes none), as store/store.ts says.
 */
import type { JobError, JobStatus } from "../core/job.ts";
import type { AuditEntry } from "../store/identity-store.ts";
import type { Schedule } from "./schedule.ts";

/** One job a schedule spawned, as seed 002's execution history shows it. */
export interface ScheduleRun {
  /** Keyset cursor: pass the last one seen as `beforeSeq` for the next page. */
  seq: number;
  jobId: string;
  /** null for a manual trigger. */
  scheduledTime: number | null;
  enqueuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  status: JobStatus;
  /** Of the latest attempt. */
  httpStatus: number | null;
  error: JobError | null;
  attempts: number;
}

export interface ScheduleStore {
  /** Throws INVALID_STATE when the name is taken. */
  create(s: Schedule, audit?: AuditEntry): Promise<Schedule>;
  get(id: string): Promise<Schedule | null>;
  /** Ordered by id (time-ordered ids: oldest first), keyset after `afterId`. */
  /** `owner`: only that owner's schedules. */
  list(opts: { limit: number; afterId?: string; owner?: string }): Promise<Schedule[]>;
  /** Schedules the scheduler must plan: not paused. */
  listActive(): Promise<Schedule[]>;
  /** Replaces every field but id and createdAt; SCHEDULE_NOT_FOUND, or INVALID_STATE for a taken name. */
  update(s: Schedule, audit?: AuditEntry): Promise<Schedule>;
  delete(id: string, audit?: AuditEntry): Promise<boolean>;
  /**
   * Records fire times that made no job (skipped, held, rejected); lastFireTime only ever moves forward.
   * A schedule's lastFireTime as read is the later of the recorded one and the newest scheduledTime among
   * its jobs, so fires that made a job are not written twice.
   */
  setLastFires(fires: { id: string; time: number }[]): Promise<void>;
  /**
   * overlap "queue": fire times waiting for the previous run to end, oldest first, of the listed
   * schedules (those with none may be absent). Kept apart from Schedule: only the scheduler reads them.
   */
  heldFires(scheduleIds: string[]): Promise<Map<string, number[]>>;
  /** Replaces the held fires of each listed schedule. */
  setHeldFires(items: { id: string; times: number[] }[]): Promise<void>;
  /**
   * How many jobs of each listed schedule are not finished (pending, scheduled, queued or running);
   * schedules with none are absent. One query for the whole list, on an index of unfinished runs.
   */
  activeRuns(scheduleIds: string[]): Promise<Map<string, number>>;
  /**
   * Deletes the fires the listed schedules wrote ahead of their instant ("staged": still `scheduled`,
   * never attempted or started, scheduledTime after `now`) and returns how many went. Staged jobs are a
   * plan, not history: deleting them (rather than cancelling) frees their (scheduleId, scheduledTime), so
   * the re-planned scheduler can make those fires again. The guard is part of the one statement, so a job
   * promoted or claimed meanwhile is left alone.
   */
  discardStaged(scheduleIds: string[], now: number): Promise<number>;
  /** The jobs a schedule spawned, newest first, each with its latest attempt's HTTP status. */
  runs(scheduleId: string, opts: { limit: number; beforeSeq?: number }): Promise<ScheduleRun[]>;
}

export type AlertStatus = "pending" | "delivered" | "failed";

export interface Alert {
  id: string;
  jobId: string;
  scheduleId: string | null;
  url: string;
  /** Kept to sign each delivery attempt; never returned by the API. */
  secret: string | null;
  /** The exact bytes that are POSTed and signed. */
  body: string;
  status: AlertStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: number;
  deliveredAt: number | null;
}

export type AlertOutcome = Pick<
  Alert,
  "status" | "attempts" | "nextAttemptAt" | "lastError" | "lastStatus" | "deliveredAt"
>;

/** The outbox of failure alerts: rows survive a restart, so does a delivery that has not succeeded yet. */
export interface AlertStore {
  /** Adds alerts; one per (job, url) ever, so duplicates of a failure notice are ignored. Returns how many were new. */
  add(alerts: Alert[]): Promise<number>;
  /**
   * The change-feed sequence up to which failures have been turned into alerts (alerts/alert-recorder.ts);
   * null when none was ever written (the migration seeds one, so only a hand-edited store has none).
   */
  alertCursor(): Promise<number | null>;
  /**
   * Adds the alerts made from the feed's changes in (cursor.from, cursor.to] and moves the cursor to
   * `to`, in one transaction, and only if the cursor is still at `from` (null: it has none yet). Returns
   * how many alerts were new, or null when the cursor had moved (another leader got there): then nothing
   * is written. Alerts stay unique per (job, url), as with add.
   */
  addFromFeed(alerts: Alert[], cursor: { from: number | null; to: number }): Promise<number | null>;
  /** Pending alerts whose next attempt is due, earliest first. */
  due(now: number, limit: number): Promise<Alert[]>;
  record(id: string, outcome: AlertOutcome): Promise<void>;
  /** Newest first. */
  listAlerts(limit: number): Promise<Alert[]>;
}
