/**
 * Scheduler load: N schedules firing every second on embedded SQLite, for D seconds; reports the enqueue
 * drift (enqueuedAt − scheduledTime) p50/p99/max as the scheduler records it, and checks one job per fire.
 *   node bench/schedules.ts [--schedules 10000] [--seconds 10]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Bosun, type Config } from "../src/index.ts";

const { values } = parseArgs({
  options: { schedules: { type: "string", default: "10000" }, seconds: { type: "string", default: "10" } },
});
const n = Number(values.schedules);
const seconds = Number(values.seconds);
const dir = await mkdtemp(join(tmpdir(), "bosun-sched-bench-"));
const quiet: Partial<Config> = { logLevel: "silent" };
const bosun = await Bosun.open({ data: dir, config: quiet });
bosun.define("noop", async () => null);
const svc = bosun.runtime.schedules;
const t0 = Date.now();
for (let i = 0; i < n; i++) await svc.create({ cron: "* * * * * *", job: { type: "noop" } }, "bench");
console.log(`created ${n} schedules in ${Date.now() - t0} ms`);
// No workers: this measures the scheduler alone (enqueue drift), as the issue asks.
await bosun.runtime.startLeadership();
await new Promise((r) => setTimeout(r, seconds * 1000));
const drift = bosun.runtime.drift.enqueue.summary();
await bosun.runtime.scheduler.stop();
const counts = await bosun.runtime.store.counts();
const fires = counts.byStatus.queued ?? 0;
console.log(
  JSON.stringify({
    schedules: n,
    seconds,
    fires,
    firesPerSecond: Math.round(fires / seconds),
    enqueueDriftMs: drift,
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  }),
);
await bosun.stop(0);
await rm(dir, { recursive: true, force: true });
