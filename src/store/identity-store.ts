/**
 * The durable part of identity and access (issue 12): users, API keys, refresh-token sessions, the token
 * signing secret and the audit log, on both backends (sqlite/sqlite-identity.ts, postgres/pg-identity.ts;
 * one contract, test/store/identity-conformance.ts). Decisions (roles, policy, hashing, JWTs) live in
 * src/auth/; this module only stores and answers, atomically.
 *
 * Rules every backend keeps:
 * - Times are epoch milliseconds from the caller's clock, never the database's.
 * - Every mutating method takes an optional audit entry, written in the same transaction as the change,
 *   and only when the change took effect: a refused or empty mutation (duplicate username, unknown id)
 *   leaves no audit row.
 * - Secrets are stored as the caller hands them (password and token hashes); the signing secret is the
 *   one raw secret here, readable by whoever can read the database.
 * - A session is dead once its user's credentialsVersion has moved past the one it was opened under, so a
 *   password change or a disable kills sessions a racing login or refresh created after the revocation.
 */

export type Role = "admin" | "operator" | "member" | "viewer" | "worker";

export interface UserRecord {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  failedLogins: number;
  lockedUntil: number | null;
  /** Bumped when the password changes or the user is disabled: tokens minted under an older value are dead. */
  credentialsVersion: number;
  /** Per-user limits set by an admin (quotas issue); null = config defaults. */
  maxRunning: number | null;
  maxQueued: number | null;
}

export type NewUser = Omit<UserRecord, "failedLogins" | "lockedUntil" | "credentialsVersion" | "updatedAt">;

/** Fields updateUser changes; absent = unchanged, null (limits) = back to the config default. */
export interface UserPatch {
  role?: Role;
  passwordHash?: string;
  disabled?: boolean;
  maxRunning?: number | null;
  maxQueued?: number | null;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  /** The key's visible start (`bsn_…`), shown in lists and recognised by secret scanners. */
  prefix: string;
  /** The key's hash: the only form of the key stored. Unique. */
  hash: string;
  ownerId: string;
  /** Queues a worker key may poll; null = any. */
  queues: string[] | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** One refresh token of a family: each rotation adds the next row and marks this one rotated. */
export interface SessionRecord {
  id: string;
  familyId: string;
  userId: string;
  tokenHash: string;
  /** The user's credentialsVersion this session was opened under (the one the password was checked against). */
  credentialsVersion: number;
  createdAt: number;
  expiresAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
}

export type RotateOutcome =
  /** `session` is `next` as stored: its familyId, userId and credentialsVersion are the previous one's. */
  | { kind: "rotated"; previous: SessionRecord; session: SessionRecord }
  /** The token had been rotated already (a copy is in someone else's hands): the whole family is revoked. */
  | { kind: "reused"; familyId: string }
  /** The session was revoked, its user disabled or its credentials changed: the whole family is revoked. */
  | { kind: "revoked"; familyId: string }
  | { kind: "expired" }
  | { kind: "unknown" };

export interface AuditEntry {
  at: number;
  actorId: string | null;
  actorName: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  outcome: "ok" | "denied" | "failed";
  details: Record<string, unknown> | null;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
}

export interface AuditQuery {
  actorId?: string;
  action?: string;
  /** Entries at or after this time. */
  since?: number;
  /** Keyset cursor: entries with a smaller seq (the last seq of the previous page). */
  beforeSeq?: number;
  limit: number;
}

/**
 * What a per-request check needs, read in one query (the caller caches it briefly). Expiry is left to the
 * caller's clock: expiresAt is given, `revoked` is not time-dependent.
 */
export interface AuthState {
  /** null: no such user. */
  user: { role: Role; disabled: boolean; credentialsVersion: number } | null;
  /** null: no session id given, or no such session. `revoked` includes "its credentials moved on". */
  session: { userId: string; familyId: string; revoked: boolean; expiresAt: number } | null;
  /** null: no key id given, or no such key (deleted with its owner). */
  key: {
    ownerId: string;
    role: Role;
    queues: string[] | null;
    revoked: boolean;
    expiresAt: number | null;
  } | null;
}

export interface LockoutPolicy {
  /** Consecutive failures that lock the account. */
  maxFailures: number;
  lockMs: number;
}

export interface IdentityStore {
  /** Refuses a username taken in any letter case with USERNAME_TAKEN. credentialsVersion starts at 1. */
  createUser(u: NewUser, audit?: AuditEntry): Promise<UserRecord>;
  getUser(id: string): Promise<UserRecord | null>;
  /** Case-insensitive (usernameKey). */
  getUserByName(username: string): Promise<UserRecord | null>;
  /** By id (creation order), keyset-paged. */
  listUsers(opts: { limit: number; afterId?: string }): Promise<UserRecord[]>;
  /**
   * null when there is no such user. A new password, or disabling an enabled user, bumps
   * credentialsVersion and revokes the user's sessions and API keys in the same transaction.
   */
  updateUser(id: string, patch: UserPatch, now: number, audit?: AuditEntry): Promise<UserRecord | null>;
  /** Deletes the user with its sessions and API keys. */
  deleteUser(id: string, audit?: AuditEntry): Promise<boolean>;
  countUsers(): Promise<number>;

