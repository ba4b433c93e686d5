/**
 * What every request passes before a route sees it, credentials aside: its Host must be a name this
 * server answers to (DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends Host: evil.example),
 * and CORS headers are sent only for configured origins (none by default, so no page of another origin
 * can read an answer). Also where a bearer credential is read from: the Authorization header, or for a
 * WebSocket (browsers cannot set headers on one) a subprotocol `bosun.bearer.<token>` — never the URL,
 * which ends up in logs and histories.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { corsDecision, defaultAllowedHosts, isAllowedHost } from "../auth/host-check.ts";
import { parseBearer } from "../auth/secrets.ts";
import { BosunError } from "../core/errors.ts";

export const WS_BEARER_PREFIX = "bosun.bearer.";
/** The subprotocol a WebSocket client offers beside its bearer one; the server answers with it. */
export const WS_PROTOCOL = "bosun.events";

export interface GuardOptions {
  host: string;
  allowedHosts: readonly string[];
  corsOrigins: readonly string[];
}

export function installRequestGuard(app: FastifyInstance, o: GuardOptions): void {
  const allowed = defaultAllowedHosts(o.host, o.allowedHosts);
  // Bound to every address, the server is reached by whatever IP it has: an IP literal cannot be
  // rebound by DNS, so any is fine; names still have to be configured.
  const anyIp = o.host === "0.0.0.0" || o.host === "::";
  app.addHook("onRequest", async (request, reply) => {
    if (!isAllowedHost(request.headers.host, allowed, { anyIp }))
      throw new BosunError(
        "HOST_NOT_ALLOWED",
        `Host ${JSON.stringify(request.headers.host ?? "")} is not a name of this server (see allowedHosts)`,
      );
    const cors = corsDecision(request.headers.origin, o.corsOrigins);
    for (const [k, v] of Object.entries(cors.headers)) reply.header(k, v);
    if (request.method === "OPTIONS" && cors.allowed) {
      for (const [k, v] of Object.entries(cors.preflightHeaders)) reply.header(k, v);
      return reply.status(204).send();
    }
  });
}

export function bearerOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const token = parseBearer(header);
    if (token === null) throw new BosunError("UNAUTHORIZED", "Authorization must be `Bearer <token>`");
    return token;
  }
  const protocols = request.headers["sec-websocket-protocol"];
  if (typeof protocols === "string")
    for (const p of protocols.split(",")) {
      const t = p.trim();
      if (t.startsWith(WS_BEARER_PREFIX)) return t.slice(WS_BEARER_PREFIX.length);
    }
  return null;
}

/** The subprotocol the server picks: never the bearer one (that would echo the token). */
export function chooseWsProtocol(offered: Set<string>): string | false {
  if (offered.has(WS_PROTOCOL)) return WS_PROTOCOL;
  for (const p of offered) if (!p.startsWith(WS_BEARER_PREFIX)) return p;
  return false;
}
