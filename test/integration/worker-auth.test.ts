/**
 * The worker protocol with worker keys, over real HTTP on SQLite and PostgreSQL: a worker with a valid key
 * cannot complete, fail, release or heartbeat a job another worker holds (409, nothing changes), cannot
 * speak for another key's worker id, and a key restricted to queues is given jobs of those queues only.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";
import { freshSchema } from "../helpers/pg.ts";

type Claim = { id: string; lease: string; attempt: number; queue: string };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function suite(name: string, start: () => Promise<{ url: string; stop: () => Promise<void> }>) {
  describe(`worker keys (${name})`, () => {
    let s: { url: string; stop: () => Promise<void> };
    before(async () => {
      s = await start();
    });
    after(() => s.stop());

    const key = async (body: Record<string, unknown>) => {
      const res = await api<{ key: string }>(s.url, "POST", "/api/v1/api-keys", { role: "worker", ...body });
      assert.equal(res.status, 201, res.text);
      return res.body.key;
    };
    const register = (token: string, id: string, queues: string[] | null = null) =>
      api(
        s.url,
        "POST",
        "/api/v1/workers/register",
        { id, capacity: 4, types: ["sleep"], queues },
        bearer(token),
      );
    const poll = async (token: string, id: string) => {
      const res = await api<{ jobs: Claim[] }>(
        s.url,
        "POST",
        `/api/v1/workers/${id}/poll`,
        { slots: 4, waitMs: 0 },
        bearer(token),
      );
      assert.equal(res.status, 200, res.text);
      return res.body.jobs;
    };
    const job = (id: string) =>
      api<{ job: { status: string; workerId: string | null } }>(s.url, "GET", `/api/v1/jobs/${id}`);

    it("refuses reports and heartbeats for a job another worker holds; nothing changes", async () => {
      const [ka, kb] = [await key({ name: "a" }), await key({ name: "b" })];
      assert.equal((await register(ka, "wa")).status, 200);
      assert.equal((await register(kb, "wb")).status, 200);
      const sub = await api<{ job: { id: string } }>(s.url, "POST", "/api/v1/jobs", {
        type: "sleep",
        queue: `held-${name}`,
        payload: { durationMs: 1 },
      });
      const claimed = await poll(ka, "wa");
      const mine = claimed.find((c) => c.id === sub.body.job.id);
      assert.ok(mine, "worker a holds the job");
      const lease = { jobId: mine.id, lease: mine.lease, attempt: mine.attempt };
      for (const report of [
        { completed: [{ ...lease, result: "stolen" }] },
        { failed: [{ ...lease, error: { code: "X", message: "no" }, retryable: false }] },
        { released: [lease] },
      ]) {
        const res = await api<{ error: { code: string } }>(
          s.url,
          "POST",
          "/api/v1/workers/wb/reports",
          report,
          bearer(kb),
        );
        assert.deepEqual([res.status, res.body.error?.code], [409, "LEASE_LOST"], JSON.stringify(report));
      }
      const hb = await api<{ abort: string[] }>(
        s.url,
        "POST",
        "/api/v1/workers/wb/heartbeat",
        { leases: [{ jobId: mine.id, lease: mine.lease }] },
        bearer(kb),
      );
      assert.deepEqual(hb.body.abort, [mine.id], "b is told the job is not its own");
      // b speaking as a: refused, the id is a's key's.
      const asA = await api(
        s.url,
        "POST",
        "/api/v1/workers/wa/reports",
        { completed: [{ ...lease, result: 1 }] },
        bearer(kb),
      );
      assert.equal(asA.status, 403);
      assert.equal((await register(kb, "wa")).status, 409);
      const still = await job(mine.id);
      assert.deepEqual([still.body.job.status, still.body.job.workerId], ["running", "wa"]);
      // The holder finishes it.
      const done = await api<{ stale: string[] }>(
        s.url,
        "POST",
        "/api/v1/workers/wa/reports",
        { completed: [{ ...lease, result: 1 }] },
        bearer(ka),
      );
      assert.deepEqual(done.body.stale, []);
      assert.equal((await job(mine.id)).body.job.status, "completed");
    });

    it("a key restricted to queues gives its worker jobs of those queues only", async () => {
      const kq = await key({ name: "q", queues: [`only-${name}`] });
      await register(kq, "wq", null);
      const other = await api<{ job: { id: string } }>(s.url, "POST", "/api/v1/jobs", {
        type: "sleep",
        queue: `other-${name}`,
        payload: { durationMs: 1 },
      });
      const mine = await api<{ job: { id: string } }>(s.url, "POST", "/api/v1/jobs", {
        type: "sleep",
        queue: `only-${name}`,
        payload: { durationMs: 1 },
      });
      const got = await poll(kq, "wq");
      assert.ok(got.some((c) => c.id === mine.body.job.id));
      assert.ok(!got.some((c) => c.id === other.body.job.id));
      assert.ok(got.every((c) => c.queue === `only-${name}`));
    });

    it("a worker key reads nothing else of the API", async () => {
      const kw = await key({ name: "w" });
      for (const path of ["/api/v1/jobs", "/api/v1/schedules", "/api/v1/workers", "/api/v1/events"])
        assert.equal((await api(s.url, "GET", path, undefined, bearer(kw))).status, 403, path);
    });
  });
}

suite("SQLite", () => startServer({ concurrency: 0 }));

let pg: Awaited<ReturnType<typeof freshSchema>>;
suite("PostgreSQL", async () => {
  pg = await freshSchema("worker_auth");
  const s = await startServer({ concurrency: 0, db: pg.url, dbSchema: pg.schema });
  return {
    url: s.url,
    stop: async () => {
      await s.stop();
      await pg.drop();
    },
  };
});
