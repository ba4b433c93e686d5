/**
 * Credentials for tests: every test server is started with the same admin password, and the helpers
 * (api(), runCli, startWorker) log in once per server and send the token. A test that checks what
 * happens without credentials passes NO_AUTH.
 */
export const TEST_ADMIN_PASSWORD = "test-admin-password";
/** Headers value for api(): send no Authorization header at all. */
export const NO_AUTH = { authorization: "" };

const tokens = new Map<string, Promise<string>>();
/** Servers the helpers started (in-process or as processes): the ones helpers log in to by themselves. */
const servers = new Set<string>();

export function registerServer(url: string): void {
  servers.add(new URL(url).origin);
}

export const isTestServer = (url: string): boolean => servers.has(new URL(url.split(",")[0]!).origin);
const workerKeys = new Map<string, Promise<string>>();

async function login(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: TEST_ADMIN_PASSWORD }),
  });
  if (!res.ok) throw new Error(`test login to ${base} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

const origin = (url: string) => new URL(url).origin;

/** The admin's access token for the server at `base` (logged in once). */
export function adminToken(base: string): Promise<string> {
  const key = origin(base);
  let t = tokens.get(key);
  if (!t) {
    t = login(key);
    tokens.set(key, t);
    t.catch(() => tokens.delete(key));
  }
  return t;
}

/** After a 401 (the server was replaced by a new one on the same port): log in again. */
export function forgetToken(base: string): void {
  tokens.delete(origin(base));
  workerKeys.delete(origin(base));
}

/** A worker-role API key on the server at `base` (made once). */
export function workerKey(base: string): Promise<string> {
  const key = origin(base);
  let k = workerKeys.get(key);
  if (!k) {
    k = (async () => {
      const res = await fetch(`${key}/api/v1/api-keys`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await adminToken(key)}` },
        body: JSON.stringify({ name: "test worker", role: "worker" }),
      });
      if (!res.ok) throw new Error(`worker key on ${key}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { key: string }).key;
    })();
    workerKeys.set(key, k);
    k.catch(() => workerKeys.delete(key));
  }
  return k;
}

/** fetch() as the server's admin (the URL's origin names the server). */
export async function authedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${await adminToken(url)}`);
  return fetch(url, { ...init, headers });
}
