/**
 * One measurement of one system, in its own process (so RSS, GC state and open handles are its own):
 *   node bench/child.ts <system> '<json options>'
 * Prints one JSON line with the results.
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { bosunPg, bosunPgRemote, bosunSqlite } from "./systems/bosun.ts";
import { bullmq } from "./systems/bullmq.ts";
import { graphile } from "./systems/graphile.ts";
import { pgboss } from "./systems/pgboss.ts";
import type { BenchSystem, SystemFactory } from "./systems/system.ts";

export const SYSTEMS: Record<string, SystemFactory> = {
  bullmq,
  graphile,
  pgboss,
  "bosun-sqlite": bosunSqlite,
  "bosun-pg": bosunPg,
  "bosun-pg-remote": bosunPgRemote,
};

interface ChildOptions {
  jobs: number;
  concurrency: number;
  warmup: number;
  latencySamples: number;
  scenarios: string[];
}

const now = () => performance.now();

function rssOf(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

async function measure(name: string, o: ChildOptions) {
  let handled = 0;
  let waiter: { target: number; resolve: () => void } | null = null;
  let lastLatency = 0;
  const onJob = (p: { t?: number }) => {
    handled++;
    if (p.t !== undefined) lastLatency = now() - p.t;
    if (waiter && handled >= waiter.target) {
      waiter.resolve();
      waiter = null;
    }
  };
  const sys: BenchSystem = await SYSTEMS[name]!({
    concurrency: o.concurrency,
    namespace: randomBytes(4).toString("hex"),
    onJob,
  });
  const count = async () => (sys.completed ? await sys.completed() : handled);
  const until = async (target: number, timeoutMs = 600_000) => {
    const deadline = Date.now() + timeoutMs;
    if (sys.completed) {
      while ((await count()) < target) {
        if (Date.now() > deadline) throw new Error(`timeout at ${await count()}/${target}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return;
    }
    if (handled >= target) return;
    await new Promise<void>((resolve, reject) => {
      waiter = { target, resolve };
      setTimeout(() => reject(new Error(`timeout at ${handled}/${target}`)), timeoutMs).unref();
    });
  };
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss + rssOf(sys.pids?.() ?? []));
  }, 50);
  const out: Record<string, number> = {};
  try {
    const payloads = (n: number) => Array.from({ length: n }, () => ({}));
    let base = 0;
    if (o.scenarios.includes("drain")) {
      // Enqueue everything first (workers not started), then drain the backlog. The first `warmup` jobs
      // warm the JIT, connections and prepared statements; timing starts after them.
      const t0 = now();
      await sys.enqueue(payloads(o.jobs + o.warmup));
      out.enqueuePerSec = (o.jobs + o.warmup) / ((now() - t0) / 1000);
      await sys.startWorkers();
      await until(o.warmup);
      const t1 = now();
      await until(o.warmup + o.jobs);
      out.drainPerSec = o.jobs / ((now() - t1) / 1000);
      base = await count();
    } else {
      await sys.startWorkers();
      await sys.enqueue(payloads(o.warmup));
      await until(o.warmup);
      base = await count();
    }

    if (o.scenarios.includes("steady")) {
      // A producer keeps a small backlog (two batches) while workers run: sustained throughput.
      const t0 = now();
      let produced = 0;
      while (produced < o.jobs) {
        if (produced - ((await count()) - base) < 2000) {
          await sys.enqueue(payloads(500));
          produced += 500;
        } else await new Promise((r) => setImmediate(r));
      }
      await until(base + produced);
      out.steadyPerSec = produced / ((now() - t0) / 1000);
      base = await count();
    }

    if (o.scenarios.includes("latency")) {
      const samples: number[] = [];
      for (let i = 0; i < o.latencySamples; i++) {
        await new Promise((r) => setTimeout(r, 5));
        if (sys.latencyOne) samples.push(await sys.latencyOne());
        else {
          await sys.enqueue([{ t: now() }]);
          await until(base + i + 1, 30_000);
          samples.push(lastLatency);
        }
      }
      samples.sort((a, b) => a - b);
      out.latencyP50Ms = samples[Math.floor(samples.length * 0.5)]!;
      out.latencyP99Ms = samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))]!;
    }
    out.peakRssMb = Math.max(peakRss, process.memoryUsage().rss + rssOf(sys.pids?.() ?? [])) / 1e6;
  } finally {
    clearInterval(sampler);
    await sys.close();
  }
  return out;
}

if (import.meta.main) {
  const [name, json] = process.argv.slice(2);
  if (!name || !SYSTEMS[name]) {
    console.error(`usage: node bench/child.ts <${Object.keys(SYSTEMS).join("|")}> '<json>'`);
    process.exit(2);
  }
  measure(name, JSON.parse(json ?? "{}") as ChildOptions).then(
    (r) => {
      process.stdout.write(`${JSON.stringify({ ok: true, result: r })}\n`);
      process.exit(0);
    },
    (err) => {
      process.stdout.write(`${JSON.stringify({ ok: false, error: String(err?.stack ?? err) })}\n`);
      process.exit(1);
    },
  );
}
