/**
 * Sessions, users and API keys over the API: `logIn` and `refreshSession` need no credential; the rest
 * go through a BosunClient (and so its credential).
 */
import type { BosunClient } from "./client.ts";
import { apiError } from "./http.ts";

export type ApiRole = "admin" | "operator" | "member" | "viewer" | "worker";

export interface ApiUser {
  id: string;
  username: string;
  role: ApiRole;
  disabled: boolean;
  createdAt: string | null;
  updatedAt: string | null;
  lockedUntil: string | null;
  maxRunning: number | null;
  maxQueued: number | null;
}

export interface ApiSession {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: ApiUser;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: ApiRole;
  prefix: string;
  ownerId: string;
  queues: string[] | null;
  createdAt: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface ApiPrincipal {
  kind: "user" | "apiKey";
  id: string;
  userId: string;
  name: string;
  role: ApiRole;
}

async function post<T>(url: string, path: string, body: unknown, f: typeof fetch = fetch): Promise<T> {
  const res = await f(`${url.replace(/\/+$/, "")}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await apiError(res, "POST", path);
  return (await res.json()) as T;
}

export const logIn = (url: string, username: string, password: string, f?: typeof fetch) =>
  post<ApiSession>(url, "/api/v1/auth/login", { username, password }, f);

/** The next pair; the given refresh token stops working (using it again ends the session). */
export const refreshSession = (url: string, refreshToken: string, f?: typeof fetch) =>
  post<ApiSession>(url, "/api/v1/auth/refresh", { refreshToken }, f);

const id = (s: string) => encodeURIComponent(s);

export class IdentityClient {
  readonly #c: BosunClient;

  constructor(client: BosunClient) {
    this.#c = client;
  }

  me(): Promise<{ principal: ApiPrincipal; user: ApiUser | null }> {
    return this.#c.request("GET", "/api/v1/me");
  }

  async logout(): Promise<void> {
    await this.#c.request("POST", "/api/v1/auth/logout");
  }

  async createUser(input: { username: string; password: string; role: ApiRole }): Promise<ApiUser> {
    return (await this.#c.request<{ user: ApiUser }>("POST", "/api/v1/users", input)).user;
  }

  async listUsers(): Promise<ApiUser[]> {
    return (await this.#c.request<{ items: ApiUser[] }>("GET", "/api/v1/users?limit=500")).items;
  }

  async updateUser(
    userId: string,
    patch: {
      role?: ApiRole;
      password?: string;
      disabled?: boolean;
      maxRunning?: number | null;
      maxQueued?: number | null;
    },
  ): Promise<ApiUser> {
    return (await this.#c.request<{ user: ApiUser }>("PATCH", `/api/v1/users/${id(userId)}`, patch)).user;
  }

  async deleteUser(userId: string): Promise<void> {
    await this.#c.request("DELETE", `/api/v1/users/${id(userId)}`);
  }

  createApiKey(input: {
    name: string;
    role?: ApiRole;
    expiresAt?: string | null;
    queues?: string[] | null;
  }): Promise<{ apiKey: ApiKeyInfo; key: string }> {
    return this.#c.request("POST", "/api/v1/api-keys", input);
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return (await this.#c.request<{ items: ApiKeyInfo[] }>("GET", "/api/v1/api-keys")).items;
  }

  async revokeApiKey(keyId: string): Promise<ApiKeyInfo> {
    return (await this.#c.request<{ apiKey: ApiKeyInfo }>("DELETE", `/api/v1/api-keys/${id(keyId)}`)).apiKey;
  }
}
