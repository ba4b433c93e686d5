/**
 * IdentityStore on PostgreSQL, shared by every node; the same contract as sqlite/sqlite-identity.ts
 * (test/store/identity-conformance.ts).
 *
 * Writes commit synchronously (SET LOCAL synchronous_commit): the store's pool commits asynchronously for
 * claims and finishes, but a revocation or a password change forgotten by a crash would bring a dead
 * credential back. Only touchApiKeys, a best-effort stamp, keeps the pool's setting.
 *
 * Every change to a user's sessions first locks the user's row (FOR NO KEY UPDATE, which foreign-key
 * checks do not wait for): one lock order, so no deadlocks, and a revocation that waited for a rotation
 * sees the session that rotation inserted (each statement of a READ COMMITTED transaction reads what
 * committed before it started). Of two rotations of one token, the second reads the token as rotated.
 */
import { randomBytes } from "node:crypto";
import type { TransactionSql } from "postgres";
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
import { parsedJson } from "../records.ts";
import { insertAudit } from "./audit-log.ts";
import type { Sql } from "./connection.ts";
import type { PostgresStore } from "./postgres-store.ts";

type Row = Record<string, unknown>;
type Tx = TransactionSql;
const toKey = (r: Row) => decodeApiKey(r, parsedJson);

const TEXT = 25;
const BIGINT = 20;

const usernameTaken = (err: unknown, username: string) => {
  const e = err as { code?: string; constraint_name?: string };
  return e.code === "23505" && e.constraint_name === "users_username_key_key"
    ? new BosunError("USERNAME_TAKEN", `A user named "${username}" exists`, { username })
    : err;
};

export class PgIdentityStore implements IdentityStore {
  readonly #sql: Sql;
  #secret: Uint8Array | null = null;

  constructor(store: PostgresStore) {
    this.#sql = store.sql;
  }

