/**
 * IdentityStore on the node's SQLite file (the connection SqliteStore opened). node:sqlite is synchronous
 * and this process is the file's only writer (store-lock.ts), so a transaction body that reads, decides
 * and writes cannot interleave with another caller: rotations, lockout counting and insert-if-absent are
 * atomic by construction. Statements are prepared once (identity-statements.ts).
 */
import { randomBytes } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { BosunError } from "../../core/errors.ts";
import {
  auditFilter,
  decodeApiKey,
  decodeAudit,
  decodeAuthState,
  decodeSession,
  decodeUser,
  patchedUser,
  rotationOf,
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
import { type AuditWriter, audited, auditWriter } from "./audit-log.ts";
import { transaction } from "./database.ts";
import { type IdentityStatements, prepareIdentity } from "./identity-statements.ts";

type Row = Record<string, unknown>;
const toKey = (r: Row) => decodeApiKey(r, parseJson);

const usernameTaken = (err: unknown, username: string) =>
  String(err).includes("UNIQUE") && String(err).includes("users.username_key")
    ? new BosunError("USERNAME_TAKEN", `A user named "${username}" exists`, { username })
    : err;

export class SqliteIdentityStore implements IdentityStore {
  readonly #db: DatabaseSync;
  readonly #s: IdentityStatements;
  readonly #audit: AuditWriter;
  #secret: Uint8Array | null = null;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = prepareIdentity(db);
    this.#audit = auditWriter(db);
  }

  /** `fn` and its audit entry in one transaction; the entry only when fn returned neither null nor false. */
  #write<T>(audit: AuditEntry | undefined, fn: () => T): T {
    return audited(this.#db, this.#audit, audit, fn, (out) => out !== null && out !== false);
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
      const r = rotationOf(row, now);
      if (r.act === "revokeFamily") this.#s.revokeFamily.run(now, r.familyId);
      if (r.act !== "rotate") return r.outcome;
      const { previous } = r;
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
