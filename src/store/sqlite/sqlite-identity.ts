/**
 * IdentityStore on the node's SQLite file (the connection SqliteStore opened). node:sqlite is synchronous
 * and this process is the file's only writer (store-lock.ts), so a transaction body that reads, decides
 * and writes cannot interleave with another caller: rotations, lockout counting and insert-if-absent are
 * atomic by construction. Statements are prepared once, as in sqlite-schedules.ts.
 */
import { randomBytes } from "node:crypto";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { BosunError } from "../../core/errors.ts";
import {
  type AuditFilter,
  auditFilter,
  decodeApiKey,
  decodeAudit,
  decodeAuthState,
  decodeSession,
  decodeUser,
  patchedUser,
} from "../identity-rows.ts";
import {
  type ApiKeyRecord,
  type AuditEntry,
  type AuditQuery,
  type AuditRecord,
  type AuthState,
  type IdentityStore,
  type LockoutPolicy,
  type NewUser,
  type RotateOutcome,
  type SessionRecord,
  SIGNING_SECRET_BYTES,
  type UserPatch,
  type UserRecord,
  usernameKey,
} from "../identity-store.ts";
import { parseJson } from "../records.ts";
import { transaction } from "./database.ts";

type Row = Record<string, unknown>;
const toKey = (r: Row) => decodeApiKey(r, parseJson);

