/**
 * The core issue's acceptance, against `bosun start` as a real process on a real port and a real SQLite
 * file: shell jobs, retries, priorities, timeouts, concurrency, bad input, SIGTERM and kill -9.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, type BosunProcess, startBosun, waitDone as waitJob } from "../helpers/bosun-process.ts";

const waitDone = (url: string, id: string, timeoutMs?: number) => waitJob<Job>(url, id, timeoutMs);

import { authedFetch } from "../helpers/auth.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Job = {
  id: string;
  status: string;
  attempts: number;
  result: { exitCode: number; stdout: string };
  error: { code: string; message: string } | null;
  startedAt: string | null;
};
type Attempt = {
  attempt: number;
  status: string;
  startedAt: string;
  finishedAt: string;
  error: { code: string } | null;
  exitCode: number | null;
};

async function submit(url: string, job: Record<string, unknown>): Promise<Job> {
  const res = await api<{ job: Job }>(url, "POST", "/api/v1/jobs", job);
  assert.equal(res.status, 201, res.text);
  return res.body.job;
}

describe("bosun start (concurrency 1)", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bosun: BosunProcess;
  before(async () => {
    dir = await tempDir();
    bosun = await startBosun(["start", "--port", "0", "--data", dir.path, "--concurrency", "1"]);
  });
  after(async () => {
    await bosun.kill();
    await dir.remove();
  });

  it("runs `echo hello` submitted over HTTP: completed, hello in result and log", async () => {
    const job = await submit(bosun.url, { type: "shell", payload: { command: "echo hello" } });
    const done = await waitDone(bosun.url, job.id);
    assert.equal(done.status, "completed");
    assert.equal(done.result.exitCode, 0);
    assert.match(done.result.stdout, /hello/);
    const logs = await api(bosun.url, "GET", `/api/v1/jobs/${job.id}/logs`);
    assert.equal(logs.status, 200);
    assert.match(logs.text, /hello/);
  });

  it("fails a job that always fails after 3 attempts with growing gaps", async () => {
    const job = await submit(bosun.url, {
      type: "shell",
      payload: { command: "echo failing >&2; exit 3" },
      maxAttempts: 3,
      backoff: { type: "exponential", delayMs: 200 },
    });
    const done = await waitDone(bosun.url, job.id);
    assert.equal(done.status, "failed");
    assert.equal(done.attempts, 3);
    assert.equal(done.error?.code, "EXIT_NONZERO");
    const { body } = await api<{ items: Attempt[] }>(bosun.url, "GET", `/api/v1/jobs/${job.id}/attempts`);
    assert.equal(body.items.length, 3);
    assert.deepEqual(
      body.items.map((a) => a.exitCode),
      [3, 3, 3],
    );
    const gap = (i: number) =>
      Date.parse(body.items[i + 1]!.startedAt) - Date.parse(body.items[i]!.finishedAt);
    assert.ok(gap(0) >= 200, `gap 1 = ${gap(0)}`);
    assert.ok(gap(1) >= 400 && gap(1) > gap(0), `gap 2 = ${gap(1)} after ${gap(0)}`);
  });

  it("runs higher-priority jobs queued behind a running job before older lower-priority ones", async () => {
    const blocker = await submit(bosun.url, { type: "sleep", payload: { durationMs: 600 } });
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(bosun.url, "GET", `/api/v1/jobs/${blocker.id}`)).body.job.status ===
        "running",
    );
    const low = await submit(bosun.url, { type: "shell", payload: { command: "true" }, priority: 0 });
    const high = await submit(bosun.url, { type: "shell", payload: { command: "true" }, priority: 10 });
    const [l, h] = [await waitDone(bosun.url, low.id), await waitDone(bosun.url, high.id)];
    assert.ok(Date.parse(h.startedAt!) < Date.parse(l.startedAt!), "high priority started first");
  });

  it("times out a 10 s sleep at 500 ms twice, then fails with TIMEOUT", async () => {
    const t0 = Date.now();
    const job = await submit(bosun.url, {
      type: "sleep",
      payload: { durationMs: 10_000 },
      timeoutMs: 500,
      maxAttempts: 2,
      backoff: { type: "fixed", delayMs: 200 },
    });
    const done = await waitDone(bosun.url, job.id);
    const elapsed = Date.now() - t0;
    assert.equal(done.status, "failed");
    assert.equal(done.attempts, 2);
    assert.equal(done.error?.code, "TIMEOUT");
    assert.ok(elapsed >= 1200 && elapsed < 4000, `took ${elapsed} ms`);
  });

  it("answers bad bodies with a 4xx and a stable code, storing nothing", async () => {
    const before = (await api<{ items: Job[] }>(bosun.url, "GET", "/api/v1/jobs?limit=500")).body.items
      .length;
    const cases: [unknown, number, string][] = [
      [{ type: "shell", payload: { command: "true" }, priority: "high" }, 400, "VALIDATION_FAILED"],
      [{ type: "no-such-type" }, 400, "UNKNOWN_JOB_TYPE"],
      [{ type: "sleep", payload: { durationMs: 1 }, timeoutMs: -5 }, 400, "VALIDATION_FAILED"],
      [{ type: "shell", payload: { cmd: "true" } }, 400, "VALIDATION_FAILED"],
      [{ type: "shell", payload: { command: "x".repeat(2 * 1024 * 1024) } }, 413, "PAYLOAD_TOO_LARGE"],
      ['{"type": "shell", "payload": ', 400, "INVALID_JSON"],
      [{ jobs: "nope" }, 400, "VALIDATION_FAILED"],
    ];
    for (const [body, status, code] of cases) {
      const res = await api<{ error: { code: string; message: string } }>(
        bosun.url,
        "POST",
        "/api/v1/jobs",
        body,
      );
      assert.equal(res.status, status, `${res.text.slice(0, 200)}`);
      assert.equal(res.body.error.code, code);
      assert.ok(res.body.error.message.length > 0);
    }
    const batch = await api<{ error: { code: string } }>(bosun.url, "POST", "/api/v1/jobs/batch", {
      jobs: [{ type: "shell", payload: { command: "true" } }, { type: "nope" }],
    });
    assert.equal(batch.status, 400);
    assert.equal(batch.body.error.code, "UNKNOWN_JOB_TYPE");
    const afterCount = (await api<{ items: Job[] }>(bosun.url, "GET", "/api/v1/jobs?limit=500")).body.items
      .length;
    assert.equal(afterCount, before, "nothing stored");
    const missing = await api<{ error: { code: string } }>(bosun.url, "GET", "/api/v1/jobs/does-not-exist");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "JOB_NOT_FOUND");
  });

  it("serves the OpenAPI document and the docs page", async () => {
    const doc = await api<{ openapi: string; paths: Record<string, unknown> }>(
      bosun.url,
      "GET",
      "/api/v1/openapi.json",
    );
    assert.equal(doc.status, 200);
    assert.ok(doc.body.paths["/api/v1/jobs"]);
    assert.ok(doc.body.paths["/api/v1/jobs/{id}/attempts"]);
    const docs = await authedFetch(`${bosun.url}/docs/`);
    assert.equal(docs.status, 200);
  });
});

describe("bosun start --concurrency 5", () => {
  it("never runs more than 5 of 7 one-second sleeps at once, and completes all 7", async () => {
    const dir = await tempDir();
    const bosun = await startBosun(["start", "--port", "0", "--data", dir.path, "--concurrency", "5"]);
    try {
      const res = await api<{ jobs: Job[] }>(bosun.url, "POST", "/api/v1/jobs/batch", {
        jobs: Array.from({ length: 7 }, () => ({ type: "sleep", payload: { durationMs: 1000 } })),
      });
      assert.equal(res.status, 201);
      let peak = 0;
      const ids = res.body.jobs.map((j) => j.id);
      await waitUntil(
        async () => {
          const running = (await api<{ items: Job[] }>(bosun.url, "GET", "/api/v1/jobs?status=running")).body
            .items.length;
          peak = Math.max(peak, running);
          const done = (await api<{ items: Job[] }>(bosun.url, "GET", "/api/v1/jobs?status=completed")).body
            .items.length;
          return done === 7;
        },
        { timeoutMs: 15_000, intervalMs: 25 },
      );
      assert.equal(peak, 5);
      for (const id of ids) assert.equal((await waitDone(bosun.url, id)).status, "completed");
    } finally {
      await bosun.kill();
      await dir.remove();
    }
  });
});

describe("stopping bosun start", () => {
  it("on SIGTERM lets the running job finish, exits 0, and leaves nothing running", async () => {
    const dir = await tempDir();
    const args = ["start", "--port", "0", "--data", dir.path, "--concurrency", "2"];
    const bosun = await startBosun(args);
    const job = await submit(bosun.url, { type: "shell", payload: { command: "sleep 1; echo finished" } });
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(bosun.url, "GET", `/api/v1/jobs/${job.id}`)).body.job.status === "running",
    );
    const code = await bosun.kill("SIGTERM");
    assert.equal(code, 0);
    const again = await startBosun(args);
    try {
      const j = (await api<{ job: Job }>(again.url, "GET", `/api/v1/jobs/${job.id}`)).body.job;
      assert.equal(j.status, "completed");
      assert.match(j.result.stdout, /finished/);
      assert.equal(j.attempts, 1);
      const running = (await api<{ items: Job[] }>(again.url, "GET", "/api/v1/jobs?status=running")).body
        .items;
      assert.equal(running.length, 0);
    } finally {
      await again.kill();
      await dir.remove();
    }
  });

  it("after kill -9 and a restart, every accepted job completes: none lost, none stuck", async () => {
    const dir = await tempDir();
    const args = ["start", "--port", "0", "--data", dir.path, "--concurrency", "4"];
    const first = await startBosun(args);
    const res = await api<{ jobs: Job[] }>(first.url, "POST", "/api/v1/jobs/batch", {
      jobs: Array.from({ length: 12 }, (_, i) => ({
        type: "shell",
        payload: { command: `sleep 0.5; echo job-${i}` },
      })),
    });
    assert.equal(res.status, 201);
    await waitUntil(
      async () =>
        (await api<{ items: Job[] }>(first.url, "GET", "/api/v1/jobs?status=running")).body.items.length > 0,
    );
    assert.equal(await first.kill("SIGKILL"), "SIGKILL");
    const second = await startBosun(args);
    try {
      for (const [i, j] of res.body.jobs.entries()) {
        const done = await waitDone(second.url, j.id, 30_000);
        assert.equal(done.status, "completed", `job ${i}: ${JSON.stringify(done.error)}`);
        assert.match(done.result.stdout, new RegExp(`job-${i}`));
      }
      const running = (
        await api<{ items: Job[] }>(second.url, "GET", "/api/v1/jobs?status=running,queued,scheduled")
      ).body.items;
      assert.equal(running.length, 0);
    } finally {
      await second.kill();
      await dir.remove();
    }
  });
});
