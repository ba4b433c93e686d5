/**
 * Human output: aligned tables, key/value details and relative times, written without a dependency.
 * Ids are printed in full because people copy them into the next command. Scripts use `-o json`, which
 * prints one shape everywhere, the REST API's own: `{"items": […]}` for a list, `{"job": …}`,
 * `{"schedule": …}`, `{"worker": …}` for one resource, with what the human view shows beside it
 * (`status` adds `attempts`, `schedules show` adds `runs`).
 */
import type { Command } from "commander";
import type { ApiAttempt, ApiJob } from "../sdk/types.ts";
import type { CliContext } from "./context.ts";

/** `-o json`: the value as the server sent it; otherwise the human rendering. */
export function emit(ctx: CliContext, cmd: Command, value: unknown, human: () => string): void {
  ctx.io.out(ctx.json(cmd) ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/**
 * An error: `bosun: CODE: message` for people, or under -o json the REST API's error shape, on stderr
 * either way so that stdout only ever holds results.
 */
export function printError(ctx: CliContext, code: string, message: string): void {
  ctx.io.err(
    ctx.jsonErrors
      ? `${JSON.stringify({ error: { code, message } })}\n`
      : code === "USAGE" || code === "SERVER_UNREACHABLE" || code === "INTERNAL"
        ? `bosun: ${message}\n`
        : `bosun: ${code}: ${message}\n`,
  );
}

/** Columns padded to their widest cell; the last column is not padded so lines carry no trailing blanks. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** "5s ago", "3m ago", "in 2h"; "-" for no time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  return s < 0 ? `in ${span(-s)}` : `${span(s)} ago`;
}

function span(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** 850 ms, 12.3 s, 4m05s. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** One line of JSON, cut at `max` characters: the table stays readable and -o json has the rest. */
export function brief(value: unknown, max = 200): string {
  if (value === null || value === undefined) return "-";
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function jobsTable(jobs: ApiJob[], now = Date.now()): string {
  return table(
    ["ID", "TYPE", "QUEUE", "STATUS", "PRI", "ATTEMPTS", "CREATED", "ERROR"],
    jobs.map((j) => [
      j.id,
      j.type,
      j.queue,
      j.status,
      String(j.priority),
      `${j.attempts}/${j.maxAttempts}`,
      ago(j.createdAt, now),
      j.error ? j.error.code : "",
    ]),
  );
}

export function jobDetails(j: ApiJob, now = Date.now()): string {
  const when = (iso: string | null) => (iso ? `${iso} (${ago(iso, now)})` : "-");
  const rows: [string, string][] = [
    ["id", j.id],
    ["type", j.type],
    ["queue", j.queue],
    ["status", j.status],
    // The last progress a handler reported stays after the job ends (100% of a completed job, say).
    ["progress", j.progress === null ? "-" : `${j.progress}%`],
    ["priority", String(j.priority)],
    ["attempts", `${j.attempts}/${j.maxAttempts}`],
    ["created", when(j.createdAt)],
    ["run at", when(j.runAt)],
    ["started", when(j.startedAt)],
    ["finished", when(j.finishedAt)],
    ["worker", j.workerId ?? "-"],
    ["timeout", j.timeoutMs === null ? "-" : duration(j.timeoutMs)],
    ["owner", j.owner],
    ["tags", j.tags.length ? j.tags.join(", ") : "-"],
    ["payload", brief(j.payload)],
    ["result", brief(j.result)],
    ["error", j.error ? `${j.error.code}: ${j.error.message}` : "-"],
  ];
  if (j.idempotencyKey) rows.splice(6, 0, ["idem key", j.idempotencyKey]);
  if (Object.keys(j.constraints).length) rows.splice(rows.length - 3, 0, ["needs", labels(j.constraints)]);
  return `${rows.map(([k, v]) => `${k.padEnd(9)} ${v}`).join("\n")}\n`;
}

export function attemptsTable(items: ApiAttempt[]): string {
  return table(
    ["#", "STATUS", "STARTED", "DURATION", "WORKER", "EXIT", "HTTP", "ERROR"],
    items.map((a) => [
      String(a.attempt),
      a.status,
      a.startedAt ?? "-",
      duration(a.durationMs),
      a.workerId ?? "-",
      a.exitCode === null || a.exitCode === undefined ? "-" : String(a.exitCode),
      a.httpStatus === null || a.httpStatus === undefined ? "-" : String(a.httpStatus),
      a.error ? `${a.error.code}: ${a.error.message}` : "",
    ]),
  );
}

export function labels(map: Record<string, string>): string {
  return (
    Object.entries(map)
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "-"
  );
}

/**
 * The exit code a finished job stands for, so `bosun submit --wait -- cmd` can stand in for `cmd`: a shell
 * job's own exit code (from its result, or from the error of a failed attempt), else 0 when completed
 * and 1 when failed or cancelled.
 */
export function jobExitCode(j: ApiJob): number {
  if (j.type === "shell") {
    const fromResult = (j.result as { exitCode?: unknown } | null)?.exitCode;
    if (typeof fromResult === "number" && (j.status === "completed" || fromResult !== 0)) return fromResult;
    const fromError = (j.error?.details as { exitCode?: unknown } | undefined)?.exitCode;
    if (typeof fromError === "number" && fromError !== 0) return fromError;
  }
  return j.status === "completed" ? 0 : 1;
}
