/**
 * The benchmark's Bosun servers start with a known admin password; the harness logs in and makes a worker
 * key as a user would (authentication is always on), once per server, before anything is timed.
 */
export const BENCH_ADMIN_PASSWORD = "bench-admin-password";

export async function adminToken(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: BENCH_ADMIN_PASSWORD }),
  });
  if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

export async function workerKey(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/api-keys`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: "bench worker", role: "worker" }),
  });
  if (!res.ok) throw new Error(`worker key: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}