  /**
   * `fn` and its audit entry in one durable transaction. The entry is written only when the change took
   * effect (fn returned neither null nor false); an entry the database refuses undoes the change.
   */
  async #write<T>(audit: AuditEntry | undefined, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#sql.begin(async (tx) => {
      await tx`SET LOCAL synchronous_commit = on`;
      const out = await fn(tx);
      if (audit && out !== null && out !== false) await insertAudit(tx, [audit]);
      return out;
    }) as Promise<T>;
  }

  /** The lock every change to a user's sessions takes first; false: the user is gone. */
  async #lockUser(tx: Tx, userId: string): Promise<boolean> {
    return (await tx`SELECT 1 FROM users WHERE id = ${userId} FOR NO KEY UPDATE`).length > 0;
  }

  async createUser(u: NewUser, audit?: AuditEntry): Promise<UserRecord> {
    try {
      return await this.#write(audit, async (tx) => {
        const [row] = await tx`INSERT INTO users (id, username, username_key, role, password_hash, disabled,
            created_at, updated_at, max_running, max_queued)
          VALUES (${u.id}, ${u.username}, ${usernameKey(u.username)}, ${u.role}, ${u.passwordHash},
            ${u.disabled}, ${u.createdAt}, ${u.createdAt}, ${u.maxRunning}, ${u.maxQueued})
          RETURNING *`;
        return decodeUser(row!);
      });
    } catch (err) {
      throw usernameTaken(err, u.username);
    }
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const [row] = await this.#sql`SELECT * FROM users WHERE id = ${id}`;
    return row ? decodeUser(row) : null;
  }

  async getUserByName(username: string): Promise<UserRecord | null> {
    const [row] = await this.#sql`SELECT * FROM users WHERE username_key = ${usernameKey(username)}`;
    return row ? decodeUser(row) : null;
  }

  async listUsers(opts: { limit: number; afterId?: string }): Promise<UserRecord[]> {
    const rows = await this.#sql`SELECT * FROM users WHERE id > ${opts.afterId ?? ""}
      ORDER BY id LIMIT ${opts.limit}`;
    return rows.map(decodeUser);
  }

  async updateUser(
    id: string,
    patch: UserPatch,
    now: number,
    audit?: AuditEntry,
  ): Promise<UserRecord | null> {
    return this.#write(audit, async (tx) => {
      const [row] = await tx`SELECT * FROM users WHERE id = ${id} FOR NO KEY UPDATE`;
      if (!row) return null;
      const { user: u, revoke } = patchedUser(decodeUser(row), patch, now);
      const [saved] = await tx`UPDATE users SET role = ${u.role}, password_hash = ${u.passwordHash},
          disabled = ${u.disabled}, max_running = ${u.maxRunning}, max_queued = ${u.maxQueued},
          credentials_version = ${u.credentialsVersion}, updated_at = ${u.updatedAt}
        WHERE id = ${id} RETURNING *`;
      if (revoke) {
        await tx`UPDATE sessions SET revoked_at = ${now} WHERE user_id = ${id} AND revoked_at IS NULL`;
        await tx`UPDATE api_keys SET revoked_at = ${now} WHERE owner_id = ${id} AND revoked_at IS NULL`;
      }
      return decodeUser(saved!);
    });
  }

  async deleteUser(id: string, audit?: AuditEntry): Promise<boolean> {
    return this.#write(audit, async (tx) => {
      // Sessions go with the user (ON DELETE CASCADE); keys are owned, not referenced, so go here.
      if ((await tx`DELETE FROM users WHERE id = ${id}`).count === 0) return false;
      await tx`DELETE FROM api_keys WHERE owner_id = ${id}`;
      return true;
    });
  }

  async countUsers(): Promise<number> {
    const [row] = await this.#sql`SELECT count(*)::int AS n FROM users`;
    return Number(row!.n);
  }

  async recordLoginFailure(
    userId: string,
    now: number,
    policy: LockoutPolicy,
    audit?: AuditEntry,
  ): Promise<{ failedLogins: number; lockedUntil: number | null } | null> {
    const n = policy.maxFailures;
    return this.#write(audit, async (tx) => {
      // All right-hand sides read the row as it was: the N-th failure locks and starts the count again.
      const [row] = await tx`UPDATE users SET
          failed_logins = CASE WHEN failed_logins + 1 >= ${n} THEN 0 ELSE failed_logins + 1 END,
          locked_until = CASE WHEN failed_logins + 1 >= ${n} THEN ${now + policy.lockMs}::bigint
            ELSE locked_until END
        WHERE id = ${userId} RETURNING failed_logins, locked_until`;
      if (!row) return null;
      return {
        failedLogins: Number(row.failed_logins),
        lockedUntil: row.locked_until == null ? null : Number(row.locked_until),
      };
    });
  }

  async recordLoginSuccess(userId: string, audit?: AuditEntry): Promise<void> {
    await this.#write(
      audit,
      async (tx) =>
        (await tx`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ${userId}`).count > 0,
    );
  }

  async createApiKey(k: ApiKeyRecord, audit?: AuditEntry): Promise<ApiKeyRecord> {
    return this.#write(audit, async (tx) => {
      const row = {
        id: k.id,
        name: k.name,
        role: k.role,
        prefix: k.prefix,
        hash: k.hash,
        owner_id: k.ownerId,
        queues: k.queues === null ? null : tx.json(k.queues),
        created_at: k.createdAt,
        expires_at: k.expiresAt,
        last_used_at: k.lastUsedAt,
        revoked_at: k.revokedAt,
      };
      const [saved] = await tx`INSERT INTO api_keys ${tx(row)} RETURNING *`;
      return toKey(saved!);
    });
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const [row] = await this.#sql`SELECT * FROM api_keys WHERE hash = ${hash}`;
    return row ? toKey(row) : null;
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const [row] = await this.#sql`SELECT * FROM api_keys WHERE id = ${id}`;
    return row ? toKey(row) : null;
  }

  async listApiKeys(opts: { ownerId?: string }): Promise<ApiKeyRecord[]> {
    const rows =
      opts.ownerId === undefined
        ? await this.#sql`SELECT * FROM api_keys ORDER BY id`
        : await this.#sql`SELECT * FROM api_keys WHERE owner_id = ${opts.ownerId} ORDER BY id`;
    return rows.map(toKey);
  }

  async revokeApiKey(id: string, now: number, audit?: AuditEntry): Promise<ApiKeyRecord | null> {
    return this.#write(audit, async (tx) => {
      const [row] = await tx`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${now}::bigint)
        WHERE id = ${id} RETURNING *`;
      return row ? toKey(row) : null;
    });
  }

  async touchApiKeys(entries: { id: string; lastUsedAt: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const sql = this.#sql;
    const ids = sql.array(
      entries.map((e) => e.id),
      TEXT,
    );
    const times = sql.array(
      entries.map((e) => e.lastUsedAt),
      BIGINT,
    );
    // SKIP LOCKED: nodes stamping the same keys in different orders never wait for (or deadlock on) each
    // other; a key another writer holds just keeps its older stamp until the next batch.
    await sql`UPDATE api_keys k SET last_used_at = u.t
      FROM (SELECT id, max(t) AS t FROM unnest(${ids}::text[], ${times}::bigint[]) AS x(id, t) GROUP BY id) u
      WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.t)
        AND k.id IN (SELECT id FROM api_keys WHERE id = ANY(${ids}::text[]) FOR UPDATE SKIP LOCKED)`;
  }

  async createSession(s: SessionRecord, audit?: AuditEntry): Promise<SessionRecord> {
    return this.#write(audit, (tx) => this.#insertSession(tx, s));
  }

  async #insertSession(tx: Tx, s: SessionRecord): Promise<SessionRecord> {
    const [row] = await tx`INSERT INTO sessions (id, family_id, user_id, token_hash, credentials_version,
        created_at, expires_at, rotated_at, revoked_at)
      VALUES (${s.id}, ${s.familyId}, ${s.userId}, ${s.tokenHash}, ${s.credentialsVersion}, ${s.createdAt},
        ${s.expiresAt}, ${s.rotatedAt}, ${s.revokedAt})
      RETURNING *`;
    return decodeSession(row!);
  }

  async rotateSession(tokenHash: string, next: SessionRecord, now: number): Promise<RotateOutcome> {
    return this.#write(undefined, async (tx): Promise<RotateOutcome> => {
      const [found] = await tx`SELECT user_id FROM sessions WHERE token_hash = ${tokenHash}`;
      if (!found || !(await this.#lockUser(tx, found.user_id as string))) return { kind: "unknown" };
      // Read again under the lock: a rotation that got the lock first has committed by now.
      const [row] = await tx`SELECT s.*, u.credentials_version AS owner_cv, u.disabled AS owner_disabled
        FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ${tokenHash}`;
      if (!row) return { kind: "unknown" };
      const r = rotationOf(row, now);
      if (r.act === "revokeFamily")
        await tx`UPDATE sessions SET revoked_at = ${now}
          WHERE family_id = ${r.familyId} AND revoked_at IS NULL`;
      if (r.act !== "rotate") return r.outcome;
      const { previous } = r;
      await tx`UPDATE sessions SET rotated_at = ${now} WHERE id = ${previous.id}`;
      const session = await this.#insertSession(tx, {
        ...next,
        familyId: previous.familyId,
        userId: previous.userId,
        credentialsVersion: previous.credentialsVersion,
      });
      return { kind: "rotated", previous, session };
    });
  }

  async revokeSession(idOrFamilyId: string, now: number, audit?: AuditEntry): Promise<boolean> {
    return this.#write(audit, async (tx) => {
      const [s] = await tx`SELECT family_id, user_id FROM sessions WHERE id = ${idOrFamilyId}
        UNION ALL SELECT family_id, user_id FROM sessions WHERE family_id = ${idOrFamilyId} LIMIT 1`;
      if (!s) return false;
      await this.#lockUser(tx, s.user_id as string);
      await tx`UPDATE sessions SET revoked_at = ${now} WHERE family_id = ${s.family_id as string}
        AND revoked_at IS NULL`;
      return true;
    });
  }

  async revokeUserSessions(userId: string, now: number, audit?: AuditEntry): Promise<number> {
    return this.#write(audit, async (tx) => {
      if (!(await this.#lockUser(tx, userId))) return 0;
      return (
        await tx`UPDATE sessions SET revoked_at = ${now} WHERE user_id = ${userId} AND revoked_at IS NULL`
      ).count;
    });
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const [row] = await this.#sql`SELECT * FROM sessions WHERE id = ${id}`;
    return row ? decodeSession(row) : null;
  }

  async pruneSessions(before: number, limit: number): Promise<number> {
    return (
      await this.#sql`DELETE FROM sessions WHERE id IN
        (SELECT id FROM sessions WHERE expires_at < ${before} ORDER BY expires_at LIMIT ${limit})`
    ).count;
  }

  async authState(userId: string, sessionId: string | null, keyId: string | null): Promise<AuthState> {
    // One row whatever matches: each LEFT JOIN is one primary-key lookup.
    const [row] = await this.#sql`SELECT u.role AS u_role, u.disabled AS u_disabled,
        u.credentials_version AS u_cv,
        s.user_id AS s_user, s.family_id AS s_family, s.revoked_at AS s_revoked, s.expires_at AS s_expires,
        s.credentials_version AS s_cv,
        (SELECT o.credentials_version FROM users o WHERE o.id = s.user_id) AS s_owner_cv,
        k.owner_id AS k_owner, k.role AS k_role, k.queues AS k_queues, k.revoked_at AS k_revoked,
        k.expires_at AS k_expires
      FROM (SELECT 1) AS one
      LEFT JOIN users u ON u.id = ${userId}::text
      LEFT JOIN sessions s ON s.id = ${sessionId}::text
      LEFT JOIN api_keys k ON k.id = ${keyId}::text`;
    return decodeAuthState(row!, parsedJson);
  }

  async signingSecret(): Promise<Uint8Array> {
    if (this.#secret) return this.#secret;
    // A racing node's insert makes this one wait for its commit, do nothing, and read the winner's secret
    // (the SELECT is a later statement, so it sees what committed before it).
    const secret = await this.#write(undefined, async (tx) => {
      await tx`INSERT INTO identity_secrets (name, secret, created_at)
        VALUES ('signing', ${randomBytes(SIGNING_SECRET_BYTES)}, ${Date.now()}) ON CONFLICT DO NOTHING`;
      const [row] = await tx`SELECT secret FROM identity_secrets WHERE name = 'signing'`;
      return new Uint8Array(row!.secret as Buffer);
    });
    this.#secret = secret;
    return secret;
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#write(undefined, (tx) => insertAudit(tx, entries));
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const sql = this.#sql;
    // One fixed condition per filter, so the planner can use audit_actor or audit_action.
    const where = {
      all: () => sql`TRUE`,
      actor: () => sql`actor_id = ${q.actorId!}`,
      action: () => sql`action = ${q.action!}`,
      both: () => sql`actor_id = ${q.actorId!} AND action = ${q.action!}`,
    }[auditFilter(q)]();
    const rows = await sql`SELECT * FROM audit_log
      WHERE ${where} AND seq < ${q.beforeSeq ?? Number.MAX_SAFE_INTEGER}
        AND at >= ${q.since ?? Number.MIN_SAFE_INTEGER}
      ORDER BY seq DESC LIMIT ${q.limit}`;
    return rows.map((r) => decodeAudit(r, parsedJson));
  }

  async pruneAudit(before: number, limit: number): Promise<number> {
    return (
      await this.#sql`DELETE FROM audit_log WHERE seq IN
        (SELECT seq FROM audit_log WHERE at < ${before} ORDER BY at LIMIT ${limit})`
    ).count;
  }
}
