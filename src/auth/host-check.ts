/**
 * Browser-facing defences that look only at request headers.
 *
 * DNS rebinding: a page on evil.example makes its name resolve to 127.0.0.1 and then drives a server there
 * from the victim's browser; the browser still sends `Host: evil.example`. So a request is answered only
 * when its Host names this server: localhost, 127.0.0.1, [::1], the address it is bound to, and names the
 * configuration adds. The port is not compared: a rebinding page must use the server's port anyway, and
 * proxies rewrite it.
 *
 * CORS: no CORS headers at all unless origins are configured. The API authenticates with bearer tokens,
 * never cookies, so no Access-Control-Allow-Credentials either.
 */
import { isIP } from "node:net";

/** Host header syntax: a name or IPv4 address, or a bracketed IPv6 address, then an optional port. */
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/;
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"] as const;
const WILDCARDS = new Set(["0.0.0.0", "[::]"]);

/**
 * The canonical host of a Host header (lowercase, no port, no trailing dot, IPv6 in brackets and
 * compressed, IPv4 in dotted decimal), or null when the header is missing or not a valid Host.
 */
export function canonicalHost(hostHeader: string | undefined | null): string | null {
  if (typeof hostHeader !== "string" || hostHeader.length > 300) return null;
  const m = HOST.exec(hostHeader.trim().toLowerCase());
  if (m === null) return null;
  if (m[2] !== undefined && Number(m[2]) > 65535) return null;
  let hostname: string;
  try {
    // The WHATWG URL parser canonicalises as browsers do (::0001 → ::1, 127.1 → 127.0.0.1, IDNA).
    hostname = new URL(`http://${m[1]}/`).hostname;
  } catch {
    return null;
  }
  if (hostname.endsWith(".")) hostname = hostname.slice(0, -1);
  return hostname === "" ? null : hostname;
}

/**
 * The allowed hosts of a server bound to `boundHost`: the loopback names, the bound address (unless it is
 * a wildcard such as 0.0.0.0, which names no host), and the configured `names`.
 */
export function defaultAllowedHosts(boundHost: string, names: readonly string[] = []): string[] {
  const bound = canonicalHost(isIP(boundHost) === 6 ? `[${boundHost}]` : boundHost);
  const hosts = [...LOOPBACK, ...(bound !== null && !WILDCARDS.has(bound) ? [bound] : []), ...names];
  return [...new Set(hosts)];
}

/**
 * Is `hostHeader` one of `allowed`? Entries are host names or addresses (a port or trailing dot is
 * ignored, IPv6 with or without brackets), `.example.com` for that name and every name under it, or `*`
 * for any host (when a trusted proxy checks Host itself).
 *
 * `anyIp: true` also accepts any IP-address Host. That is safe against rebinding, which needs a name the
 * attacker controls (a page loaded from an address has that address as its origin, the server's own): use
 * it for a server bound to 0.0.0.0 that peers and workers reach by address.
 */
export function isAllowedHost(
  hostHeader: string | undefined | null,
  allowed: readonly string[],
  opts: { anyIp?: boolean } = {},
): boolean {
  const host = canonicalHost(hostHeader);
  if (host === null) return false;
  if (opts.anyIp && isIP(host.replace(/^\[(.*)\]$/, "$1")) !== 0) return true;
  return allowed.some((entry) => matches(host, entry));
}

function matches(host: string, entry: string): boolean {
  const e = entry.trim().toLowerCase();
  if (e === "*") return true;
  if (e.startsWith(".") && e.length > 1) {
    const base = canonicalHost(e.slice(1));
    return base !== null && (host === base || host.endsWith(`.${base}`));
  }
  return canonicalHost(isIP(e) === 6 ? `[${e}]` : e) === host;
}

export interface CorsDecision {
  /** Whether this origin is allowed to read responses. */
  allowed: boolean;
  /** Headers for every response to this request (empty when no origins are configured). */
  headers: Record<string, string>;
  /** Headers for an OPTIONS preflight, in addition to `headers`. */
  preflightHeaders: Record<string, string>;
}

const PREFLIGHT = Object.freeze({
  "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
  "access-control-allow-headers": "authorization, content-type",
  "access-control-max-age": "600",
});

/**
 * CORS for a request with `Origin: origin`, given the configured origins (`https://dash.example.com`, or
 * `*` for any). Nothing configured: no headers at all. Configured: `Vary: Origin` always (the answer
 * depends on it, caches must know), and the allow headers only for an allowed origin, echoed exactly.
 * Refusing here only withholds headers: the browser then hides the response from the page.
 */
export function corsDecision(
  origin: string | undefined | null,
  allowedOrigins: readonly string[],
): CorsDecision {
  const none: CorsDecision = { allowed: false, headers: {}, preflightHeaders: {} };
  if (allowedOrigins.length === 0) return none;
  const vary = { vary: "Origin" };
  const canonical = canonicalOrigin(origin);
  const allowed =
    canonical !== null && allowedOrigins.some((o) => o.trim() === "*" || canonicalOrigin(o) === canonical);
  if (!allowed) return { allowed: false, headers: vary, preflightHeaders: {} };
  return {
    allowed: true,
    // The serialised origin, which is what browsers send and compare; never the raw header echoed back.
    headers: { "access-control-allow-origin": canonical, ...vary },
    preflightHeaders: { ...PREFLIGHT },
  };
}

/**
 * scheme://host[:port] as the URL standard serialises it (lowercase, default port dropped; a configured
 * origin may end in "/"), or null ("null" origins, paths, queries, other schemes).
 */
function canonicalOrigin(origin: string | undefined | null): string | null {
  if (typeof origin !== "string" || origin.length > 300) return null;
  let url: URL;
  try {
    url = new URL(origin.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") return null;
  return url.origin;
}
