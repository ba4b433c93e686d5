import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideAfterFailure, retryDelay } from "../../src/core/backoff.ts";
import { Batcher } from "../../src/core/batcher.ts";
import { ERRORS } from "../../src/core/errors.ts";
import { placeJobs, type WaitingWorker } from "../../src/core/placement.ts";
import { countBy } from "../helpers/wait.ts";

describe("retryDelay", () => {
  it("grows exponentially from delayMs and stops at maxDelayMs", () => {
    const b = { type: "exponential" as const, delayMs: 1000, maxDelayMs: 5000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => retryDelay(b, a)),
      [1000, 2000, 4000, 5000, 5000],
    );
  });
  it("is constant for fixed backoff", () => {
    assert.deepEqual(
      [1, 2, 3].map((a) => retryDelay({ type: "fixed", delayMs: 250 }, a)),
      [250, 250, 250],
    );
  });
  it("spreads jitter below the nominal delay", () => {
    const b = { type: "fixed" as const, delayMs: 1000, jitter: 0.5 };
    assert.equal(
      retryDelay(b, 1, () => 0),
      1000,
    );
    assert.equal(
      retryDelay(b, 1, () => 1),
      500,
    );
  });
});

describe("decideAfterFailure", () => {
  const backoff = { type: "exponential" as const, delayMs: 100 };
  it("schedules another attempt while attempts remain", () => {
    assert.deepEqual(decideAfterFailure({ attempts: 1, maxAttempts: 3, backoff }, true, 1000), {
      status: "scheduled",
      runAt: 1100,
    });
    assert.deepEqual(decideAfterFailure({ attempts: 2, maxAttempts: 3, backoff }, true, 1000), {
      status: "scheduled",
      runAt: 1200,
    });
  });
  it("fails after the last attempt, or at once when not retryable", () => {
    assert.equal(decideAfterFailure({ attempts: 3, maxAttempts: 3, backoff }, true, 0).status, "failed");
    assert.equal(decideAfterFailure({ attempts: 1, maxAttempts: 3, backoff }, false, 0).status, "failed");
  });
  it("queues at once with a zero delay", () => {
    assert.equal(
      decideAfterFailure({ attempts: 1, maxAttempts: 3, backoff: { type: "fixed", delayMs: 0 } }, true, 0)
        .status,
      "queued",
    );
  });
});

describe("error registry", () => {
  it("has UPPER_SNAKE codes and 4xx/5xx statuses", () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/);
      assert.ok(e.status >= 400 && e.status < 600, code);
      assert.ok(e.message.length > 0, code);
    }
  });
});

describe("placeJobs", () => {
  const worker = (id: string, o: Partial<WaitingWorker> = {}): WaitingWorker => ({
    workerId: id,
    slots: 4,
    running: 0,
    capacity: 4,
    labels: {},
    queues: null,
    types: null,
    ...o,
  });
  const job = (id: string, constraints: Record<string, string> = {}) => ({
    id,
    queue: "default",
    type: "t",
    constraints,
  });

  it("spreads jobs over equally loaded workers", () => {
    const placed = placeJobs([job("1"), job("2"), job("3"), job("4")], [worker("a"), worker("b")]);
    const counts = countBy([...placed.values()], (w) => w);
    assert.deepEqual(counts, { a: 2, b: 2 });
  });
  it("prefers the least loaded worker", () => {
    const placed = placeJobs(
      [job("1"), job("2")],
      [worker("busy", { running: 3, slots: 1 }), worker("idle")],
    );
    assert.deepEqual([...placed.values()], ["idle", "idle"]);
  });
  it("honours constraints, queues and types, and never exceeds slots", () => {
    const placed = placeJobs(
      [job("gpu", { gpu: "true" }), job("any"), job("x"), job("y")],
      [worker("cpu", { slots: 1 }), worker("gpu", { labels: { gpu: "true" }, slots: 1, running: 3 })],
    );
    assert.equal(placed.get("gpu"), "gpu");
    assert.equal(placed.get("any"), "cpu");
    assert.equal(placed.size, 2);
    const typed = placeJobs([job("1")], [worker("w", { types: ["other"] })]);
    assert.equal(typed.size, 0);
  });
});

describe("Batcher", () => {
  it("coalesces calls made in the same tick into one flush", async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number, number>({
      flush: async (items) => {
        flushes.push(items);
        return items.map((i) => i * 2);
      },
    });
    const results = await Promise.all([1, 2, 3].map((i) => b.add(i)));
    assert.deepEqual(results, [2, 4, 6]);
    assert.deepEqual(flushes, [[1, 2, 3]]);
  });
  it("rejects every caller of a failed flush and keeps working", async () => {
    let fail = true;
    const b = new Batcher<number, number>({
      flush: async (items) => {
        if (fail) throw new Error("boom");
        return items;
      },
    });
    await assert.rejects(Promise.all([b.add(1), b.add(2)]), /boom/);
    fail = false;
    assert.equal(await b.add(3), 3);
  });
  it("flushes whole calls up to maxBatch items, each caller getting its own slice back", async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number, number>({
      maxBatch: 4,
      flush: async (items) => {
        flushes.push(items);
        return items.map((i) => -i);
      },
    });
    const [a, c, d, e] = await Promise.all([
      b.addMany([1, 2]),
      b.addMany([3, 4]),
      b.addMany([5]),
      b.addMany([6, 7, 8, 9, 10]),
    ]);
    assert.deepEqual([a, c, d, e], [[-1, -2], [-3, -4], [-5], [-6, -7, -8, -9, -10]]);
    // A call is never split; one larger than maxBatch goes alone.
    assert.deepEqual(flushes, [[1, 2, 3, 4], [5], [6, 7, 8, 9, 10]]);
    assert.deepEqual(await b.addMany([]), []);
    assert.equal(b.pending, 0);
  });
});
