/**
 * Every HTTP request Bosun makes on someone's behalf (`http` jobs, alert webhooks) goes through here, so
 * that none reaches what the policy refuses (outbound-policy.ts), in any notation and by any route:
 *
 * - A host name is judged on the addresses it resolves to, inside the DNS lookup the connection itself
 *   uses (the agents' `lookup`): there is no earlier resolution whose answer a rebinding name could change
 *   before the connect. Only the allowed addresses of the answer are handed to the connection (a name
 *   resolving to a public and a private address is reached at the public one); none allowed: refused. A
 *   literal address is judged before the request is made; the URL parser has already turned
 *   `2130706433`, `0177.0.0.1` and `[::ffff:…]` into the one notation the policy checks.
 * - Redirects are followed here, not by the HTTP library: each Location is a new request through the
 *   same checks, at most `redirects` of them.
 * - A refusal happens before any connection is attempted, so its error is the same whether something
 *   listens at the address or not: refusals cannot be used to scan ports.
 *
 * node:http rather than fetch: fetch's agent (undici) is not part of Node's public API, and a custom
 * lookup on a connection pool of our own is exactly what node:http's Agent takes. The agents are this
 * client's own, so no socket made without the guard (another part of the process, another policy) is
 * ever reused by a guarded request.
 */
import type { LookupAddress } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { OutboundPolicy, policyHost } from "./outbound-policy.ts";

/** The request was refused before it was sent: the target is not allowed. */
export class OutboundDenied extends Error {
  override readonly name = "OutboundDenied";
  readonly code = "HTTP_TARGET_DENIED";
  readonly url: URL;
  /** A category of address (`loopback`, `private`, …), `httpDeny`, or what else was wrong. */
  readonly reason: string;
  constructor(url: URL, reason: string, how: { redirected: boolean; resolved: boolean }) {
    const host = policyHost(url.hostname);
    const what = !/^https?:$/.test(url.protocol)
      ? `${url.protocol} URLs are not allowed`
      : how.resolved
        ? `${host} resolves to an address not allowed`
        : `${host} is not allowed`;
    super(
      `${how.redirected ? `redirected to ${url.origin}${url.pathname}: ` : ""}${what} (${reason}); --http-allow opens hosts and networks`,
    );
    this.url = url;
    this.reason = reason;
  }
}

/** A lookup's refusal, before #send knows which URL it was for. */
class AddressDenied extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

export class TooManyRedirects extends Error {
  override readonly name = "TooManyRedirects";
  readonly code = "TOO_MANY_REDIRECTS";
}

/** How names are resolved (tests answer for names without a DNS server). */
export type Resolver = (host: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (host, family) => dnsLookup(host, { all: true, family });

export interface OutboundRequest {
  url: URL;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Redirects followed, each checked like the first request; "manual" answers a 3xx as it is. */
  redirects: number | "manual";
  /** Bytes of the answer's body kept; the rest is not read. */
  maxBodyBytes: number;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body was longer than maxBodyBytes. */
  truncated: boolean;
  /** Where the answer came from (after redirects). */
  url: URL;
  redirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Dropped when a redirect turns the request into a GET without a body (the fetch standard's list). */
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];
/** Credentials meant for one origin are not sent to another a redirect points at. */
const ORIGIN_HEADERS = ["authorization", "proxy-authorization", "cookie", "host"];

function guardedLookup(policy: OutboundPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const done = (addresses: LookupAddress[]) => {
      if (addresses.length === 0) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = "ENOTFOUND";
        return callback(err, "", 0);
      }
      // Only the addresses the policy allows are handed to the connection; none: refused.
      const allowed = addresses.filter((a) => policy.addressDenial(hostname, a.address) === null);
      const first = allowed[0];
      if (!first)
        return callback(new AddressDenied(policy.addressDenial(hostname, addresses[0]!.address)!), "", 0);
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    };
    resolve(hostname, family).then(done, (err: NodeJS.ErrnoException) => callback(err, "", 0));
  };
}

