/** The REST API over a real socket with an in-process server on SQLite. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { authedFetch } from "../helpers/auth.ts";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";
import { waitUntil } from "../helpers/wait.ts";

type Job = { id: string; status: string; attempts: number };

describe("REST API", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer({ concurrency: 2 });
  });
  after(() => s.stop());

  const submit = async (job: Record<string, unknown>) => {
    const res = await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", job);
    assert.equal(res.status, 201, res.text);
    return res.body.job;
  };

  it("answers health and readiness", async () => {
    const health = await api<{ status: string; nodeId: string }>(s.url, "GET", "/api/v1/health");
    assert.equal(health.status, 200);
    assert.equal(health.body.status, "ok");
    const ready = await api<{ status: string }>(s.url, "GET", "/api/v1/ready");
    assert.deepEqual([ready.status, ready.body.status], [200, "ready"]);
  });

  it("returns 200 with the existing job for a known idempotency key", async () => {
    const first = await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", {
      type: "sleep",
      payload: { durationMs: 1 },
      idempotencyKey: "same",
    });
    const second = await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", {
      type: "sleep",
      payload: { durationMs: 1 },
      idempotencyKey: "same",
    });
    assert.deepEqual([first.status, second.status], [201, 200]);
    assert.equal(first.body.job.id, second.body.job.id);
  });

  it("pages through jobs newest first with a keyset cursor and filters by status", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await submit({ type: "sleep", payload: { durationMs: 1 }, queue: "paging" })).id);
    const page1 = await api<{ items: Job[]; nextCursor: string | null }>(
      s.url,
      "GET",
      "/api/v1/jobs?queue=paging&limit=3",
    );
    assert.equal(page1.body.items.length, 3);
    assert.ok(page1.body.nextCursor);
    const page2 = await api<{ items: Job[]; nextCursor: string | null }>(
      s.url,
      "GET",
      `/api/v1/jobs?queue=paging&limit=3&cursor=${page1.body.nextCursor}`,
    );
    assert.deepEqual(
      [...page1.body.items, ...page2.body.items].map((j) => j.id),
      [...ids].reverse(),
    );
    assert.equal(page2.body.nextCursor, null);
    const bad = await api<{ error: { code: string } }>(s.url, "GET", "/api/v1/jobs?status=nope");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "VALIDATION_FAILED");
    await waitUntil(
      async () =>
        (await api<{ items: Job[] }>(s.url, "GET", "/api/v1/jobs?queue=paging&status=completed")).body.items
          .length === 5,
    );
  });

  it("cancels a queued job, refuses to cancel it twice (409), and retries it", async () => {
    const job = await submit({ type: "sleep", payload: { durationMs: 1 }, delayMs: 60_000 });
    assert.equal(job.status, "scheduled");
    const cancelled = await api<{ job: Job }>(s.url, "POST", `/api/v1/jobs/${job.id}/cancel`);
    assert.equal(cancelled.body.job.status, "cancelled");
    const again = await api<{ error: { code: string } }>(s.url, "POST", `/api/v1/jobs/${job.id}/cancel`);
    assert.deepEqual([again.status, again.body.error.code], [409, "INVALID_STATE"]);
    const retried = await api<{ job: Job }>(s.url, "POST", `/api/v1/jobs/${job.id}/retry`);
    assert.equal(retried.body.job.status, "queued");
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(s.url, "GET", `/api/v1/jobs/${job.id}`)).body.job.status === "completed",
    );
    const notRetryable = await api<{ error: { code: string } }>(
      s.url,
      "POST",
      `/api/v1/jobs/${job.id}/retry`,
    );
    assert.equal(notRetryable.status, 409);
    const missing = await api<{ error: { code: string } }>(s.url, "POST", "/api/v1/jobs/nope/cancel");
    assert.deepEqual([missing.status, missing.body.error.code], [404, "JOB_NOT_FOUND"]);
  });

  it("streams a job's log with follow=true until the job ends", async () => {
    const job = await submit({
      type: "shell",
      payload: { command: "for i in 1 2 3; do echo line-$i; sleep 0.2; done" },
    });
    const started = Date.now();
    const res = await authedFetch(`${s.url}/api/v1/jobs/${job.id}/logs?follow=true`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    assert.match(text, /line-1\nline-2\nline-3\n/);
    assert.ok(Date.now() - started >= 300, "the stream stayed open while the job ran");
  });

  it("reports counts, throughput and utilisation as JSON and as Prometheus text", async () => {
    const m = await api<{
      counts: { byStatus: Record<string, number>; byQueue: Record<string, Record<string, number>> };
      throughput: { jobsPerSecond: number; finishedTotal: number };
      workers: { running: number; capacity: number; utilisation: number };
    }>(s.url, "GET", "/api/v1/metrics");
    assert.equal(m.status, 200);
    assert.ok((m.body.counts.byStatus.completed ?? 0) > 0);
    assert.ok(m.body.counts.byQueue.paging);
    assert.ok(m.body.throughput.jobsPerSecond > 0);
    const { completed = 0, failed = 0, cancelled = 0 } = m.body.counts.byStatus;
    // Finish events: a job retried by hand after it failed finished twice.
    assert.ok(m.body.throughput.finishedTotal >= completed + failed + cancelled);
    assert.equal(m.body.workers.capacity, 2);
    const light = await api<{ counts?: unknown; throughput: { finishedTotal: number } }>(
      s.url,
      "GET",
      "/api/v1/metrics?counts=false",
    );
    assert.equal(light.body.counts, undefined);
    assert.equal(light.body.throughput.finishedTotal, m.body.throughput.finishedTotal);
    const prom = await authedFetch(`${s.url}/metrics`);
    const text = await prom.text();
    assert.match(text, /bosun_jobs\{status="completed",queue="paging"\} 5/);
    assert.match(text, new RegExp(`bosun_jobs_finished_total ${m.body.throughput.finishedTotal}\\b`));
    assert.match(text, /bosun_worker_capacity 2/);
  });

  it("answers unknown routes with ROUTE_NOT_FOUND and wrong content types with 415", async () => {
    const nf = await api<{ error: { code: string } }>(s.url, "GET", "/api/v1/nope");
    assert.deepEqual([nf.status, nf.body.error.code], [404, "ROUTE_NOT_FOUND"]);
    const ct = await api<{ error: { code: string } }>(s.url, "POST", "/api/v1/jobs", "type=shell", {
      "content-type": "application/x-www-form-urlencoded",
    });
    assert.deepEqual([ct.status, ct.body.error.code], [415, "UNSUPPORTED_MEDIA_TYPE"]);
  });
});
