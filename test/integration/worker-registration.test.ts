/**
 * Registration instances over the HTTP worker protocol, on SQLite and on PostgreSQL: a worker id that
 * registers with a new instance (a restarted process) loses the old process's attempts at once as
 * WORKER_LOST; the same instance registering again (a network blip, a server restart) and a worker that
 * sends no instance keep their jobs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { backends as testBackends } from "../helpers/backends.ts";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";

type Job = { id: string; status: string; attempts: number; workerId: string | null };
type Attempt = { attempt: number; status: string; error: { code: string } | null };

const backends = testBackends("bosun_registration");

for (const backend of backends) {
  describe(`worker registration instances (${backend.name})`, () => {
    let s: Awaited<ReturnType<typeof startServer>>;
    let db: Awaited<ReturnType<(typeof backend)["db"]>>;

    before(async () => {
      db = await backend.db();
      // A two-minute lease: nothing here may be ended by the reaper.
      s = await startServer({ ...db.flags, leaseMs: 120_000 });
    });
    after(async () => {
      await s.stop();
      await db.drop();
    });

    const register = async (id: string, instance?: string) => {
      const res = await api(s.url, "POST", "/api/v1/workers/register", {
        id,
        capacity: 1,
        types: ["sleep"],
        labels: { name: id },
        ...(instance ? { instance } : {}),
      });
      assert.equal(res.status, 200, res.text);
    };
    /** Submits a long sleep job and claims it as `workerId`. */
    const claim = async (workerId: string) => {
      const sub = await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", {
        type: "sleep",
        payload: { durationMs: 60_000 },
        maxAttempts: 3,
        constraints: { name: workerId },
      });
      assert.equal(sub.status, 201, sub.text);
      const res = await api<{ jobs: { id: string; lease: string }[] }>(
        s.url,
        "POST",
        `/api/v1/workers/${workerId}/poll`,
        {
          slots: 1,
          waitMs: 5000,
        },
      );
      assert.deepEqual(
        res.body.jobs.map((j) => j.id),
        [sub.body.job.id],
        res.text,
      );
      return { jobId: sub.body.job.id, lease: res.body.jobs[0]!.lease };
    };
    const getJob = async (id: string) =>
      (await api<{ job: Job }>(s.url, "GET", `/api/v1/jobs/${id}`)).body.job;
    const heartbeat = async (workerId: string, leases: { jobId: string; lease: string }[]) =>
      (
        await api<{ abort: string[] }>(s.url, "POST", `/api/v1/workers/${workerId}/heartbeat`, {
          leases,
        })
      ).body.abort;

    it("keeps the jobs of a worker that registers again as the same process (same instance, or none)", async () => {
      await register("w1", "instance-a");
      const lease = await claim("w1");
      await register("w1", "instance-a");
      assert.deepEqual(
        await heartbeat("w1", [lease]),
        [],
        "a re-registration of the same process lost its job",
      );
      const kept = await getJob(lease.jobId);
      assert.equal(kept.status, "running");
      assert.equal(kept.attempts, 1);

      // A worker that predates instances: nothing to compare, so nothing is ended.
      await register("w2");
      const old = await claim("w2");
      await register("w2");
      assert.deepEqual(await heartbeat("w2", [old]), []);
      assert.equal((await getJob(old.jobId)).status, "running");
    });

    it("ends the old process's attempts as WORKER_LOST when another instance registers", async () => {
      await register("w3", "instance-a");
      const lease = await claim("w3");
      const id = lease.jobId;
      await register("w3", "instance-b");
      const lost = await getJob(id);
      assert.notEqual(lost.status, "running", "the dead process's attempt is still running");
      assert.equal(lost.attempts, 1);
      const attempts = await api<{ items: Attempt[] }>(s.url, "GET", `/api/v1/jobs/${id}/attempts`);
      assert.equal(attempts.body.items[0]?.status, "failed", attempts.text);
      assert.equal(attempts.body.items[0]?.error?.code, "WORKER_LOST", attempts.text);
      assert.deepEqual(await heartbeat("w3", [lease]), [id], "the old lease is still renewable");
    });
  });
}
