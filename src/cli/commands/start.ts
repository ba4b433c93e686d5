/**
 * `bosun start`: API + scheduler + a local worker pool in one process, on embedded SQLite by default.
 * `bosun server`: the same node for a cluster (usually `--db postgres://…`), local workers optional.
 * SIGTERM/SIGINT stop gracefully: no new work, running jobs finish within the grace period, the rest go
 * back to the queue, exit 0. A second signal exits at once (jobs then recover on the next start).
 */
import { type Command, Option } from "commander";
import { type Config, loadConfig } from "../../config/config.ts";
import { BosunServer } from "../../runtime/server.ts";
import type { CliContext } from "../context.ts";
import { UsageError } from "./parse.ts";

export interface StartFlags {
  port?: string;
  host?: string;
  concurrency?: string;
  data?: string;
  db?: string;
  dbSchema?: string;
  durability?: string;
  config?: string;
  leaseMs?: string;
  grace?: string;
  nodeId?: string;
  logLevel?: string;
  labels?: string;
  httpAllow?: string;
  httpDeny?: string;
  alertWebhookUrl?: string;
  jobEnvAllow?: string;
  adminPassword?: string;
  allowedHosts?: string;
}

export function parseLabels(raw: string | undefined): Record<string, string> | undefined {
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  for (const pair of raw.split(",")) {
    const [k, ...v] = pair.split("=");
    if (!k || v.length === 0) throw new UsageError(`Invalid label "${pair}": use key=value,key2=value2`);
    out[k.trim()] = v.join("=").trim();
  }
  return out;
}

/** The node's configuration from its flags (over BOSUN_* variables, over the config file). */
export function serverConfig(flags: StartFlags, mode: "start" | "server", env?: NodeJS.ProcessEnv): Config {
  return loadConfig({
    env,
    file: flags.config,
    flags: {
      port: flags.port,
      host: flags.host,
      concurrency: flags.concurrency ?? (mode === "server" ? "0" : undefined),
      dataDir: flags.data,
      db: flags.db,
      dbSchema: flags.dbSchema,
      durability: flags.durability,
      leaseMs: flags.leaseMs,
      shutdownGraceMs: flags.grace,
      nodeId: flags.nodeId,
      logLevel: flags.logLevel,
      workerLabels: parseLabels(flags.labels),
      httpAllow: flags.httpAllow,
      httpDeny: flags.httpDeny,
      alertWebhookUrl: flags.alertWebhookUrl,
      jobEnvAllow: flags.jobEnvAllow,
      adminPassword: flags.adminPassword,
      allowedHosts: flags.allowedHosts,
    },
  });
}

export async function runServerCommand(flags: StartFlags, mode: "start" | "server"): Promise<number> {
  const server = await BosunServer.start({ config: serverConfig(flags, mode) });
  let signals = 0;
  const done = new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        server.runtime.logger.warn({ signal: sig }, "second signal: exiting now");
        process.exit(130);
      }
      server.runtime.logger.info({ signal: sig }, "signal received");
      server.stop().then(
        () => resolve(0),
        (err) => {
          server.runtime.logger.error({ err }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  return done;
}

/** The flags `start` and `server` share. */
export function serverOptions(cmd: Command): Command {
  return cmd
    .option("-p, --port <port>", "HTTP port (default 8080, BOSUN_PORT)")
    .option("--host <host>", "address to listen on (default 127.0.0.1, BOSUN_HOST)")
    .option("-c, --concurrency <n>", "jobs the local worker pool runs at once (BOSUN_CONCURRENCY)")
    .option("-d, --data <dir>", "data folder for SQLite and work dirs (default ./.bosun, BOSUN_DATA)")
    .option("--db <url>", "postgres://… to use PostgreSQL instead of SQLite (BOSUN_DB)")
    .option("--db-schema <name>", "PostgreSQL schema of Bosun's tables (default bosun, BOSUN_DB_SCHEMA)")
    .addOption(
      new Option(
        "--durability <mode>",
        "SQLite: normal survives a crash, strict also power loss (BOSUN_DURABILITY)",
      ).choices(["normal", "strict"]),
    )
    .option("--config <file>", "JSON config file, keys as in docs/configuration.md (BOSUN_CONFIG)")
    .option("--lease-ms <ms>", "lease of a running attempt; workers heartbeat at a third of it")
    .option("--grace <ms>", "how long a stop waits for running jobs (default 30000)")
    .option("--node-id <id>", "stable node identity (default: stored in the data folder)")
    .option("--labels <k=v,...>", "labels of the local worker pool, matched by job constraints")
    .option(
      "--http-allow <hosts>",
      "hosts, addresses or CIDRs http jobs and alert webhooks may reach besides public addresses, e.g. 127.0.0.1,10.0.0.0/8,api.internal (BOSUN_HTTP_ALLOW)",
    )
    .option(
      "--http-deny <hosts>",
      "hosts, addresses or CIDRs they may not reach besides loopback, private and metadata ones (BOSUN_HTTP_DENY)",
    )
    .option(
      "--alert-webhook-url <url>",
      "called when a job fails for good (BOSUN_ALERT_WEBHOOK_URL; secret in BOSUN_ALERT_WEBHOOK_SECRET)",
    )
    .option(
      "--job-env-allow <names>",
      "server environment variables jobs get besides PATH, LANG, TZ, e.g. HTTP_PROXY,NO_PROXY (BOSUN_JOB_ENV_ALLOW)",
    )
    .option(
      "--admin-password <password>",
      "password of the admin user made on the first start (BOSUN_ADMIN_PASSWORD; default: generated, saved in the data folder)",
    )
    .option(
      "--allowed-hosts <names>",
      "host names the server answers to besides localhost and its address, e.g. bosun.example.com (BOSUN_ALLOWED_HOSTS)",
    )
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent");
}

export function register(program: Command, ctx: CliContext): void {
  serverOptions(
    program
      .command("start")
      .description("run Bosun in one process: API, scheduler and local workers (SQLite by default)"),
  ).action(async (flags: StartFlags) => {
    ctx.exitCode = await runServerCommand(flags, "start");
  });
}
