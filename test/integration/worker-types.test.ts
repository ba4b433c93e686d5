/**
 * A worker only receives job types it can run (issue 10, item 3), on the real PostgreSQL: two processes
 * share the database with their default configuration — an application embedding the SDK with an
 * `email.send` handler, and a plain pool (what `bosun start` runs) without it. The plain pool must never
 * claim `email.send`; such a job waits for the pool that has the handler.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Bosun } from "../../src/sdk/bosun.ts";
import { freshSchema } from "../helpers/pg.ts";
import { waitUntil } from "../helpers/wait.ts";

/** Counts the calls of one method of an object (to wait for "the pool polled again"). */
function countCalls(target: object, method: string): { readonly n: number } {
  const counter = { n: 0 };
  const t = target as Record<string, (...args: unknown[]) => unknown>;
  const original = t[method]!.bind(target);
  t[method] = (...args: unknown[]) => {
    counter.n++;
    return original(...args);
  };
  return counter;
}

describe("job types on a shared PostgreSQL", () => {
  let pg: Awaited<ReturnType<typeof freshSchema>>;
  let plain: Bosun;
  let app: Bosun;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });

  before(async () => {
    pg = await freshSchema("bosun_types");
    // Short leases make heartbeats (which refresh a worker's cached registration) come every 500 ms.
    const config = { logLevel: "silent", leaseMs: 1500 } as const;
    plain = await Bosun.open({ db: pg.url, schema: pg.schema, config });
    app = await Bosun.open({ db: pg.url, schema: pg.schema, config });
  });

  after(async () => {
    release();
    await app?.stop(0);
    await plain?.stop(0);
    await pg.drop();
  });

  it("a pool without the handler never claims its jobs; they wait for the pool that has it", async () => {
    const polls = countCalls(plain.runtime.workers, "poll");
    const beats = countCalls(plain.runtime.workers, "heartbeat");
    await plain.start({ concurrency: 2 });
    app.define("email.send", async () => {
      await gate;
      return "sent";
    });
    await app.start({ concurrency: 1 });
    assert.notEqual(app.runtime.localWorkerId, plain.runtime.localWorkerId, "each process has its own pool");
    // The app's one slot is taken by the first email; the other two stay queued.
    const emails = await app.enqueueMany([1, 2, 3].map((n) => ({ type: "email.send", payload: { n } })));
    await waitUntil(async () => (await app.getJob(emails[0]!.id)).status === "running");
    // Let the plain pool refresh its registration by heartbeat, then poll afresh: a job it can run ends
    // its current long-poll, and the poll after it is made with whatever the pool believes it runs.
    const seenBeats = beats.n;
    await waitUntil(() => beats.n >= seenBeats + 2, { what: "two heartbeats of the plain pool" });
    const seenPolls = polls.n;
    const probe = await plain.enqueue({ type: "sleep", payload: { durationMs: 0 } });
    await waitUntil(async () => (await plain.getJob(probe.id)).status === "completed");
    assert.notEqual((await plain.getJob(probe.id)).workerId, app.runtime.localWorkerId);
    await waitUntil(() => polls.n >= seenPolls + 1, { what: "a poll after the probe" });
    for (const e of emails) {
      const job = await plain.getJob(e.id);
      assert.equal(job.error, null, `${e.id} was not failed by the plain pool`);
      assert.ok(job.workerId === null || job.workerId === app.runtime.localWorkerId);
    }
    release();
    for (const e of emails) {
      const done = await app.wait(e.id, { signal: AbortSignal.timeout(15_000) });
      assert.equal(done.status, "completed");
      assert.equal(done.attempts, 1, "one attempt: nobody failed it with UNKNOWN_JOB_TYPE");
      assert.equal(done.workerId, app.runtime.localWorkerId);
    }
  });
});
