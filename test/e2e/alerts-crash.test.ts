/**
 * Acceptance (issue 11, item 4): `kill -9` of `bosun start` right after a job's last attempt failed and
 * before its alert was delivered; after a restart on the same data folder the alert is delivered exactly
 * once. The receiver answers 500 until the kill, so no delivery can have succeeded before it, and the test
 * kills the moment the failure shows in the API.
 *
 * Why the old code could lose it: the failure was committed by the store, and only afterwards, in the same
 * process, an onFinish listener wrote the alert to the outbox. A kill between the two left a failed job and
 * no outbox row, and nothing after a restart knew an alert was owed. Now the failure's feed row is written
 * in the failure's own transaction and the recorder reads it after a durable cursor, so whichever side of
 * the recording the kill falls on (the test reports which), the restarted leader records and sends it once.
 * The window before recording is a few milliseconds wide and the kill usually lands after it; that case is
 * made deterministic in test/integration/alert-recorder.test.ts (failures committed by a process that
 * never recorded them). A kill during a delivery try holds the alert for that try's lease (15 s) before
 * the restarted leader tries again, which is most of this test's ~20 s.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { it } from "node:test";
import { api, startBosun } from "../helpers/bosun-process.ts";
import { httpTarget } from "../helpers/http-target.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Job = { id: string; status: string };
type AlertView = { jobId: string; status: string; attempts: number };

it("delivers the alert of a failure exactly once across a kill -9 before its delivery", async (t) => {
  const dir = await tempDir();
  // Answers 500 until the restart, 200 after; remembers what it answered to whom.
  let up = false;
  const answers: { jobId: string; alertId: string; status: number }[] = [];
  const hook = await httpTarget((r) => {
    const status = up ? 200 : 500;
    answers.push({
      jobId: JSON.parse(r.body).job.id,
      alertId: String(r.headers["x-bosun-alert-id"]),
      status,
    });
    return status;
  });
  const args = [
    "start",
    "--port",
    "0",
    "--data",
    dir.path,
    "--concurrency",
    "2",
    "--alert-webhook-url",
    `${hook.url}/hook`,
    "--http-allow",
    "127.0.0.1",
  ];
  const first = await startBosun(args);
  let jobId = "";
  try {
    const res = await api<{ job: Job }>(first.url, "POST", "/api/v1/jobs", {
      type: "shell",
      payload: { command: "exit 3" },
      maxAttempts: 1,
    });
    assert.equal(res.status, 201);
    jobId = res.body.job.id;
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(first.url, "GET", `/api/v1/jobs/${jobId}`)).body.job.status === "failed",
      { what: "the job's failure", intervalMs: 2 },
    );
  } finally {
    await first.kill("SIGKILL");
  }
  // Which side of the recording the kill fell on: either way the restart must end with one delivery.
  const db = new DatabaseSync(join(dir.path, "bosun.db"), { readOnly: true });
  const before = db.prepare("SELECT status, attempts FROM alerts WHERE job_id = ?").all(jobId);
  db.close();
  t.diagnostic(
    before.length === 0
      ? "killed after the failure's commit and before its alert was recorded"
      : `killed after the alert was recorded (${JSON.stringify(before)}), before any delivery succeeded`,
  );
  assert.ok(before.length <= 1);
  assert.ok(!answers.some((a) => a.status === 200), "no delivery succeeded before the kill");

  up = true;
  const second = await startBosun(args);
  try {
    const alertsOf = async () =>
      (await api<{ items: AlertView[] }>(second.url, "GET", "/api/v1/alerts")).body.items.filter(
        (a) => a.jobId === jobId,
      );
    await waitUntil(async () => (await alertsOf()).some((a) => a.status === "delivered"), {
      what: "the alert's delivery after the restart",
    });
    // Longer than a poll of the recorder and a retry of delivery: a second send would show by now.
    await new Promise((r) => setTimeout(r, 1500));
    const succeeded = answers.filter((a) => a.jobId === jobId && a.status === 200);
    assert.equal(succeeded.length, 1, "delivered exactly once");
    const mine = await alertsOf();
    assert.equal(mine.length, 1, "the outbox has one alert for the job");
    assert.equal(mine[0]!.status, "delivered");
    assert.equal(
      new Set(answers.filter((a) => a.jobId === jobId).map((a) => a.alertId)).size,
      1,
      "every try was of that one alert",
    );
  } finally {
    await second.kill();
    await hook.close();
    await dir.remove();
  }
});
