/**
 * Fires written ahead of their second (lead time) and what changes do to them, on a fake clock against a
 * real SQLite file, the real engine, service and scheduler. A change discards the staged jobs (deletes
 * them), so the re-planned scheduler can write exactly those fires again: nothing lost, nothing doubled.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { at, fakeClockSuite, type Node, runUntil, settle } from "../helpers/scheduler-node.ts";

/** "05 queued" per run, oldest first. */
const view = async (n: Node, id: string) =>
  (await n.runs(id)).map((r) => `${new Date(r.scheduledTime!).toISOString().slice(17, 19)} ${r.status}`);

/** 300 fires a second × the assumed cost per fire is over 2 ms: the first batches go out ~50 ms early. */
async function withFillers(n: Node, cron: string) {
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) ids.push((await n.create({ cron })).id);
  return ids;
}

describe("staged fires (fake clock)", () => {
  const suite = fakeClockSuite("bosun-staged-");

  it("writes a large batch ahead of its second (lead time) and pausing discards what was written ahead", async () => {
    await suite.withNode("2026-05-01T10:00:00.200Z", async (n) => {
      const ids = await withFillers(n, "*/5 * * * * *");
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:04.999Z"), n);
      const staged = await n.engine.list({ status: ["scheduled"], limit: 1000 });
      assert.equal(staged.length, 300);
      assert.ok(staged.every((j) => j.runAt === at("2026-05-01T10:00:05.000Z")));
      assert.ok(n.drift.enqueue.summary().max < 0, "each job was durable before its second");
      await n.service.setPaused(ids[0]!, true);
      await settle(n);
      assert.deepEqual(await n.runs(ids[0]!), [], "a plan, not history: no cancelled run is left");
      await runUntil(at("2026-05-01T10:00:05.100Z"), n);
      assert.equal((await n.engine.list({ status: ["queued"], limit: 1000 })).length, 299);
    });
  });

  it("a change discards the fires written ahead and the new timing writes its own", async () => {
    await suite.withNode("2026-05-01T10:00:00.200Z", async (n) => {
      const ids = await withFillers(n, "*/5 * * * * *");
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:04.999Z"), n);
      // Both changes come after :05 was written ahead. A later endAt still fires :05; */7 does not.
      await n.service.update(ids[0]!, { endAt: "2026-05-02T00:00:00Z" });
      await n.service.update(ids[1]!, { cron: "*/7 * * * * *" });
      await runUntil(at("2026-05-01T10:00:10.100Z"), n);
      assert.deepEqual(await view(n, ids[0]!), ["05 queued", "10 queued"]);
      assert.deepEqual(await view(n, ids[1]!), ["07 queued"]);
    });
  });

  for (const settled of [true, false])
    it(`pause and resume within the lead time lose no second and double none (leader ${settled ? "re-plans in between" : "sees only the resume"})`, async () => {
      await suite.withNode("2026-05-01T10:00:00.200Z", async (n) => {
        const [x] = await withFillers(n, "* * * * * *");
        await n.scheduler.start();
        await runUntil(at("2026-05-01T10:00:00.970Z"), n);
        assert.deepEqual(await view(n, x!), ["01 scheduled"], "precondition: :01 was written ahead");
        await n.service.setPaused(x!, true);
        if (settled) await runUntil(at("2026-05-01T10:00:00.980Z"), n);
        await n.service.setPaused(x!, false);
        await runUntil(at("2026-05-01T10:00:04.500Z"), n);
        assert.deepEqual(await view(n, x!), ["01 queued", "02 queued", "03 queued", "04 queued"]);
      });
    });

  it("a retime from every 2 s to every 1 s fires each second after the change once", async () => {
    await suite.withNode("2026-05-01T10:00:00.000Z", async (n) => {
      const s = await n.create({ cron: "*/2 * * * * *" });
      await n.scheduler.start();
      await runUntil(at("2026-05-01T10:00:02.500Z"), n);
      // :04 written ahead as a leader writes it with a 1.5 s lead (10,000 schedules on SQLite): a fire
      // that the new timing makes too, later than the new timing's first second.
      await n.engine.enqueueEntries([
        {
          input: { type: "noop", runAt: "2026-05-01T10:00:04.000Z" },
          ctx: { owner: "t", scheduleId: s.id, scheduledTime: at("2026-05-01T10:00:04.000Z") },
        },
      ]);
      await n.service.update(s.id, { cron: "* * * * * *" });
      await runUntil(at("2026-05-01T10:00:07.500Z"), n);
      assert.deepEqual(await view(n, s.id), [
        "02 queued",
        "03 queued",
        "04 queued",
        "05 queued",
        "06 queued",
        "07 queued",
      ]);
      assert.ok(n.drift.enqueue.summary().max <= 0, "each fire on time, none caught up late");
    });
  });
});
