/**
 * The change feed and the lifecycle table as a storage contract (store/feed.ts, core/lifecycle.ts): every
 * backend writes one row per state change, in order, and refuses every change the table does not have
 * (nothing changes and nothing is written). Run by every backend's test file with storeConformance.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JobStatus } from "../../src/core/job.ts";
import { TRANSITIONS } from "../../src/core/lifecycle.ts";
import type { FeedEvent } from "../../src/store/feed.ts";
import type { Store } from "../../src/store/store.ts";
import { newJob, type OpenStore, worker } from "./conformance.ts";

const T0 = 1_800_000_000_000;

const inTable = (e: FeedEvent) =>
  TRANSITIONS.some((t) => t.event === e.event && t.from === e.from && t.to === e.to);

export function feedConformance(name: string, open: OpenStore): void {
  describe(`Change feed conformance: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let n = 0;
    const q = () => `feed${++n}`;

    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    /** Every change of these jobs since `after`, reading the feed in small pages to the end. */
    async function changes(after: number, jobIds: string[]): Promise<FeedEvent[]> {
      const ids = new Set(jobIds);
      const out: FeedEvent[] = [];
      for (let seq = after; ; ) {
        const page = await store.readFeed(seq, 7);
        if (page.length === 0) return out;
        for (const e of page) {
          assert.ok(e.seq > seq, `sequence ${e.seq} after ${seq}`);
          seq = e.seq;
          if (ids.has(e.jobId)) out.push(e);
        }
      }
    }
    const brief = (e: FeedEvent) => [e.event, e.from, e.to, e.attempt, e.workerId, e.code];

    it("writes each change of a job's life once, in order, with its attempt, worker and reason", async () => {
      const queue = q();
      const start = (await store.feedBounds()).latest;
      const only = worker("w1", { queues: [queue] });
      const [a] = await store.enqueue([newJob({ queue, maxAttempts: 2, owner: "carol" })], T0);
      const [c1] = await store.claim({ now: T0, leaseMs: 1000, workers: [only] });
      await store.fail(
        [
          {
            jobId: a!.job.id,
            lease: c1!.lease,
            attempt: 1,
            workerId: "w1",
            error: { code: "EXIT_NONZERO", message: "1" },
            retryable: true,
          },
        ],
        T0 + 1,
      );
      assert.equal(await store.promoteDue(T0 + 1000), 1);
      const [c2] = await store.claim({ now: T0 + 1000, leaseMs: 1000, workers: [only] });
      await store.complete(
        [{ jobId: c2!.id, lease: c2!.lease, attempt: 2, workerId: "w1", result: 1 }],
        T0 + 1001,
      );
      assert.equal(c1!.id, a!.job.id);

      const [b] = await store.enqueue([newJob({ queue, runAt: T0 + 50_000 })], T0);
      await store.cancel(b!.job.id, T0 + 2);
      await store.retry(b!.job.id, T0 + 3);
      const [cb] = await store.claim({ now: T0 + 4, leaseMs: 1000, workers: [only] });
      await store.release([{ jobId: b!.job.id, lease: cb!.lease, attempt: 1, workerId: "w1" }], T0 + 5);
      await store.claim({ now: T0 + 6, leaseMs: 10, workers: [only] });
      await store.reapExpired(T0 + 100, 100);

      const seen = await changes(start, [a!.job.id, b!.job.id]);
      assert.deepEqual(seen.filter((e) => e.jobId === a!.job.id).map(brief), [
        ["enqueue", null, "queued", 0, null, null],
        ["claim", "queued", "running", 1, "w1", null],
        ["retry-wait", "running", "scheduled", 1, "w1", "EXIT_NONZERO"],
        ["promote", "scheduled", "queued", 1, "w1", null],
        ["claim", "queued", "running", 2, "w1", null],
        ["complete", "running", "completed", 2, "w1", null],
      ]);
      assert.deepEqual(
        seen.filter((e) => e.jobId === b!.job.id).map((e) => brief(e).slice(0, 4)),
        [
          ["enqueue", null, "scheduled", 0],
          ["cancel", "scheduled", "cancelled", 0],
          ["retry", "cancelled", "queued", 0],
          ["claim", "queued", "running", 1],
          ["release", "running", "queued", 1],
          ["claim", "queued", "running", 1],
          ["expire", "running", "scheduled", 1],
        ],
      );
      for (const e of seen) {
        assert.ok(inTable(e), `${e.event} ${e.from}→${e.to} is a transition of the table`);
        assert.equal(e.queue, queue);
        assert.equal(e.type, "t");
      }
      assert.ok(seen.every((e) => e.jobId !== a!.job.id || e.owner === "carol"));
      assert.equal(seen.find((e) => e.event === "expire")?.code, "LEASE_EXPIRED");
    });

    it("refuses every change the lifecycle has no transition for: nothing changes, nothing is written", async () => {
      const queue = q();
      const only = worker("w1", { queues: [queue] });
      // One job in each status the API can reach.
      const [done, failed, queued, scheduled] = await store.enqueue(
        [
          newJob({ queue, priority: 3 }),
          newJob({ queue, priority: 2, maxAttempts: 1 }),
          newJob({ queue, priority: 1 }),
          newJob({ queue, runAt: T0 + 10_000 }),
        ],
        T0,
      );
      const claims = await store.claim({ now: T0, leaseMs: 1000, workers: [{ ...only, slots: 2 }] });
      const leaseOf = (id: string) => claims.find((c) => c.id === id)!.lease;
      await store.complete(
        [{ jobId: done!.job.id, lease: leaseOf(done!.job.id), attempt: 1, workerId: "w1", result: null }],
        T0 + 1,
      );
      await store.fail(
        [
          {
            jobId: failed!.job.id,
            lease: leaseOf(failed!.job.id),
            attempt: 1,
            workerId: "w1",
            error: { code: "X", message: "x" },
            retryable: true,
          },
        ],
        T0 + 1,
      );
      const ids = [done!.job.id, failed!.job.id, queued!.job.id, scheduled!.job.id];
      const statuses = async () => (await store.getJobs(ids)).map((j) => [j.id, j.status, j.attempts]).sort();
      const before = await statuses();
      assert.deepEqual(
        (await store.getJobs(ids)).map((j) => j.status).sort(),
        ["completed", "failed", "queued", "scheduled"].sort() as JobStatus[],
      );
      const mark = (await store.feedBounds()).latest;

      // Ends of attempts that are not running: complete, fail, release name no current lease, even with
      // the token of the claim that ended.
      for (const id of ids) {
        const lease = {
          jobId: id,
          lease: claims.find((c) => c.id === id)?.lease ?? "none",
          attempt: 1,
          workerId: "w1",
        };
        assert.deepEqual(await store.complete([{ ...lease, result: 1 }], T0 + 2), [{ ok: false, jobId: id }]);
        assert.deepEqual(
          await store.fail([{ ...lease, error: { code: "X", message: "x" }, retryable: true }], T0 + 2),
          [{ ok: false, jobId: id }],
        );
        assert.deepEqual(await store.release([lease], T0 + 2), [{ ok: false, jobId: id }]);
      }
      // Cancel of an ended job, retry of one that has not ended.
      for (const id of [done!.job.id, failed!.job.id]) {
        const r = await store.cancel(id, T0 + 2);
        assert.equal(r.ok, false);
      }
      for (const id of [done!.job.id, queued!.job.id, scheduled!.job.id]) {
        const r = await store.retry(id, T0 + 2);
        assert.equal(r.ok, false);
        if (!r.ok) assert.equal(r.reason, "invalid_state");
      }
      assert.deepEqual(await statuses(), before);
      assert.equal((await store.feedBounds()).latest, mark, "no change was written");
    });

    it("numbers changes with a sequence that only grows, and retention removes the oldest first", async () => {
      // The earlier tests wrote their changes at about T0; these come a day later.
      const queue = q();
      const day = 86_400_000;
      await store.enqueue([newJob({ queue }), newJob({ queue })], T0 + day);
      const bounds = await store.feedBounds();
      assert.ok(bounds.latest >= bounds.oldest);
      const cutoff = T0 + day - 3_600_000;
      let removed = 0;
      for (let i = 0; i < 1000; i++) {
        const k = await store.pruneFeed(cutoff, 3);
        assert.ok(k <= 3, "a bounded number per call");
        removed += k;
        if (k === 0) break;
      }
      assert.ok(removed >= 1, `removed ${removed}`);
      const after = await store.feedBounds();
      assert.ok(after.oldest > bounds.oldest, "the oldest retained change moved on");
      assert.equal(after.latest, bounds.latest);
      const left = await store.readFeed(0, 10_000);
      assert.equal(left.length, 2);
      for (const e of left) assert.ok(e.at >= cutoff);
      assert.equal(left[0]!.seq, after.oldest);
      // Emptied altogether, the feed still numbers new changes after the latest.
      assert.ok((await store.pruneFeed(T0 + 2 * day, 100)) >= 1);
      assert.deepEqual(await store.readFeed(0, 10), []);
      // Its latest may move past the last change (to the end of that change's row, store/feed.ts), never
      // back: a reader at the latest misses nothing that comes.
      const empty = await store.feedBounds();
      assert.ok(empty.latest >= bounds.latest);
      assert.equal(empty.oldest, empty.latest + 1);
      await store.enqueue([newJob({ queue })], T0 + 2 * day);
      const [next] = await store.readFeed(empty.latest, 10);
      assert.ok(next && next.seq > empty.latest, "a new change follows the latest, even after pruning");
      assert.deepEqual(await store.readFeed(0, 10), [next]);
    });
  });
}
