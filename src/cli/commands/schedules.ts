/** `bosun schedules add|list|show|pause|resume|trigger|rm`: cron schedules from the command line. */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { ago, emit, table } from "../output.ts";
import { shellPayload } from "../shell-payload.ts";
import { int } from "./parse.ts";

interface AddFlags {
  name?: string;
  tz: string;
  type: string;
  payload?: string;
  script?: string;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  timeout?: string;
  overlap?: string;
  catchUp?: string;
  catchUpWindow?: string;
  paused?: boolean;
  alertUrl?: string;
  alertSecret?: string;
}

export function register(program: Command, ctx: CliContext): void {
  const sch = program.command("schedules").description("manage cron schedules");

  sch
    .command("add")
    .description('add a schedule: bosun schedules add "*/5 * * * *" -- ./backup.sh')
    .argument("<cron>", "5 or 6 fields (seconds first), or @hourly, @daily…")
    .argument("[command...]", "for shell jobs: the command after --")
    .option("--name <name>")
    .option("--tz <zone>", "IANA time zone", "UTC")
    .option("-t, --type <type>", "job type", "shell")
    .option("--payload <json>", "payload for non-shell types (for shell jobs, extra keys such as env)")
    .option("--script <file>", "a local script file sent as the job's run.sh (payload.script)")
    .option("-q, --queue <queue>")
    .option("--priority <n>", "higher runs first")
    .option("--max-attempts <n>")
    .option("--timeout <ms>")
    .option("--overlap <mode>", "allow | skip | queue")
    .option("--catch-up <mode>", "none | latest | all")
    .option("--catch-up-window <ms>", "how far back missed fires are caught up")
    .option("--paused")
    .option("--alert-url <url>", "webhook called when a run fails for good")
    .option("--alert-secret <secret>", "signs the webhook call (X-Bosun-Signature)")
    .action(async (cron: string, words: string[], f: AddFlags, cmd: Command) => {
      const job: Record<string, unknown> = { type: f.type, payload: shellPayload(words, f) };
      if (f.queue) job.queue = f.queue;
      if (f.priority !== undefined) job.priority = int("priority", f.priority);
      if (f.maxAttempts !== undefined) job.maxAttempts = int("max-attempts", f.maxAttempts);
      if (f.timeout !== undefined) job.timeoutMs = int("timeout", f.timeout);
      const body: Record<string, unknown> = { cron, timezone: f.tz, job };
      if (f.name) body.name = f.name;
      if (f.overlap) body.overlap = f.overlap;
      if (f.catchUp) body.catchUp = f.catchUp;
      if (f.catchUpWindow !== undefined) body.catchUpWindowMs = int("catch-up-window", f.catchUpWindow);
      if (f.paused) body.paused = true;
      if (f.alertUrl)
        body.alert = { webhookUrl: f.alertUrl, ...(f.alertSecret ? { secret: f.alertSecret } : {}) };
      const s = await ctx.client(cmd).createSchedule(body);
      emit(ctx, cmd, { schedule: s }, () => `${s.id}\nnext: ${s.nextRuns.slice(0, 3).join(", ")}\n`);
    });

  sch
    .command("list")
    .description("list schedules")
    .action(async (_f, cmd: Command) => {
      const items = await ctx.client(cmd).schedules();
      emit(ctx, cmd, { items }, () =>
        items.length === 0
          ? "no schedules\n"
          : table(
              ["ID", "NAME", "CRON", "TZ", "TYPE", "STATE", "NEXT RUN", "LAST FIRE"],
              items.map((s) => [
                s.id,
                s.name ?? "-",
                s.cron,
                s.timezone,
                s.job.type,
                s.paused ? "paused" : "active",
                s.nextRuns[0] ?? "-",
                ago(s.lastFireTime),
              ]),
            ),
      );
    });

  sch
    .command("show")
    .description("a schedule and its latest runs")
    .argument("<id>")
    .action(async (id: string, _f, cmd: Command) => {
      const client = ctx.client(cmd);
      const [s, runs] = await Promise.all([client.schedule(id), client.scheduleRuns(id)]);
      emit(ctx, cmd, { schedule: s, runs }, () => {
        const head = `${s.id}  ${s.name ?? ""}\ncron ${s.cron} (${s.timezone}), ${s.paused ? "paused" : "active"}, overlap ${s.overlap}, catch-up ${s.catchUp}\njob ${JSON.stringify(s.job)}\nnext ${s.nextRuns.join(", ") || "-"}\n\n`;
        return (
          head +
          (runs.length === 0
            ? "no runs yet\n"
            : table(
                ["SCHEDULED", "STATUS", "ATTEMPTS", "HTTP", "DURATION", "ERROR", "JOB"],
                runs.map((r) => [
                  r.scheduledTime ?? "(manual)",
                  r.status,
                  String(r.attempts),
                  r.httpStatus === null ? "-" : String(r.httpStatus),
                  r.durationMs === null ? "-" : `${r.durationMs} ms`,
                  r.error?.code ?? "",
                  r.jobId,
                ]),
              ))
        );
      });
    });

  for (const action of ["pause", "resume"] as const) {
    sch
      .command(action)
      .argument("<id>")
      .description(`${action} a schedule`)
      .action(async (id: string, _f, cmd: Command) => {
        const s = await ctx.client(cmd).scheduleAction(id, action);
        emit(ctx, cmd, { schedule: s }, () => `${s.id} ${s.paused ? "paused" : "active"}\n`);
      });
  }

  sch
    .command("trigger")
    .argument("<id>")
    .description("run the schedule's job now")
    .action(async (id: string, _f, cmd: Command) => {
      const job = await ctx.client(cmd).triggerSchedule(id);
      emit(ctx, cmd, { job }, () => `${job.id}\n`);
    });

  sch
    .command("rm")
    .argument("<id>")
    .description("delete a schedule (its past runs stay)")
    .action(async (id: string, _f, cmd: Command) => {
      await ctx.client(cmd).deleteSchedule(id);
      emit(ctx, cmd, { deleted: id }, () => `deleted ${id}\n`);
    });
}
