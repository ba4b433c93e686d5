/** The SDK as an application imports it: `import { Bosun } from "bosun"` (the package's own exports). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bosun } from "bosun";
import { BosunClient } from "bosun/client";
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

  it("drives a remote server with the typed client", async () => {
    const s = await startServer({ concurrency: 1 });
    try {
      const client = new BosunClient({ url: s.url });
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
