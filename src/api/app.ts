/**
 * Builds the HTTP API: Fastify with TypeBox schemas (validation + OpenAPI at /api/v1/openapi.json,
 * interactive docs at /docs), one plugin per resource, one error vocabulary. Plugins that later issues
 * add (cluster, workers, schedules, auth, dashboard) register through `extraRoutes`.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import websocket from "@fastify/websocket";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  LogController,
} from "fastify";
import { type AccessEntry, type Authenticate, BEARER_SCHEME, installAccess } from "./access.ts";
import type { ApiContext } from "./context.ts";
import { installErrorHandler } from "./error-handler.ts";
import { installJsonParser } from "./json-body.ts";
import { chooseWsProtocol, installRequestGuard } from "./request-guard.ts";
import { installRouteRules } from "./route-rules.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobLogRoutes } from "./routes/job-logs.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { type MetricsProvider, metricsRoutes } from "./routes/metrics.ts";
import { JobView } from "./schemas.ts";
import { typeboxValidatorCompiler } from "./validation.ts";

export interface AppOptions {
  /** Plugins mounted under /api/v1. */
  extraRoutes?: FastifyPluginAsync[];
  metrics?: MetricsProvider[];
  /** Bearer credential → principal (engine/authenticator.ts); null without credentials. */
  authenticate: Authenticate;
  /** Filled with every route and its access rule as they are registered (the authorization matrix). */
  routeTable?: AccessEntry[];
}

export async function buildApp(ctx: ApiContext, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: ctx.config.bodyLimitBytes,
    // Per-request logs at info would sit on the hot path (every poll, every report).
    logController: new LogController({ disableRequestLogging: true }),
    // On stop, open log follows and long-polls must not hold the process: workers retry, followers reconnect.
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(typeboxValidatorCompiler);
  installJsonParser(app, ctx.config.maxJsonDepth);
  installErrorHandler(app);
  // First of all hooks: a request for a foreign Host name is answered before anything reads it.
  installRequestGuard(app, {
    host: ctx.config.host,
    allowedHosts: ctx.config.allowedHosts,
    corsOrigins: ctx.config.corsOrigins,
  });
  // Before swagger's own onRoute hook, so the document shows what the rules add.
  installRouteRules(app);
  installAccess(app, opts.authenticate, opts.routeTable ?? []);

  app.addSchema(JobView);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Bosun API",
        version: ctx.version,
        description: "Durable, distributed job orchestrator. Errors are {error: {code, message, details?}}.",
        license: { name: "MIT", url: "https://opensource.org/licenses/MIT" },
      },
      // Relative: the document describes whichever node serves it.
      servers: [{ url: "/", description: "The Bosun node that serves this document" }],
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: {
            type: "http",
            scheme: "bearer",
            description:
              "An access token from POST /api/v1/auth/login, or an API key (bsn_…). A WebSocket offers the subprotocols bosun.events and bosun.bearer.<token> instead.",
          },
        },
      },
      security: [{ [BEARER_SCHEME]: [] }],
      tags: [
        { name: "jobs", description: "Enqueue, inspect and control jobs" },
        { name: "system", description: "Health, readiness and metrics" },
        { name: "schedules", description: "Cron schedules and their runs" },
        { name: "workers", description: "Registered workers" },
        { name: "worker protocol", description: "What remote workers call (docs/worker-protocol.md)" },
        { name: "cluster", description: "Server nodes and leadership" },
        { name: "auth", description: "Log in, refresh, log out, who am I" },
        { name: "users", description: "People and their roles (admin)" },
        { name: "api keys", description: "Credentials for systems and workers" },
        { name: "audit", description: "Who did what (admin)" },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string) ?? `def-${i}` },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  await app.register(websocket, {
    // Event stream clients send nothing; a large frame is a mistake or an attack.
    // A browser sends its token as a subprotocol (request-guard.ts); the answer must never echo it.
    options: { maxPayload: 4096, handleProtocols: (offered) => chooseWsProtocol(offered) },
    // 1001 "going away": the client reconnects (to another node) with its cursor.
    preClose: (done) => {
      for (const client of app.websocketServer.clients) client.close(1001);
      done();
    },
  });

  await app.register(
    async (api) => {
      await api.register(jobRoutes(ctx));
      await api.register(jobLogRoutes(ctx));
      await api.register(eventRoutes(ctx));
      await api.register(healthRoutes(ctx));
      for (const plugin of opts.extraRoutes ?? []) await api.register(plugin);
      api.get("/openapi.json", { schema: { hide: true }, config: { access: "signedIn" } }, async () =>
        app.swagger(),
      );
    },
    { prefix: "/api/v1" },
  );
  await app.register(metricsRoutes(ctx, opts.metrics ?? []));
  return app;
}
