/**
 * Per-attempt working directories under the worker's work root. Created on first use only (a no-op
 * handler never touches the disk), removed when the attempt ends.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Claim } from "../core/job.ts";

export class AttemptDirs {
  readonly #root: string;
  readonly #made = new Set<string>();

  constructor(root: string) {
    this.#root = root;
  }

  #path(claim: Claim): string {
    return join(this.#root, `${claim.id}.${claim.attempt}`);
  }

  async create(claim: Claim): Promise<string> {
    const dir = this.#path(claim);
    if (!this.#made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.#made.add(dir);
    }
    return dir;
  }

  /** Whether this attempt made a directory (cheap: no path is built while none exists). */
  holds(claim: Claim): boolean {
    return this.#made.size > 0 && this.#made.has(this.#path(claim));
  }

  async remove(claim: Claim): Promise<void> {
    const dir = this.#path(claim);
    if (!this.#made.delete(dir)) return;
    await rm(dir, { recursive: true, force: true });
  }
}
