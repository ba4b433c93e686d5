/**
 * Bosun in its three modes: embedded SQLite in-process, PostgreSQL in-process (both through the SDK), and
 * PostgreSQL with remote workers over HTTP (a `bosun server` and a `bosun worker` process, as deployed).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import postgres from "postgres";
import { Bosun, type Config } from "../../src/index.ts";
import { adminToken, BENCH_ADMIN_PASSWORD, workerKey } from "../credentials.ts";
import { type BenchSystem, chunks, PG_URL, type SystemFactory } from "./system.ts";

async function inProcess(
  name: string,
  opts: Parameters<SystemFactory>[0],
  open: () => Promise<Bosun>,
  cleanup: () => Promise<void>,
) {
  const bosun = await open();
  bosun.define("noop", async (job) => {
    opts.onJob(job.payload as { t?: number });
    return null;
  });
  const system: BenchSystem = {
    name,
    enqueue: (payloads) =>
      chunks(payloads, 1000, (c) => bosun.enqueueMany(c.map((payload) => ({ type: "noop", payload })))),
    startWorkers: () => bosun.start({ concurrency: opts.concurrency }),
    async close() {
      await bosun.stop(1000);
      await cleanup();
    },
  };
  return system;
}

const QUIET: Partial<Config> = { logLevel: "silent" };

async function dropSchema(schema: string): Promise<void> {
  const sql = postgres(PG_URL, { max: 1, onnotice: () => undefined });
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await sql.end();
}

export const bosunSqlite: SystemFactory = async (opts) => {
  const dir = await mkdtemp(join(tmpdir(), "bosun-bench-"));
  return inProcess(
    "bosun-sqlite",
    opts,
    () => Bosun.open({ data: dir, config: QUIET }),
    () => rm(dir, { recursive: true, force: true }),
  );
};

export const bosunPg: SystemFactory = async (opts) => {
  const schema = `bosun_${opts.namespace}`;
  return inProcess(
    "bosun-pg",
    opts,
    () => Bosun.open({ db: PG_URL, schema, config: { ...QUIET, dbPoolSize: 8 } }),
    () => dropSchema(schema),
  );
};

const BIN = join(import.meta.dirname, "../../bin/bosun.js");

function spawnBosun(
  args: string[],
  env: NodeJS.ProcessEnv,
  readyLine: string,
): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start`)), 30_000);
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      if (line.includes(readyLine)) {
        clearTimeout(timer);
        resolve({ proc, line });
      }
    });
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited ${code}`)));
  });
}

/** Remote mode: the harness is a client; completion is counted by the server. */
export const bosunPgRemote: SystemFactory = async (opts) => {
  const schema = `bosun_${opts.namespace}`;
  const env = {
    BOSUN_DB: PG_URL,
    BOSUN_DB_SCHEMA: schema,
    BOSUN_LOG_LEVEL: "info",
    BOSUN_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
  };
  const server = await spawnBosun(["server", "--port", "0", "--node-id", "bench-server"], env, "Bosun is up");
  const url = JSON.parse(server.line).url as string;
  const token = await adminToken(url);
  const auth = { authorization: `Bearer ${token}` };
  const key = await workerKey(url, token);
  let worker: ChildProcess | null = null;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const system: BenchSystem = {
    name: "bosun-pg-remote",
    enqueue: (payloads) =>
      chunks(payloads, 1000, (c) =>
        post("/api/v1/jobs/batch", { jobs: c.map((payload) => ({ type: "noop", payload })) }),
      ),
    async startWorkers() {
      const handlers = join(import.meta.dirname, "../handlers.ts");
      worker = (
        await spawnBosun(
          [
            "worker",
            "--server",
            url,
            "--concurrency",
            String(opts.concurrency),
            "--handlers",
            handlers,
            "--id",
            "bench-worker",
          ],
          { ...env, BOSUN_WORKER_TOKEN: key },
          "worker is up",
        )
      ).proc;
    },
    // The server's own counter: the job counts would scan the whole table 50 times a second.
    async completed() {
      const m = (await (await fetch(`${url}/api/v1/metrics?counts=false`, { headers: auth })).json()) as {
        throughput: { finishedTotal: number };
      };
      return m.throughput.finishedTotal;
    },
    async latencyOne() {
      const t0 = Date.now();
      const { job } = (await post("/api/v1/jobs", { type: "noop", payload: {} })) as { job: { id: string } };
      for (;;) {
        const j = (await (await fetch(`${url}/api/v1/jobs/${job.id}`, { headers: auth })).json()) as {
          job: { startedAt: string | null };
        };
        if (j.job.startedAt) return Date.parse(j.job.startedAt) - t0;
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    pids: () => [server.proc.pid!, ...(worker?.pid ? [worker.pid] : [])],
    async close() {
      worker?.kill("SIGKILL");
      server.proc.kill("SIGKILL");
      await dropSchema(schema);
    },
  };
  // Register the handler type before the first enqueue (the worker starts later).
  await post("/api/v1/workers/register", { id: "bench-types", capacity: 1, types: ["noop"] });
  await post("/api/v1/workers/bench-types/drain", {});
  return system;
};
