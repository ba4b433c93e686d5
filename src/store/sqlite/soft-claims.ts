/**
 * Claims the SQLite store holds in memory before it writes them ("soft" claims).
 *
 * Why: on the embedded backend this process is the only writer, so nobody else needs to see a claim in
 * the file to avoid taking the same job. A short job then costs one row write (queued → completed)
 * instead of two (queued → running → completed). Measured (docs/benchmarks.md): writing every claim at
 * once drains 40–45% slower, and the cheapest written claim we could build (one bound UPDATE per batch,
 * no RETURNING, a per-row completion, one index fewer) still 25–37% slower.
 * A claim is written ("hardened") once it has been held for the window (the job is long enough that
 * its start should be durable and visible to other readers of the file), and before anything that needs
 * it in the file: failure, cancel, progress, lease expiry, a dead worker.
 *
 * What changes: a crash loses soft claims, so their jobs are still `queued` in the file; the change feed
 * has their claims and the store's recovery turns them into attempts (sqlite-store.ts). Readers never
 * see the difference: every read on this connection goes through the `jobs` view (jobs-view.ts), which
 * shows these claims as the running jobs they are, in SQL, so no reader has to know about them.
 */
import type { JobState } from "../../core/job.ts";
import { ReadyFloor } from "./ready-floor.ts";

export interface SoftClaim {
  seq: number;
  id: string;
  queue: string;
  type: string;
  owner: string;
  maxAttempts: number;
  scheduleId: string | null;
  scheduledTime: number | null;
  runAt: number;
  priority: number;
  workerId: string;
  attempt: number;
  /** The claim's token (Claim.lease). */
  lease: string;
  /** The claim's `now` (store clock): written as started_at. */
  startedAt: number;
  leaseUntil: number;
  /** The last time the claim changed (claimed, heartbeat): the row's updated_at once written. */
  updatedAt: number;
  /** performance.now() when claimed: the hardening window runs on the monotonic clock. */
  heldSince: number;
}

export class SoftClaims {
  readonly #byId = new Map<string, SoftClaim>();
  /** Where claims may start reading the ready index: past the rows held here. */
  readonly floor = new ReadyFloor();
  #seqsJson: string | null = "[]";
  #rowsJson: string | null = "[]";

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): SoftClaim | undefined {
    return this.#byId.get(id);
  }

  /**
   * The claim for this lease, if it is soft and current. With `workerId` (the ends of attempts), only the
   * worker the claim went to holds it: a token seen by someone else names no lease of theirs.
   */
  match(jobId: string, lease: string, workerId?: string): SoftClaim | undefined {
    const c = this.#byId.get(jobId);
    return c && c.lease === lease && (workerId === undefined || c.workerId === workerId) ? c : undefined;
  }

  add(c: SoftClaim): void {
    this.#byId.set(c.id, c);
    this.#changed();
  }

  delete(id: string): void {
    if (this.#byId.delete(id)) this.#changed();
  }

  /** A heartbeat of a held claim: its lease runs longer. */
  renew(c: SoftClaim, leaseUntil: number, now: number): void {
    c.leaseUntil = leaseUntil;
    c.updatedAt = now;
    this.#rowsJson = null;
  }

  values(): IterableIterator<SoftClaim> {
    return this.#byId.values();
  }

  select(pred: (c: SoftClaim) => boolean): SoftClaim[] {
    const out: SoftClaim[] = [];
    for (const c of this.#byId.values()) if (pred(c)) out.push(c);
    return out;
  }

  /**
   * The held rows' seqs as a JSON array: the claim query's exclusion list, and the rows the `jobs` view
   * leaves out of the file's side (cached between changes).
   */
  seqsJson(): string {
    this.#seqsJson ??= JSON.stringify(Array.from(this.#byId.values(), (c) => c.seq));
    return this.#seqsJson;
  }

  /**
   * What the `jobs` view overlays on each held row (jobs-view.ts): a JSON array per claim of its
   * ROW_FIELDS values; cached between changes, built only when something reads.
   */
  rowsJson(): string {
    this.#rowsJson ??= JSON.stringify(
      Array.from(this.#byId.values(), (c) => ROW_FIELDS.map(([, value]) => value(c))),
    );
    return this.#rowsJson;
  }

  clear(): void {
    this.floor.reset();
    this.#byId.clear();
    this.#seqsJson = "[]";
    this.#rowsJson = "[]";
  }

  #changed(): void {
    this.#seqsJson = null;
    this.#rowsJson = null;
  }
}

/**
 * The columns of a held claim's row in rowsJson, by position: its seq and id (to find the row), then what
 * the claim changes as claimMany would write it (statements.ts; status and progress are constants there).
 */
export const ROW_FIELDS: readonly (readonly [column: string, value: (c: SoftClaim) => string | number])[] = [
  ["seq", (c) => c.seq],
  ["id", (c) => c.id],
  ["attempts", (c) => c.attempt],
  ["worker_id", (c) => c.workerId],
  ["started_at", (c) => c.startedAt],
  ["updated_at", (c) => c.updatedAt],
  ["lease_expires_at", (c) => c.leaseUntil],
  ["lease_token", (c) => c.lease],
];

/** The state a completion wrote, built from what the claim read (the write returns nothing: cheaper). */
export function completedState(c: SoftClaim, finishedAt: number): JobState {
  return {
    id: c.id,
    queue: c.queue,
    type: c.type,
    status: "completed",
    attempts: c.attempt,
    maxAttempts: c.maxAttempts,
    owner: c.owner,
    workerId: c.workerId,
    scheduleId: c.scheduleId,
    scheduledTime: c.scheduledTime,
    runAt: c.runAt,
    startedAt: c.startedAt,
    finishedAt,
    error: null,
  };
}
