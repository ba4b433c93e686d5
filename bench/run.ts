/**
 * `npm run bench [-- options]`: runs each system in its own child process, one after the other (never in
 * parallel: the machine has 2 cores), takes the median of several runs, prints a table with ratios
 * against BullMQ and graphile-worker measured in the same run, and writes bench/results/<time>.json and
 * bench/results/latest.json.
 *
 *   --systems bullmq,graphile,pgboss,bosun-sqlite,bosun-pg,bosun-pg-remote
 *   --jobs 50000 --concurrency 50 --runs 3 --warmup 2000 --latency-samples 200
 *   --scenarios drain,steady,latency
 *   --quick            1,000 jobs, one run, few samples (what CI runs)
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const ALL = ["bullmq", "graphile", "pgboss", "bosun-sqlite", "bosun-pg", "bosun-pg-remote"];
const METRICS = [
  "enqueuePerSec",
  "drainPerSec",
  "steadyPerSec",
  "latencyP50Ms",
  "latencyP99Ms",
  "peakRssMb",
] as const;

export interface BenchOptions {
  systems: string[];
  jobs: number;
  concurrency: number;
  runs: number;
  warmup: number;
  latencySamples: number;
  scenarios: string[];
}

export type SystemResult = {
  system: string;
  error?: string;
  runs: Record<string, number>[];
  median: Record<string, number>;
};

function runChild(
  system: string,
  o: BenchOptions,
): Promise<{ ok: boolean; result?: Record<string, number>; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "child.ts"), system, JSON.stringify(o)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", () => {
      const line = out
        .trim()
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
      try {
        resolve(JSON.parse(line ?? ""));
      } catch {
        resolve({ ok: false, error: (err || out).slice(-2000) || "no output" });
      }
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function runBench(
  o: BenchOptions,
  log: (s: string) => void = console.log,
): Promise<SystemResult[]> {
  const results: SystemResult[] = [];
  for (const system of o.systems) {
    const runs: Record<string, number>[] = [];
    let error: string | undefined;
    for (let i = 0; i < o.runs; i++) {
      log(`  ${system}: run ${i + 1}/${o.runs}…`);
      const r = await runChild(system, o);
      if (!r.ok || !r.result) {
        error = r.error;
        break;
      }
      runs.push(r.result);
    }
    const m: Record<string, number> = {};
    if (runs.length > 0) for (const k of Object.keys(runs[0]!)) m[k] = median(runs.map((r) => r[k]!));
    results.push({ system, ...(error ? { error } : {}), runs, median: m });
  }
  return results;
}

export function table(results: SystemResult[]): string {
  const ref = (name: string) => results.find((r) => r.system === name)?.median.drainPerSec;
  const bull = ref("bullmq");
  const gw = ref("graphile");
  const fmt = (v: number | undefined, digits = 0) => (v === undefined ? "-" : v.toFixed(digits));
  const header = [
    "system",
    "enqueue/s",
    "drain/s",
    "steady/s",
    "p50 ms",
    "p99 ms",
    "peak RSS MB",
    "drain ×BullMQ",
    "drain ×graphile",
  ];
  const rows = results.map((r) => {
    const m = r.median;
    if (r.error)
      return [r.system, `error: ${r.error.split("\n")[0]!.slice(0, 80)}`, "", "", "", "", "", "", ""];
    return [
      r.system,
      fmt(m.enqueuePerSec),
      fmt(m.drainPerSec),
      fmt(m.steadyPerSec),
      fmt(m.latencyP50Ms, 2),
      fmt(m.latencyP99Ms, 2),
      fmt(m.peakRssMb),
      bull && m.drainPerSec ? `${(m.drainPerSec / bull).toFixed(2)}×` : "-",
      gw && m.drainPerSec ? `${(m.drainPerSec / gw).toFixed(2)}×` : "-",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      systems: { type: "string", default: ALL.join(",") },
      jobs: { type: "string", default: "50000" },
      concurrency: { type: "string", default: "50" },
      runs: { type: "string", default: "3" },
      warmup: { type: "string", default: "2000" },
      "latency-samples": { type: "string", default: "200" },
      scenarios: { type: "string", default: "drain,steady,latency" },
      quick: { type: "boolean", default: false },
    },
  });
  const quick = values.quick;
  return {
    systems: values.systems!.split(","),
    jobs: quick ? 1000 : Number(values.jobs),
    concurrency: Number(values.concurrency),
    runs: quick ? 1 : Number(values.runs),
    warmup: quick ? 100 : Number(values.warmup),
    latencySamples: quick ? 10 : Number(values["latency-samples"]),
    scenarios: values.scenarios!.split(","),
  };
}

if (import.meta.main) {
  const o = parseOptions(process.argv.slice(2));
  console.log(
    `Bosun benchmark: ${o.systems.join(", ")}; ${o.jobs} jobs, concurrency ${o.concurrency}, median of ${o.runs}`,
  );
  const results = await runBench(o);
  const report = {
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    options: o,
    results,
  };
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.at.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${table(results)}\n\n${file}`);
  process.exitCode = results.some((r) => r.error) ? 1 : 0;
}

export { METRICS };
