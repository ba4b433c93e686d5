/** Picks the backend from the configuration: PostgreSQL when `db` is a postgres URL, else embedded SQLite. */
import { join } from "node:path";
import { type EventBus, LocalEventBus } from "../cluster/event-bus.ts";
import type { LeaderLock } from "../cluster/leadership.ts";
import type { Config } from "../config/config.ts";
import type { AlertStore, ScheduleStore } from "../scheduler/schedule-store.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { IdentityStore } from "../store/identity-store.ts";
import { SqliteClusterStore } from "../store/sqlite/sqlite-cluster.ts";
import { SqliteIdentityStore } from "../store/sqlite/sqlite-identity.ts";
import { SqliteScheduleStore } from "../store/sqlite/sqlite-schedules.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { Store } from "../store/store.ts";

export interface OpenedStore {
  store: Store;
  schedules: ScheduleStore & AlertStore;
  bus: EventBus;
  cluster: ClusterStore;
  /** Users, API keys, sessions, the signing secret and the audit log, on the same database. */
  identity: IdentityStore;
  /** Present where the database can tell at once that a leader died (PostgreSQL advisory lock). */
  leaderLock?: LeaderLock;
}

export async function openStore(config: Config, nodeId: string): Promise<OpenedStore> {
  if (config.db && /^postgres(ql)?:\/\//.test(config.db)) {
    const { PostgresStore } = await import("../store/postgres/postgres-store.ts");
    const { PgClusterStore, PgLeaderLock } = await import("../store/postgres/pg-cluster.ts");
    const { PgScheduleStore } = await import("../store/postgres/pg-schedules.ts");
    const { PgIdentityStore } = await import("../store/postgres/pg-identity.ts");
    const { PgEventBus } = await import("../cluster/pg-event-bus.ts");
    const store = new PostgresStore({ url: config.db, schema: config.dbSchema, poolSize: config.dbPoolSize });
    await store.migrate();
    const bus = new PgEventBus({ url: config.db, schema: config.dbSchema, nodeId });
    await bus.start();
    return {
      store,
      bus,
      schedules: new PgScheduleStore(store),
      cluster: new PgClusterStore(store),
      identity: new PgIdentityStore(store),
      leaderLock: new PgLeaderLock({ url: config.db, schema: config.dbSchema }),
    };
  }
  if (config.db) throw new Error(`Unsupported database URL (use postgres://…): ${config.db}`);
  const store = new SqliteStore({ file: join(config.dataDir, "bosun.db"), durability: config.durability });
  return {
    store,
    bus: new LocalEventBus(),
    schedules: new SqliteScheduleStore(store.db),
    cluster: new SqliteClusterStore(store.db),
    identity: new SqliteIdentityStore(store.db),
  };
}
