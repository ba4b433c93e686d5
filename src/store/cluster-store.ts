/**
 * Cluster state kept in the shared database: server nodes, the leader lease, and the registry of workers.
 * Consensus is the database's: a lease row with a TTL (plus, on PostgreSQL, an advisory lock held by the
 * leader's session) decides who runs the singleton loops; nothing here is a protocol of our own.
 */
import type { AuditEntry } from "./identity-store.ts";

export interface NodeRecord {
  id: string;
  address: string;
  version: string;
  startedAt: number;
  lastSeenAt: number;
}

export interface WorkerRecord {
  id: string;
  labels: Record<string, string>;
  capacity: number;
  running: number;
  types: string[];
  queues: string[] | null;
  draining: boolean;
  version: string | null;
  /** Random id of the worker process that registered last (null: a worker that sends none). */
  instance: string | null;
  /** The credential (API key or user) that registered it: only that one speaks for this worker id. */
  principal: string | null;
  registeredAt: number;
  lastSeenAt: number;
}

export interface LeaseState {
  holder: string | null;
  expiresAt: number | null;
}

export interface ClusterStore {
  heartbeatNode(node: NodeRecord): Promise<void>;
  listNodes(): Promise<NodeRecord[]>;
  /** Removes nodes not seen since `before`. */
  pruneNodes(before: number): Promise<number>;

  /**
   * Takes the named lease for `nodeId` when it is free, expired, already ours, or `force` is set (the
   * caller holds the advisory lock, so the previous holder is dead). Returns the holder afterwards.
   */
  acquireLease(name: string, nodeId: string, ttlMs: number, now: number, force: boolean): Promise<LeaseState>;
  releaseLease(name: string, nodeId: string): Promise<void>;
  getLease(name: string): Promise<LeaseState>;

  /**
   * Registers a worker or updates its registration. `previousInstance` is the instance stored before this
   * call (null when the worker is new or sent none), read in the same transaction so that two
   * registrations cannot both miss a change of process. `taken`: the id belongs to a live worker of
   * another principal, and nothing changed.
   */
  upsertWorker(
    w: Omit<WorkerRecord, "draining" | "registeredAt">,
    /** An id registered by another principal is taken over only when not seen since this time. */
    takeoverBefore: number,
  ): Promise<{ worker: WorkerRecord; previousInstance: string | null } | { taken: true }>;
  /** Heartbeat of a worker; null when it is not registered (it must register again). */
  touchWorker(id: string, running: number, now: number): Promise<WorkerRecord | null>;
  getWorker(id: string): Promise<WorkerRecord | null>;
  listWorkers(): Promise<WorkerRecord[]>;
  /**
   * null when no such worker. `audit` is written in the same transaction, and only when the worker exists
   * (as store.ts says of every audited change).
   */
  setWorkerDraining(id: string, draining: boolean, audit?: AuditEntry): Promise<WorkerRecord | null>;
  /** Job types advertised by registered workers seen since `since`. */
  workerTypes(since: number): Promise<string[]>;
  /** Forgets workers not seen since `before`. */
  pruneWorkers(before: number): Promise<number>;
}
