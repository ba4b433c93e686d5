/** In-process servers and HTTP workers for integration tests: real sockets, real SQLite or PostgreSQL. */
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { applyHttpPolicy } from "../../src/cli/commands/worker.ts";
import { type Config, loadConfig } from "../../src/config/config.ts";
import type { Executor } from "../../src/executors/executor.ts";
import { type Handler, HandlerRegistry } from "../../src/executors/handler.ts";
import { builtinExecutors } from "../../src/executors/registry.ts";
import { OutboundClient } from "../../src/outbound/outbound-client.ts";
import { BosunServer } from "../../src/runtime/server.ts";
import { HttpTransport } from "../../src/worker/http-transport.ts";
import { WorkerLoop } from "../../src/worker/worker-loop.ts";
import { adminToken, forgetToken, registerServer, TEST_ADMIN_PASSWORD, workerKey } from "./auth.ts";
import { tempDir } from "./wait.ts";

export const quietLogger = () => pino({ level: process.env.BOSUN_TEST_VERBOSE ? "debug" : "silent" });

export async function startServer(flags: Partial<Record<keyof Config, unknown>> = {}) {
  const dir = await tempDir();
  const config = loadConfig({
    env: {},
    flags: {
      port: 0,
      dataDir: dir.path,
      concurrency: 0,
      logLevel: "silent",
      adminPassword: TEST_ADMIN_PASSWORD,
      ...flags,
    },
  });
  const server = await BosunServer.start({ config, logger: quietLogger() });
  registerServer(server.url);
  return {
    server,
    url: server.url,
    dir,
    async stop(graceMs = 0) {
      await server.stop(graceMs);
      await dir.remove();
    },
  };
}

export interface TestWorker {
  id: string;
  loop: WorkerLoop;
  transport: HttpTransport;
  /** The client its http jobs go through, with the policy its server sent. */
  outbound: OutboundClient;
  stop(graceMs?: number): Promise<void>;
}

export async function startWorker(opts: {
  server: string;
  id: string;
  capacity: number;
  labels?: Record<string, string>;
  handlers?: Record<string, Handler>;
  pollWaitMs?: number;
  /** Resolve before the worker managed to register (for workers started before their server). */
  noWait?: boolean;
}): Promise<TestWorker> {
  const registry = new HandlerRegistry();
  for (const [type, fn] of Object.entries(opts.handlers ?? {})) registry.define(type, fn);
  const executors = new Map<string, Executor>();
  // As `bosun worker`: public addresses only until the server's policy arrives with the registration.
  const outbound = new OutboundClient();
  for (const e of [...builtinExecutors({ http: { client: outbound } }), ...registry.executors()])
    executors.set(e.type, e);
  const dir = await tempDir("bosun-worker-");
  // A server that is not up yet (noWait) cannot make a key: such a worker speaks as the admin, whose
  // token the transport fetches when it first calls.
  const first = opts.server.split(",")[0]!;
  const token = opts.noWait ? undefined : await workerKey(first);
  const transport = new HttpTransport({
    server: opts.server,
    token,
    credentials: token
      ? undefined
      : {
          token: () => adminToken(first),
          renew: () => {
            forgetToken(first);
            return adminToken(first);
          },
        },
    logger: quietLogger(),
    onHttpPolicy: (policy) => applyHttpPolicy(outbound, policy, quietLogger()),
  });
  const loop = new WorkerLoop({
    identity: {
      workerId: opts.id,
      labels: opts.labels ?? {},
      capacity: opts.capacity,
      types: [...executors.keys()],
      queues: null,
      instance: randomUUID(),
    },
    transport,
    executors,
    logger: quietLogger(),
    workRoot: dir.path,
    pollWaitMs: opts.pollWaitMs ?? 5000,
  });
  const started = loop.start();
  if (!opts.noWait) await started;
  return {
    id: opts.id,
    loop,
    transport,
    outbound,
    async stop(graceMs = 0) {
      await started;
      await loop.stop(graceMs);
      await transport.close();
      outbound.close();
      await dir.remove();
    },
  };
}
