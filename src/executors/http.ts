/**
 * `http`: one HTTP request per attempt (seed 002's targets, seed 003's http jobs). A 2xx answer completes
 * the attempt; any other status (HTTP_STATUS) or a network failure (NETWORK_ERROR) fails it, and the
 * engine retries it with the job's backoff. Requests go through the outbound guard (src/outbound/): a target
 * the policy refuses (loopback, private, metadata addresses… unless opened with --http-allow) fails the
 * attempt with HTTP_TARGET_DENIED, not retried. Header values are never logged (they carry secrets).
 */
import { type Static, Type } from "typebox";
import { JobFailure } from "../core/errors.ts";
import type { Claim } from "../core/job.ts";
import {
  OutboundClient,
  OutboundDenied,
  type OutboundResponse,
  TooManyRedirects,
} from "../outbound/outbound-client.ts";
import type { ExecContext, ExecOutcome, Executor } from "./executor.ts";

/** Characters of the response body kept in the result. */
export const BODY_LIMIT_CHARS = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

export const HttpPayload = Type.Object(
  {
    // No user:password@ part: it would not be sent (credentials go in `headers`).
    url: Type.String({ format: "uri", pattern: "^https?://[^/?#@]+([/?#]|$)" }),
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
  /** Every request goes through it (its policy decides what may be reached); default: the default policy. */
  client?: OutboundClient;
}

/** Redirects an attempt follows, each one checked like the first request. */
export const MAX_REDIRECTS = 5;
/** Bytes of the answer read: enough for BODY_LIMIT_CHARS characters of any UTF-8. */
const BODY_LIMIT_BYTES = 4 * BODY_LIMIT_CHARS;

export class HttpExecutor implements Executor {
  readonly type = "http";
  readonly payloadSchema = HttpPayload;
  readonly #client: OutboundClient;

  constructor(opts: HttpExecutorOptions = {}) {
    this.#client = opts.client ?? new OutboundClient();
  }

  async run(job: Claim, ctx: ExecContext): Promise<ExecOutcome> {
    const p = job.payload as HttpPayload;
    const url = new URL(p.url);
    const method: string = p.method ?? "POST";
    const target = `${method} ${url.origin}${url.pathname}`;
    // The payload schema refuses them at submission; a job stored before it did is refused here.
    if (url.username || url.password)
      throw new JobFailure("NETWORK_ERROR", `${target}: credentials in the URL are not sent; use a header`, {
        retryable: false,
      });
    const headers: Record<string, string> = { ...p.headers };
    let body: string | undefined;
    if (p.body !== undefined && method !== "GET" && method !== "HEAD") {
      if (typeof p.body === "string") body = p.body;
      else {
        body = JSON.stringify(p.body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
          headers["content-type"] = "application/json";
      }
    }
    const timeoutMs = p.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    let res: OutboundResponse;
    try {
      res = await this.#client.request({
        url,
        method,
        headers,
        body,
        signal: AbortSignal.any([ctx.signal, timeout]),
        redirects: MAX_REDIRECTS,
        maxBodyBytes: BODY_LIMIT_BYTES,
      });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (timeout.aborted) throw new JobFailure("TIMEOUT", `${target} took over ${timeoutMs} ms`);
      // Refused before any connection: the same answer whether something listens there or not.
      if (err instanceof OutboundDenied)
        throw new JobFailure("HTTP_TARGET_DENIED", `${target} refused: ${err.message}`, { retryable: false });
      if (err instanceof TooManyRedirects)
        throw new JobFailure("TOO_MANY_REDIRECTS", err.message, { retryable: false });
      const e = err as NodeJS.ErrnoException;
      throw new JobFailure("NETWORK_ERROR", `${target} failed: ${e.code ?? e.message ?? String(err)}`);
    }
    const text = res.body.toString("utf8");
    const durationMs = Math.round(performance.now() - started);
    const result = {
      status: res.status,
      body: text.length > BODY_LIMIT_CHARS ? text.slice(0, BODY_LIMIT_CHARS) : text,
      durationMs,
    };
    const via =
      res.redirects > 0 ? ` (${res.redirects} redirects to ${res.url.origin}${res.url.pathname})` : "";
    ctx.log(`${target} → ${res.status} in ${durationMs} ms${via}\n`);
    if (res.status >= 200 && res.status <= 299) return { result, httpStatus: res.status };
    throw new JobFailure("HTTP_STATUS", `${target} answered ${res.status}`, {
      httpStatus: res.status,
      details: { status: res.status, body: result.body.slice(0, 2048) },
    });
  }
}
