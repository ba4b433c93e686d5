/**
 * The events API across a cluster on the real PostgreSQL: three server nodes on one schema, a remote HTTP
 * worker on the third. A client on node B sees every change of the jobs submitted to node A and run by
 * that worker, each once, in sequence order: the feed is the shared table, not any node's memory.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api } from "../helpers/bosun-process.ts";
import { type Collected, sse, ws } from "../helpers/event-client.ts";
import { startServer, startWorker, type TestWorker } from "../helpers/in-process.ts";
import { freshSchema } from "../helpers/pg.ts";
import { waitUntil } from "../helpers/wait.ts";

type Node = Awaited<ReturnType<typeof startServer>>;
const JOBS = 200;

describe("live events across a PostgreSQL cluster", () => {
  let pg: Awaited<ReturnType<typeof freshSchema>>;
  const nodes: Node[] = [];
  let worker: TestWorker;

  before(async () => {
    pg = await freshSchema("bosun_events");
    for (const id of ["ev-a", "ev-b", "ev-c"])
      nodes.push(await startServer({ db: pg.url, dbSchema: pg.schema, nodeId: id, concurrency: 0 }));
    worker = await startWorker({ server: nodes[2]!.url, id: "ev-worker", capacity: 8, pollWaitMs: 500 });
  });
  after(async () => {
    await worker.stop();
    for (const n of nodes) await n.stop();
    await pg.drop();
  });

  it("a client on node B sees every change of jobs submitted to node A and run by a remote worker, in order", async () => {
    const [a, b] = nodes as [Node, Node];
    const onSse = await sse(b.url, "queue=cluster-events");
    const onWs = await ws(b.url, "queue=cluster-events");
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i += 50) {
      const jobs = Array.from({ length: 50 }, () => ({
        type: "sleep",
        queue: "cluster-events",
        payload: { durationMs: 0 },
      }));
      const res = await api<{ jobs: { id: string }[] }>(a.url, "POST", "/api/v1/jobs/batch", { jobs });
      assert.equal(res.status, 201, res.text);
      ids.push(...res.body.jobs.map((j) => j.id));
    }
    const completed = (c: Collected) => c.jobs().filter((m) => m.event === "complete").length;
    await waitUntil(() => completed(onSse) === JOBS && completed(onWs) === JOBS, {
      timeoutMs: 60_000,
      what: `${JOBS} completions on node B`,
    });
    // What the feed holds for the queue, read from the shared store, is what both clients got.
    const feed = (await b.server.runtime.store.readFeed(0, 100_000)).filter(
      (e) => e.queue === "cluster-events",
    );
    // At least enqueue, claim and complete for each (a prefetched claim given back adds release, claim).
    for (const event of ["enqueue", "complete"])
      assert.equal(feed.filter((e) => e.event === event).length, JOBS, event);
    for (const c of [onSse, onWs]) {
      c.close();
      assert.deepEqual(
        c.jobs().map((m) => [m.seq, m.jobId, m.event]),
        feed.map((e) => [e.seq, e.jobId, e.event]),
      );
    }
    assert.deepEqual(new Set(feed.map((e) => e.jobId)), new Set(ids));
    assert.ok(feed.filter((e) => e.event === "claim").every((e) => e.workerId === "ev-worker"));
  });
});
