/**
 * Who may call a route, declared on the route itself (`config: { access }`) and enforced here, once, for
 * every route: a route without a declaration fails at start-up, like one without an operationId. What a
 * role may do is not decided here but in the policy table (auth/policy.ts); this only asks it for the
 * route's resource and verb. Whether the caller may see or act on one object (its owner) is the engine's
 * to decide (engine/access.ts), so REST, WebSocket, the worker protocol and gRPC share it.
 *
 * - `public`: no credentials (health, readiness, login and refresh).
 * - `{ resource, verb }`: credentials, and a role whose scope for them is not "none".
 * - `signedIn`: credentials of any role (the caller's own profile, logout).
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import { type Resource, scopeOf, type Verb } from "../auth/policy.ts";
import type { Principal } from "../auth/principal.ts";
import { BosunError } from "../core/errors.ts";
import { errors } from "./schemas.ts";

export type RouteAccess = "public" | "signedIn" | { resource: Resource; verb: Verb };

declare module "fastify" {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** Null only on public routes called without credentials. */
    principal: Principal;
  }
}

/** The route table as the access rules saw it: the authorization matrix test walks every entry. */
export interface AccessEntry {
  method: string;
  url: string;
  access: RouteAccess;
}

export type Authenticate = (request: FastifyRequest) => Promise<Principal | null>;

export const BEARER_SCHEME = "bearerAuth";

/**
 * Registers the rule and the check. Call before the routes are registered (onRoute sees each); `table`
 * receives every route as it is registered.
 */
export function installAccess(app: FastifyInstance, authenticate: Authenticate, table: AccessEntry[]): void {
  app.decorateRequest("principal", null as unknown as Principal);

  app.addHook("onRoute", (route: RouteOptions) => {
    const access = (route.config as { access?: RouteAccess } | undefined)?.access;
    const schema = route.schema as { hide?: boolean; security?: unknown; response?: object } | undefined;
    if (!access) {
      // Fastify's own routes (HEAD twins, swagger's static files) inherit their parent's rule.
      if (route.url.startsWith("/docs") || route.method === "HEAD") return;
      throw new Error(`Route ${route.method} ${route.url} declares no access (config.access)`);
    }
    for (const method of [route.method].flat()) table.push({ method, url: route.url, access });
    if (!schema || schema.hide) return;
    if (access === "public") schema.security = [];
    else {
      schema.security = [{ [BEARER_SCHEME]: [] }];
      schema.response = { ...errors(401, 403), ...schema.response };
    }
  });

  app.addHook("onRequest", async (request) => {
    const access = request.routeOptions.config?.access ?? "signedIn";
    // Credentials that are sent are checked even on public routes: a bad token is an error, not anonymity.
    const principal = await authenticate(request).catch((err: unknown) => {
      // What was refused and why, never the credential itself.
      request.log.debug({ method: request.method, url: request.url, err: String(err) }, "credential refused");
      throw err;
    });
    if (principal) request.principal = principal;
    if (access === "public") return;
    if (!principal) throw new BosunError("UNAUTHORIZED");
    if (access === "signedIn") return;
    if (scopeOf(principal, access.resource, access.verb) === "none")
      throw new BosunError(
        "FORBIDDEN",
        `The ${principal.role} role may not ${access.verb} ${access.resource}s`,
      );
  });
}
