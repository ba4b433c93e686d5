/**
 * ScheduleStore and AlertStore on PostgreSQL (shared by every node of a cluster); the same contract as
 * sqlite/sqlite-schedules.ts (test/store/schedule-store.test.ts). Every read or write that takes a list is
 * one statement: ids go in as one text[] (`= ANY`, `unnest`), never one query per schedule.
 */
import type { TransactionSql } from "postgres";
import { BosunError } from "../../core/errors.ts";
import type { Schedule } from "../../scheduler/schedule.ts";
import type {
  Alert,
  AlertOutcome,
  AlertStore,
  ScheduleRun,
  ScheduleStore,
} from "../../scheduler/schedule-store.ts";
import { change } from "../feed.ts";
import type { AuditEntry } from "../identity-store.ts";
import { decodeAlert, decodeRun, decodeSchedule, parsedJson } from "../records.ts";
import { audited } from "./audit-log.ts";
import type { Sql } from "./connection.ts";
import { appendFeed } from "./feed.ts";
import type { PostgresStore } from "./postgres-store.ts";
import { toJobState } from "./rows.ts";

type Row = Record<string, unknown>;
type Tx = Sql | TransactionSql;
const toSchedule = (r: Row): Schedule => decodeSchedule(r, parsedJson);
const toRun = (r: Row): ScheduleRun => decodeRun(r, parsedJson);

const TEXT = 25;
const BIGINT = 20;

const nameTaken = (err: unknown, s: Schedule) =>
  (err as { code?: string }).code === "23505"
    ? new BosunError("INVALID_STATE", `A schedule named "${s.name}" exists`, { name: s.name })
    : err;

export class PgScheduleStore implements ScheduleStore, AlertStore {
  readonly #sql: Sql;

  constructor(store: PostgresStore) {
    this.#sql = store.sql;
  }

