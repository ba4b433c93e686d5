/** Job commands of a running server: status, list, logs, cancel, retry, wait. */
import type { Command } from "commander";
import { BosunWaitTimeoutError } from "../../sdk/client.ts";
import type { ApiJob, JobStatus } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";
import { attemptsTable, emit, jobDetails, jobExitCode, jobsTable, printError } from "../output.ts";
import { followUntilDone } from "./follow.ts";
import { positiveInt } from "./parse.ts";

interface ListFlags {
  status?: string;
  queue?: string;
  type?: string;
  limit: string;
  cursor?: string;
  all?: boolean;
}

// The server's largest page (GET /jobs caps limit at 500).
const MAX_PAGE = 500;

export function register(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("show one job and its attempts")
    .argument("<id>")
    .action(async (id: string, _f, cmd: Command) => {
      const client = ctx.client(cmd);
      const job = await client.get(id);
      const attempts = await client.attempts(id);
      emit(
        ctx,
        cmd,
        { job, attempts },
        () => jobDetails(job) + (attempts.length ? `\n${attemptsTable(attempts)}` : ""),
      );
    });

  program
    .command("list")
    .description("list jobs, newest first")
    .option("-s, --status <statuses>", "comma-separated, e.g. failed,cancelled")
    .option("-q, --queue <queue>")
    .option("-t, --type <type>")
    .option("-n, --limit <n>", "how many jobs", "50")
    .option("--cursor <cursor>", "continue after a previous page (its nextCursor)")
    .option("-a, --all", "every matching job, however many")
    .action(async (f: ListFlags, cmd: Command) => {
      const client = ctx.client(cmd);
      const want = f.all ? Number.POSITIVE_INFINITY : positiveInt("limit", f.limit)!;
      const query = {
        status: f.status?.split(",").map((s) => s.trim()) as JobStatus[] | undefined,
        queue: f.queue,
        type: f.type,
      };
      const items: ApiJob[] = [];
      let cursor = f.cursor;
      do {
        const limit = Math.min(MAX_PAGE, want - items.length);
        const page = await client.list({ ...query, limit, cursor });
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor && items.length < want);
      // The JSON keeps the server's page shape so a script can continue from nextCursor.
      emit(ctx, cmd, { items, nextCursor: cursor ?? null }, () => {
        if (cursor) ctx.io.err(`more jobs: --cursor ${cursor} for the next page, --all for every one\n`);
        return items.length ? jobsTable(items) : "no jobs\n";
      });
    });

  program
    .command("logs")
    .description("print a job's log (stdout and stderr of shell jobs)")
    .argument("<id>")
    .option("-f, --follow", "keep printing until the job ends")
    .action(async (id: string, f: { follow?: boolean }, cmd: Command) => {
      const client = ctx.client(cmd);
      if (f.follow) await followUntilDone(client, id, ctx, true);
      else ctx.io.out(await client.logs(id));
    });

  for (const verb of ["cancel", "retry"] as const) {
    program
      .command(verb)
      .description(
        verb === "cancel"
          ? "cancel a job that has not ended (a running one is stopped)"
          : "run a failed or cancelled job again",
      )
      .argument("<id>")
      .action(async (id: string, _f, cmd: Command) => {
        const job = await ctx.client(cmd)[verb](id);
        emit(ctx, cmd, { job }, () => `${job.id} ${job.status}\n`);
      });
  }

  program
    .command("wait")
    .description("wait until a job ends; exit with its exit code (a shell job's own)")
    .argument("<id>")
    .option("--timeout <ms>", "give up after this long, exit 124 (the job keeps running)")
    .action(async (id: string, f: { timeout?: string }, cmd: Command) => {
      try {
        const job = await ctx.client(cmd).wait(id, { timeoutMs: positiveInt("timeout", f.timeout) });
        emit(ctx, cmd, { job }, () => `${job.id} ${job.status}\n`);
        ctx.exitCode = jobExitCode(job);
      } catch (err) {
        if (!(err instanceof BosunWaitTimeoutError)) throw err;
        printError(ctx, err.code, err.message);
        // 124 is what timeout(1) exits with: scripts already know it.
        ctx.exitCode = 124;
      }
    });
}
