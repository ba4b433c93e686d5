/**
 * People and systems: login with rotation of refresh tokens, users, API keys and the audit log, over the
 * identity store (store/identity-store.ts). The decisions are auth/: the policy table, password hashing,
 * token signing; this service applies them and writes every change with its audit entry in one
 * transaction. Authentication of a request (bearer → principal) is auth-cache.ts's, on top of this.
 */
import { randomUUID } from "node:crypto";
import { accountLockedError, checkLogin, LOGIN_GUARD_DEFAULTS } from "../auth/login-guard.ts";
import { dummyVerify, hashPassword, verifyPassword } from "../auth/passwords.ts";
import { authorize, listFilter, throwUnlessAllowed } from "../auth/policy.ts";
import type { Principal } from "../auth/principal.ts";
import { canGrant, type Role } from "../auth/roles.ts";
import { classifyBearer, hashSecret, newApiKey, newRefreshToken } from "../auth/secrets.ts";
import { issueAccessToken } from "../auth/tokens.ts";
import type { Clock } from "../core/clock.ts";
import { BosunError } from "../core/errors.ts";
import type {
  ApiKeyRecord,
  AuditEntry,
  AuditQuery,
  AuditRecord,
  IdentityStore,
  UserRecord,
} from "../store/identity-store.ts";
import { auditEntry, type Origin } from "./audit-entry.ts";

export interface IdentityOptions {
  store: IdentityStore;
  clock: Clock;
  accessTokenTtlSec: number;
  refreshTokenTtlMs: number;
  loginMaxFailures?: number;
  loginLockMs?: number;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: UserRecord;
}

export interface NewKeyInput {
  name: string;
  role?: Role;
  expiresAt?: number | null;
  queues?: string[] | null;
}

export class IdentityService {
  readonly store: IdentityStore;
  readonly #o: IdentityOptions;

  constructor(opts: IdentityOptions) {
    this.store = opts.store;
    this.#o = opts;
  }