  /** The columns create and update set; lastFireTime and held fires have rules of their own. */
  #fields(s: Schedule) {
    const sql = this.#sql;
    return {
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
      updated_at: s.updatedAt,
    };
  }

  /**
   * Schedules as read: lastFireTime is the later of the recorded one and the newest fire among the
   * schedule's jobs (one step down jobs_schedule_fire; GREATEST ignores NULLs). Fires that made a job are
   * not written to schedules at all — see ScheduleStore.setLastFires.
   */
  #select() {
    return this.#sql`SELECT s.id, s.name, s.cron, s.timezone, s.job, s.overlap, s.catch_up,
      s.catch_up_window_ms, s.start_at, s.end_at, s.paused, s.alert, s.owner, s.created_at, s.updated_at,
      GREATEST(s.last_fire_time,
        (SELECT max(j.scheduled_time) FROM jobs j WHERE j.schedule_id = s.id)) AS last_fire_time
      FROM schedules s`;
  }

  async create(s: Schedule, audit?: AuditEntry): Promise<Schedule> {
    const row = { ...this.#fields(s), id: s.id, created_at: s.createdAt, last_fire_time: s.lastFireTime };
    try {
      await audited(
        this.#sql,
        audit,
        (tx) => tx`INSERT INTO schedules ${tx(row)}`,
        () => true,
      );
    } catch (err) {
      throw nameTaken(err, s);
    }
    return (await this.get(s.id))!;
  }

  async get(id: string): Promise<Schedule | null> {
    const [row] = await this.#sql`${this.#select()} WHERE s.id = ${id}`;
    return row ? toSchedule(row) : null;
  }

  async list(opts: { limit: number; afterId?: string; owner?: string }): Promise<Schedule[]> {
    const owned = opts.owner === undefined ? this.#sql`` : this.#sql`AND s.owner = ${opts.owner}`;
    const rows = await this.#sql`${this.#select()} WHERE s.id > ${opts.afterId ?? ""} ${owned}
      ORDER BY s.id LIMIT ${opts.limit}`;
    return rows.map(toSchedule);
  }

  async listActive(): Promise<Schedule[]> {
    return (await this.#sql`${this.#select()} WHERE NOT s.paused`).map(toSchedule);
  }

  async update(s: Schedule, audit?: AuditEntry): Promise<Schedule> {
    let count: number;
    try {
      // lastFireTime only moves forward: the scheduler may have fired since this copy was read. Held
      // fires belong to the scheduler (setHeldFires) and are left alone.
      const update = async (tx: Tx) =>
        (
          await tx`UPDATE schedules SET ${tx(this.#fields(s))},
            last_fire_time = GREATEST(last_fire_time, ${s.lastFireTime}::bigint)
            WHERE id = ${s.id}`
        ).count;
      count = await audited(this.#sql, audit, update, (n) => n > 0);
    } catch (err) {
      throw nameTaken(err, s);
    }
    const saved = count > 0 ? await this.get(s.id) : null;
    if (!saved) throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${s.id}`);
    return saved;
  }

  async delete(id: string, audit?: AuditEntry): Promise<boolean> {
    const remove = async (tx: Tx) => (await tx`DELETE FROM schedules WHERE id = ${id}`).count > 0;
    return audited(this.#sql, audit, remove, (gone) => gone);
  }

  async setLastFires(fires: { id: string; time: number }[]): Promise<void> {
    if (fires.length === 0) return;
    const sql = this.#sql;
    const ids = sql.array(
      fires.map((f) => f.id),
      TEXT,
    );
    const times = sql.array(
      fires.map((f) => f.time),
      BIGINT,
    );
    // Two fires of one schedule in a list: the later one wins (an UPDATE … FROM applies only one row).
    await sql`UPDATE schedules s SET last_fire_time = f.time
      FROM (SELECT id, max(time) AS time FROM unnest(${ids}::text[], ${times}::bigint[]) AS u(id, time)
        GROUP BY id) AS f
      WHERE s.id = f.id AND (s.last_fire_time IS NULL OR s.last_fire_time < f.time)`;
  }

  async heldFires(scheduleIds: string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    if (scheduleIds.length === 0) return out;
    const rows = await this.#sql`SELECT id, held_fires FROM schedules
      WHERE id = ANY(${this.#sql.array(scheduleIds, TEXT)}::text[]) AND held_fires <> '[]'::jsonb`;
    for (const r of rows) out.set(r.id as string, (r.held_fires as unknown[]).map(Number));
    return out;
  }

  async setHeldFires(items: { id: string; times: number[] }[]): Promise<void> {
    if (items.length === 0) return;
    const sql = this.#sql;
    // Lists of different lengths do not fit one bigint[][]: each goes as JSON text beside its id.
    const ids = sql.array(
      items.map((i) => i.id),
      TEXT,
    );
    const times = sql.array(
      items.map((i) => JSON.stringify(i.times)),
      TEXT,
    );
    await sql`UPDATE schedules s SET held_fires = f.times::jsonb
      FROM unnest(${ids}::text[], ${times}::text[]) AS f(id, times) WHERE s.id = f.id`;
  }

  async activeRuns(scheduleIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (scheduleIds.length === 0) return out;
    // The status list matches jobs_schedule_active's WHERE, so the planner can use that partial index.
    const rows = await this.#sql`SELECT schedule_id, count(*)::int AS n FROM jobs
      WHERE schedule_id = ANY(${this.#sql.array(scheduleIds, TEXT)}::text[])
        AND status IN ('pending', 'scheduled', 'queued', 'running')
      GROUP BY schedule_id`;
    for (const r of rows) out.set(r.schedule_id as string, Number(r.n));
    return out;
  }

  async discardStaged(scheduleIds: string[], now: number): Promise<number> {
    if (scheduleIds.length === 0) return 0;
    // Under READ COMMITTED a row promoted or claimed while this waits for its lock is re-checked against
    // the WHERE and kept: only fires still staged go.
    return this.#sql.begin(async (tx) => {
      const gone = await tx`DELETE FROM jobs
        WHERE schedule_id = ANY(${tx.array(scheduleIds, TEXT)}::text[]) AND scheduled_time > ${now}
          AND status = 'scheduled' AND attempts = 0 AND started_at IS NULL
        RETURNING id, queue, type, owner, schedule_id, attempts, worker_id`;
      await appendFeed(
        tx,
        gone.map((r) => change("discard", "scheduled", null, toJobState(r), now)),
      );
      return gone.length;
    });
  }

  async runs(scheduleId: string, opts: { limit: number; beforeSeq?: number }): Promise<ScheduleRun[]> {
    const before = opts.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const rows = await this.#sql`SELECT j.seq, j.id, j.scheduled_time, j.created_at, j.started_at,
        j.finished_at, j.status, j.error, j.attempts,
        (SELECT a.http_status FROM job_attempts a WHERE a.job_id = j.id ORDER BY a.attempt DESC LIMIT 1)
          AS http_status
      FROM jobs j WHERE j.schedule_id = ${scheduleId} AND j.seq < ${before}
      ORDER BY j.seq DESC LIMIT ${opts.limit}`;
    return rows.map(toRun);
  }

  async add(alerts: Alert[]): Promise<number> {
    if (alerts.length === 0) return 0;
    return this.#insertAlerts(this.#sql, alerts);
  }

  async alertCursor(): Promise<number | null> {
    const [row] = await this.#sql`SELECT seq FROM feed_cursors WHERE reader = 'alerts'`;
    return row ? Number(row.seq) : null;
  }

  async addFromFeed(alerts: Alert[], cursor: { from: number | null; to: number }): Promise<number | null> {
    // The cursor's row lock orders two leaders that overlap for a moment: under READ COMMITTED the second
    // re-reads the row after the first commits, no longer finds `from`, and writes nothing.
    return this.#sql.begin(async (tx) => {
      const moved =
        cursor.from === null
          ? await tx`INSERT INTO feed_cursors (reader, seq) VALUES ('alerts', ${cursor.to})
              ON CONFLICT DO NOTHING`
          : await tx`UPDATE feed_cursors SET seq = ${cursor.to}
              WHERE reader = 'alerts' AND seq = ${cursor.from}`;
      if (moved.count === 0) return null;
      return alerts.length === 0 ? 0 : this.#insertAlerts(tx, alerts);
    });
  }

  async #insertAlerts(sql: Sql | TransactionSql, alerts: Alert[]): Promise<number> {
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
    return (await sql`INSERT INTO alerts ${sql(rows)} ON CONFLICT DO NOTHING`).count;
  }

  async due(now: number, limit: number): Promise<Alert[]> {
    return (
      await this.#sql`SELECT * FROM alerts WHERE status = 'pending' AND next_attempt_at <= ${now}
        ORDER BY next_attempt_at LIMIT ${limit}`
    ).map(decodeAlert);
  }

  async record(id: string, o: AlertOutcome): Promise<void> {
    await this.#sql`UPDATE alerts SET status = ${o.status}, attempts = ${o.attempts},
      next_attempt_at = ${o.nextAttemptAt}, last_error = ${o.lastError}, last_status = ${o.lastStatus},
      delivered_at = ${o.deliveredAt} WHERE id = ${id}`;
  }

  async listAlerts(limit: number): Promise<Alert[]> {
    return (await this.#sql`SELECT * FROM alerts ORDER BY created_at DESC, id DESC LIMIT ${limit}`).map(
      decodeAlert,
    );
  }
}
