/**
 * The audit log of jobs, schedules and workers over real HTTP, on SQLite and on PostgreSQL: every change
 * made through the API appears in GET /api/v1/audit with its actor, target and the caller's address, and
 * a refused change (409 for a job that cannot be cancelled, 404 for another member's job or schedule or an
 * unknown worker) leaves no entry. That an entry shares its change's transaction is shown store by store
 * (test/store/audit-conformance.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NO_AUTH } from "../helpers/auth.ts";
import { backends as testBackends } from "../helpers/backends.ts";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";
import { waitUntil } from "../helpers/wait.ts";

type Entry = {
  action: string;
  actorId: string | null;
  actorName: string | null;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  outcome: string;
  details: Record<string, unknown> | null;
};
type Job = { id: string; status: string };

const backends = testBackends("bosun_audit_api");

/** A job that waits (an hour away): it stays cancellable whatever the local pool does. */
const sleepJob = { type: "sleep", payload: { durationMs: 0 } };
const later = { ...sleepJob, delayMs: 3_600_000 };
const AUDITED = /^(job|schedule|worker)\./;

for (const backend of backends) {
  describe(`audit log of jobs, schedules and workers (${backend.name})`, () => {
    let s: Awaited<ReturnType<typeof startServer>>;
    let db: Awaited<ReturnType<(typeof backend)["db"]>>;
    let admin: { id: string; name: string };
    let mia: { id: string; token: string };
    const asMia = () => ({ authorization: `Bearer ${mia.token}` });

    before(async () => {
      db = await backend.db();
      s = await startServer({ ...db.flags, concurrency: 1 });
      admin = (await api<{ principal: { id: string; name: string } }>(s.url, "GET", "/api/v1/me")).body
        .principal;
      const password = "password-of-mia";
      const made = await api(s.url, "POST", "/api/v1/users", { username: "mia", password, role: "member" });
      assert.equal(made.status, 201, made.text);
      const login = await api<{ accessToken: string; user: { id: string } }>(
        s.url,
        "POST",
        "/api/v1/auth/login",
        { username: "mia", password },
        NO_AUTH,
      );
      mia = { id: login.body.user.id, token: login.body.accessToken };
    });
    after(async () => {
      await s.stop();
      await db.drop();
    });

    /** The job, schedule and worker entries of one actor, oldest first. */
    const entriesOf = async (actorId: string): Promise<Entry[]> => {
      const res = await api<{ items: Entry[] }>(s.url, "GET", `/api/v1/audit?actor=${actorId}&limit=500`);
      assert.equal(res.status, 200, res.text);
      return res.body.items.filter((e) => AUDITED.test(e.action)).reverse();
    };
    const call = async <T>(method: string, path: string, body?: unknown, headers = asMia()) =>
      api<T>(s.url, method, path, body, headers);

    it("records jobs submitted, cancelled and retried, and nothing for refused changes", async () => {
      const one = await call<{ job: Job }>("POST", "/api/v1/jobs", { ...later, idempotencyKey: "audit-1" });
      assert.equal(one.status, 201, one.text);
      const id = one.body.job.id;
      const replay = await call("POST", "/api/v1/jobs", { ...later, idempotencyKey: "audit-1" });
      assert.equal(replay.status, 200, "an idempotent replay creates nothing");
      const batch = await call<{ jobs: Job[] }>("POST", "/api/v1/jobs/batch", {
        jobs: [later, later, later],
      });
      assert.equal(batch.status, 201, batch.text);
      assert.equal((await call("POST", `/api/v1/jobs/${id}/cancel`)).status, 200);
      assert.equal((await call("POST", `/api/v1/jobs/${id}/cancel`)).status, 409, "already cancelled");
      assert.equal((await call("POST", `/api/v1/jobs/${id}/retry`)).status, 200);
      // Another owner's job does not exist for a member: 404, and nothing happened.
      const theirs = await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", later);
      assert.equal((await call("POST", `/api/v1/jobs/${theirs.body.job.id}/cancel`)).status, 404);

      const entries = await entriesOf(mia.id);
      assert.deepEqual(
        entries.map((e) => [e.action, e.actorId, e.actorName, e.targetType, e.targetId, e.ip, e.outcome]),
        [
          ["job.submit", mia.id, "mia", "job", id, "127.0.0.1", "ok"],
          ["job.submit", mia.id, "mia", "job", null, "127.0.0.1", "ok"],
          ["job.cancel", mia.id, "mia", "job", id, "127.0.0.1", "ok"],
          ["job.retry", mia.id, "mia", "job", id, "127.0.0.1", "ok"],
        ],
      );
      assert.deepEqual(entries[0]!.details, { count: 1, jobIds: [id] });
      assert.deepEqual(entries[1]!.details, { count: 3, jobIds: batch.body.jobs.map((j) => j.id) });
      assert.equal(
        (await api<{ job: Job }>(s.url, "GET", `/api/v1/jobs/${theirs.body.job.id}`)).body.job.status,
        "scheduled",
      );
    });

    it("writes no entry for cancelling a completed job (409)", async () => {
      const done = await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", {
        type: "sleep",
        payload: { durationMs: 0 },
      });
      await waitUntil(
        async () =>
          (await api<{ job: Job }>(s.url, "GET", `/api/v1/jobs/${done.body.job.id}`)).body.job.status ===
          "completed",
        { what: "the job to complete" },
      );
      const before = await entriesOf(admin.id);
      const res = await api<{ error: { code: string } }>(
        s.url,
        "POST",
        `/api/v1/jobs/${done.body.job.id}/cancel`,
      );
      assert.deepEqual([res.status, res.body.error.code], [409, "INVALID_STATE"]);
      assert.deepEqual(await entriesOf(admin.id), before);
    });

    it("records schedules created, changed, paused, resumed, triggered and deleted", async () => {
      const created = await call<{ schedule: { id: string } }>("POST", "/api/v1/schedules", {
        name: "audit-nightly",
        cron: "0 3 1 1 *",
        job: sleepJob,
      });
      assert.equal(created.status, 201, created.text);
      const id = created.body.schedule.id;
      const patch = await call("PATCH", `/api/v1/schedules/${id}`, { cron: "0 4 1 1 *", overlap: "skip" });
      assert.equal(patch.status, 200, patch.text);
      assert.equal((await call("POST", `/api/v1/schedules/${id}/pause`)).status, 200);
      assert.equal((await call("POST", `/api/v1/schedules/${id}/resume`)).status, 200);
      const fired = await call<{ job: Job }>("POST", `/api/v1/schedules/${id}/trigger`);
      assert.equal(fired.status, 201, fired.text);
      // Refused: a name taken, an unknown id, another member's schedule (404).
      const taken = await call("POST", "/api/v1/schedules", {
        name: "audit-nightly",
        cron: "0 3 * * *",
        job: sleepJob,
      });
      assert.equal(taken.status, 409, taken.text);
      assert.equal((await call("PATCH", "/api/v1/schedules/nope", { cron: "0 5 * * *" })).status, 404);
      const theirs = await api<{ schedule: { id: string } }>(s.url, "POST", "/api/v1/schedules", {
        cron: "0 3 1 1 *",
        job: sleepJob,
      });
      assert.equal((await call("DELETE", `/api/v1/schedules/${theirs.body.schedule.id}`)).status, 404);
      assert.equal((await call("DELETE", `/api/v1/schedules/${id}`)).status, 204);
      assert.equal((await call("DELETE", `/api/v1/schedules/${id}`)).status, 404);

      const entries = (await entriesOf(mia.id)).filter((e) => e.targetType === "schedule");
      assert.deepEqual(
        entries.map((e) => e.action),
        [
          "schedule.create",
          "schedule.update",
          "schedule.pause",
          "schedule.resume",
          "schedule.trigger",
          "schedule.delete",
        ],
      );
      for (const e of entries) assert.deepEqual([e.targetId, e.actorName, e.ip], [id, "mia", "127.0.0.1"]);
      assert.deepEqual(entries[1]!.details, { fields: ["cron", "overlap"] });
      assert.deepEqual(entries[4]!.details, { count: 1, jobIds: [fired.body.job.id] });
      assert.ok((await api(s.url, "GET", `/api/v1/schedules/${theirs.body.schedule.id}`)).status === 200);
    });

    it("records workers drained and undrained, and nothing for an unknown worker", async () => {
      const reg = await api(s.url, "POST", "/api/v1/workers/register", {
        id: "audit-w1",
        capacity: 1,
        types: ["x"],
      });
      assert.equal(reg.status, 200, reg.text);
      assert.equal((await api(s.url, "POST", "/api/v1/workers/audit-w1/drain")).status, 200);
      const undo = await api(s.url, "POST", "/api/v1/workers/audit-w1/drain", { draining: false });
      assert.equal(undo.status, 200, undo.text);
      assert.equal((await api(s.url, "POST", "/api/v1/workers/audit-nobody/drain")).status, 404);
      const entries = (await entriesOf(admin.id)).filter((e) => e.targetType === "worker");
      assert.deepEqual(
        entries.map((e) => [e.action, e.actorId, e.actorName, e.targetId, e.ip]),
        [
          ["worker.drain", admin.id, admin.name, "audit-w1", "127.0.0.1"],
          ["worker.undrain", admin.id, admin.name, "audit-w1", "127.0.0.1"],
        ],
      );
    });

    it("filters by action", async () => {
      const res = await api<{ items: Entry[] }>(s.url, "GET", "/api/v1/audit?action=job.cancel");
      assert.ok(res.body.items.length >= 1);
      assert.ok(res.body.items.every((e) => e.action === "job.cancel"));
    });
  });
}
