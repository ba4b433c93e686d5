/**
 * A job no live worker can take is accepted with a word (issue 10, item 9d): POST /jobs and /jobs/batch
 * answer `warnings`, and GET /jobs/:id shows `waiting` while the job is queued. Real server on SQLite, a
 * real HTTP worker, real sockets.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api } from "../helpers/bosun-process.ts";
import { startServer, startWorker, type TestWorker } from "../helpers/in-process.ts";
import { waitUntil } from "../helpers/wait.ts";

type Reason = { code: string; message: string };
type Job = { id: string; status: string; waiting?: Reason | null };
type Created = { job: Job; warnings: (Reason & { jobId: string })[] };

describe("warnings for jobs no worker can take", () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  let worker: TestWorker | null = null;

  before(async () => {
    srv = await startServer(); // no local pool: concurrency 0
  });
  after(async () => {
    await worker?.stop();
    await srv.stop();
  });

  it("without any worker: 201 with NO_WORKER_FOR_TYPE, and the queued job says why it waits", async () => {
    const r = await api<Created>(srv.url, "POST", "/api/v1/jobs", {
      type: "sleep",
      payload: { durationMs: 0 },
    });
    assert.equal(r.status, 201);
    assert.deepEqual(
      r.body.warnings.map((w) => [w.jobId, w.code]),
      [[r.body.job.id, "NO_WORKER_FOR_TYPE"]],
    );
    assert.match(r.body.warnings[0]!.message, /sleep/);
    const got = await api<{ job: Job }>(srv.url, "GET", `/api/v1/jobs/${r.body.job.id}`);
    assert.equal(got.body.job.status, "queued");
    assert.equal(got.body.job.waiting?.code, "NO_WORKER_FOR_TYPE");
  });

  it("with a worker: constraints it lacks warn and wait; a job it can take has no warning and runs", async () => {
    worker = await startWorker({ server: srv.url, id: "w-cpu", capacity: 2, labels: { gpu: "no" } });
    const r = await api<{ jobs: Job[]; warnings: Created["warnings"] }>(
      srv.url,
      "POST",
      "/api/v1/jobs/batch",
      {
        jobs: [
          { type: "sleep", payload: { durationMs: 0 } },
          { type: "sleep", payload: { durationMs: 0 }, constraints: { gpu: "yes" } },
        ],
      },
    );
    assert.equal(r.status, 201);
    const [fits, needsGpu] = r.body.jobs;
    assert.deepEqual(
      r.body.warnings.map((w) => [w.jobId, w.code]),
      [[needsGpu!.id, "NO_WORKER_MATCHES_CONSTRAINTS"]],
    );
    assert.match(r.body.warnings[0]!.message, /gpu=yes/);
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(srv.url, "GET", `/api/v1/jobs/${fits!.id}`)).body.job.status === "completed",
      { what: "the job the worker can take to complete" },
    );
    const done = await api<{ job: Job }>(srv.url, "GET", `/api/v1/jobs/${fits!.id}`);
    assert.equal(done.body.job.waiting, null);
    const waits = await api<{ job: Job }>(srv.url, "GET", `/api/v1/jobs/${needsGpu!.id}`);
    assert.equal(waits.body.job.status, "queued");
    assert.equal(waits.body.job.waiting?.code, "NO_WORKER_MATCHES_CONSTRAINTS");
    const one = await api<Created>(srv.url, "POST", "/api/v1/jobs", {
      type: "sleep",
      payload: { durationMs: 0 },
    });
    assert.deepEqual(one.body.warnings, []);
  });

  it("documents warnings and waiting in the OpenAPI document", async () => {
    const doc = await api<{ paths: Record<string, Record<string, unknown>> }>(
      srv.url,
      "GET",
      "/api/v1/openapi.json",
    );
    const text = JSON.stringify(doc.body);
    assert.equal(doc.status, 200);
    for (const code of ["NO_WORKER_FOR_TYPE", "NO_WORKER_FOR_QUEUE", "NO_WORKER_MATCHES_CONSTRAINTS"])
      assert.ok(text.includes(code), `${code} is in the document`);
    const created = JSON.stringify(doc.body.paths["/api/v1/jobs"]?.post);
    assert.ok(created.includes('"warnings"'), "createJob's response has warnings");
  });
});
