/** BullMQ on the local Redis: addBulk to enqueue, one Worker with `concurrency` (its recommended setup). */
import { Queue, Worker } from "bullmq";
import { type BenchSystem, chunks, REDIS, type SystemFactory } from "./system.ts";

export const bullmq: SystemFactory = async (opts) => {
  const prefix = `bench-${opts.namespace}`;
  const queue = new Queue("bench", { connection: REDIS, prefix });
  await queue.waitUntilReady();
  let worker: Worker | null = null;
  const system: BenchSystem = {
    name: "bullmq",
    enqueue: (payloads) =>
      chunks(payloads, 1000, (c) =>
        queue.addBulk(
          c.map((data) => ({ name: "noop", data, opts: { removeOnComplete: true, removeOnFail: true } })),
        ),
      ),
    async startWorkers() {
      worker = new Worker(
        "bench",
        async (job) => {
          opts.onJob(job.data);
        },
        { connection: REDIS, prefix, concurrency: opts.concurrency },
      );
      await worker.waitUntilReady();
    },
    async close() {
      await worker?.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    },
  };
  return system;
};
