/**
 * `bosun submit [options] -- <command…>`: enqueue a job. With --wait it follows the job's log and exits
 * with the job's exit code, so `bosun submit --wait -- make test` can stand in for `make test`.
 */
import type { Command } from "commander";
import type { SubmitJob } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";
import { emit, jobExitCode } from "../output.ts";
import { shellPayload } from "../shell-payload.ts";
import { followUntilDone } from "./follow.ts";
import { int, nonNegativeInt, positiveInt, UsageError } from "./parse.ts";

export interface SubmitFlags {
  type: string;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  timeout?: string;
  delay?: string;
  payload?: string;
  script?: string;
  idempotencyKey?: string;
  tag?: string[];
  constraint?: string[];
  wait?: boolean;
}

/**
 * The request body. For shell jobs the words after `--` become payload.command, each word quoted so that
 * bash runs exactly those words (`-- sh -c 'a; b'` stays three words); `--script <file>` sends the file's
 * text as payload.script instead (jobs run in a directory of their own, so a local path means nothing
 * there). --payload may add other keys (env, say).
 */
export function buildJob(words: string[], f: SubmitFlags): SubmitJob {
  const payload = shellPayload(words, f);
  const job = jobFields(f);
  return payload === undefined ? job : { ...job, payload };
}

/** Everything but the payload. */
function jobFields(f: SubmitFlags): SubmitJob {
  const job: SubmitJob = { type: f.type };
  const set = <K extends keyof SubmitJob>(k: K, v: SubmitJob[K] | undefined) => {
    if (v !== undefined) job[k] = v;
  };
  set("queue", f.queue);
  set("priority", int("priority", f.priority));
  set("maxAttempts", positiveInt("max-attempts", f.maxAttempts));
  set("timeoutMs", positiveInt("timeout", f.timeout));
  set("delayMs", nonNegativeInt("delay", f.delay));
  set("idempotencyKey", f.idempotencyKey);
  set("tags", f.tag?.length ? f.tag : undefined);
  set("constraints", f.constraint?.length ? parseConstraints(f.constraint) : undefined);
  return job;
}

function parseConstraints(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--constraint must be key=value, got "${pair}"`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command, ctx: CliContext): void {
  program
    .command("submit")
    .description("enqueue a job; for shell jobs the words after -- are the command")
    .usage("[options] -- <command...>")
    .argument("[command...]", "the shell command (after --)")
    .option("-t, --type <type>", "job type: shell, http, sleep or a handler name", "shell")
    .option("-q, --queue <queue>", "queue (default: default)")
    .option("-p, --priority <n>", "priority: higher runs first")
    .option("--max-attempts <n>", "attempts before the job fails")
    .option("--timeout <ms>", "hard limit of one attempt")
    .option("--delay <ms>", "start no sooner than this")
    .option("--payload <json>", "the payload as JSON (for shell jobs, extra keys such as env)")
    .option("--script <file>", "a local script file sent as the job's run.sh (payload.script)")
    .option("--idempotency-key <key>", "enqueueing the same key again returns the existing job")
    .option("--tag <tag>", "a tag (repeatable)", collect)
    .option("--constraint <k=v>", "a worker label the job needs (repeatable)", collect)
    .option("-w, --wait", "follow the log and exit with the job's exit code")
    .action(async (words: string[], flags: SubmitFlags, cmd: Command) => {
      const client = ctx.client(cmd);
      const job = await client.submit(buildJob(words, flags));
      if (!flags.wait) return emit(ctx, cmd, { job }, () => `${job.id}\n`);
      // The log goes to stdout untouched (it is the command's output); Bosun's own words go to stderr.
      if (!ctx.json(cmd)) ctx.io.err(`submitted ${job.id}\n`);
      const done = await followUntilDone(client, job.id, ctx, !ctx.json(cmd));
      emit(ctx, cmd, { job: done }, () => "");
      if (!ctx.json(cmd) && done.status !== "completed") {
        const why = done.error ? `: ${done.error.code}: ${done.error.message}` : "";
        ctx.io.err(`bosun: job ${done.id} ${done.status}${why}\n`);
      }
      ctx.exitCode = jobExitCode(done);
    });
}
