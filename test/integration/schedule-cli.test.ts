/**
 * `bosun schedules add|list|show|pause|resume|trigger|rm`, run in-process through main() against a real
 * server (SQLite, real sockets): what each command sends, prints, and the state it leaves.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runCli } from "../helpers/cli.ts";
import { startServer } from "../helpers/in-process.ts";
import { waitUntil } from "../helpers/wait.ts";

describe("bosun schedules", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer({ concurrency: 2 });
  });
  after(() => s.stop());

  const bosun = (...args: string[]) => runCli(args, { BOSUN_URL: s.url });

  it("adds, lists, shows, pauses, resumes, triggers and removes a schedule", async () => {
    const add = await bosun(
      "schedules",
      "add",
      "0 */5 * * * *",
      "--name",
      "nightly-echo",
      "--tz",
      "europe/berlin",
      "--overlap",
      "skip",
      "--catch-up",
      "latest",
      "--catch-up-window",
      "60000",
      "--alert-url",
      "http://127.0.0.1:9/hook",
      "--alert-secret",
      "k",
      "--",
      "echo",
      "hi",
    );
    assert.equal(add.code, 0, add.err);
    const id = add.out.split("\n")[0]!;
    const again = await bosun("-o", "json", "schedules", "add", "@daily", "--name", "x", "--", "true");
    assert.ok(JSON.parse(again.out).schedule.id);
    assert.equal((await bosun("schedules", "rm", JSON.parse(again.out).schedule.id)).code, 0);
    assert.match(add.out, /^next: \d{4}-/m);

    const shown = JSON.parse((await bosun("schedules", "show", id, "-o", "json")).out);
    assert.equal(shown.schedule.timezone, "Europe/Berlin");
    assert.deepEqual(shown.schedule.job, { type: "shell", payload: { command: "echo hi" } });
    assert.deepEqual(shown.schedule.alert, { webhookUrl: "http://127.0.0.1:9/hook", hasSecret: true });
    assert.deepEqual(
      [shown.schedule.overlap, shown.schedule.catchUp, shown.schedule.catchUpWindowMs],
      ["skip", "latest", 60000],
    );
    assert.equal(shown.schedule.nextRuns.length, 5);

    const listed = JSON.parse((await bosun("-o", "json", "schedules", "list")).out);
    assert.deepEqual(
      listed.items.map((x: { id: string }) => x.id),
      [id],
    );
    const list = await bosun("schedules", "list");
    assert.match(list.out, /nightly-echo\s+0 \*\/5 \* \* \* \*\s+Europe\/Berlin\s+shell\s+active/);

    assert.match((await bosun("schedules", "pause", id)).out, /paused/);
    assert.match((await bosun("schedules", "list")).out, /paused/);
    assert.match((await bosun("schedules", "resume", id)).out, /active/);

    const trig = await bosun("schedules", "trigger", id);
    assert.equal(trig.code, 0, trig.err);
    const jobId = trig.out.trim();
    await waitUntil(async () => {
      const show = await bosun("schedules", "show", id);
      return show.out.includes(jobId) && /\(manual\)\s+completed/.test(show.out);
    });

    assert.equal((await bosun("schedules", "rm", id)).code, 0);
    const gone = await bosun("schedules", "show", id);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /SCHEDULE_NOT_FOUND/);
  });

  it("reports what is wrong with a bad expression or flag", async () => {
    const bad = await bosun("schedules", "add", "61 * * * *", "--", "true");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /INVALID_CRON: .*minute: 61/);
    const flag = await bosun("schedules", "add", "* * * * *", "--priority", "high", "--", "true");
    assert.equal(flag.code, 1);
    assert.match(flag.err, /--priority must be an integer/);
    const json = await bosun("schedules", "add", "* * * * *", "-t", "http", "--payload", "{oops");
    assert.match(json.err, /--payload must be JSON/);
  });
});
