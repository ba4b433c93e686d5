/**
 * graphile-worker on the local PostgreSQL with the batching its authors benchmark with: a local queue
 * (jobs fetched and locked in batches) and batched completion.
 */
import { Logger, makeWorkerUtils, type Runner, run } from "graphile-worker";
import pg from "pg";
import { type BenchSystem, chunks, PG_URL, type SystemFactory } from "./system.ts";

export const graphile: SystemFactory = async (opts) => {
  const schema = `gw_${opts.namespace}`;
  const utils = await makeWorkerUtils({
    connectionString: PG_URL,
    schema,
    logger: new Logger(() => () => undefined),
  });
  await utils.migrate();
  let runner: Runner | null = null;
  const system: BenchSystem = {
    name: "graphile-worker",
    enqueue: (payloads) =>
      chunks(payloads, 1000, (c) => utils.addJobs(c.map((payload) => ({ identifier: "noop", payload })))),
    async startWorkers() {
      runner = await run({
        connectionString: PG_URL,
        schema,
        concurrency: opts.concurrency,
        noHandleSignals: true,
        pollInterval: 1000,
        taskList: {
          noop: async (payload) => {
            opts.onJob(payload as { t?: number });
          },
        },
        preset: {
          worker: {
            localQueue: { size: opts.concurrency * 2 },
            completeJobBatchDelay: 0,
            failJobBatchDelay: 0,
          },
        },
        // Its default logger prints a line per job; a benchmark measures the queue, not the console.
        logger: new Logger(() => () => undefined),
      });
    },
    async close() {
      await runner?.stop();
      await utils.release();
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
  return system;
};
