/**
 * `http`: one HTTP request per attempt (seed 002's targets, seed 003's http jobs). A 2xx answer completes
 * the attempt; any other status (HTTP_STATUS) or a network failure (NETWORK_ERROR) fails it, and the
 * engine retries it with the job's backoff. Hosts can be restricted by allow/deny lists; header values are
 * never logged (they carry secrets).
 */
import { type Static, Type } from "typebox";
import { JobFailure } from "../core/errors.ts";
import type { Claim } from "../core/job.ts";
import type { ExecContext, ExecOutcome, Executor } from "./executor.ts";

/** Characters of the response body kept in the result. */
export const BODY_LIMIT_CHARS = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

export const HttpPayload = Type.Object(
  {
    url: Type.String({ format: "uri", pattern: "^https?://" }),
    method: Type.Optional(
      Type.Union(
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].map((m) => Type.Literal(m)),
        { default: "POST" },
      ),
    ),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    body: Type.Optional(Type.Unknown()),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);
type HttpPayload = Static<typeof HttpPayload>;

export interface HttpExecutorOptions {
  /** When non-empty, only these hosts (exact, or `*.example.com`). */
  allowHosts?: string[];
  denyHosts?: string[];
}

const matches = (host: string, pattern: string): boolean =>
  pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) || host === pattern.slice(2) : host === pattern;

export class HttpExecutor implements Executor {
  readonly type = "http";
  readonly payloadSchema = HttpPayload;
  readonly #allow: string[];
  readonly #deny: string[];

  constructor(opts: HttpExecutorOptions = {}) {
    this.#allow = (opts.allowHosts ?? []).map((h) => h.toLowerCase());
    this.#deny = (opts.denyHosts ?? []).map((h) => h.toLowerCase());
  }

  #checkHost(url: URL): void {
    const host = url.hostname.toLowerCase();
    const denied =
      this.#deny.some((p) => matches(host, p)) ||
      (this.#allow.length > 0 && !this.#allow.some((p) => matches(host, p)));
    if (denied)
      throw new JobFailure("FORBIDDEN", `Requests to ${host} are not allowed here`, { retryable: false });
  }

  async run(job: Claim, ctx: ExecContext): Promise<ExecOutcome> {
    const p = job.payload as HttpPayload;
    const url = new URL(p.url);
    this.#checkHost(url);
    const method: string = p.method ?? "POST";
    const headers = new Headers(p.headers ?? {});
    let body: string | undefined;
    if (p.body !== undefined && method !== "GET" && method !== "HEAD") {
      if (typeof p.body === "string") body = p.body;
      else {
        body = JSON.stringify(p.body);
        if (!headers.has("content-type")) headers.set("content-type", "application/json");
      }
    }
    const timeoutMs = p.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.any([ctx.signal, timeout]),
        redirect: "follow",
      });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (timeout.aborted)
        throw new JobFailure("TIMEOUT", `${method} ${url.origin}${url.pathname} took over ${timeoutMs} ms`);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new JobFailure(
        "NETWORK_ERROR",
        `${method} ${url.origin}${url.pathname} failed: ${cause?.code ?? cause?.message ?? String(err)}`,
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (timeout.aborted) throw new JobFailure("TIMEOUT", `Reading the answer took over ${timeoutMs} ms`);
      throw new JobFailure("NETWORK_ERROR", `Reading the answer failed: ${String(err)}`, {
        httpStatus: res.status,
      });
    }
    const durationMs = Math.round(performance.now() - started);
    const result = {
      status: res.status,
      body: text.length > BODY_LIMIT_CHARS ? text.slice(0, BODY_LIMIT_CHARS) : text,
      durationMs,
    };
    ctx.log(`${method} ${url.origin}${url.pathname} → ${res.status} in ${durationMs} ms\n`);
    if (res.ok) return { result, httpStatus: res.status };
    throw new JobFailure("HTTP_STATUS", `${method} ${url.origin}${url.pathname} answered ${res.status}`, {
      httpStatus: res.status,
      details: { status: res.status, body: result.body.slice(0, 2048) },
    });
  }
}
