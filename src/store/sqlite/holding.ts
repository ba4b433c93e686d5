/**
 * When this store may hold claims in memory (soft-claims.ts) and when it must write them: the policy,
 * apart from the store's operations. Holding claims is safe because this store is the file's only
 * writer, which the operating system enforces (store-lock.ts).
 *
 * - Claims are held for `softClaimMs` (500 ms), then written by a timer, so a long job's start is
 *   durable and visible; operations that need one in the file write it first (`harden`).
 * - After a crash (the previous holder left its mark, store-lock.ts) claims are written at once for a
 *   minute: a job that brings the process down then spends its attempts and ends failed instead of
 *   running again and again.
 */
import type { DatabaseSync } from "node:sqlite";
import { change } from "../feed.ts";
import { transaction } from "./database.ts";
import type { FeedStatements } from "./feed.ts";
import type { SoftClaim, SoftClaims } from "./soft-claims.ts";
import type { Statements } from "./statements.ts";

const DEFAULT_SOFT_CLAIM_MS = 500;
const HARD_CLAIMS_AFTER_CRASH_MS = 60_000;
/** How often held claims past the window are written: a claim is written 0–100 ms after its window. */
const HARDEN_TICK_MS = 100;

export class Holding {
  readonly held: SoftClaims;
  readonly #db: DatabaseSync;
  readonly #s: Statements;
  readonly #feed: FeedStatements;
  readonly #softMs: number;
  /** performance.now() from which claims may be held (later after a crash). */
  readonly #softFrom: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    db: DatabaseSync,
    s: Statements,
    feed: FeedStatements,
    opts: { held: SoftClaims; softClaimMs?: number; afterCrash: boolean },
  ) {
    this.held = opts.held;
    this.#db = db;
    this.#s = s;
    this.#feed = feed;
    this.#softMs = opts.softClaimMs ?? DEFAULT_SOFT_CLAIM_MS;
    this.#softFrom = opts.afterCrash ? performance.now() + HARD_CLAIMS_AFTER_CRASH_MS : 0;
    if (this.#softMs > 0) {
      this.#timer = setInterval(() => this.#tick(), HARDEN_TICK_MS);
      this.#timer.unref();
    }
  }

  /** How the next claim goes: held in memory or written. */
  mode(): "hold" | "write" {
    return this.#softMs > 0 && performance.now() >= this.#softFrom ? "hold" : "write";
  }

  /** Writes held claims as ordinary leases; the caller's transaction (if any) includes the write. */
  harden(claims: SoftClaim[]): void {
    if (claims.length === 0) return;
    this.#s.harden.run(
      JSON.stringify(claims.map((c) => [c.seq, c.startedAt, c.workerId, c.leaseUntil, c.lease, c.updatedAt])),
    );
    for (const c of claims) this.held.delete(c.id);
  }

  /** Writes the held claims among these leases, for operations that need them in the file. */
  hardenLeases(items: { jobId: string; lease: string; workerId?: string }[]): void {
    if (this.held.size === 0) return;
    const found: SoftClaim[] = [];
    for (const l of items) {
      const c = this.held.match(l.jobId, l.lease, l.workerId);
      if (c) found.push(c);
    }
    this.harden(found);
  }

  /**
   * Before the connection closes: claims still held are given back (their jobs are `queued` in the file
   * and run again), and the feed says so, or the next open would take them for claims a crash cut short.
   */
  close(now: number): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.held.size === 0) return;
    const claims = [...this.held.values()];
    transaction(this.#db, () =>
      this.#feed.append(
        claims.map((c) => change("release", "running", "queued", { ...c, attempts: c.attempt }, now)),
      ),
    );
    this.held.clear();
  }

  #tick(): void {
    if (!this.#db.isOpen || this.held.size === 0) return;
    try {
      const cutoff = performance.now() - this.#softMs;
      transaction(this.#db, () => this.harden(this.held.select((c) => c.heldSince <= cutoff)));
    } catch {
      // Busy or closing: the claims stay held and the next tick tries again.
    }
  }
}