function agents(policy: OutboundPolicy, resolve: Resolver) {
  // As Node's own global agent: keep-alive, idle sockets closed after 5 s.
  const opts = {
    keepAlive: true,
    timeout: 5000,
    scheduling: "lifo" as const,
    lookup: guardedLookup(policy, resolve),
  };
  return { "http:": new http.Agent(opts), "https:": new https.Agent(opts) };
}

export class OutboundClient {
  #policy: OutboundPolicy;
  #agents: ReturnType<typeof agents>;
  readonly #resolve: Resolver;

  constructor(opts: { policy?: OutboundPolicy; resolve?: Resolver } = {}) {
    this.#policy = opts.policy ?? new OutboundPolicy();
    this.#resolve = opts.resolve ?? systemResolver;
    this.#agents = agents(this.#policy, this.#resolve);
  }

  get policy(): OutboundPolicy {
    return this.#policy;
  }

  /** Applies another policy from now on (a remote worker gets its server's at registration). */
  setPolicy(policy: OutboundPolicy): void {
    const old = this.#agents;
    this.#policy = policy;
    // New pools: a kept-alive socket was judged by the old policy.
    this.#agents = agents(policy, this.#resolve);
    old["http:"].destroy();
    old["https:"].destroy();
  }

  async request(req: OutboundRequest): Promise<OutboundResponse> {
    let url = req.url;
    let method = req.method.toUpperCase();
    let body = req.body;
    const headers: Record<string, string> = { "user-agent": "bosun", accept: "*/*" };
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    for (let hop = 0; ; hop++) {
      const res = await this.#send(url, method, headers, body, req.signal, hop > 0);
      const location = res.headers.location;
      if (req.redirects === "manual" || !REDIRECTS.has(res.statusCode ?? 0) || location === undefined) {
        const read = await readBody(res, req.maxBodyBytes);
        return { status: res.statusCode ?? 0, headers: res.headers, ...read, url, redirects: hop };
      }
      res.destroy();
      if (hop >= req.redirects)
        throw new TooManyRedirects(`${req.method} ${req.url.origin}: more than ${req.redirects} redirects`);
      const next = new URL(location, url);
      const status = res.statusCode!;
      if ((status === 303 && method !== "GET" && method !== "HEAD") || (status <= 302 && method === "POST")) {
        method = "GET";
        body = undefined;
        for (const h of BODY_HEADERS) delete headers[h];
      }
      if (next.origin !== url.origin) for (const h of ORIGIN_HEADERS) delete headers[h];
      url = next;
    }
  }

  #send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
    redirected: boolean,
  ): Promise<IncomingMessage> {
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return Promise.reject(new OutboundDenied(url, "only http and https", { redirected, resolved: false }));
    const literal = this.#policy.literalDenial(url.hostname);
    if (literal !== null)
      return Promise.reject(new OutboundDenied(url, literal, { redirected, resolved: false }));
    const data = body === undefined || method === "GET" || method === "HEAD" ? undefined : Buffer.from(body);
    const send = data ? { ...headers, "content-length": String(data.length) } : headers;
    return new Promise((resolve, reject) => {
      const request = (url.protocol === "https:" ? https : http).request({
        agent: this.#agents[url.protocol as "http:" | "https:"],
        hostname: policyHost(url.hostname),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method,
        headers: send,
        signal,
      });
      request.on("response", resolve);
      request.on("error", (err) =>
        reject(
          err instanceof AddressDenied
            ? new OutboundDenied(url, err.reason, { redirected, resolved: true })
            : err,
        ),
      );
      request.end(data);
    });
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agents["http:"].destroy();
    this.#agents["https:"].destroy();
  }
}

async function readBody(res: IncomingMessage, max: number): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    // Stop reading (leaving the loop destroys the stream): a job keeps a prefix, an alert none of it.
    if (size > max) return { body: Buffer.concat(chunks).subarray(0, max), truncated: size > max };
  }
  return { body: Buffer.concat(chunks), truncated: false };
}
