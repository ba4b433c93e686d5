/**
 * Audit rows on SQLite, written inside the transaction of the change they record. Every SQLite store that
 * audits (identity, jobs, schedules, workers) writes them through this, so the row is built in one place
 * (PostgreSQL's twin: postgres/audit-log.ts).
 */
import type { DatabaseSync } from "node:sqlite";
import { withCreatedJobs } from "../identity-rows.ts";
import type { AuditEntry } from "../identity-store.ts";
import type { EnqueueOutcome } from "../store.ts";
import { transaction } from "./database.ts";

/** Inserts one entry; call it inside the transaction of the change the entry records. */
export type AuditWriter = (e: AuditEntry) => void;

/** The INSERT is prepared once per connection (a prepare costs about what the insert does). */
export function auditWriter(db: DatabaseSync): AuditWriter {
  const insert = db.prepare(`INSERT INTO audit_log (at, actor_id, actor_name, action, target_type, target_id,
      ip, outcome, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  return (e) => {
    insert.run(
      e.at,
      e.actorId,
      e.actorName,
      e.action,
      e.targetType,
      e.targetId,
      e.ip,
      e.outcome,
      e.details === null ? null : JSON.stringify(e.details),
    );
  };
}

/**
 * `fn` and its audit entry in one transaction: the entry is written only when `tookEffect` says the
 * change happened (a refused change leaves none), and an entry the database refuses undoes the change.
 */
export function audited<T>(
  db: DatabaseSync,
  write: AuditWriter,
  audit: AuditEntry | undefined,
  fn: () => T,
  tookEffect: (out: T) => boolean,
): T {
  return transaction(db, () => {
    const out = fn();
    if (audit && tookEffect(out)) write(audit);
    return out;
  });
}

/** An enqueue's entry, inside its transaction: written when it created a job (withCreatedJobs). */
export function auditCreated(write: AuditWriter, audit: AuditEntry, outcomes: EnqueueOutcome[]): void {
  const ids = outcomes.flatMap((o) => (o.created ? [o.job.id] : []));
  if (ids.length > 0) write(withCreatedJobs(audit, ids));
}
