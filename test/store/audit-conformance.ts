/**
 * Audited changes outside identity (src/store/store.ts, scheduler/schedule-store.ts, cluster-store.ts) as
 * tests, run by audit-sqlite.test.ts and audit-pg.test.ts against a real SQLite file and a fresh
 * PostgreSQL schema: an entry is written with the change, in its transaction, and only when the change
 * took effect; an entry the database refuses undoes the change. Each test audits under an actor id of its
 * own and reads the entries back through the IdentityStore on the same database.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newId } from "../../src/core/ids.ts";
import type { ScheduleStore } from "../../src/scheduler/schedule-store.ts";
import type { ClusterStore } from "../../src/store/cluster-store.ts";
import { AUDITED_JOB_IDS } from "../../src/store/identity-rows.ts";
import type { AuditEntry, AuditRecord, IdentityStore } from "../../src/store/identity-store.ts";
import type { Store } from "../../src/store/store.ts";
import { newJob } from "./conformance.ts";
import { entry, T0 } from "./identity-fixtures.ts";
import { schedule } from "./schedule-fixtures.ts";

export interface AuditedStores {
  jobs: Store;
  schedules: ScheduleStore;
  cluster: ClusterStore;
  identity: IdentityStore;
  close(): Promise<void>;
}

/** An entry the database refuses (outcome has a CHECK): the change it goes with must not happen. */
const refused = (): AuditEntry => ({ ...entry(), outcome: "maybe" }) as unknown as AuditEntry;

