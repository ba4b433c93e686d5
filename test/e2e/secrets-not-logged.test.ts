/**
 * Credentials never reach the logs: a real `bosun start` at log level trace, driven through logins (right
 * and wrong), refreshes, API keys used and revoked and bad tokens; no line of its output holds a password,
 * an access or refresh token or a key. The admin password of the first start is the one exception by
 * design (printed once, to stderr, when generated); this server is given its password, so none is printed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NO_AUTH, TEST_ADMIN_PASSWORD } from "../helpers/auth.ts";
import { api, type BosunProcess, startBosun } from "../helpers/bosun-process.ts";
import { tempDir } from "../helpers/wait.ts";

describe("secrets in logs", () => {
  let bosun: BosunProcess;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir();
    bosun = await startBosun(["start", "--port", "0", "--data", dir.path, "--concurrency", "1"], {
      env: { BOSUN_LOG_LEVEL: "trace" },
    });
  });
  after(async () => {
    await bosun.kill();
    await dir.remove();
  });

  it("holds no password, token or key", async () => {
    const secrets: string[] = [TEST_ADMIN_PASSWORD, "not-the-password-1"];
    const bad = await api(
      s(),
      "POST",
      "/api/v1/auth/login",
      { username: "admin", password: secrets[1] },
      NO_AUTH,
    );
    assert.equal(bad.status, 401);
    const login = await api<{ accessToken: string; refreshToken: string }>(
      s(),
      "POST",
      "/api/v1/auth/login",
      { username: "admin", password: TEST_ADMIN_PASSWORD },
      NO_AUTH,
    );
    assert.equal(login.status, 200);
    const { accessToken, refreshToken } = login.body;
    const me = { authorization: `Bearer ${accessToken}` };
    const next = await api<{ refreshToken: string }>(
      s(),
      "POST",
      "/api/v1/auth/refresh",
      { refreshToken },
      NO_AUTH,
    );
    assert.equal(next.status, 200);
    const made = await api<{ key: string; apiKey: { id: string } }>(
      s(),
      "POST",
      "/api/v1/api-keys",
      { name: "k" },
      me,
    );
    const key = made.body.key;
    assert.equal(
      (await api(s(), "GET", "/api/v1/jobs", undefined, { authorization: `Bearer ${key}` })).status,
      200,
    );
    await api(s(), "DELETE", `/api/v1/api-keys/${made.body.apiKey.id}`, undefined, me);
    await api(
      s(),
      "POST",
      "/api/v1/users",
      { username: "u1", password: "user-password-1", role: "member" },
      me,
    );
    await api(s(), "POST", "/api/v1/auth/refresh", { refreshToken }, NO_AUTH); // reuse: revoked
    await api(s(), "GET", "/api/v1/jobs", undefined, { authorization: `Bearer ${accessToken}x` });
    await api(s(), "POST", "/api/v1/jobs", "{not json", { ...me, "content-type": "application/json" });
    secrets.push(accessToken, refreshToken, next.body.refreshToken, key, "user-password-1");
    await new Promise((r) => setTimeout(r, 300)); // the last lines are written
    assert.ok(
      bosun.lines.some((l) => l.includes("credential refused")),
      "the server logged the refusals (else this test checks nothing)",
    );
    for (const line of bosun.lines)
      for (const secret of secrets) assert.ok(!line.includes(secret), `a log line holds a secret: ${line}`);
  });

  const s = () => bosun.url;
});
