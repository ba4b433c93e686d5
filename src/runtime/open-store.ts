/** Picks the backend from the configuration: PostgreSQL when `db` is a postgres URL, else embedded SQLite. */
import { join } from "node:path";
import { type EventBus, LocalEventBus } from "../cluster/event-bus.ts";
import type { LeaderLock } from "../cluster/leadership.ts";
import type { Config } from "../config/config.ts";
import { BosunError } from "../core/errors.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import { SqliteClusterStore } from "../store/sqlite/sqlite-cluster.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { Store } from "../store/store.ts";

export interface OpenedStore {
  store: Store;
  bus: EventBus;
  cluster: ClusterStore;
  /** Present where the database can tell at once that a leader died (PostgreSQL advisory lock). */
  leaderLock?: LeaderLock;
}

export async function openStore(config: Config, _nodeId: string): Promise<OpenedStore> {
  if (config.db && /^postgres(ql)?:\/\//.test(config.db))
    throw new BosunError(
      "NOT_READY",
      "The PostgreSQL backend is not part of this build yet; use SQLite (omit --db)",
    );
  if (config.db) throw new Error(`Unsupported database URL (use postgres://…): ${config.db}`);
  const store = new SqliteStore({ file: join(config.dataDir, "bosun.db"), durability: config.durability });
  return { store, bus: new LocalEventBus(), cluster: new SqliteClusterStore(store.db) };
}
