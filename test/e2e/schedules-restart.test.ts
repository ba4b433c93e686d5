/**
 * kill -9 of `bosun start` during a schedule's fire window, then a restart: no fire time makes two jobs,
 * and with catchUp "latest" the last fire missed while Bosun was down runs once (the earlier missed ones
 * do not). The restarted scheduler's own log line says the instant it planned at, so the test needs no
 * guess about how long the start took.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { api, startBosun } from "../helpers/bosun-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Run = { jobId: string; scheduledTime: string | null; enqueuedAt: string; status: string };

describe("schedules across a crash", () => {
  it("never doubles a fire and runs the latest missed fire once", async () => {
    const dir = await tempDir();
    const args = ["start", "--port", "0", "--data", dir.path, "--concurrency", "4"];
    const first = await startBosun(args);
    const created = await api<{ schedule: { id: string } }>(first.url, "POST", "/api/v1/schedules", {
      cron: "*/1 * * * * *",
      catchUp: "latest",
      job: { type: "sleep", payload: { durationMs: 1 } },
    });
    assert.equal(created.status, 201);
    const id = created.body.schedule.id;
    const runs = async (url: string) =>
      (await api<{ items: Run[] }>(url, "GET", `/api/v1/schedules/${id}/runs?limit=500`)).body.items;
    await waitUntil(async () => (await runs(first.url)).length >= 2, { what: "two fires" });
    // Kill in the middle of a second, between fires.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 400));
    await first.kill("SIGKILL");
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const second = await startBosun(args);
    try {
      const line = await waitUntil(() => second.lines.find((l) => l.includes('"scheduler started"')), {
        what: "the scheduler to start",
      });
      const plannedBy = JSON.parse(line).plannedAt as number;
      await waitUntil(
        async () => (await runs(second.url)).some((r) => Date.parse(r.scheduledTime!) > plannedBy + 1000),
        { what: "fires after the restart" },
      );
      const all = await runs(second.url);
      const times = all.map((r) => Date.parse(r.scheduledTime!));
      assert.equal(new Set(times).size, times.length, "no fire time has two jobs");
      // Fires missed while down (after the kill, up to the instant the restarted scheduler planned at,
      // which its log line gives): only the latest runs, late, once.
      const missed = times.filter((t) => t > killedAt && t <= plannedBy);
      assert.equal(missed.length, 1, `one caught-up fire: ${missed.map((t) => new Date(t).toISOString())}`);
      assert.ok(missed[0]! > plannedBy - 1100, "it is the latest fire missed while down");
      assert.ok(missed[0]! > killedAt + 2000, "the earlier missed fires did not run");
      const metrics = await api<{ extra: { scheduleFires: { caughtUp: number } } }>(
        second.url,
        "GET",
        "/api/v1/metrics",
      );
      assert.equal(metrics.body.extra.scheduleFires.caughtUp, 1);
      // And it keeps firing every second after the restart.
      const after = times.filter((t) => t > plannedBy).sort((a, b) => a - b);
      for (let i = 1; i < after.length; i++) assert.equal(after[i]! - after[i - 1]!, 1000);
      await waitUntil(
        async () =>
          (await runs(second.url)).filter((r) => r.status === "running" || r.status === "queued").length ===
          0,
      );
    } finally {
      await second.kill();
      await dir.remove();
    }
  });
});
