/**
 * Scheduler load: N schedules firing every second on embedded SQLite, for D seconds. Reports the enqueue
 * drift the scheduler records (commit time of the job − its scheduled second; negative = the job was
 * durable before its second, see the lead time in src/scheduler/scheduler.ts), split into the first two
 * seconds (start-up: cold JIT, first lead estimate) and the steady state after them, and checks that every
 * fire made exactly one job, and when the jobs written ahead became claimable (ready drift, per second).
 * With --consume, an in-process consumer claims and completes the jobs and
 * the start drift (claim time − scheduled second) is reported too.
 *
 *   node bench/schedules.ts [--schedules 10000] [--seconds 10] [--consume]
 *
 * Built from the parts (store, engine, scheduler) rather than a whole server, so nothing but the
 * scheduler (and the consumer, when asked) competes for the event loop.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { LocalEventBus } from "../src/cluster/event-bus.ts";
import { systemClock } from "../src/core/clock.ts";
import { Engine } from "../src/engine/engine.ts";
import { DriftMeter } from "../src/scheduler/drift.ts";
import { ScheduleService } from "../src/scheduler/schedule-service.ts";
import { Scheduler } from "../src/scheduler/scheduler.ts";
import { SqliteScheduleStore } from "../src/store/sqlite/sqlite-schedules.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";

const { values } = parseArgs({
  options: {
    schedules: { type: "string", default: "10000" },
    seconds: { type: "string", default: "10" },
    consume: { type: "boolean", default: false },
  },
});
const n = Number(values.schedules);
const seconds = Number(values.seconds);
const WARMUP_S = 2;

const dir = await mkdtemp(join(tmpdir(), "bosun-sched-bench-"));
const logger = pino({ level: "silent" });
const store = new SqliteStore({ file: join(dir, "bosun.db") });
const bus = new LocalEventBus();
const engine = new Engine({
  store,
  bus,
  clock: systemClock,
  logger,
  leaseMs: 30_000,
  reapIntervalMs: 1000,
  maxPayloadBytes: 1 << 20,
});
engine.catalog.add("noop");
const schedStore = new SqliteScheduleStore(store.db);
const service = new ScheduleService(engine, schedStore, systemClock, logger);
const drift = new DriftMeter(n * (seconds + 3));
bus.subscribe("started", (e) => drift.recordStarts(e.claims, e.at));
const scheduler = new Scheduler({ engine, store: schedStore, clock: systemClock, logger, drift });
// Jobs written ahead are durable early but claimable only once the dispatcher promotes them at their
// second (one UPDATE for the whole second). Its finish time − that second is the drift a worker sees.
const readyDrift: number[] = [];
const promoteDue = store.promoteDue.bind(store);
store.promoteDue = async (now: number) => {
  const promoted = await promoteDue(now);
  if (promoted > 0) readyDrift.push(Date.now() - Math.floor(now / 1000) * 1000);
  return promoted;
};

const t0 = Date.now();
for (let i = 0; i < n; i++) await service.create({ cron: "* * * * * *", job: { type: "noop" } }, "bench");
console.log(`created ${n} schedules in ${Date.now() - t0} ms`);

let consuming = values.consume;
const consumer = (async () => {
  while (consuming) {
    const claims = await engine.poll({
      workerId: "bench",
      slots: 2000,
      running: 0,
      capacity: 2000,
      labels: {},
      queues: null,
      types: null,
      waitMs: 200,
    });
    if (claims.length > 0)
      await engine.complete(
        claims.map((c) => ({
          jobId: c.id,
          lease: c.lease,
          attempt: c.attempt,
          workerId: c.workerId,
          result: null,
        })),
      );
  }
})();

// Start just after a second boundary, as a restart would at a random time; measure whole seconds.
await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 100));
const startedAt = Date.now();
await scheduler.start();
await new Promise((r) => setTimeout(r, seconds * 1000));
await scheduler.stop();
consuming = false;
await consumer;
await new Promise((r) => setTimeout(r, 100));

const pct = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.max(0, Math.ceil(q * s.length) - 1)] ?? 0;
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? 0 };
};
const enqueue = drift.enqueue.values();
const warm = WARMUP_S * n;
// Fires per scheduled second; the last second may be cut short by the stop (it was being written ahead).
const perSecond = store.db
  .prepare(
    "SELECT scheduled_time AS t, COUNT(*) AS n FROM jobs GROUP BY scheduled_time ORDER BY scheduled_time",
  )
  .all() as { t: number; n: number }[];
const full = perSecond.slice(0, -1);
const { fires, uniq } = store.db
  .prepare("SELECT COUNT(*) AS fires, COUNT(DISTINCT schedule_id || ':' || scheduled_time) AS uniq FROM jobs")
  .get() as { fires: number; uniq: number };
console.log(
  JSON.stringify(
    {
      schedules: n,
      seconds,
      consume: values.consume,
      fires,
      secondsFired: perSecond.length,
      missedFires: full.reduce((m, s) => m + (n - s.n), 0),
      oneJobPerFire: fires === uniq,
      firstFireAfterStartMs: (perSecond[0]?.t ?? 0) - startedAt,
      enqueueDriftMs: {
        all: pct(enqueue),
        startup: pct(enqueue.slice(0, warm)),
        steady: pct(enqueue.slice(warm)),
      },
      /** The latest enqueue of each second (positive: that second's batch finished after it). */
      enqueueMaxPerSecondMs: Array.from({ length: Math.ceil(enqueue.length / n) }, (_, i) =>
        Math.max(...enqueue.slice(i * n, (i + 1) * n)),
      ),
      /** Per promoted second: when its staged jobs became claimable (none when nothing was written ahead). */
      readyDriftMs: pct(readyDrift.slice(WARMUP_S)),
      startDriftMs: values.consume ? pct(drift.start.values().slice(warm)) : null,
      counts: drift.counts,
      rssMb: Math.round(process.memoryUsage().rss / 1e6),
    },
    null,
    2,
  ),
);
await engine.close();
await store.close();
await rm(dir, { recursive: true, force: true });
