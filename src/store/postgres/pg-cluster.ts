/**
 * Cluster state on PostgreSQL (nodes, the leader lease row, workers) and the leader's advisory lock.
 * The lock is a session lock on a dedicated connection: if the leader's process dies, PostgreSQL drops the
 * session and the lock with it, so a follower's next try wins at once instead of waiting out the TTL.
 */
import type { LeaderLock } from "../../cluster/leadership.ts";
import type { ClusterStore, LeaseState, NodeRecord, WorkerRecord } from "../cluster-store.ts";
import type { AuditEntry } from "../identity-store.ts";
import { decodeNode, decodeWorker, isTaken, parsedJson } from "../records.ts";
import { audited } from "./audit-log.ts";
import { connect, type Sql } from "./connection.ts";
import type { PostgresStore } from "./postgres-store.ts";

const toNode = decodeNode;
const toWorker = (r: Record<string, unknown>) => decodeWorker(r, parsedJson);

export class PgClusterStore implements ClusterStore {
  readonly #sql: Sql;

  constructor(store: PostgresStore) {
    this.#sql = store.sql;
  }

  async heartbeatNode(n: NodeRecord): Promise<void> {
    await this.#sql`INSERT INTO nodes (id, address, version, started_at, last_seen_at)
      VALUES (${n.id}, ${n.address}, ${n.version}, ${n.startedAt}, ${n.lastSeenAt})
      ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version,
        started_at = excluded.started_at, last_seen_at = excluded.last_seen_at`;
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (await this.#sql`SELECT * FROM nodes ORDER BY id`).map(toNode);
  }

  async pruneNodes(before: number): Promise<number> {
    return (await this.#sql`DELETE FROM nodes WHERE last_seen_at < ${before}`).count;
  }

  async acquireLease(
    name: string,
    nodeId: string,
    ttlMs: number,
    now: number,
    force: boolean,
  ): Promise<LeaseState> {
    const [row] = await this
      .#sql`INSERT INTO leases (name, holder, expires_at) VALUES (${name}, ${nodeId}, ${now + ttlMs})
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE leases.holder = excluded.holder OR leases.expires_at < ${now} OR ${force}
      RETURNING holder, expires_at`;
    if (row) return { holder: row.holder as string, expiresAt: Number(row.expires_at) };
    return this.getLease(name);
  }

  async releaseLease(name: string, nodeId: string): Promise<void> {
    await this.#sql`DELETE FROM leases WHERE name = ${name} AND holder = ${nodeId}`;
  }

  async getLease(name: string): Promise<LeaseState> {
    const [row] = await this.#sql`SELECT holder, expires_at FROM leases WHERE name = ${name}`;
    return row
      ? { holder: row.holder as string, expiresAt: Number(row.expires_at) }
      : { holder: null, expiresAt: null };
  }

  async upsertWorker(
    w: Omit<WorkerRecord, "draining" | "registeredAt">,
    takeoverBefore: number,
  ): Promise<{ worker: WorkerRecord; previousInstance: string | null } | { taken: true }> {
    // The row lock makes a racing registration wait, then read the instance this one stored.
    return this.#sql.begin(async (sql) => {
      const [before] =
        await sql`SELECT instance, principal, last_seen_at FROM workers WHERE id = ${w.id} FOR UPDATE`;
      if (before && isTaken(before, w.principal, takeoverBefore)) return { taken: true as const };
      const [row] =
        await sql`INSERT INTO workers (id, labels, capacity, running, types, queues, version, instance, principal, registered_at, last_seen_at)
        VALUES (${w.id}, ${sql.json(w.labels)}, ${w.capacity}, ${w.running}, ${sql.json(w.types)},
          ${w.queues === null ? null : sql.json(w.queues)}, ${w.version}, ${w.instance}, ${w.principal}, ${w.lastSeenAt}, ${w.lastSeenAt})
        ON CONFLICT (id) DO UPDATE SET labels = excluded.labels, capacity = excluded.capacity, running = excluded.running,
          types = excluded.types, queues = excluded.queues, version = excluded.version, instance = excluded.instance,
          principal = excluded.principal, last_seen_at = excluded.last_seen_at
        RETURNING *`;
      return { worker: toWorker(row!), previousInstance: (before?.instance as string | null) ?? null };
    });
  }

  async touchWorker(id: string, running: number, now: number): Promise<WorkerRecord | null> {
    const [row] = await this
      .#sql`UPDATE workers SET running = ${running}, last_seen_at = ${now} WHERE id = ${id} RETURNING *`;
    return row ? toWorker(row) : null;
  }

  async getWorker(id: string): Promise<WorkerRecord | null> {
    const [row] = await this.#sql`SELECT * FROM workers WHERE id = ${id}`;
    return row ? toWorker(row) : null;
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return (await this.#sql`SELECT * FROM workers ORDER BY id`).map(toWorker);
  }

  async setWorkerDraining(id: string, draining: boolean, audit?: AuditEntry): Promise<WorkerRecord | null> {
    const [row] = await audited(
      this.#sql,
      audit,
      (tx) => tx`UPDATE workers SET draining = ${draining} WHERE id = ${id} RETURNING *`,
      (rows) => rows.length > 0,
    );
    return row ? toWorker(row) : null;
  }

  async workerTypes(since: number): Promise<string[]> {
    const rows = await this.#sql`SELECT DISTINCT jsonb_array_elements_text(types) AS type FROM workers
      WHERE last_seen_at >= ${since}`;
    return rows.map((r) => r.type as string);
  }

  async pruneWorkers(before: number): Promise<number> {
    return (await this.#sql`DELETE FROM workers WHERE last_seen_at < ${before}`).count;
  }
}

/** Two-key advisory lock: ("Bos", hash of the schema), so clusters in different schemas do not collide. */
export class PgLeaderLock implements LeaderLock {
  readonly #sql: Sql;
  readonly #schema: string;

  constructor(opts: { url: string; schema: string }) {
    // One connection that lives as long as the node: the lock belongs to its session.
    this.#sql = connect({ url: opts.url, schema: opts.schema, max: 1 });
    this.#schema = opts.schema;
  }

  /** True while this session holds the lock; takes it when free. Re-checked every tick: a reconnect loses it. */
  async tryLock(): Promise<boolean> {
    const [row] = await this.#sql`SELECT CASE WHEN EXISTS (
        SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
          AND classid = 4353907 AND objid = hashtext(${this.#schema})::oid AND objsubid = 2)
      THEN true ELSE pg_try_advisory_lock(4353907, hashtext(${this.#schema})) END AS ok`;
    return row?.ok === true;
  }

  async unlock(): Promise<void> {
    await this.#sql`SELECT pg_advisory_unlock_all()`;
    await this.#sql.end({ timeout: 2 });
  }
}
