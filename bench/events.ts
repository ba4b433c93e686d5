/**
 * Live events across a PostgreSQL cluster: how long after a change is made on one node a client of
 * another node hears of it. Three in-process nodes on one fresh schema; jobs are submitted to node A,
 * run by an HTTP worker of node C, and a client follows GET /api/v1/events on node B. For each job
 * message the latency is its arrival minus the change's time (the store's clock, taken in the change's
 * transaction just before the commit). Reports p50/p99/max and that every change arrived, in order.
 *   node bench/events.ts [--jobs 3000] [--rate 500] [--pg postgres://postgres@127.0.0.1:5432/postgres]
 */

import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { pino } from "pino";
import postgres from "postgres";
import { loadConfig } from "../src/config/config.ts";
import { builtinExecutors } from "../src/executors/registry.ts";
import { BosunServer } from "../src/runtime/server.ts";
import { BosunClient } from "../src/sdk/client.ts";
import { HttpTransport } from "../src/worker/http-transport.ts";
import { WorkerLoop } from "../src/worker/worker-loop.ts";
import { adminToken, BENCH_ADMIN_PASSWORD, workerKey } from "./credentials.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "3000" },
    rate: { type: "string", default: "500" },
    pg: { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});
const jobs = Number(values.jobs);
const rate = Number(values.rate);
const schema = `bosun_bench_events_${randomBytes(4).toString("hex")}`;
const logger = pino({ level: "silent" });

const node = (id: string) =>
  BosunServer.start({
    config: loadConfig({
      env: {},
      flags: {
        port: 0,
        db: values.pg,
        dbSchema: schema,
        nodeId: id,
        concurrency: 0,
        logLevel: "silent",
        adminPassword: BENCH_ADMIN_PASSWORD,
      },
    }),
    logger,
  });
const a = await node("bench-a");
const b = await node("bench-b");
const c = await node("bench-c");
const executors = new Map(builtinExecutors({}).map((e) => [e.type, e]));
const token = await adminToken(a.url);
const transport = new HttpTransport({ server: c.url, token: await workerKey(a.url, token), logger });
const worker = new WorkerLoop({
  identity: { workerId: "bench-w", labels: {}, capacity: 50, types: [...executors.keys()], queues: null },
  transport,
  executors,
  logger,
  workRoot: `/tmp/${schema}`,
});
await worker.start();

const abort = new AbortController();
const latencies: number[] = [];
let last = 0;
let outOfOrder = 0;
let completed = 0;
const seen = (async () => {
  for await (const m of new BosunClient({ url: b.url, token }).events({
    queue: "bench",
    signal: abort.signal,
  })) {
    if (m.kind !== "job") continue;
    latencies.push(Date.now() - Date.parse(m.at));
    if (m.seq <= last) outOfOrder++;
    last = m.seq;
    if (m.to === "completed" && ++completed === jobs) abort.abort();
  }
})().catch((err) => {
  if (!abort.signal.aborted) throw err;
});
await new Promise((r) => setTimeout(r, 500)); // the subscription is open

const client = new BosunClient({ url: a.url, token });
const batch = 50;
const started = Date.now();
for (let sent = 0; sent < jobs; sent += batch) {
  const n = Math.min(batch, jobs - sent);
  await client.submitMany(
    Array.from({ length: n }, () => ({ type: "sleep", queue: "bench", payload: { durationMs: 0 } })),
  );
  const due = started + ((sent + n) / rate) * 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
}
const deadline = setTimeout(() => abort.abort(), 60_000);
await seen;
clearTimeout(deadline);

latencies.sort((x, y) => x - y);
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? NaN;
console.log(
  JSON.stringify({
    jobs,
    rate,
    messages: latencies.length,
    completedSeen: completed,
    outOfOrder,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latencies[latencies.length - 1],
  }),
);

await worker.stop(0);
await transport.close();
for (const s of [a, b, c]) await s.stop(0);
const sql = postgres(values.pg!, { max: 1, onnotice: () => undefined });
await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
await sql.end();
