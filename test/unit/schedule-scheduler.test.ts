/**
 * The scheduler on a fake clock (node:test mock timers drive setTimeout and Date) against a real SQLite
 * file and the real engine: daylight saving, catch-up, overlap, restarts and two leaders (lead time: schedule-staged.test.ts).
 * Time only moves when the test moves it, straight to the scheduler's next wake-up, so days pass in
 * milliseconds and every fire happens at its exact instant.
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { at, fakeClockSuite, openNode, runUntil, settle } from "../helpers/scheduler-node.ts";

const berlinDay = (t: number) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin", dateStyle: "short" }).format(t);
const countBy = (xs: string[]) => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

describe("scheduler (fake clock)", () => {
  const suite = fakeClockSuite("bosun-sched-");

  for (const [season, from, to, day, instant] of [
    ["spring", "2026-03-27T12:00:00Z", "2026-04-01T00:00:00Z", "2026-03-29", "2026-03-29T01:00:00.000Z"],
    ["autumn", "2026-10-23T12:00:00Z", "2026-10-28T00:00:00Z", "2026-10-25", "2026-10-25T00:30:00.000Z"],
  ] as const) {
    it(`fires 0 30 2 * * * in Europe/Berlin exactly once on the ${season} transition day`, async () => {
      await suite.withNode(from, async (n) => {
        const s = await n.create({ cron: "0 30 2 * * *", timezone: "Europe/Berlin" });
        await n.scheduler.start();
        await runUntil(at(to), n);
        const times = await n.fireTimes(s.id);
        assert.deepEqual(Object.values(countBy(times.map(berlinDay))), [1, 1, 1, 1]);
        const onDay = times.filter((t) => berlinDay(t) === day);
        // spring: 02:30 does not exist, the next valid instant is 03:00 CEST; autumn: the first 02:30.
        assert.deepEqual(
          onDay.map((t) => new Date(t).toISOString()),
          [instant],
        );
        assert.equal(n.drift.counts.fired, 4);
        assert.equal(n.drift.enqueue.summary().max <= 0, true, "no fire enqueued after its instant");
      });
    });
  }

  it("restarts without doubling a fire, and catchUp decides about the fires missed while down", async () => {
    suite.fake("2026-05-01T10:00:00.500Z");
    const a = await openNode(suite.file);
    const none = await a.create({ cron: "*/10 * * * * *", catchUp: "none" });
    const latest = await a.create({ cron: "*/10 * * * * *", catchUp: "latest" });
    const all = await a.create({ cron: "*/10 * * * * *", catchUp: "all" });
    const windowed = await a.create({ cron: "*/10 * * * * *", catchUp: "all", catchUpWindowMs: 25_000 });
    await a.scheduler.start();
    await runUntil(at("2026-05-01T10:00:30.200Z"), a);
    await a.close(); // down from 10:00:30.2 to 10:01:35.3
    mock.timers.setTime(at("2026-05-01T10:01:35.300Z"));
    const b = await openNode(suite.file);
    try {
      await b.scheduler.start();
      await runUntil(at("2026-05-01T10:02:00.500Z"), b);
      const secs = async (id: string) =>
        (await b.fireTimes(id)).map((t) => new Date(t).toISOString().slice(14, 19));
      const before = ["00:10", "00:20", "00:30"];
      const after = ["01:40", "01:50", "02:00"];
      assert.deepEqual(await secs(none.id), [...before, ...after]);
      assert.deepEqual(await secs(latest.id), [...before, "01:30", ...after]);
      assert.deepEqual(await secs(all.id), [
        ...before,
        "00:40",
        "00:50",
        "01:00",
        "01:10",
        "01:20",
        "01:30",
        ...after,
      ]);
      assert.deepEqual(await secs(windowed.id), [...before, "01:20", "01:30", ...after]);
      assert.equal(b.drift.counts.caughtUp, 1 + 6 + 2);
      // Caught-up fires are late on purpose: they are counted, not sampled as drift.
      assert.equal(b.drift.enqueue.summary().count, 12);
    } finally {
      await b.close();
    }
  });

  it("two schedulers on one database (two leaders during a split) make one job per fire time", async () => {
    suite.fake("2026-05-01T10:00:00.000Z");
    const a = await openNode(suite.file);
    const b = await openNode(suite.file, { beside: a });
    try {
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push((await a.create({ cron: "* * * * * *" })).id);
      await a.scheduler.start();
      await b.scheduler.start();
      await runUntil(at("2026-05-01T10:00:10.500Z"), a, b);
      for (const id of ids) {
        const times = await a.fireTimes(id);
        assert.equal(times.length, 10);
        assert.equal(new Set(times).size, 10);
      }
      assert.equal(a.drift.counts.fired + b.drift.counts.fired, 200);
      assert.equal(a.drift.counts.duplicate + b.drift.counts.duplicate, 200);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it("a clock that jumps back does not fire the same instants again", async () => {
    await suite.withNode("2026-05-01T10:00:00.000Z", async (n) => {
      const s = await n.create({ cron: "* * * * * *" });
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:05.500Z"), n);
      mock.timers.setTime(at("2026-05-01T10:00:02.500Z"));
      await n.scheduler.stop(); // a new leader (or restart) on a clock that went back
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:08.500Z"), n);
      const times = await n.fireTimes(s.id);
      assert.deepEqual(
        times.map((t) => new Date(t).toISOString().slice(17, 19)),
        ["01", "02", "03", "04", "05", "06", "07", "08"],
      );
    });
  });

  it('overlap "skip" drops fires while a run is unfinished; "queue" holds them, durably, in order', async () => {
    suite.fake("2026-05-01T10:00:00.000Z");
    const a = await openNode(suite.file);
    const skip = await a.create({ cron: "* * * * * *", overlap: "skip" });
    const queue = await a.create({ cron: "* * * * * *", overlap: "queue" });
    await a.scheduler.start();
    // No worker runs anything: the first run of each stays queued.
    await runUntil(at("2026-05-01T10:00:03.500Z"), a);
    assert.equal((await a.runs(skip.id)).length, 1);
    assert.equal((await a.runs(queue.id)).length, 1);
    assert.deepEqual(a.drift.counts, { ...a.drift.counts, skipped: 2, held: 2 });
    assert.equal((await a.schedules.heldFires([queue.id])).get(queue.id)?.length, 2);
    await a.close();

    const b = await openNode(suite.file); // the held fires survive a restart
    try {
      await b.scheduler.start();
      await settle(b);
      const [first] = await b.runs(queue.id);
      await b.engine.cancel(first!.jobId);
      await runUntil(at("2026-05-01T10:00:03.600Z"), b);
      const runs = await b.runs(queue.id);
      assert.deepEqual(
        runs.map((r) => new Date(r.scheduledTime!).toISOString().slice(17, 19)),
        ["01", "02"],
        "the oldest held fire runs when the previous run ends, with its own scheduled time",
      );
      assert.deepEqual((await b.schedules.heldFires([queue.id])).get(queue.id), [
        at("2026-05-01T10:00:03.000Z"),
      ]);
      await b.engine.cancel((await b.runs(skip.id))[0]!.jobId);
      await runUntil(at("2026-05-01T10:00:05.500Z"), b);
      assert.equal((await b.runs(skip.id)).length, 2, "after the run ended, the next fire goes");
    } finally {
      await b.close();
    }
  });

  it("one schedule whose job became invalid does not stop the others", async () => {
    await suite.withNode("2026-05-01T10:00:00.000Z", async (n) => {
      n.engine.catalog.add("doomed");
      const bad = await n.create({ job: { type: "doomed" } });
      const good = await n.create({});
      n.engine.catalog.remove("doomed");
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:03.500Z"), n);
      assert.equal((await n.runs(good.id)).length, 3);
      assert.equal((await n.runs(bad.id)).length, 0);
      assert.equal(n.drift.counts.failed, 3);
    });
  });

  it("re-plans on changes: a new cron starts from now, delete stops firing, stop/start flaps resume", async () => {
    await suite.withNode("2026-05-01T10:00:00.000Z", async (n) => {
      const s = await n.create({ cron: "*/2 * * * * *" });
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:04.500Z"), n);
      await n.service.update(s.id, { cron: "*/3 * * * * *" });
      await runUntil(at("2026-05-01T10:00:09.500Z"), n);
      // Leadership flaps: stop and start back to back, twice, without waiting.
      void n.scheduler.stop();
      void n.scheduler.start();
      void n.scheduler.stop();
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:12.500Z"), n);
      await n.service.delete(s.id);
      await runUntil(at("2026-05-01T10:00:20.000Z"), n);
      assert.deepEqual(
        (await n.fireTimes(s.id)).map((t) => new Date(t).toISOString().slice(17, 19)),
        ["02", "04", "06", "09", "12"],
      );
      assert.equal(n.scheduler.size, 0);
    });
  });
});
