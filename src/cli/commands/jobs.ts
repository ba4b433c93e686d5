/** Job commands: status, list, logs, cancel, retry, wait. */
import type { Command } from "commander";
import type { ApiJob, JobStatus } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";
import { jobDetails, jobExitCode, jobsTable } from "../output.ts";
import { followUntilDone } from "./follow.ts";

export function register(program: Command, ctx: CliContext): void {
  const print = (cmd: Command, value: unknown, human: () => string) =>
    ctx.io.out(ctx.json(cmd) ? `${JSON.stringify(value, null, 2)}\n` : human());

  program
    .command("status")
    .description("show one job")
    .argument("<id>")
    .action(async (id: string, _f, cmd: Command) => {
      const job = await ctx.client(cmd).get(id);
      print(cmd, job, () => jobDetails(job));
    });

  program
    .command("list")
    .description("list jobs, newest first")
    .option("-s, --status <statuses>", "comma-separated statuses")
    .option("-q, --queue <queue>")
    .option("-t, --type <type>")
    .option("-n, --limit <n>", "jobs per page", "50")
    .option("-a, --all", "every page")
    .action(
      async (
        f: { status?: string; queue?: string; type?: string; limit: string; all?: boolean },
        cmd: Command,
      ) => {
        const client = ctx.client(cmd);
        const q = {
          status: f.status?.split(",") as JobStatus[] | undefined,
          queue: f.queue,
          type: f.type,
          limit: Number(f.limit),
        };
        const items: ApiJob[] = [];
        if (f.all) for await (const j of client.listAll(q)) items.push(j);
        else items.push(...(await client.list(q)).items);
        print(cmd, items, () => (items.length ? jobsTable(items) : "no jobs\n"));
      },
    );

  program
    .command("logs")
    .description("print a job's log")
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
        verb === "cancel" ? "cancel a queued or running job" : "run a failed or cancelled job again",
      )
      .argument("<id>")
      .action(async (id: string, _f, cmd: Command) => {
        const job = await ctx.client(cmd)[verb](id);
        print(cmd, job, () => `${job.id} ${job.status}\n`);
      });
  }

  program
    .command("wait")
    .description("wait until a job ends; exit with its exit code")
    .argument("<id>")
    .option("--timeout <ms>", "give up after this long (exit 124)")
    .action(async (id: string, f: { timeout?: string }, cmd: Command) => {
      const client = ctx.client(cmd);
      try {
        const job = await client.wait(id, {
          timeoutMs: f.timeout === undefined ? undefined : Number(f.timeout),
        });
        print(cmd, job, () => `${job.id} ${job.status}\n`);
        ctx.exitCode = jobExitCode(job);
      } catch (err) {
        if ((err as { code?: string }).code !== "WAIT_TIMEOUT") throw err;
        ctx.io.err(`bosun: ${(err as Error).message}\n`);
        ctx.exitCode = 124;
      }
    });
}
