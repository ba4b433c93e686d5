/**
 * Row → record decoders of the identity tables, shared by both backends (as records.ts is for the rest):
 * they differ only in how JSON columns arrive (`json`) and in booleans (0/1 in SQLite).
 */
import type {
  ApiKeyRecord,
  AuditEntry,
  AuditRecord,
  AuthState,
  Role,
  RotateOutcome,
  SessionRecord,
  UserPatch,
  UserRecord,
} from "./identity-store.ts";
import { bool, type JsonColumn, num, str } from "./records.ts";

type Row = Record<string, unknown>;

export const decodeUser = (r: Row): UserRecord => ({
  id: r.id as string,
  username: r.username as string,
  role: r.role as Role,
  passwordHash: r.password_hash as string,
  disabled: bool(r.disabled),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  failedLogins: Number(r.failed_logins),
  lockedUntil: num(r.locked_until),
  credentialsVersion: Number(r.credentials_version),
  maxRunning: num(r.max_running),
  maxQueued: num(r.max_queued),
});

export const decodeApiKey = (r: Row, json: JsonColumn): ApiKeyRecord => ({
  id: r.id as string,
  name: r.name as string,
  role: r.role as Role,
  prefix: r.prefix as string,
  hash: r.hash as string,
  ownerId: r.owner_id as string,
  queues: r.queues == null ? null : json<string[]>(r.queues),
  createdAt: Number(r.created_at),
  expiresAt: num(r.expires_at),
  lastUsedAt: num(r.last_used_at),
  revokedAt: num(r.revoked_at),
});

export const decodeSession = (r: Row): SessionRecord => ({
  id: r.id as string,
  familyId: r.family_id as string,
  userId: r.user_id as string,
  tokenHash: r.token_hash as string,
  credentialsVersion: Number(r.credentials_version),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  rotatedAt: num(r.rotated_at),
  revokedAt: num(r.revoked_at),
});

export const decodeAudit = (r: Row, json: JsonColumn): AuditRecord => ({
  seq: Number(r.seq),
  at: Number(r.at),
  actorId: str(r.actor_id),
  actorName: str(r.actor_name),
  action: r.action as string,
  targetType: str(r.target_type),
  targetId: str(r.target_id),
  ip: str(r.ip),
  outcome: r.outcome as AuditEntry["outcome"],
  details: r.details == null ? null : json<Record<string, unknown>>(r.details),
});

/**
 * The row of the authState query (both backends select the same aliases): u_* the user, s_* the session,
 * k_* the key. A session is revoked when it was, or when its user's credentials moved past the version it
 * was opened under (or its user is gone).
 */
export const decodeAuthState = (r: Row, json: JsonColumn): AuthState => ({
  user:
    r.u_role == null
      ? null
      : {
          role: r.u_role as Role,
          disabled: bool(r.u_disabled),
          credentialsVersion: Number(r.u_cv),
        },
  session:
    r.s_user == null
      ? null
      : {
          userId: r.s_user as string,
          familyId: r.s_family as string,
          revoked: r.s_revoked != null || r.s_owner_cv == null || Number(r.s_owner_cv) !== Number(r.s_cv),
          expiresAt: Number(r.s_expires),
        },
  key:
    r.k_owner == null
      ? null
      : {
          ownerId: r.k_owner as string,
          role: r.k_role as Role,
          queues: r.k_queues == null ? null : json<string[]>(r.k_queues),
          revoked: r.k_revoked != null,
          expiresAt: num(r.k_expires),
        },
});

/** The audit filter a query uses: each has its own statement, so each can use its own index. */
export type AuditFilter = "all" | "actor" | "action" | "both";

export const auditFilter = (q: { actorId?: string; action?: string }): AuditFilter =>
  q.actorId !== undefined
    ? q.action !== undefined
      ? "both"
      : "actor"
    : q.action !== undefined
      ? "action"
      : "all";

/** Whether updateUser's patch kills the user's tokens: a new password, or disabling an enabled user. */
export const revokesCredentials = (before: UserRecord, patch: UserPatch): boolean =>
  patch.passwordHash !== undefined || (patch.disabled === true && !before.disabled);

/** The user updateUser writes: the patch applied, credentialsVersion bumped when credentials die. */
export function patchedUser(
  before: UserRecord,
  patch: UserPatch,
  now: number,
): { user: UserRecord; revoke: boolean } {
  const revoke = revokesCredentials(before, patch);
  return {
    revoke,
    user: {
      ...before,
      role: patch.role ?? before.role,
      passwordHash: patch.passwordHash ?? before.passwordHash,
      disabled: patch.disabled ?? before.disabled,
      maxRunning: patch.maxRunning === undefined ? before.maxRunning : patch.maxRunning,
      maxQueued: patch.maxQueued === undefined ? before.maxQueued : patch.maxQueued,
      credentialsVersion: before.credentialsVersion + (revoke ? 1 : 0),
      updatedAt: now,
    },
  };
}

/** How many job ids an entry for enqueued jobs lists at most; `count` says how many there were. */
export const AUDITED_JOB_IDS = 100;

/**
 * The entry of an enqueue (Store.enqueue) as written: its details say how many jobs the call created
 * and list the first AUDITED_JOB_IDS of their ids, in the order given (PostgreSQL builds the same in SQL:
 * postgres/audit-log.ts).
 */
export const withCreatedJobs = (e: AuditEntry, ids: string[]): AuditEntry => ({
  ...e,
  details: { ...e.details, count: ids.length, jobIds: ids.slice(0, AUDITED_JOB_IDS) },
});

/**
 * What a refresh does with the session its token names, decided alike on both backends: a token already
 * rotated (stolen, or replayed) or a session its user's credentials moved past revokes the whole family;
 * an expired one is refused; else it rotates.
 */
export function rotationOf(
  row: Row,
  now: number,
):
  | { act: "revokeFamily"; familyId: string; outcome: RotateOutcome }
  | { act: "refuse"; outcome: RotateOutcome }
  | { act: "rotate"; previous: SessionRecord } {
  const previous = decodeSession(row);
  const stale =
    previous.revokedAt !== null ||
    Number(row.owner_cv) !== previous.credentialsVersion ||
    bool(row.owner_disabled);
  if (previous.rotatedAt !== null || stale)
    return {
      act: "revokeFamily",
      familyId: previous.familyId,
      outcome: { kind: previous.rotatedAt !== null ? "reused" : "revoked", familyId: previous.familyId },
    };
  if (previous.expiresAt <= now) return { act: "refuse", outcome: { kind: "expired" } };
  return { act: "rotate", previous };
}