  #now(): number {
    return this.#o.clock.now();
  }

  audit(p: Principal | null, action: string, origin: Origin, more: Partial<AuditEntry> = {}): AuditEntry {
    return auditEntry(this.#now(), p, action, origin, more);
  }

  // ── Sessions ───────────────────────────────────────────────────────────────────────────────────

  /** Wrong username and wrong password are one answer, in about the same time (dummyVerify). */
  async login(username: string, password: string, origin: Origin): Promise<Session> {
    const user = await this.store.getUserByName(username);
    const failed = (why: string, u: UserRecord | null) =>
      this.audit(u ? asUser(u) : null, "auth.login", origin, {
        outcome: "failed",
        targetType: "user",
        targetId: u?.id ?? null,
        details: { username, why },
      });
    if (!user) {
      await dummyVerify(password);
      await this.store.appendAudit([failed("unknown user", null)]);
      throw new BosunError("INVALID_CREDENTIALS");
    }
    const now = this.#now();
    const gate = checkLogin({ failedLogins: user.failedLogins, lockedUntil: user.lockedUntil, now });
    if (!gate.allowed) {
      await this.store.appendAudit([failed("locked", user)]);
      throw accountLockedError(gate.retryAfterSec);
    }
    if (!(await verifyPassword(password, user.passwordHash)) || user.disabled) {
      const policy = {
        maxFailures: this.#o.loginMaxFailures ?? LOGIN_GUARD_DEFAULTS.loginMaxFailures,
        lockMs: this.#o.loginLockMs ?? LOGIN_GUARD_DEFAULTS.loginLockMs,
      };
      const after = await this.store.recordLoginFailure(
        user.id,
        now,
        policy,
        failed(user.disabled ? "disabled" : "wrong password", user),
      );
      // The attempt that locks the account says so at once.
      if (after?.lockedUntil != null && after.lockedUntil > now)
        throw accountLockedError(Math.max(1, Math.ceil((after.lockedUntil - now) / 1000)));
      throw new BosunError("INVALID_CREDENTIALS");
    }
    await this.store.recordLoginSuccess(
      user.id,
      this.audit(asUser(user), "auth.login", origin, { targetType: "user", targetId: user.id }),
    );
    const refresh = newRefreshToken();
    const session = await this.store.createSession({
      id: randomUUID(),
      familyId: randomUUID(),
      userId: user.id,
      tokenHash: refresh.hash,
      credentialsVersion: user.credentialsVersion,
      createdAt: now,
      expiresAt: now + this.#o.refreshTokenTtlMs,
      rotatedAt: null,
      revokedAt: null,
    });
    return this.#tokens(user, session.id, refresh.token);
  }

  /** A refresh token works once; presenting a used one revokes its whole family (stolen, or replayed). */
  async refresh(refreshToken: string, origin: Origin): Promise<Session> {
    if (classifyBearer(refreshToken) !== "refreshToken") throw new BosunError("UNAUTHORIZED");
    const now = this.#now();
    const next = newRefreshToken();
    const outcome = await this.store.rotateSession(
      hashSecret(refreshToken),
      {
        id: randomUUID(),
        familyId: "",
        userId: "",
        tokenHash: next.hash,
        credentialsVersion: 0,
        createdAt: now,
        expiresAt: now + this.#o.refreshTokenTtlMs,
        rotatedAt: null,
        revokedAt: null,
      },
      now,
    );
    if (outcome.kind === "reused") {
      await this.store.appendAudit([
        this.audit(null, "auth.refresh", origin, {
          outcome: "denied",
          targetType: "session",
          targetId: outcome.familyId,
          details: { why: "a rotated refresh token was used again: the session is revoked" },
        }),
      ]);
      throw new BosunError("TOKEN_REUSED");
    }
    if (outcome.kind === "expired") throw new BosunError("TOKEN_EXPIRED");
    if (outcome.kind !== "rotated") throw new BosunError("UNAUTHORIZED");
    const user = await this.store.getUser(outcome.session.userId);
    if (!user || user.disabled) throw new BosunError("UNAUTHORIZED");
    return this.#tokens(user, outcome.session.id, next.token);
  }

  async logout(p: Principal, origin: Origin): Promise<void> {
    if (p.sessionId)
      await this.store.revokeSession(p.sessionId, this.#now(), this.audit(p, "auth.logout", origin));
  }

  /** The token names its session row: a revocation of the family reaches every row of it. */
  async #tokens(user: UserRecord, sessionId: string, refreshToken: string): Promise<Session> {
    const { token, expiresIn } = await issueAccessToken(
      { principal: asUser(user), credentialsVersion: user.credentialsVersion, sessionId },
      await this.store.signingSecret(),
      { ttlSec: this.#o.accessTokenTtlSec, now: this.#now() },
    );
    return { accessToken: token, refreshToken, expiresIn, user };
  }

  // ── Users ──────────────────────────────────────────────────────────────────────────────────────

  async createUser(
    p: Principal,
    input: { username: string; password: string; role: Role },
    origin: Origin,
  ): Promise<UserRecord> {
    throwUnlessAllowed(authorize(p, "user", "create"), "USER_NOT_FOUND");
    const now = this.#now();
    const id = randomUUID();
    return this.store.createUser(
      {
        id,
        username: input.username,
        role: input.role,
        passwordHash: await hashPassword(input.password),
        disabled: false,
        createdAt: now,
        maxRunning: null,
        maxQueued: null,
      },
      this.audit(p, "user.create", origin, {
        targetType: "user",
        targetId: id,
        details: { username: input.username, role: input.role },
      }),
    );
  }

  async getUser(p: Principal, id: string): Promise<UserRecord> {
    const user = await this.store.getUser(id);
    if (!user) throw new BosunError("USER_NOT_FOUND");
    throwUnlessAllowed(authorize(p, "user", "read", { ownerId: user.id }), "USER_NOT_FOUND");
    return user;
  }

  async listUsers(p: Principal, limit: number, afterId?: string): Promise<UserRecord[]> {
    const filter = listFilter(p, "user");
    if (!filter) throw new BosunError("FORBIDDEN");
    if (filter.owner !== undefined) {
      const me = await this.store.getUser(filter.owner);
      return me && (afterId === undefined || me.id > afterId) ? [me] : [];
    }
    return this.store.listUsers({ limit, afterId });
  }

  /** Disabling or a new password revokes the user's sessions and keys in the same transaction. */
  async updateUser(
    p: Principal,
    id: string,
    patch: {
      role?: Role;
      password?: string;
      disabled?: boolean;
      maxRunning?: number | null;
      maxQueued?: number | null;
    },
    origin: Origin,
  ): Promise<UserRecord> {
    const user = await this.getUser(p, id);
    throwUnlessAllowed(authorize(p, "user", "update", { ownerId: user.id }), "USER_NOT_FOUND");
    const { password, ...rest } = patch;
    const updated = await this.store.updateUser(
      id,
      { ...rest, ...(password !== undefined ? { passwordHash: await hashPassword(password) } : {}) },
      this.#now(),
      this.audit(p, "user.update", origin, {
        targetType: "user",
        targetId: id,
        details: { ...rest, ...(password !== undefined ? { password: "changed" } : {}) },
      }),
    );
    if (!updated) throw new BosunError("USER_NOT_FOUND");
    return updated;
  }

  async deleteUser(p: Principal, id: string, origin: Origin): Promise<void> {
    const user = await this.getUser(p, id);
    throwUnlessAllowed(authorize(p, "user", "delete", { ownerId: user.id }), "USER_NOT_FOUND");
    if (user.id === p.userId) throw new BosunError("INVALID_STATE", "You cannot delete yourself");
    await this.store.deleteUser(
      id,
      this.audit(p, "user.delete", origin, {
        targetType: "user",
        targetId: id,
        details: { username: user.username },
      }),
    );
  }

  // ── API keys ───────────────────────────────────────────────────────────────────────────────────

  /** The key itself is returned once and stored only as its hash. */
  async createKey(
    p: Principal,
    input: NewKeyInput,
    origin: Origin,
  ): Promise<{ apiKey: ApiKeyRecord; key: string }> {
    throwUnlessAllowed(authorize(p, "apiKey", "create"), "API_KEY_NOT_FOUND");
    const role = input.role ?? p.role;
    if (!canGrant(p.role, role))
      throw new BosunError("FORBIDDEN", `A ${p.role} may not create a key with the ${role} role`);
    const now = this.#now();
    if (input.expiresAt != null && input.expiresAt <= now)
      throw new BosunError("VALIDATION_FAILED", "expiresAt is in the past");
    const secret = newApiKey();
    const id = randomUUID();
    const apiKey = await this.store.createApiKey(
      {
        id,
        name: input.name,
        role,
        prefix: secret.prefix,
        hash: secret.hash,
        ownerId: p.userId,
        queues: input.queues ?? null,
        createdAt: now,
        expiresAt: input.expiresAt ?? null,
        lastUsedAt: null,
        revokedAt: null,
      },
      this.audit(p, "apiKey.create", origin, {
        targetType: "apiKey",
        targetId: id,
        details: { name: input.name, role, prefix: secret.prefix },
      }),
    );
    return { apiKey, key: secret.key };
  }

  async listKeys(p: Principal): Promise<ApiKeyRecord[]> {
    const filter = listFilter(p, "apiKey");
    if (!filter) throw new BosunError("FORBIDDEN");
    return this.store.listApiKeys({ ownerId: filter.owner });
  }

  async revokeKey(p: Principal, id: string, origin: Origin): Promise<ApiKeyRecord> {
    const key = await this.store.getApiKey(id);
    if (!key) throw new BosunError("API_KEY_NOT_FOUND");
    throwUnlessAllowed(authorize(p, "apiKey", "delete", { ownerId: key.ownerId }), "API_KEY_NOT_FOUND");
    const revoked = await this.store.revokeApiKey(
      id,
      this.#now(),
      this.audit(p, "apiKey.revoke", origin, {
        targetType: "apiKey",
        targetId: id,
        details: { name: key.name },
      }),
    );
    if (!revoked) throw new BosunError("API_KEY_NOT_FOUND");
    return revoked;
  }

  // ── Audit ──────────────────────────────────────────────────────────────────────────────────────

  listAudit(p: Principal, q: AuditQuery): Promise<AuditRecord[]> {
    throwUnlessAllowed(authorize(p, "audit", "read"), "ROUTE_NOT_FOUND");
    return this.store.listAudit(q);
  }
}

/** A user as the principal of its own password login. */
export const asUser = (u: UserRecord): Principal => ({
  kind: "user",
  id: u.id,
  userId: u.id,
  name: u.username,
  role: u.role,
});
