/**
 * Enqueue on PostgreSQL: one multi-row INSERT and its changes in the feed, in one transaction on
 * `durable`, a pool whose sessions commit synchronously (Bosun's other sessions do not): an accepted job
 * is on disk when the API answers.
 */
import type postgres from "postgres";
import type { NewJob } from "../../core/job.ts";
import type { AuditEntry } from "../identity-store.ts";
import type { EnqueueOutcome } from "../store.ts";
import { auditCreatedCte } from "./audit-log.ts";
import type { Sql } from "./connection.ts";
import { feedCte } from "./feed.ts";
import { jsonOrNull, toJob } from "./rows.ts";

const ENQUEUE = { event: "enqueue", from: null, to: ["queued", "scheduled"] } as const;

export async function enqueueJobs(
  sql: Sql,
  durable: Sql,
  jobs: NewJob[],
  now: number,
  audit?: AuditEntry,
): Promise<EnqueueOutcome[]> {
  if (jobs.length === 0) return [];
  const out: EnqueueOutcome[] = [];
  // One multi-row INSERT; conflicts (idempotency key, schedule fire) are looked up afterwards.
  const rows = jobs.map((j) => ({
    id: j.id,
    queue: j.queue,
    type: j.type,
    payload: sql.json((j.payload ?? null) as postgres.JSONValue),
    status: j.runAt > now ? "scheduled" : "queued",
    priority: j.priority,
    max_attempts: j.maxAttempts,
    attempt_budget: j.maxAttempts,
    backoff: sql.json(j.backoff as unknown as postgres.JSONValue),
    timeout_ms: j.timeoutMs,
    run_at: j.runAt,
    created_at: now,
    updated_at: now,
    idempotency_key: j.idempotencyKey,
    owner: j.owner,
    tags: jsonOrNull(j.tags) === null ? null : sql.json(j.tags),
    constraints: jsonOrNull(j.constraints) === null ? null : sql.json(j.constraints),
    schedule_id: j.scheduleId,
    scheduled_time: j.scheduledTime,
  }));
  // One statement: the jobs, the audit entry if any, and their feed rows (a job is created queued or
  // scheduled, see above). Without an entry the statement is the same as before audits existed.
  const audited = audit ? auditCreatedCte(sql, "created", audit) : sql``;
  const inserted = await durable`WITH created AS (
      INSERT INTO jobs ${sql(rows)} ON CONFLICT DO NOTHING RETURNING *),${audited}
    ${feedCte(sql, "created", ENQUEUE, now)}
    SELECT * FROM created`;
  const byId = new Map(inserted.map((r) => [r.id as string, r]));
  // Conflicts (idempotency key, schedule fire) read the row that won, committed before our INSERT.
  for (const j of jobs) {
    const row = byId.get(j.id);
    if (row) {
      out.push({ job: toJob(row), created: true });
      continue;
    }
    const [existing] =
      j.idempotencyKey !== null
        ? await sql`SELECT * FROM jobs WHERE idempotency_key = ${j.idempotencyKey}`
        : await sql`SELECT * FROM jobs WHERE schedule_id = ${j.scheduleId} AND scheduled_time = ${j.scheduledTime}`;
    if (!existing) throw new Error(`enqueue conflict without an existing row for job ${j.id}`);
    out.push({ job: toJob(existing), created: false });
  }
  return out;
}
