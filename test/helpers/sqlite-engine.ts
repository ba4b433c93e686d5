/**
 * An engine on a real SQLite file, without workers or HTTP: the common base of tests that play the
 * worker themselves (alerts, schedules). `clock` defaults to the real one; node:test's mocked Date works
 * through it too.
 */
import { pino } from "pino";
import { LocalEventBus } from "../../src/cluster/event-bus.ts";
import { type Clock, systemClock } from "../../src/core/clock.ts";
import { Engine } from "../../src/engine/engine.ts";
import { SqliteScheduleStore } from "../../src/store/sqlite/sqlite-schedules.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";

export const logger = pino({ level: "silent" });

export function sqliteEngine(file: string, opts: { clock?: Clock; types?: string[] } = {}) {
  const store = new SqliteStore({ file });
  const bus = new LocalEventBus();
  const engine = new Engine({
    store,
    bus,
    clock: opts.clock ?? systemClock,
    logger,
    leaseMs: 30_000,
    reapIntervalMs: 60_000,
    maxPayloadBytes: 1 << 20,
  });
  for (const t of opts.types ?? []) engine.catalog.add(t);
  const schedules = new SqliteScheduleStore(store.db);
  return {
    store,
    engine,
    schedules,
    async close() {
      await engine.close();
      await bus.close();
      await store.close();
    },
  };
}
