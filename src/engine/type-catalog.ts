/**
 * Which job types exist and what their payloads look like. A type is known when a local executor or
 * handler provides it, or when a remote worker registered with it. Enqueueing an unknown type is a 400
 * (UNKNOWN_JOB_TYPE) instead of a job that waits forever for a worker that will never come.
 */
import type { TSchema } from "typebox";
import { Compile, type Validator } from "typebox/compile";
import { BosunError } from "../core/errors.ts";

export class TypeCatalog {
  readonly #validators = new Map<string, Validator | null>();
  /** An error lists this many types at most: 20 workers' types once made a 4.4 MB error body. */
  readonly #maxListed: number;

  constructor(opts: { maxListed?: number } = {}) {
    this.#maxListed = opts.maxListed ?? 50;
  }

  /** Registers types; a schema, when given, validates payloads at enqueue time. */
  add(type: string, payloadSchema?: TSchema): void {
    if (payloadSchema) this.#validators.set(type, Compile(payloadSchema));
    else if (!this.#validators.has(type)) this.#validators.set(type, null);
  }

  remove(type: string): void {
    this.#validators.delete(type);
  }

  has(type: string): boolean {
    return this.#validators.has(type);
  }

  types(): string[] {
    return [...this.#validators.keys()].sort();
  }

  /** Throws UNKNOWN_JOB_TYPE or VALIDATION_FAILED (with per-field problems under `path`). */
  check(type: string, payload: unknown, path = ""): void {
    if (!this.#validators.has(type)) {
      const all = this.types();
      const known = all.slice(0, this.#maxListed);
      const more = all.length - known.length;
      throw new BosunError(
        "UNKNOWN_JOB_TYPE",
        `Unknown job type "${type.slice(0, 200)}"; known types: ${known.join(", ")}${more > 0 ? ` and ${more} more` : ""}`,
        { path: `${path}/type`, known, more },
      );
    }
    const v = this.#validators.get(type);
    if (!v || v.Check(payload)) return;
    const problems = [...v.Errors(payload)].map((e) => ({
      path: `${path}/payload${e.instancePath}`,
      message: e.message,
    }));
    throw new BosunError(
      "VALIDATION_FAILED",
      `Invalid payload for type "${type}": ${problems[0]?.path} ${problems[0]?.message}`,
      problems,
    );
  }
}
