/**
 * ScheduleStore and AlertStore on the node's SQLite file (the connection SqliteStore opened). Statements
 * are prepared once: the scheduler writes every second, and a statement prepared per call costs more than
 * the write. Per-fire writes of a tick share one transaction. Reads of jobs say `jobs`, the job store's
 * view with its held claims (jobs-view.ts); writes say `main.jobs`.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
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
import { decodeAlert, decodeRun, decodeSchedule, parseJson } from "../records.ts";
import { type AuditWriter, audited, auditWriter } from "./audit-log.ts";
import { transaction } from "./database.ts";
import { type FeedStatements, prepareFeed } from "./feed.ts";
import { JOB_STATE_COLUMNS, toJobState } from "./rows.ts";

type Row = Record<string, unknown>;
const toSchedule = (r: Row): Schedule => decodeSchedule(r, parseJson);

const toRun = (r: Row): ScheduleRun => decodeRun(r, parseJson);

/** The columns create and update set, in the order of the statements below. */
const values = (s: Schedule) => [
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
];

const nameTaken = (err: unknown, s: Schedule) =>
  String(err).includes("UNIQUE") && String(err).includes("schedules.name")
    ? new BosunError("INVALID_STATE", `A schedule named "${s.name}" exists`, { name: s.name })
    : err;

/**
 * A schedule as read: its lastFireTime is the later of the recorded one and the newest fire among its
 * jobs (one step down jobs_schedule_fire). Fires that made a job need no write of their own here — at
 * 10,000 fires a second that write was a tenth of the scheduler's work; only fires that made no job
 * (skipped, held, rejected) are recorded. It reads the table: a held claim never changes scheduled_time,
 * and the view would cost the MAX its single step down the index.
 */
