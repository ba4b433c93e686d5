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
    if (!this.#validators.has(type))
      throw new BosunError(
        "UNKNOWN_JOB_TYPE",
        `Unknown job type "${type}"; known types: ${this.types().join(", ")}`,
        {
          path: `${path}/type`,
          known: this.types(),
        },
      );
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
