/** The prefetch buffer's rules: fill only while jobs are short, give back what waited too long. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Claim } from "../../src/core/job.ts";
import { PrefetchBuffer } from "../../src/worker/prefetch.ts";

const claim = (id: string): Claim => ({
  id,
  attempt: 1,
  workerId: "w",
  lease: `lease-${id}`,
  queue: "default",
  type: "noop",
  payload: null,
  timeoutMs: null,
  maxAttempts: 3,
  leaseExpiresAt: 0,
  scheduledTime: null,
});

describe("PrefetchBuffer", () => {
  it("wants nothing extra until jobs are measured short, and stops when they turn long", () => {
    const b = new PrefetchBuffer({ limit: 10, shortJobMs: 50 });
    assert.equal(b.extra, 0, "unknown run times: no prefetch");
    for (let i = 0; i < 30; i++) b.ran(1);
    assert.equal(b.extra, 10);
    for (let i = 0; i < 30; i++) b.ran(2_000);
    assert.equal(b.extra, 0, "long jobs: held claims would starve other workers");
  });

  it("hands claims out in order and drops cancelled ones", () => {
    const b = new PrefetchBuffer({ limit: 10 });
    b.push([claim("a"), claim("b"), claim("c")], 0);
    assert.equal(b.drop("b"), true);
    assert.equal(b.drop("zz"), false);
    assert.deepEqual(b.ids(), ["a", "c"]);
    assert.equal(b.shift()?.id, "a");
    assert.equal(b.size, 1);
  });

  it("gives back claims held longer than maxHoldMs, or all of them on stop", () => {
    const b = new PrefetchBuffer({ limit: 10, maxHoldMs: 100 });
    b.push([claim("old")], 0);
    b.push([claim("new1"), claim("new2")], 150);
    assert.deepEqual(
      b.takeStale(200).map((c) => c.id),
      ["old"],
    );
    assert.deepEqual(b.ids(), ["new1", "new2"]);
    assert.deepEqual(
      b.takeStale(200, true).map((c) => c.id),
      ["new1", "new2"],
    );
    assert.equal(b.size, 0);
  });
});