const SELECT = `SELECT s.id, s.name, s.cron, s.timezone, s.job, s.overlap, s.catch_up, s.catch_up_window_ms,
  s.start_at, s.end_at, s.paused, s.alert, s.owner, s.created_at, s.updated_at,
  (SELECT MAX(t) FROM (SELECT s.last_fire_time AS t UNION ALL
    SELECT MAX(j.scheduled_time) FROM main.jobs j WHERE j.schedule_id = s.id)) AS last_fire_time
  FROM schedules s`;

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insert:
      p(`INSERT INTO schedules (name, cron, timezone, job, overlap, catch_up, catch_up_window_ms, start_at,
        end_at, paused, alert, owner, updated_at, last_fire_time, id, created_at, held_fires)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]')`),
    // lastFireTime only moves forward (the scheduler may have fired since this copy was read); held
    // fires belong to the scheduler (setHeldFires) and are left alone.
    update: p(`UPDATE schedules SET name = ?, cron = ?, timezone = ?, job = ?, overlap = ?, catch_up = ?,
        catch_up_window_ms = ?, start_at = ?, end_at = ?, paused = ?, alert = ?, owner = ?, updated_at = ?,
        last_fire_time = MAX(COALESCE(last_fire_time, ?), COALESCE(?, last_fire_time))
      WHERE id = ?`),
    get: p(`${SELECT} WHERE s.id = ?`),
    list: p(`${SELECT} WHERE s.id > ? ORDER BY s.id LIMIT ?`),
    listOwned: p(`${SELECT} WHERE s.owner = ? AND s.id > ? ORDER BY s.id LIMIT ?`),
    active: p(`${SELECT} INDEXED BY schedules_active WHERE s.paused = 0`),
    delete: p("DELETE FROM schedules WHERE id = ?"),
    lastFire: p(`UPDATE schedules SET last_fire_time = ?
      WHERE id = ? AND (last_fire_time IS NULL OR last_fire_time < ?)`),
    held: p("UPDATE schedules SET held_fires = ? WHERE id = ?"),
    heldOf: p(`SELECT id, held_fires FROM schedules
      WHERE id IN (SELECT value FROM json_each(?)) AND held_fires <> '[]'`),
    // The status list must match jobs_schedule_active's WHERE for SQLite to use that partial index. It
    // reads the table: a held claim is unfinished in the file (queued) as in the view (running), and
    // through the view SQLite walked every unfinished job instead of the index.
    activeRuns: p(`SELECT schedule_id, COUNT(*) AS n FROM main.jobs INDEXED BY jobs_schedule_active
      WHERE schedule_id IN (SELECT value FROM json_each(?))
        AND status IN ('pending', 'scheduled', 'queued', 'running')
      GROUP BY schedule_id`),
    // A range of jobs_schedule_fire per schedule; the guard mirrors ScheduleStore.discardStaged.
    discardStaged: p(`DELETE FROM main.jobs INDEXED BY jobs_schedule_fire
      WHERE schedule_id IN (SELECT value FROM json_each(?)) AND scheduled_time > ?
        AND status = 'scheduled' AND attempts = 0 AND started_at IS NULL
      RETURNING ${JOB_STATE_COLUMNS}`),
    runs: p(`SELECT j.seq, j.id, j.scheduled_time, j.created_at, j.started_at, j.finished_at, j.status, j.error,
        j.attempts,
        -- The last attempt's status: a completion keeps it on the job row (migration 005), older files
        -- and failed attempts in job_attempts.
        CASE WHEN j.status = 'completed' THEN COALESCE(j.http_status,
            (SELECT a.http_status FROM job_attempts a WHERE a.job_id = j.id AND a.attempt = j.attempts))
          ELSE (SELECT a.http_status FROM job_attempts a WHERE a.job_id = j.id ORDER BY a.attempt DESC LIMIT 1)
        END AS http_status
      FROM jobs j
      WHERE j.schedule_id = ? AND j.seq < ? ORDER BY j.seq DESC LIMIT ?`),
    addAlert: p(`INSERT INTO alerts (id, job_id, schedule_id, url, secret, body, status, attempts,
        next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    dueAlerts: p(`SELECT * FROM alerts INDEXED BY alerts_due
      WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`),
    recordAlert: p(`UPDATE alerts SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
        last_status = ?, delivered_at = ? WHERE id = ?`),
    listAlerts: p("SELECT * FROM alerts ORDER BY created_at DESC, id DESC LIMIT ?"),
    alertCursor: p("SELECT seq FROM feed_cursors WHERE reader = 'alerts'"),
    // Compare and set: moves only a cursor still where the caller read it.
    moveAlertCursor: p("UPDATE feed_cursors SET seq = ? WHERE reader = 'alerts' AND seq = ?"),
    firstAlertCursor: p("INSERT INTO feed_cursors (reader, seq) VALUES ('alerts', ?) ON CONFLICT DO NOTHING"),
  };
}

export class SqliteScheduleStore implements ScheduleStore, AlertStore {
  readonly #db: DatabaseSync;
  readonly #s: ReturnType<typeof prepare>;
  readonly #feed: FeedStatements;
  readonly #audit: AuditWriter;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = prepare(db);
    this.#feed = prepareFeed(db);
    this.#audit = auditWriter(db);
  }

  async create(s: Schedule, audit?: AuditEntry): Promise<Schedule> {
    try {
      const insert = () => this.#s.insert.run(...values(s), s.lastFireTime, s.id, s.createdAt);
      audited(this.#db, this.#audit, audit, insert, () => true);
    } catch (err) {
      throw nameTaken(err, s);
    }
    return (await this.get(s.id))!;
  }

  async get(id: string): Promise<Schedule | null> {
    const row = this.#s.get.get(id);
    return row ? toSchedule(row) : null;
  }

  async list(opts: { limit: number; afterId?: string; owner?: string }): Promise<Schedule[]> {
    const rows =
      opts.owner === undefined
        ? this.#s.list.all(opts.afterId ?? "", opts.limit)
        : this.#s.listOwned.all(opts.owner, opts.afterId ?? "", opts.limit);
    return rows.map(toSchedule);
  }

  async listActive(): Promise<Schedule[]> {
    return this.#s.active.all().map(toSchedule);
  }

  async update(s: Schedule, audit?: AuditEntry): Promise<Schedule> {
    let changes: number;
    try {
      const update = () =>
        Number(this.#s.update.run(...values(s), s.lastFireTime, s.lastFireTime, s.id).changes);
      changes = audited(this.#db, this.#audit, audit, update, (n) => n > 0);
    } catch (err) {
      throw nameTaken(err, s);
    }
    const saved = changes > 0 ? await this.get(s.id) : null;
    if (!saved) throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${s.id}`);
    return saved;
  }

  async delete(id: string, audit?: AuditEntry): Promise<boolean> {
    const remove = () => Number(this.#s.delete.run(id).changes) > 0;
    return audited(this.#db, this.#audit, audit, remove, (gone) => gone);
  }

  async setLastFires(fires: { id: string; time: number }[]): Promise<void> {
    if (fires.length === 0) return;
    transaction(this.#db, () => {
      for (const f of fires) this.#s.lastFire.run(f.time, f.id, f.time);
    });
  }

  async setHeldFires(items: { id: string; times: number[] }[]): Promise<void> {
    if (items.length === 0) return;
    transaction(this.#db, () => {
      for (const i of items) this.#s.held.run(JSON.stringify(i.times), i.id);
    });
  }

  async heldFires(scheduleIds: string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    if (scheduleIds.length === 0) return out;
    for (const r of this.#s.heldOf.all(JSON.stringify(scheduleIds)))
      out.set(r.id as string, JSON.parse(r.held_fires as string));
    return out;
  }

  async activeRuns(scheduleIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (scheduleIds.length === 0) return out;
    for (const r of this.#s.activeRuns.all(JSON.stringify(scheduleIds)))
      out.set(r.schedule_id as string, Number(r.n));
    return out;
  }

  async discardStaged(scheduleIds: string[], now: number): Promise<number> {
    if (scheduleIds.length === 0) return 0;
    return transaction(this.#db, () => {
      const gone = this.#s.discardStaged.all(JSON.stringify(scheduleIds), now).map(toJobState);
      this.#feed.append(gone.map((j) => change("discard", "scheduled", null, j, now)));
      return gone.length;
    });
  }

  async runs(scheduleId: string, opts: { limit: number; beforeSeq?: number }): Promise<ScheduleRun[]> {
    return this.#s.runs.all(scheduleId, opts.beforeSeq ?? Number.MAX_SAFE_INTEGER, opts.limit).map(toRun);
  }

  async add(alerts: Alert[]): Promise<number> {
    if (alerts.length === 0) return 0;
    return transaction(this.#db, () => this.#insertAlerts(alerts));
  }

  async alertCursor(): Promise<number | null> {
    const row = this.#s.alertCursor.get();
    return row ? Number(row.seq) : null;
  }

  async addFromFeed(alerts: Alert[], cursor: { from: number | null; to: number }): Promise<number | null> {
    return transaction(this.#db, () => {
      const moved =
        cursor.from === null
          ? this.#s.firstAlertCursor.run(cursor.to)
          : this.#s.moveAlertCursor.run(cursor.to, cursor.from);
      if (Number(moved.changes) === 0) return null;
      return this.#insertAlerts(alerts);
    });
  }

  /** Inside the caller's transaction. */
  #insertAlerts(alerts: Alert[]): number {
    let added = 0;
    for (const a of alerts)
      added += Number(
        this.#s.addAlert.run(
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
      );
    return added;
  }

  async due(now: number, limit: number): Promise<Alert[]> {
    return this.#s.dueAlerts.all(now, limit).map(decodeAlert);
  }

  async record(id: string, o: AlertOutcome): Promise<void> {
    this.#s.recordAlert.run(
      o.status,
      o.attempts,
      o.nextAttemptAt,
      o.lastError,
      o.lastStatus,
      o.deliveredAt,
      id,
    );
  }

  async listAlerts(limit: number): Promise<Alert[]> {
    return this.#s.listAlerts.all(limit).map(decodeAlert);
  }
}
