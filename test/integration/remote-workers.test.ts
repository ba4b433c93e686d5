/**
 * Remote workers over the HTTP worker protocol against a real server socket (SQLite here; the PostgreSQL
 * cluster suite repeats the cluster-specific cases): placement, constraints, drain, late servers,
 * server restarts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { api } from "../helpers/bosun-process.ts";
import { startServer, startWorker } from "../helpers/in-process.ts";
import { countBy, waitUntil } from "../helpers/wait.ts";

type Job = { id: string; status: string; workerId: string | null; result: unknown };

async function submit(url: string, job: Record<string, unknown>): Promise<Job> {
  const res = await api<{ job: Job }>(url, "POST", "/api/v1/jobs", job);
  assert.equal(res.status, 201, res.text);
  return res.body.job;
}

const getJob = async (url: string, id: string) =>
  (await api<{ job: Job }>(url, "GET", `/api/v1/jobs/${id}`)).body.job;
const waitStatus = (url: string, id: string, status: string, timeoutMs = 15_000) =>
  waitUntil(
    async () => {
      const j = await getJob(url, id);
      return j.status === status ? j : null;
    },
    { timeoutMs, what: `${id} ${status}` },
  );

describe("remote workers", () => {
  it("runs jobs submitted to the server on a worker that only speaks HTTP", async () => {
    const s = await startServer();
    const w = await startWorker({
      server: s.url,
      id: "w1",
      capacity: 2,
      handlers: { hello: async (job) => `hi ${(job.payload as { name: string }).name}` },
    });
    try {
      const job = await submit(s.url, { type: "hello", payload: { name: "bosun" } });
      const done = await waitStatus(s.url, job.id, "completed");
      assert.equal(done.result, "hi bosun");
      assert.equal(done.workerId, "w1");
      const shell = await submit(s.url, { type: "shell", payload: { command: "echo remote-output" } });
      await waitStatus(s.url, shell.id, "completed");
      const logs = await api(s.url, "GET", `/api/v1/jobs/${shell.id}/logs`);
      assert.match(logs.text, /remote-output/);
      const workers = await api<{ items: { id: string; status: string; capacity: number }[] }>(
        s.url,
        "GET",
        "/api/v1/workers",
      );
      assert.deepEqual(
        workers.body.items.map((x) => [x.id, x.status, x.capacity]),
        [["w1", "active", 2]],
      );
    } finally {
      await w.stop();
      await s.stop();
    }
  });

  it("gives 4 arriving jobs to 2 waiting workers of capacity 4 two each", async () => {
    const s = await startServer();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handlers = { hold: () => gate };
    const a = await startWorker({ server: s.url, id: "a", capacity: 4, handlers });
    const b = await startWorker({ server: s.url, id: "b", capacity: 4, handlers });
    try {
      // Both must be waiting in a long-poll before the jobs arrive.
      await waitUntil(() => s.server.runtime.engine.waiting === 2, { what: "both workers waiting" });
      const res = await api<{ jobs: Job[] }>(s.url, "POST", "/api/v1/jobs/batch", {
        jobs: Array.from({ length: 4 }, () => ({ type: "hold" })),
      });
      const ids = res.body.jobs.map((j) => j.id);
      const running = await waitUntil(async () => {
        const jobs = await Promise.all(ids.map((id) => getJob(s.url, id)));
        return jobs.every((j) => j.status === "running") ? jobs : null;
      });
      const perWorker = countBy(running, (j) => j.workerId!);
      assert.deepEqual(perWorker, { a: 2, b: 2 });
      release();
      for (const id of ids) await waitStatus(s.url, id, "completed");
    } finally {
      release();
      await a.stop();
      await b.stop();
      await s.stop();
    }
  });

  it("keeps a job whose constraints nobody meets queued until a matching worker registers", async () => {
    const s = await startServer();
    const cpu = await startWorker({ server: s.url, id: "cpu", capacity: 2 });
    let gpu: Awaited<ReturnType<typeof startWorker>> | null = null;
    try {
      const job = await submit(s.url, {
        type: "sleep",
        payload: { durationMs: 1 },
        constraints: { gpu: "true" },
      });
      const other = await submit(s.url, { type: "sleep", payload: { durationMs: 1 } });
      await waitStatus(s.url, other.id, "completed");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await getJob(s.url, job.id)).status, "queued");
      gpu = await startWorker({ server: s.url, id: "gpu", capacity: 1, labels: { gpu: "true" } });
      const done = await waitStatus(s.url, job.id, "completed");
      assert.equal(done.workerId, "gpu");
    } finally {
      await gpu?.stop();
      await cpu.stop();
      await s.stop();
    }
  });

  it("gives a drained worker no new jobs and lets its running job finish", async () => {
    const s = await startServer();
    const w = await startWorker({ server: s.url, id: "d1", capacity: 2 });
    try {
      const long = await submit(s.url, { type: "sleep", payload: { durationMs: 500 } });
      await waitStatus(s.url, long.id, "running");
      const drained = await api<{ worker: { status: string } }>(s.url, "POST", "/api/v1/workers/d1/drain");
      assert.equal(drained.status, 200);
      assert.equal(drained.body.worker.status, "draining");
      const next = await submit(s.url, { type: "sleep", payload: { durationMs: 1 } });
      await waitStatus(s.url, long.id, "completed");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await getJob(s.url, next.id)).status, "queued");
      const missing = await api<{ error: { code: string } }>(s.url, "POST", "/api/v1/workers/nope/drain");
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, "WORKER_NOT_FOUND");
    } finally {
      await w.stop();
      await s.stop();
    }
  });

  it("a worker started before its server waits, then connects", async () => {
    const probe = await startServer();
    const port = Number(new URL(probe.url).port);
    await probe.stop();
    const w = await startWorker({
      server: `http://127.0.0.1:${port}`,
      id: "early",
      capacity: 1,
      noWait: true,
    });
    await new Promise((r) => setTimeout(r, 500));
    const s = await startServer({ port });
    try {
      const job = await submit(s.url, { type: "sleep", payload: { durationMs: 1 } });
      const done = await waitStatus(s.url, job.id, "completed", 20_000);
      assert.equal(done.workerId, "early");
    } finally {
      await w.stop();
      await s.stop();
    }
  });
});
