/**
 * A scheduler node for tests on a fake clock (node:test mock timers drive setTimeout and Date): the real
 * engine, schedule service and scheduler on a real SQLite file. Time only moves when the test moves it,
 * straight to the schedulers' next wake-up, so every fire happens at its exact instant.
 */
import { join } from "node:path";
import { afterEach, beforeEach, mock } from "node:test";
import type { Clock } from "../../src/core/clock.ts";
import { DriftMeter } from "../../src/scheduler/drift.ts";
import type { ScheduleInput } from "../../src/scheduler/schedule.ts";
import { ScheduleService } from "../../src/scheduler/schedule-service.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { logger, sqliteEngine } from "./sqlite-engine.ts";
import { tempDir } from "./wait.ts";

export { logger };
export const clock: Clock = { now: () => Date.now() }; // Date is mocked
export const at = (iso: string) => Date.parse(iso);

export type Node = Awaited<ReturnType<typeof openNode>>;
type Shared = Pick<ReturnType<typeof sqliteEngine>, "store" | "engine" | "schedules">;

/**
 * A node on `file`; with `beside`, a second scheduler on that node's store instead (one store per file:
 * a second store on it would be refused), as two leaders during a split share one database.
 */
export async function openNode(file: string, opts: { maxLeadMs?: number; beside?: Shared } = {}) {
  const own = opts.beside ? null : sqliteEngine(file, { clock, types: ["noop"] });
  const { store, engine, schedules } = opts.beside ?? own!;
  const drift = new DriftMeter();
  const service = new ScheduleService(engine, schedules, clock, logger);
  const scheduler = new Scheduler({
    engine,
    store: schedules,
    clock,
    logger,
    drift,
    maxLeadMs: opts.maxLeadMs,
  });
  const runs = async (id: string) => (await schedules.runs(id, { limit: 10_000 })).reverse();
  const fireTimes = async (id: string) =>
    (await runs(id)).filter((r) => r.scheduledTime !== null).map((r) => r.scheduledTime!);
  return {
    store,
    engine,
    schedules,
    drift,
    service,
    scheduler,
    runs,
    fireTimes,
    create: (input: Partial<ScheduleInput>) =>
      service.create({ cron: "* * * * * *", job: { type: "noop" }, ...input } as ScheduleInput, "t"),
    async close() {
      await scheduler.stop();
      // The node beside another closes only its scheduler: the store is the other's.
      await own?.close();
    },
  };
}

export async function settle(...nodes: Node[]) {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    for (const n of nodes) await n.scheduler.whenIdle();
  }
}

/** Moves the fake clock to `target`, stopping at every wake-up of the nodes' schedulers. */
export async function runUntil(target: number, ...nodes: Node[]) {
  for (;;) {
    await settle(...nodes);
    const now = Date.now();
    if (now >= target) return;
    const wakes = nodes.map((n) => n.scheduler.nextWakeAt ?? Number.POSITIVE_INFINITY);
    const to = Math.min(target, Math.max(Math.min(...wakes), now + 1));
    mock.timers.tick(to - now);
  }
}

/**
 * What every fake-clock suite sets up, for the describe block it is called in: a fresh SQLite file per
 * test (`file`), mock timers started by `fake` and reset after each test, and `withNode` for the common
 * case of one node on that file, closed however the test ends.
 */
export function fakeClockSuite(prefix: string) {
  let dir: Awaited<ReturnType<typeof tempDir>> | null = null;
  const suite = {
    file: "",
    fake: (iso: string) => mock.timers.enable({ apis: ["setTimeout", "Date"], now: at(iso) }),
    async withNode(iso: string, test: (n: Node) => Promise<void>): Promise<void> {
      suite.fake(iso);
      const n = await openNode(suite.file);
      try {
        await test(n);
      } finally {
        await n.close();
      }
    },
  };
  beforeEach(async () => {
    dir = await tempDir(prefix);
    suite.file = join(dir.path, "bosun.db");
  });
  afterEach(async () => {
    mock.timers.reset();
    await dir?.remove();
  });
  return suite;
}
