/**
 * Identity and access over real HTTP (SQLite): nothing but health and readiness without credentials, the
 * Host check, login with lock-out, refresh rotation and reuse, users and keys, ownership between members,
 * a viewer's view, and a worker that reports for a job another worker holds.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { NO_AUTH, TEST_ADMIN_PASSWORD } from "../helpers/auth.ts";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";

type Session = { accessToken: string; refreshToken: string; user: { id: string; role: string } };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** fetch cannot set Host: a raw request, as a browser page of another name would send it. */
function withHost(base: string, host: string, method: string, path: string, body?: unknown, token?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const u = new URL(base);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: {
          host,
          ...(body ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe("identity and access", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer({ concurrency: 0, loginMaxFailures: 3, loginLockMs: 60_000 });
  });
  after(() => s.stop());

  const addUser = async (username: string, role: string, password = "password-of-" + username) => {
    const res = await api<{ user: { id: string } }>(s.url, "POST", "/api/v1/users", {
      username,
      password,
      role,
    });
    assert.equal(res.status, 201, res.text);
    return res.body.user.id;
  };
  const login = async (username: string, password = "password-of-" + username) => {
    const res = await api<Session>(s.url, "POST", "/api/v1/auth/login", { username, password }, NO_AUTH);
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  it("answers nothing but health and readiness without credentials (every route of the table)", async () => {
    const open = new Set([
      "GET /api/v1/health",
      "GET /api/v1/ready",
      "POST /api/v1/auth/login",
      "POST /api/v1/auth/refresh",
    ]);
    assert.ok(s.server.routes.length > 30);
    for (const r of s.server.routes) {
      const key = `${r.method} ${r.url}`;
      if (open.has(key) || r.method === "HEAD") continue;
      const path = r.url.replace(/:id/g, "x");
      const res = await api(s.url, r.method, path, r.method === "GET" ? undefined : {}, NO_AUTH);
      assert.equal(res.status, 401, `${key} answered ${res.status} without credentials`);
    }
    for (const path of ["/api/v1/health", "/api/v1/ready"])
      assert.equal((await api(s.url, "GET", path, undefined, NO_AUTH)).status, 200);
    const docs = await fetch(`${s.url}/docs/`);
    assert.equal(docs.status, 401);
  });

  it("refuses a request for another Host (DNS rebinding), with or without credentials", async () => {
    for (const host of ["evil.example", "127.0.0.1.evil.example", "evil.example:80"]) {
      const res = await withHost(s.url, host, "GET", "/api/v1/health");
      assert.deepEqual([res.status, JSON.parse(res.body).error.code], [403, "HOST_NOT_ALLOWED"], host);
    }
    assert.equal((await withHost(s.url, "localhost", "GET", "/api/v1/health")).status, 200);
    const before = await api<{ items: unknown[] }>(s.url, "GET", "/api/v1/jobs");
    const token = (await login("admin", TEST_ADMIN_PASSWORD)).accessToken;
    const job = { type: "shell", payload: { command: "id" } };
    const res = await withHost(s.url, "evil.example", "POST", "/api/v1/jobs", job, token);
    assert.equal(res.status, 403);
    const afterwards = await api<{ items: unknown[] }>(s.url, "GET", "/api/v1/jobs");
    assert.equal(afterwards.body.items.length, before.body.items.length, "nothing was enqueued");
    const cors = await fetch(`${s.url}/api/v1/health`, { headers: { origin: "https://evil.example" } });
    assert.equal(cors.headers.get("access-control-allow-origin"), null);
  });

  it("locks an account after the configured failures in a row: 429 with Retry-After", async () => {
    await addUser("locky", "member");
    for (let i = 0; i < 2; i++) {
      const res = await api<{ error: { code: string } }>(
        s.url,
        "POST",
        "/api/v1/auth/login",
        {
          username: "locky",
          password: "wrong-password",
        },
        NO_AUTH,
      );
      assert.deepEqual([res.status, res.body.error.code], [401, "INVALID_CREDENTIALS"]);
    }
    const third = await fetch(`${s.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "locky", password: "wrong-password" }),
    });
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get("retry-after")) > 0);
    // The right password does not open a locked account.
    const right = await api(
      s.url,
      "POST",
      "/api/v1/auth/login",
      { username: "locky", password: "password-of-locky" },
      NO_AUTH,
    );
    assert.equal(right.status, 429);
    const unknown = await api<{ error: { code: string } }>(
      s.url,
      "POST",
      "/api/v1/auth/login",
      {
        username: "nobody",
        password: "whatever-password",
      },
      NO_AUTH,
    );
    assert.deepEqual([unknown.status, unknown.body.error.code], [401, "INVALID_CREDENTIALS"]);
  });

  it("rotates refresh tokens; a stolen one reused after rotation revokes the whole session", async () => {
    await addUser("rota", "member");
    const first = await login("rota");
    const refreshed = await api<Session>(
      s.url,
      "POST",
      "/api/v1/auth/refresh",
      { refreshToken: first.refreshToken },
      NO_AUTH,
    );
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.notEqual(refreshed.body.refreshToken, first.refreshToken);
    assert.equal(
      (await api(s.url, "GET", "/api/v1/me", undefined, bearer(refreshed.body.accessToken))).status,
      200,
    );
    // The thief replays the first token: refused, and the session is gone for the holder too.
    const stolen = await api<{ error: { code: string } }>(
      s.url,
      "POST",
      "/api/v1/auth/refresh",
      { refreshToken: first.refreshToken },
      NO_AUTH,
    );
    assert.deepEqual([stolen.status, stolen.body.error.code], [401, "TOKEN_REUSED"]);
    const holder = await api(
      s.url,
      "POST",
      "/api/v1/auth/refresh",
      { refreshToken: refreshed.body.refreshToken },
      NO_AUTH,
    );
    assert.equal(holder.status, 401);
    await new Promise((r) => setTimeout(r, 600)); // past the per-node cache
    assert.equal(
      (await api(s.url, "GET", "/api/v1/me", undefined, bearer(refreshed.body.accessToken))).status,
      401,
    );
    const audit = await api<{ items: { action: string; outcome: string }[] }>(
      s.url,
      "GET",
      "/api/v1/audit?action=auth.refresh",
    );
    assert.ok(audit.body.items.some((a) => a.outcome === "denied"));
  });

  it("members see and steer only their own jobs; others' answer 404, not 403", async () => {
    await addUser("ann", "member");
    await addUser("bob", "member");
    const ann = (await login("ann")).accessToken;
    const bob = (await login("bob")).accessToken;
    const job = await api<{ job: { id: string; owner: string } }>(
      s.url,
      "POST",
      "/api/v1/jobs",
      {
        type: "sleep",
        payload: { durationMs: 60_000 },
        delayMs: 600_000,
      },
      bearer(ann),
    );
    assert.equal(job.status, 201, job.text);
    const id = job.body.job.id;
    for (const [method, path] of [
      ["GET", `/api/v1/jobs/${id}`],
      ["GET", `/api/v1/jobs/${id}/attempts`],
      ["GET", `/api/v1/jobs/${id}/logs`],
      ["POST", `/api/v1/jobs/${id}/cancel`],
    ] as const) {
      const res = await api<{ error: { code: string } }>(s.url, method, path, undefined, bearer(bob));
      assert.deepEqual([res.status, res.body.error.code], [404, "JOB_NOT_FOUND"], `${method} ${path}`);
    }
    const bobsList = await api<{ items: { id: string }[] }>(
      s.url,
      "GET",
      "/api/v1/jobs",
      undefined,
      bearer(bob),
    );
    assert.ok(!bobsList.body.items.some((j) => j.id === id));
    const asOwner = await api<{ items: { id: string }[] }>(
      s.url,
      "GET",
      `/api/v1/jobs?limit=500`,
      undefined,
      bearer(ann),
    );
    assert.ok(asOwner.body.items.some((j) => j.id === id));
    // Still scheduled: bob's cancel changed nothing.
    const still = await api<{ job: { status: string } }>(
      s.url,
      "GET",
      `/api/v1/jobs/${id}`,
      undefined,
      bearer(ann),
    );
    assert.equal(still.body.job.status, "scheduled");
    // A member may not read the audit log or the users.
    assert.equal((await api(s.url, "GET", "/api/v1/audit", undefined, bearer(ann))).status, 403);
    assert.equal(
      (
        await api(
          s.url,
          "POST",
          "/api/v1/users",
          { username: "x", password: "password-x", role: "admin" },
          bearer(ann),
        )
      ).status,
      403,
    );
  });

  it("a viewer reads jobs without their payload and logs, and changes nothing", async () => {
    await addUser("vic", "viewer");
    const vic = (await login("vic")).accessToken;
    const job = await api<{ job: { id: string } }>(s.url, "POST", "/api/v1/jobs", {
      type: "shell",
      payload: { command: "echo secret", env: { TOKEN: "hunter2" } },
      delayMs: 600_000,
    });
    const id = job.body.job.id;
    const seen = await api<{ job: { id: string; payload: unknown } }>(
      s.url,
      "GET",
      `/api/v1/jobs/${id}`,
      undefined,
      bearer(vic),
    );
    assert.equal(seen.status, 200);
    assert.equal(seen.body.job.payload, null);
    assert.doesNotMatch(seen.text, /hunter2/);
    assert.equal((await api(s.url, "GET", `/api/v1/jobs/${id}/logs`, undefined, bearer(vic))).status, 403);
    assert.equal((await api(s.url, "POST", `/api/v1/jobs/${id}/cancel`, undefined, bearer(vic))).status, 403);
    assert.equal(
      (await api(s.url, "POST", "/api/v1/jobs", { type: "sleep", payload: {} }, bearer(vic))).status,
      403,
    );
  });

  it("API keys: shown once, at most the creator's role, refused once revoked", async () => {
    await addUser("kim", "member");
    const kim = (await login("kim")).accessToken;
    const tooHigh = await api(
      s.url,
      "POST",
      "/api/v1/api-keys",
      { name: "x", role: "operator" },
      bearer(kim),
    );
    assert.equal(tooHigh.status, 403);
    const made = await api<{ apiKey: { id: string; prefix: string }; key: string }>(
      s.url,
      "POST",
      "/api/v1/api-keys",
      { name: "ci" },
      bearer(kim),
    );
    assert.equal(made.status, 201, made.text);
    assert.match(made.body.key, /^bsn_[0-9A-Za-z]{46}$/);
    assert.ok(made.body.key.startsWith(made.body.apiKey.prefix));
    const listed = await api(s.url, "GET", "/api/v1/api-keys", undefined, bearer(kim));
    assert.doesNotMatch(listed.text, new RegExp(made.body.key));
    const job = await api<{ job: { owner: string } }>(
      s.url,
      "POST",
      "/api/v1/jobs",
      { type: "sleep", payload: { durationMs: 1 } },
      bearer(made.body.key),
    );
    assert.equal(job.status, 201);
    const me = await api<{ principal: { userId: string } }>(
      s.url,
      "GET",
      "/api/v1/me",
      undefined,
      bearer(made.body.key),
    );
    assert.equal(job.body.job.owner, me.body.principal.userId, "a key's jobs are its user's");
    assert.equal(
      (await api(s.url, "DELETE", `/api/v1/api-keys/${made.body.apiKey.id}`, undefined, bearer(kim))).status,
      200,
    );
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await api(s.url, "GET", "/api/v1/me", undefined, bearer(made.body.key))).status, 401);
  });

  it("disabling a user ends its sessions at once", async () => {
    const id = await addUser("dan", "member");
    const dan = await login("dan");
    assert.equal((await api(s.url, "GET", "/api/v1/me", undefined, bearer(dan.accessToken))).status, 200);
    assert.equal((await api(s.url, "PATCH", `/api/v1/users/${id}`, { disabled: true })).status, 200);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await api(s.url, "GET", "/api/v1/me", undefined, bearer(dan.accessToken))).status, 401);
    assert.equal(
      (await api(s.url, "POST", "/api/v1/auth/refresh", { refreshToken: dan.refreshToken }, NO_AUTH)).status,
      401,
    );
    assert.equal(
      (
        await api(
          s.url,
          "POST",
          "/api/v1/auth/login",
          { username: "dan", password: "password-of-dan" },
          NO_AUTH,
        )
      ).status,
      401,
    );
  });
});
