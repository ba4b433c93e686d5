/**
 * Every statement of the SQLite job store, prepared once per connection. Status literals are inlined so
 * partial indexes apply, and hot statements name their index (see sqlite-store.ts for why). Reads say
 * `jobs` (the view with held claims, jobs-view.ts); writes and the writer's hinted reads say `main.jobs`.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { JOB_STATE_COLUMNS } from "./rows.ts";

export type Statements = ReturnType<typeof prepare>;

export function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insertJob:
      p(`INSERT INTO main.jobs (id, queue, type, payload, status, priority, max_attempts, attempt_budget, backoff,
        timeout_ms, run_at, created_at, updated_at, idempotency_key, owner, tags, constraints, schedule_id, scheduled_time)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING RETURNING *`),
    byIdempotencyKey: p("SELECT * FROM jobs WHERE idempotency_key = ?"),
    byFire: p("SELECT * FROM jobs WHERE schedule_id = ? AND scheduled_time = ?"),
    byId: p("SELECT * FROM jobs WHERE id = ?"),
    // In seq order: the view answers held rows after the others, and the order should not tell them apart.
    byIds: p("SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY seq"),
    promote: p(
      `UPDATE main.jobs INDEXED BY jobs_due SET status = 'queued', updated_at = ? WHERE status = 'scheduled' AND run_at <= ?
      RETURNING ${JOB_STATE_COLUMNS}`,
    ),
    // A held claim is never `scheduled`: the table answers as the view would, from the index's first entry.
    nextRunAt: p(
      "SELECT MIN(run_at) AS run_at FROM main.jobs INDEXED BY jobs_due WHERE status = 'scheduled'",
    ),
    candidates: candidateStatements(db),
    /** Statements whose SQL is put together per call (lists): prepared once per shape, a bounded set. */
    cached: cachedStatements(db),
    // Each claim gets a token of its own (Claim.lease), made here: 96 random bits.
    claimMany:
      p(`UPDATE main.jobs SET status = 'running', attempts = attempts + 1, worker_id = ?, started_at = ?,
        lease_expires_at = ?, updated_at = ?, progress = NULL, lease_token = lower(hex(randomblob(12)))
      WHERE seq IN (SELECT value FROM json_each(?)) AND status = 'queued'
      RETURNING seq, attempts, lease_token`),
    // A claim the feed records but the file does not (a held claim cut short by a crash): written as a
    // lease that has run out, so the reaper ends it as the attempt it was (sqlite-store.ts, recovery).
    recoverClaim: p(`UPDATE main.jobs SET status = 'running', attempts = ?, worker_id = ?, started_at = ?,
        lease_expires_at = ?, updated_at = ?, progress = NULL, lease_token = lower(hex(randomblob(12)))
      WHERE id = ? AND status = 'queued' AND attempts = ?`),
    // Each batch item is [jobId, lease, result, exitCode, httpStatus]. The successful attempt
    // is not a job_attempts row: its exit code and HTTP status stay on the job (see listAttempts).
    // sqlite_autoindex_jobs_1 is the index of `id UNIQUE`: without the hint the planner scans by status.
    completeMany:
      p(`UPDATE main.jobs INDEXED BY sqlite_autoindex_jobs_1 SET status = 'completed', result = c.result, finished_at = ?, updated_at = ?,
        lease_expires_at = NULL, error = NULL, exit_code = c.exit_code, http_status = c.http_status
      FROM (SELECT value ->> 0 AS id, value ->> 1 AS lease, value -> 2 AS result,
              value ->> 3 AS exit_code, value ->> 4 AS http_status, value ->> 5 AS worker
            FROM json_each(?)) AS c
      WHERE jobs.id = c.id AND jobs.status = 'running' AND jobs.lease_token = c.lease
        AND jobs.worker_id = c.worker
      RETURNING ${JOB_STATE_COLUMNS}`),
    // Soft claims (soft-claims.ts) complete straight from `queued`: the claim and the completion in one
    // write. One row per statement: measured 40% cheaper than a JSON batch with RETURNING.
    completeSoft:
      p(`UPDATE main.jobs SET status = 'completed', attempts = attempts + 1, worker_id = ?, started_at = ?,
        result = ?, exit_code = ?, http_status = ?, finished_at = ?, updated_at = ?,
        lease_expires_at = NULL, error = NULL, progress = NULL
      WHERE seq = ? AND status = 'queued'`),
    // Writes soft claims as ordinary leases. Each item is [seq, startedAt, workerId, leaseUntil, token,
    // updatedAt].
    harden: p(`UPDATE main.jobs SET status = 'running', attempts = attempts + 1, worker_id = c.worker,
        started_at = c.started, lease_expires_at = c.lease, updated_at = c.updated, progress = NULL,
        lease_token = c.token
      FROM (SELECT value ->> 0 AS seq, value ->> 1 AS started, value ->> 2 AS worker, value ->> 3 AS lease,
              value ->> 4 AS token, value ->> 5 AS updated
            FROM json_each(?)) AS c
      WHERE jobs.seq = c.seq AND jobs.status = 'queued'`),
    // After the caller wrote the held claims among its leases (Holding.hardenLeases).
    leaseRow: p(`SELECT attempts, max_attempts, backoff, started_at FROM main.jobs
      WHERE id = ? AND status = 'running' AND lease_token = ? AND worker_id = ?`),
    failOne: p(`UPDATE main.jobs SET status = ?, run_at = ?, error = ?, finished_at = ?, updated_at = ?,
        lease_expires_at = NULL
      WHERE id = ? RETURNING ${JOB_STATE_COLUMNS}`),
    insertAttempt: p(`INSERT OR REPLACE INTO job_attempts
      (job_id, attempt, status, started_at, finished_at, worker_id, exit_code, http_status, error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // A held claim given back: the row was never written as running, but it must read as a released one.
    releaseHeld: p(`UPDATE main.jobs SET run_at = ?, updated_at = ?, worker_id = NULL, started_at = NULL,
        progress = NULL
      WHERE id = ? AND status = 'queued' RETURNING ${JOB_STATE_COLUMNS}`),
    releaseOne:
      p(`UPDATE main.jobs SET status = 'queued', attempts = attempts - 1, worker_id = NULL, started_at = NULL,
        lease_expires_at = NULL, run_at = ?, updated_at = ?
      WHERE id = ? AND status = 'running' AND lease_token = ? AND worker_id = ?
      RETURNING ${JOB_STATE_COLUMNS}`),
    // Each item is [jobId, lease]; answers the jobs whose lease was current (and is renewed).
    renewLeases:
      p(`UPDATE main.jobs INDEXED BY sqlite_autoindex_jobs_1 SET lease_expires_at = ?, updated_at = ?
      FROM (SELECT value ->> 0 AS id, value ->> 1 AS lease FROM json_each(?)) AS l
      WHERE jobs.id = l.id AND jobs.status = 'running' AND jobs.lease_token = l.lease AND jobs.worker_id = ?
      RETURNING jobs.id`),
    // Both after the caller wrote the held claims they could find (SqliteStore.reapExpired, reapWorkers).
    expired: p(
      "SELECT id, attempts, worker_id, lease_token FROM main.jobs INDEXED BY jobs_lease WHERE status = 'running' AND lease_expires_at < ? LIMIT ?",
    ),
    runningOfWorkers: p(`SELECT id, attempts, worker_id, lease_token FROM main.jobs INDEXED BY jobs_worker
      WHERE status = 'running' AND worker_id IN (SELECT value FROM json_each(?))`),
    setProgress: p(
      "UPDATE main.jobs SET progress = ?, updated_at = ? WHERE id = ? AND lease_token = ? AND status = 'running'",
    ),
    cancelOne: p(`UPDATE main.jobs SET status = 'cancelled', error = ?, finished_at = ?, updated_at = ?,
        lease_expires_at = NULL WHERE id = ? RETURNING *`),
    retryOne:
      p(`UPDATE main.jobs SET status = 'queued', run_at = ?, updated_at = ?, finished_at = NULL, error = NULL,
        result = NULL, worker_id = NULL, max_attempts = attempts + attempt_budget
      WHERE id = ? RETURNING *`),
    attempts: p("SELECT * FROM job_attempts WHERE job_id = ? ORDER BY attempt"),
    finalAttempt: p(`SELECT id AS job_id, attempts AS attempt, status, started_at, finished_at, worker_id,
        exit_code, http_status, NULL AS error
      FROM jobs WHERE id = ? AND status = 'completed'`),
    clearOpenMarks: p("DELETE FROM store_state WHERE key LIKE 'open:%'"),
    setState: p("INSERT OR REPLACE INTO store_state (key, value) VALUES (?, ?)"),
    deleteState: p("DELETE FROM store_state WHERE key = ?"),
    counts: p("SELECT queue, status, COUNT(*) AS n FROM jobs GROUP BY queue, status"),
    appendLog: p(`INSERT INTO job_logs (job_id, seq, at, stream, data)
      VALUES (?, COALESCE((SELECT MAX(seq) FROM job_logs WHERE job_id = ?), 0) + 1, ?, ?, ?)`),
    readLogs: p(
      "SELECT seq, at, stream, data FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    ),
  };
}

function cachedStatements(db: DatabaseSync) {
  const cache = new Map<string, StatementSync>();
  return (sql: string): StatementSync => {
    let st = cache.get(sql);
    if (!st) {
      st = db.prepare(sql);
      cache.set(sql, st);
    }
    return st;
  };
}

/**
 * How a claim's read checks constraints: `unconstrained` (one fit without labels: only rows without
 * constraints), `labels` (one fit: the row's constraints are all among the labels, a JSON object), `any`
 * (several fits, a JSON array of {l: labels, q: queues | null, t: types | null}: the row fits one).
 */
export type FitShape = "unconstrained" | "labels" | "any";

/** Every constraint of the row (a JSON object of strings) is a label of `labels`. Columns are named with
 * their table: json_each has columns of its own (`type`, `key`, `value`). */
const constraintsWithin = (labels: string) => `(jobs.constraints IS NULL OR NOT EXISTS (
    SELECT 1 FROM json_each(jobs.constraints) c
    WHERE NOT EXISTS (SELECT 1 FROM json_each(${labels}) l WHERE l.key = c.key AND l.value = c.value)))`;

const FIT_SQL: Record<FitShape, string> = {
  unconstrained: "AND constraints IS NULL",
  labels: `AND ${constraintsWithin("?")}`,
  any: `AND EXISTS (SELECT 1 FROM json_each(?) w
      WHERE (w.value ->> '$.q' IS NULL OR jobs.queue IN (SELECT value FROM json_each(w.value, '$.q')))
        AND (w.value ->> '$.t' IS NULL OR jobs.type IN (SELECT value FROM json_each(w.value, '$.t')))
        AND ${constraintsWithin("w.value, '$.l'")})`,
};

/**
 * The ready rows a claim considers, in claim order. One statement per shape (exclusion list, queue
 * filter, type filter, fit) rather than `? IS NULL OR …` terms: those made SQLite read every scanned
 * row's queue and type and nearly doubled the cost of the scan. Soft-claimed rows are still `queued` in
 * the file: the exclusion list (a JSON array of seqs) keeps them from being taken twice; seq is the
 * rowid, so it is decided on the index entry before the row is read. The floor (ready-floor.ts) starts
 * the scan after the held rows instead: a range of the index, usually with nothing left to exclude. Rows
 * no waiting worker accepts are skipped here, so any number of them cannot hide the rows behind them.
 * Rows come as arrays (claim.ts names them).
 */
function candidateStatements(db: DatabaseSync) {
  const cache = new Map<string, StatementSync>();
  return (shape: {
    exclude: boolean;
    floor: boolean;
    queues: boolean;
    types: boolean;
    fit: FitShape;
  }): StatementSync => {
    const key = `${+shape.exclude}${+shape.floor}${+shape.queues}${+shape.types}${shape.fit}`;
    let st = cache.get(key);
    if (!st) {
      st = db.prepare(`SELECT seq, id, queue, type, constraints, payload, attempts, timeout_ms, max_attempts,
          scheduled_time, owner, schedule_id, run_at, priority
        FROM main.jobs INDEXED BY jobs_ready
        WHERE status = 'queued'
          ${shape.exclude ? "AND seq NOT IN (SELECT value FROM json_each(?))" : ""}
          ${shape.floor ? "AND priority = ? AND seq >= ?" : ""}
          ${shape.queues ? "AND queue IN (SELECT value FROM json_each(?))" : ""}
          ${shape.types ? "AND type IN (SELECT value FROM json_each(?))" : ""}
          ${FIT_SQL[shape.fit]}
        ORDER BY priority DESC, seq LIMIT ?`);
      st.setReturnArrays(true);
      cache.set(key, st);
    }
    return st;
  };
}
