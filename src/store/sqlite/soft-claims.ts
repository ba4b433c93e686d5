/**
 * Claims the SQLite store holds in memory before it writes them ("soft" claims).
 *
 * Why: on the embedded backend this process is the only writer, so nobody else needs to see a claim in
 * the file to avoid taking the same job. A short job then costs one row write (queued → completed)
 * instead of two (queued → running → completed) — the claim write was ~40% of SQLite's work per job.
 * A claim is written ("hardened") once it has been held for the window (the job is long enough that
 * its start should be durable and visible to other readers of the file), and before anything that needs
 * it in the file: failure, cancel, progress, lease expiry, a dead worker.
 *
 * What changes: a crash loses soft claims, so their jobs are still `queued` and run again — at the
 * same attempt number rather than the next (at-least-once either way). Readers of this store see soft
 * claims as running: get, list, counts and heartbeats overlay them (see sqlite-store.ts).
 */
import type { Job, JobState } from "../../core/job.ts";
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

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): SoftClaim | undefined {
    return this.#byId.get(id);
  }

  /** The claim for this lease, if it is soft and current. */
  match(jobId: string, lease: string): SoftClaim | undefined {
    const c = this.#byId.get(jobId);
    return c && c.lease === lease ? c : undefined;
  }

  add(c: SoftClaim): void {
    this.#byId.set(c.id, c);
    this.#seqsJson = null;
  }

  delete(id: string): void {
    if (this.#byId.delete(id)) this.#seqsJson = null;
  }

  values(): IterableIterator<SoftClaim> {
    return this.#byId.values();
  }

  select(pred: (c: SoftClaim) => boolean): SoftClaim[] {
    const out: SoftClaim[] = [];
    for (const c of this.#byId.values()) if (pred(c)) out.push(c);
    return out;
  }

  /** The held rows' seqs as a JSON array, the claim query's exclusion list (cached between changes). */
  seqsJson(): string {
    this.#seqsJson ??= JSON.stringify(Array.from(this.#byId.values(), (c) => c.seq));
    return this.#seqsJson;
  }

  clear(): void {
    this.floor.reset();
    this.#byId.clear();
    this.#seqsJson = "[]";
  }
}

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

/** A row read from the file (still `queued`) as the running job it is. */
export function asRunning(job: Job, c: SoftClaim): Job {
  return {
    ...job,
    status: "running",
    attempts: c.attempt,
    workerId: c.workerId,
    startedAt: c.startedAt,
    updatedAt: c.updatedAt,
    leaseExpiresAt: c.leaseUntil,
    progress: null,
  };
}

/** A job as readers must see it: running if its claim is held. */
export function seen(job: Job, held: SoftClaims): Job {
  const c = held.get(job.id);
  return c ? asRunning(job, c) : job;
}