const AUDIT_PAGE = (where: string) =>
  `SELECT * FROM audit_log WHERE ${where} seq < ? AND at >= ? ORDER BY seq DESC LIMIT ?`;

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    audit: p(`INSERT INTO audit_log (at, actor_id, actor_name, action, target_type, target_id, ip, outcome,
        details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    auditPage: {
      all: p(AUDIT_PAGE("")),
      actor: p(AUDIT_PAGE("actor_id = ? AND")),
      action: p(AUDIT_PAGE("action = ? AND")),
      both: p(AUDIT_PAGE("actor_id = ? AND action = ? AND")),
    } satisfies Record<AuditFilter, StatementSync>,
    pruneAudit: p(`DELETE FROM audit_log WHERE seq IN
      (SELECT seq FROM audit_log INDEXED BY audit_at WHERE at < ? ORDER BY at LIMIT ?)`),

    insertUser: p(`INSERT INTO users (id, username, username_key, role, password_hash, disabled, created_at,
        updated_at, max_running, max_queued) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    user: p("SELECT * FROM users WHERE id = ?"),
    userByKey: p("SELECT * FROM users WHERE username_key = ?"),
    users: p("SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?"),
    countUsers: p("SELECT COUNT(*) AS n FROM users"),
    writeUser: p(`UPDATE users SET role = ?, password_hash = ?, disabled = ?, max_running = ?, max_queued = ?,
        credentials_version = ?, updated_at = ? WHERE id = ? RETURNING *`),
    deleteUser: p("DELETE FROM users WHERE id = ?"),
    // All right-hand sides read the row as it was: the N-th failure locks and starts the count again.
    loginFailure: p(`UPDATE users SET
        failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END,
        locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
      WHERE id = ? RETURNING failed_logins, locked_until`),
    loginSuccess: p("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?"),

    insertKey:
      p(`INSERT INTO api_keys (id, name, role, prefix, hash, owner_id, queues, created_at, expires_at,
        last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    key: p("SELECT * FROM api_keys WHERE id = ?"),
    keyByHash: p("SELECT * FROM api_keys WHERE hash = ?"),
    keys: p("SELECT * FROM api_keys ORDER BY id"),
    keysOf: p("SELECT * FROM api_keys WHERE owner_id = ? ORDER BY id"),
    revokeKey: p("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *"),
    revokeKeysOf: p("UPDATE api_keys SET revoked_at = ? WHERE owner_id = ? AND revoked_at IS NULL"),
    deleteKeysOf: p("DELETE FROM api_keys WHERE owner_id = ?"),
    touchKey: p(`UPDATE api_keys SET last_used_at = ?
      WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`),

    insertSession:
      p(`INSERT INTO sessions (id, family_id, user_id, token_hash, credentials_version, created_at,
        expires_at, rotated_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    session: p("SELECT * FROM sessions WHERE id = ?"),
    sessionByHash: p(`SELECT s.*, u.credentials_version AS owner_cv, u.disabled AS owner_disabled
      FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`),
    markRotated: p("UPDATE sessions SET rotated_at = ? WHERE id = ?"),
    familyOf: p(`SELECT family_id FROM sessions WHERE id = ?
      UNION ALL SELECT family_id FROM sessions WHERE family_id = ? LIMIT 1`),
    revokeFamily: p("UPDATE sessions SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL"),
    revokeSessionsOf: p("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"),
    pruneSessions: p(`DELETE FROM sessions WHERE id IN
      (SELECT id FROM sessions INDEXED BY sessions_expires WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`),

    // One row whatever matches: each LEFT JOIN is one primary-key lookup.
    authState: p(`SELECT u.role AS u_role, u.disabled AS u_disabled, u.credentials_version AS u_cv,
        s.user_id AS s_user, s.family_id AS s_family, s.revoked_at AS s_revoked, s.expires_at AS s_expires,
        s.credentials_version AS s_cv,
        (SELECT o.credentials_version FROM users o WHERE o.id = s.user_id) AS s_owner_cv,
        k.owner_id AS k_owner, k.role AS k_role, k.queues AS k_queues, k.revoked_at AS k_revoked,
        k.expires_at AS k_expires
      FROM (SELECT 1) AS one
      LEFT JOIN users u ON u.id = ?
      LEFT JOIN sessions s ON s.id = ?
      LEFT JOIN api_keys k ON k.id = ?`),

    secret: p("SELECT secret FROM identity_secrets WHERE name = 'signing'"),
    addSecret: p(`INSERT INTO identity_secrets (name, secret, created_at) VALUES ('signing', ?, ?)
      ON CONFLICT DO NOTHING`),
  };
}

const usernameTaken = (err: unknown, username: string) =>
  String(err).includes("UNIQUE") && String(err).includes("users.username_key")
    ? new BosunError("USERNAME_TAKEN", `A user named "${username}" exists`, { username })
    : err;

export class SqliteIdentityStore implements IdentityStore {
  readonly #db: DatabaseSync;
  readonly #s: ReturnType<typeof prepare>;
  #secret: Uint8Array | null = null;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = prepare(db);
  }

  /**
   * `fn` and its audit entry in one transaction. The entry is written only when the change took effect
   * (fn returned neither null nor false); an entry the database refuses undoes the change.
   */
  #write<T>(audit: AuditEntry | undefined, fn: () => T): T {
    return transaction(this.#db, () => {
      const out = fn();
      if (audit && out !== null && out !== false) this.#audit(audit);
      return out;
    });
  }

  #audit(e: AuditEntry): void {
    this.#s.audit.run(
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
  }

  async createUser(u: NewUser, audit?: AuditEntry): Promise<UserRecord> {
    try {
      return this.#write(audit, () =>
        decodeUser(
          this.#s.insertUser.get(
            u.id,
            u.username,
            usernameKey(u.username),
            u.role,
            u.passwordHash,
            u.disabled ? 1 : 0,
            u.createdAt,
            u.createdAt,
            u.maxRunning,
            u.maxQueued,
          )!,
        ),
      );
    } catch (err) {
      throw usernameTaken(err, u.username);
    }
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const row = this.#s.user.get(id);
    return row ? decodeUser(row) : null;
  }

  async getUserByName(username: string): Promise<UserRecord | null> {
    const row = this.#s.userByKey.get(usernameKey(username));
    return row ? decodeUser(row) : null;
  }

  async listUsers(opts: { limit: number; afterId?: string }): Promise<UserRecord[]> {
    return this.#s.users.all(opts.afterId ?? "", opts.limit).map(decodeUser);
  }

  async updateUser(
    id: string,
    patch: UserPatch,
    now: number,
    audit?: AuditEntry,
  ): Promise<UserRecord | null> {
    return this.#write(audit, () => {
      const row = this.#s.user.get(id);
      if (!row) return null;
      const { user: u, revoke } = patchedUser(decodeUser(row), patch, now);
      const saved = decodeUser(
        this.#s.writeUser.get(
          u.role,
          u.passwordHash,
          u.disabled ? 1 : 0,
          u.maxRunning,
          u.maxQueued,
          u.credentialsVersion,
          u.updatedAt,
          id,
        )!,
      );
      if (revoke) {
        this.#s.revokeSessionsOf.run(now, id);
        this.#s.revokeKeysOf.run(now, id);
      }
      return saved;
    });
  }

  async deleteUser(id: string, audit?: AuditEntry): Promise<boolean> {
    return this.#write(audit, () => {
      // Sessions go with the user (ON DELETE CASCADE); keys are owned, not referenced, so go here.
      if (Number(this.#s.deleteUser.run(id).changes) === 0) return false;
      this.#s.deleteKeysOf.run(id);
      return true;
    });
  }

  async countUsers(): Promise<number> {
    return Number(this.#s.countUsers.get()!.n);
  }

  async recordLoginFailure(
    userId: string,
    now: number,
    policy: LockoutPolicy,
    audit?: AuditEntry,
  ): Promise<{ failedLogins: number; lockedUntil: number | null } | null> {
    return this.#write(audit, () => {
      const n = policy.maxFailures;
      const row = this.#s.loginFailure.get(n, n, now + policy.lockMs, userId);
      if (!row) return null;
      return {
        failedLogins: Number(row.failed_logins),
        lockedUntil: row.locked_until == null ? null : Number(row.locked_until),
      };
    });
  }

  async recordLoginSuccess(userId: string, audit?: AuditEntry): Promise<void> {
    this.#write(audit, () => Number(this.#s.loginSuccess.run(userId).changes) > 0);
  }

  async createApiKey(k: ApiKeyRecord, audit?: AuditEntry): Promise<ApiKeyRecord> {
    return this.#write(audit, () =>
      toKey(
        this.#s.insertKey.get(
          k.id,
          k.name,
          k.role,
          k.prefix,
          k.hash,
          k.ownerId,
          k.queues === null ? null : JSON.stringify(k.queues),
          k.createdAt,
          k.expiresAt,
          k.lastUsedAt,
          k.revokedAt,
        )!,
      ),
    );
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const row = this.#s.keyByHash.get(hash);
    return row ? toKey(row) : null;
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = this.#s.key.get(id);
    return row ? toKey(row) : null;
  }

  async listApiKeys(opts: { ownerId?: string }): Promise<ApiKeyRecord[]> {
    const rows = opts.ownerId === undefined ? this.#s.keys.all() : this.#s.keysOf.all(opts.ownerId);
    return rows.map(toKey);
  }

  async revokeApiKey(id: string, now: number, audit?: AuditEntry): Promise<ApiKeyRecord | null> {
    return this.#write(audit, () => {
      const row = this.#s.revokeKey.get(now, id);
      return row ? toKey(row) : null;
    });
  }

  async touchApiKeys(entries: { id: string; lastUsedAt: number }[]): Promise<void> {
    if (entries.length === 0) return;
    transaction(this.#db, () => {
      for (const e of entries) this.#s.touchKey.run(e.lastUsedAt, e.id, e.lastUsedAt);
    });
  }

  async createSession(s: SessionRecord, audit?: AuditEntry): Promise<SessionRecord> {
    return this.#write(audit, () => this.#insertSession(s));
  }

  #insertSession(s: SessionRecord): SessionRecord {
    return decodeSession(
      this.#s.insertSession.get(
        s.id,
        s.familyId,
        s.userId,
        s.tokenHash,
        s.credentialsVersion,
        s.createdAt,
        s.expiresAt,
        s.rotatedAt,
        s.revokedAt,
      )!,
    );
  }

  async rotateSession(tokenHash: string, next: SessionRecord, now: number): Promise<RotateOutcome> {
    return transaction(this.#db, (): RotateOutcome => {
      const row = this.#s.sessionByHash.get(tokenHash);
      if (!row) return { kind: "unknown" };
      const previous = decodeSession(row);
      const stale =
        previous.revokedAt !== null ||
        Number(row.owner_cv) !== previous.credentialsVersion ||
        Number(row.owner_disabled) === 1;
      if (previous.rotatedAt !== null || stale) {
        this.#s.revokeFamily.run(now, previous.familyId);
        return { kind: previous.rotatedAt !== null ? "reused" : "revoked", familyId: previous.familyId };
      }
      if (previous.expiresAt <= now) return { kind: "expired" };
      this.#s.markRotated.run(now, previous.id);
      const session = this.#insertSession({
        ...next,
        familyId: previous.familyId,
        userId: previous.userId,
        credentialsVersion: previous.credentialsVersion,
      });
      return { kind: "rotated", previous, session };
    });
  }

  async revokeSession(idOrFamilyId: string, now: number, audit?: AuditEntry): Promise<boolean> {
    return this.#write(audit, () => {
      const row = this.#s.familyOf.get(idOrFamilyId, idOrFamilyId);
      if (!row) return false;
      this.#s.revokeFamily.run(now, row.family_id as string);
      return true;
    });
  }

  async revokeUserSessions(userId: string, now: number, audit?: AuditEntry): Promise<number> {
    return this.#write(audit, () => Number(this.#s.revokeSessionsOf.run(now, userId).changes));
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = this.#s.session.get(id);
    return row ? decodeSession(row) : null;
  }

  async pruneSessions(before: number, limit: number): Promise<number> {
    return Number(this.#s.pruneSessions.run(before, limit).changes);
  }

  async authState(userId: string, sessionId: string | null, keyId: string | null): Promise<AuthState> {
    return decodeAuthState(this.#s.authState.get(userId, sessionId, keyId)!, parseJson);
  }

  async signingSecret(): Promise<Uint8Array> {
    if (this.#secret) return this.#secret;
    const secret = transaction(this.#db, () => {
      this.#s.addSecret.run(randomBytes(SIGNING_SECRET_BYTES), Date.now());
      return this.#s.secret.get()!.secret as Uint8Array;
    });
    this.#secret = secret;
    return secret;
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    transaction(this.#db, () => {
      for (const e of entries) this.#audit(e);
    });
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const filter = auditFilter(q);
    const by = { all: [], actor: [q.actorId], action: [q.action], both: [q.actorId, q.action] }[filter];
    const rows = this.#s.auditPage[filter].all(
      ...(by as string[]),
      q.beforeSeq ?? Number.MAX_SAFE_INTEGER,
      q.since ?? Number.MIN_SAFE_INTEGER,
      q.limit,
    );
    return rows.map((r) => decodeAudit(r, parseJson));
  }

  async pruneAudit(before: number, limit: number): Promise<number> {
    return Number(this.#s.pruneAudit.run(before, limit).changes);
  }
}
