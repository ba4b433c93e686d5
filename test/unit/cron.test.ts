import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriftRing } from "../../src/scheduler/drift.ts";
import { FireHeap } from "../../src/scheduler/fire-heap.ts";
import {
  assertFires,
  canonicalTimezone,
  firesBetween,
  nextFires,
  parseCron,
} from "../../src/scheduler/schedule.ts";

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
    // W: the weekday nearest the 15th (Sunday 15 Feb 2026 → Monday 16th); LW: the last weekday.
    assert.equal(
      new Date(nextFires(parseCron("0 0 15W * *", "UTC"), open, at, 1)[0]!).toISOString(),
      "2026-02-16T00:00:00.000Z",
    );
    assert.equal(
      new Date(nextFires(parseCron("0 0 LW * *", "UTC"), open, at, 1)[0]!).toISOString(),
      "2026-02-27T00:00:00.000Z",
    );
    assert.deepEqual(
      nextFires(parseCron("30 8 * JAN,JUL MON", "UTC"), open, Date.parse("2026-06-30T00:00:00Z"), 2).map(
        (t) => new Date(t).toISOString(),
      ),
      ["2026-07-06T08:30:00.000Z", "2026-07-13T08:30:00.000Z"],
    );
  });

  it("runs fixed-offset zones and UTC aliases on the fast path with the same results", () => {
    assert.equal(canonicalTimezone("Etc/UTC"), "UTC");
    assert.equal(canonicalTimezone("europe/berlin"), "Europe/Berlin");
    const from = Date.parse("2026-01-01T00:00:00Z");
    assert.deepEqual(
      nextFires(parseCron("0 30 2 * * *", "+01:00"), open, from, 2),
      nextFires(parseCron("0 30 2 * * *", "Europe/Berlin"), open, from, 2),
    );
    assert.equal(parseCron("* * * * *", "UTC"), parseCron("* * * * *", "Etc/UTC"), "parsed once, shared");
  });

  it("lists missed fires backwards from now, bounded, across daylight saving", () => {
    const cron = parseCron("0 30 2 * * *", "Europe/Berlin");
    assert.deepEqual(
      firesBetween(
        cron,
        open,
        Date.parse("2026-03-27T12:00:00Z"),
        Date.parse("2026-03-30T12:00:00Z"),
        10,
      ).map((t) => new Date(t).toISOString()),
      ["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"],
    );
    // A year of a per-second schedule costs `limit` steps, not 31 million.
    const t0 = performance.now();
    const latest = firesBetween(
      parseCron("* * * * * *", "UTC"),
      open,
      0,
      Date.parse("2026-05-01T10:00:00.700Z"),
      3,
    );
    assert.deepEqual(
      latest.map((t) => new Date(t).toISOString().slice(17)),
      ["58.000Z", "59.000Z", "00.000Z"],
    );
    assert.ok(performance.now() - t0 < 100);
    const bounded = { startAt: Date.parse("2026-05-01T09:59:59.000Z"), endAt: null };
    assert.equal(
      firesBetween(parseCron("* * * * * *", "UTC"), bounded, 0, Date.parse("2026-05-01T10:00:00.700Z"), 10)
        .length,
      2,
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
    assert.throws(
      () => parseCron("0 9 * * MON-FRY", "UTC"),
      (e: Error & { code?: string }) => e.code === "INVALID_CRON" && /illegal characters/.test(e.message),
    );
    assert.throws(
      () => assertFires(parseCron("0 0 30 2 *", "UTC"), "0 0 30 2 *", Date.now()),
      (e: Error & { code?: string }) => e.code === "INVALID_CRON" && /never fires/.test(e.message),
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
    h.push({ time: 3, scheduleId: "e" });
    assert.equal(h.countAt(3), 2);
    h.remove("a");
    const out: number[] = [];
    for (let f = h.pop(); f; f = h.pop()) out.push(f.time);
    assert.deepEqual(out, [1, 3, 3, 4]);
    assert.equal(h.countAt(3), 0);
    const big = new FireHeap();
    const times = Array.from({ length: 1000 }, () => Math.floor(Math.random() * 100));
    for (const t of times) big.push({ time: t, scheduleId: "x" });
    const popped: number[] = [];
    for (let f = big.pop(); f; f = big.pop()) popped.push(f.time);
    assert.deepEqual(
      popped,
      [...times].sort((a, b) => a - b),
    );
  });
  it("summarises p50, p99 and max over the latest samples", () => {
    const r = new DriftRing(100);
    for (let i = 1; i <= 200; i++) r.add(i);
    // Nearest rank over the latest 100 samples (101…200).
    assert.deepEqual(r.summary(), { count: 100, p50: 150, p99: 199, max: 200 });
    assert.deepEqual(r.values().slice(0, 2), [101, 102]);
    const neg = new DriftRing(10);
    for (const v of [-5, 3, -120, 7]) neg.add(v);
    assert.deepEqual(neg.summary(), { count: 4, p50: -5, p99: 7, max: 7 });
  });
});
