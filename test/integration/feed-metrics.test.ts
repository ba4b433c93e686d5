/**
 * Metrics counters read from the change feed: on a 2-node PostgreSQL cluster, node B counts the changes
 * of jobs that node A enqueued and ran, by event, queue and failure code, in JSON and in Prometheus text.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { authedFetch } from "../helpers/auth.ts";
import { api, waitDone } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";
import { freshSchema } from "../helpers/pg.ts";

type Changes = { byEvent: Record<string, Record<string, number>>; failuresByCode: Record<string, number> };

describe("metrics counters from the change feed (2 PostgreSQL nodes)", () => {
  let pg: Awaited<ReturnType<typeof freshSchema>>;
  let a: Awaited<ReturnType<typeof startServer>>;
  let b: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    pg = await freshSchema("feed_metrics");
    a = await startServer({ db: pg.url, dbSchema: pg.schema, nodeId: "a", concurrency: 2 });
    b = await startServer({ db: pg.url, dbSchema: pg.schema, nodeId: "b", concurrency: 0 });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await pg?.drop();
  });

  it("node B counts node A's changes by event, queue and error code", async () => {
    const before = (await api<{ changes: Changes }>(b.url, "GET", "/api/v1/metrics")).body.changes;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ok = await api<{ job: { id: string } }>(a.url, "POST", "/api/v1/jobs", {
        type: "sleep",
        queue: "counted",
        payload: { durationMs: 1 },
      });
      ids.push(ok.body.job.id);
    }
    const bad = await api<{ job: { id: string } }>(a.url, "POST", "/api/v1/jobs", {
      type: "shell",
      queue: "counted",
      maxAttempts: 1,
      payload: { command: "exit 3" },
    });
    ids.push(bad.body.job.id);
    for (const id of ids) await waitDone(a.url, id);

    const m = await api<{ changes: Changes }>(b.url, "GET", "/api/v1/metrics");
    assert.equal(m.status, 200);
    const delta = (event: string) =>
      (m.body.changes.byEvent[event]?.counted ?? 0) - (before.byEvent[event]?.counted ?? 0);
    assert.deepEqual(
      [delta("enqueue"), delta("claim"), delta("complete"), delta("fail")],
      [4, 4, 3, 1],
      JSON.stringify(m.body.changes),
    );
    assert.equal(
      (m.body.changes.failuresByCode.EXIT_NONZERO ?? 0) - (before.failuresByCode.EXIT_NONZERO ?? 0),
      1,
    );

    const text = await (await authedFetch(`${b.url}/metrics`)).text();
    assert.match(text, /bosun_job_changes_total\{event="complete",queue="counted"\} 3\b/);
    assert.match(text, /bosun_job_attempt_failures_total\{code="EXIT_NONZERO"\} 1\b/);
    // A second scrape adds nothing that did not happen.
    const again = await (await authedFetch(`${b.url}/metrics`)).text();
    assert.match(again, /bosun_job_changes_total\{event="complete",queue="counted"\} 3\b/);
  });
});
