/**
 * kill -9 of `bosun start` (embedded SQLite) while its pool drains thousands of short jobs — the regime
 * where claims are held in memory and never written (store/sqlite/soft-claims.ts). After a restart every
 * accepted job completes: none lost, none stuck, none failed; jobs whose claims died with the process
 * simply ran again.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { api, startBosun } from "../helpers/bosun-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Counts = Partial<Record<string, number>>;
const JOBS = 6000;

it("loses no job to kill -9 in the middle of a fast drain", async () => {
  const dir = await tempDir();
  const args = ["start", "--port", "0", "--data", dir.path, "--concurrency", "16"];
  const byStatus = async (url: string) =>
    (await api<{ counts: { byStatus: Counts } }>(url, "GET", "/api/v1/metrics")).body.counts.byStatus;
  const first = await startBosun(args);
  try {
    for (let i = 0; i < JOBS; i += 500) {
      const res = await api(first.url, "POST", "/api/v1/jobs/batch", {
        jobs: Array.from({ length: 500 }, () => ({ type: "sleep", payload: { durationMs: 2 } })),
      });
      assert.equal(res.status, 201);
    }
    // Kill while jobs are being claimed and completed, well before the backlog is gone.
    await waitUntil(async () => ((await byStatus(first.url)).completed ?? 0) >= 300, {
      what: "the drain to be under way",
    });
    const before = await byStatus(first.url);
    assert.ok((before.queued ?? 0) > 0, `still a backlog when killed: ${JSON.stringify(before)}`);
  } finally {
    await first.kill("SIGKILL");
  }
  const second = await startBosun(args);
  try {
    await waitUntil(async () => (await byStatus(second.url)).completed === JOBS, {
      what: `all ${JOBS} jobs to complete`,
      timeoutMs: 60_000,
    });
    assert.deepEqual(await byStatus(second.url), { completed: JOBS });
  } finally {
    await second.kill();
    await dir.remove();
  }
});
