/** Human output: aligned tables and relative times. Scripts use `-o json` instead. */
import type { ApiJob } from "../sdk/types.ts";

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return "-";
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return `in ${fmt(-s)}`;
  return `${fmt(s)} ago`;
}

function fmt(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function jobsTable(jobs: ApiJob[]): string {
  return table(
    ["ID", "TYPE", "QUEUE", "STATUS", "PRI", "ATTEMPTS", "CREATED", "ERROR"],
    jobs.map((j) => [
      j.id,
      j.type,
      j.queue,
      j.status,
      String(j.priority),
      `${j.attempts}/${j.maxAttempts}`,
      ago(j.createdAt),
      j.error ? j.error.code : "",
    ]),
  );
}

export function jobDetails(j: ApiJob): string {
  const rows: [string, string][] = [
    ["id", j.id],
    ["type", j.type],
    ["queue", j.queue],
    ["status", j.status],
    ["priority", String(j.priority)],
    ["attempts", `${j.attempts}/${j.maxAttempts}`],
    ["created", `${j.createdAt} (${ago(j.createdAt)})`],
    ["run at", j.runAt ?? "-"],
    ["started", j.startedAt ?? "-"],
    ["finished", j.finishedAt ?? "-"],
    ["worker", j.workerId ?? "-"],
    ["payload", JSON.stringify(j.payload)],
    ["result", j.result === null ? "-" : JSON.stringify(j.result)],
    ["error", j.error ? `${j.error.code}: ${j.error.message}` : "-"],
  ];
  return `${rows.map(([k, v]) => `${k.padEnd(9)} ${v}`).join("\n")}\n`;
}

/** The exit code a finished job stands for: a shell job's own, else 0 for completed and 1 otherwise. */
export function jobExitCode(j: ApiJob): number {
  if (j.type === "shell") {
    const fromResult = (j.result as { exitCode?: unknown } | null)?.exitCode;
    if (typeof fromResult === "number") return fromResult;
    const fromError = (j.error?.details as { exitCode?: unknown } | undefined)?.exitCode;
    if (typeof fromError === "number" && fromError !== 0) return fromError;
  }
  return j.status === "completed" ? 0 : 1;
}
