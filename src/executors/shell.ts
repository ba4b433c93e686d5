/**
 * `shell`: `{command}` run by bash, or `{script}` written to `run.sh` in the attempt's working directory
 * and run as `bash run.sh` (seed 000's run.sh jobs). stdout and stderr stream to the job's log line by
 * line; the result keeps their tails. A non-zero exit fails the attempt (EXIT_NONZERO); an abort (timeout,
 * cancellation, shutdown) kills the whole process group, and so does the death of the worker
 * (attempt-supervisor.ts). The processes get an explicit environment (job-env.ts), never the worker's.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Static, Type } from "typebox";
import { JobFailure } from "../core/errors.ts";
import type { Claim } from "../core/job.ts";
import { spawnSupervised } from "./attempt-supervisor.ts";
import type { ExecContext, ExecOutcome, Executor } from "./executor.ts";
import { JobEnvSchema, jobEnvironment, MINIMAL_JOB_ENV } from "./job-env.ts";
import { killGroup, terminateGroup } from "./process-group.ts";
import { LineSplitter, TailBuffer } from "./tail-buffer.ts";

/** Characters of stdout and stderr kept in the result (the full output is in the log). */
export const OUTPUT_TAIL_CHARS = 4096;
/** Between SIGTERM and SIGKILL of an aborted attempt's process group. */
export const KILL_GRACE_MS = 2000;

const Env = Type.Optional(JobEnvSchema);
export const ShellPayload = Type.Union([
  Type.Object({ command: Type.String({ minLength: 1 }), env: Env }, { additionalProperties: false }),
  Type.Object({ script: Type.String({ minLength: 1 }), env: Env }, { additionalProperties: false }),
]);
type ShellPayload = Static<typeof ShellPayload>;

export interface ShellExecutorOptions {
  /** The base of the jobs' environment: config's jobEnvInherited (PATH, LANG, TZ, allow-listed names). */
  inheritedEnv?: Readonly<Record<string, string>>;
}

export class ShellExecutor implements Executor {
  readonly type = "shell";
  readonly payloadSchema = ShellPayload;
  readonly #inheritedEnv: Readonly<Record<string, string>>;

  constructor(opts: ShellExecutorOptions = {}) {
    this.#inheritedEnv = opts.inheritedEnv ?? MINIMAL_JOB_ENV;
  }

  async run(job: Claim, ctx: ExecContext): Promise<ExecOutcome> {
    const payload = job.payload as ShellPayload;
    const cwd = await ctx.workDir();
    const env = jobEnvironment(job, cwd, this.#inheritedEnv, payload.env);
    let command: string;
    if ("script" in payload) {
      await writeFile(join(cwd, "run.sh"), payload.script, { mode: 0o755 });
      command = "exec bash run.sh"; // a second bash, but the script's $0, status and signals are its own
    } else {
      command = payload.command;
    }
    ctx.signal.throwIfAborted();
    const child = await spawnSupervised(command, { cwd, env });
    const tails = { stdout: new TailBuffer(OUTPUT_TAIL_CHARS), stderr: new TailBuffer(OUTPUT_TAIL_CHARS) };
    // "exit" (not "close"): a background child holding the pipes open must not keep the attempt alive.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        child.once("error", (error) => resolve({ code: null, signal: null, error }));
        child.once("exit", (code, signal) => resolve({ code, signal }));
      },
    );
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    for (const stream of ["stdout", "stderr"] as const) {
      const lines = new LineSplitter((line) => ctx.log(line, stream));
      child[stream].setEncoding("utf8");
      child[stream].on("data", (chunk: string) => {
        tails[stream].push(chunk);
        lines.push(chunk);
      });
      child[stream].on("end", () => lines.end());
    }
    const onAbort = () => void terminateGroup(child.pid, exited, KILL_GRACE_MS);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    if (ctx.signal.aborted) onAbort(); // aborted while the supervisor was being read
    const { code, signal, error } = await exited.finally(() =>
      ctx.signal.removeEventListener("abort", onAbort),
    );
    // The main process is done; background children it left behind must not outlive the attempt.
    killGroup(child.pid, "SIGKILL");
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (error) throw new JobFailure("SPAWN_FAILED", `Could not start bash: ${error.message}`);
    const result = { exitCode: code, stdout: tails.stdout.toString(), stderr: tails.stderr.toString() };
    if (code === 0) return { result, exitCode: 0 };
    const message =
      code === null ? `The command was killed by ${signal}` : `The command exited with status ${code}`;
    throw new JobFailure("EXIT_NONZERO", message, {
      exitCode: code,
      details: { exitCode: code, signal, stdout: result.stdout, stderr: result.stderr },
    });
  }
}
