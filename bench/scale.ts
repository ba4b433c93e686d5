/**
 * Memory and list latency as the queue grows: a `bosun server` process (SQLite, no workers) is filled
 * through the API to 100,000 and then 1,000,000 queued jobs; after each step it reports the server's
 * RSS and the time of a status-filtered list.
 *   node bench/scale.ts [--steps 100000,1000000]
 */

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { adminToken, BENCH_ADMIN_PASSWORD } from "./credentials.ts";

const { values } = parseArgs({ options: { steps: { type: "string", default: "100000,1000000" } } });
const steps = values.steps!.split(",").map(Number);
const dir = await mkdtemp(join(tmpdir(), "bosun-scale-"));
const proc = spawn(
  process.execPath,
  [join(import.meta.dirname, "../bin/bosun.js"), "server", "--port", "0", "--data", dir],
  {
    env: { ...process.env, BOSUN_LOG_LEVEL: "info", BOSUN_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const url = await new Promise<string>((resolve) =>
  createInterface({ input: proc.stdout! }).on(
    "line",
    (l) => l.includes("Bosun is up") && resolve(JSON.parse(l).url),
  ),
);
const auth = { authorization: `Bearer ${await adminToken(url)}` };
const status = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))![1]) / 1024;
const rss = () => status("VmRSS");
const post = (body: unknown) =>
  fetch(`${url}/api/v1/jobs/batch`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify(body),
  });
let total = 0;
const batch = { jobs: Array.from({ length: 1000 }, () => ({ type: "sleep", payload: { durationMs: 1 } })) };
for (const target of steps) {
  const t0 = Date.now();
  while (total < target) {
    await Promise.all([post(batch), post(batch)]);
    total += 2000;
  }
  const fill = (Date.now() - t0) / 1000;
  global.gc?.();
  await new Promise((r) => setTimeout(r, 2000));
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = performance.now();
    await (await fetch(`${url}/api/v1/jobs?status=queued&limit=50`, { headers: auth })).json();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      queued: total,
      fillSeconds: fill,
      serverRssMb: Math.round(rss()),
      // Anonymous memory is the heaps (V8, SQLite's page cache); file and shared are mapped pages.
      anonMb: Math.round(status("RssAnon")),
      fileMb: Math.round(status("RssFile")),
      shmemMb: Math.round(status("RssShmem")),
      listMsP50: times[10]!.toFixed(1),
      listMsMax: times[19]!.toFixed(1),
    }),
  );
}
proc.kill("SIGKILL");
await rm(dir, { recursive: true, force: true });