export function auditedChangesConformance(name: string, open: () => Promise<AuditedStores>): void {
  describe(`audited changes: ${name}`, () => {
    let o: AuditedStores;
    before(async () => {
      o = await open();
    });
    after(() => o.close());

    /** A fresh actor, the entries it makes, and what was written under it (oldest first). */
    const actor = () => {
      const actorId = newId();
      return {
        as: (action: string, over: Partial<AuditEntry> = {}) => entry({ actorId, action, ...over }),
        written: async (): Promise<AuditRecord[]> =>
          (await o.identity.listAudit({ actorId, limit: 1000 })).reverse(),
      };
    };
    const actions = (rows: AuditRecord[]) => rows.map((r) => r.action);
    const enqueueOne = async () => (await o.jobs.enqueue([newJob()], T0))[0]!.job;

    it("writes one entry per enqueue that created jobs, with their count and ids, in the order given", async () => {
      const a = actor();
      const batch = [newJob(), newJob(), newJob()];
      await o.jobs.enqueue(batch, T0, a.as("job.submit", { targetType: "job", details: { via: "test" } }));
      const [row] = await a.written();
      assert.deepEqual(
        [row?.action, row?.targetType, row?.targetId, row?.ip, row?.details],
        ["job.submit", "job", null, "127.0.0.1", { via: "test", count: 3, jobIds: batch.map((j) => j.id) }],
      );
      // Only the jobs the call created: an idempotency key already known makes none.
      const key = `k-${newId()}`;
      const first = newJob({ idempotencyKey: key });
      await o.jobs.enqueue([first], T0);
      const fresh = newJob();
      await o.jobs.enqueue([newJob({ idempotencyKey: key }), fresh], T0, a.as("job.submit"));
      await o.jobs.enqueue([newJob({ idempotencyKey: key })], T0, a.as("job.submit.replayed"));
      const rows = await a.written();
      assert.deepEqual(
        actions(rows),
        ["job.submit", "job.submit"],
        "a call that created nothing is not audited",
      );
      assert.deepEqual(rows[1]?.details, { count: 1, jobIds: [fresh.id] });
    });

    it("lists at most AUDITED_JOB_IDS ids of a large batch, and says how many there were", async () => {
      const a = actor();
      const batch = Array.from({ length: AUDITED_JOB_IDS + 5 }, () => newJob());
      await o.jobs.enqueue(batch, T0, a.as("job.submit"));
      const [row] = await a.written();
      assert.deepEqual(row?.details, {
        count: AUDITED_JOB_IDS + 5,
        jobIds: batch.slice(0, AUDITED_JOB_IDS).map((j) => j.id),
      });
    });

    it("creates no job when the enqueue's entry cannot be written: one transaction", async () => {
      const job = newJob();
      await assert.rejects(o.jobs.enqueue([job], T0, refused()));
      assert.equal(await o.jobs.getJob(job.id), null);
    });

    it("audits a cancel and a retry that happened, and nothing for refused ones", async () => {
      const a = actor();
      const job = await enqueueOne();
      const target = { targetType: "job", targetId: job.id };
      assert.equal((await o.jobs.retry(job.id, T0, a.as("job.retry.queued", target))).ok, false);
      assert.equal((await o.jobs.cancel(job.id, T0 + 1, a.as("job.cancel", target))).ok, true);
      const again = await o.jobs.cancel(job.id, T0 + 2, a.as("job.cancel.again", target));
      assert.deepEqual([again.ok, !again.ok && again.reason], [false, "invalid_state"]);
      assert.equal((await o.jobs.cancel(newId(), T0, a.as("job.cancel.unknown"))).ok, false);
      assert.equal((await o.jobs.retry(job.id, T0 + 3, a.as("job.retry", target))).ok, true);
      assert.equal((await o.jobs.retry(newId(), T0, a.as("job.retry.unknown"))).ok, false);
      const rows = await a.written();
      assert.deepEqual(actions(rows), ["job.cancel", "job.retry"]);
      assert.ok(rows.every((r) => r.targetId === job.id));
    });

    it("leaves the job as it was when a cancel's or a retry's entry cannot be written", async () => {
      const job = await enqueueOne();
      await assert.rejects(o.jobs.cancel(job.id, T0 + 1, refused()));
      assert.equal((await o.jobs.getJob(job.id))?.status, "queued");
      await o.jobs.cancel(job.id, T0 + 1);
      await assert.rejects(o.jobs.retry(job.id, T0 + 2, refused()));
      assert.equal((await o.jobs.getJob(job.id))?.status, "cancelled");
    });

    it("audits schedules created, changed and deleted, and nothing for refused changes", async () => {
      const a = actor();
      const s = schedule({ name: `nightly-${newId()}` });
      const target = { targetType: "schedule", targetId: s.id };
      await o.schedules.create(s, a.as("schedule.create", target));
      await assert.rejects(o.schedules.create(schedule({ name: s.name }), a.as("schedule.create.taken")), {
        code: "INVALID_STATE",
      });
      const other = await o.schedules.create(schedule({ name: `other-${newId()}` }));
      await assert.rejects(o.schedules.update({ ...other, name: s.name }, a.as("schedule.update.taken")), {
        code: "INVALID_STATE",
      });
      await assert.rejects(o.schedules.update(schedule(), a.as("schedule.update.unknown")), {
        code: "SCHEDULE_NOT_FOUND",
      });
      await o.schedules.update({ ...s, paused: true, updatedAt: T0 + 1 }, a.as("schedule.pause", target));
      assert.equal(await o.schedules.delete(s.id, a.as("schedule.delete", target)), true);
      assert.equal(await o.schedules.delete(s.id, a.as("schedule.delete.again", target)), false);
      const rows = await a.written();
      assert.deepEqual(actions(rows), ["schedule.create", "schedule.pause", "schedule.delete"]);
      assert.ok(rows.every((r) => r.targetId === s.id));
    });

    it("leaves schedules as they were when an entry cannot be written", async () => {
      const s = schedule();
      await assert.rejects(o.schedules.create(s, refused()));
      assert.equal(await o.schedules.get(s.id), null);
      const saved = await o.schedules.create(s);
      await assert.rejects(o.schedules.update({ ...s, cron: "5 * * * *" }, refused()));
      assert.deepEqual(await o.schedules.get(s.id), saved);
      await assert.rejects(o.schedules.delete(s.id, refused()));
      assert.deepEqual(await o.schedules.get(s.id), saved);
    });

    it("audits a drain of a known worker, not of an unknown one, and undoes one it cannot audit", async () => {
      const a = actor();
      const id = `w-${newId()}`;
      await o.cluster.upsertWorker(
        {
          id,
          labels: {},
          capacity: 1,
          running: 0,
          types: [],
          queues: null,
          version: null,
          instance: null,
          principal: null,
          lastSeenAt: T0,
        },
        T0,
      );
      const target = { targetType: "worker", targetId: id };
      assert.equal(
        (await o.cluster.setWorkerDraining(id, true, a.as("worker.drain", target)))?.draining,
        true,
      );
      assert.equal(
        await o.cluster.setWorkerDraining(`w-${newId()}`, true, a.as("worker.drain.unknown")),
        null,
      );
      await assert.rejects(o.cluster.setWorkerDraining(id, false, refused()));
      assert.equal((await o.cluster.getWorker(id))?.draining, true);
      await o.cluster.setWorkerDraining(id, false, a.as("worker.undrain", target));
      assert.deepEqual(actions(await a.written()), ["worker.drain", "worker.undrain"]);
    });

    it("writes nothing when no entry is given", async () => {
      const before = await o.identity.listAudit({ limit: 1 });
      const job = await enqueueOne();
      await o.jobs.cancel(job.id, T0);
      await o.jobs.retry(job.id, T0);
      const s = await o.schedules.create(schedule());
      await o.schedules.update({ ...s, paused: true });
      await o.schedules.delete(s.id);
      assert.deepEqual(await o.identity.listAudit({ limit: 1 }), before);
    });
  });
}
