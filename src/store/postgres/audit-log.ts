/**
 * Audit rows on PostgreSQL, written in the transaction (or the statement) of the change they record.
 * Every PostgreSQL store that audits (identity, jobs, schedules, workers) writes them through this, so the
 * row is built in one place (SQLite's twin: sqlite/audit-log.ts). An entry goes before the change's feed
 * row: appendFeed and feedCte must come last (postgres/feed.ts).
 */
import type postgres from "postgres";
import { AUDITED_JOB_IDS } from "../identity-rows.ts";
import type { AuditEntry } from "../identity-store.ts";
import type { Sql } from "./connection.ts";

type Tx = Sql | postgres.TransactionSql;
const json = (tx: Tx, details: Record<string, unknown>) => tx.json(details as postgres.JSONValue);

export async function insertAudit(tx: Tx, entries: AuditEntry[]): Promise<void> {
  const rows = entries.map((e) => ({
    at: e.at,
    actor_id: e.actorId,
    actor_name: e.actorName,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    ip: e.ip,
    outcome: e.outcome,
    details: e.details === null ? null : json(tx, e.details),
  }));
  await tx`INSERT INTO audit_log ${tx(rows)}`;
}

/**
 * `fn` and its audit entry in one transaction: the entry is written only when `tookEffect` says the
 * change happened (a refused change leaves none), and an entry the database refuses undoes the change.
 * Without an entry, `fn` runs as it would alone (no transaction block, no extra round trip).
 */
export async function audited<T>(
  sql: Sql,
  audit: AuditEntry | undefined,
  fn: (tx: Tx) => Promise<T>,
  tookEffect: (out: T) => boolean,
): Promise<T> {
  if (!audit) return fn(sql);
  return sql.begin(async (tx) => {
    const out = await fn(tx);
    if (tookEffect(out)) await insertAudit(tx, [audit]);
    return out;
  }) as Promise<T>;
}

/**
 * An enqueue's entry as a CTE of its single statement (postgres/enqueue.ts), ending in a comma so it
 * stands before the feed's CTE: `rows` names the CTE returning the created jobs; nothing is written when
 * it created none. Its details are the entry's with the count and the first AUDITED_JOB_IDS ids of the
 * created jobs, in the order given (withCreatedJobs in identity-rows.ts builds the same for SQLite).
 */
export function auditCreatedCte(sql: Sql, rows: string, e: AuditEntry) {
  return sql`audited AS (
    INSERT INTO audit_log (at, actor_id, actor_name, action, target_type, target_id, ip, outcome, details)
    SELECT ${e.at}::bigint, ${e.actorId}::text, ${e.actorName}::text, ${e.action}::text,
      ${e.targetType}::text, ${e.targetId}::text, ${e.ip}::text, ${e.outcome}::text,
      ${json(sql, e.details ?? {})}::jsonb || jsonb_build_object('count', count(*),
        'jobIds', to_jsonb((array_agg(id ORDER BY seq))[1:${AUDITED_JOB_IDS}::int]))
    FROM ${sql(rows)} HAVING count(*) > 0),`;
}
