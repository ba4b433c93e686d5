/** ScheduleStore and AlertStore on PostgreSQL (shared by every node of a cluster). */
import { BosunError } from "../../core/errors.ts";
import type { Schedule } from "../../scheduler/schedule.ts";
import type { Alert, AlertStore, ScheduleStore } from "../../scheduler/schedule-store.ts";
import { decodeAlert, decodeSchedule, parsedJson } from "../records.ts";
import type { Sql } from "./connection.ts";
import type { PostgresStore } from "./postgres-store.ts";

const toSchedule = (r: Record<string, unknown>) => decodeSchedule(r, parsedJson);

const isUnique = (err: unknown) => (err as { code?: string }).code === "23505";

export class PgScheduleStore implements ScheduleStore, AlertStore {
  readonly #sql: Sql;

  constructor(store: PostgresStore) {
    this.#sql = store.sql;
  }

  #row(s: Schedule) {
    const sql = this.#sql;
    return {
      id: s.id,
      name: s.name,
      cron: s.cron,
      timezone: s.timezone,
      job: sql.json(s.job as never),
      overlap: s.overlap,
      catch_up: s.catchUp,
      catch_up_window_ms: s.catchUpWindowMs,
      start_at: s.startAt,
      end_at: s.endAt,
      paused: s.paused,
      alert: s.alert === null ? null : sql.json(s.alert),
      owner: s.owner,
      created_at: s.createdAt,
      updated_at: s.updatedAt,
      last_fire_time: s.lastFireTime,
    };
  }

  async create(s: Schedule): Promise<Schedule> {
    try {
      const [row] = await this.#sql`INSERT INTO schedules ${this.#sql(this.#row(s))} RETURNING *`;
      return toSchedule(row!);
    } catch (err) {
      if (isUnique(err)) throw new BosunError("INVALID_STATE", `A schedule named "${s.name}" exists`);
      throw err;
    }
  }

  async get(id: string): Promise<Schedule | null> {
    const [row] = await this.#sql`SELECT * FROM schedules WHERE id = ${id}`;
    return row ? toSchedule(row) : null;
  }

  async list(opts: { limit: number; afterId?: string }): Promise<Schedule[]> {
    return (
      await this
        .#sql`SELECT * FROM schedules WHERE id > ${opts.afterId ?? ""} ORDER BY id LIMIT ${opts.limit}`
    ).map(toSchedule);
  }

  async listActive(): Promise<Schedule[]> {
    return (await this.#sql`SELECT * FROM schedules WHERE NOT paused`).map(toSchedule);
  }

  async update(s: Schedule): Promise<Schedule> {
    const { id: _id, created_at: _c, ...fields } = this.#row(s);
    try {
      const [row] = await this.#sql`UPDATE schedules SET ${this.#sql(fields)} WHERE id = ${s.id} RETURNING *`;
      if (!row) throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${s.id}`);
      return toSchedule(row);
    } catch (err) {
      if (isUnique(err)) throw new BosunError("INVALID_STATE", `A schedule named "${s.name}" exists`);
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    return (await this.#sql`DELETE FROM schedules WHERE id = ${id}`).count > 0;
  }

  async setLastFires(fires: { id: string; time: number }[]): Promise<void> {
    if (fires.length === 0) return;
    const sql = this.#sql;
    await sql`UPDATE schedules s SET last_fire_time = f.time
      FROM unnest(${sql.array(
        fires.map((f) => f.id),
        25,
      )}::text[], ${sql.array(
        fires.map((f) => f.time),
        20,
      )}::bigint[]) AS f(id, time)
      WHERE s.id = f.id AND (s.last_fire_time IS NULL OR s.last_fire_time < f.time)`;
  }

  async add(alerts: Alert[]): Promise<number> {
    if (alerts.length === 0) return 0;
    const rows = alerts.map((a) => ({
      id: a.id,
      job_id: a.jobId,
      schedule_id: a.scheduleId,
      url: a.url,
      secret: a.secret,
      body: a.body,
      status: a.status,
      attempts: a.attempts,
      next_attempt_at: a.nextAttemptAt,
      created_at: a.createdAt,
    }));
    return (await this.#sql`INSERT INTO alerts ${this.#sql(rows)} ON CONFLICT DO NOTHING`).count;
  }

  async due(now: number, limit: number): Promise<Alert[]> {
    return (
      await this.#sql`SELECT * FROM alerts WHERE status = 'pending' AND next_attempt_at <= ${now}
        ORDER BY next_attempt_at LIMIT ${limit}`
    ).map(decodeAlert);
  }

  async record(
    id: string,
    o: Pick<Alert, "status" | "attempts" | "nextAttemptAt" | "lastError" | "lastStatus" | "deliveredAt">,
  ): Promise<void> {
    await this
      .#sql`UPDATE alerts SET status = ${o.status}, attempts = ${o.attempts}, next_attempt_at = ${o.nextAttemptAt},
      last_error = ${o.lastError}, last_status = ${o.lastStatus}, delivered_at = ${o.deliveredAt} WHERE id = ${id}`;
  }

  async listAlerts(limit: number): Promise<Alert[]> {
    return (await this.#sql`SELECT * FROM alerts ORDER BY created_at DESC, id DESC LIMIT ${limit}`).map(
      decodeAlert,
    );
  }
}
