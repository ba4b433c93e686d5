/**
 * A binary min-heap of (fire time, schedule id): the scheduler looks only at its top, so a tick costs
 * O(fires due · log n), never a scan of every schedule. It also counts entries per fire time, which tells
 * the scheduler how large the batch at the top will be before it starts it (see scheduler.ts, lead time).
 */
export interface Fire {
  time: number;
  scheduleId: string;
  /**
   * Who pushed it. The scheduler drops entries lazily: an entry whose ref is no longer the schedule's
   * current plan is skipped when it reaches the top, instead of an O(n) removal on every change.
   */
  ref?: object;
}

export class FireHeap {
  readonly #a: Fire[] = [];
  readonly #perTime = new Map<number, number>();

  get size(): number {
    return this.#a.length;
  }

  /** How many entries fire at exactly `time`. */
  countAt(time: number): number {
    return this.#perTime.get(time) ?? 0;
  }

  peek(): Fire | undefined {
    return this.#a[0];
  }

  push(f: Fire): void {
    this.#perTime.set(f.time, (this.#perTime.get(f.time) ?? 0) + 1);
    const a = this.#a;
    a.push(f);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.time <= f.time) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = f;
  }

  pop(): Fire | undefined {
    const a = this.#a;
    const top = a[0];
    if (!top) return undefined;
    this.#uncount(top.time);
    const last = a.pop()!;
    if (a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = -1;
      let mt = last.time;
      if (l < a.length && a[l]!.time < mt) {
        m = l;
        mt = a[l]!.time;
      }
      if (r < a.length && a[r]!.time < mt) m = r;
      if (m === -1) break;
      a[i] = a[m]!;
      i = m;
    }
    a[i] = last;
    return top;
  }

  /** Drops every entry of a schedule (it changed or was deleted). O(n), rare. */
  remove(scheduleId: string): void {
    if (!this.#a.some((f) => f.scheduleId === scheduleId)) return;
    const keep = this.#a.filter((f) => f.scheduleId !== scheduleId);
    this.clear();
    for (const f of keep) this.push(f);
  }

  clear(): void {
    this.#a.length = 0;
    this.#perTime.clear();
  }

  #uncount(time: number): void {
    const n = (this.#perTime.get(time) ?? 1) - 1;
    if (n <= 0) this.#perTime.delete(time);
    else this.#perTime.set(time, n);
  }
}
