/**
 * Row → record decoders shared by both backends. The only difference between them is how a JSON column
 * arrives (TEXT to parse in SQLite, already parsed jsonb in PostgreSQL) and how booleans are stored, so
 * each backend passes its `json` decoder and the mapping itself is written once.
 */
import type { JobError, JobStatus } from "../core/job.ts";
import type { Schedule } from "../scheduler/schedule.ts";
import type { Alert, ScheduleRun } from "../scheduler/schedule-store.ts";
import type { NodeRecord, WorkerRecord } from "./cluster-store.ts";

type Row = Record<string, unknown>;
export type JsonColumn = <T>(v: unknown) => T;

export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const str = (v: unknown): string | null => (v as string | null) ?? null;
/** SQLite stores booleans as 0/1, PostgreSQL as booleans. */
export const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n;

export const decodeNode = (r: Row): NodeRecord => ({
  id: r.id as string,
  address: r.address as string,
  version: r.version as string,
  startedAt: Number(r.started_at),
  lastSeenAt: Number(r.last_seen_at),
});

export const decodeWorker = (r: Row, json: JsonColumn): WorkerRecord => ({
  id: r.id as string,
  labels: json(r.labels),
  capacity: Number(r.capacity),
  running: Number(r.running),
  types: json(r.types),
  queues: r.queues == null ? null : json(r.queues),
  draining: bool(r.draining),
  version: str(r.version),
  instance: str(r.instance),
  principal: str(r.principal),
  registeredAt: Number(r.registered_at),
  lastSeenAt: Number(r.last_seen_at),
});

/** A worker id is another principal's while that principal's worker is alive (seen since `takeoverBefore`). */
export const isTaken = (before: Row, principal: string | null, takeoverBefore: number): boolean =>
  before.principal != null && before.principal !== principal && Number(before.last_seen_at) >= takeoverBefore;

export const decodeSchedule = (r: Row, json: JsonColumn): Schedule => ({
  id: r.id as string,
  name: str(r.name),
  cron: r.cron as string,
  timezone: r.timezone as string,
  job: json(r.job),
  overlap: r.overlap as Schedule["overlap"],
  catchUp: r.catch_up as Schedule["catchUp"],
  catchUpWindowMs: Number(r.catch_up_window_ms),
  startAt: num(r.start_at),
  endAt: num(r.end_at),
  paused: bool(r.paused),
  alert: r.alert == null ? null : json(r.alert),
  owner: r.owner as string,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  lastFireTime: num(r.last_fire_time),
});

/** A row of the runs query (jobs joined with the latest attempt's http_status). */
export const decodeRun = (r: Row, json: JsonColumn): ScheduleRun => ({
  seq: Number(r.seq),
  jobId: r.id as string,
  scheduledTime: num(r.scheduled_time),
  enqueuedAt: Number(r.created_at),
  startedAt: num(r.started_at),
  finishedAt: num(r.finished_at),
  status: r.status as JobStatus,
  httpStatus: num(r.http_status),
  error: r.error == null ? null : json<JobError>(r.error),
  attempts: Number(r.attempts),
});

export const decodeAlert = (r: Row): Alert => ({
  id: r.id as string,
  jobId: r.job_id as string,
  scheduleId: str(r.schedule_id),
  url: r.url as string,
  secret: str(r.secret),
  body: r.body as string,
  status: r.status as Alert["status"],
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  lastError: str(r.last_error),
  lastStatus: num(r.last_status),
  createdAt: Number(r.created_at),
  deliveredAt: num(r.delivered_at),
});

/** SQLite: JSON columns are TEXT. */
export const parseJson: JsonColumn = <T>(v: unknown) => JSON.parse(v as string) as T;
/** PostgreSQL: jsonb arrives parsed. */
export const parsedJson: JsonColumn = <T>(v: unknown) => v as T;
