/**
 * `bosun events`: the change feed of a running server, one line per job change. Without -f it prints the
 * retained changes after --since (default 0: everything the feed still keeps, feedRetentionMs) that match
 * the filters, and exits; with -f it starts now (or after --since) and follows until Ctrl-C. `-o json`
 * prints one message per line (JSON Lines), the API's own shape, so `| jq` works while it follows.
 */
import type { Command } from "commander";
import type { ApiEvent, JobStatus } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";
import { UsageError } from "./parse.ts";

interface EventFlags {
  follow?: boolean;
  queue?: string;
  job?: string;
  type?: string;
  status?: string;
  since?: string;
  logs?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("events")
    .description("print job changes (the change feed); -f follows them live")
    .option("-f, --follow", "keep printing new changes until interrupted")
    .option("-q, --queue <queue>")
    .option("--job <id>", "only this job's changes")
    .option("-t, --type <type>")
    .option("-s, --status <statuses>", "the status after the change, comma-separated")
    .option("--since <seq>", "start after this sequence number (default: 0, or now with -f)")
    .option("--logs", "with --job: the job's log lines too")
    .action(async (f: EventFlags, cmd: Command) => {
      if (f.since !== undefined && !/^[0-9]{1,15}(:[0-9]{1,15})?$/.test(f.since))
        throw new UsageError("--since takes a sequence number (a message's seq)");
      if (f.logs && !f.job) throw new UsageError("--logs needs --job");
      const json = ctx.json(cmd);
      const events = ctx.client(cmd).events({
        since: f.since ?? (f.follow ? undefined : 0),
        follow: f.follow === true,
        queue: f.queue,
        jobId: f.job,
        type: f.type,
        status: f.status?.split(",").map((s) => s.trim()) as JobStatus[] | undefined,
        logs: f.logs,
      });
      for await (const e of events) ctx.io.out(json ? `${JSON.stringify(e)}\n` : line(e));
    });
}

/** `42  12:00:01.250  <job>  claim  queued → running  default/sleep  attempt 1  worker w1`. */
function line(e: ApiEvent): string {
  if (e.kind === "log") return e.data.endsWith("\n") ? e.data : `${e.data}\n`;
  if (e.kind === "progress") return `${e.jobId}  progress ${e.progress}%\n`;
  const parts = [
    String(e.seq),
    e.at,
    e.jobId,
    e.event,
    `${e.from ?? "-"} → ${e.to ?? "removed"}`,
    `${e.queue}/${e.type}`,
  ];
  if (e.attempt > 0) parts.push(`attempt ${e.attempt}`);
  if (e.workerId) parts.push(`worker ${e.workerId}`);
  if (e.code) parts.push(e.code);
  return `${parts.join("  ")}\n`;
}
