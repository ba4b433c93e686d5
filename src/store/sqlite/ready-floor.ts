/**
 * Where a claim's scan of the ready index may start. Claims held in memory (soft-claims.ts) are still
 * `queued` in the file, at the head of the ready order, so a scan from the top re-reads them and must
 * exclude them on every claim (about a third of the scan's cost with a full pool and prefetch).
 *
 * Invariant: every `queued` row before the floor in claim order (priority DESC, seq) is held. A claim
 * that took a prefix of what it read moves the floor past it; anything that makes a row `queued` ahead
 * of the floor (an enqueue with a higher priority or a reused seq, a release, a retry, a promotion, a
 * failed attempt queued again) drops it. As a backstop against a path that was missed, the floor is
 * also dropped after a second, and a claim that finds the rows after the floor too few to fill its
 * slots reads again from the top.
 */
const MAX_AGE_MS = 1000;
/** Distinct worker filters seen at once are few; past this many, forget them all rather than grow. */
const MAX_FILTERS = 64;

export interface FloorPosition {
  priority: number;
  seq: number;
}

/**
 * One floor per worker filter (queues and types, as the claim passes them to SQL): a filtered scan leaves
 * the other rows unread and unheld, so its floor says nothing about them.
 */
export class ReadyFloor {
  readonly #floors = new Map<string, { at: FloorPosition; setAt: number }>();

  get(filter: string): FloorPosition | null {
    const f = this.#floors.get(filter);
    if (!f) return null;
    if (performance.now() - f.setAt > MAX_AGE_MS) {
      this.#floors.delete(filter);
      return null;
    }
    return f.at;
  }

  /** The matching rows before `at` are all held; a floor that only moves forward keeps its age. */
  set(filter: string, at: FloorPosition): void {
    const f = this.#floors.get(filter);
    if (f) f.at = at;
    else {
      if (this.#floors.size >= MAX_FILTERS) this.#floors.clear();
      this.#floors.set(filter, { at, setAt: performance.now() });
    }
  }

  /** A row became `queued`: floors it sorts before no longer hold. */
  queued(priority: number, seq: number): void {
    for (const [filter, { at }] of this.#floors)
      if (priority > at.priority || (priority === at.priority && seq < at.seq)) this.#floors.delete(filter);
  }

  reset(): void {
    this.#floors.clear();
  }
}

/** Whether a row at (priority, seq) is at or after the floor in claim order. */
export const atOrAfter = (f: FloorPosition, priority: number, seq: number): boolean =>
  priority < f.priority || (priority === f.priority && seq >= f.seq);
