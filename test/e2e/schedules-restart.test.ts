/**
 * kill -9 of `bosun start` during a schedule's fire window, then a restart: no fire time makes two jobs,
 * and with catchUp "latest" the last fire missed while Bosun was down runs once.
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
    const restartedAt = Date.now();
    try {
      await waitUntil(
        async () => (await runs(second.url)).some((r) => Date.parse(r.scheduledTime!) > restartedAt),
        {
          what: "fires after the restart",
        },
      );
      const all = await runs(second.url);
      const times = all.map((r) => Date.parse(r.scheduledTime!));
      assert.equal(new Set(times).size, times.length, "no fire time has two jobs");
      // Fires missed while down: none ran on time; catch-up ran the latest of them, late, once.
      const late = all.filter((r) => Date.parse(r.enqueuedAt) - Date.parse(r.scheduledTime!) > 300);
      assert.equal(late.length, 1, `one caught-up fire: ${JSON.stringify(late)}`);
      const caught = Date.parse(late[0]!.scheduledTime!);
      assert.ok(caught > killedAt + 2000 && caught < restartedAt, "it is the latest fire missed while down");
      const onTimeWhileDown = times.filter((t) => t > killedAt && t < caught);
      assert.equal(onTimeWhileDown.length, 0, "earlier missed fires did not run");
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
