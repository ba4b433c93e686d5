import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriftRing } from "../../src/scheduler/drift.ts";
import { FireHeap } from "../../src/scheduler/fire-heap.ts";
import { nextFires, parseCron } from "../../src/scheduler/schedule.ts";

const open = { startAt: null, endAt: null };
const perDay = (times: number[], tz: string) => {
  const fmt = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const out: Record<string, number> = {};
  for (const t of times) out[fmt.format(t)] = (out[fmt.format(t)] ?? 0) + 1;
  return out;
};

describe("cron expressions", () => {
  it("fires 02:30 Europe/Berlin exactly once on both daylight-saving transition days", () => {
    const cron = parseCron("0 30 2 * * *", "Europe/Berlin");
    const spring = nextFires(cron, open, Date.parse("2026-03-27T12:00:00Z"), 4);
    assert.deepEqual(perDay(spring, "Europe/Berlin"), {
      "2026-03-28": 1,
      "2026-03-29": 1,
      "2026-03-30": 1,
      "2026-03-31": 1,
    });
    // 02:30 does not exist on 29 March: the fire moves to the next valid instant, 03:00 CEST.
    assert.equal(new Date(spring[1]!).toISOString(), "2026-03-29T01:00:00.000Z");
    const autumn = nextFires(cron, open, Date.parse("2026-10-23T12:00:00Z"), 4);
    assert.deepEqual(perDay(autumn, "Europe/Berlin"), {
      "2026-10-24": 1,
      "2026-10-25": 1,
      "2026-10-26": 1,
      "2026-10-27": 1,
    });
    // 02:30 happens twice on 25 October: it fires once, at the first.
    assert.equal(new Date(autumn[1]!).toISOString(), "2026-10-25T00:30:00.000Z");
  });

  it("supports seconds, steps, names, L, # and macros", () => {
    const at = Date.parse("2026-02-02T10:00:00.500Z");
    assert.deepEqual(
      nextFires(parseCron("*/15 * * * * *", "UTC"), open, at, 2).map((t) => new Date(t).toISOString()),
      ["2026-02-02T10:00:15.000Z", "2026-02-02T10:00:30.000Z"],
    );
    assert.equal(
      new Date(
        nextFires(parseCron("0 9 * * MON-FRI", "UTC"), open, Date.parse("2026-02-07T00:00:00Z"), 1)[0]!,
      ).toISOString(),
      "2026-02-09T09:00:00.000Z",
    );
    assert.equal(
      new Date(nextFires(parseCron("0 12 L * *", "UTC"), open, at, 1)[0]!).toISOString(),
      "2026-02-28T12:00:00.000Z",
    );
    assert.equal(
      new Date(nextFires(parseCron("0 8 * * 1#2", "UTC"), open, at, 1)[0]!).toISOString(),
      "2026-02-09T08:00:00.000Z",
    );
    assert.equal(
      new Date(nextFires(parseCron("@hourly", "UTC"), open, at, 1)[0]!).toISOString(),
      "2026-02-02T11:00:00.000Z",
    );
    assert.equal(
      new Date(nextFires(parseCron("0 0 1 JAN *", "UTC"), open, at, 1)[0]!).toISOString(),
      "2027-01-01T00:00:00.000Z",
    );
  });

  it("honours startAt and endAt", () => {
    const cron = parseCron("0 * * * *", "UTC");
    const s = { startAt: Date.parse("2026-01-01T05:00:00Z"), endAt: Date.parse("2026-01-01T07:00:00Z") };
    const fires = nextFires(cron, s, Date.parse("2026-01-01T00:00:00Z"), 10);
    assert.deepEqual(
      fires.map((t) => new Date(t).toISOString()),
      ["2026-01-01T05:00:00.000Z", "2026-01-01T06:00:00.000Z", "2026-01-01T07:00:00.000Z"],
    );
  });

  it("explains invalid expressions and zones", () => {
    assert.throws(
      () => parseCron("61 * * * *", "UTC"),
      (e: Error & { code?: string }) => e.code === "INVALID_CRON" && /minute/.test(e.message),
    );
    assert.throws(
      () => parseCron("* * *", "UTC"),
      (e: Error & { code?: string }) => e.code === "INVALID_CRON",
    );
    assert.throws(
      () => parseCron("* * * * *", "Mars/Olympus"),
      (e: Error & { code?: string }) => e.code === "INVALID_TIMEZONE",
    );
  });
});

describe("FireHeap and DriftRing", () => {
  it("pops fires in time order and removes a schedule's entries", () => {
    const h = new FireHeap();
    for (const [t, id] of [
      [5, "a"],
      [1, "b"],
      [3, "c"],
      [2, "a"],
      [4, "d"],
    ] as const)
      h.push({ time: t, scheduleId: id });
    h.remove("a");
    const out: number[] = [];
    for (let f = h.pop(); f; f = h.pop()) out.push(f.time);
    assert.deepEqual(out, [1, 3, 4]);
  });
  it("summarises p50, p99 and max over the latest samples", () => {
    const r = new DriftRing(100);
    for (let i = 1; i <= 200; i++) r.add(i);
    assert.deepEqual(r.summary(), { count: 100, p50: 151, p99: 200, max: 200 });
  });
});
