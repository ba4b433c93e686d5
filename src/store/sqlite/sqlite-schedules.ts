/** ScheduleStore and AlertStore on the node's SQLite file. */
import type { DatabaseSync } from "node:sqlite";
import { BosunError } from "../../core/errors.ts";
import type { Schedule } from "../../scheduler/schedule.ts";
import type { Alert, AlertStore, ScheduleStore } from "../../scheduler/schedule-store.ts";
import { decodeAlert, decodeSchedule, parseJson } from "../records.ts";
import { transaction } from "./database.ts";

const toSchedule = (r: Record<string, unknown>) => decodeSchedule(r, parseJson);

const params = (s: Schedule) => [
  s.name,
  s.cron,
  s.timezone,
  JSON.stringify(s.job),
  s.overlap,
  s.catchUp,
  s.catchUpWindowMs,
  s.startAt,
  s.endAt,
  s.paused ? 1 : 0,
  s.alert === null ? null : JSON.stringify(s.alert),
  s.owner,
  s.updatedAt,
  s.lastFireTime,
];

export class SqliteScheduleStore implements ScheduleStore, AlertStore {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  async create(s: Schedule): Promise<Schedule> {
    try {
      const row = this.#db
        .prepare(`INSERT INTO schedules (name, cron, timezone, job, overlap, catch_up, catch_up_window_ms, start_at, end_at,
            paused, alert, owner, updated_at, last_fire_time, id, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`)
        .get(...params(s), s.id, s.createdAt);
      return toSchedule(row!);
    } catch (err) {
      if (String(err).includes("UNIQUE"))
        throw new BosunError("INVALID_STATE", `A schedule named "${s.name}" exists`);
      throw err;
    }
  }

  async get(id: string): Promise<Schedule | null> {
    const row = this.#db.prepare("SELECT * FROM schedules WHERE id = ?").get(id);
    return row ? toSchedule(row) : null;
  }

  async list(opts: { limit: number; afterId?: string }): Promise<Schedule[]> {
    return this.#db
      .prepare("SELECT * FROM schedules WHERE id > ? ORDER BY id LIMIT ?")
      .all(opts.afterId ?? "", opts.limit)
      .map(toSchedule);
  }

  async listActive(): Promise<Schedule[]> {
    return this.#db.prepare("SELECT * FROM schedules WHERE paused = 0").all().map(toSchedule);
  }

  async update(s: Schedule): Promise<Schedule> {
    try {
      const row = this.#db
        .prepare(`UPDATE schedules SET name = ?, cron = ?, timezone = ?, job = ?, overlap = ?, catch_up = ?,
            catch_up_window_ms = ?, start_at = ?, end_at = ?, paused = ?, alert = ?, owner = ?, updated_at = ?,
            last_fire_time = ? WHERE id = ? RETURNING *`)
        .get(...params(s), s.id);
      if (!row) throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${s.id}`);
      return toSchedule(row);
    } catch (err) {
      if (String(err).includes("UNIQUE"))
        throw new BosunError("INVALID_STATE", `A schedule named "${s.name}" exists`);
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    return Number(this.#db.prepare("DELETE FROM schedules WHERE id = ?").run(id).changes) > 0;
  }

  async setLastFires(fires: { id: string; time: number }[]): Promise<void> {
    if (fires.length === 0) return;
    const stmt = this.#db.prepare(
      "UPDATE schedules SET last_fire_time = ? WHERE id = ? AND (last_fire_time IS NULL OR last_fire_time < ?)",
    );
    transaction(this.#db, () => {
      for (const f of fires) stmt.run(f.time, f.id, f.time);
    });
  }

  async add(alerts: Alert[]): Promise<number> {
    const stmt =
      this.#db.prepare(`INSERT INTO alerts (id, job_id, schedule_id, url, secret, body, status, attempts,
        next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
    return transaction(this.#db, () =>
      alerts.reduce(
        (n, a) =>
          n +
          Number(
            stmt.run(
              a.id,
              a.jobId,
              a.scheduleId,
              a.url,
              a.secret,
              a.body,
              a.status,
              a.attempts,
              a.nextAttemptAt,
              a.createdAt,
            ).changes,
          ),
        0,
      ),
    );
  }

  async due(now: number, limit: number): Promise<Alert[]> {
    return this.#db
      .prepare(
        "SELECT * FROM alerts WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
      )
      .all(now, limit)
      .map(decodeAlert);
  }

  async record(
    id: string,
    o: Pick<Alert, "status" | "attempts" | "nextAttemptAt" | "lastError" | "lastStatus" | "deliveredAt">,
  ): Promise<void> {
    this.#db
      .prepare(`UPDATE alerts SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, last_status = ?,
        delivered_at = ? WHERE id = ?`)
      .run(o.status, o.attempts, o.nextAttemptAt, o.lastError, o.lastStatus, o.deliveredAt, id);
  }

  async listAlerts(limit: number): Promise<Alert[]> {
    return this.#db
      .prepare("SELECT * FROM alerts ORDER BY created_at DESC, id DESC LIMIT ?")
      .all(limit)
      .map(decodeAlert);
  }
}
