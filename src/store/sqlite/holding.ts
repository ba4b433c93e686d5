/**
 * When this store may hold claims in memory (soft-claims.ts) and when it must write them: the policy,
 * apart from the store's operations.
 *
 * - Claims are held for `softClaimMs` (500 ms), then written by a timer, so a long job's start is
 *   durable and visible; operations that need one in the file write it first (`harden`).
 * - After a crash (open-marks.ts) claims are written at once for a minute: a job that brings the
 *   process down then spends its attempts and ends failed instead of running again and again.
 * - On a file another store has open, claims are always written, and a store that joins waits before
 *   its first claim until the others have written theirs.
 */
import type { DatabaseSync } from "node:sqlite";
import { transaction } from "./database.ts";
import { othersOpen, registerOpen, SHARED_CHECK_MS, SHARED_GRACE_MS, unregisterOpen } from "./open-marks.ts";
import { type SoftClaim, SoftClaims } from "./soft-claims.ts";
import type { Statements } from "./statements.ts";

const DEFAULT_SOFT_CLAIM_MS = 500;
const HARD_CLAIMS_AFTER_CRASH_MS = 60_000;

export class Holding {
  readonly held = new SoftClaims();
  /** The last process that had this file open did not close it (it crashed or was killed). */
  readonly recoveredFromCrash: boolean = false;
  readonly #db: DatabaseSync;
  readonly #s: Statements;
  readonly #softMs: number;
  /** performance.now() from which claims may be held (later after a crash). */
  #softFrom = 0;
  /** Another store has the file open: claims are written at once, for good. */
  #shared = false;
  /** performance.now() before which this store claims nothing (it joined a shared file). */
  #claimFrom = 0;
  #mark: string | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(db: DatabaseSync, s: Statements, opts: { file: string; softClaimMs?: number }) {
    this.#db = db;
    this.#s = s;
    this.#softMs = opts.softClaimMs ?? DEFAULT_SOFT_CLAIM_MS;
    if (opts.file !== ":memory:") {
      const { mark, crashed, shared } = registerOpen(s);
      this.#mark = mark;
      this.recoveredFromCrash = crashed;
      if (crashed) this.#softFrom = performance.now() + HARD_CLAIMS_AFTER_CRASH_MS;
      if (shared) this.#share(performance.now() + SHARED_GRACE_MS);
    }
    if (this.#softMs > 0) {
      this.#timer = setInterval(() => this.#tick(), SHARED_CHECK_MS);
      this.#timer.unref();
    }
  }

  /** How the next claim goes: held in memory, written, or not at all yet. */
  mode(): "hold" | "write" | "wait" {
    const at = performance.now();
    if (at < this.#claimFrom) return "wait";
    return this.#softMs > 0 && !this.#shared && at >= this.#softFrom ? "hold" : "write";
  }

  /** Writes held claims as ordinary leases; the caller's transaction (if any) includes the write. */
  harden(claims: SoftClaim[]): void {
    if (claims.length === 0) return;
    this.#s.harden.run(JSON.stringify(claims.map((c) => [c.seq, c.startedAt, c.workerId, c.leaseUntil])));
    for (const c of claims) this.held.delete(c.id);
  }

  /** Writes the held claims among these leases, for operations that need them in the file. */
  hardenLeases(items: { jobId: string; attempt: number }[]): void {
    if (this.held.size === 0) return;
    const found: SoftClaim[] = [];
    for (const l of items) {
      const c = this.held.get(l.jobId);
      if (c && c.attempt === l.attempt) found.push(c);
    }
    this.harden(found);
  }

  /** Before the connection closes: claims still held are forgotten (their jobs are `queued`: they run again). */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.held.clear();
    if (this.#mark && this.#db.isOpen) unregisterOpen(this.#s, this.#mark);
  }

  #tick(): void {
    if (!this.#db.isOpen) return;
    try {
      if (!this.#shared && othersOpen(this.#s)) this.#share(0);
      if (this.held.size === 0) return;
      const cutoff = this.#shared ? Number.POSITIVE_INFINITY : performance.now() - this.#softMs;
      transaction(this.#db, () => this.harden(this.held.select((c) => c.heldSince <= cutoff)));
    } catch {
      // Busy or closing: the claims stay held and the next tick tries again.
    }
  }

  #share(claimFrom: number): void {
    this.#shared = true;
    this.#claimFrom = claimFrom;
  }
}
