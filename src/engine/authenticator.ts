/**
 * Bearer credential → principal, on every request of every entry point. Access tokens are verified
 * locally (HS256) and API keys looked up by hash; both are then checked against the user's and the
 * session's or key's current state (disabled, revoked, credentials changed, role changed), which is cached
 * for CACHE_MS per node so that a revocation anywhere is seen everywhere within a second without a query
 * per request.
 */
import type { Principal } from "../auth/principal.ts";
import { effectiveKeyRole } from "../auth/roles.ts";
import { classifyBearer, hashSecret } from "../auth/secrets.ts";
import { verifyAccessToken } from "../auth/tokens.ts";
import type { Clock } from "../core/clock.ts";
import { BosunError } from "../core/errors.ts";
import type { ApiKeyRecord, AuthState, IdentityStore } from "../store/identity-store.ts";

/** How long a node trusts what it read of a credential's state: a revocation is refused within this. */
export const CACHE_MS = 500;
const MAX_ENTRIES = 10_000;
/** lastUsedAt of keys is written at most this often (batched), not on every request. */
const TOUCH_MS = 5_000;

interface Cached<T> {
  at: number;
  value: T;
}

export class Authenticator {
  readonly #store: IdentityStore;
  readonly #clock: Clock;
  readonly #states = new Map<string, Cached<AuthState>>();
  readonly #keys = new Map<string, Cached<ApiKeyRecord | null>>();
  readonly #names = new Map<string, string>();
  readonly #touched = new Map<string, number>();
  #secret: Uint8Array | null = null;
  #touchTimer: NodeJS.Timeout | null = null;

  constructor(store: IdentityStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** null: no credential given. Throws UNAUTHORIZED (or TOKEN_EXPIRED) for one that is not valid now. */
  async authenticate(bearer: string | null): Promise<Principal | null> {
    if (bearer === null) return null;
    const kind = classifyBearer(bearer);
    if (kind === "accessToken") return this.#token(bearer);
    if (kind === "apiKey") return this.#key(bearer);
    throw new BosunError("UNAUTHORIZED", "The credential is not an access token or an API key");
  }

  async #token(token: string): Promise<Principal> {
    this.#secret ??= await this.#store.signingSecret();
    const claims = await verifyAccessToken(token, this.#secret, this.#clock.now());
    const state = await this.#state(claims.sub, claims.sid, null);
    const user = state.user;
    if (!user || user.disabled || user.credentialsVersion !== claims.cv) throw revoked();
    if (!state.session || state.session.revoked || state.session.userId !== claims.sub) throw revoked();
    // The role is the user's now, not the token's: a demotion applies within CACHE_MS.
    return {
      kind: "user",
      id: claims.sub,
      userId: claims.sub,
      name: await this.#name(claims.sub),
      role: user.role,
      sessionId: claims.sid,
    };
  }

  async #key(key: string): Promise<Principal> {
    const hash = hashSecret(key);
    const now = this.#clock.now();
    let cached = this.#keys.get(hash);
    if (!cached || now - cached.at > CACHE_MS) {
      cached = { at: now, value: await this.#store.getApiKeyByHash(hash) };
      remember(this.#keys, hash, cached);
    }
    const record = cached.value;
    if (!record) throw new BosunError("UNAUTHORIZED", "Unknown API key");
    const state = await this.#state(record.ownerId, null, record.id);
    const k = state.key;
    if (!k || k.revoked || !state.user || state.user.disabled) throw revoked();
    if (k.expiresAt !== null && k.expiresAt <= now)
      throw new BosunError("TOKEN_EXPIRED", "The API key expired");
    const role = effectiveKeyRole(k.role, state.user.role);
    if (role === null) throw revoked();
    this.#touch(record.id, now);
    return {
      kind: "apiKey",
      id: record.id,
      keyId: record.id,
      userId: k.ownerId,
      name: record.name,
      role,
      queues: k.queues,
    };
  }

  async #state(userId: string, sessionId: string | null, keyId: string | null): Promise<AuthState> {
    const id = `${userId}\0${sessionId ?? ""}\0${keyId ?? ""}`;
    const now = this.#clock.now();
    const hit = this.#states.get(id);
    if (hit && now - hit.at <= CACHE_MS) return hit.value;
    const value = await this.#store.authState(userId, sessionId, keyId);
    remember(this.#states, id, { at: now, value });
    return value;
  }

  async #name(userId: string): Promise<string> {
    let name = this.#names.get(userId);
    if (name === undefined) {
      name = (await this.#store.getUser(userId))?.username ?? userId;
      remember(this.#names, userId, name);
    }
    return name;
  }

  #touch(keyId: string, now: number): void {
    this.#touched.set(keyId, now);
    if (this.#touchTimer) return;
    this.#touchTimer = setTimeout(() => {
      this.#touchTimer = null;
      const entries = [...this.#touched].map(([id, lastUsedAt]) => ({ id, lastUsedAt }));
      this.#touched.clear();
      this.#store.touchApiKeys(entries).catch(() => undefined);
    }, TOUCH_MS);
    this.#touchTimer.unref();
  }

  /** Forgets what this node read (after a change made here, so this node sees it at once). */
  forget(): void {
    this.#states.clear();
    this.#keys.clear();
  }
}

const revoked = () => new BosunError("UNAUTHORIZED", "The credential was revoked");

/** A bounded cache: the oldest entries go first (Maps iterate in insertion order). */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as K);
}
