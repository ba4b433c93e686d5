/**
 * Handlers: TypeScript/JavaScript functions registered by type (the SDK's `bosun.define`). Each becomes an
 * Executor. A thrown JobFailure keeps its code (UnrecoverableError fails the job at once); anything else
 * becomes HANDLER_ERROR. A handler that ignores its AbortSignal is abandoned when the signal fires.
 */
import type { TSchema } from "typebox";
import { JobFailure } from "../core/errors.ts";
import type { Claim } from "../core/job.ts";
import type { ExecContext, ExecOutcome, Executor } from "./executor.ts";

export interface HandlerJob<P = unknown> {
  id: string;
  type: string;
  queue: string;
  payload: P;
  attempt: number;
  maxAttempts: number;
}

export interface HandlerContext {
  signal: AbortSignal;
  progress(percent: number): void;
  log(line: string): void;
  workDir(): Promise<string>;
}

export type Handler<P = unknown, R = unknown> = (job: HandlerJob<P>, ctx: HandlerContext) => Promise<R> | R;

const BUILTIN = new Set(["shell", "http", "sleep", "file", "sandbox", "docker"]);

function toFailure(err: unknown): JobFailure {
  if (err instanceof JobFailure) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  return new JobFailure("HANDLER_ERROR", e.message, {
    details: { name: e.name, stack: e.stack?.slice(0, 2048) },
  });
}

class HandlerExecutor implements Executor {
  readonly type: string;
  readonly payloadSchema: TSchema | undefined;
  readonly #fn: Handler;

  constructor(type: string, fn: Handler, payloadSchema?: TSchema) {
    this.type = type;
    this.#fn = fn;
    this.payloadSchema = payloadSchema;
  }

  async run(job: Claim, ctx: ExecContext): Promise<ExecOutcome> {
    const handlerJob: HandlerJob = {
      id: job.id,
      type: job.type,
      queue: job.queue,
      payload: job.payload,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
    };
    const hctx: HandlerContext = {
      signal: ctx.signal,
      progress: (n) => ctx.progress(n),
      log: (line) => ctx.log(line.endsWith("\n") ? line : `${line}\n`),
      workDir: () => ctx.workDir(),
    };
    try {
      const result = await this.#fn(handlerJob, hctx);
      return { result: result === undefined ? null : result };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw toFailure(err);
    }
  }
}

export class HandlerRegistry {
  readonly #handlers = new Map<string, HandlerExecutor>();

  define(type: string, handler: Handler, opts: { payloadSchema?: TSchema } = {}): void {
    if (BUILTIN.has(type))
      throw new Error(`"${type}" is a built-in job type; pick another name for the handler`);
    if (typeof handler !== "function") throw new Error(`The handler for "${type}" must be a function`);
    this.#handlers.set(type, new HandlerExecutor(type, handler, opts.payloadSchema));
  }

  remove(type: string): boolean {
    return this.#handlers.delete(type);
  }

  get(type: string): Executor | undefined {
    return this.#handlers.get(type);
  }

  types(): string[] {
    return [...this.#handlers.keys()];
  }

  executors(): Executor[] {
    return [...this.#handlers.values()];
  }
}
