/** `sleep`: waits `durationMs` (seed 003's sleep jobs); the simplest executor that honours an abort. */
import { setTimeout as delay } from "node:timers/promises";
import { type Static, Type } from "typebox";
import type { Claim } from "../core/job.ts";
import type { ExecContext, ExecOutcome, Executor } from "./executor.ts";

export const SleepPayload = Type.Object(
  { durationMs: Type.Integer({ minimum: 0, maximum: 7 * 86_400_000 }) },
  { additionalProperties: false },
);

export class SleepExecutor implements Executor {
  readonly type = "sleep";
  readonly payloadSchema = SleepPayload;

  async run(job: Claim, ctx: ExecContext): Promise<ExecOutcome> {
    const { durationMs } = job.payload as Static<typeof SleepPayload>;
    const started = Date.now();
    try {
      await delay(durationMs, undefined, { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw err;
    }
    return { result: { sleptMs: Date.now() - started } };
  }
}
