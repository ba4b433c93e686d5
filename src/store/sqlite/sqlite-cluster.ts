/** ClusterStore on the node's SQLite file (a one-node cluster, or several processes sharing one file). */
import type { DatabaseSync } from "node:sqlite";
import type { ClusterStore, LeaseState, NodeRecord, WorkerRecord } from "../cluster-store.ts";
import type { AuditEntry } from "../identity-store.ts";
import { decodeNode, decodeWorker, isTaken, parseJson } from "../records.ts";
import { type AuditWriter, audited, auditWriter } from "./audit-log.ts";
import { transaction } from "./database.ts";

const toNode = decodeNode;
const toWorker = (r: Record<string, unknown>) => decodeWorker(r, parseJson);

export class SqliteClusterStore implements ClusterStore {
  readonly #db: DatabaseSync;
  readonly #audit: AuditWriter;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#audit = auditWriter(db);
  }

  async heartbeatNode(n: NodeRecord): Promise<void> {
    this.#db
      .prepare(`INSERT INTO nodes (id, address, version, started_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version,
          started_at = excluded.started_at, last_seen_at = excluded.last_seen_at`)
      .run(n.id, n.address, n.version, n.startedAt, n.lastSeenAt);
  }

  async listNodes(): Promise<NodeRecord[]> {
    return this.#db.prepare("SELECT * FROM nodes ORDER BY id").all().map(toNode);
  }

  async pruneNodes(before: number): Promise<number> {
    return Number(this.#db.prepare("DELETE FROM nodes WHERE last_seen_at < ?").run(before).changes);
  }

  async acquireLease(
    name: string,
    nodeId: string,
    ttlMs: number,
    now: number,
    force: boolean,
  ): Promise<LeaseState> {
    return transaction(this.#db, () => {
      this.#db
        .prepare(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
          ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE leases.holder = excluded.holder OR leases.expires_at < ? OR ?`)
        .run(name, nodeId, now + ttlMs, now, force ? 1 : 0);
      return this.#lease(name);
    });
  }

  async releaseLease(name: string, nodeId: string): Promise<void> {
    this.#db.prepare("DELETE FROM leases WHERE name = ? AND holder = ?").run(name, nodeId);
  }

  async getLease(name: string): Promise<LeaseState> {
    return this.#lease(name);
  }

  #lease(name: string): LeaseState {
    const r = this.#db.prepare("SELECT holder, expires_at FROM leases WHERE name = ?").get(name);
    return r
      ? { holder: r.holder as string, expiresAt: Number(r.expires_at) }
      : { holder: null, expiresAt: null };
  }

  async upsertWorker(
    w: Omit<WorkerRecord, "draining" | "registeredAt">,
    takeoverBefore: number,
  ): Promise<{ worker: WorkerRecord; previousInstance: string | null } | { taken: true }> {
    return transaction(this.#db, () => {
      const before = this.#db
        .prepare("SELECT instance, principal, last_seen_at FROM workers WHERE id = ?")
        .get(w.id);
      if (before && isTaken(before, w.principal, takeoverBefore)) return { taken: true as const };
      const row = this.#db
        .prepare(`INSERT INTO workers (id, labels, capacity, running, types, queues, version, instance,
            principal, registered_at, last_seen_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET labels = excluded.labels, capacity = excluded.capacity,
            running = excluded.running, types = excluded.types, queues = excluded.queues,
            version = excluded.version, instance = excluded.instance, principal = excluded.principal,
            last_seen_at = excluded.last_seen_at
          RETURNING *`)
        .get(
          w.id,
          JSON.stringify(w.labels),
          w.capacity,
          w.running,
          JSON.stringify(w.types),
          w.queues === null ? null : JSON.stringify(w.queues),
          w.version,
          w.instance,
          w.principal,
          w.lastSeenAt,
          w.lastSeenAt,
        );
      return { worker: toWorker(row!), previousInstance: (before?.instance as string | null) ?? null };
    });
  }

  async touchWorker(id: string, running: number, now: number): Promise<WorkerRecord | null> {
    const row = this.#db
      .prepare("UPDATE workers SET running = ?, last_seen_at = ? WHERE id = ? RETURNING *")
      .get(running, now, id);
    return row ? toWorker(row) : null;
  }

  async getWorker(id: string): Promise<WorkerRecord | null> {
    const row = this.#db.prepare("SELECT * FROM workers WHERE id = ?").get(id);
    return row ? toWorker(row) : null;
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return this.#db.prepare("SELECT * FROM workers ORDER BY id").all().map(toWorker);
  }

  async setWorkerDraining(id: string, draining: boolean, audit?: AuditEntry): Promise<WorkerRecord | null> {
    const set = () =>
      this.#db.prepare("UPDATE workers SET draining = ? WHERE id = ? RETURNING *").get(draining ? 1 : 0, id);
    const row = audited(this.#db, this.#audit, audit, set, (r) => r !== undefined);
    return row ? toWorker(row) : null;
  }

  async workerTypes(since: number): Promise<string[]> {
    const rows = this.#db
      .prepare("SELECT DISTINCT value AS type FROM workers, json_each(workers.types) WHERE last_seen_at >= ?")
      .all(since);
    return rows.map((r) => r.type as string);
  }

  async pruneWorkers(before: number): Promise<number> {
    return Number(this.#db.prepare("DELETE FROM workers WHERE last_seen_at < ?").run(before).changes);
  }
}
