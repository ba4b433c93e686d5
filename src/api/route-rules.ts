/**
 * Rules every documented route follows, applied where routes are registered so a new route cannot miss
 * them:
 * - Its query string rejects parameters it does not know (400): `?tag=x` once returned every job because
 *   the filter did not exist and the parameter was silently ignored. A route without query parameters
 *   gets an empty, closed query schema.
 * - It has an operationId (clients and generators name their methods after it); a route without one
 *   fails at start-up, in every test.
 * - Its responses document 400 with the error body: every route validates its input.
 */
import type { FastifyInstance, RouteOptions } from "fastify";
import { type TSchema, Type } from "typebox";
import { errors } from "./schemas.ts";

interface RouteSchema {
  hide?: boolean;
  operationId?: string;
  querystring?: TSchema;
  response?: Record<string, unknown>;
}

export function installRouteRules(app: FastifyInstance): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema || schema.hide) return;
    if (!schema.operationId)
      throw new Error(`Route ${route.method} ${route.url} has no operationId in its schema`);
    // In place: a copy would lose TypeBox's non-enumerable kind marks, which its conversion reads.
    if (schema.querystring)
      (schema.querystring as { additionalProperties?: boolean }).additionalProperties = false;
    else schema.querystring = Type.Object({}, { additionalProperties: false });
    schema.response = { ...errors(400), ...schema.response };
  });
}
