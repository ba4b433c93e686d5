/**
 * Every request has a principal from the start, so routes are written for the auth that follows: today it
 * is the all-powerful local user; the auth plugin will replace the resolver. Jobs record principal.id as
 * their owner.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";

export interface Principal {
  id: string;
  role: "admin" | "operator" | "viewer";
}

export const LOCAL_PRINCIPAL: Principal = Object.freeze({ id: "local", role: "admin" });

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal;
  }
}

export type PrincipalResolver = (request: FastifyRequest) => Promise<Principal>;

export function installPrincipal(app: FastifyInstance, resolve: PrincipalResolver): void {
  app.decorateRequest("principal", null as unknown as Principal);
  app.addHook("onRequest", async (request) => {
    request.principal = await resolve(request);
  });
}
