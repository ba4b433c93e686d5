/**
 * `bosun start` / `bosun server`: a runtime behind the HTTP API, with the singleton loops on the leader.
 * Shutdown order matters: stop being ready, stop pulling work and let running attempts finish (grace),
 * give back the rest, then close HTTP and the store. Nothing is left `running` by a clean stop.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { AccessEntry } from "../api/access.ts";
import { buildApp } from "../api/app.ts";
import { bearerOf } from "../api/request-guard.ts";
import { alertRoutes } from "../api/routes/alerts.ts";
import { apiKeyRoutes } from "../api/routes/api-keys.ts";
import { auditRoutes } from "../api/routes/audit.ts";
import { authRoutes } from "../api/routes/auth.ts";
import { clusterRoutes } from "../api/routes/cluster.ts";
import { scheduleRoutes } from "../api/routes/schedules.ts";
import { userRoutes } from "../api/routes/users.ts";
import { workerRoutes } from "../api/routes/workers.ts";
import { NodeRegistry } from "../cluster/node-registry.ts";
import type { Config } from "../config/config.ts";
import type { Clock } from "../core/clock.ts";
import { bootstrapAdmin } from "./admin-bootstrap.ts";
import { Runtime } from "./runtime.ts";
import { VERSION } from "./version.ts";

export interface ServerOptions {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  /** Run the local worker pool (`start`: yes; `server`: when concurrency > 0). */
  localWorkers?: boolean;
}

export class BosunServer {
  readonly runtime: Runtime;
  readonly app: FastifyInstance;
  /** Every route with its access rule (the authorization matrix test walks it). */
  readonly routes: AccessEntry[] = [];
  readonly #state: { ready: boolean };
  #registry: NodeRegistry | null = null;
  #stopping: Promise<void> | null = null;

  private constructor(runtime: Runtime, app: FastifyInstance, state: { ready: boolean }) {
    this.runtime = runtime;
    this.app = app;
    this.#state = state;
  }

  static async start(opts: ServerOptions): Promise<BosunServer> {
    const runtime = await Runtime.open({
      config: opts.config,
      logger: opts.logger,
      clock: opts.clock,
      servesHttp: true,
    });
    const startedAt = Date.now();
    const state = { ready: false };
    await bootstrapAdmin({
      identity: runtime.identity.store,
      clock: runtime.clock,
      logger: runtime.logger,
      dataDir: opts.config.dataDir,
      password: opts.config.adminPassword,
    });
    const routes: AccessEntry[] = [];
    const app = await buildApp(
      {
        engine: runtime.engine,
        feed: runtime.feed,
        advisor: runtime.advisor,
        config: opts.config,
        logger: runtime.logger,
        nodeId: runtime.nodeId,
        version: VERSION,
        startedAt,
        workerUsage: async () => {
          const live = (await runtime.workers.list()).filter((w) => w.status !== "lost");
          return {
            running: live.reduce((n, w) => n + w.running, 0),
            capacity: live.reduce((n, w) => n + w.capacity, 0),
          };
        },
        isReady: () => state.ready,
      },
      {
        authenticate: (request) => runtime.authenticator.authenticate(bearerOf(request)),
        routeTable: routes,
        extraRoutes: [
          authRoutes(runtime.identity),
          userRoutes(runtime.identity),
          apiKeyRoutes(runtime.identity),
          auditRoutes(runtime.identity),
          workerRoutes(runtime.workers),
          clusterRoutes(runtime),
          scheduleRoutes(runtime.schedules),
          alertRoutes(runtime.scheduleStore, runtime.engine),
        ],
        metrics: [async () => runtime.drift.metrics()],
      },
    );
    const server = new BosunServer(runtime, app, state);
    server.routes.push(...routes);
    await runtime.recoverOwnJobs();
    await runtime.startLeadership();
    if (opts.localWorkers !== false) await runtime.startPool(opts.config.concurrency);
    await app.listen({ host: opts.config.host, port: opts.config.port });
    server.#registry = new NodeRegistry({
      cluster: runtime.cluster,
      self: { id: runtime.nodeId, address: server.url, version: VERSION, startedAt },
      clock: runtime.clock,
      logger: runtime.logger,
    });
    await server.#registry.start();
    server.#state.ready = true;
    runtime.logger.info(
      {
        url: server.url,
        nodeId: runtime.nodeId,
        concurrency: runtime.pool?.capacity ?? 0,
        data: opts.config.db ? "postgres" : opts.config.dataDir,
      },
      "Bosun is up",
    );
    return server;
  }

  get url(): string {
    const addr = this.app.server.address();
    if (addr && typeof addr === "object") {
      const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      return `http://${host}:${addr.port}`;
    }
    return String(addr);
  }

  /** Graceful stop; safe to call more than once. */
  stop(graceMs = this.runtime.config.shutdownGraceMs): Promise<void> {
    this.#stopping ??= (async () => {
      this.#state.ready = false;
      this.runtime.logger.info({ graceMs }, "shutting down: finishing running jobs");
      await this.runtime.stopPool(graceMs);
      this.#registry?.stop();
      await this.app.close();
      await this.runtime.close(0);
      this.runtime.logger.info("stopped");
    })();
    return this.#stopping;
  }
}
