/**
 * The SDK as an application imports it: `import { Bosun } from "bosun"` (the package's own exports).
 * In the repository the package's "bosun-source" export condition maps these to src/ (npm test passes
 * `--conditions=bosun-source`; run alone: `node --conditions=bosun-source --test <this file>`), so the
 * test never reads a stale dist/. test/package/ checks the built package from another project.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bosun } from "bosun";
import { BosunClient } from "bosun/client";
import { adminToken } from "../helpers/auth.ts";
import { startServer } from "../helpers/in-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

describe("bosun package", () => {
  it("embeds Bosun: define, enqueue, enqueueMany, start, stop", async () => {
    const dir = await tempDir();
    const bosun = await Bosun.open({ data: dir.path, config: { logLevel: "silent" } });
    const seen: number[] = [];
    bosun.define("square", async (job: { payload: unknown }) => {
      const n = (job.payload as { n: number }).n;
      seen.push(n);
      return n * n;
    });
    await bosun.start({ concurrency: 2 });
    const one = await bosun.enqueue({ type: "square", payload: { n: 3 } });
    const many = await bosun.enqueueMany([
      { type: "square", payload: { n: 4 } },
      { type: "square", payload: { n: 5 } },
    ]);
    for (const j of [one, ...many])
      await waitUntil(async () => (await bosun.getJob(j.id)).status === "completed");
    assert.equal((await bosun.getJob(one.id)).result, 9);
    assert.deepEqual(seen.sort(), [3, 4, 5]);
    await bosun.stop();
    await dir.remove();
  });

  it("waits for a job: resolves with its result once it ends, rejects when the signal aborts", async () => {
    const dir = await tempDir();
    const bosun = await Bosun.open({ data: dir.path, config: { logLevel: "silent" } });
    try {
      let release = (): void => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      bosun.define("gated", async () => {
        await gate;
        return { ok: true };
      });
      bosun.define("broken", () => {
        throw new Error("no");
      });
      await bosun.start({ concurrency: 2 });
      const gated = await bosun.enqueue({ type: "gated" });
      const waiting = bosun.wait(gated.id);
      const abandoned = new AbortController();
      const gaveUp = bosun.wait(gated.id, { signal: abandoned.signal });
      abandoned.abort(new Error("gave up"));
      await assert.rejects(gaveUp, /gave up/);
      release();
      const done = await waiting;
      assert.equal(done.status, "completed");
      assert.deepEqual(done.result, { ok: true });
      // Already finished: answers at once; a failed job resolves too, with its error.
      assert.equal((await bosun.wait(gated.id)).status, "completed");
      const broken = await bosun.enqueue({ type: "broken", maxAttempts: 1 });
      const failed = await bosun.wait(broken.id);
      assert.equal(failed.status, "failed");
      assert.match(failed.error?.message ?? "", /no/);
    } finally {
      await bosun.stop();
      await dir.remove();
    }
  });

  it("drives a remote server with the typed client", async () => {
    const s = await startServer({ concurrency: 1 });
    try {
      const client = new BosunClient({ url: s.url, token: await adminToken(s.url) });
      const job = await client.submit({ type: "shell", payload: { command: "echo typed" } });
      const done = await client.wait(job.id, { timeoutMs: 10_000 });
      assert.equal(done.status, "completed");
      assert.match(await client.logs(job.id), /typed/);
      await assert.rejects(
        client.get("nope"),
        (e: Error & { code?: string; status?: number }) => e.code === "JOB_NOT_FOUND" && e.status === 404,
      );
      await assert.rejects(new BosunClient({ url: "http://127.0.0.1:1" }).health(), /cannot reach/);
    } finally {
      await s.stop();
    }
  });
});
