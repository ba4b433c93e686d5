/**
 * `bosun worker --server URL`: a worker node. It runs the built-in executors and the handlers of
 * `--handlers <module>` (a module whose default export maps job types to handler functions), speaks only
 * HTTP to the server, and waits for the server when it is not up yet. SIGTERM/SIGINT stop it gracefully.
 * Its environment (BOSUN_URL, BOSUN_TOKEN, what jobs inherit) is read by config, like the server's.
 */

import { randomBytes, randomUUID } from "node:crypto";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { type Logger, pino } from "pino";
import { loadConfig } from "../../config/config.ts";
import type { Executor } from "../../executors/executor.ts";
import { type Handler, HandlerRegistry } from "../../executors/handler.ts";
import { builtinExecutors } from "../../executors/registry.ts";
import { OutboundClient } from "../../outbound/outbound-client.ts";
import { OutboundPolicy, type OutboundPolicySpec } from "../../outbound/outbound-policy.ts";
import { redaction } from "../../runtime/log-redaction.ts";
import { VERSION } from "../../runtime/version.ts";
import { HttpTransport } from "../../worker/http-transport.ts";
import { WorkerLoop } from "../../worker/worker-loop.ts";
import type { CliContext } from "../context.ts";
import { cliCredentials } from "../credentials.ts";
import { parseLabels } from "./start.ts";

interface WorkerFlags {
  server?: string;
  concurrency: string;
  labels?: string;
  queues?: string;
  handlers?: string;
  id?: string;
  workDir?: string;
  grace: string;
  token?: string;
  jobEnvAllow?: string;
  logLevel: string;
}

export async function loadHandlers(path: string | undefined): Promise<HandlerRegistry> {
  const registry = new HandlerRegistry();
  if (!path) return registry;
  const mod = await import(pathToFileURL(resolve(path)).href);
  const exported = (mod.default ?? mod.handlers) as Record<string, Handler> | undefined;
  if (!exported || typeof exported !== "object")
    throw new Error(`${path} must export default an object mapping job types to handler functions`);
  for (const [type, fn] of Object.entries(exported)) {
    if (typeof fn !== "function") throw new Error(`${path}: the handler for "${type}" is not a function`);
    registry.define(type, fn);
  }
  return registry;
}

/**
 * The server's outbound policy, applied to this worker's http jobs. One this worker cannot read (a newer
 * server's entry syntax) refuses every target instead: a worker never reaches more than its server allows.
 */
export function applyHttpPolicy(client: OutboundClient, policy: OutboundPolicySpec, logger: Logger): void {
  try {
    client.setPolicy(new OutboundPolicy(policy));
    logger.info({ httpAllow: policy.allow, httpDeny: policy.deny }, "outbound policy from the server");
  } catch (err) {
    client.setPolicy(new OutboundPolicy({ allow: [], deny: ["0.0.0.0/0", "::/0"] }));
    logger.error(
      { err: String(err) },
      "the server's outbound policy is not readable: http jobs reach nothing",
    );
  }
}

export async function runWorker(flags: WorkerFlags, globalServer?: string): Promise<number> {
  const config = loadConfig({
    flags: { serverUrl: flags.server ?? globalServer, token: flags.token, jobEnvAllow: flags.jobEnvAllow },
  });
  const logger = pino({ level: flags.logLevel, redact: redaction });
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error("--concurrency must be a positive integer");
  const handlers = await loadHandlers(flags.handlers);
  const executors = new Map<string, Executor>();
  // Public addresses only until the server sends its policy at registration (no job is claimed before).
  const outbound = new OutboundClient();
  const builtins = builtinExecutors({
    http: { client: outbound },
    shell: { inheritedEnv: config.jobEnvInherited },
  });
  for (const e of [...builtins, ...handlers.executors()]) executors.set(e.type, e);
  const workerId = flags.id ?? `${hostname()}-${randomBytes(3).toString("hex")}`;
  const first = config.serverUrl.split(",")[0]!.trim().replace(/\/+$/, "");
  const transport = new HttpTransport({
    server: config.serverUrl,
    token: config.token ?? undefined,
    // Without a key, a worker on the machine of `bosun start` uses its admin password (cli/credentials.ts).
    credentials: config.token ? undefined : cliCredentials(first, process.env),
    logger,
    version: VERSION,
    onHttpPolicy: (policy) => applyHttpPolicy(outbound, policy, logger),
  });
  const loop = new WorkerLoop({
    identity: {
      workerId,
      labels: parseLabels(flags.labels) ?? {},
      capacity: concurrency,
      types: [...executors.keys()],
      queues: flags.queues ? flags.queues.split(",").map((q) => q.trim()) : null,
      instance: randomUUID(),
    },
    transport,
    executors,
    logger,
    workRoot: flags.workDir ?? join(tmpdir(), "bosun-worker", workerId),
  });
  logger.info(
    { workerId, server: config.serverUrl, concurrency, types: [...executors.keys()] },
    "worker starting",
  );
  await loop.start();
  logger.info({ workerId }, "worker is up");
  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      logger.info({ signal: sig }, "stopping: finishing running jobs");
      loop
        .stop(Number(flags.grace))
        .then(() => transport.close())
        .then(() => outbound.close())
        .then(
          () => resolveExit(0),
          (err) => {
            logger.error({ err }, "stop failed");
            resolveExit(1);
          },
        );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("worker")
    .description("run a worker node that pulls jobs from a Bosun server over HTTP")
    .option("--concurrency <n>", "jobs run at once", "4")
    .option("--labels <k=v,...>", "labels matched by job constraints, e.g. gpu=true,zone=eu")
    .option("--queues <a,b>", "only these queues (default: all)")
    .option("--handlers <module>", "module whose default export maps job types to handler functions")
    .option("--id <id>", "stable worker id (default: host name and a random suffix)")
    .option("--work-dir <dir>", "root of the jobs' working directories")
    .option("--grace <ms>", "how long a stop waits for running jobs", "30000")
    .option(
      "--job-env-allow <names>",
      "server environment variables jobs get besides PATH, LANG, TZ, e.g. HTTP_PROXY,NO_PROXY (BOSUN_JOB_ENV_ALLOW)",
    )
    .option("--log-level <level>", "log level", "info")
    .action(async (flags: WorkerFlags, cmd: Command) => {
      // --token is the program's (every command sends it); here it is the worker's API key.
      const globals = cmd.optsWithGlobals() as { server?: string; token?: string };
      ctx.exitCode = await runWorker({ ...flags, token: globals.token }, globals.server);
    });
}
