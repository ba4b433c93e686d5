/**
 * The ScheduleStore and AlertStore contract (src/scheduler/schedule-store.ts) as tests, run against every
 * backend that implements it: SQLite (a temp file) and PostgreSQL (a fresh schema on 127.0.0.1). Jobs are written through the job Store, as the engine writes them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { newId } from "../../src/core/ids.ts";
import type { Alert, AlertStore, ScheduleStore } from "../../src/scheduler/schedule-store.ts";
import { PgScheduleStore } from "../../src/store/postgres/pg-schedules.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { SqliteScheduleStore } from "../../src/store/sqlite/sqlite-schedules.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { freshSchema } from "../helpers/pg.ts";
import { tempDir } from "../helpers/wait.ts";
import { newJob, worker } from "./conformance.ts";
import { schedule } from "./schedule-fixtures.ts";

const T0 = 1_800_000_000_000;

type Opened = { jobs: Store; schedules: ScheduleStore & AlertStore; cleanup: () => Promise<void> };

const alert = (over: Partial<Alert> = {}): Alert => ({
  id: newId(),
  jobId: newId(),
  scheduleId: null,
  url: "http://127.0.0.1:9/hook",
  secret: "s",
  body: "{}",
  status: "pending",
  attempts: 0,
  nextAttemptAt: T0,
  lastError: null,
  lastStatus: null,
  createdAt: T0,
  deliveredAt: null,
  ...over,
});

function scheduleStoreContract(name: string, open: () => Promise<Opened>) {
  describe(`ScheduleStore contract: ${name}`, () => {
    let o: Opened;
    before(async () => {
      o = await open();
    });
    after(async () => {
      await o.jobs.close();
      await o.cleanup();
    });
    const fire = (scheduleId: string, scheduledTime: number | null, queue = "q") =>
      o.jobs.enqueue([newJob({ scheduleId, scheduledTime, queue })], T0);

    it("creates, reads, lists by id, updates and deletes; names are unique", async () => {
      const a = await o.schedules.create(
        schedule({ name: `a-${newId()}`, alert: { webhookUrl: "http://x/" } }),
      );
      assert.deepEqual(await o.schedules.get(a.id), a);
      assert.equal(a.alert?.webhookUrl, "http://x/");
      await assert.rejects(o.schedules.create(schedule({ name: a.name })), { code: "INVALID_STATE" });
      const b = await o.schedules.create(schedule({ paused: true }));
      const listed = await o.schedules.list({ limit: 10, afterId: a.id });
      assert.ok(listed.some((s) => s.id === b.id) && !listed.some((s) => s.id === a.id));
      assert.ok(!(await o.schedules.listActive()).some((s) => s.id === b.id));
      const changed = await o.schedules.update({
        ...a,
        cron: "0 * * * *",
        job: { type: "u" },
        updatedAt: T0 + 1,
      });
      assert.deepEqual([changed.cron, changed.job, changed.updatedAt], ["0 * * * *", { type: "u" }, T0 + 1]);
      await assert.rejects(o.schedules.update(schedule()), { code: "SCHEDULE_NOT_FOUND" });
      assert.equal(await o.schedules.delete(a.id), true);
      assert.equal(await o.schedules.delete(a.id), false);
      assert.equal(await o.schedules.get(a.id), null);
    });

    it("lastFireTime moves only forward and includes the newest fire among the schedule's jobs", async () => {
      const s = await o.schedules.create(schedule());
      assert.equal((await o.schedules.get(s.id))!.lastFireTime, null);
      await o.schedules.setLastFires([{ id: s.id, time: T0 + 5000 }]);
      await o.schedules.setLastFires([{ id: s.id, time: T0 + 3000 }]);
      assert.equal((await o.schedules.get(s.id))!.lastFireTime, T0 + 5000);
      await fire(s.id, T0 + 9000);
      await fire(s.id, null); // a manual trigger is not a fire time
      assert.equal((await o.schedules.get(s.id))!.lastFireTime, T0 + 9000);
      assert.equal((await o.schedules.listActive()).find((x) => x.id === s.id)!.lastFireTime, T0 + 9000);
      // An update carrying an older copy does not move it back.
      await o.schedules.update({ ...s, lastFireTime: T0 + 1000 });
      assert.equal((await o.schedules.get(s.id))!.lastFireTime, T0 + 9000);
      await o.schedules.update({ ...s, lastFireTime: T0 + 20_000 });
      assert.equal((await o.schedules.get(s.id))!.lastFireTime, T0 + 20_000);
    });

    it("keeps held fires apart; updates leave them alone", async () => {
      const s = await o.schedules.create(schedule({ overlap: "queue" }));
      const other = await o.schedules.create(schedule());
      assert.equal((await o.schedules.heldFires([s.id, other.id])).size, 0);
      await o.schedules.setHeldFires([{ id: s.id, times: [T0 + 1000, T0 + 2000] }]);
      await o.schedules.update({ ...s, name: `held-${newId()}` });
      const held = await o.schedules.heldFires([s.id, other.id]);
      assert.deepEqual(held.get(s.id), [T0 + 1000, T0 + 2000]);
      assert.equal(held.has(other.id), false);
      await o.schedules.setHeldFires([{ id: s.id, times: [] }]);
      assert.equal((await o.schedules.heldFires([s.id])).size, 0);
    });

    it("counts unfinished runs per schedule", async () => {
      const a = await o.schedules.create(schedule());
      const b = await o.schedules.create(schedule());
      const queue = `q-${newId()}`;
      await fire(a.id, T0, queue);
      await fire(a.id, T0 + 1000, queue);
      const [claim] = await o.jobs.claim({
        now: T0,
        leaseMs: 1000,
        workers: [worker("w", { queues: [queue], slots: 1 })],
      });
      await o.jobs.complete(
        [{ jobId: claim!.id, lease: claim!.lease, attempt: 1, workerId: "w", result: null }],
        T0,
      );
      const active = await o.schedules.activeRuns([a.id, b.id]);
      assert.deepEqual([...active], [[a.id, 1]]);
      assert.equal((await o.schedules.activeRuns([])).size, 0);
    });

    it("discards staged fires only (still scheduled, never run, still ahead), so they can be made again", async () => {
      const a = await o.schedules.create(schedule());
      const b = await o.schedules.create(schedule());
      const queue = `q-${newId()}`;
      // Written at T0 due at their instant, as the scheduler stages them.
      const stage = (id: string, t: number) =>
        o.jobs.enqueue([newJob({ scheduleId: id, scheduledTime: t, runAt: t, queue })], T0);
      for (const t of [T0 - 1000, T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000]) await stage(a.id, t);
      await stage(b.id, T0 + 3000);
      await o.jobs.promoteDue(T0 + 1000); // :01 promoted: queued, no longer a plan
      // The past fire (:−01) runs; a started job is never discarded.
      await o.jobs.claim({
        now: T0 + 1000,
        leaseMs: 1000,
        workers: [worker("w", { queues: [queue], slots: 1 })],
      });
      const other = await o.schedules.create(schedule());
      await stage(other.id, T0 + 3000);
      assert.equal(await o.schedules.discardStaged([], T0), 0);
      // :02 is not after `now`; :03 and :04 of a, :03 of b go, in one call; `other` is not listed.
      assert.equal(await o.schedules.discardStaged([a.id, b.id], T0 + 2000), 3);
      const times = async (id: string) =>
        (await o.schedules.runs(id, { limit: 10 })).map((r) => [r.scheduledTime! - T0, r.status]).reverse();
      assert.deepEqual(await times(a.id), [
        [-1000, "running"],
        [1000, "queued"],
        [2000, "scheduled"],
      ]);
      assert.deepEqual(await times(b.id), []);
      assert.deepEqual(await times(other.id), [[3000, "scheduled"]]);
      assert.equal((await o.schedules.get(a.id))!.lastFireTime, T0 + 2000, "no longer counts the discarded");
      // The fire time is free again: staging it anew makes a new job, not the old one back.
      const [again] = await stage(a.id, T0 + 3000);
      assert.equal(again!.created, true);
    });

    it("lists runs newest first with the latest attempt's HTTP status, page by page", async () => {
      const s = await o.schedules.create(schedule());
      const queue = `q-${newId()}`;
      for (let i = 0; i < 5; i++) await fire(s.id, T0 + i * 1000, queue);
      const [c] = await o.jobs.claim({
        now: T0,
        leaseMs: 1000,
        workers: [worker("w", { queues: [queue], slots: 1 })],
      });
      await o.jobs.fail(
        [
          {
            jobId: c!.id,
            lease: c!.lease,
            attempt: 1,
            workerId: "w",
            error: { code: "HTTP_STATUS", message: "500" },
            retryable: false,
            httpStatus: 500,
          },
        ],
        T0 + 10,
      );
      const page1 = await o.schedules.runs(s.id, { limit: 3 });
      assert.deepEqual(
        page1.map((r) => r.scheduledTime),
        [T0 + 4000, T0 + 3000, T0 + 2000],
      );
      const page2 = await o.schedules.runs(s.id, { limit: 3, beforeSeq: page1.at(-1)!.seq });
      assert.deepEqual(
        page2.map((r) => r.scheduledTime),
        [T0 + 1000, T0],
      );
      const failed = page2.at(-1)!;
      assert.deepEqual(
        [failed.status, failed.httpStatus, failed.attempts, failed.error?.code, failed.enqueuedAt],
        ["failed", 500, 1, "HTTP_STATUS", T0],
      );
      assert.equal(page1[0]!.httpStatus, null);
    });

    it("keeps one alert per job and url, hands out due ones earliest first, records outcomes", async () => {
      const jobId = newId();
      const first = alert({ jobId, nextAttemptAt: T0 + 10 });
      assert.equal(
        await o.schedules.add([first, alert({ jobId }), alert({ jobId, url: "http://other/" })]),
        2,
      );
      assert.equal(await o.schedules.add([alert({ jobId })]), 0);
      const due = (await o.schedules.due(T0 + 10, 100)).filter((a) => a.jobId === jobId);
      assert.deepEqual(
        due.map((a) => a.url),
        ["http://other/", first.url],
      );
      await o.schedules.record(first.id, {
        status: "delivered",
        attempts: 2,
        nextAttemptAt: T0 + 20,
        lastError: null,
        lastStatus: 204,
        deliveredAt: T0 + 20,
      });
      assert.ok(!(await o.schedules.due(T0 + 100, 100)).some((a) => a.id === first.id));
      const listed = (await o.schedules.listAlerts(100)).find((a) => a.id === first.id)!;
      assert.deepEqual(
        [listed.status, listed.attempts, listed.lastStatus, listed.deliveredAt, listed.secret, listed.body],
        ["delivered", 2, 204, T0 + 20, "s", "{}"],
      );
    });

    it("moves the alert cursor with its alerts in one step, only from where it was read", async () => {
      // Seeded by the migration at the feed's latest change then (this file's feed has grown since).
      const start = await o.schedules.alertCursor();
      assert.equal(typeof start, "number");
      const jobId = newId();
      const a = alert({ jobId, url: "http://cursor/" });
      assert.equal(await o.schedules.addFromFeed([a], { from: start, to: start! + 5 }), 1);
      assert.equal(await o.schedules.alertCursor(), start! + 5);
      // A second leader that read the old cursor writes nothing: neither its alerts nor its cursor.
      const stale = alert({ jobId: newId(), url: "http://cursor/" });
      assert.equal(await o.schedules.addFromFeed([stale], { from: start, to: start! + 9 }), null);
      assert.equal(await o.schedules.alertCursor(), start! + 5);
      assert.equal(await o.schedules.addFromFeed([], { from: null, to: 1 }), null, "it exists already");
      const listed = (await o.schedules.listAlerts(100)).filter((x) => x.url === "http://cursor/");
      assert.deepEqual(
        listed.map((x) => x.id),
        [a.id],
      );
      // The outbox stays unique per (job, url) through this door too.
      assert.equal(
        await o.schedules.addFromFeed([alert({ jobId, url: "http://cursor/" })], {
          from: start! + 5,
          to: start! + 6,
        }),
        0,
      );
      assert.equal(await o.schedules.alertCursor(), start! + 6);
    });
  });
}

scheduleStoreContract("sqlite", async () => {
  const dir = await tempDir();
  const jobs = new SqliteStore({ file: join(dir.path, "bosun.db") });
  return { jobs, schedules: new SqliteScheduleStore(jobs.db), cleanup: dir.remove };
});

scheduleStoreContract("postgres", async () => {
  const pg = await freshSchema("bosun_sched");
  const jobs = new PostgresStore({ url: pg.url, schema: pg.schema, poolSize: 4 });
  await jobs.migrate();
  return { jobs, schedules: new PgScheduleStore(jobs), cleanup: pg.drop };
});
