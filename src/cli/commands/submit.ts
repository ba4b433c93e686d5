/** `bosun submit [options] -- <command…>`: enqueue a job; with --wait, follow its log and exit with its code. */
import type { Command } from "commander";
import type { SubmitJob } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";
import { jobExitCode } from "../output.ts";
import { followUntilDone } from "./follow.ts";

interface SubmitFlags {
  type: string;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  timeout?: string;
  delay?: string;
  payload?: string;
  idempotencyKey?: string;
  tag?: string[];
  constraint?: string[];
  wait?: boolean;
}

const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${v}"`);
  return n;
};

export function buildJob(words: string[], f: SubmitFlags): SubmitJob {
  let payload: unknown;
  if (f.payload !== undefined) {
    try {
      payload = JSON.parse(f.payload);
    } catch {
      throw new Error("--payload must be JSON");
    }
  } else if (f.type === "shell") {
    if (words.length === 0) throw new Error("give the command after --, e.g. bosun submit -- echo hello");
    payload = { command: words.join(" ") };
  }
  const constraints = f.constraint?.length
    ? Object.fromEntries(f.constraint.map((c) => c.split("=", 2) as [string, string]))
    : undefined;
  const job: SubmitJob = { type: f.type, payload };
  const set = <K extends keyof SubmitJob>(k: K, v: SubmitJob[K] | undefined) => {
    if (v !== undefined) job[k] = v;
  };
  set("queue", f.queue);
  set("priority", int("priority", f.priority));
  set("maxAttempts", int("max-attempts", f.maxAttempts));
  set("timeoutMs", int("timeout", f.timeout));
  set("delayMs", int("delay", f.delay));
  set("idempotencyKey", f.idempotencyKey);
  set("tags", f.tag?.length ? f.tag : undefined);
  set("constraints", constraints);
  return job;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command, ctx: CliContext): void {
  program
    .command("submit")
    .description("enqueue a job; for shell jobs the words after -- are the command")
    .argument("[command...]", "the shell command (after --)")
    .option("-t, --type <type>", "job type", "shell")
    .option("-q, --queue <queue>", "queue")
    .option("-p, --priority <n>", "priority: higher runs first")
    .option("--max-attempts <n>", "attempts before the job fails")
    .option("--timeout <ms>", "hard limit of one attempt")
    .option("--delay <ms>", "start no sooner than this")
    .option("--payload <json>", "the payload as JSON (for non-shell types)")
    .option("--idempotency-key <key>", "enqueueing the same key again returns the existing job")
    .option("--tag <tag>", "a tag (repeatable)", collect)
    .option("--constraint <k=v>", "a worker label the job needs (repeatable)", collect)
    .option("-w, --wait", "follow the log and exit with the job's exit code")
    .action(async (words: string[], flags: SubmitFlags, cmd: Command) => {
      const client = ctx.client(cmd);
      const job = await client.submit(buildJob(words, flags));
      if (!flags.wait) {
        ctx.io.out(ctx.json(cmd) ? `${JSON.stringify(job, null, 2)}\n` : `${job.id}\n`);
        return;
      }
      if (!ctx.json(cmd)) ctx.io.err(`submitted ${job.id}\n`);
      const done = await followUntilDone(client, job.id, ctx, !ctx.json(cmd));
      if (ctx.json(cmd)) ctx.io.out(`${JSON.stringify(done, null, 2)}\n`);
      else if (done.status !== "completed")
        ctx.io.err(`job ${done.id} ${done.status}: ${done.error?.code ?? ""} ${done.error?.message ?? ""}\n`);
      ctx.exitCode = jobExitCode(done);
    });
}
