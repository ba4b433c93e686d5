/**
 * Storage of schedules and of the alert outbox, dialect-free; sqlite/ and postgres/ implement it.
 * Fires themselves are jobs (jobs.schedule_id + scheduled_time, unique together): that constraint, not
 * this store, is what makes each fire happen once.
 */
import type { Schedule } from "./schedule.ts";

export interface ScheduleStore {
  /** Throws INVALID_STATE when the name is taken. */
  create(s: Schedule): Promise<Schedule>;
  get(id: string): Promise<Schedule | null>;
  list(opts: { limit: number; afterId?: string }): Promise<Schedule[]>;
  /** Schedules the scheduler must plan: not paused. */
  listActive(): Promise<Schedule[]>;
  update(s: Schedule): Promise<Schedule>;
  delete(id: string): Promise<boolean>;
  /** Records fire times (only moving forward), one statement per batch. */
  setLastFires(fires: { id: string; time: number }[]): Promise<void>;
}

export type AlertStatus = "pending" | "delivered" | "failed";

export interface Alert {
  id: string;
  jobId: string;
  scheduleId: string | null;
  url: string;
  secret: string | null;
  body: string;
  status: AlertStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface AlertStore {
  /** Adds alerts; one per (job, url) ever, so duplicates of a failure notice are ignored. Returns how many were new. */
  add(alerts: Alert[]): Promise<number>;
  due(now: number, limit: number): Promise<Alert[]>;
  record(
    id: string,
    outcome: Pick<
      Alert,
      "status" | "attempts" | "nextAttemptAt" | "lastError" | "lastStatus" | "deliveredAt"
    >,
  ): Promise<void>;
  listAlerts(limit: number): Promise<Alert[]>;
}
