/** pg-boss on the local PostgreSQL: insert() for bulk enqueue, work() with batch fetching. */

import pg from "pg";
import { PgBoss } from "pg-boss";
import { type BenchSystem, chunks, PG_URL, type SystemFactory } from "./system.ts";

export const pgboss: SystemFactory = async (opts) => {
  const schema = `pgboss_${opts.namespace}`;
  const boss = new PgBoss({ connectionString: PG_URL, schema });
  boss.on("error", () => undefined);
  await boss.start();
  // NOTIFY wakes idle workers; a full batch keeps them fetching without delay (pg-boss's own advice).
  await boss.createQueue("bench", { notify: true });
  const system: BenchSystem = {
    name: "pg-boss",
    enqueue: (payloads) =>
      chunks(payloads, 1000, (c) =>
        boss.insert(
          "bench",
          c.map((data) => ({ data })),
        ),
      ),
    async startWorkers() {
      await boss.work<{ t?: number }>(
        "bench",
        { batchSize: opts.concurrency, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
        async (jobs) => {
          for (const j of jobs) opts.onJob(j.data);
        },
      );
    },
    async close() {
      await boss.stop({ graceful: false }).catch(() => undefined);
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
  return system;
};
