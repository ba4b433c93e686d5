/** A binary min-heap of (fire time, schedule id): the scheduler looks only at its top. */
export interface Fire {
  time: number;
  scheduleId: string;
}

export class FireHeap {
  readonly #a: Fire[] = [];

  get size(): number {
    return this.#a.length;
  }

  peek(): Fire | undefined {
    return this.#a[0];
  }

  push(f: Fire): void {
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
    const last = a.pop();
    if (a.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        const mt = () => (m === i ? last.time : a[m]!.time);
        if (l < a.length && a[l]!.time < mt()) m = l;
        if (r < a.length && a[r]!.time < mt()) m = r;
        if (m === i) break;
        a[i] = a[m]!;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }

  /** Drops every entry of a schedule (it changed or was deleted). O(n), rare. */
  remove(scheduleId: string): void {
    const keep = this.#a.filter((f) => f.scheduleId !== scheduleId);
    this.#a.length = 0;
    for (const f of keep) this.push(f);
  }

  clear(): void {
    this.#a.length = 0;
  }
}
