/** Keeps the benchmark harness working: every system runs once in quick mode and produces numbers. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOptions, runBench, table } from "../../bench/run.ts";

describe("benchmark harness (quick mode)", () => {
  it("measures BullMQ, graphile-worker, pg-boss and Bosun's three modes", async () => {
    const o = parseOptions(["--quick", "--scenarios", "drain,latency"]);
    const results = await runBench(o, () => undefined);
    const text = table(results);
    for (const r of results) {
      assert.equal(r.error, undefined, `${r.system}: ${r.error}`);
      assert.ok(r.median.drainPerSec! > 0, `${r.system} drained`);
      assert.ok(r.median.latencyP99Ms! >= 0, `${r.system} latency`);
      assert.match(text, new RegExp(r.system));
    }
    assert.equal(results.length, 6);
  });
});