  /**
   * One more consecutive failure, atomically. The maxFailures-th sets lockedUntil = now + lockMs and
   * resets the counter to 0, so after the lock the user has maxFailures tries again. null: no such user.
   */
  recordLoginFailure(
    userId: string,
    now: number,
    policy: LockoutPolicy,
    audit?: AuditEntry,
  ): Promise<{ failedLogins: number; lockedUntil: number | null } | null>;
  /** Clears the failure count and any lock. */
  recordLoginSuccess(userId: string, audit?: AuditEntry): Promise<void>;

  createApiKey(k: ApiKeyRecord, audit?: AuditEntry): Promise<ApiKeyRecord>;
  getApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  getApiKey(id: string): Promise<ApiKeyRecord | null>;
  /** By id (creation order). */
  listApiKeys(opts: { ownerId?: string }): Promise<ApiKeyRecord[]>;
  /** Keeps the first revokedAt of a key revoked twice. null: no such key. */
  revokeApiKey(id: string, now: number, audit?: AuditEntry): Promise<ApiKeyRecord | null>;
  /** Best effort and batched: lastUsedAt only moves forward; a key another writer holds is skipped. */
  touchApiKeys(entries: { id: string; lastUsedAt: number }[]): Promise<void>;

  createSession(s: SessionRecord, audit?: AuditEntry): Promise<SessionRecord>;
  /**
   * Uses the refresh token once. Atomic across concurrent callers and nodes: of two rotations of one
   * token exactly one is "rotated", the other "reused". Checks in order: reused, revoked, expired.
   */
  rotateSession(tokenHash: string, next: SessionRecord, now: number): Promise<RotateOutcome>;
  /** Revokes the whole family of a session, given the session's id or the family's. false: none matched. */
  revokeSession(idOrFamilyId: string, now: number, audit?: AuditEntry): Promise<boolean>;
  /** Revokes every session of the user; the number newly revoked. */
  revokeUserSessions(userId: string, now: number, audit?: AuditEntry): Promise<number>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Deletes up to `limit` sessions that expired before `before` (rotated ones included). */
  pruneSessions(before: number, limit: number): Promise<number>;

  authState(userId: string, sessionId: string | null, keyId: string | null): Promise<AuthState>;

  /** 32 random bytes made once per database and shared by every node (race-safe insert-if-absent). */
  signingSecret(): Promise<Uint8Array>;

  appendAudit(entries: AuditEntry[]): Promise<void>;
  /** Newest first. */
  listAudit(q: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes up to `limit` of the oldest entries before `before`; the number deleted. */
  pruneAudit(before: number, limit: number): Promise<number>;
}

/**
 * The form of a username that uniqueness and lookups use, the same on both backends (SQLite's lower()
 * folds ASCII only, PostgreSQL's follows the collation): Unicode NFC, then lower case.
 */
export const usernameKey = (username: string): string => username.normalize("NFC").toLowerCase();

/** Length of the signing secret in bytes (HS256 wants at least 32). */
export const SIGNING_SECRET_BYTES = 32;
