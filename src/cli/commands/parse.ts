/** Flag parsing shared by the commands: numbers and JSON, with messages that name the flag. */

/** A flag or argument the command cannot use: exit 1 with the message, code USAGE under -o json. */
export class UsageError extends Error {
  readonly code = "USAGE";
}

/** An integer flag, or undefined when absent. */
export function int(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isSafeInteger(n))
    throw new UsageError(`--${flag} must be an integer, got "${raw}"`);
  return n;
}

/** A positive integer flag, or undefined when absent. */
export function positiveInt(flag: string, raw: string | undefined): number | undefined {
  const n = int(flag, raw);
  if (n !== undefined && n < 1) throw new UsageError(`--${flag} must be at least 1, got ${n}`);
  return n;
}

/** A non-negative integer flag (delays), or undefined when absent. */
export function nonNegativeInt(flag: string, raw: string | undefined): number | undefined {
  const n = int(flag, raw);
  if (n !== undefined && n < 0) throw new UsageError(`--${flag} must be 0 or more, got ${n}`);
  return n;
}

export function json(flag: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--${flag} must be JSON: ${(err as Error).message}`);
  }
}
