/**
 * Audit entries as the services behind every entry point build them (identity-service.ts, job-access.ts,
 * scheduler/schedule-access.ts, worker-service.ts): who (the principal), what (an action named in
 * docs/security.md, "Audit log"), on what (the target), from where (the request's origin). The store
 * writes each one in the same transaction as the change it records, and only when the change took
 * effect; internal callers (scheduler fires, alerts, recovery, the embedded SDK) pass none.
 */
import type { Principal } from "../auth/principal.ts";
import type { AuditEntry } from "../store/identity-store.ts";

/** Where a request came from, for the audit log. */
export interface Origin {
  ip: string | null;
}

/** A caller that has no request (tests, internal callers acting for a principal). */
export const NO_ORIGIN: Origin = Object.freeze({ ip: null });

export function auditEntry(
  at: number,
  p: Principal | null,
  action: string,
  origin: Origin,
  more: Partial<AuditEntry> = {},
): AuditEntry {
  return {
    at,
    actorId: p?.id ?? null,
    actorName: p?.name ?? null,
    action,
    targetType: null,
    targetId: null,
    ip: origin.ip,
    outcome: "ok",
    details: null,
    ...more,
  };
}
